//! Loading and saving the user's remembered choices.

use std::sync::Arc;

use tauri::State;

use crate::app::AppState;
use crate::error::AppError;
use crate::notifications::Notifications;
use crate::settings::{Loaded, Settings};

#[tauri::command]
pub fn load_settings(state: State<'_, AppState>) -> Result<Loaded, AppError> {
    state.settings.load()
}

#[tauri::command]
pub fn save_settings(
    state: State<'_, AppState>,
    alerts: State<'_, Arc<Notifications>>,
    settings: Settings,
) -> Result<(), AppError> {
    state.settings.save(&settings)?;
    alerts.set_enabled(settings.notifications);
    Ok(())
}
