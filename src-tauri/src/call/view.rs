//! What the call view is sent: the app's own view-model types, mapped from the call client's
//! model (`huddle_client::CallState`, notices, connection status) so that the wire protocol
//! can change without the UI noticing, and so that the UI's TypeScript types can be generated
//! from these definitions (`ui/src/lib/generated/call.ts`, checked by a test below).
//!
//! Participant ids and chat sequence numbers are `u64` here and `number` in TypeScript: the
//! server hands them out counting from 1, far below 2^53.

use crate::error::{AppError, ErrorView};
use huddle_client::call::{LocalVideo, MediaState};
use huddle_client::session::{CallState, CloseReason, ConnectionStatus, Notice};
use huddle_proto::{
    AudiencePage, ChatMessage, ConnectionState, EndReason, LeaveReason, Member, Metadata,
    MetadataChange, ParticipantId, Reaction, Role, SessionInfo,
};
use serde::{Deserialize, Serialize};

/// A member's role, as in SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RoleView {
    Host,
    Manager,
    Participant,
    Audience,
}

impl From<Role> for RoleView {
    fn from(role: Role) -> Self {
        match role {
            Role::Host => RoleView::Host,
            Role::Manager => RoleView::Manager,
            Role::Participant => RoleView::Participant,
            Role::Audience => RoleView::Audience,
        }
    }
}

/// A reaction shown over a member's tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReactionView {
    ThumbsUp,
    Clap,
    Heart,
    Joy,
    Surprised,
    Tada,
}

impl From<Reaction> for ReactionView {
    fn from(r: Reaction) -> Self {
        match r {
            Reaction::ThumbsUp => ReactionView::ThumbsUp,
            Reaction::Clap => ReactionView::Clap,
            Reaction::Heart => ReactionView::Heart,
            Reaction::Joy => ReactionView::Joy,
            Reaction::Surprised => ReactionView::Surprised,
            Reaction::Tada => ReactionView::Tada,
        }
    }
}

impl From<ReactionView> for Reaction {
    fn from(r: ReactionView) -> Self {
        match r {
            ReactionView::ThumbsUp => Reaction::ThumbsUp,
            ReactionView::Clap => Reaction::Clap,
            ReactionView::Heart => Reaction::Heart,
            ReactionView::Joy => Reaction::Joy,
            ReactionView::Surprised => Reaction::Surprised,
            ReactionView::Tada => Reaction::Tada,
        }
    }
}

/// One member as the user list and the video grid show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: u64,
    pub name: String,
    pub role: RoleView,
    pub is_me: bool,
    pub audio_muted: bool,
    pub video_on: bool,
    pub sharing: bool,
    pub talking: bool,
    pub hand_raised: bool,
    /// Hears nobody: the server sends the member no audio.
    pub deafened: bool,
    /// The member's link to the server is down; they keep their place for a grace period.
    pub reconnecting: bool,
    pub join_order: u64,
}

/// The session's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub name: String,
    pub locked: bool,
    pub share_locked: bool,
    pub spotlight: Option<u64>,
    pub passcode_protected: bool,
    pub audience_chat: bool,
    pub max_active: u32,
    pub capacity: u32,
    /// Joiners wait in the lobby until a host or manager lets them in.
    pub waiting_room: bool,
    /// Raised hands come first in the grid (the host's choice).
    pub hands_first: bool,
}

/// Someone waiting in the lobby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WaiterView {
    pub id: u64,
    pub name: String,
}

/// This app's link to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkView {
    Connected,
    Reconnecting,
    Closed,
}

/// Everything the call view draws, except chat (sent once, then message by message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CallSnapshot {
    pub me: u64,
    pub role: RoleView,
    pub session: SessionView,
    /// The members on the stage (host, managers, participants) and me, in join order.
    pub members: Vec<MemberView>,
    pub audience: AudienceView,
    /// Who waits in the lobby, oldest first (hosts and managers only).
    pub lobby: Vec<WaiterView>,
    pub link: LinkView,
    /// The session's metadata (set by the host and managers), by key.
    pub metadata: Vec<MetadataEntryView>,
    /// My own member metadata, by key.
    pub my_metadata: Vec<MetadataEntryView>,
}

