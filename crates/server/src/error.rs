//! The one error type of the server crate.
//!
//! Startup and configuration problems surface as [`ServerError`]; problems a single client
//! causes (bad token, bad frame) are reported to that client on the wire and never become a
//! `ServerError`, so one client can never stop the server.

use std::path::PathBuf;

/// Everything that can stop the server from starting or from minting a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is inconsistent or incomplete.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A setting's value from one source (a flag, an environment variable) is not valid.
    #[error("invalid configuration: setting `{setting}` from {origin}: {message}")]
    Setting {
        /// The setting (its TOML key).
        setting: &'static str,
        /// Where the value came from, e.g. `environment variable HUDDLE_BIND`.
        origin: String,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    ConfigRead {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for this server.
    #[error("cannot parse configuration file {path}: {source}")]
    ConfigParse {
        /// The file that was asked for.
        path: PathBuf,
        /// What the parser said.
        source: toml::de::Error,
    },
    /// A certificate or key file could not be used.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// Binding or serving the listening socket failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// A token could not be created.
    #[error("cannot mint token: {0}")]
    Mint(#[from] huddle_auth::MintError),
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}
