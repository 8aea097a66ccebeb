//! The pre-join device check: lists, camera preview, level meter and test sound.

use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;

use crate::devices::{DeviceCheck, Devices, MeterReading};
use crate::error::AppError;
use crate::frames::{Hub, Source};

#[tauri::command]
pub async fn devices_list(devices: State<'_, DeviceCheck>) -> Result<Devices, AppError> {
    Ok(devices.list())
}

/// Opens the camera for the preview; its frames go to the page's `preview` video socket
/// (see `video_server`).
#[tauri::command]
pub async fn preview_start(
    camera_id: Option<String>,
    devices: State<'_, DeviceCheck>,
    hub: State<'_, Arc<Hub>>,
) -> Result<String, AppError> {
    let hub = Arc::clone(&hub);
    devices.start_preview(camera_id.as_deref(), move |frame| {
        hub.offer(Source::Preview, frame);
    })
}

#[tauri::command]
pub async fn preview_stop(devices: State<'_, DeviceCheck>) -> Result<(), AppError> {
    devices.stop_preview();
    Ok(())
}

#[tauri::command]
pub async fn meter_start(
    microphone_id: Option<String>,
    on_level: Channel<MeterReading>,
    devices: State<'_, DeviceCheck>,
) -> Result<String, AppError> {
    devices.start_meter(microphone_id.as_deref(), move |reading| {
        on_level.send(reading).is_ok()
    })
}

#[tauri::command]
pub async fn meter_stop(devices: State<'_, DeviceCheck>) -> Result<(), AppError> {
    devices.stop_meter();
    Ok(())
}

/// The microphone's volume (0 to 2) and input sensitivity (the noise gate's threshold in
/// dBFS, or none), for the level meter here and for the call, live.
#[tauri::command]
pub async fn audio_input_set(
    volume: f32,
    gate: Option<f32>,
    devices: State<'_, DeviceCheck>,
) -> Result<(), AppError> {
    devices.set_input(volume, gate);
    Ok(())
}

#[tauri::command]
pub async fn play_test_sound(
    speaker_id: Option<String>,
    devices: State<'_, DeviceCheck>,
) -> Result<(), AppError> {
    devices.play_test_sound(speaker_id.as_deref())
}
