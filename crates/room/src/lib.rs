//! A Huddle session as a pure state machine.
//!
//! [`Room`] holds one session's members, roles, settings and chat. It owns no sockets,
//! threads or clocks: the server's per-room driver task feeds it commands together with the
//! current [`std::time::Instant`], then drains what it produced:
//!
//! ```text
//! loop {
//!     room.join(now, request) / room.handle(now, who, action) / room.disconnect(now, who)
//!     / room.leave(now, who) / room.handle_timeout(now)
//!     while let Some((recipient, event)) = room.poll_event() { send to recipient's connections }
//!     sleep until room.poll_timeout(), or the next command
//!     if room.is_ended() { stop }
//! }
//! ```
//!
//! Events must be drained after every call: a [`Recipient`] is relative to the membership at
//! the moment the event was queued. Roster events (`joined`, `left`, `updated`) go through a
//! [`RosterBatcher`], which folds them into `members_changed` batches per [`View`]. Every permission decision goes through one function
//! ([`grants`]), driven by the grants a role carries, so the permission table of the
//! specification lives in one place.

mod apps;
mod chat;
mod error;
mod grants;
mod room;
mod roster;

pub use error::RoomError;
pub use grants::{grants, Grants, Permission};
pub use room::{
    Admission, JoinOutcome, JoinRequest, LobbyOutcome, Recipient, Room, RoomConfig, RoomSnapshot,
};
pub use roster::{Batches, RosterBatcher, View};
