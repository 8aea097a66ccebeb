//! What the call client and the server's forwarding unit must agree on, in one place: the
//! codecs and RTP header extensions both sides register, how tracks are named, and small
//! pure helpers over RTP payloads (is this H.264 packet part of a keyframe, what audio level
//! does a packet carry, which sequence number is newer).
//!
//! Nothing here owns a socket or a clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::interceptor::{
    BandwidthEstimator, CongestionControlBuilder, EstimatorStats, Gcc, NackGeneratorBuilder,
    NackResponderBuilder, PacketReport,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_twcc, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RTCRtpRtxParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::PayloadType;
use rtc::sansio::Protocol;
use rtc::shared::error::Result;

pub use rtc;

/// Opus payload type.
pub const OPUS_PT: PayloadType = 111;
/// H.264 (constrained baseline, packetization mode 1) payload type.
pub const H264_PT: PayloadType = 102;
/// RTX payload type repairing [`H264_PT`].
pub const RTX_PT: PayloadType = 103;
/// RTP clock of audio.
pub const AUDIO_CLOCK: u32 = 48_000;
/// RTP clock of video.
pub const VIDEO_CLOCK: u32 = 90_000;
/// RFC 6464 client-to-mixer audio level extension.
pub const AUDIO_LEVEL_URI: &str = rtc::sdp::extmap::AUDIO_LEVEL_URI;

/// Stream id of the tracks a client publishes.
pub const PUBLISH_STREAM: &str = "huddle-publish";
/// Track id prefix of audio slots the server fills (`a0`, `a1`, …).
pub const AUDIO_SLOT_PREFIX: &str = "a";
/// Track id prefix of video slots the server fills (`v0`, `v1`, …).
pub const VIDEO_SLOT_PREFIX: &str = "v";
/// Track id prefix of screen-share slots the server fills (`s0`, `s1`, …).
pub const SHARE_SLOT_PREFIX: &str = "s";
/// Track id of a client's microphone track.
pub const AUDIO_TRACK: &str = "audio";
/// Track id of a client's camera track.
pub const CAMERA_TRACK: &str = "video";
/// Track id of a client's screen-share track.
pub const SCREEN_TRACK: &str = "screen";

/// The Opus codec both sides use (stereo signalled as WebRTC requires; we send mono).
#[must_use]
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: AUDIO_CLOCK,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The H.264 codec both sides use.
#[must_use]
pub fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: VIDEO_CLOCK,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: vec![RTCPFeedback {
            typ: "ccm".to_owned(),
            parameter: "fir".to_owned(),
        }],
    }
}

/// The codec of a track kind.
#[must_use]
pub fn codec_for(kind: RtpCodecKind) -> RTCRtpCodec {
    match kind {
        RtpCodecKind::Video => h264_codec(),
        _ => opus_codec(),
    }
}

/// Which side a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A member's app: sends with congestion control (GCC over TWCC) and pacing.
    Client,
    /// The forwarding unit: reports arrivals (TWCC) so publishers can estimate, and answers
    /// NACKs towards subscribers.
    Server,
}

/// The send-side bandwidth estimate (GCC), in bits per second, as the congestion controller
/// last computed it. Written by the connection, read by the encoders.
#[derive(Debug, Clone)]
pub struct BandwidthTarget(Arc<AtomicU64>);

