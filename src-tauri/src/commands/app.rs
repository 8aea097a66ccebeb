//! Facts about the running app, for the UI's footer and bug reports.

use serde::Serialize;
use tauri::State;

use crate::app::AppState;
use crate::links::{LinkView, PendingLink};
use crate::video_server::{VideoEndpoint, VideoServer};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: &'static str,
    pub log_dir: String,
    pub settings_path: String,
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        log_dir: state.log_dir.display().to_string(),
        settings_path: state.settings.path().display().to_string(),
    }
}

/// Where the page's canvases connect for their frames (loopback, with this run's token).
#[tauri::command]
pub fn video_endpoint(video: State<'_, VideoServer>) -> VideoEndpoint {
    video.endpoint()
}

/// The join link the app was opened with (or handed since), once; or why it was refused.
#[tauri::command]
pub fn take_join_link(links: State<'_, PendingLink>) -> Option<LinkView> {
    links.take()
}
