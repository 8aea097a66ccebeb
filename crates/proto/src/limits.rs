//! Limits shared by the app, the server and the room. Changing one is a protocol change.

use std::time::Duration;

/// Largest WebSocket text frame the server accepts from the app, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest text frame the app accepts from the server, in bytes. Larger than
/// [`MAX_FRAME_BYTES`] because `welcome` carries every publishing member: about 190 bytes per
/// member with short names and up to 1 KiB of metadata each, so a few MB with
/// [`DEFAULT_MAX_ACTIVE`] publishers with long names and full metadata.
pub const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// Most members one `roster_page` answer holds.
pub const MAX_ROSTER_PAGE: u32 = 500;
/// Audience members in the first page that `welcome` and `resync` carry.
pub const WELCOME_AUDIENCE_PAGE: usize = 50;
/// Longest `roster_page` search text, in characters.
pub const MAX_ROSTER_SEARCH_CHARS: usize = 200;
/// Shortest time between two `members_changed` batches to one member: roster changes
/// within it are folded into the next batch.
pub const ROSTER_BATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Most keys in one metadata object (the room's, or one member's).
pub const MAX_METADATA_KEYS: usize = 32;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Largest room metadata, as the JSON encoding of the whole object, in bytes.
pub const MAX_ROOM_METADATA_BYTES: usize = 8 * 1024;
/// Largest metadata of one member, as the JSON encoding of the whole object, in bytes. Kept
/// small because `welcome` carries that of every member it lists: 1 KiB each is about 1 MB
/// for [`DEFAULT_MAX_ACTIVE`] publishers, well inside [`MAX_SERVER_FRAME_BYTES`].
pub const MAX_MEMBER_METADATA_BYTES: usize = 1024;
/// Longest session name, in characters.
pub const MAX_SESSION_NAME_CHARS: usize = 150;
/// Longest display name, in characters; longer names are truncated, not refused.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// Display name used when the given one is empty or only whitespace.
pub const DEFAULT_DISPLAY_NAME: &str = "Guest";
/// Shortest and longest passcode, in characters (printable ASCII only).
pub const MIN_PASSCODE_CHARS: usize = 1;
/// See [`MIN_PASSCODE_CHARS`].
pub const MAX_PASSCODE_CHARS: usize = 10;
/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 4_000;
/// Most members one session holds.
pub const MAX_SESSION_MEMBERS: usize = 5_000;
/// Most joiners one session's lobby holds at once; more are refused with `lobby_full`.
/// Bounds what `welcome` and `resync` carry to hosts and managers.
pub const MAX_LOBBY: usize = 500;
/// Default number of members who may publish (host, managers, participants); later joiners
/// take part as audience.
pub const DEFAULT_MAX_ACTIVE: usize = 1_000;
/// Chat messages a session keeps for gap refill and reconnects.
pub const DEFAULT_CHAT_HISTORY: usize = 1_000;
/// Chat messages handed to a member in `welcome`.
pub const WELCOME_CHAT_MESSAGES: usize = 50;
/// Time the first message (`join`) must arrive within.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the client sends `ping`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A connection silent for this long is treated as dropped.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a dropped member stays `reconnecting` before it leaves with `connection_lost`.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(30);
/// How long a host may be alone before the session ends.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(40 * 60);
/// Longest idle timeout a join may ask for, in minutes (one day).
pub const MAX_IDLE_TIMEOUT_MINS: u32 = 24 * 60;
/// Messages per second a connection may send, sustained.
pub const RATE_LIMIT_PER_SEC: u32 = 20;
/// Messages a connection may send in a burst above the sustained rate.
pub const RATE_LIMIT_BURST: u32 = 50;
/// WebSocket close code for a connection closed for flooding (policy violation).
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
/// Longest app id, in characters.
pub const MAX_APP_ID_CHARS: usize = 64;
/// Largest app message (`app_message`'s `data`), as JSON, in bytes.
pub const MAX_APP_MESSAGE_BYTES: usize = 16 * 1024;
/// Largest app state snapshot (`app_set_state`'s `state`), as JSON, in bytes. Fits in one
/// client frame ([`MAX_FRAME_BYTES`]) with its envelope.
pub const MAX_APP_STATE_BYTES: usize = 48 * 1024;
/// App messages a session keeps per app for members who connect later.
pub const APP_RECENT_MESSAGES: usize = 128;
/// Most apps one session keeps a channel for (their states live until the session ends).
pub const MAX_APPS_PER_SESSION: usize = 32;
/// Most apps one member has open at once.
pub const MAX_OPEN_APPS_PER_MEMBER: usize = 8;
/// App requests per second a connection may send, sustained; counted apart from the other
/// messages so an app flooding its channel never costs its member chat or controls.
pub const APP_RATE_LIMIT_PER_SEC: u32 = 30;
/// App requests a connection may send in a burst above [`APP_RATE_LIMIT_PER_SEC`].
pub const APP_RATE_LIMIT_BURST: u32 = 60;
