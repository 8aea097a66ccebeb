//! Pre-join screen: the speaker test sound played on a chosen speaker shows up on the
//! microphone's level-meter stream (through the null sink's monitor), and silence reads as
//! silence.

mod common;

use std::time::{Duration, Instant};

use common::{ensure_pulse, TestResult};
use huddle_media::{MicCapture, SpeakerPlayout};

#[test]
fn test_sound_moves_the_level_meter() -> TestResult {
    ensure_pulse()?;
    let (mic, _) = MicCapture::start(None)?;
    let (speaker, _) = SpeakerPlayout::start(None)?;
    let levels = mic.levels(500)?;
    levels.recv_timeout(Duration::from_secs(10))?;

    // A quiet second first.
    let mut quiet_peak = 0.0f32;
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        quiet_peak = quiet_peak.max(levels.recv_timeout(Duration::from_secs(2))?.meter);
    }

    speaker.play_test_sound()?;
    let (mut loud_peak, mut loudest_db, mut voice) = (0.0f32, -100.0f32, false);
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        let l = levels.recv_timeout(Duration::from_secs(2))?;
        loud_peak = loud_peak.max(l.meter);
        loudest_db = loudest_db.max(l.dbfs);
        voice |= l.voice;
    }
    println!(
        "level meter: quiet peak {quiet_peak:.2}, test sound peak {loud_peak:.2} \
         ({loudest_db:.1} dBFS RMS), activity detected {voice}"
    );
    assert!(quiet_peak < 0.1, "meter moved in silence ({quiet_peak:.2})");
    assert!(
        loud_peak > 0.7,
        "test sound barely moved the meter ({loud_peak:.2})"
    );
    assert!(voice, "the activity detector never fired");
    Ok(())
}
