//! Wiring of the Tauri shell: shared state, commands and the main window.

use std::path::PathBuf;

use crate::error::AppError;
use crate::logging::LogHandle;
use crate::settings::SettingsStore;

/// State shared by all commands.
pub struct AppState {
    pub log_dir: PathBuf,
    pub settings: SettingsStore,
}

pub fn run(log: LogHandle) -> Result<(), AppError> {
    let state = AppState {
        log_dir: log.dir.clone(),
        settings: SettingsStore::in_config_dir()?,
    };
    tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            crate::commands::app::app_info,
            crate::commands::settings::load_settings,
            crate::commands::settings::save_settings,
        ])
        .run(tauri::generate_context!())?;
    tracing::info!("huddle closed");
    drop(log);
    Ok(())
}
