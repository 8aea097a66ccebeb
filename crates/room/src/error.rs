//! The room's error type: why a join or an action was refused. Nothing is changed when one
//! of these is returned.

use crate::grants::Permission;
use huddle_proto::{ErrorCode, ParticipantId, ProtoError};

/// Why the room refused a join or an action.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomError {
    /// The actor's role lacks a permission.
    #[error("permission denied: missing permission {0}")]
    PermissionDenied(Permission),
    /// The target is not a member.
    #[error("participant {0} is not in the session")]
    NotFound(ParticipantId),
    /// The actor is not a member (it left, was removed, or never joined).
    #[error("participant {0} has not joined the session")]
    NotJoined(ParticipantId),
    /// The action cannot target that member.
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// The action does not apply in the current state.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// The session is locked.
    #[error("the session is locked")]
    SessionLocked,
    /// The session has a passcode and the join gave none.
    #[error("the session requires a passcode")]
    PasscodeRequired,
    /// The session has a passcode and the join gave another one.
    #[error("wrong passcode")]
    WrongPasscode,
    /// The session is at capacity.
    #[error("the session is full ({capacity} members)")]
    SessionFull {
        /// The capacity.
        capacity: usize,
    },
    /// No more members may publish.
    #[error("at most {max} members may publish")]
    ActiveLimitReached {
        /// The limit.
        max: usize,
    },
    /// The session has ended.
    #[error("the session has ended")]
    Ended,
    /// The resume named an unknown member or the wrong key.
    #[error("cannot resume: unknown participant or wrong resume key")]
    ResumeFailed,
    /// A `roster_page` cursor this room did not hand out.
    #[error("this roster cursor is not one this session handed out; start again without one")]
    InvalidCursor,
    /// A `roster_page` limit out of range.
    #[error("a roster page holds 1 to {max} members, not {0}", max = huddle_proto::limits::MAX_ROSTER_PAGE)]
    InvalidLimit(u32),
    /// A `roster_page` search text that is too long.
    #[error("a roster search is at most {max} characters", max = huddle_proto::limits::MAX_ROSTER_SEARCH_CHARS)]
    InvalidSearch,
    /// A host or manager turned the join away from the lobby.
    #[error("the host did not let you into the session")]
    Denied,
    /// Nobody with that id waits in the lobby.
    #[error("nobody with id {0} waits in the lobby")]
    NotWaiting(huddle_proto::WaiterId),
    /// The lobby is full.
    #[error("the waiting room is full ({max} waiting); try again later")]
    LobbyFull {
        /// The limit.
        max: usize,
    },
    /// An app bound is reached (open apps of a member, apps of a session).
    #[error("{0}")]
    TooManyApps(&'static str),
    /// User input failed validation.
    #[error(transparent)]
    Proto(#[from] ProtoError),
}

impl RoomError {
    /// The wire code for this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            RoomError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            RoomError::NotFound(_) => ErrorCode::NotFound,
            RoomError::NotJoined(_) => ErrorCode::NotJoined,
            RoomError::InvalidTarget(_) => ErrorCode::InvalidTarget,
            RoomError::InvalidState(_) => ErrorCode::InvalidState,
            RoomError::SessionLocked => ErrorCode::SessionLocked,
            RoomError::PasscodeRequired => ErrorCode::PasscodeRequired,
            RoomError::WrongPasscode => ErrorCode::WrongPasscode,
            RoomError::SessionFull { .. } => ErrorCode::SessionFull,
            RoomError::ActiveLimitReached { .. } => ErrorCode::ActiveLimitReached,
            RoomError::Ended => ErrorCode::SessionEnded,
            RoomError::ResumeFailed => ErrorCode::ResumeFailed,
            RoomError::InvalidCursor => ErrorCode::InvalidCursor,
            RoomError::InvalidLimit(_) | RoomError::InvalidSearch => ErrorCode::InvalidMessage,
            RoomError::Denied => ErrorCode::Denied,
            RoomError::NotWaiting(_) => ErrorCode::NotWaiting,
            RoomError::LobbyFull { .. } => ErrorCode::LobbyFull,
            RoomError::TooManyApps(_) => ErrorCode::TooManyApps,
            RoomError::Proto(e) => e.code(),
        }
    }
}
