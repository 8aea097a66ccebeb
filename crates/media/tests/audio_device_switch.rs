//! Switching microphone and speaker while running: the consumer's frame queue and the
//! playing sources carry on across the switch, on real devices (PulseAudio null sink and its
//! monitor, reached through the default ALSA device and through the named ALSA pcms
//! `huddle_mic` / `huddle_speaker` that tests/env/start-pulse.sh defines).

mod common;

use std::time::Duration;

use common::{collect, ensure_pulse, flatten, wait_first, TestResult};
use huddle_media::audio::AudioDeviceEvent;
use huddle_media::frame::rms_dbfs;
use huddle_media::{list_devices, DeviceKind, MicCapture, SpeakerPlayout, SpeechSource};

#[test]
fn devices_are_listed_with_a_default_first() -> TestResult {
    ensure_pulse()?;
    for kind in [DeviceKind::Microphone, DeviceKind::Speaker] {
        let list = list_devices(kind)?;
        println!(
            "{kind}s: {:?}",
            list.iter().map(|d| (&d.id, &d.label)).collect::<Vec<_>>()
        );
        let first = list.first().ok_or("no devices listed")?;
        assert!(
            first.is_default,
            "the default {kind} should be listed first"
        );
        assert!(list.iter().all(|d| !d.label.is_empty() && d.kind == kind));
        let mut ids: Vec<_> = list.iter().map(|d| &d.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), list.len(), "ids must be unique");
    }
    Ok(())
}

#[test]
fn switching_devices_keeps_the_streams_running() -> TestResult {
    ensure_pulse()?;
    let mics = list_devices(DeviceKind::Microphone)?;
    let speakers = list_devices(DeviceKind::Speaker)?;
    let other_mic = mics
        .iter()
        .find(|d| d.id.ends_with("huddle_mic"))
        .ok_or("the huddle_mic pcm is not listed")?
        .id
        .clone();
    let other_speaker = speakers
        .iter()
        .find(|d| d.id.ends_with("huddle_speaker"))
        .ok_or("the huddle_speaker pcm is not listed")?
        .id
        .clone();

    let (mic, first_mic) = MicCapture::start(None)?;
    let (speaker, first_speaker) = SpeakerPlayout::start(None)?;
    let frames = mic.subscribe(2000)?;
    let mic_events = mic.events(8)?;
    let speaker_events = speaker.events(8)?;
    wait_first(&frames, Duration::from_secs(10))?;
    speaker.add_source(Box::new(SpeechSource::new(4)))?;
    let before = collect(&frames, Duration::from_secs(2))?;

    let new_mic = mic.switch(Some(&other_mic))?;
    let new_speaker = speaker.switch(Some(&other_speaker))?;
    assert_eq!(new_mic.id, other_mic);
    assert_eq!(new_speaker.id, other_speaker);
    for events in [&mic_events, &speaker_events] {
        match events.recv_timeout(Duration::from_secs(2))? {
            AudioDeviceEvent::Opened(info) => {
                assert!(info.id == other_mic || info.id == other_speaker, "{info:?}")
            }
            other => return Err(format!("expected Opened, got {other:?}").into()),
        }
    }
    // Same queue, same source: speech keeps arriving after the switch.
    let after = collect(&frames, Duration::from_secs(4))?;
    let (lb, la) = (
        rms_dbfs(&flatten(&before)),
        rms_dbfs(&flatten(&after[100..])),
    );
    println!(
        "switched mic {} -> {}, speaker {} -> {}: level before {lb:.1} dBFS, after {la:.1} dBFS, \
         {} + {} frames, dropped {}",
        first_mic.id,
        new_mic.id,
        first_speaker.id,
        new_speaker.id,
        before.len(),
        after.len(),
        frames.dropped()
    );
    assert!(
        lb > -40.0,
        "speech not heard before the switch ({lb:.1} dBFS)"
    );
    assert!(
        la > -40.0,
        "speech not heard after the switch ({la:.1} dBFS)"
    );
    Ok(())
}
