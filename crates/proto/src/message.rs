//! Every message between app and server, as serde-tagged enums.
//!
//! On the wire each message is one JSON object in one text frame, tagged by `"type"`:
//! `{"type":"ping","nonce":3}`. The app sends [`ClientMessage`]s, the server sends
//! [`ServerMessage`]s. Unknown fields are ignored so that later versions can add optional
//! fields without breaking older peers.

use crate::apps::{AppId, AppMessage};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{ChatSeq, ParticipantId, RequestId, ResumeKey, WaiterId};
use crate::media::{MediaEvent, MediaRequest};
use crate::metadata::{MemberMetadata, Metadata, MetadataChange, MetadataDiff};
use serde::{Deserialize, Serialize};

/// What a member may do, in decreasing order of power. See SPEC §3 for the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the session; exactly one while anyone is in it (unless nobody eligible joined).
    Host,
    /// Helps the host: every host control except roles, transfer and end.
    Manager,
    /// Publishes and chats; no control over others.
    Participant,
    /// Watches and listens; may chat if the session allows it.
    Audience,
}

impl Role {
    /// The role a token's `role_type` claim names: 0 participant, 1 host, 2 manager,
    /// 3 audience.
    ///
    /// # Errors
    /// [`ProtoError::UnknownRoleType`] for any other number.
    pub fn from_role_type(role_type: u8) -> Result<Role, ProtoError> {
        match role_type {
            0 => Ok(Role::Participant),
            1 => Ok(Role::Host),
            2 => Ok(Role::Manager),
            3 => Ok(Role::Audience),
            other => Err(ProtoError::UnknownRoleType(other)),
        }
    }

    /// The `role_type` claim value of this role.
    #[must_use]
    pub fn role_type(self) -> u8 {
        match self {
            Role::Participant => 0,
            Role::Host => 1,
            Role::Manager => 2,
            Role::Audience => 3,
        }
    }

    /// The wire name, as in `"manager"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Manager => "manager",
            Role::Participant => "participant",
            Role::Audience => "audience",
        }
    }
}

/// Whether a member's connection is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Connected.
    Present,
    /// The connection dropped; the member keeps its place until the grace period ends.
    Reconnecting,
}

/// A reaction shown briefly over a member's tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    /// 👍
    ThumbsUp,
    /// 👏
    Clap,
    /// ❤️
    Heart,
    /// 😂
    Joy,
    /// 😮
    Surprised,
    /// 🎉
    Tada,
}

/// The public state of one member, as everyone in the session sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id in this session.
    pub id: ParticipantId,
    /// Name shown to others (plain text, never markup).
    pub display_name: String,
    /// Current role.
    pub role: Role,
    /// Microphone muted.
    pub audio_muted: bool,
    /// Camera on.
    pub video_on: bool,
    /// Sharing the screen.
    pub sharing: bool,
    /// Currently speaking (voice activity, reported by the member's app).
    pub talking: bool,
    /// Hand raised.
    pub hand_raised: bool,
    /// Hears nothing: the server forwards no audio to this member (`set_deaf`).
    #[serde(default)]
    pub deafened: bool,
    /// Connected or reconnecting.
    pub connection: ConnectionState,
    /// Position in join order (1 for the first member); kept across a resume.
    pub join_order: u64,
}

/// The changed fields of a member; absent fields did not change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberUpdate {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// New microphone state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_muted: Option<bool>,
    /// New camera state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_on: Option<bool>,
    /// New screen share state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<bool>,
    /// New talking state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talking: Option<bool>,
    /// New hand state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_raised: Option<bool>,
    /// New deafened state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deafened: Option<bool>,
    /// New connection state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionState>,
}

impl Member {
    /// Applies the changed fields of an `updated` event: how a client keeps its roster.
    /// Destructured, so a field added to [`MemberUpdate`] does not compile until it is
    /// applied here too.
    pub fn apply(&mut self, changes: &MemberUpdate) {
        let MemberUpdate {
            display_name,
            role,
            audio_muted,
            video_on,
            sharing,
            talking,
            hand_raised,
            deafened,
            connection,
        } = changes;
        if let Some(v) = display_name {
            self.display_name.clone_from(v);
        }
        let flags = [
            (&mut self.audio_muted, audio_muted),
            (&mut self.video_on, video_on),
            (&mut self.sharing, sharing),
            (&mut self.talking, talking),
            (&mut self.hand_raised, hand_raised),
            (&mut self.deafened, deafened),
        ];
        for (field, value) in flags {
            if let Some(v) = value {
                *field = *v;
            }
        }
        if let Some(v) = role {
            self.role = *v;
        }
        if let Some(v) = connection {
            self.connection = *v;
        }
    }
}

