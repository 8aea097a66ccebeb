//! Calls with synthetic media for tests: joining with a synthetic camera and speech, and a
//! collector that records what each client decodes, per participant.
#![allow(dead_code)] // Each test file uses a different part.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use huddle_client::call::{
    self, AudioInput, Call, CallEvent, CallEvents, CallOptions, MediaState, VideoInput,
};
use huddle_client::session::JoinOptions;
use huddle_media::camera::{CameraRegistry, CaptureFormat, SyntheticFault};
use huddle_media::{read_stamp, FrameSource, SpeechSource};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Camera used by test clients: small, so three clients fit on two busy cores.
pub const TEST_FORMAT: CaptureFormat = CaptureFormat {
    width: 320,
    height: 180,
    fps: 15,
};

/// One decoded frame.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub counter: Option<u32>,
    pub capture_ms: Option<u32>,
    pub at: Instant,
    pub width: u32,
    pub height: u32,
}

/// One slot assignment: when, audio slots, video slots.
pub type SlotsSeen = (Instant, Vec<Option<u64>>, Vec<Option<u64>>);

/// What one client received.
#[derive(Default)]
pub struct Received {
    pub video: HashMap<u64, Vec<Seen>>,
    /// Frames of shared screens per participant.
    pub screens: HashMap<u64, Vec<Seen>>,
    /// Share slot assignments as they came.
    pub share_slots: Vec<(Instant, Vec<Option<u64>>)>,
    /// Decoded audio per participant (only frames that were audio, not pre-start silence).
    pub audio: HashMap<u64, Vec<f32>>,
    /// Silent 10 ms frames per participant after its audio had started: gaps a listener hears.
    pub audio_gaps: HashMap<u64, u64>,
    /// Slot assignments as they came.
    pub slots: Vec<SlotsSeen>,
    pub media: Vec<(Instant, MediaState)>,
}

/// A client under test and what it has received so far.
pub struct Client {
    pub call: Call,
    pub received: Arc<Mutex<Received>>,
    pub id: u64,
}

