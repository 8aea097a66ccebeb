//! Synthetic audio: a deterministic speech-like source for tests and bots, and the speaker
//! test sound of the pre-join screen.
//!
//! The speech source is a source-filter model: a glottal pulse train (harmonics of a pitch
//! that glides within and between syllables) shaped by three formant resonances that move
//! from vowel to vowel, under a syllable-rate (about 4 Hz) envelope, with short noise bursts
//! at syllable onsets and pauses between words. That gives echo cancellers, noise suppressors,
//! voice-activity detectors and Opus the kind of signal they are built for, which pure tones
//! or white noise are not.

use std::f32::consts::TAU;
use std::time::Duration;

use crate::frame::{AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};

/// Small deterministic PRNG (xorshift64*), so a seed always gives the same signal.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
}

/// Formant frequencies (F1, F2, F3) of a few vowels, in Hz.
const VOWELS: [[f32; 3]; 6] = [
    [730.0, 1090.0, 2440.0], // a
    [270.0, 2290.0, 3010.0], // i
    [300.0, 870.0, 2240.0],  // u
    [530.0, 1840.0, 2480.0], // e
    [570.0, 840.0, 2410.0],  // o
    [660.0, 1720.0, 2410.0], // ae
];

const MAX_HARMONICS: usize = 48;
const BANDWIDTHS: [f32; 3] = [90.0, 110.0, 170.0];

struct Syllable {
    len: usize,
    silent: bool,
    from: [f32; 3],
    to: [f32; 3],
    pitch_from: f32,
    pitch_to: f32,
}

/// Deterministic speech-like signal at 48 kHz.
pub struct SpeechSource {
    rng: Rng,
    base_pitch: f32,
    gain: f32,
    phases: [f32; MAX_HARMONICS],
    amps: [f32; MAX_HARMONICS],
    syllable: Syllable,
    pos: usize,
    last_vowel: [f32; 3],
}

impl SpeechSource {
    /// A talker determined by `seed` (pitch range and wording differ per seed), at about
    /// -20 dBFS RMS while talking.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let base_pitch = rng.range(95.0, 210.0);
        let last_vowel = VOWELS[(rng.next_u64() % VOWELS.len() as u64) as usize];
        let mut s = SpeechSource {
            rng,
            base_pitch,
            gain: 0.1,
            phases: [0.0; MAX_HARMONICS],
            amps: [0.0; MAX_HARMONICS],
            syllable: Syllable {
                len: 1,
                silent: true,
                from: last_vowel,
                to: last_vowel,
                pitch_from: base_pitch,
                pitch_to: base_pitch,
            },
            pos: 1,
            last_vowel,
        };
        s.set_level_dbfs(-20.0);
        s
    }

    /// Sets the approximate RMS level while talking.
    pub fn set_level_dbfs(&mut self, db: f32) {
        // The raw model sits near -32.5 dBFS RMS (while talking) at gain 0.1.
        self.gain = 0.1 * 10f32.powf((db + 32.5) / 20.0);
    }

    fn next_syllable(&mut self) {
        let r = &mut self.rng;
        // One syllable in five is a pause between words.
        let silent = r.unit() < 0.2;
        let len_ms = if silent {
            r.range(120.0, 400.0)
        } else {
            r.range(170.0, 320.0)
        };
        let to = VOWELS[(r.next_u64() % VOWELS.len() as u64) as usize];
        let pitch_from = self.base_pitch * r.range(0.85, 1.2);
        let pitch_to = self.base_pitch * r.range(0.8, 1.15);
        self.syllable = Syllable {
            len: (len_ms * SAMPLE_RATE as f32 / 1000.0) as usize,
            silent,
            from: self.last_vowel,
            to,
            pitch_from,
            pitch_to,
        };
        self.last_vowel = to;
        self.pos = 0;
    }

    fn update_harmonics(&mut self, progress: f32, pitch: f32) {
        let s = &self.syllable;
        let formants: [f32; 3] =
            std::array::from_fn(|i| s.from[i] + (s.to[i] - s.from[i]) * progress.min(1.0));
        for (k, amp) in self.amps.iter_mut().enumerate() {
            let f = pitch * (k + 1) as f32;
            if f > 7000.0 {
                *amp = 0.0;
                continue;
            }
            // Resonances of the vocal tract over a -6 dB/octave glottal tilt.
            let mut env = 0.0;
            for (fc, bw) in formants.iter().zip(BANDWIDTHS) {
                let d = (f - fc) / bw;
                env += 1.0 / (1.0 + d * d);
            }
            *amp = env / (k + 1) as f32;
        }
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for chunk in out.chunks_mut(SAMPLES_PER_FRAME) {
            if self.pos >= self.syllable.len {
                self.next_syllable();
            }
            let progress = self.pos as f32 / self.syllable.len as f32;
            let pitch = self.syllable.pitch_from
                + (self.syllable.pitch_to - self.syllable.pitch_from) * progress;
            self.update_harmonics(progress, pitch);
            let silent = self.syllable.silent;
            let len = self.syllable.len as f32;
            for sample in chunk.iter_mut() {
                if silent || self.pos >= self.syllable.len {
                    *sample = 0.0;
                    self.pos += 1;
                    continue;
                }
                let t = self.pos as f32 / len;
                // Syllable envelope: quick rise, a held vowel, then a fall to silence.
                let env = if t < 0.12 {
                    0.5 - 0.5 * (std::f32::consts::PI * t / 0.12).cos()
                } else if t < 0.7 {
                    1.0
                } else {
                    0.5 + 0.5 * (std::f32::consts::PI * (t - 0.7) / 0.3).cos()
                };
                let mut v = 0.0;
                for (k, (phase, amp)) in self.phases.iter_mut().zip(&self.amps).enumerate() {
                    if *amp == 0.0 {
                        continue;
                    }
                    *phase += TAU * pitch * (k + 1) as f32 / SAMPLE_RATE as f32;
                    if *phase > TAU {
                        *phase -= TAU;
                    }
                    v += amp * phase.sin();
                }
                // A consonant-like noise burst at the onset.
                let burst = if t < 0.06 {
                    (self.rng.unit() - 0.5) * 0.6 * (1.0 - t / 0.06)
                } else {
                    0.0
                };
                *sample = (self.gain * (env * v + burst)).clamp(-1.0, 1.0);
                self.pos += 1;
            }
        }
    }

    /// The next 10 ms frame, stamped with `timestamp`.
    pub fn next_frame(&mut self, timestamp: Duration) -> AudioFrame {
        let mut frame = AudioFrame::silence(timestamp);
        self.fill(&mut frame.samples);
        frame
    }

    /// `seconds` of signal as one vector.
    pub fn take_seconds(&mut self, seconds: f32) -> Vec<f32> {
        let mut v = vec![0.0; (seconds * SAMPLE_RATE as f32) as usize];
        self.fill(&mut v);
        v
    }
}