impl MemberUpdate {
    /// Folds `newer` into this update: each field keeps its latest value (how changes made
    /// within one batch interval become one entry). Destructured, so a field added here does
    /// not compile until it is folded too.
    pub fn merge(&mut self, newer: &MemberUpdate) {
        fn take<T: Clone>(into: &mut Option<T>, newer: &Option<T>) {
            if newer.is_some() {
                into.clone_from(newer);
            }
        }
        let MemberUpdate {
            display_name,
            role,
            audio_muted,
            video_on,
            sharing,
            talking,
            hand_raised,
            deafened,
            connection,
        } = newer;
        take(&mut self.display_name, display_name);
        take(&mut self.role, role);
        take(&mut self.connection, connection);
        for (into, newer) in [
            (&mut self.audio_muted, audio_muted),
            (&mut self.video_on, video_on),
            (&mut self.sharing, sharing),
            (&mut self.talking, talking),
            (&mut self.hand_raised, hand_raised),
            (&mut self.deafened, deafened),
        ] {
            take(into, newer);
        }
    }

    /// True when no field changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == MemberUpdate::default()
    }
}

/// Settings of the session that every member sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session name as its creator typed it.
    pub name: String,
    /// No new joins while locked.
    pub locked: bool,
    /// Only the host and managers may share their screen.
    pub share_locked: bool,
    /// The member spotlighted for everyone, if any.
    pub spotlight: Option<ParticipantId>,
    /// Joining needs a passcode.
    pub passcode_protected: bool,
    /// Audience members may chat.
    pub audience_chat: bool,
    /// Most members that may publish; later joiners take part as audience.
    pub max_active: u32,
    /// Most members the session holds.
    pub capacity: u32,
    /// Joiners wait in the lobby until a host or manager admits them.
    #[serde(default)]
    pub waiting_room: bool,
    /// Raised hands are shown first in everyone's grid (a host's choice).
    #[serde(default)]
    pub hands_first: bool,
}

/// Someone waiting in the lobby, as hosts and managers see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    /// The lobby's id for them (not a participant id: they are not a member yet).
    pub id: WaiterId,
    /// The name they joined with, cleaned like any display name.
    pub display_name: String,
}

/// Why someone left the lobby, as told to hosts and managers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LobbyExit {
    /// A host or manager let them in (or turned the waiting room off).
    Admitted {
        /// Who let them in.
        by: ParticipantId,
        /// Their participant id in the session.
        participant: ParticipantId,
    },
    /// A host or manager turned them away.
    Denied {
        /// Who.
        by: ParticipantId,
    },
    /// They gave up waiting (closed the connection).
    Left,
}

/// One chat message as delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Per-session sequence number, shared by public and private messages.
    pub seq: ChatSeq,
    /// The sender.
    pub from: ParticipantId,
    /// The sender's display name when sent.
    pub from_name: String,
    /// The recipient of a private message; `null` for a message to everyone.
    pub to: Option<ParticipantId>,
    /// The text, as sent.
    pub text: String,
}

/// Taking a dropped member back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The member to take back.
    pub participant_id: ParticipantId,
    /// The secret from that member's `welcome`.
    pub resume_key: ResumeKey,
}

/// The first message of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Session to join (created if nobody is in it).
    pub session_name: String,
    /// Name to show to others; may be left out (shown as "Guest", like an empty one).
    #[serde(default)]
    pub display_name: String,
    /// Passcode; sets it when this join creates the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// Join token (HS256 JWT); required unless the server runs in open mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Take back a dropped member instead of joining as a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
    /// Join with the microphone muted.
    #[serde(default)]
    pub audio_muted: bool,
    /// Join with the camera on.
    #[serde(default)]
    pub video_on: bool,
    /// Minutes the host may be alone before the session ends (applies while this member is
    /// host; the server default is 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_mins: Option<u32>,
}

