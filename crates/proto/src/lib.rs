//! Wire protocol between the Huddle app and its session server.
//!
//! Everything that crosses the WebSocket at `/v1/ws` is defined here: the messages the app
//! sends ([`ClientMessage`]) and the ones the server sends back ([`ServerMessage`]), the
//! identifiers they carry, the limits both sides enforce, the validation of user input
//! (session names, display names, passcodes, chat text, metadata) and the JWT claims a join token
//! carries. This crate owns no sockets and no clocks; the server and the call client drive it.
//!
//! Untrusted text enters through [`decode_client`] (server side) and [`decode_server`]
//! (client side); both check the size limit first and never panic.
//!
//! `docs/protocol.md` describes the same contract for people writing a client.

mod apps;
mod claims;
mod decode;
mod error;
mod ids;
pub mod limits;
pub mod media;
mod message;
mod metadata;
mod validate;

pub use apps::{check_app_message, check_app_state, json_len, AppId, AppMessage};
pub use claims::Claims;
pub use decode::{decode_client, decode_server, encode};
pub use error::{ErrorCode, ProtoError};
pub use ids::{ChatSeq, ParticipantId, RequestId, ResumeKey, WaiterId};
pub use media::{IceServer, MediaEvent, MediaRequest, VideoWant};
pub use message::{
    Action, AudiencePage, ChatMessage, ClientMessage, ConnectionState, Departure, EndReason, Join,
    LeaveReason, LobbyExit, Member, MemberChange, MemberUpdate, Reaction, Resume, Resync, Role,
    ServerEvent, ServerMessage, SessionInfo, Waiter, Welcome,
};
pub use metadata::{MemberMetadata, Metadata, MetadataChange, MetadataDiff};
pub use validate::{ChatText, DisplayName, Passcode, SessionName};

/// Version of this protocol. The app sends it in `join`; the server refuses other versions
/// with `unsupported_version`. Bumped on any change an old peer could misread.
pub const PROTOCOL_VERSION: u32 = 2;
