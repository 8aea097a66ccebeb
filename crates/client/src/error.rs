//! The one error type of the client crate.

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
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A local socket operation failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}
