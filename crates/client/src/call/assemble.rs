//! Turns H.264 RTP packets (in any order, with losses and retransmissions) back into whole
//! access units for the decoder.
//!
//! A frame is emitted once every packet from the one after the previous frame's last packet
//! up to a packet with the marker bit is present. A frame that stays incomplete for longer
//! than the wait (retransmissions had their chance) is given up: its packets are dropped,
//! decoding pauses until the next keyframe, and the caller is told to ask for one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp::codec::h264::H264Packet;
use huddle_rtp::rtc::rtp::packetizer::Depacketizer;
use webrtc::error::Result as RtcResult;

/// Most packets held while waiting; beyond this the oldest frame is given up.
const MAX_HELD: usize = 2_000;

/// One complete access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// Annex B bytes.
    pub data: Vec<u8>,
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// Starts with an SPS or IDR.
    pub keyframe: bool,
    /// When its last packet arrived.
    pub completed_at: Instant,
}

/// What [`Assembler::push`] asks of the caller.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Frames now complete, in order.
    pub frames: Vec<AssembledFrame>,
    /// A frame was lost: request a keyframe from the sender.
    pub need_keyframe: bool,
}

struct Held {
    packet: rtp::Packet,
    arrived: Instant,
}

/// Reassembles one video stream.
pub struct Assembler {
    packets: BTreeMap<u64, Held>,
    /// Unwrapped sequence number where the next frame starts, when known.
    next: Option<u64>,
    /// Highest unwrapped sequence number seen.
    highest: Option<u64>,
    /// Everything up to here was emitted or given up: a late copy (a retransmission that
    /// raced the give-up) must never come out as a frame again.
    floor: Option<u64>,
    /// Nothing decodable until a keyframe (start, or after a loss).
    waiting_for_keyframe: bool,
    wait: Duration,
    lost_frames: u64,
}

impl Assembler {
    /// An assembler that waits up to `wait` for missing packets.
    #[must_use]
    pub fn new(wait: Duration) -> Self {
        Self {
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            floor: None,
            waiting_for_keyframe: true,
            wait,
            lost_frames: 0,
        }
    }

    /// Frames given up so far.
    #[must_use]
    pub fn lost_frames(&self) -> u64 {
        self.lost_frames
    }

    /// Starts over (the stream changed source): wait for a keyframe.
    pub fn reset(&mut self) {
        self.packets.clear();
        self.next = None;
        self.highest = None;
        self.floor = None;
        self.waiting_for_keyframe = true;
    }

    fn consumed(&mut self, up_to: u64) {
        self.floor = Some(self.floor.map_or(up_to, |f| f.max(up_to)));
    }

    fn unwrap_seq(&mut self, seq: u16) -> u64 {
        let Some(high) = self.highest else {
            let v = (1u64 << 32) + u64::from(seq);
            self.highest = Some(v);
            return v;
        };
        let low = (high & 0xFFFF) as u16;
        let diff = seq.wrapping_sub(low);
        let v = if diff < 0x8000 {
            high + u64::from(diff)
        } else {
            high.saturating_sub(u64::from(low.wrapping_sub(seq)))
        };
        if v > high {
            self.highest = Some(v);
        }
        v
    }

    /// Adds one packet and returns what became complete.
    pub fn push(&mut self, packet: rtp::Packet, now: Instant) -> Pushed {
        let seq = self.unwrap_seq(packet.header.sequence_number);
        let mut out = Pushed::default();
        if self.next.is_some_and(|next| seq < next)
            || self.floor.is_some_and(|floor| seq <= floor)
            || packet.payload.is_empty()
        {
            return out; // already emitted or given up, or padding
        }
        self.packets.entry(seq).or_insert(Held {
            packet,
            arrived: now,
        });
        loop {
            match self.take_frame() {
                Taken::Frame(frame) => {
                    out.frames.push(frame);
                    continue;
                }
                Taken::Skipped => continue,
                Taken::Nothing => {}
            }
            if self.give_up_oldest(now) {
                out.need_keyframe = true;
                continue;
            }
            break;
        }
        out
    }

