//! The audio halves of a call, ready for a transport to carry packets between them.
//!
//! `AudioSendPipeline` (sans-IO): playout reference in, microphone frames in, Opus packets
//! out, with echo cancellation and the rest of the processing in between and voice activity
//! alongside. `RemoteAudio`: a remote participant's jitter buffer, fed by the network side
//! and played by the speaker mixer as one of its sources.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::audio::PlayoutSource;
use crate::audio_codec::{OpusEncoder, OpusSettings};
use crate::frame::{media_now, AudioFrame, SAMPLES_PER_FRAME};
use crate::jitter::{AudioPacket, FrameSource, JitterBuffer, JitterConfig, JitterStats};
use crate::processing::{AudioProcessor, EchoAligner, FrameAnalysis};
use crate::MediaError;

/// One packet ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAudio {
    /// The packet (sequence number, 48 kHz timestamp, Opus payload).
    pub packet: AudioPacket,
    /// Voice was present in the packet's last frame (for speaker detection / RTP audio level).
    pub voice: bool,
    /// Capture time of its first sample on the media clock.
    pub capture_time: Duration,
}

/// Microphone to packets: echo cancellation against the playout reference, noise
/// suppression, gain, then Opus.
pub struct AudioSendPipeline {
    aligner: EchoAligner,
    processor: Box<dyn AudioProcessor>,
    encoder: OpusEncoder,
    muted: bool,
    seq: u16,
    timestamp: u32,
    last_voice: bool,
}

impl AudioSendPipeline {
    /// A pipeline with the given processor and Opus settings.
    pub fn new(processor: Box<dyn AudioProcessor>, opus: OpusSettings) -> Result<Self, MediaError> {
        Ok(AudioSendPipeline {
            aligner: EchoAligner::new(),
            processor,
            encoder: OpusEncoder::new(opus)?,
            muted: false,
            seq: 0,
            timestamp: 0,
            last_voice: false,
        })
    }

    /// Queues a frame of the speaker mix (`SpeakerPlayout::reference`).
    pub fn push_reference(&mut self, frame: AudioFrame) {
        self.aligner.push_render(frame);
    }

    /// Mutes: frames are still processed (the echo canceller keeps adapting) but silence is
    /// encoded, which DTX turns into a trickle of tiny packets.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// The encoder, to follow bandwidth and loss reports.
    pub fn encoder_mut(&mut self) -> &mut OpusEncoder {
        &mut self.encoder
    }

    /// Processes one microphone frame; returns its analysis and a packet when one is complete.
    pub fn push_capture(
        &mut self,
        mut frame: AudioFrame,
    ) -> Result<(FrameAnalysis, Option<OutgoingAudio>), MediaError> {
        let mut analysis = self.aligner.process(self.processor.as_mut(), &mut frame)?;
        if self.muted {
            frame.samples = [0.0; SAMPLES_PER_FRAME];
            analysis.voice = false;
        }
        self.last_voice = analysis.voice;
        let Some(encoded) = self.encoder.push(&frame)? else {
            return Ok((analysis, None));
        };
        let packet = AudioPacket {
            seq: self.seq,
            timestamp: self.timestamp,
            payload: encoded.data,
        };
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(encoded.samples as u32);
        Ok((
            analysis,
            Some(OutgoingAudio {
                packet,
                voice: self.last_voice,
                capture_time: encoded.timestamp,
            }),
        ))
    }
}

/// A remote participant's audio: packets go in from the network side, the speaker mixer
/// pulls 10 ms at a time. Cloning gives another handle to the same buffer.
#[derive(Clone)]
pub struct RemoteAudio {
    inner: Arc<Mutex<JitterBuffer>>,
}

impl RemoteAudio {
    /// A new remote stream with its own jitter buffer.
    pub fn new(config: JitterConfig) -> Result<Self, MediaError> {
        Ok(RemoteAudio {
            inner: Arc::new(Mutex::new(JitterBuffer::new(config)?)),
        })
    }

    /// Adds a packet that just arrived.
    pub fn push(&self, packet: AudioPacket) {
        let now = media_now();
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(packet, now);
    }

    /// Jitter buffer counters.
    pub fn stats(&self) -> JitterStats {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats()
    }

    /// The next 10 ms, and whether it is real audio or silence before the start (for
    /// headless receivers that inspect rather than play).
    pub fn pull(&self) -> (AudioFrame, FrameSource) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pull(media_now())
    }

    /// A playout source for `SpeakerPlayout::add_source`.
    pub fn source(&self) -> Box<dyn PlayoutSource> {
        Box::new(self.clone())
    }
}

impl PlayoutSource for RemoteAudio {
    fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool {
        // The mixer thread is not the device's real-time thread, and the network side holds
        // this lock only to insert one packet, so waiting here is short and bounded.
        let (frame, _) = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pull(media_now());
        out.copy_from_slice(&frame.samples);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::{ProcessingConfig, SonoraProcessor};
    use crate::synth::SpeechSource;

    #[test]
    fn speech_goes_through_send_pipeline_and_remote_buffer() -> Result<(), MediaError> {
        let mut send = AudioSendPipeline::new(
            Box::new(SonoraProcessor::new(ProcessingConfig::default())),
            OpusSettings::default(),
        )?;
        let mut remote = RemoteAudio::new(JitterConfig::default())?;
        let mut speech = SpeechSource::new(17);
        let (mut voiced, mut packets, mut out_energy) = (0, 0, 0.0f32);
        for i in 0..300 {
            let frame = speech.next_frame(Duration::from_millis(i * 10));
            send.push_reference(AudioFrame::silence(frame.timestamp));
            let (analysis, packet) = send.push_capture(frame)?;
            voiced += usize::from(analysis.voice);
            if let Some(p) = packet {
                assert_eq!(p.packet.seq, packets);
                packets += 1;
                remote.push(p.packet);
            }
            let mut out = [0.0; SAMPLES_PER_FRAME];
            remote.next_frame(&mut out);
            out_energy += out.iter().map(|s| s * s).sum::<f32>();
        }
        assert_eq!(packets, 150);
        assert!(voiced > 100, "voice detected in {voiced} of 300 frames");
        assert!(out_energy > 1.0, "nothing came out ({out_energy})");
        Ok(())
    }

    #[test]
    fn muted_pipeline_sends_silence_and_no_voice() -> Result<(), MediaError> {
        let mut send = AudioSendPipeline::new(
            Box::new(SonoraProcessor::new(ProcessingConfig::default())),
            OpusSettings::default(),
        )?;
        send.set_muted(true);
        let mut speech = SpeechSource::new(3);
        let mut sizes = Vec::new();
        for i in 0..200 {
            let (a, p) = send.push_capture(speech.next_frame(Duration::from_millis(i * 10)))?;
            assert!(!a.voice);
            if let Some(p) = p {
                sizes.push(p.packet.payload.len());
            }
        }
        // DTX: once settled, a muted stream is mostly one-byte packets with a small
        // comfort-noise update now and then.
        let settled = &sizes[20..];
        let tiny = settled.iter().filter(|&&n| n <= 2).count();
        assert!(tiny * 10 >= settled.len() * 9, "{sizes:?}");
        assert!(settled.iter().all(|&n| n <= 32), "{sizes:?}");
        Ok(())
    }
}