/// Everything a member asks the session to do after joining. Each is sent inside
/// `request {id, action}` and answered by `ok {id}` or `error {id, ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Mute or unmute one's own microphone. Unmuting answers an `unmute_requested`.
    SetAudio {
        /// New state.
        muted: bool,
    },
    /// Turn one's own camera on or off.
    SetVideo {
        /// New state.
        on: bool,
    },
    /// Start or stop sharing one's screen.
    SetSharing {
        /// New state.
        on: bool,
    },
    /// Report one's own voice activity.
    SetTalking {
        /// New state.
        talking: bool,
    },
    /// Send a chat message to everyone (`to` absent) or privately to one member.
    Chat {
        /// Recipient of a private message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<ParticipantId>,
        /// The text.
        text: String,
    },
    /// Raise one's own hand.
    RaiseHand,
    /// Lower one's own hand (`participant` absent) or someone else's (host, manager).
    LowerHand {
        /// Whose hand; absent for one's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Show a reaction to everyone.
    React {
        /// Which one.
        reaction: Reaction,
    },
    /// Mute someone's microphone (host, manager). They are told by whom.
    MuteAudio {
        /// Whom.
        participant: ParticipantId,
    },
    /// Mute everyone else's microphone (host, manager).
    MuteAll,
    /// Turn someone's camera off (host, manager). They are told by whom.
    StopVideo {
        /// Whom.
        participant: ParticipantId,
    },
    /// Ask someone to unmute (host, manager); they decide with their own `set_audio`.
    AskUnmute {
        /// Whom.
        participant: ParticipantId,
    },
    /// Rename someone (host, manager) or oneself (anyone).
    Rename {
        /// Whom.
        participant: ParticipantId,
        /// The new display name (cleaned like a joining name).
        name: String,
    },
    /// Remove someone from the session (host, manager).
    Remove {
        /// Whom.
        participant: ParticipantId,
    },
    /// Remove everyone else (host, manager; a manager cannot remove the host).
    RemoveOthers,
    /// Allow screen sharing only to the host and managers (host, manager).
    LockSharing {
        /// New state.
        locked: bool,
    },
    /// Lock or unlock the session against new joins (host, manager).
    LockSession {
        /// New state.
        locked: bool,
    },
    /// Allow or forbid chat for the audience (host, manager).
    SetAudienceChat {
        /// New state.
        allowed: bool,
    },
    /// Spotlight someone for everyone, or clear the spotlight (host, manager).
    Spotlight {
        /// Whom; absent to clear.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Change the session's metadata (host, manager).
    UpdateRoomMetadata {
        /// What to set, delete or replace.
        #[serde(flatten)]
        change: MetadataChange,
    },
    /// Change one's own metadata (anyone, `participant` absent or oneself) or someone
    /// else's (host, manager).
    UpdateMemberMetadata {
        /// Whose; absent for one's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        /// What to set, delete or replace.
        #[serde(flatten)]
        change: MetadataChange,
    },
    /// Make an audience member a participant (host, manager).
    PromoteAudience {
        /// Whom.
        participant: ParticipantId,
    },
    /// Make a participant audience; they stop publishing (host, manager).
    DemoteToAudience {
        /// Whom.
        participant: ParticipantId,
    },
    /// Make a participant a manager (host).
    MakeManager {
        /// Whom.
        participant: ParticipantId,
    },
    /// Make a manager a participant again (host).
    RevokeManager {
        /// Whom.
        participant: ParticipantId,
    },
    /// Hand the host role to someone; the old host becomes a participant (host).
    TransferHost {
        /// Whom.
        participant: ParticipantId,
    },
    /// Stop or start hearing the session: oneself (`participant` absent or oneself; anyone)
    /// or someone else (host, manager). Deafening also mutes the member's microphone.
    SetDeaf {
        /// Whom; absent for oneself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        /// New state.
        deaf: bool,
    },
    /// Show raised hands first in everyone's grid (host, manager).
    SetHandsFirst {
        /// New state.
        on: bool,
    },
    /// Turn the waiting room on or off (host, manager). Turning it off admits everyone
    /// waiting.
    SetWaitingRoom {
        /// New state.
        on: bool,
    },
    /// Let someone in from the lobby (host, manager).
    Admit {
        /// Whom.
        waiter: WaiterId,
    },
    /// Let everyone in from the lobby, as many as the session holds (host, manager).
    AdmitAll,
    /// Turn someone in the lobby away (host, manager); they are told.
    Deny {
        /// Whom.
        waiter: WaiterId,
    },
    /// Connect to an app's channel (anyone): answered by `ok`, then `app_opened` with the
    /// app's state and recent messages.
    AppOpen {
        /// Which app.
        app: AppId,
    },
    /// Leave an app's channel.
    AppClose {
        /// Which app.
        app: AppId,
    },
    /// Send a message on an app's channel (`app_send` grant; the app open): relayed to every
    /// member with the app open as `app_message`.
    AppMessage {
        /// Which app.
        app: AppId,
        /// Anything the app sends; at most [`crate::limits::MAX_APP_MESSAGE_BYTES`] as JSON.
        data: serde_json::Value,
    },
    /// Store the app's state snapshot that members connecting later get (`app_send` grant;
    /// the app open). Not relayed.
    AppSetState {
        /// Which app.
        app: AppId,
        /// The snapshot; at most [`crate::limits::MAX_APP_STATE_BYTES`] as JSON.
        state: serde_json::Value,
    },
    /// Invite members to open an app (`app_send` grant): `to` them, or everyone else when
    /// absent.
    AppInvite {
        /// Which app.
        app: AppId,
        /// Whom; absent for everyone else.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Vec<ParticipantId>>,
    },
    /// Leave the session.
    Leave,
    /// End the session for everyone (host).
    End,
}

impl Action {
    /// Whether this is an in-meeting app request (`app_*`), rate-limited on its own budget.
    #[must_use]
    pub fn is_app(&self) -> bool {
        matches!(
            self,
            Action::AppOpen { .. }
                | Action::AppClose { .. }
                | Action::AppMessage { .. }
                | Action::AppSetState { .. }
                | Action::AppInvite { .. }
        )
    }

    /// The `type` of every action, for decoding errors and documentation.
    pub const TYPES: &'static [&'static str] = &[
        "set_audio",
        "set_video",
        "set_sharing",
        "set_talking",
        "chat",
        "raise_hand",
        "lower_hand",
        "react",
        "mute_audio",
        "mute_all",
        "stop_video",
        "ask_unmute",
        "rename",
        "remove",
        "remove_others",
        "lock_sharing",
        "lock_session",
        "set_audience_chat",
        "spotlight",
        "update_room_metadata",
        "update_member_metadata",
        "promote_audience",
        "demote_to_audience",
        "make_manager",
        "revoke_manager",
        "transfer_host",
        "set_deaf",
        "set_hands_first",
        "set_waiting_room",
        "admit",
        "admit_all",
        "deny",
        "app_open",
        "app_close",
        "app_message",
        "app_set_state",
        "app_invite",
        "leave",
        "end",
    ];

    /// One action of every kind, every one that can name a member naming `member`: a public
    /// and a private chat, one's own and someone's hand, a spotlight and its clearing. For
    /// tests that must cover every action; the round-trip test checks it holds every
    /// [`Action::TYPES`].
    #[must_use]
    pub fn examples(member: ParticipantId) -> Vec<Action> {
        vec![
            Action::SetAudio { muted: false },
            Action::SetVideo { on: true },
            Action::SetSharing { on: true },
            Action::SetTalking { talking: true },
            Action::Chat {
                to: None,
                text: "hello".into(),
            },
            Action::Chat {
                to: Some(member),
                text: "psst".into(),
            },
            Action::RaiseHand,
            Action::LowerHand { participant: None },
            Action::LowerHand {
                participant: Some(member),
            },
            Action::React {
                reaction: Reaction::Tada,
            },
            Action::MuteAudio {
                participant: member,
            },
            Action::MuteAll,
            Action::StopVideo {
                participant: member,
            },
            Action::AskUnmute {
                participant: member,
            },
            Action::Rename {
                participant: member,
                name: "Bo".into(),
            },
            Action::Remove {
                participant: member,
            },
            Action::RemoveOthers,
            Action::LockSharing { locked: true },
            Action::LockSession { locked: true },
            Action::SetAudienceChat { allowed: false },
            Action::Spotlight {
                participant: Some(member),
            },
            Action::Spotlight { participant: None },
            Action::UpdateRoomMetadata {
                change: MetadataChange::merge(example_metadata()),
            },
            Action::UpdateMemberMetadata {
                participant: None,
                change: MetadataChange::merge(example_metadata()),
            },
            Action::UpdateMemberMetadata {
                participant: Some(member),
                change: MetadataChange::merge(example_metadata()),
            },
            Action::PromoteAudience {
                participant: member,
            },
            Action::DemoteToAudience {
                participant: member,
            },
            Action::MakeManager {
                participant: member,
            },
            Action::RevokeManager {
                participant: member,
            },
            Action::TransferHost {
                participant: member,
            },
            Action::SetDeaf {
                participant: None,
                deaf: true,
            },
            Action::SetDeaf {
                participant: Some(member),
                deaf: true,
            },
            Action::SetHandsFirst { on: true },
            Action::SetWaitingRoom { on: true },
            Action::Admit {
                waiter: WaiterId(member.0),
            },
            Action::AdmitAll,
            Action::Deny {
                waiter: WaiterId(member.0),
            },
            Action::AppOpen { app: example_app() },
            Action::AppClose { app: example_app() },
            Action::AppMessage {
                app: example_app(),
                data: serde_json::json!({"t": "stroke", "id": "s1"}),
            },
            Action::AppSetState {
                app: example_app(),
                state: serde_json::json!({"strokes": []}),
            },
            Action::AppInvite {
                app: example_app(),
                to: None,
            },
            Action::AppInvite {
                app: example_app(),
                to: Some(vec![member]),
            },
            Action::Leave,
            Action::End,
        ]
    }
}

