//! The error codes that travel on the wire and this crate's own error type.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable, machine-readable reason carried by `error` messages. Serialized as snake_case;
/// a client may match on these strings, so an existing one is never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    MalformedMessage,
    /// The `type` (of the message or of a request's action) is not one this version knows.
    UnknownMessageType,
    /// A field is missing or has the wrong type.
    InvalidMessage,
    /// The frame is larger than the frame limit.
    MessageTooLarge,
    /// A binary frame arrived; only text frames are allowed.
    BinaryFrame,
    /// The `join` asks for a protocol version the server does not speak.
    UnsupportedVersion,
    /// No `join` arrived within the join timeout.
    JoinTimeout,
    /// A message other than `join` arrived before joining.
    NotJoined,
    /// A second `join` arrived on a connection that already joined.
    AlreadyJoined,
    /// The session name is empty, too long or contains control characters.
    InvalidSessionName,
    /// The passcode is empty, too long or not printable ASCII.
    InvalidPasscode,
    /// The session has a passcode and the join gave none.
    PasscodeRequired,
    /// The session has a passcode and the join gave another one.
    WrongPasscode,
    /// The session is locked; no new joins.
    SessionLocked,
    /// The session holds as many members as it may.
    SessionFull,
    /// The session has ended.
    SessionEnded,
    /// The server requires a token and the join gave none.
    TokenRequired,
    /// The token is not a well-formed JWT, or a claim has the wrong type or is not valid yet.
    TokenInvalid,
    /// The token lacks a required claim (the message names it).
    TokenMissingClaim,
    /// The token is unsigned (`alg: none`).
    TokenUnsigned,
    /// The token's `exp` is in the past.
    TokenExpired,
    /// The token's signature does not verify with the server's secret.
    TokenBadSignature,
    /// The token is signed with an algorithm other than HS256 (and not unsigned).
    TokenWrongAlgorithm,
    /// The token's `tpc` names another session.
    TokenWrongSession,
    /// The token's `role_type` is not a known role.
    TokenUnknownRole,
    /// The resume's participant is gone or its resume key does not match.
    ResumeFailed,
    /// The sender's role lacks the permission named in the message.
    PermissionDenied,
    /// The target participant is not in the session.
    NotFound,
    /// The action cannot target that participant (for example oneself, or the host).
    InvalidTarget,
    /// The action does not apply in the current state (for example promoting someone who is
    /// not audience).
    InvalidState,
    /// Promoting would exceed the number of members allowed to publish.
    ActiveLimitReached,
    /// Chat text is empty or only whitespace.
    ChatEmpty,
    /// Chat text is longer than the chat limit.
    ChatTooLong,
    /// A metadata key is empty, too long or contains a control character, or a change both
    /// sets and deletes one key.
    InvalidMetadata,
    /// The metadata would have more keys or more bytes than its limit.
    MetadataTooLarge,
    /// A `roster_page` cursor that this session did not hand out (another session's, or
    /// made up).
    InvalidCursor,
    /// A host or manager turned the join away from the lobby.
    Denied,
    /// Nobody with that id waits in the lobby.
    NotWaiting,
    /// The lobby holds as many as it may.
    LobbyFull,
    /// An app message or app state is larger than its limit.
    AppDataTooLarge,
    /// The session has as many apps as it may, or the member has as many open as it may.
    TooManyApps,
    /// The connection sends faster than the rate limit allows.
    RateLimited,
    /// The connection was silent longer than the heartbeat timeout.
    HeartbeatTimeout,
    /// The server failed in a way that is not the client's fault.
    Internal,
}

