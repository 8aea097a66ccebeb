//! Being in a call: join, leave, end for all, my own microphone, camera, hand, chat and
//! reactions. The call's events reach the window over the channel given to `call_join`.

use huddle_proto::ParticipantId;
use tauri::ipc::Channel;
use tauri::State;

use crate::call::view::{
    self, CallEvent, DeviceKind, JoinRequest, JoinedView, ReactionView, RosterPageView, ScreenView,
    TileSize,
};
use crate::call::{Call, LocalMedia};
use crate::devices::{DeviceCheck, MeterReading};
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
    // The call opens the camera, microphone and speaker itself, so the pre-join check lets
    // go of them first (the pre-join screen opens them again if the join fails).
    devices.stop_all();
    let local = LocalMedia {
        cameras: Some(devices.cameras()),
        audio: true,
        screens: Some(crate::call::screens()),
        input: devices.input(),
    };
    call.join(request, embedded, local, on_event).await
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
    let media = call.media().await?;
    media.set_audio_muted(muted).await.map_err(AppError::from)
}

#[tauri::command]
pub async fn call_set_video(on: bool, call: State<'_, Call>) -> Result<(), AppError> {
    let media = call.media().await?;
    media.set_video(on).await.map_err(AppError::from)
}

/// Starts sharing a screen (`screenId` absent: the primary one) or stops sharing.
#[tauri::command]
pub async fn call_share(
    on: bool,
    screen_id: Option<String>,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    call.set_sharing(on, screen_id).await
}

/// The screens that can be shared, primary first (none where sharing is not available,
/// such as a Wayland desktop for now).
#[tauri::command]
pub async fn screens_list() -> Result<Vec<ScreenView>, AppError> {
    let screens = tokio::task::spawn_blocking(huddle_media::list_screens)
        .await
        .map_err(|e| AppError::Internal(format!("listing screens: {e}")))??;
    Ok(screens
        .into_iter()
        .map(|s| ScreenView {
            id: s.id,
            label: s.label,
            width: s.width,
            height: s.height,
            primary: s.primary,
        })
        .collect())
}

/// Moves the call to another camera, microphone or speaker (`id` absent: the system's
/// default).
#[tauri::command]
pub async fn call_switch_device(
    kind: DeviceKind,
    id: Option<String>,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    match kind {
        DeviceKind::Camera => call.switch_devices(Some(id), None, None).await,
        DeviceKind::Microphone => call.switch_devices(None, Some(id), None).await,
        DeviceKind::Speaker => call.switch_devices(None, None, Some(id)).await,
    }
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
    .map_err(AppError::from)
}

/// One page of the audience (the user list reads it as it scrolls), in join order: after
/// the cursor `after`, at most `limit` (1 to 500), names containing `search`.
#[tauri::command]
pub async fn call_roster_page(
    after: Option<String>,
    limit: u32,
    search: Option<String>,
    call: State<'_, Call>,
) -> Result<RosterPageView, AppError> {
    let session = call.session().await?;
    let (page, _) = session.roster_page(after, limit, search).await?;
    Ok(view::roster_page(&page, session.state().me))
}

/// Sets `key` of the session's metadata (host and managers) or of mine to the JSON `value`.
#[tauri::command]
pub async fn call_set_metadata(
    scope: view::MetadataScope,
    key: String,
    value: String,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    call.set_metadata(scope, &key, &value).await
}

/// Removes `key` from the session's metadata or from mine.
#[tauri::command]
pub async fn call_delete_metadata(
    scope: view::MetadataScope,
    key: String,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    call.delete_metadata(scope, &key).await
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
    .map_err(AppError::from)
}

#[tauri::command]
pub async fn call_react(reaction: ReactionView, call: State<'_, Call>) -> Result<(), AppError> {
    let session = call.session().await?;
    session.react(reaction.into()).await.map_err(AppError::from)
}

/// The size each participant's video is drawn at, in device pixels.
#[tauri::command]
pub async fn call_tile_sizes(sizes: Vec<TileSize>, call: State<'_, Call>) -> Result<(), AppError> {
    // A window has a few dozen tiles at most; anything larger is not a real layout.
    if sizes.len() > 1024 {
        return Err(AppError::Internal("too many tiles".into()));
    }
    call.set_tile_sizes(sizes).await
}

/// Plays one member at `volume` (0 silent, 1 as sent, up to 2) on this computer only, for the
/// rest of the call.
#[tauri::command]
pub async fn call_set_member_volume(
    participant: u64,
    volume: f32,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    let media = call.media().await?;
    media.set_member_volume(ParticipantId(participant), volume);
    Ok(())
}

/// The level of what I send, for the device menu's meter (read while the menu is open).
#[tauri::command]
pub async fn call_input_level(call: State<'_, Call>) -> Result<MeterReading, AppError> {
    let level = call.media().await?.input_level();
    Ok(MeterReading::from_meter(level.meter, level.gate_open))
}
