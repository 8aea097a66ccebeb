//! The call's local audio devices: the microphone, processed (echo cancellation against what
//! the speaker plays, noise suppression, gain) and handed to the call as 10 ms frames, and
//! the speaker, which plays every remote voice the call receives.
//!
//! Both run on threads of their own. The microphone thread drops a frame rather than wait
//! when the call's sender is behind; the playout thread looks for new audio slots about once
//! a second (slots appear after the media link connects) and adds them to the mixer.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use huddle_client::call::Call;
use huddle_media::{
    AudioFrame, AudioProcessor, EchoAligner, MediaError, MicCapture, ProcessingConfig,
    SonoraProcessor, SpeakerPlayout,
};
use tokio::sync::mpsc;

use crate::devices::Stream;
use crate::error::AppError;

/// 200 ms of frames between the microphone thread and the call's encoder.
const MIC_QUEUE: usize = 20;
/// How often the playout thread looks for audio slots that appeared since.
const SLOT_POLL: Duration = Duration::from_secs(1);

/// The speaker the call plays through, shared with the microphone thread for its echo
/// reference.
pub struct Speaker {
    playout: Arc<SpeakerPlayout>,
}

impl Speaker {
    pub fn open(id: Option<&str>) -> Result<Self, MediaError> {
        let (playout, info) = SpeakerPlayout::start(id)?;
        tracing::info!(speaker = %info.label, "call speaker open");
        Ok(Speaker {
            playout: Arc::new(playout),
        })
    }

    /// Plays every received audio slot of `call` until dropped.
    pub fn play(&self, call: Call) -> Result<Stream, AppError> {
        let playout = Arc::clone(&self.playout);
        Stream::spawn("huddle-call-playout", move |stop| {
            let mut playing: Vec<usize> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for (slot, remote) in call.audio_sources() {
                    if playing.contains(&slot) {
                        continue;
                    }
                    match playout.add_source(remote.source()) {
                        Ok(_) => playing.push(slot),
                        Err(e) => tracing::warn!(error = %e, slot, "cannot play an audio slot"),
                    }
                }
                let mut waited = Duration::ZERO;
                while waited < SLOT_POLL && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    waited += Duration::from_millis(100);
                }
            }
        })
    }
}

/// The queue between the microphone thread and the call; the sending side outlives any one
/// microphone, so a switch mid-call feeds the same queue.
pub fn microphone_queue() -> (mpsc::Sender<AudioFrame>, mpsc::Receiver<AudioFrame>) {
    mpsc::channel(MIC_QUEUE)
}

/// Opens a microphone and starts feeding its processed frames to `tx`. `speaker`, when
/// open, is the echo canceller's reference.
pub fn microphone(
    id: Option<&str>,
    speaker: Option<&Speaker>,
    tx: mpsc::Sender<AudioFrame>,
) -> Result<Stream, AppError> {
    let (mic, info) = MicCapture::start(id)?;
    tracing::info!(microphone = %info.label, "call microphone open");
    let frames = mic.subscribe(MIC_QUEUE)?;
    let reference = match speaker {
        Some(s) => Some(s.playout.reference(MIC_QUEUE * 2)?),
        None => None,
    };
    let thread = Stream::spawn("huddle-call-mic", move |stop| {
        let _mic = mic;
        let mut processor = SonoraProcessor::new(ProcessingConfig {
            echo_cancellation: reference.is_some(),
            ..ProcessingConfig::default()
        });
        let mut aligner = EchoAligner::new();
        while !stop.load(Ordering::Relaxed) {
            let mut frame = match frames.recv_timeout(Duration::from_millis(200)) {
                Ok(frame) => frame,
                Err(MediaError::Timeout(_)) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "call microphone stopped");
                    break;
                }
            };
            if let Some(reference) = &reference {
                while let Ok(Some(played)) = reference.try_recv() {
                    aligner.push_render(played);
                }
            }
            if let Err(e) = aligner.process(&mut processor as &mut dyn AudioProcessor, &mut frame) {
                tracing::debug!(error = %e, "audio processing");
            }
            match tx.try_send(frame) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    })?;
    Ok(thread)
}
