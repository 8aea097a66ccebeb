//! The call's own audio devices: the microphone, processed (echo cancellation against what
//! the speaker plays, noise suppression, gain) and fed to the audio sender as 10 ms frames,
//! and the speaker, which plays every voice the call receives.
//!
//! - A missing or busy device leaves the call without it rather than failing the join: the
//!   person can still see, read and be seen, and may pick another device later.
//! - Switching keeps what the devices feed: the microphone's queue and the speaker's mix
//!   (and with it the echo canceller's reference) survive the switch; a device that cannot be
//!   opened leaves the previous one in use, and the error says what failed.
//! - Received voices reach the speaker when their audio slot starts (the receive task adds
//!   the slot's jitter buffer to the mix, and takes it out when the slot's track ends): no
//!   polling, and a slot rebuilt after a reconnect replaces its old source.
//! - The microphone thread drops a frame rather than wait when the sender is behind.
//! - Each member plays at the volume this listener set for them ([`Volumes`]): every audio
//!   slot's mixer source has one gain, kept across the slot's tracks (a rebuilt slot plays at
//!   the same volume) and set from the member the slot carries; setting a volume never waits
//!   for a device to open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use huddle_media::{
    AudioFrame, AudioProcessor, EchoAligner, InputControls, MediaError, MicCapture,
    ProcessingConfig, RemoteAudio, SonoraProcessor, SourceGain, SourceId, SpeakerPlayout,
    Subscription, Worker,
};
use huddle_proto::ParticipantId;
use tokio::sync::mpsc;

/// 200 ms of frames between the microphone thread and the audio sender.
pub(crate) const MIC_QUEUE: usize = 20;
/// How long the microphone thread waits for a frame before it checks whether to stop.
const MIC_WAIT: Duration = Duration::from_millis(200);

/// Which audio devices a call uses (`None`: the system's default).
#[derive(Debug, Clone, Default)]
pub struct AudioDevices {
    /// Microphone id, as [`huddle_media::DeviceManager`] lists it.
    pub microphone: Option<String>,
    /// Speaker id.
    pub speaker: Option<String>,
    /// The microphone's processing (echo cancellation applies only while a speaker is open).
    pub processing: ProcessingConfig,
    /// The microphone's volume and noise gate, applied after the processing, just before the
    /// encoder; shared, so whoever holds it (a device check, say) changes the call's too.
    /// [`super::Call::set_input_volume`] and [`super::Call::set_input_gate`] set it.
    pub input: Arc<InputControls>,
}

/// The playback volume of each member (this listener's choice) and the mixer gain of each
/// audio slot. Locked only briefly, never across a device open.
#[derive(Default)]
pub(crate) struct Volumes(Mutex<VolumeState>);

#[derive(Default)]
struct VolumeState {
    /// Members played at another volume than 100 %.
    by_member: HashMap<ParticipantId, f32>,
    /// Each audio slot's gain, shared with its mixer source.
    by_slot: HashMap<usize, Arc<SourceGain>>,
    /// Who each audio slot carries, as the server said last.
    slots: Vec<Option<ParticipantId>>,
}

impl VolumeState {
    fn volume_in(&self, slot: usize) -> f32 {
        self.slots
            .get(slot)
            .copied()
            .flatten()
            .and_then(|who| self.by_member.get(&who).copied())
            .unwrap_or(1.0)
    }

    fn apply(&self) {
        for (slot, gain) in &self.by_slot {
            gain.set(self.volume_in(*slot));
        }
    }
}

impl Volumes {
    /// The gain of `slot`'s mixer source, at the volume of the member in it.
    pub(crate) fn slot_gain(&self, slot: usize) -> Arc<SourceGain> {
        let mut state = self.lock();
        let volume = state.volume_in(slot);
        let gain = state.by_slot.entry(slot).or_default();
        gain.set(volume);
        Arc::clone(gain)
    }

    /// Plays `member` at `volume` (0 = silent, 1 as received, 2 doubled) from now on.
    pub(crate) fn set_member(&self, member: ParticipantId, volume: f32) {
        let mut state = self.lock();
        state
            .by_member
            .insert(member, SourceGain::new(volume).get());
        state.apply();
    }

