//! One member's WebRTC connection to the forwarding unit: what it publishes, the slots it
//! receives others through, and the RTP rewriting that lets a slot change source without
//! renegotiation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_proto::{ParticipantId, VideoWant};
use huddle_rtp::rtc::media_stream::MediaStreamTrackId;
use huddle_rtp::rtc::peer_connection::RTCPeerConnection;
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use huddle_rtp::rtc::sansio::Protocol as _;
use huddle_rtp::SlotKind;

use super::Forwarding;
use crate::outbox::Outbox;

/// Identifies a peer: the room's generation and the member.
pub type PeerKey = (u64, ParticipantId);

/// Who fills each audio, video and share slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub audio: Vec<Option<ParticipantId>>,
    pub video: Vec<Option<ParticipantId>>,
    pub share: Vec<Option<ParticipantId>>,
}

/// A stream the member publishes.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Microphone, camera or screen (named as the slot kind it is forwarded through).
    pub kind: SlotKind,
    /// The receiver it arrives on (for PLI towards the publisher).
    pub receiver: RTCRtpReceiverId,
    /// Its media SSRC.
    pub ssrc: u32,
    /// Negotiated id of the audio-level extension, if any.
    pub audio_level_id: Option<u8>,
    /// RTP timestamp of the last packet read: a packet with another one starts a frame.
    pub last_timestamp: Option<u32>,
}

/// One send-only transceiver towards the member, filled with someone else's stream.
#[derive(Debug)]
pub struct Slot {
    /// The sender to write through.
    pub sender: RTCRtpSenderId,
    /// Its track id (`a0`, `v3`…), which RTCP from the member names.
    pub track_id: MediaStreamTrackId,
    /// Its SSRC.
    pub ssrc: u32,
    /// Negotiated id of the audio-level extension on this sender, if any.
    pub audio_level_id: Option<u8>,
    /// Whose stream it carries.
    pub source: Option<ParticipantId>,
    /// Sequence/timestamp rewriting state.
    pub rewrite: Rewriter,
    /// Video only: drop until the new source sends a keyframe.
    pub awaiting_keyframe: bool,
}

/// Maps a source's sequence numbers and timestamps into one continuous outgoing stream.
#[derive(Debug, Default)]
pub struct Rewriter {
    /// Offsets for the current source, once its first packet was seen.
    offsets: Option<(u16, u32)>,
    /// Last sequence number and timestamp sent, and when.
    last: Option<(u16, u32, Instant)>,
}

impl Rewriter {
    /// Starts a new source: the next packet continues the outgoing numbering.
    pub fn switch(&mut self) {
        self.offsets = None;
    }

    /// Rewrites `packet`'s sequence number and timestamp (clock `clock_hz`).
    pub fn apply(&mut self, packet: &mut rtp::Packet, clock_hz: u32, now: Instant) {
        let (seq_off, ts_off) = match self.offsets {
            Some(offsets) => offsets,
            None => {
                let offsets = match self.last {
                    Some((seq, ts, at)) => {
                        let gap = now
                            .saturating_duration_since(at)
                            .max(Duration::from_millis(1));
                        let ticks = u32::try_from(
                            gap.as_micros().saturating_mul(u128::from(clock_hz)) / 1_000_000,
                        )
                        .unwrap_or(u32::MAX / 2);
                        (
                            seq.wrapping_add(1)
                                .wrapping_sub(packet.header.sequence_number),
                            ts.wrapping_add(ticks).wrapping_sub(packet.header.timestamp),
                        )
                    }
                    None => (0, 0),
                };
                self.offsets = Some(offsets);
                offsets
            }
        };
        packet.header.sequence_number = packet.header.sequence_number.wrapping_add(seq_off);
        packet.header.timestamp = packet.header.timestamp.wrapping_add(ts_off);
        let newer = match self.last {
            Some((seq, _, _)) => huddle_rtp::seq_newer(packet.header.sequence_number, seq),
            None => true,
        };
        if newer {
            self.last = Some((packet.header.sequence_number, packet.header.timestamp, now));
        }
    }
}

/// Smoothed loudness of a publisher, from the audio-level extension (or, without it, from
/// packet sizes, which DTX makes tiny in silence).
#[derive(Debug, Clone, Copy, Default)]
pub struct Loudness {
    /// 0 (silent) to 127 (full scale); larger is louder.
    pub level: f32,
    /// Last packet seen.
    pub last: Option<Instant>,
}

impl Loudness {
    /// Folds one packet in. `dbov` is the RFC 6464 level (0 loudest, 127 silent).
    pub fn observe(&mut self, dbov: Option<u8>, payload_len: usize, now: Instant) {
        let sample = match dbov {
            Some(level) => 127.0 - f32::from(level.min(127)),
            // ~80 bytes is speech at 32 kbit/s, a DTX frame is 1–3 bytes.
            None => (payload_len as f32 * 1.2).min(127.0),
        };
        // About 300 ms to follow a change at 50 packets per second.
        self.level += (sample - self.level) * 0.07;
        self.last = Some(now);
    }

    /// Loudness as of `now`: silence when nothing came for a while.
    pub fn current(&self, now: Instant) -> f32 {
        match self.last {
            Some(at) if now.saturating_duration_since(at) < Duration::from_millis(500) => {
                self.level
            }
            _ => 0.0,
        }
    }
}

