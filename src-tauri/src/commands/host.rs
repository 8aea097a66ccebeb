//! Hosting sessions on this computer with the embedded server.

use tauri::State;

use crate::error::AppError;
use crate::host::{Host, HostStatus};

#[tauri::command]
pub async fn host_status(host: State<'_, Host>) -> Result<HostStatus, AppError> {
    Ok(host.status().await)
}

#[tauri::command]
pub async fn host_start(host: State<'_, Host>) -> Result<HostStatus, AppError> {
    host.start().await
}

#[tauri::command]
pub async fn host_stop(host: State<'_, Host>) -> Result<HostStatus, AppError> {
    Ok(host.stop().await)
}