impl BandwidthTarget {
    /// Bits per second the path is estimated to carry.
    #[must_use]
    pub fn bits_per_second(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// GCC initial estimate: enough for a 360p start; GCC ramps up from there.
pub const INITIAL_BITRATE: f64 = 1_000_000.0;
/// GCC floor.
pub const MIN_BITRATE: f64 = 100_000.0;
/// GCC ceiling (a 720p call needs about 2.5 Mbit/s).
pub const MAX_BITRATE: f64 = 4_000_000.0;

/// GCC that publishes its target after every update, for the encoders to follow.
struct Reporting {
    inner: Gcc,
    target: Arc<AtomicU64>,
}

impl Reporting {
    fn publish(&self) {
        self.target
            .store(self.inner.target_bitrate().to_bits(), Ordering::Relaxed);
    }
}

impl BandwidthEstimator for Reporting {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.publish();
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

/// A configured media engine and interceptor chain.
pub struct Configured {
    /// Codecs and header extensions.
    pub engine: MediaEngine,
    /// Interceptors.
    pub registry: Registry,
    /// The bandwidth estimate (clients only).
    pub target: Option<BandwidthTarget>,
}

/// Packets each sent stream keeps for answering NACKs, at a client: the library's default.
const CLIENT_NACK_HISTORY: u16 = 1024;
/// The same at the server, per stream sent to each subscriber: a power of two, 512 packets
/// is 1.5 s of a 2.5 Mbit/s camera, far more than a repair is worth waiting for, and each
/// kept packet is held once per subscriber (docs/BENCHMARKS.md: server memory per member).
const SERVER_NACK_HISTORY: u16 = 512;

/// A media engine with exactly the codecs and header extensions Huddle uses, and the
/// interceptors for `role`: NACK (with RTX for video), RTCP reports, keyframe requests handed
/// to the application, TWCC (clients also run GCC on it).
///
/// # Errors
/// Only if the fixed registrations are refused by the library (a bug, not an input error).
pub fn configure(role: Role) -> Result<Configured> {
    let mut engine = MediaEngine::default();
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: h264_codec(),
            payload_type: H264_PT,
        },
        RtpCodecKind::Video,
    )?;
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RTX.to_owned(),
                clock_rate: VIDEO_CLOCK,
                channels: 0,
                sdp_fmtp_line: format!("apt={H264_PT}"),
                rtcp_feedback: vec![],
            },
            payload_type: RTX_PT,
        },
        RtpCodecKind::Video,
    )?;
    engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    // What the library's `configure_nack` registers, with the responder's history sized per
    // role (that function takes no size).
    for parameter in ["", "pli"] {
        engine.register_feedback(
            RTCPFeedback {
                typ: rtc::rtp_transceiver::rtp_sender::TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    let history = match role {
        Role::Client => CLIENT_NACK_HISTORY,
        Role::Server => SERVER_NACK_HISTORY,
    };
    let registry = Registry::new()
        .with(
            Slot::NackResponder,
            NackResponderBuilder::new().with_size(history).build(),
        )
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().build())
        .with(
            Slot::from(KEYFRAME_FORWARDER_SLOT),
            KeyframeRequests::default(),
        );
    let registry = configure_rtcp_reports(registry);
    let (registry, target) = match role {
        Role::Client => {
            let inner = Gcc::new(INITIAL_BITRATE, MIN_BITRATE, MAX_BITRATE);
            let target = Arc::new(AtomicU64::new(inner.target_bitrate().to_bits()));
            let estimator = Reporting {
                inner,
                target: Arc::clone(&target),
            };
            // GCC over TWCC without the library's pacer: its one FIFO queue would hold audio
            // behind a keyframe (and, at a low estimate, for hundreds of milliseconds). The
            // encoders follow the estimate instead, which is what keeps the rate in bounds.
            let registry = configure_twcc(registry, &mut engine)?.with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(estimator).build(),
            );
            (registry, Some(BandwidthTarget(target)))
        }
        Role::Server => (configure_twcc_receiver_only(registry, &mut engine)?, None),
    };
    Ok(Configured {
        engine,
        registry,
        target,
    })
}

/// A track to send with SSRC `ssrc` (and, for video, an RTX SSRC `rtx_ssrc`) in Huddle's codec.
#[must_use]
pub fn local_track(
    stream_id: &str,
    track_id: &str,
    kind: RtpCodecKind,
    ssrc: u32,
    rtx_ssrc: u32,
) -> MediaStreamTrack {
    let rtx = (kind == RtpCodecKind::Video).then_some(RTCRtpRtxParameters { ssrc: rtx_ssrc });
    MediaStreamTrack::new(
        stream_id.to_owned(),
        track_id.to_owned(),
        track_id.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                rtx,
                ..Default::default()
            },
            codec: codec_for(kind),
            ..Default::default()
        }],
    )
}

/// Where [`KeyframeRequests`] sits in the interceptor chain (after the built-in ones).
const KEYFRAME_FORWARDER_SLOT: usize = 14_000;

