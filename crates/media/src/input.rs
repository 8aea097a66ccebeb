//! The microphone's own controls, applied to each 10 ms frame before it is encoded: the input
//! volume (a gain, 0 = silent .. 2 = doubled, clipped to the sample range) and the input
//! sensitivity, a noise gate that sends silence while the signal stays below a threshold.
//!
//! Driving it: keep one [`InputControls`] where the settings change (a UI command) and where
//! the frames flow (the microphone thread) — it is a pair of atomics, so changing it never
//! waits on audio — and one [`InputShaper`] per stream of frames, which holds the gate's state:
//! `shaper.shape(&controls, &mut frame)` for every frame, in order.
//!
//! The gate is keyed on each frame's peak after the volume, the measure the level meter shows,
//! so a threshold marker on the meter sits where the gate opens. It opens within 2.5 ms of a
//! frame that reaches the threshold, stays open while the signal stays within a few dB below
//! it and for 200 ms after (the gaps between words), then fades out over 100 ms: words keep
//! their beginnings and ends.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::frame::{AudioFrame, SAMPLE_RATE};

/// The highest input volume: 200 %.
pub const MAX_INPUT_VOLUME: f32 = 2.0;
/// Lowest and highest gate threshold, dBFS.
pub const GATE_RANGE_DBFS: (f32, f32) = (-100.0, 0.0);

/// Below the threshold by this much, an open gate stays open (no flutter on a level that
/// hovers around the threshold).
const HYSTERESIS_DB: f32 = 4.0;
/// How long the gate stays open after the signal fell below it (10 ms frames).
const HOLD_FRAMES: u32 = 20;
/// Samples the gate takes to open fully.
const ATTACK_SAMPLES: f32 = SAMPLE_RATE as f32 * 0.0025;
/// Samples the gate takes to close fully once the hold is over.
const RELEASE_SAMPLES: f32 = SAMPLE_RATE as f32 * 0.1;

/// The input volume and the gate threshold, shared between who sets them and the microphone
/// thread.
#[derive(Debug)]
pub struct InputControls {
    volume: AtomicU32,
    /// The threshold in dBFS; not a number while the gate is off.
    gate: AtomicU32,
}

impl Default for InputControls {
    fn default() -> Self {
        InputControls::new(1.0, None)
    }
}

impl InputControls {
    /// Controls at `volume` (see [`InputControls::set_volume`]) and `gate`.
    pub fn new(volume: f32, gate: Option<f32>) -> Self {
        let controls = InputControls {
            volume: AtomicU32::new(1.0f32.to_bits()),
            gate: AtomicU32::new(f32::NAN.to_bits()),
        };
        controls.set_volume(volume);
        controls.set_gate(gate);
        controls
    }

    /// The input volume: 1 leaves the signal as it is; clamped to 0..=2, not a number means 1.
    pub fn set_volume(&self, volume: f32) {
        let v = if volume.is_finite() {
            volume.clamp(0.0, MAX_INPUT_VOLUME)
        } else {
            1.0
        };
        self.volume.store(v.to_bits(), Ordering::Relaxed);
    }

    /// The gate threshold in dBFS (clamped to [`GATE_RANGE_DBFS`]), or `None` for no gate.
    pub fn set_gate(&self, threshold_dbfs: Option<f32>) {
        let t = match threshold_dbfs {
            Some(t) if t.is_finite() => t.clamp(GATE_RANGE_DBFS.0, GATE_RANGE_DBFS.1),
            _ => f32::NAN,
        };
        self.gate.store(t.to_bits(), Ordering::Relaxed);
    }

    /// The input volume.
    pub fn volume(&self) -> f32 {
        f32::from_bits(self.volume.load(Ordering::Relaxed))
    }

    /// The gate threshold, `None` while off.
    pub fn gate(&self) -> Option<f32> {
        let t = f32::from_bits(self.gate.load(Ordering::Relaxed));
        (!t.is_nan()).then_some(t)
    }
}

/// What shaping one frame found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaped {
    /// The frame's peak after the volume and before the gate, dBFS (-100 for silence).
    pub peak_dbfs: f32,
    /// The gate let (some of) the frame through: it is open, holding or fading.
    pub open: bool,
}

/// Applies [`InputControls`] to a stream of frames; holds the gate's state.
#[derive(Debug, Clone)]
pub struct InputShaper {
    /// The gate's gain, 0 (closed) ..= 1 (open), per sample.
    gain: f32,
    /// The signal reached the threshold and has not stayed below it for the hold yet.
    open: bool,
    hold: u32,
}

