//! Volumes on real audio I/O (PulseAudio's null sink through ALSA, see
//! tests/env/start-pulse.sh): Ann plays the call on the sink while Bob and Carol each send a
//! steady tone of their own pitch, so the sink's monitor shows each member's level apart.
//! Ann turning Bob down (or off, or up) changes Bob's level on the sink and leaves Carol's;
//! Carol's input volume and noise gate change what she sends, heard on Ann's sink likewise.

mod call_support;
#[path = "../../media/tests/common/pulse.rs"]
mod pulse;

use std::f32::consts::PI;
use std::time::Duration;

use call_support::{all_connected, eventually, join, options, Client, TestResult};
use huddle_client::call::{AudioDevices, AudioInput, CallOptions, VideoInput};
use huddle_media::{media_now, AudioFrame, MicCapture, SAMPLES_PER_FRAME, SAMPLE_RATE};
use huddle_proto::ParticipantId;
use huddle_server::{Server, ServerConfig};
use tokio::sync::mpsc;

const BOB_HZ: f32 = 500.0;
const CAROL_HZ: f32 = 1250.0;
/// Each tone's peak: -20 dBFS.
const TONE: f32 = 0.1;

/// A member sending a steady tone at `hz`, paced in real time, and hearing nothing.
fn tone_member(url: &str, name: &str, hz: f32) -> CallOptions {
    let (tx, rx) = mpsc::channel(20);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut n = 0u64;
        loop {
            tick.tick().await;
            let mut frame = AudioFrame::silence(media_now());
            for s in frame.samples.iter_mut() {
                let t = n as f32 / SAMPLE_RATE as f32;
                *s = TONE * (2.0 * PI * hz * (t % 1.0)).sin();
                n += 1;
            }
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let mut o = options(url, "volumes", name, 0);
    o.audio = AudioInput::Frames(rx);
    o.video = VideoInput::None;
    o.join.video_on = false;
    o.deliver_audio = false;
    o
}

/// What the null sink plays (its monitor is the default microphone) during `seconds`.
async fn record_sink(seconds: f32) -> TestResult<Vec<f32>> {
    let samples = tokio::task::spawn_blocking(move || -> Result<Vec<f32>, String> {
        let (mic, _) = MicCapture::start(None).map_err(|e| e.to_string())?;
        let frames = mic.subscribe(1000).map_err(|e| e.to_string())?;
        let until = std::time::Instant::now() + Duration::from_secs_f32(seconds);
        let mut out = Vec::new();
        while std::time::Instant::now() < until {
            if let Ok(frame) = frames.recv_timeout(Duration::from_millis(100)) {
                out.extend_from_slice(&frame.samples);
            }
        }
        Ok(out)
    })
    .await??;
    // The first half second holds the device's start and what was queued before the change.
    Ok(samples
        .get(SAMPLE_RATE as usize / 2..)
        .unwrap_or_default()
        .to_vec())
}

const BLOCK: usize = SAMPLES_PER_FRAME * 10;

/// The level of the `hz` component of a 100 ms block, in dBFS of a sine's peak (Goertzel).
fn tone_dbfs(block: &[f32], hz: f32) -> f32 {
    let w = 2.0 * PI * hz / SAMPLE_RATE as f32;
    let (mut re, mut im) = (0.0f32, 0.0f32);
    for (i, s) in block.iter().enumerate() {
        re += s * (w * i as f32).cos();
        im += s * (w * i as f32).sin();
    }
    let amplitude = 2.0 * (re * re + im * im).sqrt() / block.len().max(1) as f32;
    20.0 * amplitude.max(1e-6).log10()
}

fn median(mut levels: Vec<f32>) -> f32 {
    levels.sort_by(f32::total_cmp);
    levels.get(levels.len() / 2).copied().unwrap_or(-120.0)
}

/// A block with no stretch of 2.5 ms near silence: someone always plays, so such a stretch is
/// a playout underrun of a loaded machine, which would spoil the block's measure.
fn clean(block: &[f32]) -> bool {
    block
        .chunks_exact(120)
        .all(|w| w.iter().map(|s| s * s).sum::<f32>() / 120.0 > 1e-6)
}

/// Bob's and Carol's levels on Ann's sink now: the median over the clean 100 ms blocks of a
/// recording (tried again, four times at most, while fewer than 8 blocks are clean).
async fn levels(what: &str) -> TestResult<(f32, f32)> {
    // What was on its way before a change (the gate's hold and fade, the jitter buffer, the
    // playout lead) plays out first.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut best: Option<(usize, f32, f32)> = None;
    for _ in 0..4 {
        let played = record_sink(2.5).await?;
        let blocks: Vec<&[f32]> = played.chunks_exact(BLOCK).filter(|b| clean(b)).collect();
        let bob = median(blocks.iter().map(|b| tone_dbfs(b, BOB_HZ)).collect());
        let carol = median(blocks.iter().map(|b| tone_dbfs(b, CAROL_HZ)).collect());
        eprintln!(
            "{what}: Bob {bob:.1} dBFS, Carol {carol:.1} dBFS on the sink \
             ({} clean blocks of 100 ms in {} ms)",
            blocks.len(),
            played.len() / 48
        );
        if best.is_none_or(|(n, _, _)| blocks.len() > n) {
            best = Some((blocks.len(), bob, carol));
        }
        if blocks.len() >= 8 {
            break;
        }
    }
    let (_, bob, carol) = best.ok_or("nothing recorded")?;
    Ok((bob, carol))
}

fn near(level: f32, want: f32, within: f32) -> bool {
    (level - want).abs() <= within
}

fn id(client: &Client) -> ParticipantId {
    ParticipantId(client.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_s_volume_changes_only_their_level_on_the_speaker() -> TestResult {
    pulse::ensure_pulse()?;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let bob = join(tone_member(&url, "Bob", BOB_HZ)).await?;
    let carol = join(tone_member(&url, "Carol", CAROL_HZ)).await?;
    let mut ann_options = options(&url, "volumes", "Ann", 0);
    // Ann's microphone (the sink's monitor) would send the tones back; only her speaker counts.
    ann_options.join.audio_muted = true;
    ann_options.audio = AudioInput::Devices(AudioDevices::default());
    ann_options.video = VideoInput::None;
    ann_options.deliver_audio = false;
    ann_options.join.video_on = false;
    let ann = join(ann_options).await?;
    all_connected(&[&ann, &bob, &carol]).await?;
    eventually("Ann's speaker opens", Duration::from_secs(15), || {
        ann.call.audio_devices().is_some_and(|d| d.speaker_open)
    })
    .await?;

    // Both tones come out of Ann's speaker, each near the level it was sent at.
    let mut before = (-120.0, -120.0);
    for _ in 0..5 {
        before = levels("both at 100 %").await?;
        if before.0 > -30.0 && before.1 > -30.0 {
            break;
        }
    }
    let (bob_full, carol_full) = before;
    assert!(bob_full > -30.0 && carol_full > -30.0, "{before:?}");

    // Bob at 25 %: 12 dB down; Carol as she was.
    ann.call.set_member_volume(id(&bob), 0.25);
    assert_eq!(ann.call.member_volume(id(&bob)), 0.25);
    let (b, c) = levels("Bob at 25 %").await?;
    assert!(near(b, bob_full - 12.0, 2.5), "Bob at 25 %: {b:.1} dBFS");
    assert!(near(c, carol_full, 1.5), "Carol moved: {c:.1} dBFS");

    // Bob at 0 %: gone; Carol unchanged.
    ann.call.set_member_volume(id(&bob), 0.0);
    let (b, c) = levels("Bob at 0 %").await?;
    assert!(b < bob_full - 40.0, "Bob at 0 %: {b:.1} dBFS");
    assert!(near(c, carol_full, 1.5), "Carol moved: {c:.1} dBFS");

    // Bob at 200 %: 6 dB up (the tone is far from clipping).
    ann.call.set_member_volume(id(&bob), 2.0);
    let (b, c) = levels("Bob at 200 %").await?;
    assert!(near(b, bob_full + 6.0, 2.0), "Bob at 200 %: {b:.1} dBFS");
    assert!(near(c, carol_full, 1.5), "Carol moved: {c:.1} dBFS");
    ann.call.set_member_volume(id(&bob), 1.0);

    // Carol's input volume at 50 %: what she sends is 6 dB down, for everyone.
    carol.call.set_input_volume(0.5);
    let (b, c) = levels("Carol's input at 50 %").await?;
    assert!(
        near(c, carol_full - 6.0, 2.0),
        "Carol's input at 50 %: {c:.1} dBFS"
    );
    assert!(near(b, bob_full, 1.5), "Bob moved: {b:.1} dBFS");

    // Carol's gate above her tone (now -26 dBFS): she sends silence. Below it: heard again.
    carol.call.set_input_gate(Some(-20.0));
    let (_, c) = levels("Carol gated at -20 dBFS").await?;
    let level = carol.call.input_level();
    eprintln!("Carol's input level: {level:?}");
    assert!(!level.gate_open, "{level:?}");
    assert!(c < carol_full - 30.0, "Carol gated: {c:.1} dBFS");
    carol.call.set_input_gate(Some(-40.0));
    let (_, c) = levels("Carol's gate at -40 dBFS").await?;
    assert!(
        near(c, carol_full - 6.0, 2.0),
        "Carol's gate open: {c:.1} dBFS"
    );
    assert!(carol.call.input_level().gate_open);

    ann.call.leave().await?;
    bob.call.leave().await?;
    carol.call.leave().await?;
    server.shutdown().await;
    Ok(())
}