/// One metadata entry: its key and its value written as compact JSON, shown as plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MetadataEntryView {
    pub key: String,
    pub value: String,
}

/// Whose metadata a change is for: the session's (host and managers) or my own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MetadataScope {
    Room,
    Mine,
}

/// The audience, which is listed page by page (`call_roster_page`) rather than in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AudienceView {
    /// Every audience member in the session.
    pub count: u64,
    /// Audience members with a raised hand, in join order; known to hosts and managers
    /// only (empty for others).
    pub raised_hands: Vec<MemberView>,
}

/// One page of the audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RosterPageView {
    pub members: Vec<MemberView>,
    /// The cursor of the next page; absent after the last.
    pub next: Option<String>,
    /// Audience members matching the search (all of them without one).
    pub count: u64,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChatView {
    pub seq: u64,
    pub from: u64,
    pub from_name: String,
    /// The recipient of a private message; `null` for everyone.
    pub to: Option<u64>,
    pub text: String,
}

/// Why the call is over for this app: what the closing screen says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndView {
    /// I left.
    Left,
    /// A host or manager removed me; `by` is their name when known.
    Removed { by: Option<String> },
    /// The host ended the session for everyone.
    EndedByHost { by: Option<String> },
    /// The host was alone for the idle timeout.
    IdleTimeout,
    /// The last member left.
    Empty,
    /// The server shut down.
    ServerShutdown,
    /// The server would not take this app back after a drop.
    ResumeRefused { detail: String },
    /// The link dropped and did not come back in time.
    ConnectionLost { detail: String },
}

/// Why someone else left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LeaveView {
    Left,
    Removed,
    ConnectionLost,
    SessionEnded,
}

/// Something a person should be told, names resolved. `by` is the acting host's or
/// manager's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeView {
    Joined {
        id: u64,
        name: String,
    },
    Left {
        id: u64,
        name: String,
        reason: LeaveView,
        by: Option<String>,
    },
    YouWereMuted {
        by: String,
    },
    YourVideoStopped {
        by: String,
    },
    UnmuteRequested {
        by: String,
    },
    YouWereRenamed {
        by: String,
        name: String,
    },
    YourHandLowered {
        by: String,
    },
    YourRoleChanged {
        by: String,
        role: RoleView,
    },
    YourHearingChanged {
        by: String,
        deaf: bool,
    },
    WaiterJoined {
        id: u64,
        name: String,
    },
    YouWereRemoved {
        by: String,
    },
    SessionEnded {
        reason: EndView,
    },
    Reaction {
        id: u64,
        name: String,
        reaction: ReactionView,
    },
}

/// What the call's event channel carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    /// The state after a change (bursts are coalesced: only the latest is sent).
    State {
        state: CallSnapshot,
    },
    /// A chat message new to this app.
    Chat {
        message: ChatView,
    },
    Notice {
        notice: NoticeView,
    },
    /// The link dropped (`reconnecting`) or came back (`connected`).
    Link {
        link: LinkView,
    },
    /// The media link changed (audio and video flow only while `connected`).
    Media {
        media: MediaView,
    },
    /// This app's camera in the call changed state (its frames go to the own tile).
    Camera {
        camera: CameraView,
    },
    /// This app's screen share stopped because the screen could not be captured any more
    /// (the share has ended for everyone).
    ShareStopped {
        error: ErrorView,
    },
    /// Connection quality changed: every member with a grade (members without enough
    /// media in the last window are left out).
    Quality {
        members: Vec<MemberQuality>,
    },
    /// The join waits in the session's lobby for a host to let it in.
    Waiting {
        #[serde(rename = "sessionName")]
        session_name: String,
    },
    /// This app connected to an in-meeting app's channel: the state and recent messages.
    AppOpened {
        app: String,
        #[cfg_attr(test, ts(type = "unknown"))]
        state: Option<serde_json::Value>,
        recent: Vec<AppMessageView>,
    },
    /// A message on the channel of an app open here.
    AppMessage {
        message: AppMessageView,
    },
    /// Someone invites this member to open an app.
    AppInvitation {
        app: String,
        from: u64,
        #[serde(rename = "fromName")]
        from_name: String,
    },
    /// The call is over; the last event on the channel.
    Closed {
        reason: EndView,
    },
}

