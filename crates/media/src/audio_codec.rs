//! Opus at 48 kHz mono: an encoder fed with 10 ms engine frames that emits 10 or 20 ms
//! packets with in-band FEC and DTX, and a decoder with packet loss concealment and FEC
//! recovery (driven by the jitter buffer).

use std::time::Duration;

use crate::frame::{AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::MediaError;

/// Largest Opus packet we produce or accept.
pub const MAX_OPUS_PACKET: usize = 1500;

/// Opus encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusSettings {
    /// Packet duration: 10 or 20 ms.
    pub frame_ms: u32,
    /// Target bitrate in bits per second.
    pub bitrate_bps: i32,
    /// Put forward error correction for the previous packet into each packet.
    pub fec: bool,
    /// Send (almost) nothing during silence.
    pub dtx: bool,
    /// Expected packet loss in percent; FEC strength follows it.
    pub expected_loss_pct: u8,
    /// Low-delay mode: 2.5 ms look-ahead instead of 6.5 ms, but CELT only, so no in-band
    /// FEC and less efficient speech coding. For local or very good links.
    pub low_delay: bool,
}

impl Default for OpusSettings {
    fn default() -> Self {
        OpusSettings {
            frame_ms: 20,
            bitrate_bps: 32_000,
            fec: true,
            dtx: true,
            expected_loss_pct: 10,
            low_delay: false,
        }
    }
}

/// One encoded Opus packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAudio {
    /// The packet.
    pub data: Vec<u8>,
    /// Media-clock time of its first sample.
    pub timestamp: Duration,
    /// Samples it covers at 48 kHz.
    pub samples: usize,
    /// True when the encoder is in DTX (the packet only says "still silent"; it may be
    /// sent less often).
    pub dtx: bool,
}

/// Opus encoder taking 10 ms frames.
pub struct OpusEncoder {
    encoder: opus::Encoder,
    settings: OpusSettings,
    pending: Vec<f32>,
    pending_ts: Duration,
    out: Vec<u8>,
}

impl OpusEncoder {
    /// A new encoder.
    pub fn new(settings: OpusSettings) -> Result<Self, MediaError> {
        if settings.frame_ms != 10 && settings.frame_ms != 20 {
            return Err(MediaError::InvalidArgument(format!(
                "Opus frame duration {} ms is not 10 or 20",
                settings.frame_ms
            )));
        }
        let application = if settings.low_delay {
            opus::Application::LowDelay
        } else {
            opus::Application::Voip
        };
        let mut encoder = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, application)?;
        encoder.set_inband_fec(settings.fec)?;
        encoder.set_dtx(settings.dtx)?;
        encoder.set_packet_loss_perc(i32::from(settings.expected_loss_pct.min(100)))?;
        encoder.set_signal(opus::Signal::Voice)?;
        let mut enc = OpusEncoder {
            encoder,
            settings,
            pending: Vec::with_capacity(2 * SAMPLES_PER_FRAME),
            pending_ts: Duration::ZERO,
            out: vec![0; MAX_OPUS_PACKET],
        };
        enc.set_bitrate(settings.bitrate_bps)?;
        Ok(enc)
    }

    /// Current settings.
    pub fn settings(&self) -> OpusSettings {
        self.settings
    }

    /// Changes the bitrate while running (6 kbit/s .. 510 kbit/s).
    pub fn set_bitrate(&mut self, bitrate_bps: i32) -> Result<(), MediaError> {
        if !(6_000..=510_000).contains(&bitrate_bps) {
            return Err(MediaError::InvalidArgument(format!(
                "Opus bitrate {bitrate_bps} is outside 6000..=510000"
            )));
        }
        self.encoder.set_bitrate(opus::Bitrate::Bits(bitrate_bps))?;
        self.settings.bitrate_bps = bitrate_bps;
        Ok(())
    }

    /// Tells the encoder how much loss to protect against (from receiver reports).
    pub fn set_expected_loss(&mut self, pct: u8) -> Result<(), MediaError> {
        self.encoder.set_packet_loss_perc(i32::from(pct.min(100)))?;
        self.settings.expected_loss_pct = pct.min(100);
        Ok(())
    }

    /// Algorithmic delay of the encoder (its look-ahead).
    pub fn lookahead(&mut self) -> Result<Duration, MediaError> {
        let samples = self.encoder.get_lookahead()?;
        Ok(Duration::from_micros(
            samples.max(0) as u64 * 1_000_000 / SAMPLE_RATE as u64,
        ))
    }

    /// Adds one 10 ms frame; returns a packet when a whole packet's worth is collected.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<Option<EncodedAudio>, MediaError> {
        if self.pending.is_empty() {
            self.pending_ts = frame.timestamp;
        }
        self.pending.extend_from_slice(&frame.samples);
        let want = SAMPLES_PER_FRAME * self.settings.frame_ms as usize / 10;
        if self.pending.len() < want {
            return Ok(None);
        }
        let len = self
            .encoder
            .encode_float(&self.pending[..want], &mut self.out)?;
        self.pending.clear();
        Ok(Some(EncodedAudio {
            data: self.out[..len].to_vec(),
            timestamp: self.pending_ts,
            samples: want,
            dtx: len <= 2,
        }))
    }
}

