//! Being in a call: join, leave, end for all, my own microphone, camera, hand, chat and
//! reactions. The call's events reach the window over the channel given to `call_join`.

use huddle_proto::ParticipantId;
use tauri::ipc::Channel;
use tauri::State;

use crate::call::view::{CallEvent, JoinRequest, JoinedView, ReactionView, TileSize};
use crate::call::{request_error, Call};
use crate::devices::DeviceCheck;
use crate::error::AppError;
use crate::host::Host;

#[tauri::command]
pub async fn call_join(
    request: JoinRequest,
    on_event: Channel<CallEvent>,
    call: State<'_, Call>,
    host: State<'_, Host>,
    devices: State<'_, DeviceCheck>,
) -> Result<JoinedView, AppError> {
    let embedded = host.status().await.ws_url;
    let joined = call.join(request, embedded, on_event).await?;
    // The pre-join check lets go of its devices once the call is on (a failed join keeps
    // them); the call view opens the camera preview again for its own tile.
    devices.stop_all();
    Ok(joined)
}

#[tauri::command]
pub async fn call_leave(call: State<'_, Call>) -> Result<(), AppError> {
    call.leave().await
}

#[tauri::command]
pub async fn call_end_for_all(call: State<'_, Call>) -> Result<(), AppError> {
    call.end_for_all().await
}

#[tauri::command]
pub async fn call_set_audio(muted: bool, call: State<'_, Call>) -> Result<(), AppError> {
    let session = call.session().await?;
    session.set_audio_muted(muted).await.map_err(request_error)
}

#[tauri::command]
pub async fn call_set_video(on: bool, call: State<'_, Call>) -> Result<(), AppError> {
    let session = call.session().await?;
    session.set_video(on).await.map_err(request_error)
}

/// To everyone when `to` is absent, else privately.
#[tauri::command]
pub async fn call_chat(
    text: String,
    to: Option<u64>,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    let session = call.session().await?;
    match to {
        Some(id) => session.chat_to(ParticipantId(id), text).await,
        None => session.chat(text).await,
    }
    .map_err(request_error)
}

/// Raises or lowers my own hand.
#[tauri::command]
pub async fn call_set_hand(raised: bool, call: State<'_, Call>) -> Result<(), AppError> {
    let session = call.session().await?;
    if raised {
        session.raise_hand().await
    } else {
        session.lower_hand(None).await
    }
    .map_err(request_error)
}

#[tauri::command]
pub async fn call_react(reaction: ReactionView, call: State<'_, Call>) -> Result<(), AppError> {
    let session = call.session().await?;
    session.react(reaction.into()).await.map_err(request_error)
}

/// The size each participant's video is drawn at, in device pixels.
#[tauri::command]
pub async fn call_tile_sizes(sizes: Vec<TileSize>, call: State<'_, Call>) -> Result<(), AppError> {
    // A window has a few dozen tiles at most; anything larger is not a real layout.
    if sizes.len() > 1024 {
        return Err(AppError::Call("too many tiles".into()));
    }
    call.set_tile_sizes(sizes).await
}