/// One message on an app's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppMessageView {
    pub app: String,
    pub seq: u64,
    pub from: u64,
    #[cfg_attr(test, ts(type = "unknown"))]
    pub data: serde_json::Value,
}

impl From<huddle_proto::AppMessage> for AppMessageView {
    fn from(m: huddle_proto::AppMessage) -> Self {
        AppMessageView {
            app: m.app.to_string(),
            seq: m.seq,
            from: m.from.0,
            data: m.data,
        }
    }
}

/// The window's event for what the session says about apps.
pub fn app_event(event: huddle_client::AppEvent) -> Option<CallEvent> {
    use huddle_client::AppEvent;
    Some(match event {
        AppEvent::Opened { app, state, recent } => CallEvent::AppOpened {
            app: app.to_string(),
            state,
            recent: recent.into_iter().map(AppMessageView::from).collect(),
        },
        AppEvent::Message(message) => CallEvent::AppMessage {
            message: message.into(),
        },
        AppEvent::Invitation {
            app,
            from,
            from_name,
        } => CallEvent::AppInvitation {
            app: app.to_string(),
            from: from.0,
            from_name,
        },
        _ => return None,
    })
}

/// The state of this app's media link to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaView {
    /// Waiting for the server's media details or the first connection.
    Connecting,
    Connected,
    /// The media connection was lost and is being made again.
    Reconnecting,
    /// The server forwards no media, or media failed for good; `detail` says why.
    Unavailable {
        detail: String,
    },
    Closed,
}

/// A connection grade; the order is from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum QualityView {
    Good,
    Fair,
    Poor,
}

/// One member's connection grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MemberQuality {
    pub id: u64,
    pub quality: QualityView,
}

/// Which device to switch mid-call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

/// The call's own camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CameraView {
    /// Camera off, or no camera chosen.
    Off,
    Starting,
    Live,
    /// The camera cannot be used (missing, busy, refused); the call retries every second.
    Failed {
        error: ErrorView,
    },
}

/// A screen that can be shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ScreenView {
    pub id: String,
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub primary: bool,
}

pub fn camera(state: &LocalVideo) -> CameraView {
    match state {
        LocalVideo::Off => CameraView::Off,
        LocalVideo::Starting => CameraView::Starting,
        LocalVideo::Live(_) => CameraView::Live,
        LocalVideo::Failed(e) => CameraView::Failed {
            error: AppError::from(e.clone()).view(),
        },
    }
}

pub fn media(state: &MediaState) -> MediaView {
    match state {
        MediaState::Connecting => MediaView::Connecting,
        MediaState::Connected => MediaView::Connected,
        MediaState::Reconnecting => MediaView::Reconnecting,
        MediaState::Unavailable(detail) => MediaView::Unavailable {
            detail: detail.clone(),
        },
        MediaState::Closed => MediaView::Closed,
    }
}

/// What joining returns: the state at the welcome and the chat it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JoinedView {
    pub state: CallSnapshot,
    pub chat: Vec<ChatView>,
    pub media: MediaView,
    /// `huddle://join?…` for this session on the server joined, to hand to others.
    pub invite_link: String,
}

/// How big a participant's tile is drawn, in device pixels, so that the server can send a
/// video layer that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TileSize {
    pub participant: u64,
    pub width: u32,
    pub height: u32,
}

/// What the join form sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// Empty: the server hosted on this computer.
    pub server: String,
    pub session_name: String,
    pub display_name: String,
    pub passcode: Option<String>,
    /// A join token, for a server in token mode (issued by the organisation's backend);
    /// `null` or empty: none.
    #[serde(default)]
    pub token: Option<String>,
    pub audio_muted: bool,
    pub video_on: bool,
    /// The devices picked on the pre-join screen; `null`: the system's default.
    #[serde(default)]
    pub camera_id: Option<String>,
    #[serde(default)]
    pub microphone_id: Option<String>,
    #[serde(default)]
    pub speaker_id: Option<String>,
}

