//! Host and manager controls (SPEC §3). The window shows them only to those whose role allows
//! them; the server checks every one, and a refusal comes back in the server's words.

use huddle_proto::{Action, ParticipantId, WaiterId};
use tauri::State;

use crate::call::Call;
use crate::error::AppError;

async fn request(call: &Call, action: Action) -> Result<(), AppError> {
    call.session()
        .await?
        .request(action)
        .await
        .map_err(AppError::from)
}

fn who(participant: u64) -> ParticipantId {
    ParticipantId(participant)
}

#[tauri::command]
pub async fn manage_mute(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::MuteAudio {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_mute_all(call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::MuteAll).await
}

#[tauri::command]
pub async fn manage_stop_video(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::StopVideo {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_ask_unmute(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::AskUnmute {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_rename(
    participant: u64,
    name: String,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    request(
        &call,
        Action::Rename {
            participant: who(participant),
            name,
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_remove(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::Remove {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_remove_others(call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::RemoveOthers).await
}

#[tauri::command]
pub async fn manage_lower_hand(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::LowerHand {
            participant: Some(who(participant)),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_lock_session(locked: bool, call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::LockSession { locked }).await
}

#[tauri::command]
pub async fn manage_lock_sharing(locked: bool, call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::LockSharing { locked }).await
}

#[tauri::command]
pub async fn manage_audience_chat(allowed: bool, call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::SetAudienceChat { allowed }).await
}

/// Spotlights someone for everyone, or clears the spotlight.
#[tauri::command]
pub async fn manage_spotlight(
    participant: Option<u64>,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    request(
        &call,
        Action::Spotlight {
            participant: participant.map(who),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_promote(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::PromoteAudience {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_demote(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::DemoteToAudience {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_make_manager(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::MakeManager {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_revoke_manager(
    participant: u64,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    request(
        &call,
        Action::RevokeManager {
            participant: who(participant),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_transfer_host(participant: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::TransferHost {
            participant: who(participant),
        },
    )
    .await
}

/// Deafen or undeafen someone (`participant`), or myself (absent).
#[tauri::command]
pub async fn manage_set_deaf(
    participant: Option<u64>,
    deaf: bool,
    call: State<'_, Call>,
) -> Result<(), AppError> {
    request(
        &call,
        Action::SetDeaf {
            participant: participant.map(who),
            deaf,
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_set_hands_first(on: bool, call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::SetHandsFirst { on }).await
}

#[tauri::command]
pub async fn manage_set_waiting_room(on: bool, call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::SetWaitingRoom { on }).await
}

#[tauri::command]
pub async fn manage_admit(waiter: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::Admit {
            waiter: WaiterId(waiter),
        },
    )
    .await
}

#[tauri::command]
pub async fn manage_admit_all(call: State<'_, Call>) -> Result<(), AppError> {
    request(&call, Action::AdmitAll).await
}

#[tauri::command]
pub async fn manage_deny(waiter: u64, call: State<'_, Call>) -> Result<(), AppError> {
    request(
        &call,
        Action::Deny {
            waiter: WaiterId(waiter),
        },
    )
    .await
}