/// The app the examples name.
fn example_app() -> AppId {
    AppId::known_valid("whiteboard")
}

/// The metadata the examples set: `{"topic": "Q3 review"}`.
fn example_metadata() -> Metadata {
    let mut m = Metadata::new();
    m.insert("topic".to_owned(), serde_json::Value::from("Q3 review"));
    m
}

/// A message from the app to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Join or resume; must be the first message, within the join timeout.
    Join(Join),
    /// Ask the session to do something.
    Request {
        /// Echoed in the answer.
        id: RequestId,
        /// What to do.
        action: Action,
    },
    /// Ask for the chat messages addressed to oneself after `after_seq` (to fill a gap).
    ChatHistory {
        /// Echoed in the answer.
        id: RequestId,
        /// Return messages with a larger sequence number.
        after_seq: ChatSeq,
    },
    /// Heartbeat; answered by `pong` with the same nonce.
    Ping {
        /// Any number; echoed.
        nonce: u64,
    },
    /// Media negotiation (after `welcome`).
    Media {
        /// The request.
        media: MediaRequest,
    },
    /// Ask for a page of the audience (the roster beyond the publishing members), in join
    /// order; answered by `roster_page`.
    RosterPage {
        /// Echoed in the answer.
        id: RequestId,
        /// The `next` cursor of the page before; absent for the first page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// Most members in the answer, 1 to [`crate::limits::MAX_ROSTER_PAGE`].
        limit: u32,
        /// Only members whose name contains this text (ignoring case).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        search: Option<String>,
    },
}