impl Default for InputShaper {
    fn default() -> Self {
        Self::new()
    }
}

impl InputShaper {
    /// A shaper whose gate starts closed (silence until the first loud frame).
    pub fn new() -> Self {
        InputShaper {
            gain: 0.0,
            open: false,
            hold: 0,
        }
    }

    /// Applies the volume and then the gate to `frame`, in place.
    pub fn shape(&mut self, controls: &InputControls, frame: &mut AudioFrame) -> Shaped {
        let volume = controls.volume();
        if volume != 1.0 {
            for s in frame.samples.iter_mut() {
                *s = (*s * volume).clamp(-1.0, 1.0);
            }
        }
        let peak = frame.peak();
        let peak_dbfs = if peak <= 1e-5 {
            -100.0
        } else {
            20.0 * peak.log10()
        };
        let Some(threshold) = controls.gate() else {
            // Off: everything passes, and the gate is open should it be turned on.
            self.gain = 1.0;
            self.open = true;
            self.hold = HOLD_FRAMES;
            return Shaped {
                peak_dbfs,
                open: true,
            };
        };
        let reach = if self.open {
            threshold - HYSTERESIS_DB
        } else {
            threshold
        };
        if peak_dbfs >= reach {
            self.open = true;
            self.hold = HOLD_FRAMES;
        } else if self.hold > 0 {
            self.hold -= 1;
        } else {
            self.open = false;
        }
        let (target, rate) = if self.open {
            (1.0, 1.0 / ATTACK_SAMPLES)
        } else {
            (0.0, 1.0 / RELEASE_SAMPLES)
        };
        if self.gain == target {
            if target == 0.0 {
                frame.samples.fill(0.0);
            }
        } else {
            for s in frame.samples.iter_mut() {
                self.gain = if target > self.gain {
                    (self.gain + rate).min(target)
                } else {
                    (self.gain - rate).max(target)
                };
                *s *= self.gain;
            }
        }
        Shaped {
            peak_dbfs,
            open: self.open || self.gain > 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::SAMPLES_PER_FRAME;
    use std::time::Duration;

    /// A 440 Hz tone whose peak is `dbfs`.
    fn tone(dbfs: f32, frames: usize) -> Vec<AudioFrame> {
        let amplitude = 10f32.powf(dbfs / 20.0);
        (0..frames)
            .map(|f| {
                let mut frame = AudioFrame::silence(Duration::from_millis(10 * f as u64));
                for (i, s) in frame.samples.iter_mut().enumerate() {
                    let t = (f * SAMPLES_PER_FRAME + i) as f32 / SAMPLE_RATE as f32;
                    *s = amplitude * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                }
                frame
            })
            .collect()
    }

    /// Shapes `frames` and returns, per frame, its energy after shaping relative to before.
    fn kept(shaper: &mut InputShaper, controls: &InputControls, frames: &[AudioFrame]) -> Vec<f32> {
        frames
            .iter()
            .map(|frame| {
                let before: f32 = frame.samples.iter().map(|s| s * s).sum();
                let mut out = frame.clone();
                shaper.shape(controls, &mut out);
                let after: f32 = out.samples.iter().map(|s| s * s).sum();
                after / before
            })
            .collect()
    }

    #[test]
    fn a_signal_below_the_threshold_is_silenced() {
        let controls = InputControls::new(1.0, Some(-40.0));
        let mut shaper = InputShaper::new();
        for mut frame in tone(-50.0, 100) {
            let shaped = shaper.shape(&controls, &mut frame);
            assert!(!shaped.open);
            assert!(
                (shaped.peak_dbfs + 50.0).abs() < 0.1,
                "{}",
                shaped.peak_dbfs
            );
            assert!(frame.samples.iter().all(|&s| s == 0.0));
        }
    }

    #[test]
    fn speech_above_the_threshold_passes_whole_after_a_short_attack() {
        let controls = InputControls::new(1.0, Some(-40.0));
        let mut shaper = InputShaper::new();
        let frames = tone(-20.0, 50);
        let mut first = frames[0].clone();
        assert!(shaper.shape(&controls, &mut first).open);
        // Opening takes 2.5 ms: the first samples are faded in, the rest pass.
        let attack = ATTACK_SAMPLES as usize;
        let ratio = |i: usize| first.samples[i] / frames[0].samples[i];
        assert!(ratio(attack / 4) < 0.5, "{}", ratio(attack / 4));
        assert!((ratio(attack + 10) - 1.0).abs() < 1e-6);
        let rest = kept(&mut shaper, &controls, &frames[1..]);
        assert!(rest.iter().all(|&k| (k - 1.0).abs() < 1e-6), "{rest:?}");
        // The speech source of the tests, at its own level, passes a gate set below it.
        let mut speech = crate::synth::SpeechSource::new(3);
        let mut shaper = InputShaper::new();
        let (mut before, mut after) = (0.0f32, 0.0f32);
        for _ in 0..300 {
            let mut frame = speech.next_frame(Duration::ZERO);
            before += frame.samples.iter().map(|s| s * s).sum::<f32>();
            shaper.shape(&InputControls::new(1.0, Some(-50.0)), &mut frame);
            after += frame.samples.iter().map(|s| s * s).sum::<f32>();
        }
        assert!(after / before > 0.95, "speech kept {:.3}", after / before);
    }

    #[test]
    fn the_gate_holds_through_a_pause_then_fades_out() {
        let controls = InputControls::new(1.0, Some(-40.0));
        let mut shaper = InputShaper::new();
        kept(&mut shaper, &controls, &tone(-20.0, 30));
        // A quiet tail (a breath, a word's end) below the threshold and its hysteresis.
        let tail = kept(&mut shaper, &controls, &tone(-60.0, 60));
        let hold = HOLD_FRAMES as usize;
        assert!(
            tail[..hold].iter().all(|&k| (k - 1.0).abs() < 1e-6),
            "held for 200 ms: {:?}",
            &tail[..hold]
        );
        let release_frames = (RELEASE_SAMPLES as usize).div_ceil(SAMPLES_PER_FRAME);
        let fade = &tail[hold..hold + release_frames];
        assert!(
            fade.windows(2).all(|w| w[1] < w[0]) && fade[0] < 1.0 && fade[0] > 0.5,
            "fades over 100 ms: {fade:?}"
        );
        assert!(tail[hold + release_frames..].iter().all(|&k| k == 0.0));
        // Loud again: open at once.
        assert!(kept(&mut shaper, &controls, &tone(-20.0, 2))[1] > 0.999);
    }

    #[test]
    fn a_level_just_under_the_threshold_keeps_an_open_gate_open() {
        let controls = InputControls::new(1.0, Some(-40.0));
        let mut shaper = InputShaper::new();
        kept(&mut shaper, &controls, &tone(-30.0, 10));
        let hovering = kept(&mut shaper, &controls, &tone(-42.0, 100));
        assert!(hovering.iter().all(|&k| (k - 1.0).abs() < 1e-6));
        // But the same level does not open a closed gate.
        let mut closed = InputShaper::new();
        assert!(kept(&mut closed, &controls, &tone(-42.0, 10))
            .iter()
            .all(|&k| k == 0.0));
    }

    #[test]
    fn the_volume_scales_and_clips_before_the_gate() {
        let mut shaper = InputShaper::new();
        for (volume, gain) in [(0.5f32, 0.25f32), (0.0, 0.0), (2.0, 4.0)] {
            let controls = InputControls::new(volume, None);
            let k = kept(&mut shaper, &controls, &tone(-20.0, 3));
            assert!(
                k.iter().all(|&k| (k - gain).abs() < 1e-3),
                "{volume}: {k:?}"
            );
        }
        let mut loud = tone(-3.0, 1).remove(0);
        shaper.shape(&InputControls::new(2.0, None), &mut loud);
        assert_eq!(loud.peak(), 1.0, "doubled and clipped");
        // Doubling a -45 dBFS voice lifts it over a -40 dBFS gate.
        let controls = InputControls::new(2.0, Some(-40.0));
        let mut gated = InputShaper::new();
        let k = kept(&mut gated, &controls, &tone(-45.0, 5));
        assert!((k[4] - 4.0).abs() < 1e-3, "{k:?}");
    }

    #[test]
    fn settings_are_clamped_and_off_is_none() {
        let c = InputControls::new(9.0, Some(-500.0));
        assert_eq!(c.volume(), MAX_INPUT_VOLUME);
        assert_eq!(c.gate(), Some(GATE_RANGE_DBFS.0));
        c.set_volume(f32::NAN);
        c.set_gate(Some(f32::INFINITY));
        assert_eq!((c.volume(), c.gate()), (1.0, None));
    }
}