/// The speaker test sound: a two-note chime, about 1.2 s, peaking near -6 dBFS.
pub fn test_sound() -> Vec<f32> {
    let rate = SAMPLE_RATE as f32;
    let note = |freq: f32, start: f32, t: f32| -> f32 {
        if t < start {
            return 0.0;
        }
        let t = t - start;
        let attack = (t / 0.005).min(1.0);
        let decay = (-t * 4.0).exp();
        attack * decay * ((TAU * freq * t).sin() + 0.3 * (TAU * 2.0 * freq * t).sin())
    };
    (0..(1.2 * rate) as usize)
        .map(|i| {
            let t = i as f32 / rate;
            0.38 * (note(659.25, 0.0, t) + note(880.0, 0.25, t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::rms_dbfs;

    #[test]
    fn same_seed_same_signal_other_seed_other_signal() {
        let a = SpeechSource::new(1).take_seconds(1.0);
        let b = SpeechSource::new(1).take_seconds(1.0);
        let c = SpeechSource::new(2).take_seconds(1.0);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn speech_has_talk_and_pauses_at_a_sane_level() {
        let v = SpeechSource::new(3).take_seconds(10.0);
        let levels: Vec<f32> = v.chunks(SAMPLES_PER_FRAME).map(rms_dbfs).collect();
        let talking = levels.iter().filter(|&&l| l > -40.0).count();
        let silent = levels.iter().filter(|&&l| l < -90.0).count();
        assert!(talking > 400, "talking frames {talking}");
        assert!(silent > 50, "silent frames {silent}");
        let talk: Vec<f32> = v
            .chunks(SAMPLES_PER_FRAME)
            .filter(|c| rms_dbfs(c) > -40.0)
            .flatten()
            .copied()
            .collect();
        let level = rms_dbfs(&talk);
        assert!((-26.0..-14.0).contains(&level), "level {level}");
        assert!(v.iter().all(|s| s.abs() <= 1.0));
    }

    #[test]
    fn test_sound_is_audible_and_does_not_clip() {
        let s = test_sound();
        let peak = s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.3 && peak < 0.9, "peak {peak}");
    }
}
