//! Speaker playout of a mix of several remote streams: three talkers played at once through
//! one speaker are each found in what the microphone path captures.

mod common;

use std::time::Duration;

use common::{collect, ensure_pulse, flatten, locate, ncc_at, wait_first, TestResult};
use huddle_media::{MicCapture, SpeakerPlayout, SpeechSource};

#[test]
fn three_streams_are_mixed_and_each_is_heard() -> TestResult {
    ensure_pulse()?;
    let (mic, _) = MicCapture::start(None)?;
    let (speaker, _) = SpeakerPlayout::start(None)?;
    let frames = mic.subscribe(1000)?;
    wait_first(&frames, Duration::from_secs(10))?;

    let talkers: Vec<Vec<f32>> = (31..34)
        .map(|seed| {
            let mut s = SpeechSource::new(seed);
            s.set_level_dbfs(-26.0);
            s.take_seconds(3.0)
        })
        .collect();
    let mut handles = Vec::new();
    for t in &talkers {
        let (_, mut h) = speaker.add_push_source(400)?;
        for chunk in t.chunks(480) {
            let f = huddle_media::AudioFrame::from_slice(chunk, Duration::ZERO)?;
            h.push(&f);
        }
        handles.push(h);
    }
    let captured = flatten(&collect(&frames, Duration::from_secs(4))?);
    // In a mix, one talker's envelope can match the mix at a wrong lag, so each talker is
    // not searched for on its own: the clearest match fixes where playback began, and every
    // talker (all queued within a few frames of each other) is correlated around that lag.
    let mut anchor = (0usize, f64::MIN);
    for t in &talkers {
        let found = locate(&captured, &t[24_000..120_000]).ok_or("capture too short")?;
        if found.1 > anchor.1 {
            anchor = found;
        }
    }
    const AROUND: usize = 4_800; // ±100 ms
    let mut peaks = Vec::new();
    for t in &talkers {
        let needle = &t[24_000..72_000];
        let lo = anchor.0.saturating_sub(AROUND);
        let hi = (anchor.0 + AROUND).min(captured.len().saturating_sub(needle.len()));
        let peak = (lo..=hi)
            .step_by(2)
            .map(|lag| ncc_at(&captured, needle, lag))
            .fold(f64::MIN, f64::max);
        peaks.push(peak);
    }
    println!(
        "mix of 3 talkers: correlation of each with the capture {:?}, dropped pushes {:?}",
        peaks
            .iter()
            .map(|p| (p * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>(),
        handles.iter().map(|h| h.dropped()).collect::<Vec<_>>()
    );
    // Each talker carries a share of the mix (about a third): correlation near 0.5, while
    // an absent one correlates near zero (0.02-0.05 seen). Playback underruns on a loaded
    // machine insert gaps that lower every talker alike (0.29-0.41 seen), hence 0.2.
    assert!(
        peaks.iter().all(|p| *p > 0.2),
        "a talker is missing from the mix: {peaks:?}"
    );
    assert!(handles.iter().all(|h| h.dropped() == 0));
    Ok(())
}
