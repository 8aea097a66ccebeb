//! Outgoing media: Opus audio in 20 ms packets with the audio-level extension, and camera
//! video and a shared screen, each encoded to H.264 at its share of the congestion
//! controller's rate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use huddle_media::camera::Camera;
use huddle_media::{
    media_now, AudioFrame, ContentMode, EncodedVideo, H264Encoder, H264Settings, InputShaper,
    LevelMeter, MediaError, OpusEncoder, OpusSettings, SpeechSource,
};
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp::codec::h264::H264Payloader;
use huddle_rtp::rtc::rtp::packetizer::Payloader;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

use super::{AudioInput, Feed, LocalVideo, ScreenInput, Shared, VideoInput};

/// Largest RTP payload (leaves room for SRTP, extensions, TURN and IPv6 headers).
pub(crate) const RTP_MTU: usize = 1150;
/// Audio bit rate set aside from the bandwidth estimate before video gets the rest.
const AUDIO_RESERVE_BPS: f64 = 48_000.0;
/// Video bit rate bounds.
const MIN_VIDEO_BPS: f64 = 120_000.0;
const MAX_VIDEO_BPS: f64 = 2_500_000.0;
/// Screen bit rate bounds, and the part of the estimate a screen gets beside a camera: text
/// needs bits more than a face needs frames.
const MIN_SCREEN_BPS: f64 = 150_000.0;
const MAX_SCREEN_BPS: f64 = 2_500_000.0;
const SCREEN_SHARE_OF_ESTIMATE: f64 = 0.7;
/// Rate changes smaller than this fraction are not passed to the encoder.
const RATE_HYSTERESIS: f64 = 0.1;
/// A voice louder than this (dBFS RMS) counts as talking.
const VOICE_DBFS: f32 = -45.0;
/// Talking ends after this much quiet (so pauses between words do not flicker).
const TALKING_HANGOVER: u32 = 40; // packets of 20 ms: 800 ms

/// The local tracks of the current connection.
#[derive(Default)]
pub(crate) struct Tracks {
    pub audio: Option<Arc<TrackLocalStaticRTP>>,
    pub video: Option<Arc<TrackLocalStaticRTP>>,
    pub screen: Option<Arc<TrackLocalStaticRTP>>,
    pub audio_ssrc: u32,
    pub video_ssrc: u32,
    pub screen_ssrc: u32,
    pub audio_level_id: Option<u8>,
}

/// Which outgoing video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedKind {
    Camera,
    Screen,
}

impl FeedKind {
    pub(crate) fn feed(self, shared: &Shared) -> &Feed {
        match self {
            FeedKind::Camera => &shared.camera,
            FeedKind::Screen => &shared.screen,
        }
    }

    fn track(self, tracks: &Tracks) -> (Option<Arc<TrackLocalStaticRTP>>, u32) {
        match self {
            FeedKind::Camera => (tracks.video.clone(), tracks.video_ssrc),
            FeedKind::Screen => (tracks.screen.clone(), tracks.screen_ssrc),
        }
    }

    fn name(self) -> &'static str {
        match self {
            FeedKind::Camera => "camera",
            FeedKind::Screen => "screen",
        }
    }
}

/// Opens a video source by id.
type Opener = Box<dyn Fn(Option<&str>) -> Result<Box<dyn Camera>, MediaError> + Send>;

/// Starts sending audio from `input`.
pub(crate) fn start_audio(input: AudioInput, shared: Arc<Shared>) {
    match input {
        AudioInput::None => {}
        AudioInput::Synthetic { seed } => {
            let tasks = shared.tasks.clone();
            tasks.spawn(async move {
                let mut speech = SpeechSource::new(seed);
                let Some(mut sender) = AudioSender::new() else {
                    return;
                };
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                while !shared.closed.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let frame = speech.next_frame(media_now());
                    sender.push(&frame, &shared).await;
                }
            });
        }
        AudioInput::Devices(choice) => {
            let (frames_tx, frames) = mpsc::channel(super::audio::MIC_QUEUE);
            super::audio::start_devices(choice, frames_tx, Arc::clone(&shared));
            start_audio(AudioInput::Frames(frames), shared);
        }
        AudioInput::Frames(mut frames) => {
            let tasks = shared.tasks.clone();
            tasks.spawn(async move {
                let Some(mut sender) = AudioSender::new() else {
                    return;
                };
                // The frames' sender (the app's microphone) may outlive the call.
                while let Some(frame) = tokio::select! {
                    () = shared.stop.cancelled() => None,
                    frame = frames.recv() => frame,
                } {
                    if shared.closed.load(Ordering::Relaxed) {
                        break;
                    }
                    sender.push(&frame, &shared).await;
                }
            });
        }
    }
}

