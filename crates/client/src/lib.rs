//! The Huddle call client, free of any UI toolkit so the desktop shell, the command-line tool
//! and tests drive it alike.
//!
//! It holds the pre-join network test ([`nettest`]), signaling ([`session`]: joining a
//! session, the call's state, host controls, reconnecting) and the call with media over
//! WebRTC ([`call`]).

pub mod call;
mod error;
pub mod nettest;
pub mod session;
pub mod tls;

pub use error::ClientError;
pub use session::{
    join, AppEvent, CallState, CloseReason, ConnectionStatus, JoinOptions, MetadataChanged, Notice,
    Session, SessionEvent, SessionEvents,
};