/// Hands keyframe requests (PLI, FIR) that arrive about a sent stream up to the application:
/// the forwarding unit relays them to the publisher, the app makes its encoder send a
/// keyframe. Every other packet passes through untouched.
#[derive(Default)]
pub struct KeyframeRequests {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<()> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<()> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// True for a PLI or FIR.
#[must_use]
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// What a receive slot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKind {
    /// Someone's voice.
    Audio,
    /// Someone's camera.
    Video,
    /// Someone's screen share.
    Share,
}

impl SlotKind {
    /// The RTP media kind of the slot.
    #[must_use]
    pub fn codec_kind(self) -> RtpCodecKind {
        match self {
            SlotKind::Audio => RtpCodecKind::Audio,
            SlotKind::Video | SlotKind::Share => RtpCodecKind::Video,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            SlotKind::Audio => AUDIO_SLOT_PREFIX,
            SlotKind::Video => VIDEO_SLOT_PREFIX,
            SlotKind::Share => SHARE_SLOT_PREFIX,
        }
    }
}

/// The track id of slot `index` of `kind`.
#[must_use]
pub fn slot_track_id(kind: SlotKind, index: usize) -> String {
    format!("{}{index}", kind.prefix())
}

/// Parses a slot track id back into its kind and index.
#[must_use]
pub fn parse_slot_track_id(id: &str) -> Option<(SlotKind, usize)> {
    let (kind, rest) = [SlotKind::Audio, SlotKind::Video, SlotKind::Share]
        .into_iter()
        .find_map(|kind| id.strip_prefix(kind.prefix()).map(|rest| (kind, rest)))?;
    if rest.is_empty() || rest.len() > 3 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().map(|i| (kind, i))
}

pub use huddle_wire::h264::{
    is_keyframe as h264_is_keyframe, is_keyframe_annexb as h264_is_keyframe_annexb,
};

/// Reads an RFC 6464 audio level byte: `(voice_activity, level)` where level is −dBov
/// (0 loudest, 127 silence).
#[must_use]
pub fn parse_audio_level(ext: &[u8]) -> Option<(bool, u8)> {
    ext.first().map(|b| (b & 0x80 != 0, b & 0x7F))
}

/// Encodes an RFC 6464 audio level byte from an RMS level in dBFS.
#[must_use]
pub fn audio_level_byte(voice: bool, dbfs: f32) -> u8 {
    let level = if dbfs.is_finite() {
        (-dbfs).clamp(0.0, 127.0).round() as u8
    } else {
        127
    };
    (u8::from(voice) << 7) | level
}

/// True when RTP sequence number `a` is newer than `b` (RFC 3550 wrap-around).
#[must_use]
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ids_round_trip_and_refuse_garbage() {
        for kind in [SlotKind::Audio, SlotKind::Video, SlotKind::Share] {
            for i in [0, 7, 15] {
                assert_eq!(
                    parse_slot_track_id(&slot_track_id(kind, i)),
                    Some((kind, i))
                );
            }
        }
        for bad in [
            "",
            "a",
            "v",
            "s",
            "x1",
            "a-1",
            "v1234",
            "s1x",
            "a1b",
            PUBLISH_STREAM,
            SCREEN_TRACK,
        ] {
            assert_eq!(parse_slot_track_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn audio_levels_encode_and_decode() {
        assert_eq!(
            parse_audio_level(&[audio_level_byte(true, -20.4)]),
            Some((true, 20))
        );
        assert_eq!(
            parse_audio_level(&[audio_level_byte(false, -200.0)]),
            Some((false, 127))
        );
        assert_eq!(
            parse_audio_level(&[audio_level_byte(false, f32::NEG_INFINITY)]),
            Some((false, 127))
        );
        assert_eq!(
            parse_audio_level(&[audio_level_byte(true, 3.0)]),
            Some((true, 0))
        );
        assert_eq!(parse_audio_level(&[]), None);
    }

    #[test]
    fn sequence_order_wraps() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, 65_535));
        assert!(!seq_newer(65_535, 0));
        assert!(!seq_newer(5, 5));
    }

    #[test]
    fn both_roles_configure() {
        let client = configure(Role::Client).map(|c| c.target.map(|t| t.bits_per_second()));
        assert!(matches!(client, Ok(Some(rate)) if (rate - INITIAL_BITRATE).abs() < 1.0));
        assert!(configure(Role::Server).is_ok_and(|c| c.target.is_none()));
    }
}
