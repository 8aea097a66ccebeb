//! Adaptive audio jitter buffer for Opus packets.
//!
//! Sans-IO: the owner pushes packets as they arrive (with their arrival time) and pulls one
//! 10 ms frame every 10 ms of playout. The target delay follows the measured arrival jitter;
//! a missing packet is recovered from the next packet's FEC when that one is already here,
//! otherwise concealed by Opus PLC, so the output never has a gap. When the buffer holds
//! much more than its target (after a burst), one packet is skipped to bring latency down.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::audio_codec::OpusDecoder;
use crate::frame::{AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::MediaError;

/// One received audio packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// RTP-style sequence number (wraps at 2^16).
    pub seq: u16,
    /// RTP-style timestamp in 48 kHz samples (wraps at 2^32).
    pub timestamp: u32,
    /// Opus payload.
    pub payload: Vec<u8>,
}

/// Jitter buffer limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Never buffer less than this.
    pub min_delay: Duration,
    /// Never buffer more than this.
    pub max_delay: Duration,
    /// Use FEC from the following packet to recover a lost one.
    pub use_fec: bool,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(300),
            use_fec: true,
        }
    }
}

/// Counters for stats and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Packets accepted.
    pub received: u64,
    /// Packets that came after their playout slot and were discarded.
    pub late: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets recovered from FEC.
    pub fec_recovered: u64,
    /// Packets concealed by PLC.
    pub concealed: u64,
    /// Packets skipped to reduce latency.
    pub skipped: u64,
    /// Packets that did not decode.
    pub corrupt: u64,
    /// Current target delay in ms.
    pub target_delay_ms: u32,
}

/// What one pulled frame was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSource {
    /// Not started yet (or no packets at all): silence.
    Silence,
    /// Decoded audio (possibly including recovered or concealed parts).
    Audio,
}

/// The jitter buffer.
pub struct JitterBuffer {
    config: JitterConfig,
    decoder: OpusDecoder,
    packets: BTreeMap<u64, Vec<u8>>,
    next_seq: Option<u64>,
    highest_seq: Option<u64>,
    started: bool,
    decoded: VecDeque<f32>,
    scratch: Vec<f32>,
    last_packet_samples: usize,
    transits: VecDeque<f64>,
    target: Duration,
    /// Extra delay learnt from packets that came too late to play; grows fast on lateness
    /// and decays slowly, so a jittery path keeps the margin it needed.
    late_margin: Duration,
    /// Frames concealed in a row while waiting for a packet that had not arrived yet.
    waiting: u32,
    stats: JitterStats,
}

/// Packets held at most (about 5 s of 20 ms packets): a buffer nobody pulls from (a
/// receiver that does not play) stays bounded; the oldest are skipped.
const MAX_HELD_PACKETS: usize = 250;

/// Frames of concealment played while waiting for a late packet before pausing to rebuffer.
const MAX_WAIT_FRAMES: u32 = 12;

/// Margin added per packet that arrived after its playout time.
const LATE_STEP: Duration = Duration::from_millis(10);
/// Margin given back per packet that arrived in time.
const LATE_DECAY: Duration = Duration::from_micros(100);

/// Arrival-time samples kept for the jitter estimate (about 2 s of 20 ms packets).
const TRANSIT_WINDOW: usize = 100;

