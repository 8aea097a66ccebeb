//! Audio processing behind one trait: echo cancellation against the playout mix, noise
//! suppression, automatic gain, voice activity and level. The engine is sonora (a Rust port
//! of WebRTC's audio processing module: AEC3, NS, AGC2); voice activity and level come from
//! a small detector of our own on the processed signal.
//!
//! Driving it: for every 10 ms the speaker plays, call `analyze_render` with that frame;
//! for every 10 ms the microphone captures, call `process_capture`. Feed render frames
//! before the capture frames captured at the same time (compare their timestamps).

use std::time::Duration;

use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
    NoiseSuppressionLevel,
};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::frame::{rms_dbfs, AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::MediaError;

/// How hard noise suppression works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseLevel {
    /// About 6 dB.
    Low,
    /// About 12 dB.
    Moderate,
    /// About 18 dB.
    High,
    /// About 21 dB.
    VeryHigh,
}

/// Which stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessingConfig {
    /// Echo cancellation with the playout mix as reference.
    pub echo_cancellation: bool,
    /// Noise suppression, if any.
    pub noise_suppression: Option<NoiseLevel>,
    /// Automatic (digital) gain control.
    pub auto_gain: bool,
    /// Remove rumble below about 80 Hz.
    pub high_pass: bool,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        ProcessingConfig {
            echo_cancellation: true,
            noise_suppression: Some(NoiseLevel::Moderate),
            auto_gain: true,
            high_pass: true,
        }
    }
}

/// Analysis of one processed capture frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameAnalysis {
    /// Level before processing, dBFS.
    pub input_dbfs: f32,
    /// Level after processing, dBFS.
    pub output_dbfs: f32,
    /// Voice detected (with hangover, so short gaps inside speech stay "voice").
    pub voice: bool,
}

/// Echo canceller figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessorStats {
    /// Echo return loss in dB, as the canceller estimates it.
    pub echo_return_loss_db: Option<f64>,
    /// Echo return loss enhancement in dB, as the canceller estimates it.
    pub echo_return_loss_enhancement_db: Option<f64>,
    /// The echo delay the canceller locked on to, in ms.
    pub delay_ms: Option<i32>,
}

/// An audio processing engine.
pub trait AudioProcessor: Send {
    /// Feeds one 10 ms frame of what the speaker plays (the echo reference).
    fn analyze_render(&mut self, frame: &AudioFrame) -> Result<(), MediaError>;
    /// Processes one 10 ms microphone frame in place.
    fn process_capture(&mut self, frame: &mut AudioFrame) -> Result<FrameAnalysis, MediaError>;
    /// Hint of the delay between a render frame being fed and its echo being captured.
    fn set_delay_hint(&mut self, delay: Duration);
    /// Changes which stages run (state is kept where possible).
    fn set_config(&mut self, config: ProcessingConfig);
    /// Current configuration.
    fn config(&self) -> ProcessingConfig;
    /// Echo canceller figures.
    fn stats(&self) -> ProcessorStats;
}

/// WebRTC-derived processing (AEC3, NS, AGC2) through sonora.
pub struct SonoraProcessor {
    apm: AudioProcessing,
    config: ProcessingConfig,
    vad: VoiceDetector,
    delay_ms: i32,
    out: [f32; SAMPLES_PER_FRAME],
}

fn sonora_config(c: ProcessingConfig) -> Config {
    Config {
        echo_canceller: c.echo_cancellation.then(EchoCanceller::default),
        noise_suppression: c.noise_suppression.map(|l| NoiseSuppression {
            level: match l {
                NoiseLevel::Low => NoiseSuppressionLevel::Low,
                NoiseLevel::Moderate => NoiseSuppressionLevel::Moderate,
                NoiseLevel::High => NoiseSuppressionLevel::High,
                NoiseLevel::VeryHigh => NoiseSuppressionLevel::VeryHigh,
            },
            ..NoiseSuppression::default()
        }),
        gain_controller2: c.auto_gain.then(|| GainController2 {
            adaptive_digital: Some(AdaptiveDigital::default()),
            ..GainController2::default()
        }),
        high_pass_filter: c.high_pass.then(HighPassFilter::default),
        ..Config::default()
    }
}

impl SonoraProcessor {
    /// A processor running the given stages on 48 kHz mono.
    pub fn new(config: ProcessingConfig) -> Self {
        let stream = StreamConfig::new(SAMPLE_RATE, 1);
        let apm = AudioProcessing::builder()
            .config(sonora_config(config))
            .capture_config(stream)
            .render_config(stream)
            .build();
        SonoraProcessor {
            apm,
            config,
            vad: VoiceDetector::new(),
            delay_ms: 0,
            out: [0.0; SAMPLES_PER_FRAME],
        }
    }
}

