//! In-meeting apps: the list the apps panel shows, where installed apps go, and an open
//! app's channel in the call (each call forwards one SDK request the bridge let through;
//! the bridge checks sizes for the app, the server has the last word).

use huddle_proto::{AppId, ParticipantId};
use tauri::{AppHandle, Runtime, State};

use crate::apps::{self, AppEntry};
use crate::call::Call;
use crate::error::AppError;

/// The built-in apps, then the installed ones (with the problem of any that cannot open).
#[tauri::command]
pub async fn apps_list<R: Runtime>(app: AppHandle<R>) -> Result<Vec<AppEntry>, AppError> {
    let dir = apps::installed_dir()?;
    let assets = apps::Embedded::new(&app);
    tokio::task::spawn_blocking(move || apps::list(&assets, &dir))
        .await
        .map_err(|e| AppError::Internal(format!("listing apps: {e}")))
}

/// The folder installed apps live in (made if missing), to tell the user.
#[tauri::command]
pub async fn apps_folder() -> Result<String, AppError> {
    let dir = apps::installed_dir()?;
    std::fs::create_dir_all(&dir).map_err(|source| AppError::io("create", &dir, source))?;
    Ok(dir.display().to_string())
}

fn app_id(app: &str) -> Result<AppId, AppError> {
    AppId::parse(app).map_err(|e| AppError::InvalidApp(e.to_string()))
}

#[tauri::command]
pub async fn call_app_open(app: String, call: State<'_, Call>) -> Result<(), AppError> {
    let app = app_id(&app)?;
    call.session()
        .await?
        .app_open(app)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn call_app_close(app: String, call: State<'_, Call>) -> Result<(), AppError> {
    let app = app_id(&app)?;
    call.session()
        .await?
        .app_close(app)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn call_app_message(
    app: String,
    data: serde_json::Value,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    let app = app_id(&app)?;
    call.session()
        .await?
        .app_send(app, data)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn call_app_set_state(
    app: String,
    state: serde_json::Value,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    let app = app_id(&app)?;
    call.session()
        .await?
        .app_set_state(app, state)
        .await
        .map_err(AppError::from)
}

/// Invites `to` (absent: everyone else) to open the app.
#[tauri::command]
pub async fn call_app_invite(
    app: String,
    to: Option<Vec<u64>>,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    let app = app_id(&app)?;
    let to = to.map(|ids| ids.into_iter().map(ParticipantId).collect());
    call.session()
        .await?
        .app_invite(app, to)
        .await
        .map_err(AppError::from)
}