    /// The volume set for `member` (1 when none was).
    pub(crate) fn member(&self, member: ParticipantId) -> f32 {
        self.lock().by_member.get(&member).copied().unwrap_or(1.0)
    }

    /// The slots carry other members now: each slot's gain follows its member.
    pub(crate) fn slots_changed(&self, audio: &[Option<ParticipantId>]) {
        let mut state = self.lock();
        audio.clone_into(&mut state.slots);
        state.apply();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VolumeState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The microphone and speaker of a call.
pub(crate) struct DeviceAudio {
    choice: AudioDevices,
    /// Where processed microphone frames go (the audio sender's queue).
    frames: mpsc::Sender<AudioFrame>,
    // Field order is drop order: the thread stops before the devices it reads close.
    microphone_thread: Option<Worker>,
    microphone: Option<Arc<MicCapture>>,
    speaker: Option<SpeakerPlayout>,
    /// The mixer source of each audio slot being played.
    playing: HashMap<usize, SourceId>,
    volumes: Arc<Volumes>,
}

impl DeviceAudio {
    /// Opens what it can of `choice` (see the module docs).
    pub(crate) fn open(
        choice: AudioDevices,
        frames: mpsc::Sender<AudioFrame>,
        volumes: Arc<Volumes>,
    ) -> Self {
        let speaker = open_speaker(choice.speaker.as_deref())
            .map_err(|e| tracing::warn!(error = %e, "no speaker for the call"))
            .ok();
        let microphone = open_microphone(choice.microphone.as_deref())
            .map_err(|e| tracing::warn!(error = %e, "no microphone for the call"))
            .ok();
        let mut audio = DeviceAudio {
            choice,
            frames,
            microphone_thread: None,
            microphone,
            speaker,
            playing: HashMap::new(),
            volumes,
        };
        audio.restart_microphone_thread();
        audio
    }

    /// True while a speaker plays the call.
    pub(crate) fn has_speaker(&self) -> bool {
        self.speaker.is_some()
    }

    /// True while a microphone feeds the call.
    pub(crate) fn has_microphone(&self) -> bool {
        self.microphone_thread.is_some()
    }

    /// Plays an audio slot's voice, replacing whatever that slot played before. Returns the
    /// mixer source, to be handed back to [`DeviceAudio::stop`] when the slot's track ends.
    pub(crate) fn play(&mut self, slot: usize, remote: &RemoteAudio) -> Option<SourceId> {
        let speaker = self.speaker.as_ref()?;
        if let Some(old) = self.playing.remove(&slot) {
            let _ = speaker.remove_source(old);
        }
        match speaker.add_source_with_gain(remote.source(), self.volumes.slot_gain(slot)) {
            Ok(id) => {
                self.playing.insert(slot, id);
                Some(id)
            }
            Err(e) => {
                tracing::warn!(error = %e, slot, "cannot play an audio slot");
                None
            }
        }
    }

    /// Stops playing `slot` if it still plays `source` (a newer track may have taken it).
    pub(crate) fn stop(&mut self, slot: usize, source: SourceId) {
        if self.playing.get(&slot) == Some(&source) {
            self.playing.remove(&slot);
            if let Some(speaker) = &self.speaker {
                let _ = speaker.remove_source(source);
            }
        }
    }

    /// Moves the call to another microphone and/or speaker (`None`: keep it, `Some(None)`:
    /// the system's default). Both are tried; the first failure is returned, and the device
    /// that failed keeps its previous choice (or stays closed if it had none). Blocks while
    /// devices open (tens of milliseconds, up to seconds for a slow device).
    pub(crate) fn switch(
        &mut self,
        microphone: Option<Option<String>>,
        speaker: Option<Option<String>>,
        sources: &[(usize, RemoteAudio)],
    ) -> Result<(), MediaError> {
        let mut problem = None;
        let mut new_reference = false;
        if let Some(id) = speaker {
            match &self.speaker {
                Some(open) => match open.switch(id.as_deref()) {
                    Ok(info) => {
                        tracing::info!(speaker = %info.label, "call speaker switched");
                        self.choice.speaker = id;
                    }
                    Err(e) => problem = Some(e),
                },
                None => match open_speaker(id.as_deref()) {
                    Ok(open) => {
                        self.speaker = Some(open);
                        self.choice.speaker = id;
                        new_reference = true;
                        for (slot, remote) in sources {
                            self.play(*slot, remote);
                        }
                    }
                    Err(e) => problem = Some(e),
                },
            }
        }
        if let Some(id) = microphone {
            match &self.microphone {
                Some(open) => match open.switch(id.as_deref()) {
                    Ok(info) => {
                        tracing::info!(microphone = %info.label, "call microphone switched");
                        self.choice.microphone = id;
                    }
                    Err(e) => {
                        problem.get_or_insert(e);
                    }
                },
                None => match open_microphone(id.as_deref()) {
                    Ok(open) => {
                        self.microphone = Some(open);
                        self.choice.microphone = id;
                        new_reference = true;
                    }
                    Err(e) => {
                        problem.get_or_insert(e);
                    }
                },
            }
        }
        // A microphone or speaker that was not open before needs a thread that reads it (or
        // the speaker's reference, for the echo canceller).
        if new_reference || self.microphone_thread.is_none() {
            self.restart_microphone_thread();
        }
        problem.map_or(Ok(()), Err)
    }

    /// The devices in use (as chosen; `None` is the default).
    pub(crate) fn choice(&self) -> &AudioDevices {
        &self.choice
    }

    fn restart_microphone_thread(&mut self) {
        self.microphone_thread = None;
        let Some(microphone) = &self.microphone else {
            return;
        };
        let started = microphone_thread(
            Arc::clone(microphone),
            self.speaker.as_ref(),
            self.choice.processing,
            self.frames.clone(),
        );
        match started {
            Ok(worker) => self.microphone_thread = Some(worker),
            Err(e) => tracing::warn!(error = %e, "no microphone thread for the call"),
        }
    }
}

fn open_speaker(id: Option<&str>) -> Result<SpeakerPlayout, MediaError> {
    let (playout, info) = SpeakerPlayout::start(id)?;
    tracing::info!(speaker = %info.label, "call speaker open");
    Ok(playout)
}

fn open_microphone(id: Option<&str>) -> Result<Arc<MicCapture>, MediaError> {
    let (mic, info) = MicCapture::start(id)?;
    tracing::info!(microphone = %info.label, "call microphone open");
    Ok(Arc::new(mic))
}

/// Reads `microphone`, cleans each frame (against `speaker`'s mix as the echo reference,
/// when there is a speaker) and sends it to `frames`.
fn microphone_thread(
    microphone: Arc<MicCapture>,
    speaker: Option<&SpeakerPlayout>,
    processing: ProcessingConfig,
    frames: mpsc::Sender<AudioFrame>,
) -> Result<Worker, MediaError> {
    let captured = microphone.subscribe(MIC_QUEUE)?;
    let reference = match speaker {
        Some(s) => Some(s.reference(MIC_QUEUE * 2)?),
        None => None,
    };
    Worker::spawn("huddle-call-mic", move |stop| {
        let _microphone = microphone;
        clean_microphone(&captured, reference.as_ref(), processing, &frames, stop);
    })
}

fn clean_microphone(
    captured: &Subscription<AudioFrame>,
    reference: Option<&Subscription<AudioFrame>>,
    processing: ProcessingConfig,
    frames: &mpsc::Sender<AudioFrame>,
    stop: &AtomicBool,
) {
    let mut processor = SonoraProcessor::new(ProcessingConfig {
        echo_cancellation: processing.echo_cancellation && reference.is_some(),
        ..processing
    });
    let mut aligner = EchoAligner::new();
    while !stop.load(Ordering::Relaxed) {
        let mut frame = match captured.recv_timeout(MIC_WAIT) {
            Ok(frame) => frame,
            // A lost device sends nothing until it is switched; keep checking the flag.
            Err(MediaError::Timeout(_)) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "call microphone stopped");
                break;
            }
        };
        if let Some(reference) = reference {
            while let Ok(Some(played)) = reference.try_recv() {
                aligner.push_render(played);
            }
        }
        if let Err(e) = aligner.process(&mut processor as &mut dyn AudioProcessor, &mut frame) {
            tracing::debug!(error = %e, "audio processing");
        }
        match frames.try_send(frame) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
}

/// What [`super::Call::audio_devices`] reports.
#[derive(Debug, Clone)]
pub struct DeviceAudioState {
    /// The devices chosen (`None`: the system's default).
    pub choice: AudioDevices,
    /// A microphone feeds the call.
    pub microphone_open: bool,
    /// A speaker plays the call.
    pub speaker_open: bool,
}

/// Opens `choice` in the background (a task of the call, so leaving waits for it) and, once
/// open, plays every audio slot received so far; slots that start later are added by their
/// receive task.
pub(crate) fn start_devices(
    choice: AudioDevices,
    frames: mpsc::Sender<AudioFrame>,
    shared: Arc<super::Shared>,
) {
    let tasks = shared.tasks.clone();
    tasks.spawn(async move {
        let opened = tokio::task::spawn_blocking(move || {
            let audio = DeviceAudio::open(choice, frames, Arc::clone(&shared.volumes));
            // A call left while its devices opened closes them here, off the runtime.
            if !shared.closed.load(Ordering::Relaxed) {
                shared.device_audio.install(audio, &shared.jitter);
            }
        })
        .await;
        if let Err(e) = opened {
            tracing::warn!(error = %e, "opening the call's audio devices stopped");
        }
    });
}

/// The call's device audio slot, shared by the receive tasks (which add and remove voices)
/// and the call handle (which switches devices).
#[derive(Default)]
pub(crate) struct DeviceAudioSlot(Mutex<Option<DeviceAudio>>);

impl DeviceAudioSlot {
    /// Puts the opened devices in place and plays every slot in `jitter`. Under the slot's
    /// lock, so a slot whose receive task found no devices yet is in `jitter` by now.
    fn install(&self, mut audio: DeviceAudio, jitter: &Mutex<Vec<(usize, RemoteAudio)>>) {
        let mut slot = self.lock();
        let sources = jitter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (index, remote) in &sources {
            audio.play(*index, remote);
        }
        *slot = Some(audio);
    }