impl ErrorCode {
    /// The wire string of this code, as in `"permission_denied"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedMessage => "malformed_message",
            ErrorCode::UnknownMessageType => "unknown_message_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::BinaryFrame => "binary_frame",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::JoinTimeout => "join_timeout",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::InvalidSessionName => "invalid_session_name",
            ErrorCode::InvalidPasscode => "invalid_passcode",
            ErrorCode::PasscodeRequired => "passcode_required",
            ErrorCode::WrongPasscode => "wrong_passcode",
            ErrorCode::SessionLocked => "session_locked",
            ErrorCode::SessionFull => "session_full",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::TokenRequired => "token_required",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenMissingClaim => "token_missing_claim",
            ErrorCode::TokenUnsigned => "token_unsigned",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenBadSignature => "token_bad_signature",
            ErrorCode::TokenWrongAlgorithm => "token_wrong_algorithm",
            ErrorCode::TokenWrongSession => "token_wrong_session",
            ErrorCode::TokenUnknownRole => "token_unknown_role",
            ErrorCode::ResumeFailed => "resume_failed",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::ActiveLimitReached => "active_limit_reached",
            ErrorCode::ChatEmpty => "chat_empty",
            ErrorCode::ChatTooLong => "chat_too_long",
            ErrorCode::InvalidMetadata => "invalid_metadata",
            ErrorCode::MetadataTooLarge => "metadata_too_large",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::Denied => "denied",
            ErrorCode::NotWaiting => "not_waiting",
            ErrorCode::LobbyFull => "lobby_full",
            ErrorCode::AppDataTooLarge => "app_data_too_large",
            ErrorCode::TooManyApps => "too_many_apps",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::HeartbeatTimeout => "heartbeat_timeout",
            ErrorCode::Internal => "internal",
        }
    }

    /// Every code, for documentation and exhaustive tests.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MalformedMessage,
        ErrorCode::UnknownMessageType,
        ErrorCode::InvalidMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::BinaryFrame,
        ErrorCode::UnsupportedVersion,
        ErrorCode::JoinTimeout,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::InvalidSessionName,
        ErrorCode::InvalidPasscode,
        ErrorCode::PasscodeRequired,
        ErrorCode::WrongPasscode,
        ErrorCode::SessionLocked,
        ErrorCode::SessionFull,
        ErrorCode::SessionEnded,
        ErrorCode::TokenRequired,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenMissingClaim,
        ErrorCode::TokenUnsigned,
        ErrorCode::TokenExpired,
        ErrorCode::TokenBadSignature,
        ErrorCode::TokenWrongAlgorithm,
        ErrorCode::TokenWrongSession,
        ErrorCode::TokenUnknownRole,
        ErrorCode::ResumeFailed,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::InvalidTarget,
        ErrorCode::InvalidState,
        ErrorCode::ActiveLimitReached,
        ErrorCode::ChatEmpty,
        ErrorCode::ChatTooLong,
        ErrorCode::InvalidMetadata,
        ErrorCode::MetadataTooLarge,
        ErrorCode::InvalidCursor,
        ErrorCode::Denied,
        ErrorCode::NotWaiting,
        ErrorCode::LobbyFull,
        ErrorCode::AppDataTooLarge,
        ErrorCode::TooManyApps,
        ErrorCode::RateLimited,
        ErrorCode::HeartbeatTimeout,
        ErrorCode::Internal,
    ];
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong decoding a message or validating user input.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// The text is not JSON at all.
    #[error("malformed JSON at line {line}, column {column}: {detail}")]
    Malformed {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// What the parser expected.
        detail: String,
    },
    /// The JSON is not an object with a string `type` field.
    #[error("message must be a JSON object with a string \"type\" field")]
    MissingType,
    /// The message `type` is not known.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A request's `action.type` is not known.
    #[error("unknown action type {0:?}")]
    UnknownAction(String),
    /// The message has a known type but a field is missing or of the wrong type.
    #[error("invalid {kind:?} message: {detail}")]
    InvalidMessage {
        /// The message's `type`.
        kind: String,
        /// What serde found wrong, with the field name.
        detail: String,
    },
    /// The frame is larger than the limit.
    #[error("message of {len} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Size of the frame in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A session name is empty or only whitespace.
    #[error("session name is empty")]
    SessionNameEmpty,
    /// A session name is longer than the limit.
    #[error("session name has {len} characters, at most {max} are allowed")]
    SessionNameTooLong {
        /// Length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// A session name contains a control character.
    #[error("session name contains a control character")]
    SessionNameControl,
    /// A passcode is empty.
    #[error("passcode is empty")]
    PasscodeEmpty,
    /// A passcode is longer than the limit.
    #[error("passcode has {len} characters, at most {max} are allowed")]
    PasscodeTooLong {
        /// Length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// A passcode contains something other than printable ASCII.
    #[error("passcode may only contain printable ASCII characters (space to '~')")]
    PasscodeCharacter,
    /// Chat text is empty or only whitespace.
    #[error("chat message is empty")]
    ChatEmpty,
    /// Chat text is longer than the limit.
    #[error("chat message has {len} characters, at most {max} are allowed")]
    ChatTooLong {
        /// Length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// A metadata key is unusable.
    #[error("metadata key {key:?} {reason}")]
    MetadataKey {
        /// The key (cut to the key length limit).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The metadata would have too many keys.
    #[error("metadata would have {len} keys, at most {max} are allowed")]
    MetadataTooManyKeys {
        /// Keys it would have.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The metadata would be too large.
    #[error("metadata would take {len} bytes as JSON, at most {max} are allowed")]
    MetadataTooLarge {
        /// Its size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An app id is unusable.
    #[error("app id {id:?} {reason}")]
    AppId {
        /// The id (cut to the id length limit).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// App data (a message or a state) is too large.
    #[error("app {what} takes {len} bytes as JSON, at most {max} are allowed")]
    AppDataTooLarge {
        /// `message` or `state`.
        what: &'static str,
        /// Its size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A token's `role_type` is not a known role.
    #[error("unknown role_type {0}")]
    UnknownRoleType(u8),
    /// Encoding a message failed (only possible for types serde cannot represent).
    #[error("cannot encode message: {0}")]
    Encode(String),
}

impl ProtoError {
    /// The wire code a peer receives for this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtoError::Malformed { .. } => ErrorCode::MalformedMessage,
            ProtoError::MissingType | ProtoError::InvalidMessage { .. } => {
                ErrorCode::InvalidMessage
            }
            ProtoError::UnknownType(_) | ProtoError::UnknownAction(_) => {
                ErrorCode::UnknownMessageType
            }
            ProtoError::TooLarge { .. } => ErrorCode::MessageTooLarge,
            ProtoError::SessionNameEmpty
            | ProtoError::SessionNameTooLong { .. }
            | ProtoError::SessionNameControl => ErrorCode::InvalidSessionName,
            ProtoError::PasscodeEmpty
            | ProtoError::PasscodeTooLong { .. }
            | ProtoError::PasscodeCharacter => ErrorCode::InvalidPasscode,
            ProtoError::ChatEmpty => ErrorCode::ChatEmpty,
            ProtoError::ChatTooLong { .. } => ErrorCode::ChatTooLong,
            ProtoError::MetadataKey { .. } => ErrorCode::InvalidMetadata,
            ProtoError::MetadataTooManyKeys { .. } | ProtoError::MetadataTooLarge { .. } => {
                ErrorCode::MetadataTooLarge
            }
            ProtoError::AppId { .. } => ErrorCode::InvalidMessage,
            ProtoError::AppDataTooLarge { .. } => ErrorCode::AppDataTooLarge,
            ProtoError::UnknownRoleType(_) => ErrorCode::TokenUnknownRole,
            ProtoError::Encode(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_its_stable_string() -> Result<(), serde_json::Error> {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code)?;
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json)?;
            assert_eq!(back, *code);
        }
        Ok(())
    }
}