    /// Gives up a stuck frame when it waited too long (or too much is held).
    fn give_up_oldest(&mut self, now: Instant) -> bool {
        let Some((&first, held)) = self.packets.iter().next() else {
            return false;
        };
        let stuck = now.saturating_duration_since(held.arrived) > self.wait
            || self.packets.len() > MAX_HELD;
        if !stuck {
            return false;
        }
        // Drop everything up to the next packet that begins a different timestamp after a
        // marker: the rest of the stuck frame.
        let ts = held.packet.header.timestamp;
        let drop: Vec<u64> = self
            .packets
            .range(first..)
            .take_while(|(_, h)| h.packet.header.timestamp == ts)
            .map(|(s, _)| *s)
            .collect();
        if let Some(&last) = drop.last() {
            self.consumed(last);
        }
        for s in drop {
            self.packets.remove(&s);
        }
        self.waiting_for_keyframe = true;
        self.lost_frames += 1;
        // Delta frames after a loss cannot be decoded: resynchronise at the next keyframe.
        self.next = None;
        true
    }

    /// Emits the next frame if all of it is here.
    fn take_frame(&mut self) -> Taken {
        let start = match self.next {
            Some(next) => next,
            None => {
                // Resynchronising: the first held packet that starts a keyframe.
                let Some((&s, _)) = self
                    .packets
                    .iter()
                    .find(|(_, h)| huddle_rtp::h264_is_keyframe(&h.packet.payload))
                else {
                    return Taken::Nothing;
                };
                // Drop what came before it.
                let before: Vec<u64> = self.packets.range(..s).map(|(k, _)| *k).collect();
                for k in before {
                    self.packets.remove(&k);
                }
                if s > 0 {
                    self.consumed(s - 1);
                }
                s
            }
        };
        let Some(first) = self.packets.get(&start) else {
            return Taken::Nothing;
        };
        let ts = first.packet.header.timestamp;
        let mut end = start;
        loop {
            let Some(held) = self.packets.get(&end) else {
                return Taken::Nothing;
            };
            if held.packet.header.timestamp != ts {
                // The frame ended without a marker (a lost marker packet is a gap, not this):
                // treat the previous packet as the end.
                end -= 1;
                break;
            }
            if held.packet.header.marker {
                break;
            }
            end += 1;
        }
        let mut data = Vec::new();
        let mut depacketizer = H264Packet::default();
        let mut completed_at = first.arrived;
        let mut broken = false;
        for s in start..=end {
            if let Some(held) = self.packets.remove(&s) {
                completed_at = completed_at.max(held.arrived);
                match depacketize(&mut depacketizer, &held.packet.payload) {
                    Ok(bytes) => data.extend_from_slice(&bytes),
                    Err(_) => broken = true,
                }
            }
        }
        self.next = Some(end + 1);
        self.consumed(end);
        let keyframe = huddle_rtp::h264_is_keyframe_annexb(&data);
        if keyframe {
            self.waiting_for_keyframe = false;
        }
        if broken || self.waiting_for_keyframe || data.is_empty() {
            if broken {
                self.waiting_for_keyframe = true;
                self.lost_frames += 1;
            }
            return Taken::Skipped;
        }
        Taken::Frame(AssembledFrame {
            data,
            timestamp: ts,
            keyframe,
            completed_at,
        })
    }
}

/// What one attempt to take a frame found.
enum Taken {
    Frame(AssembledFrame),
    /// A frame was consumed but cannot be decoded (waiting for a keyframe, or corrupt).
    Skipped,
    Nothing,
}