impl ClientMessage {
    /// The `type` of every client message.
    pub const TYPES: &'static [&'static str] = &[
        "join",
        "request",
        "chat_history",
        "ping",
        "media",
        "roster_page",
    ];
}

/// Why a member left, as told to the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left on their own.
    Left,
    /// A host or manager removed them.
    Removed {
        /// Who removed them.
        by: ParticipantId,
    },
    /// Their connection dropped and did not come back within the grace period.
    ConnectionLost,
    /// The session ended.
    SessionEnded,
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndReason {
    /// The host ended it for everyone.
    EndedByHost {
        /// The host who ended it.
        by: ParticipantId,
    },
    /// The host was alone for the idle timeout.
    IdleTimeout,
    /// The last member left.
    Empty,
    /// The server is shutting down.
    ServerShutdown,
}

/// One member's changed fields inside `members_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChange {
    /// Who.
    pub participant: ParticipantId,
    /// What changed; only the changed fields are present, each with its latest value.
    pub changes: MemberUpdate,
}

/// One member gone from the session, inside `members_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// Who.
    pub participant: ParticipantId,
    /// Why.
    pub reason: LeaveReason,
}

/// A count of the audience and one page of it, in join order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudiencePage {
    /// How many audience members the session has (or, for a search, match it).
    pub count: u64,
    /// The members of this page.
    pub members: Vec<Member>,
    /// Cursor for the next page (`roster_page {after}`); absent after the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Something that changed in the session, pushed inside `event {event}`.
