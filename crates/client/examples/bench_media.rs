//! Benchmarks of the media transport: the server's forwarding unit and the call client over
//! loopback, with synthetic cameras and speech. Prints figures; asserts nothing.
//!
//! ```text
//! cargo build --release -p huddle-client --example bench_media
//! target/release/examples/bench_media join-latency [JOINS]
//! target/release/examples/bench_media glass [SECONDS]
//! target/release/examples/bench_media fanout [SUBSCRIBERS...]
//! target/release/examples/bench_media audio-room [SPEAKERS] [LISTENERS...]
//! ```
//!
//! - `join-latency`: one publisher (640×360 at 15 fps and speech); a fresh viewer joins, waits
//!   for the first decoded frame of the publisher and leaves, `JOINS` times.
//! - `glass`: publisher and viewer in this process. Video: the synthetic camera stamps each
//!   frame with its capture time on the process-wide media clock; the viewer reads it back
//!   from the decoded picture. Audio: speech frames are handed to the call with their time
//!   noted; the viewer's 10 ms frames, as its jitter buffer hands them out, are located in
//!   the speech by correlation, which gives the delay of each one-second window.
//! - `fanout`: one 1280×720 at 30 fps + Opus publisher and N viewers that do not decode video;
//!   loss is what each viewer received against what the server got from the publisher.
//! - `audio-room`: S speakers (speech only) and L listeners; loss on each leg.
//!
//! `join-latency` and `glass` run the server in this process. `fanout` and `audio-room` run it
//! in a child process (this program started again with `serve`) so its CPU time and memory
//! are read from `/proc` apart from the clients'. Many clients need a raised open-file limit:
//! run those under `ulimit -n 65536`.

// The speech matching of the media tests (loudness envelope, normalized correlation).
#[path = "../tests/call_support/mod.rs"]
mod call_support;
// The server in a child process.
mod bench_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bench_support::{
    cpu_seconds, init_tracing, load_average, serve, BenchResult, ServeOptions, ServerProcess,
    SfuCounts,
};
use call_support::{best_lag, envelope};
use futures_util::StreamExt as _;
use huddle_client::call::{
    self, AudioInput, Call, CallEvent, CallEvents, CallOptions, CallStats, MediaState, VideoInput,
};
use huddle_client::session::JoinOptions;
use huddle_media::camera::{CameraRegistry, CaptureFormat, SyntheticFault};
use huddle_media::{media_now, read_stamp, AudioFrame, FrameSource, SpeechSource};
use huddle_server::{Server, ServerConfig};
use tokio::sync::mpsc;

/// The camera of `join-latency` and `glass`.
const SMALL: CaptureFormat = CaptureFormat {
    width: 640,
    height: 360,
    fps: 15,
};
/// The camera of the fan-out publisher.
const HD: CaptureFormat = CaptureFormat {
    width: 1280,
    height: 720,
    fps: 30,
};
/// Longest wait for a media connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Clients joining at once while a room fills.
const JOIN_CONCURRENCY: usize = 8;
/// Samples in 10 ms at 48 kHz.
const BLOCK: usize = 480;
/// Loss above which a fan-out or audio room run counts as not held.
const LOSS_LIMIT_PCT: f64 = 0.5;

