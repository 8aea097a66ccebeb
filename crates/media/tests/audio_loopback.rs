//! Real device I/O: a known signal played through the speaker path (cpal -> ALSA -> the
//! PulseAudio null sink) is captured through the microphone path (the sink's monitor) and
//! found again by cross-correlation.

mod common;

use std::time::Duration;

use common::{collect, ensure_pulse, flatten, locate, wait_first, TestResult};
use huddle_media::synth::Rng;
use huddle_media::{MicCapture, SpeakerPlayout, SAMPLE_RATE};

/// Noise bursts of different lengths: broadband, so the correlation peak is sharp, and
/// uneven, so the envelope has exactly one best match.
fn probe() -> Vec<f32> {
    let mut rng = Rng::new(42);
    let mut v = vec![0.0f32; SAMPLE_RATE as usize];
    for (start_ms, len_ms) in [
        (0usize, 90usize),
        (150, 40),
        (260, 160),
        (500, 60),
        (700, 220),
    ] {
        for s in &mut v[start_ms * 48..(start_ms + len_ms) * 48] {
            *s = (rng.unit() - 0.5) * 0.5;
        }
    }
    v
}

#[test]
fn played_signal_is_captured_and_found_by_cross_correlation() -> TestResult {
    ensure_pulse()?;
    let (mic, mic_info) = MicCapture::start(None)?;
    let (speaker, speaker_info) = SpeakerPlayout::start(None)?;
    let frames = mic.subscribe(1000)?;
    let reference = speaker.reference(1000)?;
    wait_first(&frames, Duration::from_secs(10))?;

    let signal = probe();
    speaker.play_clip(signal.clone())?;
    let captured = collect(&frames, Duration::from_secs(3))?;
    let played = collect(&reference, Duration::from_millis(100))?;

    let recorded = flatten(&captured);
    let (lag, peak) = locate(&recorded, &signal).ok_or("recording shorter than the probe")?;
    let mixed = flatten(&played);
    let (ref_lag, ref_peak) = locate(&mixed, &signal).ok_or("reference lacks the probe")?;

    // Media-clock time of the probe's first sample on each side.
    let at = |frames: &[huddle_media::AudioFrame], lag: usize| {
        frames[lag / 480].timestamp + Duration::from_micros((lag % 480) as u64 * 1_000_000 / 48_000)
    };
    let delay = at(&captured, lag).saturating_sub(at(&played, ref_lag));
    println!(
        "loopback {} -> {}: correlation peak {peak:.3} (reference {ref_peak:.3}), \
         delay speaker->mic {:.1} ms, mic overruns {}, speaker underruns {}",
        speaker_info.id,
        mic_info.id,
        delay.as_secs_f64() * 1000.0,
        mic.stats().overruns,
        speaker.underruns(),
    );
    assert!(
        ref_peak > 0.99,
        "the reference should hold the probe verbatim ({ref_peak})"
    );
    assert!(peak > 0.9, "captured probe correlates only {peak:.3}");
    assert!(
        delay < Duration::from_secs(1),
        "implausible delay {delay:?}"
    );
    Ok(())
}