///
/// `Joined`, `Left` and `Updated` are the room's changes one by one; a server of this
/// protocol version delivers them folded into [`ServerEvent::MembersChanged`] batches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// Roster changes since the last batch, folded: at most one entry per member, in join
    /// order within each list. Entries may repeat what the receiver already has (apply them
    /// as upserts); see docs/protocol.md §4.2.
    MembersChanged {
        /// Members whose whole state follows: new to the receiver's view (joined, or
        /// promoted onto the stage), or, for hosts and managers, any member that changed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<Member>,
        /// Changed fields of members already in the receiver's view.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        updated: Vec<MemberChange>,
        /// Members who left the session.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<Departure>,
        /// The metadata of the members in `members` that have any; a member listed there
        /// without an entry here has none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        member_metadata: Vec<MemberMetadata>,
        /// How many audience members the session has now.
        audience_count: u64,
    },
    /// Someone joined (sent to everyone else).
    Joined {
        /// Their public state.
        member: Member,
    },
    /// Someone left.
    Left {
        /// Who.
        participant: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone's state changed; only the changed fields are present.
    Updated {
        /// Who.
        participant: ParticipantId,
        /// What changed.
        changes: MemberUpdate,
    },
    /// The session's settings changed; the full settings follow.
    SessionUpdated {
        /// The new settings.
        session: SessionInfo,
    },
    /// A chat message addressed to the recipient.
    Chat {
        /// The message.
        message: ChatMessage,
    },
    /// The session's metadata changed (sent to everyone).
    RoomMetadataUpdated {
        /// Who changed it.
        by: ParticipantId,
        /// What changed.
        #[serde(flatten)]
        changes: MetadataDiff,
    },
    /// A member's metadata changed (sent to everyone).
    MemberMetadataUpdated {
        /// Whose.
        participant: ParticipantId,
        /// Who changed it (the member itself, or a host or manager).
        by: ParticipantId,
        /// What changed.
        #[serde(flatten)]
        changes: MetadataDiff,
    },
    /// Someone reacted.
    Reaction {
        /// Who.
        participant: ParticipantId,
        /// Which reaction.
        reaction: Reaction,
    },
    /// Your microphone was muted by a host or manager.
    YouWereMuted {
        /// Who muted you.
        by: ParticipantId,
    },
    /// Your camera was stopped by a host or manager.
    YourVideoStopped {
        /// Who stopped it.
        by: ParticipantId,
    },
    /// A host or manager asks you to unmute; answer with `set_audio {muted:false}` or ignore.
    UnmuteRequested {
        /// Who asks.
        by: ParticipantId,
    },
    /// You were renamed.
    YouWereRenamed {
        /// Who renamed you.
        by: ParticipantId,
        /// Your new name.
        name: String,
    },
    /// Your hand was lowered by a host or manager.
    YourHandLowered {
        /// Who lowered it.
        by: ParticipantId,
    },
    /// Your role changed.
    YourRoleChanged {
        /// Who changed it (for a host hand-over, the leaving host).
        by: ParticipantId,
        /// The new role.
        role: Role,
    },
    /// A host or manager made you deaf or let you hear again.
    YourHearingChanged {
        /// Who.
        by: ParticipantId,
        /// Deafened now.
        deaf: bool,
    },
    /// Someone came into the lobby (sent to hosts and managers).
    WaiterJoined {
        /// Who.
        waiter: Waiter,
    },
    /// Someone left the lobby (sent to hosts and managers).
    WaiterLeft {
        /// Who.
        waiter: WaiterId,
        /// How.
        exit: LobbyExit,
    },
    /// You were removed; the server closes the connection after this.
    YouWereRemoved {
        /// Who removed you.
        by: ParticipantId,
    },
    /// The session ended; the server closes the connection after this.
    SessionEnded {
        /// Why.
        reason: EndReason,
    },
    /// You connected to an app's channel (`app_open`): what a late joiner needs.
    AppOpened {
        /// Which app.
        app: AppId,
        /// The latest snapshot set with `app_set_state`, if any.
        state: Option<serde_json::Value>,
        /// The channel's most recent messages, oldest first (they may overlap the state:
        /// apps apply a message twice harmlessly).
        recent: Vec<AppMessage>,
    },
    /// A message on the channel of an app you have open (your own included).
    AppMessage {
        /// The message.
        message: AppMessage,
    },
    /// Someone invites you to open an app.
    AppInvitation {
        /// Which app.
        app: AppId,
        /// Who invites.
        from: ParticipantId,
        /// Their display name.
        from_name: String,
    },
}

