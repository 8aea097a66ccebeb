//! Outgoing media: Opus audio in 20 ms packets with the audio-level extension, and camera
//! video encoded to H.264 at the congestion controller's rate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use huddle_media::camera::{Camera, CameraRegistry, CaptureFormat};
use huddle_media::{
    media_now, AudioFrame, EncodedVideo, H264Encoder, H264Settings, OpusEncoder, OpusSettings,
    SpeechSource,
};
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp::codec::h264::H264Payloader;
use huddle_rtp::rtc::rtp::packetizer::Payloader;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

use super::{AudioInput, LocalVideo, Shared, VideoInput};

/// Largest RTP payload (leaves room for SRTP, extensions, TURN and IPv6 headers).
pub(crate) const RTP_MTU: usize = 1150;
/// Audio bit rate set aside from the bandwidth estimate before video gets the rest.
const AUDIO_RESERVE_BPS: f64 = 48_000.0;
/// Video bit rate bounds.
const MIN_VIDEO_BPS: f64 = 120_000.0;
const MAX_VIDEO_BPS: f64 = 2_500_000.0;
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
    pub audio_ssrc: u32,
    pub video_ssrc: u32,
    pub audio_level_id: Option<u8>,
}

/// Starts sending audio from `input`.
pub(crate) fn start_audio(input: AudioInput, shared: Arc<Shared>) {
    match input {
        AudioInput::None => {}
        AudioInput::Synthetic { seed } => {
            tokio::spawn(async move {
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
        AudioInput::Frames(mut frames) => {
            tokio::spawn(async move {
                let Some(mut sender) = AudioSender::new() else {
                    return;
                };
                while let Some(frame) = frames.recv().await {
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
            }),
            Err(e) => {
                tracing::warn!("audio encoder: {e}");
                None
            }
        }
    }

    async fn push(&mut self, frame: &AudioFrame, shared: &Shared) {
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
    let (tx, rx) = mpsc::channel::<EncodedVideo>(4);
    let capture_shared = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name("huddle-video-send".to_owned())
        .spawn(move || capture_loop(&registry, id, format, &tx, &capture_shared));
    if let Err(e) = spawned {
        tracing::warn!("video capture thread: {e}");
        return;
    }
    tokio::spawn(packetize_loop(rx, shared));
}

/// The encoder rate for a bandwidth estimate.
fn video_rate(estimate_bps: f64) -> u32 {
    if !estimate_bps.is_finite() {
        return MIN_VIDEO_BPS as u32;
    }
    (estimate_bps - AUDIO_RESERVE_BPS).clamp(MIN_VIDEO_BPS, MAX_VIDEO_BPS) as u32
}

/// Publishes a change of the local camera's state (frames go out directly, every one).
fn show(shared: &Shared, state: LocalVideo) {
    shared.local_video.send_if_modified(|now| {
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
    registry: &CameraRegistry,
    mut id: Option<String>,
    format: CaptureFormat,
    tx: &mpsc::Sender<EncodedVideo>,
    shared: &Shared,
) {
    let mut camera: Option<Box<dyn Camera>> = None;
    let mut encoder: Option<H264Encoder> = None;
    let mut rate = 0u32;
    while !shared.closed.load(Ordering::Relaxed) && !tx.is_closed() {
        let switch = shared
            .camera_switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(next) = switch {
            // Another camera: open it next, and start the stream over with a keyframe (its
            // frames may have another size).
            id = next;
            camera = None;
            encoder = None;
        }
        if !shared.video_on.load(Ordering::Relaxed) {
            // Camera off: release the device.
            camera = None;
            show(shared, LocalVideo::Off);
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let cam = match &mut camera {
            Some(cam) => cam,
            None => {
                // While retrying a failed camera the failure stays shown.
                if !matches!(*shared.local_video.borrow(), LocalVideo::Failed(_)) {
                    show(shared, LocalVideo::Starting);
                }
                match registry.open(id.as_deref(), format) {
                    Ok(cam) => {
                        shared.keyframe_wanted.store(true, Ordering::Relaxed);
                        camera.insert(cam)
                    }
                    Err(e) => {
                        tracing::warn!("camera: {e}");
                        show(shared, LocalVideo::Failed(e.to_string()));
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
        };
        let frame = match cam.next_frame() {
            Ok(frame) => Arc::new(frame),
            Err(e) => {
                tracing::warn!("camera stopped: {e}");
                show(shared, LocalVideo::Failed(e.to_string()));
                camera = None;
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        if shared.local_video.receiver_count() > 0 {
            shared
                .local_video
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
        let want = video_rate(estimate);
        let enc = match &mut encoder {
            Some(enc) => enc,
            None => {
                let settings = H264Settings {
                    bitrate_bps: want,
                    fps: format.fps as f32,
                    allow_frame_skip: true,
                    ..H264Settings::default()
                };
                match H264Encoder::new(settings) {
                    Ok(enc) => {
                        rate = want;
                        encoder.insert(enc)
                    }
                    Err(e) => {
                        tracing::warn!("video encoder: {e}");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
        };
        if (f64::from(want) - f64::from(rate)).abs() > f64::from(rate) * RATE_HYSTERESIS {
            if let Err(e) = enc.set_bitrate(want) {
                tracing::warn!("video rate {want} bit/s not applied: {e}");
            }
            // Either way: a refused rate is not retried on every frame.
            rate = want;
        }
        shared
            .counters
            .video_bitrate_bps
            .store(u64::from(rate), Ordering::Relaxed);
        if shared.keyframe_wanted.swap(false, Ordering::Relaxed) {
            enc.request_keyframe();
        }
        match enc.encode(&frame) {
            Ok(encoded) if !encoded.data.is_empty() => {
                if tx.try_send(encoded).is_err() {
                    // The sender is behind: this frame is lost, so the next must stand alone.
                    shared.keyframe_wanted.store(true, Ordering::Relaxed);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("video encode: {e}"),
        }
    }
    show(shared, LocalVideo::Off);
}

async fn packetize_loop(mut rx: mpsc::Receiver<EncodedVideo>, shared: Arc<Shared>) {
    let mut payloader = H264Payloader::default();
    let mut seq = random_u16();
    while let Some(encoded) = rx.recv().await {
        let (track, ssrc) = {
            let tracks = shared.tracks.lock().unwrap_or_else(PoisonError::into_inner);
            (tracks.video.clone(), tracks.video_ssrc)
        };
        let Some(track) = track else {
            // No connection: whatever is sent first on the next one must be a keyframe.
            shared.keyframe_wanted.store(true, Ordering::Relaxed);
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
            shared
                .counters
                .video_frames_sent
                .fetch_add(1, Ordering::Relaxed);
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
        assert_eq!(video_rate(1_000_000.0), 952_000);
        assert_eq!(video_rate(50_000.0), MIN_VIDEO_BPS as u32);
        assert_eq!(video_rate(90_000_000.0), MAX_VIDEO_BPS as u32);
        assert_eq!(video_rate(f64::NAN), MIN_VIDEO_BPS as u32);
    }
}
