//! Media negotiation over the signaling socket.
//!
//! Each member holds one WebRTC connection to the server's forwarding unit (SFU). The app
//! offers it once it has its `media_ready` (send-only audio and video, plus a fixed number of
//! receive-only *slots*); the server answers. The server then fills the slots with other
//! members' streams and says which member each slot carries with `media_slots`. Slots never
//! change the SDP, so switching who is seen or heard needs no renegotiation.
//!
//! A screen share is a third send-only track (track id `screen`), sent only while the room
//! says the member shares; everyone else receives it through a *share slot*.

use crate::ids::ParticipantId;
use serde::{Deserialize, Serialize};

/// Largest SDP text accepted from an app (it fits in one frame with room to spare).
pub const MAX_SDP_BYTES: usize = 48 * 1024;
/// Most video entries a subscription may list.
pub const MAX_VIDEO_WANTS: usize = 64;

/// One TURN or STUN server for the app's ICE agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `turn:`/`turns:`/`stun:` URLs.
    pub urls: Vec<String>,
    /// TURN REST username (`expiry:participant`), empty for STUN.
    #[serde(default)]
    pub username: String,
    /// TURN REST credential (base64 HMAC-SHA1), empty for STUN.
    #[serde(default)]
    pub credential: String,
}

/// A video the app shows, and how big.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoWant {
    /// Whose camera (or screen).
    pub participant: ParticipantId,
    /// Tile width in device pixels.
    pub width: u32,
    /// Tile height in device pixels.
    pub height: u32,
}

/// Media requests from the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaRequest {
    /// An SDP offer: the first one, a replacement connection, or an ICE restart.
    Offer {
        /// The offer's SDP text.
        sdp: String,
    },
    /// The videos the app shows, most important first. The server forwards these (as many
    /// as there are video slots) and no others.
    Subscribe {
        /// What to show.
        videos: Vec<VideoWant>,
    },
}

impl MediaRequest {
    /// Checks sizes: an SDP within [`MAX_SDP_BYTES`], at most [`MAX_VIDEO_WANTS`] wants,
    /// and tile sizes no larger than 16384 pixels a side.
    ///
    /// # Errors
    /// A sentence naming the field that is out of bounds.
    pub fn check(&self) -> Result<(), String> {
        match self {
            MediaRequest::Offer { sdp } => {
                if sdp.is_empty() || sdp.len() > MAX_SDP_BYTES {
                    return Err(format!(
                        "sdp must be 1 to {MAX_SDP_BYTES} bytes (got {})",
                        sdp.len()
                    ));
                }
            }
            MediaRequest::Subscribe { videos } => {
                if videos.len() > MAX_VIDEO_WANTS {
                    return Err(format!(
                        "at most {MAX_VIDEO_WANTS} videos may be listed (got {})",
                        videos.len()
                    ));
                }
                if videos.iter().any(|v| v.width > 16_384 || v.height > 16_384) {
                    return Err("a tile may be at most 16384 pixels a side".to_owned());
                }
            }
        }
        Ok(())
    }
}

/// Media messages from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaEvent {
    /// Media is available: how to reach the server and how many slots to offer.
    Ready {
        /// ICE servers (TURN with short-lived credentials) the app may use.
        ice_servers: Vec<IceServer>,
        /// Receive-only audio transceivers to put in the offer.
        audio_slots: u8,
        /// Receive-only video transceivers to put in the offer.
        video_slots: u8,
        /// Receive-only video transceivers for screen shares, offered after the video slots
        /// (absent from servers without screen share: none).
        #[serde(default)]
        share_slots: u8,
    },
    /// The answer to an offer.
    Answer {
        /// The answer's SDP text.
        sdp: String,
    },
    /// Who each slot carries now (`None`: nothing). Index = slot order in the offer.
    Slots {
        /// Audio slots.
        audio: Vec<Option<ParticipantId>>,
        /// Video slots.
        video: Vec<Option<ParticipantId>>,
        /// Screen-share slots: whose screen each carries.
        #[serde(default)]
        share: Vec<Option<ParticipantId>>,
    },
    /// The offer could not be used, or media failed for this member.
    Failed {
        /// Why, for people.
        message: String,
    },
}