/// One member's connection.
pub struct Peer {
    /// Who.
    pub key: PeerKey,
    /// The sans-IO connection.
    pub pc: RTCPeerConnection,
    /// Local ICE ufrag (routes the first packets).
    pub ufrag: String,
    /// The member's ICE password, from its offer (signs the answers to our own checks).
    pub remote_pwd: String,
    /// What the room lets it have forwarded.
    pub forwarding: Arc<Forwarding>,
    /// Remote addresses packets came from.
    pub addrs: Vec<SocketAddr>,
    /// The member's signaling link (answers, slot changes).
    pub outbox: Outbox,
    /// What the member publishes, by track id.
    pub inbound: HashMap<MediaStreamTrackId, Inbound>,
    /// Audio slots, in offer order.
    pub audio: Vec<Slot>,
    /// Video slots, in offer order.
    pub video: Vec<Slot>,
    /// Screen-share slots, in offer order (after the video slots).
    pub share: Vec<Slot>,
    /// The videos the member asked for; `None` until it asks.
    pub wants: Option<Vec<VideoWant>>,
    /// Its voice's loudness.
    pub loudness: Loudness,
    /// Last PLI sent towards this publisher's camera.
    pub last_pli: Option<Instant>,
    /// Last PLI sent towards this publisher's screen share.
    pub last_share_pli: Option<Instant>,
    /// The slot assignment last told to the member.
    pub told: Option<Assignment>,
    /// Media flows (DTLS up).
    pub connected: bool,
    /// When the connection was made (for the connect timeout).
    pub created: Instant,
    /// The connection's next timer as last asked (`poll_timeout`), valid unless `timer_stale`.
    pub timer: Option<Instant>,
    /// The connection was driven (read, written, timed) since `timer` was asked.
    pub timer_stale: bool,
}

impl Peer {
    /// The slots of `kind`.
    pub fn slots(&self, kind: SlotKind) -> &[Slot] {
        match kind {
            SlotKind::Audio => &self.audio,
            SlotKind::Video => &self.video,
            SlotKind::Share => &self.share,
        }
    }

    /// The slots of `kind`, to change.
    pub fn slots_mut(&mut self, kind: SlotKind) -> &mut [Slot] {
        match kind {
            SlotKind::Audio => &mut self.audio,
            SlotKind::Video => &mut self.video,
            SlotKind::Share => &mut self.share,
        }
    }

    /// Current sources of every slot.
    pub fn sources(&self) -> Assignment {
        let of = |slots: &[Slot]| slots.iter().map(|s| s.source).collect();
        Assignment {
            audio: of(&self.audio),
            video: of(&self.video),
            share: of(&self.share),
        }
    }

    /// Whether it publishes a stream of `kind`.
    pub fn publishes(&self, kind: SlotKind) -> bool {
        self.inbound.values().any(|i| i.kind == kind)
    }

    /// The connection's next timer, asked again only when it was driven since.
    pub fn timer(&mut self) -> Option<Instant> {
        if self.timer_stale {
            self.timer = self.pc.poll_timeout();
            self.timer_stale = false;
        }
        self.timer
    }

    /// When a keyframe was last asked of its stream of `kind`.
    pub fn last_pli_mut(&mut self, kind: SlotKind) -> &mut Option<Instant> {
        if kind == SlotKind::Share {
            &mut self.last_share_pli
        } else {
            &mut self.last_pli
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32) -> rtp::Packet {
        let mut p = rtp::Packet::default();
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p
    }

    #[test]
    fn switching_sources_keeps_numbering_continuous() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let mut a = packet(1000, 5000);
        r.apply(&mut a, 90_000, t0);
        assert_eq!((a.header.sequence_number, a.header.timestamp), (1000, 5000));
        let mut b = packet(1001, 8000);
        r.apply(&mut b, 90_000, t0);
        assert_eq!(b.header.sequence_number, 1001);
        // A retransmission of an older packet keeps its mapped number.
        let mut old = packet(1000, 5000);
        r.apply(&mut old, 90_000, t0);
        assert_eq!(old.header.sequence_number, 1000);

        r.switch();
        let mut c = packet(40, 123);
        r.apply(&mut c, 90_000, t0 + Duration::from_millis(100));
        assert_eq!(c.header.sequence_number, 1002);
        // 100 ms later at 90 kHz.
        assert_eq!(c.header.timestamp, 8000 + 9000);
        let mut d = packet(41, 123 + 3000);
        r.apply(&mut d, 90_000, t0 + Duration::from_millis(133));
        assert_eq!(d.header.sequence_number, 1003);
        assert_eq!(d.header.timestamp, 8000 + 9000 + 3000);
    }

    #[test]
    fn numbering_wraps() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let mut a = packet(65_535, u32::MAX);
        r.apply(&mut a, 48_000, t0);
        r.switch();
        let mut b = packet(7, 0);
        r.apply(&mut b, 48_000, t0);
        assert_eq!(b.header.sequence_number, 0);
    }

    #[test]
    fn loudness_follows_speech_and_fades() {
        let t0 = Instant::now();
        let mut l = Loudness::default();
        for i in 0..50 {
            l.observe(Some(20), 80, t0 + Duration::from_millis(20 * i));
        }
        let loud = l.current(t0 + Duration::from_secs(1));
        assert!(loud > 90.0, "{loud}");
        assert_eq!(l.current(t0 + Duration::from_secs(3)), 0.0);
        let mut quiet = Loudness::default();
        for i in 0..50 {
            quiet.observe(None, 2, t0 + Duration::from_millis(20 * i));
        }
        assert!(quiet.current(t0 + Duration::from_secs(1)) < 5.0);
    }
}
