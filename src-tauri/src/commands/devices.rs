//! The pre-join device check: lists, camera preview, level meter and test sound.

use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::State;

use crate::devices::{DeviceCheck, Devices, MeterReading};
use crate::error::AppError;

#[tauri::command]
pub async fn devices_list(devices: State<'_, DeviceCheck>) -> Result<Devices, AppError> {
    Ok(devices.list())
}

/// Frames arrive on `on_frame` as raw bytes (see `frames::encode`), one in transit at a
/// time: the page acknowledges each with `preview_ack`.
#[tauri::command]
pub async fn preview_start(
    camera_id: Option<String>,
    on_frame: Channel<InvokeResponseBody>,
    devices: State<'_, DeviceCheck>,
) -> Result<String, AppError> {
    devices.start_preview(camera_id.as_deref(), move |frame| {
        on_frame.send(InvokeResponseBody::Raw(frame)).is_ok()
    })
}

#[tauri::command]
pub async fn preview_ack(devices: State<'_, DeviceCheck>) -> Result<(), AppError> {
    devices.ack_preview();
    Ok(())
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

#[tauri::command]
pub async fn play_test_sound(
    speaker_id: Option<String>,
    devices: State<'_, DeviceCheck>,
) -> Result<(), AppError> {
    devices.play_test_sound(speaker_id.as_deref())
}