fn apm_err(e: sonora::Error) -> MediaError {
    MediaError::InvalidArgument(format!("audio processing: {e}"))
}

impl AudioProcessor for SonoraProcessor {
    fn analyze_render(&mut self, frame: &AudioFrame) -> Result<(), MediaError> {
        if !self.config.echo_cancellation {
            return Ok(());
        }
        let mut sink = [0.0f32; SAMPLES_PER_FRAME];
        self.apm
            .process_render_f32(&[&frame.samples], &mut [&mut sink])
            .map_err(apm_err)
    }

    fn process_capture(&mut self, frame: &mut AudioFrame) -> Result<FrameAnalysis, MediaError> {
        let input_dbfs = frame.rms_dbfs();
        if self.config.echo_cancellation {
            // Clamping is reported as an error but processing still proceeds; ignore it.
            let _ = self.apm.set_stream_delay_ms(self.delay_ms);
        }
        self.apm
            .process_capture_f32(&[&frame.samples], &mut [&mut self.out])
            .map_err(apm_err)?;
        frame.samples.copy_from_slice(&self.out);
        let output_dbfs = frame.rms_dbfs();
        let voice = self.vad.update(output_dbfs);
        Ok(FrameAnalysis {
            input_dbfs,
            output_dbfs,
            voice,
        })
    }

    fn set_delay_hint(&mut self, delay: Duration) {
        self.delay_ms = delay.as_millis().min(500) as i32;
    }

    fn set_config(&mut self, config: ProcessingConfig) {
        self.config = config;
        self.apm.apply_config(sonora_config(config));
    }

    fn config(&self) -> ProcessingConfig {
        self.config
    }

    fn stats(&self) -> ProcessorStats {
        let s = self.apm.statistics();
        ProcessorStats {
            echo_return_loss_db: s.echo_return_loss,
            echo_return_loss_enhancement_db: s.echo_return_loss_enhancement,
            delay_ms: s.delay_ms,
        }
    }
}

/// Pairs the playout reference with captured frames by media-clock time, so that an
/// `AudioProcessor` always sees the far-end audio before the echo of it: every render frame
/// mixed at or before a capture frame's time is fed first.
#[derive(Debug, Default)]
pub struct EchoAligner {
    pending: std::collections::VecDeque<AudioFrame>,
}

impl EchoAligner {
    /// An aligner with nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a frame of the playout mix (from `SpeakerPlayout::reference`).
    pub fn push_render(&mut self, frame: AudioFrame) {
        // A reference nobody drains would grow without bound; 2 s is far beyond any echo path.
        if self.pending.len() >= 200 {
            self.pending.pop_front();
        }
        self.pending.push_back(frame);
    }

    /// Feeds due render frames, then processes the capture frame in place.
    pub fn process(
        &mut self,
        processor: &mut dyn AudioProcessor,
        capture: &mut AudioFrame,
    ) -> Result<FrameAnalysis, MediaError> {
        while self
            .pending
            .front()
            .is_some_and(|r| r.timestamp <= capture.timestamp)
        {
            if let Some(r) = self.pending.pop_front() {
                processor.analyze_render(&r)?;
            }
        }
        processor.process_capture(capture)
    }
}

/// Energy voice-activity detector with an adaptive noise floor, onset confirmation and
/// hangover. Cheap and good enough for "is this person talking" indicators and speaker
/// switching; not a classifier of speech versus music.
#[derive(Debug, Clone)]
pub struct VoiceDetector {
    floor_db: Option<f32>,
    above: u32,
    hangover: u32,
}

impl Default for VoiceDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceDetector {
    const MARGIN_DB: f32 = 9.0;
    const MIN_DB: f32 = -60.0;
    const ONSET_FRAMES: u32 = 2;
    const HANGOVER_FRAMES: u32 = 20;

    /// A detector that assumes a quiet room until it hears otherwise.
    pub fn new() -> Self {
        VoiceDetector {
            floor_db: None,
            above: 0,
            hangover: 0,
        }
    }

    /// Current noise-floor estimate in dBFS.
    pub fn noise_floor_dbfs(&self) -> Option<f32> {
        self.floor_db
    }

