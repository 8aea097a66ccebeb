//! Incoming media: one task per receive slot. Video slots reassemble frames and decode them on
//! a thread of their own; audio slots feed a jitter buffer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use huddle_media::{AudioPacket, H264Decoder, JitterConfig, RemoteAudio};
use huddle_rtp::rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use huddle_rtp::rtc::rtp;
use huddle_rtp::SlotKind;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::assemble::{AssembledFrame, Assembler};
use super::{CallEvent, RemoteAudioFrame, RemoteVideo, Shared};

/// How long a frame may wait for retransmissions before it is given up.
const FRAME_WAIT: Duration = Duration::from_millis(200);
/// Fewest time between keyframe requests for one slot.
const PLI_INTERVAL: Duration = Duration::from_millis(300);
/// Frames queued towards a decoder.
const DECODE_QUEUE: usize = 8;

/// Reads one remote track until it ends.
pub(crate) async fn run_track(track: Arc<dyn TrackRemote>, shared: Arc<Shared>) {
    let id = track.track_id().await;
    let Some((kind, slot)) = huddle_rtp::parse_slot_track_id(&id) else {
        tracing::debug!(track = %id, "ignoring a track that is not a slot");
        return;
    };
    if kind == SlotKind::Audio {
        audio_slot(track, slot, shared).await;
    } else {
        video_slot(track, kind, slot, shared).await;
    }
}

/// A camera (video) or screen (share) slot.
async fn video_slot(track: Arc<dyn TrackRemote>, kind: SlotKind, slot: usize, shared: Arc<Shared>) {
    let mut assembler = Assembler::new(FRAME_WAIT);
    let failed = Arc::new(AtomicBool::new(false));
    let decoder = if shared.decode_video {
        let (tx, rx) = std_mpsc::sync_channel::<AssembledFrame>(DECODE_QUEUE);
        let thread_shared = Arc::clone(&shared);
        let thread_failed = Arc::clone(&failed);
        let name = huddle_rtp::slot_track_id(kind, slot);
        match std::thread::Builder::new()
            .name(format!("huddle-decode-{name}"))
            .spawn(move || decode_loop(&rx, kind, slot, &thread_shared, &thread_failed))
        {
            Ok(handle) => {
                shared.keep_thread(handle);
                Some(tx)
            }
            Err(e) => {
                tracing::warn!("decoder thread: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut last_pli: Option<Instant> = None;
    let mut lost_seen = 0;
    while let Some(packet) = next_packet(track.as_ref(), &shared).await {
        let media_ssrc = packet.header.ssrc;
        let now = Instant::now();
        let pushed = assembler.push(packet, now);
        let lost = assembler.lost_frames();
        // Connection quality is judged from cameras (a still screen sends few frames).
        if kind == SlotKind::Video && (lost > lost_seen || !pushed.frames.is_empty()) {
            count_reception(
                &shared,
                slot,
                pushed.frames.len() as u64,
                lost.saturating_sub(lost_seen),
            );
        }
        if lost > lost_seen {
            shared
                .counters
                .video_frames_lost
                .fetch_add(lost - lost_seen, Ordering::Relaxed);
            lost_seen = lost;
        }
        let mut need_keyframe = pushed.need_keyframe;
        if let Some(tx) = &decoder {
            for frame in pushed.frames {
                if tx.try_send(frame).is_err() {
                    // The decoder is behind; the skipped frame breaks the reference chain.
                    assembler.reset();
                    need_keyframe = true;
                }
            }
        }
        need_keyframe |= failed.swap(false, Ordering::Relaxed);
        if need_keyframe && last_pli.is_none_or(|at| now.duration_since(at) >= PLI_INTERVAL) {
            last_pli = Some(now);
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                tracing::trace!("keyframe request: {e}");
            }
        }
    }
}

/// Adds to what this slot brought from its current member (starting over for a new one).
fn count_reception(shared: &Shared, slot: usize, frames: u64, lost: u64) {
    let Some(participant) = shared.participant_in(SlotKind::Video, slot) else {
        return;
    };
    let mut all = shared
        .video_reception
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if all.len() <= slot {
        all.resize(slot + 1, None);
    }
    let entry = &mut all[slot];
    match entry {
        Some((who, received, missing)) if *who == participant => {
            *received += frames;
            *missing += lost;
        }
        _ => *entry = Some((participant, frames, lost)),
    }
}

fn decode_loop(
    rx: &std_mpsc::Receiver<AssembledFrame>,
    kind: SlotKind,
    slot: usize,
    shared: &Shared,
    failed: &AtomicBool,
) {
    let mut decoder = match H264Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("video decoder: {e}");
            return;
        }
    };
    while let Ok(frame) = rx.recv() {
        match decoder.decode(&frame.data) {
            Ok(Some(picture)) => {
                shared
                    .counters
                    .video_frames_decoded
                    .fetch_add(1, Ordering::Relaxed);
                shared.emit(CallEvent::Video(RemoteVideo {
                    participant: shared.participant_in(kind, slot),
                    screen: kind == SlotKind::Share,
                    slot,
                    frame: Arc::new(picture),
                    rtp_timestamp: frame.timestamp,
                    received_at: frame.completed_at,
                    decoded_at: Instant::now(),
                }));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!("decode: {e}");
                shared
                    .counters
                    .decode_errors
                    .fetch_add(1, Ordering::Relaxed);
                failed.store(true, Ordering::Relaxed);
            }
        }
        if shared.closed.load(Ordering::Relaxed) {
            break;
        }
    }
}

async fn audio_slot(track: Arc<dyn TrackRemote>, slot: usize, shared: Arc<Shared>) {
    let remote = match RemoteAudio::new(JitterConfig::default()) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("jitter buffer: {e}");
            return;
        }
    };
    {
        let mut jitter = shared.jitter.lock().unwrap_or_else(PoisonError::into_inner);
        jitter.retain(|(s, _)| *s != slot);
        jitter.push((slot, remote.clone()));
        jitter.sort_by_key(|(s, _)| *s);
    }
    let playing = shared
        .device_audio
        .with(|audio| audio.play(slot, &remote))
        .flatten();
    while let Some(packet) = next_packet(track.as_ref(), &shared).await {
        remote.push(AudioPacket {
            seq: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            payload: packet.payload.to_vec(),
        });
    }
    if let Some(source) = playing {
        shared.device_audio.with(|audio| audio.stop(slot, source));
    }
}

/// The next RTP packet of a track (counted), or `None` when it ended.
async fn next_packet(track: &dyn TrackRemote, shared: &Shared) -> Option<rtp::Packet> {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                shared.counters.rtp_received.fetch_add(1, Ordering::Relaxed);
                return Some(packet);
            }
            TrackRemoteEvent::OnEnded => return None,
            _ => {}
        }
    }
    None
}

/// Headless receivers: pulls 10 ms from every audio slot every 10 ms and delivers it.
pub(crate) fn start_audio_pull(shared: Arc<Shared>) {
    let tasks = shared.tasks.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        while !shared.closed.load(Ordering::Relaxed) {
            tick.tick().await;
            let slots = shared
                .jitter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for (slot, remote) in slots {
                let (frame, source) = remote.pull();
                shared.emit(CallEvent::Audio(Box::new(RemoteAudioFrame {
                    participant: shared.participant_in(SlotKind::Audio, slot),
                    slot,
                    frame,
                    source,
                })));
            }
        }
    });
}