struct AudioSender {
    encoder: OpusEncoder,
    seq: u16,
    /// RTP timestamp of the next 10 ms frame.
    next_ts: u32,
    /// Timestamp of the packet being filled.
    packet_ts: Option<u32>,
    /// Loudest frame in the packet being filled.
    packet_dbfs: f32,
    /// Nothing was sent for a while: set the marker bit on the next packet.
    resumed: bool,
    /// Packets since the last voiced one.
    quiet: u32,
    /// The input volume and noise gate.
    shaper: InputShaper,
    /// The level after the volume, before the gate (what the threshold is compared with).
    meter: LevelMeter,
}

impl AudioSender {
    fn new() -> Option<Self> {
        match OpusEncoder::new(OpusSettings::default()) {
            Ok(encoder) => Some(Self {
                encoder,
                seq: random_u16(),
                next_ts: 0,
                packet_ts: None,
                packet_dbfs: f32::NEG_INFINITY,
                resumed: true,
                quiet: TALKING_HANGOVER,
                shaper: InputShaper::new(),
                meter: LevelMeter::default(),
            }),
            Err(e) => {
                tracing::warn!("audio encoder: {e}");
                None
            }
        }
    }

    async fn push(&mut self, frame: &AudioFrame, shared: &Shared) {
        // Shaped and metered while muted too, so a meter shows the level before one speaks.
        let mut frame = frame.clone();
        let shaped = self.shaper.shape(&shared.input, &mut frame);
        shared
            .input_level
            .set(self.meter.update_dbfs(shaped.peak_dbfs), shaped.open);
        let frame = &frame;
        let samples = u32::try_from(frame.samples.len()).unwrap_or(480);
        let ts = self.next_ts;
        self.next_ts = self.next_ts.wrapping_add(samples);
        if shared.audio_muted.load(Ordering::Relaxed) {
            self.packet_ts = None;
            self.resumed = true;
            self.quiet = TALKING_HANGOVER;
            shared
                .talking
                .send_if_modified(|t| std::mem::replace(t, false));
            return;
        }
        let packet_ts = *self.packet_ts.get_or_insert(ts);
        self.packet_dbfs = self.packet_dbfs.max(frame.rms_dbfs());
        let encoded = match self.encoder.push(frame) {
            Ok(Some(encoded)) => encoded,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("audio encode: {e}");
                self.packet_ts = None;
                return;
            }
        };
        self.packet_ts = None;
        let dbfs = std::mem::replace(&mut self.packet_dbfs, f32::NEG_INFINITY);
        let voice = !encoded.dtx && dbfs > VOICE_DBFS;
        self.quiet = if voice {
            0
        } else {
            self.quiet.saturating_add(1)
        };
        let talking = self.quiet < TALKING_HANGOVER;
        shared
            .talking
            .send_if_modified(|t| std::mem::replace(t, talking) != talking);
        let (track, ssrc, level_id) = {
            let tracks = shared.tracks.lock().unwrap_or_else(PoisonError::into_inner);
            (
                tracks.audio.clone(),
                tracks.audio_ssrc,
                tracks.audio_level_id,
            )
        };
        let Some(track) = track else {
            self.resumed = true;
            return;
        };
        let mut packet = rtp::Packet::default();
        packet.header.version = 2;
        packet.header.payload_type = huddle_rtp::OPUS_PT;
        packet.header.sequence_number = self.seq;
        packet.header.timestamp = packet_ts;
        packet.header.ssrc = ssrc;
        packet.header.marker = std::mem::take(&mut self.resumed);
        if let Some(id) = level_id {
            let byte = huddle_rtp::audio_level_byte(voice, dbfs);
            let _ = packet
                .header
                .set_extension(id, Bytes::copy_from_slice(&[byte]));
        }
        packet.payload = Bytes::from(encoded.data);
        self.seq = self.seq.wrapping_add(1);
        match track.write_rtp(packet).await {
            Ok(()) => {
                shared
                    .counters
                    .audio_packets_sent
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::trace!("audio send: {e}"),
        }
    }
}

/// Starts capturing and sending video from `input`.
pub(crate) fn start_video(input: VideoInput, shared: Arc<Shared>) {
    let VideoInput::Camera {
        registry,
        id,
        format,
    } = input
    else {
        return;
    };
    let open: Opener = Box::new(move |id| registry.open(id, format));
    start_feed(FeedKind::Camera, open, id, format.fps, shared);
}

/// Starts the screen-share capture thread (at the first share; it idles between shares).
pub(crate) fn start_screen(input: ScreenInput, shared: Arc<Shared>) {
    let ScreenInput { open, limit } = input;
    let open: Opener = Box::new(move |id| open(id, limit));
    start_feed(FeedKind::Screen, open, None, limit.fps, shared);
}