/// Opus decoder with concealment.
pub struct OpusDecoder {
    decoder: opus::Decoder,
}

/// Longest packet duration Opus allows (120 ms at 48 kHz).
const MAX_PACKET_SAMPLES: usize = 5760;

impl OpusDecoder {
    /// A new decoder.
    pub fn new() -> Result<Self, MediaError> {
        Ok(OpusDecoder {
            decoder: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
        })
    }

    /// Samples a packet will decode to, without decoding it.
    pub fn packet_samples(packet: &[u8]) -> Result<usize, MediaError> {
        Ok(opus::packet::get_nb_samples(packet, SAMPLE_RATE)?)
    }

    /// Decodes a packet, appending its samples to `out`. Returns how many were added.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<usize, MediaError> {
        if packet.is_empty() {
            return Err(MediaError::invalid("Opus packet", "empty"));
        }
        self.decode_into(packet, MAX_PACKET_SAMPLES, false, out)
    }

    /// Recovers a lost packet of `samples` samples from the FEC data in the packet after it.
    pub fn decode_fec(
        &mut self,
        next_packet: &[u8],
        samples: usize,
        out: &mut Vec<f32>,
    ) -> Result<usize, MediaError> {
        self.decode_into(next_packet, samples, true, out)
    }

    /// Conceals `samples` samples of loss (Opus PLC; fades to silence over long gaps).
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<f32>) -> Result<usize, MediaError> {
        self.decode_into(&[], samples, false, out)
    }

    fn decode_into(
        &mut self,
        packet: &[u8],
        samples: usize,
        fec: bool,
        out: &mut Vec<f32>,
    ) -> Result<usize, MediaError> {
        // Opus only conceals in multiples of 2.5 ms.
        let samples = (samples.clamp(120, MAX_PACKET_SAMPLES) / 120) * 120;
        let start = out.len();
        out.resize(start + samples, 0.0);
        match self.decoder.decode_float(packet, &mut out[start..], fec) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(n)
            }
            Err(e) => {
                out.truncate(start);
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize) -> Vec<AudioFrame> {
        (0..n)
            .map(|i| {
                let s: Vec<f32> = (0..SAMPLES_PER_FRAME)
                    .map(|k| {
                        let t = (i * SAMPLES_PER_FRAME + k) as f32 / 48_000.0;
                        0.3 * (std::f32::consts::TAU * 440.0 * t).sin()
                    })
                    .collect();
                AudioFrame::from_slice(&s, Duration::from_millis(10 * i as u64))
            })
            .collect::<Result<_, _>>()
            .unwrap_or_default()
    }

    #[test]
    fn twenty_ms_packets_from_two_frames() -> Result<(), MediaError> {
        let mut enc = OpusEncoder::new(OpusSettings::default())?;
        let frames = tone(4);
        assert_eq!(frames.len(), 4);
        assert!(enc.push(&frames[0])?.is_none());
        let p = enc
            .push(&frames[1])?
            .ok_or(MediaError::InvalidArgument("no packet".into()))?;
        assert_eq!(p.samples, 960);
        assert_eq!(OpusDecoder::packet_samples(&p.data)?, 960);
        let mut dec = OpusDecoder::new()?;
        let mut out = Vec::new();
        assert_eq!(dec.decode(&p.data, &mut out)?, 960);
        assert_eq!(dec.conceal(960, &mut out)?, 960);
        assert_eq!(out.len(), 1920);
        Ok(())
    }

    #[test]
    fn bad_settings_and_bad_packets_are_errors() -> Result<(), MediaError> {
        let bad = OpusSettings {
            frame_ms: 15,
            ..OpusSettings::default()
        };
        assert!(OpusEncoder::new(bad).is_err());
        let mut dec = OpusDecoder::new()?;
        let mut out = Vec::new();
        assert!(dec.decode(&[], &mut out).is_err());
        // A code-3 packet header claiming more frames than the packet holds.
        assert!(dec.decode(&[0xff, 0xff, 0xff], &mut out).is_err());
        assert!(out.is_empty());
        Ok(())
    }
}
