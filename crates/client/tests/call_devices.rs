//! The call's own audio devices on real audio I/O (PulseAudio's null sink through ALSA, see
//! tests/env/start-pulse.sh): what others say comes out of the speaker, what the microphone
//! hears reaches the others, switching devices keeps both going, a device that cannot be
//! opened is a clear error that leaves the call's audio as it was, and leaving closes them.

mod call_support;
#[path = "../../media/tests/common/pulse.rs"]
mod pulse;

use std::time::Duration;

use call_support::{
    all_connected, eventually, join, options, speech_heard_recent, SpeechReference, TestResult,
};
use huddle_client::call::{AudioDevices, AudioInput, VideoInput};
use huddle_client::ClientError;
use huddle_media::synth::SpeechSource;
use huddle_media::{AudioFrame, MicCapture, SpeakerPlayout, Subscription};
use huddle_server::{Server, ServerConfig};

/// What the null sink plays (its monitor is the default microphone) during `seconds`.
async fn record_sink(seconds: u64) -> TestResult<Vec<f32>> {
    let samples = tokio::task::spawn_blocking(move || -> Result<Vec<f32>, String> {
        let (mic, _) = MicCapture::start(None).map_err(|e| e.to_string())?;
        let frames = mic
            .subscribe(200 * seconds as usize)
            .map_err(|e| e.to_string())?;
        Ok(drain(&frames, Duration::from_secs(seconds)))
    })
    .await??;
    Ok(samples)
}

/// Records the sink until `voice` is heard clearly in four seconds of it, three tries at most:
/// a device that plays it at all does within that, while a loaded machine may spoil a try
/// with playout underruns (each try's figures are printed).
async fn sink_plays(voice: &SpeechReference, what: &str) -> TestResult {
    let mut best = 0.0f32;
    for _ in 0..3 {
        let played = record_sink(4).await?;
        let heard = speech_heard_recent(&played, voice);
        eprintln!(
            "{what}: correlation {heard:.2}, {:.1} dBFS over {} ms",
            dbfs(&played),
            played.len() / 48
        );
        if heard > 0.6 {
            return Ok(());
        }
        best = best.max(heard);
    }
    Err(format!("{what}: not heard clearly (best correlation {best:.2})").into())
}

/// RMS level in dBFS.
fn dbfs(samples: &[f32]) -> f32 {
    let power = samples.iter().map(|x| x * x).sum::<f32>() / samples.len().max(1) as f32;
    10.0 * power.max(1e-18).log10()
}

fn drain(frames: &Subscription<AudioFrame>, how_long: Duration) -> Vec<f32> {
    let until = std::time::Instant::now() + how_long;
    let mut out = Vec::new();
    while std::time::Instant::now() < until {
        if let Ok(frame) = frames.recv_timeout(Duration::from_millis(100)) {
            out.extend_from_slice(&frame.samples);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_call_speaks_and_listens_through_this_computers_devices() -> TestResult {
    pulse::ensure_pulse()?;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    // Bob talks (generated speech) and records what he receives; Ann uses the devices.
    let bob = join(options(&url, "devices", "Bob", 44)).await?;
    let mut ann_options = options(&url, "devices", "Ann", 0);
    ann_options.audio = AudioInput::Devices(AudioDevices::default());
    ann_options.video = VideoInput::None;
    ann_options.deliver_audio = false;
    ann_options.join.video_on = false;
    let ann = join(ann_options).await?;
    all_connected(&[&ann, &bob]).await?;
    eventually("Ann's devices open", Duration::from_secs(15), || {
        ann.call
            .audio_devices()
            .is_some_and(|d| d.microphone_open && d.speaker_open)
    })
    .await?;

    // Bob's voice comes out of Ann's speaker.
    let bob_voice = SpeechReference::new(44);
    sink_plays(&bob_voice, "Ann's speaker plays Bob").await?;

    // Another speaker (the same sink by another name): Bob still comes out of it.
    ann.call
        .switch_audio(None, Some(Some("alsa:huddle_speaker".into())))
        .await?;
    sink_plays(&bob_voice, "after the switch, Ann's speaker plays Bob").await?;

    // A speaker that does not exist: a device error, and the one in use stays.
    let missing = ann
        .call
        .switch_audio(None, Some(Some("alsa:no-such-speaker".into())))
        .await;
    assert!(
        matches!(missing, Err(ClientError::Device(_))),
        "{missing:?}"
    );
    let state = ann.call.audio_devices().ok_or("Ann's devices went away")?;
    assert_eq!(state.choice.speaker.as_deref(), Some("alsa:huddle_speaker"));
    assert!(state.speaker_open && state.microphone_open, "{state:?}");

    // What Ann's microphone hears reaches Bob. Bob is muted so only the talker below plays.
    bob.call.set_audio_muted(true).await?;
    let talker = tokio::task::spawn_blocking(|| -> Result<SpeakerPlayout, String> {
        let (speaker, _) = SpeakerPlayout::start(None).map_err(|e| e.to_string())?;
        speaker
            .play_clip(SpeechSource::new(77).take_seconds(12.0))
            .map_err(|e| e.to_string())?;
        Ok(speaker)
    })
    .await??;
    bob.reset();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let from_ann = bob
        .with(|r| r.audio.get(&ann.id).cloned())
        .unwrap_or_default();
    let said = speech_heard_recent(&from_ann, &SpeechReference::new(77));
    eprintln!(
        "Bob hears what Ann's microphone picks up: correlation {said:.2} over {} ms, \
         {:.1} dBFS; Ann sent {} audio packets",
        from_ann.len() / 48,
        dbfs(&from_ann),
        ann.call.stats().audio_packets_sent
    );
    assert!(said > 0.5, "Bob does not hear Ann's microphone ({said:.2})");
    drop(talker);

    // Leaving closes the devices.
    ann.call.leave().await?;
    assert!(ann.call.audio_devices().is_none(), "devices still open");
    bob.call.leave().await?;
    server.shutdown().await;
    Ok(())
}