impl Client {
    pub fn with<T>(&self, f: impl FnOnce(&mut Received) -> T) -> T {
        f(&mut self.received.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Frames decoded from `who` so far.
    pub fn frames_from(&self, who: u64) -> Vec<Seen> {
        self.with(|r| r.video.get(&who).cloned().unwrap_or_default())
    }

    /// Frames of `who`'s shared screen decoded so far.
    pub fn screen_frames_from(&self, who: u64) -> Vec<Seen> {
        self.with(|r| r.screens.get(&who).cloned().unwrap_or_default())
    }

    /// Clears what was recorded.
    pub fn reset(&self) {
        self.with(|r| {
            r.video.clear();
            r.audio.clear();
            r.audio_gaps.clear();
            r.screens.clear();
        });
    }
}

/// Join options for a client on `url`.
pub fn options(url: &str, session: &str, name: &str, seed: u64) -> CallOptions {
    let mut join = JoinOptions::new(url.to_owned(), session.to_owned(), name.to_owned());
    join.video_on = true;
    let mut options = CallOptions::new(join);
    options.audio = AudioInput::Synthetic { seed };
    let registry = CameraRegistry::synthetic_only();
    let camera = registry.add_synthetic(name, SyntheticFault::None);
    options.video = VideoInput::Camera {
        registry,
        id: Some(camera.info().id.clone()),
        format: TEST_FORMAT,
    };
    options.deliver_audio = true;
    options.event_capacity = 4096;
    options
}

/// Joins with synthetic camera and speech and starts recording what arrives.
pub async fn join(options: CallOptions) -> TestResult<Client> {
    let (call, events) = call::join(options).await?;
    let id = call.session().state().me.0;
    let received = Arc::new(Mutex::new(Received::default()));
    tokio::spawn(collect(events, Arc::clone(&received)));
    Ok(Client { call, received, id })
}

async fn collect(mut events: CallEvents, received: Arc<Mutex<Received>>) {
    while let Some(event) = events.recv().await {
        let mut r = received.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            CallEvent::Video(v) => {
                if let Some(who) = v.participant {
                    let stamp = read_stamp(&v.frame);
                    let seen = Seen {
                        counter: stamp.map(|s| s.counter),
                        capture_ms: stamp.map(|s| s.capture_ms),
                        at: v.decoded_at,
                        width: v.frame.width,
                        height: v.frame.height,
                    };
                    let frames = if v.screen {
                        &mut r.screens
                    } else {
                        &mut r.video
                    };
                    frames.entry(who.0).or_default().push(seen);
                }
            }
            CallEvent::Audio(a) => match (a.participant, a.source) {
                (Some(who), FrameSource::Audio) => {
                    r.audio
                        .entry(who.0)
                        .or_default()
                        .extend_from_slice(&a.frame.samples);
                }
                (Some(who), FrameSource::Silence) if r.audio.contains_key(&who.0) => {
                    *r.audio_gaps.entry(who.0).or_default() += 1;
                }
                _ => {}
            },
            CallEvent::Slots {
                audio,
                video,
                share,
            } => {
                let ids = |v: Vec<Option<huddle_proto::ParticipantId>>| {
                    v.into_iter().map(|p| p.map(|p| p.0)).collect::<Vec<_>>()
                };
                r.slots.push((Instant::now(), ids(audio), ids(video)));
                r.share_slots.push((Instant::now(), ids(share)));
            }
            CallEvent::Media(state) => r.media.push((Instant::now(), state)),
            CallEvent::Session(_) => {}
        }
    }
}

/// Waits until every client's media is connected.
pub async fn all_connected(clients: &[&Client]) -> TestResult {
    for c in clients {
        c.call
            .wait_media(MediaState::Connected, Duration::from_secs(20))
            .await?;
    }
    Ok(())
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub async fn eventually(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> TestResult<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("timed out after {timeout:?} waiting for {what}").into())
}

/// Loudness envelope: RMS of each 10 ms block.
pub fn envelope(samples: &[f32]) -> Vec<f32> {
    samples
        .chunks_exact(480)
        .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / 480.0).sqrt())
        .collect()
}

/// What a synthetic speaker says in its first minute, and its loudness envelope: made once
/// per speaker and compared against many windows.
pub struct SpeechReference {
    samples: Vec<f32>,
    envelope: Vec<f32>,
}

impl SpeechReference {
    /// The speaker with `seed`.
    pub fn new(seed: u64) -> Self {
        let samples = SpeechSource::new(seed).take_seconds(60.0);
        let envelope = envelope(&samples);
        Self { samples, envelope }
    }
}

/// The best [`speech_match`] of the last four seconds of `received`, one second at a time (a
/// stall of the machine running the test, or a pause in the speech, spoils one second, not the
/// verdict).
pub fn speech_match_recent(received: &[f32], reference: &SpeechReference) -> f32 {
    recent(received, |end| speech_match(end, reference))
}

/// Whether the speaker is heard at all in the last four seconds of `received`: the best
/// single 0.2 s piece, as [`speech_match`] places them. For audio that carries one talker
/// (nobody to tell apart), played through real devices, where a playout or capture underrun
/// on a loaded machine shifts the pieces after it: silence or noise scores near 0, the
/// talker well above 0.5. To tell talkers apart use [`speech_match_recent`].
pub fn speech_heard_recent(received: &[f32], reference: &SpeechReference) -> f32 {
    recent(received, |end| {
        piece_scores(end, reference).into_iter().fold(0.0, f32::max)
    })
}

fn recent(received: &[f32], score: impl Fn(&[f32]) -> f32) -> f32 {
    (0..4)
        .map(|k| received.len().saturating_sub(k * 48_000))
        .filter(|&end| end >= 48_000)
        .map(|end| score(&received[..end]))
        .fold(0.0, f32::max)
}