/// The answer to a successful `join`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's protocol version.
    pub protocol_version: u32,
    /// Your id in this session.
    pub participant_id: ParticipantId,
    /// Your role.
    pub role: Role,
    /// Secret to resume this membership after a dropped connection. Keep it private.
    pub resume_key: ResumeKey,
    /// True when this join took back a dropped member.
    pub resumed: bool,
    /// Session settings.
    pub session: SessionInfo,
    /// The publishing members (host, managers, participants) and you, in join order.
    pub members: Vec<Member>,
    /// The audience: its count and the first page (for more, `roster_page`).
    pub audience: AudiencePage,
    /// Recent chat addressed to you, oldest first.
    pub chat: Vec<ChatMessage>,
    /// The session's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The metadata of the members listed here (`members` and the audience page) that have
    /// any, in join order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_metadata: Vec<MemberMetadata>,
    /// Who waits in the lobby, oldest first (hosts and managers only; empty for others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lobby: Vec<Waiter>,
    /// How often to send `ping`, in milliseconds.
    pub heartbeat_interval_ms: u64,
}

/// The roster and settings afresh, for a member that fell behind (its missed messages were
/// dropped instead of queued). Replaces what the member had, as a welcome does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    /// Your role.
    pub role: Role,
    /// Session settings.
    pub session: SessionInfo,
    /// The publishing members and you, in join order.
    pub members: Vec<Member>,
    /// The audience: its count and the first page.
    pub audience: AudiencePage,
    /// The session's metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The metadata of the members listed here that have any, in join order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_metadata: Vec<MemberMetadata>,
    /// The newest chat sequence number addressed to you; ask `chat_history` for what you
    /// miss before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_chat_seq: Option<ChatSeq>,
    /// Who waits in the lobby (hosts and managers only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lobby: Vec<Waiter>,
}

/// A message from the server to the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The join succeeded.
    Welcome(Welcome),
    /// The session has a waiting room: the join waits until a host or manager lets it in
    /// (then `welcome` follows on this connection) or turns it away (`error {code:
    /// "denied"}`). Keep sending `ping`; anything else is refused until then.
    Waiting {
        /// Your place in the lobby.
        waiter: WaiterId,
        /// The session's name.
        session_name: String,
    },
    /// The request with this id succeeded.
    Ok {
        /// The request's id.
        id: RequestId,
    },
    /// Something failed. `id` names the request, or is absent for a connection-level error
    /// (a refused join, a malformed frame, rate limiting).
    Error {
        /// The failed request, if the error answers one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
        /// Stable machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail, e.g. the missing permission.
        message: String,
    },
    /// Something changed in the session.
    Event {
        /// What changed.
        event: ServerEvent,
    },
    /// The answer to `chat_history`.
    ChatHistory {
        /// The request's id.
        id: RequestId,
        /// The messages addressed to you after `after_seq`, oldest first.
        messages: Vec<ChatMessage>,
        /// False when older messages after `after_seq` were already dropped from the
        /// session's bounded history.
        complete: bool,
    },
    /// The answer to `ping`.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// Media negotiation and slot assignments.
    Media {
        /// The event.
        media: MediaEvent,
    },
    /// The answer to `roster_page`.
    RosterPage {
        /// The request's id.
        id: RequestId,
        /// The page.
        #[serde(flatten)]
        page: AudiencePage,
        /// The metadata of the members on this page that have any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        member_metadata: Vec<MemberMetadata>,
    },
    /// You fell behind and missed messages: the state afresh.
    Resync(Resync),
}

impl ServerMessage {
    /// The `type` of every server message.
    pub const TYPES: &'static [&'static str] = &[
        "welcome",
        "waiting",
        "ok",
        "error",
        "event",
        "chat_history",
        "pong",
        "media",
        "roster_page",
        "resync",
    ];

    /// An error answering request `id` (or the connection, when `None`).
    #[must_use]
    pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            id,
            code,
            message: message.into(),
        }
    }
}