    /// What the devices are.
    pub(crate) fn state(&self) -> Option<DeviceAudioState> {
        self.lock().as_ref().map(|a| DeviceAudioState {
            choice: a.choice().clone(),
            microphone_open: a.has_microphone(),
            speaker_open: a.has_speaker(),
        })
    }

    /// Takes the devices out (to close them off the async runtime).
    pub(crate) fn take(&self) -> Option<DeviceAudio> {
        self.lock().take()
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut DeviceAudio) -> T) -> Option<T> {
        self.lock().as_mut().map(f)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DeviceAudio>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: ParticipantId = ParticipantId(1);
    const BOB: ParticipantId = ParticipantId(2);

    #[test]
    fn a_member_s_volume_follows_them_from_slot_to_slot_and_outlives_a_rebuilt_slot() {
        let volumes = Volumes::default();
        volumes.slots_changed(&[Some(ANN), Some(BOB)]);
        let (slot0, slot1) = (volumes.slot_gain(0), volumes.slot_gain(1));
        volumes.set_member(BOB, 0.5);
        assert_eq!((slot0.get(), slot1.get()), (1.0, 0.5));
        // The slot's track ends and a new one starts (a media reconnect): same gain.
        let rebuilt = volumes.slot_gain(1);
        assert!(Arc::ptr_eq(&rebuilt, &slot1));
        assert_eq!(rebuilt.get(), 0.5);
        // The server moves Bob to slot 0 and Ann leaves: the gains follow.
        volumes.slots_changed(&[Some(BOB), None]);
        assert_eq!((slot0.get(), slot1.get()), (0.5, 1.0));
        // A member whose volume was set before they had a slot plays at it.
        volumes.set_member(ANN, 2.0);
        volumes.slots_changed(&[Some(BOB), None, Some(ANN)]);
        assert_eq!(volumes.slot_gain(2).get(), 2.0);
        assert_eq!(volumes.member(ANN), 2.0);
        assert_eq!(volumes.member(ParticipantId(9)), 1.0);
        volumes.set_member(ANN, 7.0);
        assert_eq!(volumes.member(ANN), SourceGain::MAX, "clamped");
    }
}