/// A join token as typed or pasted: surrounding spaces and line breaks dropped, empty none.
pub fn pasted_token(raw: Option<String>) -> Option<String> {
    raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

pub fn link(status: &ConnectionStatus) -> LinkView {
    match status {
        ConnectionStatus::Connected | ConnectionStatus::Reconnected => LinkView::Connected,
        ConnectionStatus::Reconnecting => LinkView::Reconnecting,
        // Closed, and any status a later client adds, count as "not usable".
        _ => LinkView::Closed,
    }
}

pub fn member(m: &Member, me: u64) -> MemberView {
    MemberView {
        id: m.id.0,
        name: m.display_name.clone(),
        role: m.role.into(),
        is_me: m.id.0 == me,
        audio_muted: m.audio_muted,
        video_on: m.video_on,
        sharing: m.sharing,
        talking: m.talking,
        hand_raised: m.hand_raised,
        deafened: m.deafened,
        reconnecting: m.connection == ConnectionState::Reconnecting,
        join_order: m.join_order,
    }
}

pub fn session(s: &SessionInfo) -> SessionView {
    SessionView {
        name: s.name.clone(),
        locked: s.locked,
        share_locked: s.share_locked,
        spotlight: s.spotlight.map(|p| p.0),
        passcode_protected: s.passcode_protected,
        audience_chat: s.audience_chat,
        max_active: s.max_active,
        capacity: s.capacity,
        waiting_room: s.waiting_room,
        hands_first: s.hands_first,
    }
}

pub fn snapshot(state: &CallState, status: &ConnectionStatus) -> CallSnapshot {
    let me = state.me.0;
    CallSnapshot {
        me,
        role: state.role.into(),
        session: session(&state.session),
        members: state.stage_and_me().map(|m| member(m, me)).collect(),
        audience: AudienceView {
            count: state.audience_count,
            raised_hands: state.audience_hands().map(|m| member(m, me)).collect(),
        },
        lobby: state
            .lobby
            .iter()
            .map(|w| WaiterView {
                id: w.id.0,
                name: w.display_name.clone(),
            })
            .collect(),
        link: link(status),
        metadata: metadata(&state.metadata),
        my_metadata: state
            .member_metadata
            .get(&state.me)
            .map(metadata)
            .unwrap_or_default(),
    }
}

/// Metadata as the window lists it, in key order.
pub fn metadata(m: &Metadata) -> Vec<MetadataEntryView> {
    let mut entries: Vec<MetadataEntryView> = m
        .iter()
        .map(|(key, value)| MetadataEntryView {
            key: key.clone(),
            value: value.to_string(),
        })
        .collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

/// The change that sets `key` to the JSON that `value` is; the key's and the result's limits
/// are the server's to check (its refusal is shown in its words).
///
/// # Errors
/// [`AppError::InvalidMetadata`] when `value` is not JSON.
pub fn metadata_set(key: &str, value: &str) -> Result<MetadataChange, AppError> {
    let value: serde_json::Value = serde_json::from_str(value.trim()).map_err(|e| {
        AppError::InvalidMetadata(format!(
            "the value is not JSON (text goes in double quotes): {e}"
        ))
    })?;
    let mut set = Metadata::new();
    set.insert(key.trim().to_owned(), value);
    Ok(MetadataChange::merge(set))
}

pub fn roster_page(page: &AudiencePage, me: ParticipantId) -> RosterPageView {
    RosterPageView {
        members: page.members.iter().map(|m| member(m, me.0)).collect(),
        next: page.next.clone(),
        count: page.count,
    }
}

pub fn chat(m: &ChatMessage) -> ChatView {
    ChatView {
        seq: m.seq.0,
        from: m.from.0,
        from_name: m.from_name.clone(),
        to: m.to.map(|p| p.0),
        text: m.text.clone(),
    }
}

/// `by` is the host's name when the caller knows it.
pub fn end_reason(reason: &EndReason, by: Option<String>) -> EndView {
    match reason {
        EndReason::EndedByHost { .. } => EndView::EndedByHost { by },
        EndReason::IdleTimeout => EndView::IdleTimeout,
        EndReason::Empty => EndView::Empty,
        EndReason::ServerShutdown => EndView::ServerShutdown,
    }
}

/// `by` is the remover's or the host's name, remembered from the notice that came first.
pub fn close_reason(reason: &CloseReason, by: Option<String>) -> EndView {
    match reason {
        CloseReason::Left => EndView::Left,
        CloseReason::Removed { .. } => EndView::Removed { by },
        CloseReason::SessionEnded { reason } => end_reason(reason, by),
        CloseReason::ResumeRefused { message, .. } => EndView::ResumeRefused {
            detail: message.clone(),
        },
        CloseReason::ConnectionLost { detail } => EndView::ConnectionLost {
            detail: detail.clone(),
        },
        // A reason a later client adds: the link is gone, say so plainly.
        other => EndView::ConnectionLost {
            detail: other.to_string(),
        },
    }
}

/// `None` for notices this app does not know how to show yet.
pub fn notice(n: &Notice) -> Option<NoticeView> {
    Some(match n {
        Notice::Joined { id, name } => NoticeView::Joined {
            id: id.0,
            name: name.clone(),
        },
        Notice::Left {
            id,
            name,
            reason,
            by_name,
        } => NoticeView::Left {
            id: id.0,
            name: name.clone(),
            reason: match reason {
                LeaveReason::Left => LeaveView::Left,
                LeaveReason::Removed { .. } => LeaveView::Removed,
                LeaveReason::ConnectionLost => LeaveView::ConnectionLost,
                LeaveReason::SessionEnded => LeaveView::SessionEnded,
            },
            by: by_name.clone(),
        },
        Notice::YouWereMuted { by_name, .. } => NoticeView::YouWereMuted {
            by: by_name.clone(),
        },
        Notice::YourVideoStopped { by_name, .. } => NoticeView::YourVideoStopped {
            by: by_name.clone(),
        },
        Notice::UnmuteRequested { by_name, .. } => NoticeView::UnmuteRequested {
            by: by_name.clone(),
        },
        Notice::YouWereRenamed { by_name, name, .. } => NoticeView::YouWereRenamed {
            by: by_name.clone(),
            name: name.clone(),
        },
        Notice::YourHandLowered { by_name, .. } => NoticeView::YourHandLowered {
            by: by_name.clone(),
        },
        Notice::YourRoleChanged { by_name, role, .. } => NoticeView::YourRoleChanged {
            by: by_name.clone(),
            role: (*role).into(),
        },
        Notice::YourHearingChanged { by_name, deaf, .. } => NoticeView::YourHearingChanged {
            by: by_name.clone(),
            deaf: *deaf,
        },
        Notice::WaiterJoined { waiter, name } => NoticeView::WaiterJoined {
            id: waiter.0,
            name: name.clone(),
        },
        Notice::YouWereRemoved { by_name, .. } => NoticeView::YouWereRemoved {
            by: by_name.clone(),
        },
        Notice::SessionEnded { reason, by_name } => NoticeView::SessionEnded {
            reason: end_reason(reason, by_name.clone()),
        },
        Notice::Reaction { id, name, reaction } => NoticeView::Reaction {
            id: id.0,
            name: name.clone(),
            reaction: (*reaction).into(),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_proto::{ChatSeq, ParticipantId};

    fn ann() -> Member {
        Member {
            id: ParticipantId(2),
            display_name: "Ann <b>".into(),
            role: Role::Manager,
            audio_muted: true,
            video_on: false,
            sharing: false,
            talking: true,
            hand_raised: true,
            deafened: false,
            connection: ConnectionState::Reconnecting,
            join_order: 2,
        }
    }

    #[test]
    fn members_keep_every_state_and_know_who_i_am() -> Result<(), serde_json::Error> {
        let view = member(&ann(), 2);
        let json = serde_json::to_value(&view)?;
        assert_eq!(json["name"], "Ann <b>", "names pass through as text");
        assert_eq!(json["role"], "manager");
        assert_eq!(json["isMe"], true);
        assert_eq!(json["audioMuted"], true);
        assert_eq!(json["handRaised"], true);
        assert_eq!(json["reconnecting"], true);
        assert!(!member(&ann(), 1).is_me);
        Ok(())
    }

    #[test]
    fn end_reasons_carry_who_ended_or_removed() -> Result<(), serde_json::Error> {
        let ended = close_reason(
            &CloseReason::SessionEnded {
                reason: EndReason::EndedByHost {
                    by: ParticipantId(1),
                },
            },
            Some("Bo".into()),
        );
        assert_eq!(
            serde_json::to_value(&ended)?,
            serde_json::json!({"kind": "ended_by_host", "by": "Bo"})
        );
        let removed = close_reason(
            &CloseReason::Removed {
                by: ParticipantId(1),
            },
            None,
        );
        assert_eq!(
            serde_json::to_value(&removed)?,
            serde_json::json!({"kind": "removed", "by": null})
        );
        assert_eq!(close_reason(&CloseReason::Left, None), EndView::Left);
        assert_eq!(
            close_reason(
                &CloseReason::SessionEnded {
                    reason: EndReason::ServerShutdown
                },
                None
            ),
            EndView::ServerShutdown
        );
        Ok(())
    }

    #[test]
    fn events_are_tagged_by_type() -> Result<(), serde_json::Error> {
        let event = CallEvent::Chat {
            message: chat(&ChatMessage {
                seq: ChatSeq(7),
                from: ParticipantId(3),
                from_name: "Cy".into(),
                to: Some(ParticipantId(1)),
                text: "hi".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&event)?,
            serde_json::json!({"type": "chat", "message": {"seq": 7, "from": 3, "fromName": "Cy", "to": 1, "text": "hi"}})
        );
        let notice = notice(&Notice::YouWereMuted {
            by: ParticipantId(1),
            by_name: "Bo".into(),
        })
        .map(|notice| CallEvent::Notice { notice });
        assert_eq!(
            serde_json::to_value(&notice)?,
            serde_json::json!({"type": "notice", "notice": {"kind": "you_were_muted", "by": "Bo"}})
        );
        Ok(())
    }

    #[test]
    fn join_requests_read_from_the_form() -> Result<(), serde_json::Error> {
        let req: JoinRequest = serde_json::from_value(serde_json::json!({
            "server": "", "sessionName": "Standup", "displayName": "Ann",
            "passcode": null, "audioMuted": true, "videoOn": false
        }))?;
        assert_eq!(req.session_name, "Standup");
        assert!(req.audio_muted);
        // Unknown reactions are refused at the boundary rather than passed on.
        assert!(serde_json::from_value::<ReactionView>(serde_json::json!("shrug")).is_err());
        Ok(())
    }

    #[test]
    fn generated_types_are_current() -> Result<(), Box<dyn std::error::Error>> {
        use ts_rs::TS;
        let cfg = crate::generated::config();
        let decls = [
            RoleView::decl(&cfg),
            ReactionView::decl(&cfg),
            MemberView::decl(&cfg),
            SessionView::decl(&cfg),
            LinkView::decl(&cfg),
            CallSnapshot::decl(&cfg),
            MetadataEntryView::decl(&cfg),
            MetadataScope::decl(&cfg),
            AudienceView::decl(&cfg),
            WaiterView::decl(&cfg),
            RosterPageView::decl(&cfg),
            ChatView::decl(&cfg),
            EndView::decl(&cfg),
            LeaveView::decl(&cfg),
            NoticeView::decl(&cfg),
            CallEvent::decl(&cfg),
            AppMessageView::decl(&cfg),
            MediaView::decl(&cfg),
            CameraView::decl(&cfg),
            ScreenView::decl(&cfg),
            DeviceKind::decl(&cfg),
            QualityView::decl(&cfg),
            MemberQuality::decl(&cfg),
            JoinedView::decl(&cfg),
            TileSize::decl(&cfg),
            JoinRequest::decl(&cfg),
        ];
        crate::generated::check(
            "call.ts",
            "src-tauri/src/call/view.rs",
            &[r#"import type { ErrorView } from "./error";"#],
            &decls,
        )
    }
}