fn main() -> BenchResult {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(serve(ServeOptions::parse(
            args.get(1..).unwrap_or_default(),
        )?)),
        Some("join-latency") => {
            runtime.block_on(join_latency(numbers.first().copied().unwrap_or(50)))
        }
        Some("glass") => runtime.block_on(glass(numbers.first().copied().unwrap_or(20) as u64)),
        Some("fanout") => {
            let counts = if numbers.is_empty() {
                vec![5, 10, 20, 40]
            } else {
                numbers
            };
            runtime.block_on(fanout(&counts))
        }
        Some("audio-room") => {
            let speakers = numbers.first().copied().unwrap_or(10);
            let listeners = if numbers.len() > 1 {
                numbers[1..].to_vec()
            } else {
                vec![25, 50, 100, 200]
            };
            runtime.block_on(audio_room(speakers, &listeners))
        }
        _ => {
            eprintln!(
                "usage: bench_media join-latency [JOINS] | glass [SECONDS] | fanout [N...] \
                 | audio-room [SPEAKERS] [LISTENERS...]"
            );
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// Someone who only watches and listens.
fn viewer_options(url: &str, session: &str, name: &str) -> CallOptions {
    let mut join = JoinOptions::new(url, session, name);
    join.audio_muted = true;
    join.video_on = false;
    CallOptions::new(join)
}

/// Someone who publishes `audio`, and a synthetic camera at `format` when given.
fn publisher_options(
    url: &str,
    session: &str,
    name: &str,
    format: Option<CaptureFormat>,
    audio: AudioInput,
) -> CallOptions {
    let mut join = JoinOptions::new(url, session, name);
    join.video_on = format.is_some();
    join.audio_muted = matches!(audio, AudioInput::None);
    let mut options = CallOptions::new(join);
    options.audio = audio;
    if let Some(format) = format {
        let registry = CameraRegistry::synthetic_only();
        let camera = registry.add_synthetic(name, SyntheticFault::None);
        options.video = VideoInput::Camera {
            registry,
            id: Some(camera.info().id.clone()),
            format,
        };
    }
    options
}

/// Reads and discards a call's events so its queues never fill.
fn drain(mut events: CallEvents) {
    tokio::spawn(async move { while events.recv().await.is_some() {} });
}

/// Joins a call, drains its events and waits until its media is connected.
async fn join_connected(options: CallOptions) -> BenchResult<Call> {
    let (call, events) = call::join(options).await?;
    drain(events);
    call.wait_media(MediaState::Connected, CONNECT_TIMEOUT)
        .await?;
    Ok(call)
}

/// Joins `count` viewers named `prefix N`, a few at a time.
async fn join_viewers(
    url: &str,
    session: &str,
    prefix: &str,
    count: usize,
) -> BenchResult<Vec<Call>> {
    let results: Vec<BenchResult<Call>> = futures_util::stream::iter(0..count)
        .map(|i| {
            let mut options = viewer_options(url, session, &format!("{prefix} {i}"));
            // Nobody looks at the pictures: skip decoding to keep the clients' CPU for
            // receiving (reassembly still runs, so lost frames are still counted).
            options.decode_video = false;
            join_connected(options)
        })
        .buffer_unordered(JOIN_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn leave_all(calls: &[Call]) {
    for call in calls {
        if let Err(e) = call.leave().await {
            eprintln!("leave: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// join-latency

async fn join_latency(joins: usize) -> BenchResult {
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let publisher = join_connected(publisher_options(
        &url,
        "join",
        "Publisher",
        Some(SMALL),
        AudioInput::Synthetic { seed: 1 },
    ))
    .await?;
    let publisher_id = publisher.session().state().me;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("join-latency: {joins} joins, publisher 640x360@15 + speech, server in-process");
    let mut signaled = Vec::new();
    let mut connected = Vec::new();
    let mut first_frame = Vec::new();
    let mut after_connect = Vec::new();
    let mut unnamed = 0usize;
    let mut failed = 0usize;
    for i in 0..joins {
        let start = Instant::now();
        let (viewer, mut events) =
            call::join(viewer_options(&url, "join", &format!("Viewer {i}"))).await?;
        let joined = start.elapsed();
        let mut connected_at = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let first = loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(CallEvent::Media(MediaState::Connected))) => {
                    connected_at = Some(start.elapsed());
                }
                Ok(Some(CallEvent::Video(v))) => {
                    if v.participant != Some(publisher_id) {
                        // Only the publisher has video here; the slot map came late.
                        unnamed += 1;
                    }
                    break Some(v.decoded_at.duration_since(start));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break None,
            }
        };
        signaled.push(ms(joined));
        if let Some(c) = connected_at {
            connected.push(ms(c));
        }
        match first {
            Some(f) => {
                first_frame.push(ms(f));
                if let Some(c) = connected_at {
                    after_connect.push(ms(f.saturating_sub(c)));
                }
            }
            None => failed += 1,
        }
        viewer.leave().await?;
        drop(events);
        // The server asks a publisher for keyframes at most every 300 ms; keep joins apart so
        // each one measures a join, not that limit.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("{:<34} {:>8} {:>8} {:>8}", "", "p50 ms", "p95 ms", "max ms");
    for (what, values) in [
        ("join() returned (signaling)", &mut signaled),
        ("media connected (ICE + DTLS)", &mut connected),
        ("first decoded frame", &mut first_frame),
        ("  of which after media connected", &mut after_connect),
    ] {
        let s = Summary::of(values);
        println!(
            "{what:<34} {:>8.1} {:>8.1} {:>8.1}   (n={})",
            s.p50, s.p95, s.max, s.n
        );
    }
    println!(
        "no frame within 10 s: {failed}; first frame before the slot map named its sender: {unnamed}"
    );
    let stats = publisher.stats();
    println!(
        "publisher: {} keyframes sent, {} keyframe requests received",
        stats.keyframes_sent, stats.keyframe_requests
    );
    publisher.leave().await?;
    server.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// glass

/// Seed of the speech in `glass`.
const GLASS_SEED: u64 = 7;
/// Video frames and audio windows before this much time has passed are left out (connection
/// set-up, first keyframe, jitter buffer settling).
const WARM_UP: Duration = Duration::from_secs(3);

/// One decoded video frame in `glass`: capture → last packet in, capture → decoded (ms).
struct VideoSample {
    at: Instant,
    received_ms: f64,
    decoded_ms: f64,
}

/// One 10 ms audio frame as the viewer's jitter buffer handed it out.
struct AudioSample {
    at_ms: f64,
    samples: Vec<f32>,
    audio: bool,
}

#[derive(Default)]
struct GlassRecord {
    video: Vec<VideoSample>,
    audio: Vec<AudioSample>,
    unstamped: usize,
}

async fn glass(seconds: u64) -> BenchResult {
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let (frames_tx, frames_rx) = mpsc::channel::<AudioFrame>(64);
    let (publisher, events) = call::join(publisher_options(
        &url,
        "glass",
        "Publisher",
        Some(SMALL),
        AudioInput::Frames(frames_rx),
    ))
    .await?;
    drain(events);
    let publisher_id = publisher.session().state().me;

    // Speech frames handed to the call every 10 ms, as the app's microphone pipeline does;
    // the media-clock time of each hand-over is noted.
    let handed: Arc<Mutex<Vec<f64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let handed = Arc::clone(&handed);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut speech = SpeechSource::new(GLASS_SEED);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let now = media_now();
                let frame = speech.next_frame(now);
                lock(&handed).push(now.as_secs_f64() * 1000.0);
                if frames_tx.send(frame).await.is_err() {
                    break;
                }
            }
        })
    };

    let mut options = viewer_options(&url, "glass", "Viewer");
    options.deliver_audio = true;
    options.event_capacity = 4096;
    let (viewer, mut events) = call::join(options).await?;
    let started = Instant::now();
    let record: Arc<Mutex<GlassRecord>> = Arc::default();
    let collector = {
        let record = Arc::clone(&record);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    CallEvent::Video(v) if v.participant == Some(publisher_id) => {
                        let Some(stamp) = read_stamp(&v.frame) else {
                            lock(&record).unstamped += 1;
                            continue;
                        };
                        let received_ms = ms_since_capture(v.received_at, stamp.capture_ms);
                        let decoded_ms = ms_since_capture(v.decoded_at, stamp.capture_ms);
                        lock(&record).video.push(VideoSample {
                            at: v.decoded_at,
                            received_ms,
                            decoded_ms,
                        });
                    }
                    CallEvent::Audio(a) if a.participant == Some(publisher_id) => {
                        lock(&record).audio.push(AudioSample {
                            at_ms: a.frame.timestamp.as_secs_f64() * 1000.0,
                            samples: a.frame.samples.to_vec(),
                            audio: a.source == FrameSource::Audio,
                        });
                    }
                    _ => {}
                }
            }
        })
    };
    viewer
        .wait_media(MediaState::Connected, CONNECT_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let viewer_stats = viewer.stats();
    let jitter = viewer.audio_stats();
    viewer.leave().await?;
    publisher.leave().await?;
    feeder.await?;
    collector.abort();
    server.shutdown().await;

    let record = std::mem::take(&mut *lock(&record));
    let handed = std::mem::take(&mut *lock(&handed));
    let warm = started + WARM_UP;
    let video: Vec<&VideoSample> = record.video.iter().filter(|v| v.at >= warm).collect();
    println!(
        "glass: {seconds} s, publisher 640x360@15 + speech, viewer in the same process, \
         server in-process; first {} s left out",
        WARM_UP.as_secs()
    );
    let mut decoded: Vec<f64> = video.iter().map(|v| v.decoded_ms).collect();
    let mut received: Vec<f64> = video.iter().map(|v| v.received_ms).collect();
    println!("{:<44} {:>8} {:>8} {:>8}", "", "p50 ms", "p95 ms", "max ms");
    for (what, values) in [
        ("video capture -> last packet in", &mut received),
        ("video capture -> decoded (glass to glass)", &mut decoded),
    ] {
        let s = Summary::of(values);
        println!(
            "{what:<44} {:>8.1} {:>8.1} {:>8.1}   (n={})",
            s.p50, s.p95, s.max, s.n
        );
    }
    println!(
        "video: {} frames without a readable stamp; viewer {viewer_stats:?}",
        record.unstamped
    );

    let warm_ms = media_now().as_secs_f64() * 1000.0 - started.elapsed().as_secs_f64() * 1000.0
        + WARM_UP.as_secs_f64() * 1000.0;
    let windows = audio_delays(&record.audio, &handed, warm_ms);
    let mut delays: Vec<f64> = windows.iter().map(|w| w.delay_ms).collect();
    let total_windows = record.audio.iter().filter(|a| a.at_ms >= warm_ms).count() / WINDOW_FRAMES;
    let s = Summary::of(&mut delays);
    println!(
        "{:<44} {:>8.1} {:>8.1} {:>8.1}   (n={} of {} one-second windows)",
        "audio hand-over -> out of jitter buffer", s.p50, s.p95, s.max, s.n, total_windows
    );
    let mut corr: Vec<f64> = windows.iter().map(|w| w.correlation).collect();
    let c = Summary::of(&mut corr);
    println!(
        "audio: window correlation median {:.3}, lowest {:.3}; jitter buffer {jitter:?}",
        c.p50, c.min
    );
    Ok(())
}

/// Milliseconds from a frame's capture (media clock, ms modulo 2^32) to `at`.
fn ms_since_capture(at: Instant, capture_ms: u32) -> f64 {
    let now = Instant::now();
    let at_media = media_now().saturating_sub(now.saturating_duration_since(at));
    let whole = at_media.as_millis() as u64;
    // Stamps hold whole milliseconds modulo 2^32: subtract in that ring, keep the fraction.
    let elapsed = (whole as u32).wrapping_sub(capture_ms) as i32;
    f64::from(elapsed) + (at_media.as_secs_f64() * 1000.0 - whole as f64)
}

/// Frames in one audio window (1 s).
const WINDOW_FRAMES: usize = 100;
/// Longest delay searched for.
const MAX_DELAY_MS: f64 = 500.0;
/// Windows that correlate worse than this with the speech are not counted.
const MIN_CORRELATION: f64 = 0.8;

struct AudioWindow {
    delay_ms: f64,
    correlation: f64,
}

/// The delay of each one-second window of received audio: where in the speech its samples
/// are (loudness envelope to 10 ms, then the waveform to one sample), and when the speech
/// frame holding that sample was handed to the sender.
fn audio_delays(received: &[AudioSample], handed: &[f64], from_ms: f64) -> Vec<AudioWindow> {
    let reference = SpeechSource::new(GLASS_SEED).take_seconds(handed.len() as f32 / 100.0 + 1.0);
    let reference_env = envelope(&reference);
    let mut out = Vec::new();
    let first = received.partition_point(|a| a.at_ms < from_ms);
    let mut i = first;
    while i + WINDOW_FRAMES <= received.len() {
        let frames = &received[i..i + WINDOW_FRAMES];
        i += WINDOW_FRAMES;
        if !frames.iter().all(|f| f.audio) {
            continue;
        }
        let window: Vec<f32> = frames
            .iter()
            .flat_map(|f| f.samples.iter().copied())
            .collect();
        let at = frames[0].at_ms;
        // Frames handed over by `at`: the window cannot start later in the speech than that.
        let handed_by = handed.partition_point(|h| *h <= at);
        let latest_block = handed_by + 1;
        let earliest_block = latest_block.saturating_sub((MAX_DELAY_MS / 10.0) as usize);
        let env = envelope(&window);
        let hi = (latest_block + env.len()).min(reference_env.len());
        if hi <= earliest_block + env.len() {
            continue;
        }
        let (coarse, _) = best_lag(&env, &reference_env[earliest_block..hi]);
        let coarse_sample = (earliest_block + coarse) * BLOCK;
        let lo = coarse_sample.saturating_sub(2 * BLOCK);
        let hi = (coarse_sample + 2 * BLOCK + window.len()).min(reference.len());
        if hi <= lo + window.len() {
            continue;
        }
        let (fine, correlation) = best_lag(&window, &reference[lo..hi]);
        if f64::from(correlation) < MIN_CORRELATION {
            continue;
        }
        let sample = lo + fine;
        let Some(handed_at) = handed.get(sample / BLOCK) else {
            continue;
        };
        let sent_ms = handed_at + (sample % BLOCK) as f64 / 48.0;
        out.push(AudioWindow {
            delay_ms: at - sent_ms,
            correlation: f64::from(correlation),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// fanout and audio-room

/// Counters read at one moment.
struct Snapshot {
    at: Instant,
    sfu: SfuCounts,
    server_cpu: f64,
    own_cpu: f64,
    clients: Vec<CallStats>,
}

impl Snapshot {
    async fn take(server: &mut ServerProcess, clients: &[Call]) -> BenchResult<Snapshot> {
        // The server first: packets it counts are then received after their clients' count.
        let sfu = server.media().await?;
        let server_cpu = server.cpu_seconds();
        Ok(Snapshot {
            at: Instant::now(),
            sfu,
            server_cpu,
            own_cpu: cpu_seconds("self"),
            clients: clients.iter().map(Call::stats).collect(),
        })
    }
}

/// Figures of one measured interval.
struct Interval {
    seconds: f64,
    rtp_in_per_s: f64,
    rtp_out_per_s: f64,
    server_cores: f64,
    own_cores: f64,
    per_cpu_second: f64,
}

impl Interval {
    fn between(a: &Snapshot, b: &Snapshot) -> Interval {
        let seconds = b.at.duration_since(a.at).as_secs_f64();
        let out = (b.sfu.rtp_out - a.sfu.rtp_out) as f64;
        let cpu = b.server_cpu - a.server_cpu;
        Interval {
            seconds,
            rtp_in_per_s: (b.sfu.rtp_in - a.sfu.rtp_in) as f64 / seconds,
            rtp_out_per_s: out / seconds,
            server_cores: cpu / seconds,
            own_cores: (b.own_cpu - a.own_cpu) / seconds,
            per_cpu_second: if cpu > 0.0 { out / cpu } else { f64::NAN },
        }
    }

    /// Both processes together use most of the two cores.
    fn saturated(&self) -> bool {
        let cores = std::thread::available_parallelism().map_or(2.0, |n| n.get() as f64);
        self.server_cores + self.own_cores > 0.85 * cores
    }
}

/// How long counters run before the measurement starts (congestion control ramps up, every
/// subscriber has its first keyframe).
const SETTLE: Duration = Duration::from_secs(5);
/// The measured interval.
const MEASURE: Duration = Duration::from_secs(10);
/// After the publishers stop: time for everything in flight to arrive.
const DRAIN: Duration = Duration::from_secs(2);

async fn fanout(counts: &[usize]) -> BenchResult {
    println!(
        "fanout: one publisher 1280x720@30 + speech, N viewers not decoding; server in a \
         child process; {} s measured after {} s settling",
        MEASURE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "{:>4} {:>9} {:>8} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>7} {:>9} {:>6}",
        "N",
        "video kb/s",
        "in pkt/s",
        "out pkt/s",
        "loss mean",
        "loss worst",
        "pkt/cpu-s",
        "srv core",
        "cli core",
        "RSS MiB",
        "frames lost",
        "load"
    );
    for &n in counts {
        let mut server = ServerProcess::start(&ServeOptions::default()).await?;
        let url = server.url.clone();
        let publisher = join_connected(publisher_options(
            &url,
            "fanout",
            "Publisher",
            Some(HD),
            AudioInput::Synthetic { seed: 1 },
        ))
        .await?;
        let viewers = join_viewers(&url, "fanout", "Viewer", n).await?;
        tokio::time::sleep(SETTLE).await;
        let start = Snapshot::take(&mut server, &viewers).await?;
        let publisher_start = publisher.stats();
        tokio::time::sleep(MEASURE).await;
        let end = Snapshot::take(&mut server, &viewers).await?;
        let publisher_end = publisher.stats();
        let (rss, _) = server.memory();
        // Stop publishing and let what is in flight arrive, so the last counts are whole.
        publisher.set_video(false).await?;
        publisher.set_audio_muted(true).await?;
        tokio::time::sleep(DRAIN).await;
        let drained = Snapshot::take(&mut server, &viewers).await?;
        let interval = Interval::between(&start, &end);
        // What the server sent each viewer: every viewer gets every packet of the one
        // publisher. Counted up to the drained snapshot, so nothing is still on its way; the
        // packets the server stops forwarding once told the camera is off are in neither.
        let forwarded = (drained.sfu.rtp_out - start.sfu.rtp_out) as f64 / n as f64;
        let losses: Vec<f64> = start
            .clients
            .iter()
            .zip(&drained.clients)
            .map(|(a, b)| 100.0 * (1.0 - (b.rtp_received - a.rtp_received) as f64 / forwarded))
            .collect();
        // Whether the server forwarded all it received: both counters move in the same call,
        // so this is exact over the undisturbed interval.
        let unforwarded = 100.0
            * (1.0
                - (end.sfu.rtp_out - start.sfu.rtp_out) as f64
                    / (n as f64 * (end.sfu.rtp_in - start.sfu.rtp_in) as f64));
        let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        let worst = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let frames_lost: u64 = start
            .clients
            .iter()
            .zip(&drained.clients)
            .map(|(a, b)| b.video_frames_lost - a.video_frames_lost)
            .sum();
        println!(
            "{n:>4} {:>9.0} {:>8.0} {:>9.0} {:>8.2}% {:>8.2}% {:>10.0} {:>8.2} {:>8.2} {:>7.1} {:>9} {:>6}",
            publisher_end.video_bitrate_bps as f64 / 1000.0,
            interval.rtp_in_per_s,
            interval.rtp_out_per_s,
            mean,
            worst,
            interval.per_cpu_second,
            interval.server_cores,
            interval.own_cores,
            rss,
            frames_lost,
            load_average()
        );
        println!(
            "     publisher: {:.1} frames/s sent, {} keyframes, estimate {:.0} kbit/s; \
             server did not forward {unforwarded:.3}% of N x in; unrouted {}; {:.1} s measured",
            (publisher_end.video_frames_sent - publisher_start.video_frames_sent) as f64
                / interval.seconds,
            publisher_end.keyframes_sent - publisher_start.keyframes_sent,
            publisher_end.bandwidth_estimate_bps / 1000.0,
            drained.sfu.unrouted,
            interval.seconds
        );
        leave_all(&viewers).await;
        publisher.leave().await?;
        server.stop().await?;
        if worst > LOSS_LIMIT_PCT {
            println!("stopping: loss above {LOSS_LIMIT_PCT}% at N = {n}");
            break;
        }
        if interval.saturated() {
            println!("stopping: server and clients together use most of the machine at N = {n}");
            break;
        }
    }
    Ok(())
}

async fn audio_room(speakers: usize, listener_counts: &[usize]) -> BenchResult {
    println!(
        "audio-room: {speakers} speakers (speech, no video), L listeners; server in a child \
         process; {} s measured after {} s settling",
        MEASURE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "{:>5} {:>8} {:>9} {:>9} {:>10} {:>11} {:>10} {:>8} {:>8} {:>7} {:>6}",
        "L",
        "in pkt/s",
        "out pkt/s",
        "loss up",
        "loss down",
        "min/median",
        "pkt/cpu-s",
        "srv core",
        "cli core",
        "RSS MiB",
        "load"
    );
    for &listeners in listener_counts {
        let mut server = ServerProcess::start(&ServeOptions::default()).await?;
        let url = server.url.clone();
        let mut talking = Vec::new();
        for i in 0..speakers {
            talking.push(
                join_connected(publisher_options(
                    &url,
                    "room",
                    &format!("Speaker {i}"),
                    None,
                    AudioInput::Synthetic { seed: i as u64 + 1 },
                ))
                .await?,
            );
        }
        let audience = join_viewers(&url, "room", "Listener", listeners).await?;
        let everyone: Vec<Call> = talking.iter().chain(&audience).cloned().collect();
        tokio::time::sleep(SETTLE).await;
        let start = Snapshot::take(&mut server, &everyone).await?;
        tokio::time::sleep(MEASURE).await;
        let end = Snapshot::take(&mut server, &everyone).await?;
        let (rss, _) = server.memory();
        for speaker in &talking {
            speaker.set_audio_muted(true).await?;
        }
        tokio::time::sleep(DRAIN).await;
        let drained = Snapshot::take(&mut server, &everyone).await?;
        let interval = Interval::between(&start, &end);
        let delta = |f: fn(&CallStats) -> u64, range: std::ops::Range<usize>| -> u64 {
            range
                .map(|i| f(&drained.clients[i]) - f(&start.clients[i]))
                .sum()
        };
        let sent = delta(|s| s.audio_packets_sent, 0..speakers) as f64;
        let received = delta(|s| s.rtp_received, 0..everyone.len()) as f64;
        let rtp_in = (drained.sfu.rtp_in - start.sfu.rtp_in) as f64;
        let rtp_out = (drained.sfu.rtp_out - start.sfu.rtp_out) as f64;
        let loss_up = 100.0 * (1.0 - rtp_in / sent);
        let loss_down = 100.0 * (1.0 - received / rtp_out);
        // Every listener hears the same loudest speakers: one that got clearly less than the
        // others lost packets the totals may hide.
        let mut per_listener: Vec<f64> = (speakers..everyone.len())
            .map(|i| (drained.clients[i].rtp_received - start.clients[i].rtp_received) as f64)
            .collect();
        let spread = Summary::of(&mut per_listener);
        let ratio = if spread.p50 > 0.0 {
            spread.min / spread.p50
        } else {
            f64::NAN
        };
        println!(
            "{listeners:>5} {:>8.0} {:>9.0} {:>8.2}% {:>9.2}% {:>11.3} {:>10.0} {:>8.2} {:>8.2} {:>7.1} {:>6}",
            interval.rtp_in_per_s,
            interval.rtp_out_per_s,
            loss_up,
            loss_down,
            ratio,
            interval.per_cpu_second,
            interval.server_cores,
            interval.own_cores,
            rss,
            load_average()
        );
        leave_all(&everyone).await;
        server.stop().await?;
        if loss_up.max(loss_down) > LOSS_LIMIT_PCT || ratio < 1.0 - LOSS_LIMIT_PCT / 100.0 {
            println!("stopping: loss above {LOSS_LIMIT_PCT}% at L = {listeners}");
            break;
        }
        if interval.saturated() {
            println!(
                "stopping: server and clients together use most of the machine at L = {listeners}"
            );
            break;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Order statistics of a sample.
struct Summary {
    n: usize,
    min: f64,
    p50: f64,
    p95: f64,
    max: f64,
}

impl Summary {
    fn of(values: &mut [f64]) -> Summary {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if values.is_empty() {
                f64::NAN
            } else {
                values[((values.len() - 1) as f64 * q).round() as usize]
            }
        };
        Summary {
            n: values.len(),
            min: at(0.0),
            p50: at(0.5),
            p95: at(0.95),
            max: at(1.0),
        }
    }
}
