//! Helpers shared by the integration tests: starting the PulseAudio test environment and
//! locating a known signal inside a recording.
#![allow(dead_code)]

mod pulse;

use std::time::{Duration, Instant};

use huddle_media::{AudioFrame, MediaError, Subscription};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

#[allow(unused_imports, reason = "not every test binary uses real audio")]
pub use pulse::ensure_pulse;

/// Collects frames from a subscription for `duration` (wall clock).
pub fn collect(
    sub: &Subscription<AudioFrame>,
    duration: Duration,
) -> Result<Vec<AudioFrame>, MediaError> {
    let end = Instant::now() + duration;
    let mut out = Vec::new();
    while Instant::now() < end {
        match sub.recv_timeout(Duration::from_millis(200)) {
            Ok(f) => out.push(f),
            Err(MediaError::Timeout(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Waits for the first frame (streams through PulseAudio take about 1.5 s to start).
pub fn wait_first(
    sub: &Subscription<AudioFrame>,
    timeout: Duration,
) -> Result<AudioFrame, MediaError> {
    sub.recv_timeout(timeout)
}

pub fn flatten(frames: &[AudioFrame]) -> Vec<f32> {
    frames.iter().flat_map(|f| f.samples).collect()
}

fn envelope(x: &[f32], block: usize) -> Vec<f32> {
    x.chunks(block)
        .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt())
        .collect()
}

/// Normalised cross-correlation of `needle` against `haystack` at one lag.
pub fn ncc_at(haystack: &[f32], needle: &[f32], lag: usize) -> f64 {
    if lag + needle.len() > haystack.len() {
        return 0.0;
    }
    let h = &haystack[lag..lag + needle.len()];
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in h.iter().zip(needle) {
        xy += f64::from(*a) * f64::from(*b);
        xx += f64::from(*a) * f64::from(*a);
        yy += f64::from(*b) * f64::from(*b);
    }
    if xx <= 0.0 || yy <= 0.0 {
        0.0
    } else {
        xy / (xx * yy).sqrt()
    }
}

/// Finds where `needle` sits in `haystack`: a coarse search on 1 ms energy envelopes, then
/// the exact lag by normalised cross-correlation around it. Returns (lag, peak).
pub fn locate(haystack: &[f32], needle: &[f32]) -> Option<(usize, f64)> {
    const BLOCK: usize = 48;
    if needle.len() > haystack.len() || needle.is_empty() {
        return None;
    }
    let eh = envelope(haystack, BLOCK);
    let en = envelope(needle, BLOCK);
    let mut best = (0usize, f64::MIN);
    for lag in 0..=eh.len().saturating_sub(en.len()) {
        let c = ncc_at(&eh, &en, lag);
        if c > best.1 {
            best = (lag, c);
        }
    }
    let centre = best.0 * BLOCK;
    let lo = centre.saturating_sub(4 * BLOCK);
    let hi = (centre + 4 * BLOCK).min(haystack.len() - needle.len());
    let mut fine = (lo, f64::MIN);
    for lag in lo..=hi {
        let c = ncc_at(haystack, needle, lag);
        if c > fine.1 {
            fine = (lag, c);
        }
    }
    Some(fine)
}

/// Energy in dB of a slice (sum of squares), for ratios.
pub fn energy(x: &[f32]) -> f64 {
    x.iter().map(|s| f64::from(*s) * f64::from(*s)).sum()
}