fn start_feed(kind: FeedKind, open: Opener, id: Option<String>, fps: u32, shared: Arc<Shared>) {
    let (tx, rx) = mpsc::channel::<EncodedVideo>(4);
    let capture_shared = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name(format!("huddle-{}-send", kind.name()))
        .spawn(move || capture_loop(kind, &open, id, fps, &tx, &capture_shared));
    match spawned {
        Ok(handle) => shared.keep_thread(handle),
        Err(e) => {
            tracing::warn!("{} capture thread: {e}", kind.name());
            return;
        }
    }
    let tasks = shared.tasks.clone();
    tasks.spawn(packetize_loop(kind, rx, shared));
}

/// The encoder rates of the camera and the screen for a bandwidth estimate.
fn video_rates(estimate_bps: f64, sharing: bool) -> (u32, u32) {
    let available = if estimate_bps.is_finite() {
        (estimate_bps - AUDIO_RESERVE_BPS).max(0.0)
    } else {
        0.0
    };
    if !sharing {
        return (available.clamp(MIN_VIDEO_BPS, MAX_VIDEO_BPS) as u32, 0);
    }
    let screen = (available * SCREEN_SHARE_OF_ESTIMATE).clamp(MIN_SCREEN_BPS, MAX_SCREEN_BPS);
    let camera = (available - screen).clamp(MIN_VIDEO_BPS, MAX_VIDEO_BPS);
    (camera as u32, screen as u32)
}

/// Publishes a change of a feed's local state (frames go out directly, every one).
fn show(feed: &Feed, state: LocalVideo) {
    feed.local.send_if_modified(|now| {
        let changed = match (&*now, &state) {
            (LocalVideo::Off, LocalVideo::Off) | (LocalVideo::Starting, LocalVideo::Starting) => {
                false
            }
            (LocalVideo::Failed(a), LocalVideo::Failed(b)) => a != b,
            _ => true,
        };
        if changed {
            *now = state;
        }
        changed
    });
}

