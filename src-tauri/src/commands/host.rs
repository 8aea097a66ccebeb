//! Hosting sessions on this computer with the embedded server.

use tauri::State;

use crate::error::AppError;
use crate::host::{Host, HostStatus, Reach};

#[tauri::command]
pub async fn host_status(host: State<'_, Host>) -> Result<HostStatus, AppError> {
    Ok(host.status().await)
}

/// Starts hosting for `reach`, or moves a running server to it.
#[tauri::command]
pub async fn host_start(reach: Reach, host: State<'_, Host>) -> Result<HostStatus, AppError> {
    host.start(reach).await
}

#[tauri::command]
pub async fn host_stop(host: State<'_, Host>) -> Result<HostStatus, AppError> {
    Ok(host.stop().await)
}