impl JitterBuffer {
    /// A new, empty jitter buffer.
    pub fn new(config: JitterConfig) -> Result<Self, MediaError> {
        if config.min_delay > config.max_delay {
            return Err(MediaError::InvalidArgument(
                "jitter buffer min delay exceeds its max delay".into(),
            ));
        }
        Ok(JitterBuffer {
            config,
            decoder: OpusDecoder::new()?,
            packets: BTreeMap::new(),
            next_seq: None,
            highest_seq: None,
            started: false,
            decoded: VecDeque::with_capacity(4 * SAMPLES_PER_FRAME),
            scratch: Vec::with_capacity(5760),
            last_packet_samples: 2 * SAMPLES_PER_FRAME,
            transits: VecDeque::with_capacity(TRANSIT_WINDOW),
            target: config.min_delay,
            late_margin: Duration::ZERO,
            waiting: 0,
            stats: JitterStats {
                target_delay_ms: config.min_delay.as_millis() as u32,
                ..JitterStats::default()
            },
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Current target delay.
    pub fn target_delay(&self) -> Duration {
        self.target
    }

    /// Audio buffered now (queued packets plus decoded samples not yet played).
    pub fn buffered(&self) -> Duration {
        let samples = self.packets.len() * self.last_packet_samples + self.decoded.len();
        Duration::from_micros(samples as u64 * 1_000_000 / SAMPLE_RATE as u64)
    }

    /// Extends a 16-bit sequence number to 64 bits near the reference.
    fn extend(&self, seq: u16) -> u64 {
        let reference = self.highest_seq.or(self.next_seq).unwrap_or(1 << 20);
        let base = reference & !0xffff;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        candidates
            .into_iter()
            .map(|c| c + u64::from(seq))
            .min_by_key(|c| c.abs_diff(reference))
            .unwrap_or(base + u64::from(seq))
    }

    /// Adds a packet that arrived at `arrival` (any monotonic clock).
    pub fn push(&mut self, packet: AudioPacket, arrival: Duration) {
        if packet.payload.is_empty() || packet.payload.len() > crate::audio_codec::MAX_OPUS_PACKET {
            self.stats.corrupt += 1;
            return;
        }
        let seq = self.extend(packet.seq);
        if let Some(next) = self.next_seq {
            if seq < next {
                self.stats.late += 1;
                // Lateness is exactly what the delay target must learn from.
                self.late_margin = (self.late_margin + LATE_STEP).min(self.config.max_delay);
                self.note_transit(packet.timestamp, arrival);
                return;
            }
        }
        if self.packets.contains_key(&seq) {
            self.stats.duplicates += 1;
            return;
        }
        self.stats.received += 1;
        if let Ok(n) = OpusDecoder::packet_samples(&packet.payload) {
            if n > 0 {
                self.last_packet_samples = n;
            }
        }
        self.highest_seq = Some(self.highest_seq.map_or(seq, |h| h.max(seq)));
        if self.next_seq.is_none() {
            self.next_seq = Some(seq);
        }
        self.packets.insert(seq, packet.payload);
        while self.packets.len() > MAX_HELD_PACKETS {
            if let Some((oldest, _)) = self.packets.pop_first() {
                self.stats.skipped += 1;
                self.next_seq = Some(oldest + 1);
            }
        }
        self.note_transit(packet.timestamp, arrival);
    }

    fn note_transit(&mut self, timestamp: u32, arrival: Duration) {
        // Transit time up to a constant offset; its spread is the jitter.
        let transit = arrival.as_secs_f64() - f64::from(timestamp) / f64::from(SAMPLE_RATE);
        if self.transits.len() == TRANSIT_WINDOW {
            self.transits.pop_front();
        }
        self.transits.push_back(transit);
        let mut sorted: Vec<f64> = self.transits.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let min = sorted[0];
        let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
        let jitter = Duration::from_secs_f64((p95 - min).max(0.0));
        let frame = Duration::from_micros(self.last_packet_samples as u64 * 1_000_000 / 48_000);
        self.late_margin = self.late_margin.saturating_sub(LATE_DECAY);
        self.target =
            (jitter + frame + self.late_margin).clamp(self.config.min_delay, self.config.max_delay);
        self.stats.target_delay_ms = self.target.as_millis() as u32;
    }

    /// The next 10 ms of audio to play.
    pub fn pull(&mut self, timestamp: Duration) -> (AudioFrame, FrameSource) {
        if !self.started {
            if self.next_seq.is_some() && self.buffered() >= self.target {
                self.started = true;
            } else {
                return (AudioFrame::silence(timestamp), FrameSource::Silence);
            }
        }
        self.trim_excess();
        while self.decoded.len() < SAMPLES_PER_FRAME {
            self.produce_next();
        }
        let mut frame = AudioFrame::silence(timestamp);
        for (dst, src) in frame
            .samples
            .iter_mut()
            .zip(self.decoded.drain(..SAMPLES_PER_FRAME))
        {
            *dst = src;
        }
        (frame, FrameSource::Audio)
    }

    /// Skips one queued packet when far above target, so latency does not stay high after
    /// a burst of late packets.
    fn trim_excess(&mut self) {
        let slack = Duration::from_millis(40);
        if self.buffered() > self.target + slack && self.packets.len() > 1 {
            if let Some(next) = self.next_seq {
                if self.packets.remove(&next).is_some() {
                    self.stats.skipped += 1;
                    // Let the decoder know audio is missing so the splice is smoothed.
                    self.next_seq = Some(next + 1);
                }
            }
        }
    }

    fn produce_next(&mut self) {
        let Some(seq) = self.next_seq else {
            self.decoded
                .extend(std::iter::repeat_n(0.0, SAMPLES_PER_FRAME));
            return;
        };
        self.scratch.clear();
        let result = if let Some(payload) = self.packets.remove(&seq) {
            let r = self.decoder.decode(&payload, &mut self.scratch);
            if r.is_err() {
                self.stats.corrupt += 1;
            }
            r
        } else if let Some(next) = self.packets.get(&(seq + 1)).filter(|_| self.config.use_fec) {
            let r = self
                .decoder
                .decode_fec(next, self.last_packet_samples, &mut self.scratch);
            if r.is_ok() {
                self.stats.fec_recovered += 1;
            }
            r
        } else if self.highest_seq.is_none_or(|h| h < seq) {
            // Underrun: nothing newer has arrived, so this packet is late rather than lost.
            // Conceal while waiting for it (which adds the delay the path needs); after a
            // while, pause and rebuffer to the target instead of giving it up.
            self.stats.concealed += 1;
            self.waiting += 1;
            self.late_margin = (self.late_margin + LATE_STEP).min(self.config.max_delay);
            if self.waiting >= MAX_WAIT_FRAMES {
                self.started = false;
            }
            self.scratch.clear();
            if self
                .decoder
                .conceal(SAMPLES_PER_FRAME, &mut self.scratch)
                .is_err()
            {
                self.scratch.resize(SAMPLES_PER_FRAME, 0.0);
            }
            self.decoded.extend(self.scratch.iter().copied());
            return;
        } else {
            self.stats.concealed += 1;
            self.decoder
                .conceal(self.last_packet_samples, &mut self.scratch)
        };
        self.waiting = 0;
        if result.is_err() || self.scratch.is_empty() {
            // A corrupt packet is concealed like a lost one, so the output still has no gap.
            self.scratch.clear();
            if self
                .decoder
                .conceal(self.last_packet_samples, &mut self.scratch)
                .is_err()
            {
                self.scratch.resize(self.last_packet_samples, 0.0);
            }
        }
        self.decoded.extend(self.scratch.iter().copied());
        self.next_seq = Some(seq + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio_codec::{OpusEncoder, OpusSettings};
    use crate::synth::SpeechSource;

    fn packets(n: usize) -> Result<Vec<AudioPacket>, MediaError> {
        let mut enc = OpusEncoder::new(OpusSettings {
            dtx: false,
            ..OpusSettings::default()
        })?;
        let mut speech = SpeechSource::new(7);
        let mut out = Vec::new();
        let mut seq = 65_530u16;
        let mut ts = 0u32;
        while out.len() < n {
            let f = speech.next_frame(Duration::ZERO);
            if let Some(p) = enc.push(&f)? {
                out.push(AudioPacket {
                    seq,
                    timestamp: ts,
                    payload: p.data,
                });
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(960);
            }
        }
        Ok(out)
    }

    #[test]
    fn a_buffer_nobody_pulls_stays_bounded() -> Result<(), MediaError> {
        let mut jb = JitterBuffer::new(JitterConfig::default())?;
        let all = packets(600)?;
        for (i, p) in all.into_iter().enumerate() {
            jb.push(p, Duration::from_millis(20 * i as u64));
        }
        assert!(jb.packets.len() <= MAX_HELD_PACKETS);
        assert_eq!(jb.stats().skipped, 600 - MAX_HELD_PACKETS as u64);
        // What is left still plays.
        let (_, source) = jb.pull(Duration::from_secs(13));
        assert_eq!(source, FrameSource::Audio);
        Ok(())
    }

    #[test]
    fn in_order_packets_play_without_loss_across_sequence_wrap() -> Result<(), MediaError> {
        let mut jb = JitterBuffer::new(JitterConfig::default())?;
        let mut t = Duration::ZERO;
        let mut audio_frames = 0;
        for p in packets(50)? {
            jb.push(p, t);
            for _ in 0..2 {
                if jb.pull(t).1 == FrameSource::Audio {
                    audio_frames += 1;
                }
                t += Duration::from_millis(10);
            }
        }
        let s = jb.stats();
        assert_eq!(
            (s.received, s.concealed, s.fec_recovered, s.late),
            (50, 0, 0, 0)
        );
        assert!(audio_frames >= 96, "{audio_frames}");
        Ok(())
    }

    #[test]
    fn a_lost_packet_is_recovered_from_fec_and_a_late_one_counted() -> Result<(), MediaError> {
        let mut jb = JitterBuffer::new(JitterConfig {
            min_delay: Duration::from_millis(60),
            ..JitterConfig::default()
        })?;
        let ps = packets(30)?;
        let late = ps[10].clone();
        let mut t = Duration::ZERO;
        for (i, p) in ps.into_iter().enumerate() {
            if i != 10 {
                jb.push(p, t);
            }
            if i == 20 {
                jb.push(late.clone(), t);
            }
            jb.pull(t);
            jb.pull(t);
            t += Duration::from_millis(20);
        }
        let s = jb.stats();
        assert_eq!(s.fec_recovered, 1);
        assert_eq!(s.late, 1);
        Ok(())
    }

    #[test]
    fn jitter_raises_the_target_delay() -> Result<(), MediaError> {
        let mut jb = JitterBuffer::new(JitterConfig::default())?;
        let mut t = Duration::ZERO;
        for (i, p) in packets(60)?.into_iter().enumerate() {
            // Every fifth packet is 80 ms late.
            let extra = if i % 5 == 0 { 80 } else { 0 };
            jb.push(p, t + Duration::from_millis(extra));
            jb.pull(t);
            jb.pull(t);
            t += Duration::from_millis(20);
        }
        assert!(
            jb.target_delay() >= Duration::from_millis(80),
            "{:?}",
            jb.target_delay()
        );
        Ok(())
    }

    #[test]
    fn garbage_packets_are_concealed_not_fatal() -> Result<(), MediaError> {
        let mut jb = JitterBuffer::new(JitterConfig::default())?;
        for i in 0..10u16 {
            jb.push(
                AudioPacket {
                    seq: i,
                    timestamp: u32::from(i) * 960,
                    payload: vec![0xff, 0xff, 0xff, i as u8],
                },
                Duration::from_millis(u64::from(i) * 20),
            );
        }
        for _ in 0..20 {
            let (f, _) = jb.pull(Duration::ZERO);
            assert!(f.samples.iter().all(|s| s.is_finite()));
        }
        assert!(jb.stats().corrupt > 0);
        Ok(())
    }
}