fn depacketize(depacketizer: &mut H264Packet, payload: &[u8]) -> RtcResult<bytes::Bytes> {
    depacketizer.depacketize(&bytes::Bytes::copy_from_slice(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_rtp::rtc::rtp::codec::h264::H264Payloader;
    use huddle_rtp::rtc::rtp::packetizer::Payloader;

    /// Packets of one frame: SPS+PPS+IDR when `key`, else a P slice, `size` bytes of slice.
    fn frame(seq: &mut u16, ts: u32, key: bool, size: usize) -> Vec<rtp::Packet> {
        let mut annexb = Vec::new();
        if key {
            annexb.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f]);
            annexb.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
            annexb.extend_from_slice(&[0, 0, 0, 1, 0x65]);
        } else {
            annexb.extend_from_slice(&[0, 0, 0, 1, 0x41]);
        }
        annexb.extend((0..size).map(|i| (i % 250) as u8 + 1));
        let mut payloader = H264Payloader::default();
        let payloads = payloader
            .payload(1200, &bytes::Bytes::from(annexb))
            .unwrap_or_default();
        let n = payloads.len();
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let mut p = rtp::Packet::default();
                p.header.sequence_number = *seq;
                *seq = seq.wrapping_add(1);
                p.header.timestamp = ts;
                p.header.marker = i + 1 == n;
                p.payload = payload;
                p
            })
            .collect()
    }

    #[test]
    fn in_order_frames_come_out_whole() {
        let now = Instant::now();
        let mut a = Assembler::new(Duration::from_millis(100));
        let mut seq = 65_530; // wraps inside the test
        let mut got = Vec::new();
        for (i, key) in [true, false, false].into_iter().enumerate() {
            for p in frame(&mut seq, 3000 * i as u32, key, 3000) {
                got.extend(a.push(p, now).frames);
            }
        }
        assert_eq!(got.len(), 3);
        assert!(got[0].keyframe && !got[1].keyframe);
        assert_eq!(got[2].timestamp, 6000);
        assert!(got[1].data.starts_with(&[0, 0, 0, 1, 0x41]));
    }

    #[test]
    fn reordering_and_late_retransmissions_are_absorbed() {
        let now = Instant::now();
        let mut a = Assembler::new(Duration::from_millis(100));
        let mut seq = 10;
        let mut packets = frame(&mut seq, 0, true, 5000);
        packets.extend(frame(&mut seq, 3000, false, 5000));
        let missing = packets.remove(2);
        packets.reverse();
        let mut got = Vec::new();
        for p in packets {
            got.extend(a.push(p, now).frames);
        }
        assert!(got.is_empty(), "nothing before the gap is filled");
        let pushed = a.push(missing, now + Duration::from_millis(40));
        assert_eq!(pushed.frames.len(), 2);
        assert!(!pushed.need_keyframe);
    }

    #[test]
    fn a_lost_frame_asks_for_a_keyframe_and_waits_for_it() {
        let t0 = Instant::now();
        let mut a = Assembler::new(Duration::from_millis(100));
        let mut seq = 0;
        let mut got = Vec::new();
        for p in frame(&mut seq, 0, true, 3000) {
            got.extend(a.push(p, t0).frames);
        }
        let mut lost = frame(&mut seq, 3000, false, 3000);
        lost.remove(1);
        for p in lost {
            got.extend(a.push(p, t0).frames);
        }
        // A later delta frame arrives after the wait: the stuck one is given up.
        let mut asked = false;
        for p in frame(&mut seq, 6000, false, 3000) {
            let pushed = a.push(p, t0 + Duration::from_millis(300));
            asked |= pushed.need_keyframe;
            got.extend(pushed.frames);
        }
        assert!(asked);
        assert_eq!(got.len(), 1, "delta frames after a loss are not decodable");
        for p in frame(&mut seq, 9000, true, 3000) {
            got.extend(a.push(p, t0 + Duration::from_millis(320)).frames);
        }
        assert_eq!(got.len(), 2);
        assert!(got[1].keyframe);
        assert_eq!(a.lost_frames(), 1);
    }

    #[test]
    fn a_late_copy_of_an_emitted_keyframe_never_comes_out_again() {
        let t0 = Instant::now();
        let mut a = Assembler::new(Duration::from_millis(100));
        let mut seq = 100;
        let key = frame(&mut seq, 0, true, 3000);
        let mut got = Vec::new();
        for p in key.clone() {
            got.extend(a.push(p, t0).frames);
        }
        // A delta frame loses a packet and is given up: the assembler resynchronises.
        let mut lost = frame(&mut seq, 3000, false, 3000);
        lost.remove(0);
        for p in lost {
            got.extend(a.push(p, t0).frames);
        }
        for p in frame(&mut seq, 6000, false, 3000) {
            got.extend(a.push(p, t0 + Duration::from_millis(300)).frames);
        }
        // Now retransmitted copies of the first keyframe arrive late.
        for p in key {
            got.extend(a.push(p, t0 + Duration::from_millis(320)).frames);
        }
        let timestamps: Vec<u32> = got.iter().map(|f| f.timestamp).collect();
        assert_eq!(timestamps, vec![0], "{timestamps:?}");
    }

    #[test]
    fn garbage_never_panics() {
        let now = Instant::now();
        let mut a = Assembler::new(Duration::from_millis(10));
        for i in 0..3000u32 {
            let mut p = rtp::Packet::default();
            p.header.sequence_number = (i * 7919 % 65_536) as u16;
            p.header.timestamp = i / 3;
            p.header.marker = i % 5 == 0;
            p.payload = bytes::Bytes::from(vec![(i % 256) as u8; (i % 40) as usize]);
            let _ = a.push(p, now + Duration::from_millis(u64::from(i)));
        }
    }
}