    /// Feeds one 10 ms frame's level; returns whether voice is present.
    pub fn update(&mut self, level_dbfs: f32) -> bool {
        // The floor starts at the first level heard, follows drops at once and rises slowly
        // (10 dB/s), so a steady noise is learned while speech bursts are not.
        let floor = match self.floor_db {
            Some(f) if level_dbfs < f => level_dbfs.max(-100.0),
            Some(f) => f + 0.1,
            None => level_dbfs.max(-100.0),
        };
        self.floor_db = Some(floor);
        let loud = level_dbfs > floor + Self::MARGIN_DB && level_dbfs > Self::MIN_DB;
        if loud {
            self.above += 1;
        } else {
            self.above = 0;
        }
        if self.above >= Self::ONSET_FRAMES {
            self.hangover = Self::HANGOVER_FRAMES;
            return true;
        }
        if self.hangover > 0 {
            self.hangover -= 1;
            return true;
        }
        false
    }
}

/// Level meter for the UI: a 0..1 value per frame with fast attack and slow release.
#[derive(Debug, Clone, Default)]
pub struct LevelMeter {
    value: f32,
}

impl LevelMeter {
    /// Where a peak level in dBFS sits on the meter: 0 at -60 dBFS or below, 1 at 0 dBFS (for
    /// marks on it, such as the noise gate's threshold).
    pub fn position(dbfs: f32) -> f32 {
        ((dbfs + 60.0) / 60.0).clamp(0.0, 1.0)
    }

    /// Feeds one frame; returns the meter value (0 at -60 dBFS or below, 1 at 0 dBFS).
    pub fn update(&mut self, frame: &AudioFrame) -> f32 {
        let peak = frame.peak();
        let db = if peak <= 1e-6 {
            -100.0
        } else {
            20.0 * peak.log10()
        };
        self.update_dbfs(db)
    }

    /// Feeds one frame's peak level in dBFS; returns the meter value.
    pub fn update_dbfs(&mut self, db: f32) -> f32 {
        let target = Self::position(db);
        self.value = if target > self.value {
            target
        } else {
            // About 20 dB per second of release at 100 frames per second.
            (self.value - 1.0 / 300.0).max(target)
        };
        self.value
    }
}

/// RMS level of a slice in dBFS (re-exported for callers measuring signals).
pub fn level_dbfs(samples: &[f32]) -> f32 {
    rms_dbfs(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SpeechSource;

    #[test]
    fn vad_follows_speech_and_ignores_steady_noise() {
        let mut vad = VoiceDetector::new();
        let mut rng = crate::synth::Rng::new(5);
        // Two seconds of steady noise at -50 dBFS: the floor learns it.
        let mut noise_voice = 0;
        for _ in 0..200 {
            let s: Vec<f32> = (0..480).map(|_| (rng.unit() - 0.5) * 0.011).collect();
            if vad.update(rms_dbfs(&s)) {
                noise_voice += 1;
            }
        }
        assert!(
            noise_voice < 10,
            "noise flagged as voice {noise_voice} times"
        );
        let mut speech = SpeechSource::new(1);
        let mut voiced = 0;
        for _ in 0..300 {
            let f = speech.next_frame(Duration::ZERO);
            if vad.update(f.rms_dbfs()) {
                voiced += 1;
            }
        }
        assert!(voiced > 150, "speech flagged {voiced} of 300");
    }

    #[test]
    fn meter_attacks_fast_and_releases_slowly() {
        let mut m = LevelMeter::default();
        let mut loud = AudioFrame::silence(Duration::ZERO);
        loud.samples[0] = 0.5;
        let first = m.update(&loud);
        assert!((first - 0.9).abs() < 0.01, "{first}");
        let quiet = AudioFrame::silence(Duration::ZERO);
        let after = m.update(&quiet);
        assert!(after < first && after > first - 0.01, "{after}");
    }

    #[test]
    fn processing_keeps_speech_without_echo() -> Result<(), MediaError> {
        let mut p = SonoraProcessor::new(ProcessingConfig {
            auto_gain: false,
            ..ProcessingConfig::default()
        });
        let mut speech = SpeechSource::new(2);
        let (mut inp, mut out) = (0.0f64, 0.0f64);
        for i in 0..300 {
            let mut f = speech.next_frame(Duration::ZERO);
            p.analyze_render(&AudioFrame::silence(Duration::ZERO))?;
            let before: f64 = f.samples.iter().map(|s| f64::from(s * s)).sum();
            p.process_capture(&mut f)?;
            if i >= 100 {
                inp += before;
                out += f.samples.iter().map(|s| f64::from(s * s)).sum::<f64>();
            }
        }
        let change_db = 10.0 * (out / inp).log10();
        assert!(change_db > -3.0, "speech lost {change_db:.1} dB");
        Ok(())
    }
}