/// How well the end of `received` matches what the speaker said: the loudness envelope of
/// the last 1 s finds where in the speech it is (10 ms resolution), then each 0.2 s piece of
/// that second is correlated sample by sample within ±10 ms of its place, and the median of the
/// five pieces counts (a concealed packet or a pause spoils a piece, not the verdict; one piece
/// of another talker can match by chance when pitch and vowel line up, scoring up to 0.9, but
/// three seldom do). Opus-coded speech of the right speaker scores well above 0.5; another
/// speaker scores below 0.4.
pub fn speech_match(received: &[f32], reference: &SpeechReference) -> f32 {
    let mut pieces = piece_scores(received, reference);
    pieces.sort_by(|a, b| b.total_cmp(a));
    pieces.get(pieces.len() / 2).copied().unwrap_or(0.0)
}

/// The correlation of each 0.2 s piece of the last second of `received` (see [`speech_match`]).
fn piece_scores(received: &[f32], reference: &SpeechReference) -> Vec<f32> {
    const BLOCK: usize = 480;
    const COARSE_BLOCKS: usize = 100;
    const PIECE: usize = 9_600;
    const SEARCH: usize = 480;
    let env = envelope(received);
    if env.len() < COARSE_BLOCKS {
        return Vec::new();
    }
    let start_block = env.len() - COARSE_BLOCKS;
    let (lag, _) = best_lag(&env[start_block..], &reference.envelope);
    let window = &received[start_block * BLOCK..(start_block + COARSE_BLOCKS) * BLOCK];
    window
        .chunks_exact(PIECE)
        .enumerate()
        .map(|(i, piece)| {
            let expected = lag * BLOCK + i * PIECE;
            let lo = expected.saturating_sub(SEARCH);
            let hi = (expected + SEARCH + PIECE).min(reference.samples.len());
            if hi > lo + PIECE {
                best_lag(piece, &reference.samples[lo..hi]).1
            } else {
                0.0
            }
        })
        .collect()
}

/// Best normalized correlation of `window` against `reference` over every lag.
pub fn best_correlation(window: &[f32], reference: &[f32]) -> f32 {
    best_lag(window, reference).1
}

/// The lag of the best normalized correlation of `window` in `reference`, and its value.
pub fn best_lag(window: &[f32], reference: &[f32]) -> (usize, f32) {
    let n = window.len();
    if n == 0 || reference.len() < n {
        return (0, 0.0);
    }
    let mean_w = window.iter().sum::<f32>() / n as f32;
    let w: Vec<f32> = window.iter().map(|x| x - mean_w).collect();
    let norm_w = w.iter().map(|x| x * x).sum::<f32>().sqrt();
    let mut best = 0.0f32;
    let mut best_at = 0;
    for lag in 0..=reference.len() - n {
        let r = &reference[lag..lag + n];
        let mean_r = r.iter().sum::<f32>() / n as f32;
        let mut dot = 0.0;
        let mut norm_r = 0.0;
        for (a, b) in w.iter().zip(r) {
            let b = b - mean_r;
            dot += a * b;
            norm_r += b * b;
        }
        let denom = norm_w * norm_r.sqrt();
        if denom > 0.0 && dot / denom > best {
            best = dot / denom;
            best_at = lag;
        }
    }
    (best_at, best)
}

/// Longest time between two decoded frames.
pub fn longest_gap(frames: &[Seen]) -> Duration {
    frames
        .windows(2)
        .map(|w| w[1].at.saturating_duration_since(w[0].at))
        .max()
        .unwrap_or_default()
}

/// True when the counters only go forward.
pub fn in_order(frames: &[Seen]) -> bool {
    let counters: Vec<u32> = frames.iter().filter_map(|s| s.counter).collect();
    counters.windows(2).all(|w| w[1] > w[0])
}
