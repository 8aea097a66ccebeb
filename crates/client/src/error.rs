//! The one error type of the client crate.

use huddle_proto::ErrorCode;

use crate::session::CloseReason;

/// What can stop a client operation as a whole. Problems of a single network-test stage are
/// not errors: they are written into the report, so one failing stage never hides the others.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server URL cannot be used.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl {
        /// What was given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// The server could not be reached at all, so nothing could be measured.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable {
        /// Where the client tried.
        url: String,
        /// What went wrong, in words.
        reason: String,
    },
    /// The server answered, but not like a Huddle server.
    #[error("the server at {url} answered unexpectedly: {reason}")]
    BadAnswer {
        /// Where the client asked.
        url: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// TLS could not be set up on this side (the trusted certificates).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The server was reached, but no secure connection could be made with it (its
    /// certificate is not trusted or names another host, or it does not speak TLS).
    #[error("the secure connection to {url} failed: {reason}")]
    TlsHandshake {
        /// Where the client tried.
        url: String,
        /// What the TLS library said.
        reason: String,
    },
    /// A local socket operation failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// The server refused the join (wrong passcode, locked session, a token error...).
    #[error("the server refused the join ({code:?}): {message}")]
    JoinRefused {
        /// The server's machine-readable reason.
        code: ErrorCode,
        /// The server's explanation, fit to show a person.
        message: String,
    },
    /// The server refused a request (for example `permission_denied`, naming the missing
    /// permission). Nothing changed.
    #[error("the server refused the request ({code:?}): {message}")]
    Rejected {
        /// The server's machine-readable reason.
        code: ErrorCode,
        /// The server's explanation, fit to show a person.
        message: String,
    },
    /// No answer came in time.
    #[error("no answer from the server in time: {what}")]
    Timeout {
        /// What was waited for.
        what: String,
    },
    /// The connection is being re-established; requests fail fast until it is back.
    #[error("reconnecting to the server; try again in a moment")]
    Reconnecting,
    /// The connection dropped while the request was on its way; it may or may not have been
    /// applied (the state shows which once the connection is back).
    #[error("the connection dropped before the server answered: {0}")]
    ConnectionLost(String),
    /// The session is over for this client (left, removed, ended, or reconnecting failed).
    #[error("the session is closed: {0}")]
    SessionClosed(CloseReason),
    /// Media could not be set up (a bug or an unusable library state, not bad input).
    #[error("media: {0}")]
    Media(String),
    /// An audio device could not be used (missing, busy, failed).
    #[error("audio device: {0}")]
    Device(#[source] huddle_media::MediaError),
    /// The call has no audio devices to switch (joined without them, or still opening them).
    #[error("the call has no audio devices")]
    NoDeviceAudio,
}