fn capture_loop(
    kind: FeedKind,
    open: &Opener,
    mut id: Option<String>,
    fps: u32,
    tx: &mpsc::Sender<EncodedVideo>,
    shared: &Shared,
) {
    let feed = kind.feed(shared);
    let mut source: Option<Box<dyn Camera>> = None;
    let mut encoder: Option<H264Encoder> = None;
    let mut rate = 0u32;
    while !shared.closed.load(Ordering::Relaxed) && !tx.is_closed() {
        let switch = feed
            .switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(next) = switch {
            // Another source: open it next, and start the stream over with a keyframe (its
            // frames may have another size).
            id = next;
            source = None;
            encoder = None;
        }
        if !feed.on.load(Ordering::Relaxed) {
            // Off: release the device.
            source = None;
            encoder = None;
            show(feed, LocalVideo::Off);
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let src = match &mut source {
            Some(src) => src,
            None => {
                // While retrying a failed camera the failure stays shown.
                if !matches!(*feed.local.borrow(), LocalVideo::Failed(_)) {
                    show(feed, LocalVideo::Starting);
                }
                match open(id.as_deref()) {
                    Ok(src) => {
                        feed.keyframe_wanted.store(true, Ordering::Relaxed);
                        source.insert(src)
                    }
                    Err(e) => {
                        tracing::warn!("{}: {e}", kind.name());
                        stopped(kind, feed, e);
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
        };
        let frame = match src.next_frame() {
            Ok(frame) => Arc::new(frame),
            Err(e) => {
                tracing::warn!("{} stopped: {e}", kind.name());
                stopped(kind, feed, e);
                source = None;
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        if feed.local.receiver_count() > 0 {
            feed.local
                .send_replace(LocalVideo::Live(Arc::clone(&frame)));
        }
        let estimate = shared
            .target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(
                huddle_rtp::INITIAL_BITRATE,
                huddle_rtp::BandwidthTarget::bits_per_second,
            );
        let (camera_bps, screen_bps) =
            video_rates(estimate, shared.screen.on.load(Ordering::Relaxed));
        let want = match kind {
            FeedKind::Camera => camera_bps,
            FeedKind::Screen => screen_bps,
        };
        let enc = match &mut encoder {
            Some(enc) => enc,
            None => {
                let settings = H264Settings {
                    bitrate_bps: want,
                    fps: fps as f32,
                    allow_frame_skip: true,
                    mode: match kind {
                        FeedKind::Camera => ContentMode::Camera,
                        FeedKind::Screen => ContentMode::Screen,
                    },
                    ..H264Settings::default()
                };
                match H264Encoder::new(settings) {
                    Ok(enc) => {
                        rate = want;
                        encoder.insert(enc)
                    }
                    Err(e) => {
                        tracing::warn!("{} encoder: {e}", kind.name());
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
        };
        if (f64::from(want) - f64::from(rate)).abs() > f64::from(rate) * RATE_HYSTERESIS {
            if let Err(e) = enc.set_bitrate(want) {
                tracing::warn!("{} rate {want} bit/s not applied: {e}", kind.name());
            }
            // Either way: a refused rate is not retried on every frame.
            rate = want;
        }
        if kind == FeedKind::Camera {
            shared
                .counters
                .video_bitrate_bps
                .store(u64::from(rate), Ordering::Relaxed);
        }
        if feed.keyframe_wanted.swap(false, Ordering::Relaxed) {
            enc.request_keyframe();
        }
        match enc.encode(&frame) {
            Ok(encoded) if !encoded.data.is_empty() => {
                if tx.try_send(encoded).is_err() {
                    // The sender is behind: this frame is lost, so the next must stand alone.
                    feed.keyframe_wanted.store(true, Ordering::Relaxed);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("{} encode: {e}", kind.name()),
        }
    }
    show(feed, LocalVideo::Off);
}

/// A source failed: a camera keeps being retried with the failure shown; a screen share
/// ends (the call tells the session when it sees the failure).
fn stopped(kind: FeedKind, feed: &Feed, why: MediaError) {
    show(feed, LocalVideo::Failed(why));
    if kind == FeedKind::Screen {
        feed.on.store(false, Ordering::Relaxed);
    }
}

async fn packetize_loop(kind: FeedKind, mut rx: mpsc::Receiver<EncodedVideo>, shared: Arc<Shared>) {
    let mut payloader = H264Payloader::default();
    let mut seq = random_u16();
    while let Some(encoded) = rx.recv().await {
        let (track, ssrc) = {
            let tracks = shared.tracks.lock().unwrap_or_else(PoisonError::into_inner);
            kind.track(&tracks)
        };
        let Some(track) = track else {
            // No connection: whatever is sent first on the next one must be a keyframe.
            kind.feed(&shared)
                .keyframe_wanted
                .store(true, Ordering::Relaxed);
            continue;
        };
        let ts = (encoded.timestamp.as_micros() * u128::from(huddle_rtp::VIDEO_CLOCK) / 1_000_000)
            as u32;
        let payloads = match payloader.payload(RTP_MTU, &Bytes::from(encoded.data)) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!("packetize: {e}");
                continue;
            }
        };
        let count = payloads.len();
        let mut failed = false;
        for (i, payload) in payloads.into_iter().enumerate() {
            let mut packet = rtp::Packet::default();
            packet.header.version = 2;
            packet.header.payload_type = huddle_rtp::H264_PT;
            packet.header.sequence_number = seq;
            packet.header.timestamp = ts;
            packet.header.ssrc = ssrc;
            packet.header.marker = i + 1 == count;
            packet.payload = payload;
            seq = seq.wrapping_add(1);
            if let Err(e) = track.write_rtp(packet).await {
                tracing::trace!("video send: {e}");
                failed = true;
            }
        }
        if !failed && count > 0 {
            let sent = match kind {
                FeedKind::Camera => &shared.counters.video_frames_sent,
                FeedKind::Screen => &shared.counters.screen_frames_sent,
            };
            sent.fetch_add(1, Ordering::Relaxed);
            if encoded.keyframe {
                shared
                    .counters
                    .keyframes_sent
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

pub(crate) fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u16::from_be_bytes(b)
}

pub(crate) fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_be_bytes(b).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_gets_the_estimate_minus_audio_within_bounds() {
        assert_eq!(video_rates(1_000_000.0, false), (952_000, 0));
        assert_eq!(video_rates(50_000.0, false).0, MIN_VIDEO_BPS as u32);
        assert_eq!(video_rates(90_000_000.0, false).0, MAX_VIDEO_BPS as u32);
        assert_eq!(video_rates(f64::NAN, false).0, MIN_VIDEO_BPS as u32);
    }

    #[test]
    fn a_shared_screen_takes_most_of_the_estimate() {
        let (camera, screen) = video_rates(1_048_000.0, true);
        assert_eq!(screen, 700_000);
        assert_eq!(camera, 300_000);
        // A poor link: both at their floors rather than nothing.
        assert_eq!(
            video_rates(100_000.0, true),
            (MIN_VIDEO_BPS as u32, MIN_SCREEN_BPS as u32)
        );
        // A fast link: both capped.
        assert_eq!(
            video_rates(90_000_000.0, true),
            (MAX_VIDEO_BPS as u32, MAX_SCREEN_BPS as u32)
        );
        assert_eq!(video_rates(f64::INFINITY, true).1, MIN_SCREEN_BPS as u32);
    }
}
