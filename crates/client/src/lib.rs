//! The Huddle call client, free of any UI toolkit so the desktop shell, the command-line tool
//! and tests drive it alike.
//!
//! Today it holds the pre-join network test ([`nettest`]); signaling and media transport
//! join it later.

mod error;
pub mod nettest;
pub mod tls;

pub use error::ClientError;
