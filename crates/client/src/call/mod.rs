//! A call: the signaling session plus media over one WebRTC connection to the server's
//! forwarding unit. Tauri-free; the desktop app and `huddle-cli join` both drive it.
//!
//! [`join`] returns a [`Call`] handle (mute, camera, subscription, leave, every session
//! action through [`Call::session`]) and a [`CallEvents`] stream carrying session events,
//! media state, slot assignments, decoded video frames and — when asked for — decoded audio.
//!
//! Tasks and threads (see `docs/architecture.md`):
//! - the session driver task (signaling, reconnect/resume);
//! - the media task: builds the peer connection, offers, applies the answer, rebuilds the
//!   connection when it fails or after the session resumed;
//! - an audio sender task (Opus, 20 ms packets, audio level extension) and, for the camera
//!   and for a shared screen, a capture thread (→ H.264) feeding a packetizer task;
//! - per received slot: a task reading RTP; video slots reassemble frames and hand them to a
//!   decoder thread; audio slots feed a jitter buffer (played by the speaker's mixer with
//!   [`AudioInput::Devices`], and/or pulled every 10 ms by a headless receiver);
//! - with [`AudioInput::Devices`], a microphone thread (capture → echo cancellation, noise
//!   suppression, gain → the audio sender) and the speaker's mixer thread.

mod assemble;
mod audio;
mod connection;
mod receive;
mod send;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use huddle_media::camera::{Camera, CameraRegistry, CaptureFormat};
use huddle_media::{AudioFrame, FrameSource, InputControls, JitterStats, MediaError, VideoFrame};
use huddle_proto::{MediaRequest, ParticipantId, VideoWant};
use huddle_rtp::SlotKind;
use tokio::sync::{mpsc, watch};

pub use assemble::{AssembledFrame, Assembler};
pub use audio::{AudioDevices, DeviceAudioState};

use crate::error::ClientError;
use crate::session::{self, JoinOptions, Session, SessionEvent, SessionEvents};

/// Where outgoing audio comes from.
pub enum AudioInput {
    /// Send no audio.
    None,
    /// Synthetic speech (tests, demos, load), paced in real time.
    Synthetic {
        /// Seed of the speech generator (different seeds sound different).
        seed: u64,
    },
    /// 10 ms frames at 48 kHz mono pushed by the caller.
    Frames(mpsc::Receiver<AudioFrame>),
    /// This computer's microphone, processed, with its speaker playing every received voice
    /// (see [`Call::switch_audio`]). The devices open in the background: the join does not
    /// wait for them, and one that cannot be opened leaves the call without it.
    Devices(AudioDevices),
}

/// Where outgoing video comes from.
pub enum VideoInput {
    /// Send no video.
    None,
    /// A camera (real or synthetic) from a registry, opened while the camera is on.
    Camera {
        /// The registry to open it from.
        registry: CameraRegistry,
        /// Which camera (`None`: the default one).
        id: Option<String>,
        /// Size and rate to capture at.
        format: CaptureFormat,
    },
}

/// Opens a screen to share by id (`None`: the primary one), delivering frames that fit the
/// given size at the given rate.
pub type ScreenOpener =
    Arc<dyn Fn(Option<&str>, CaptureFormat) -> Result<Box<dyn Camera>, MediaError> + Send + Sync>;

/// Where a shared screen comes from.
#[derive(Clone)]
pub struct ScreenInput {
    /// Opens the screen (real screens, or a test pattern).
    pub open: ScreenOpener,
    /// Largest size and the rate to share at.
    pub limit: CaptureFormat,
}

impl ScreenInput {
    /// Size and rate screens are shared at by default: sharp enough for text at 1080p, and
    /// few frames, as screens change little.
    pub const DEFAULT_LIMIT: CaptureFormat = CaptureFormat::new(1920, 1080, 10);

    /// A synthetic camera's moving pattern standing in for a screen (tests, bots).
    #[must_use]
    pub fn synthetic(limit: CaptureFormat) -> Self {
        let registry = CameraRegistry::synthetic_only();
        let id = registry
            .add_synthetic("Synthetic screen", huddle_media::SyntheticFault::None)
            .info()
            .id
            .clone();
        ScreenInput {
            open: Arc::new(move |_, limit| registry.open(Some(&id), limit)),
            limit,
        }
    }
}

/// Everything a call needs.
pub struct CallOptions {
    /// Server, session, name, passcode, token, initial mute/camera state.
    pub join: JoinOptions,
    /// Outgoing audio.
    pub audio: AudioInput,
    /// Outgoing video.
    pub video: VideoInput,
    /// Screens that may be shared (`None`: this app cannot share).
    pub screen: Option<ScreenInput>,
    /// Only use TURN relays (tests, and networks where direct UDP leaks addresses).
    pub relay_only: bool,
    /// Pull every received audio slot every 10 ms and deliver it as [`CallEvent::Audio`]
    /// (headless receivers). Not with [`AudioInput::Devices`], whose speaker plays them: a
    /// jitter buffer has one reader.
    pub deliver_audio: bool,
    /// Decode received video and deliver [`CallEvent::Video`].
    pub decode_video: bool,
    /// Queue of decoded frames and media events before the oldest are dropped.
    pub event_capacity: usize,
}

impl CallOptions {
    /// Options with no media inputs, decoding video and not delivering audio.
    #[must_use]
    pub fn new(join: JoinOptions) -> Self {
        Self {
            join,
            audio: AudioInput::None,
            video: VideoInput::None,
            screen: None,
            relay_only: false,
            deliver_audio: false,
            decode_video: true,
            event_capacity: 256,
        }
    }
}

/// The call's own camera (or shared screen), as the person's own tile shows it.
#[derive(Debug, Clone)]
pub enum LocalVideo {
    /// Camera off (not sharing), or no camera.
    Off,
    /// Opening the camera (screen).
    Starting,
    /// The newest captured frame.
    Live(Arc<VideoFrame>),
    /// The camera cannot be used (the device's own error, for the app to put into words); the
    /// call keeps trying about once a second. (A screen that cannot be captured stops the
    /// share instead.)
    Failed(MediaError),
}

/// The media link's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaState {
    /// Waiting for the server's media details or the first connection.
    Connecting,
    /// Media flows.
    Connected,
    /// The connection was lost; a new one is being made.
    Reconnecting,
    /// The server does not forward media, or media failed for good.
    Unavailable(String),
    /// The call is over.
    Closed,
}

/// A decoded video frame from someone.
#[derive(Debug, Clone)]
pub struct RemoteVideo {
    /// Whose video (as the server said when the frame was decoded).
    pub participant: Option<ParticipantId>,
    /// Their shared screen (through a share slot), else their camera (a video slot).
    pub screen: bool,
    /// Which video (or share) slot it came through.
    pub slot: usize,
    /// The picture.
    pub frame: Arc<VideoFrame>,
    /// RTP timestamp (90 kHz).
    pub rtp_timestamp: u32,
    /// When its last packet arrived.
    pub received_at: Instant,
    /// When it finished decoding.
    pub decoded_at: Instant,
}

/// 10 ms of decoded audio from someone (only with [`CallOptions::deliver_audio`]).
#[derive(Debug, Clone)]
pub struct RemoteAudioFrame {
    /// Whose voice.
    pub participant: Option<ParticipantId>,
    /// Which audio slot.
    pub slot: usize,
    /// The samples.
    pub frame: AudioFrame,
    /// Silence before the stream started, or audio (decoded, recovered or concealed).
    pub source: FrameSource,
}

/// Something that happened in the call.
#[derive(Debug, Clone)]
pub enum CallEvent {
    /// From the signaling session (roster, chat, notices, link status).
    Session(SessionEvent),
    /// The media link changed.
    Media(MediaState),
    /// Who each receive slot carries now.
    Slots {
        /// Audio slots.
        audio: Vec<Option<ParticipantId>>,
        /// Video slots.
        video: Vec<Option<ParticipantId>>,
        /// Screen-share slots.
        share: Vec<Option<ParticipantId>>,
    },
    /// A decoded video frame.
    Video(RemoteVideo),
    /// Decoded audio (boxed: 10 ms of samples is large beside the other events).
    Audio(Box<RemoteAudioFrame>),
}

/// Counters for stats panels, tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallStats {
    /// Audio packets sent.
    pub audio_packets_sent: u64,
    /// Video frames encoded and sent.
    pub video_frames_sent: u64,
    /// Screen frames encoded and sent.
    pub screen_frames_sent: u64,
    /// Keyframes sent.
    pub keyframes_sent: u64,
    /// Keyframe requests received from the server.
    pub keyframe_requests: u64,
    /// Video frames decoded.
    pub video_frames_decoded: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Video frames given up for missing packets.
    pub video_frames_lost: u64,
    /// RTP packets received.
    pub rtp_received: u64,
    /// Events dropped because the consumer was behind.
    pub events_dropped: u64,
    /// Media connections made (1 + reconnects).
    pub connections: u64,
    /// Send-side bandwidth estimate in bit/s (GCC).
    pub bandwidth_estimate_bps: f64,
    /// Current video encoder target in bit/s.
    pub video_bitrate_bps: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    audio_packets_sent: AtomicU64,
    video_frames_sent: AtomicU64,
    screen_frames_sent: AtomicU64,
    keyframes_sent: AtomicU64,
    keyframe_requests: AtomicU64,
    video_frames_decoded: AtomicU64,
    decode_errors: AtomicU64,
    video_frames_lost: AtomicU64,
    rtp_received: AtomicU64,
    events_dropped: AtomicU64,
    connections: AtomicU64,
    video_bitrate_bps: AtomicU64,
}

/// Who each slot carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotMap {
    audio: Vec<Option<ParticipantId>>,
    video: Vec<Option<ParticipantId>>,
    share: Vec<Option<ParticipantId>>,
}

/// One outgoing video stream's controls: the camera, or the shared screen.
pub(crate) struct Feed {
    /// Capturing and sending.
    on: AtomicBool,
    /// The next frame must be a keyframe.
    keyframe_wanted: AtomicBool,
    /// A source to switch to (taken by the capture thread).
    switch: Mutex<Option<Option<String>>>,
    /// What it shows now, for the person's own tile (the device is opened once, here).
    local: watch::Sender<LocalVideo>,
}

impl Feed {
    fn new(on: bool) -> Self {
        Feed {
            on: AtomicBool::new(on),
            keyframe_wanted: AtomicBool::new(true),
            switch: Mutex::new(None),
            local: watch::channel(LocalVideo::Off).0,
        }
    }

    fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
        if on {
            self.keyframe_wanted.store(true, Ordering::Relaxed);
        }
    }

    fn switch_to(&self, id: Option<String>) {
        *self.switch.lock().unwrap_or_else(PoisonError::into_inner) = Some(id);
    }
}

/// What this app received over one slot, from the member it carries now: cumulative counts,
/// which start over when the server gives the slot to someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reception {
    pub participant: ParticipantId,
    /// Video (else audio).
    pub video: bool,
    pub slot: usize,
    /// Video: frames completed; audio: packets that arrived in time.
    pub received: u64,
    /// Video: frames given up for missing packets; audio: packets that arrived too late or
    /// were lost and rebuilt from the next packet's FEC (silence is not counted: with DTX a
    /// quiet speaker sends nothing).
    pub lost: u64,
}

/// Longest [`Call::leave`] waits for the call's tasks and threads to end.
const LEAVE_WAIT: Duration = Duration::from_secs(3);
/// How long a screen may take to give its first picture when a share starts.
const SHARE_START_TIMEOUT: Duration = Duration::from_secs(5);

/// State shared by the call's tasks.
pub(crate) struct Shared {
    audio_muted: AtomicBool,
    /// The camera.
    camera: Feed,
    /// The shared screen.
    screen: Feed,
    closed: AtomicBool,
    /// Cancelled on leave: wakes the tasks that wait on something else than a tick.
    stop: CancellationToken,
    /// Every task of the call, so that leaving can wait for them to end.
    tasks: TaskTracker,
    /// Every thread of the call (capture and encode, decode), likewise.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    counters: Counters,
    slots: Mutex<SlotMap>,
    tracks: Mutex<send::Tracks>,
    target: Mutex<Option<huddle_rtp::BandwidthTarget>>,
    jitter: Mutex<Vec<(usize, huddle_media::RemoteAudio)>>,
    /// The microphone and speaker, with [`AudioInput::Devices`].
    device_audio: audio::DeviceAudioSlot,
    /// Each member's playback volume and each audio slot's gain.
    volumes: Arc<audio::Volumes>,
    /// The input volume and noise gate of what we send.
    input: Arc<InputControls>,
    /// The level of what we send, after the volume and before the gate.
    input_level: LevelCell,
    events: mpsc::Sender<CallEvent>,
    state: watch::Sender<MediaState>,
    /// Our own voice activity (with hangover), reported to the session as `talking`.
    talking: watch::Sender<bool>,
    /// Per video slot: (member, frames completed, frames lost) since that member got it.
    video_reception: Mutex<Vec<Option<(ParticipantId, u64, u64)>>>,
    decode_video: bool,
}

/// The newest [`InputLevel`], written by the audio sender for every frame.
#[derive(Default)]
pub(crate) struct LevelCell {
    meter: AtomicU32,
    open: AtomicBool,
}

impl LevelCell {
    fn set(&self, meter: f32, open: bool) {
        self.meter.store(meter.to_bits(), Ordering::Relaxed);
        self.open.store(open, Ordering::Relaxed);
    }

    fn get(&self) -> InputLevel {
        InputLevel {
            meter: f32::from_bits(self.meter.load(Ordering::Relaxed)),
            gate_open: self.open.load(Ordering::Relaxed),
        }
    }
}

/// The level of what the call sends, for a meter (see [`Call::input_level`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputLevel {
    /// The peak after the input volume and before the gate, on the meter's scale (0 at
    /// -60 dBFS, 1 at 0 dBFS; [`huddle_media::LevelMeter::position`]), with fast attack and
    /// slow release.
    pub meter: f32,
    /// The noise gate lets the voice through (always, while there is no gate).
    pub gate_open: bool,
}

impl Shared {
    /// Keeps a thread of the call, to be joined when it ends.
    fn keep_thread(&self, handle: std::thread::JoinHandle<()>) {
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        // Threads that already ended need no waiting for.
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
    }

    fn emit(&self, event: CallEvent) {
        if self.events.try_send(event).is_err() {
            self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn set_state(&self, state: MediaState) {
        if *self.state.borrow() != state {
            self.state.send_replace(state.clone());
            self.emit(CallEvent::Media(state));
        }
    }

    fn participant_in(&self, kind: SlotKind, slot: usize) -> Option<ParticipantId> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match kind {
            SlotKind::Audio => &slots.audio,
            SlotKind::Video => &slots.video,
            SlotKind::Share => &slots.share,
        };
        list.get(slot).copied().flatten()
    }
}

/// The stream of [`CallEvent`]s.
pub struct CallEvents {
    session: SessionEvents,
    media: mpsc::Receiver<CallEvent>,
}

impl CallEvents {
    /// The next event; `None` when the call is over and everything was read.
    pub async fn recv(&mut self) -> Option<CallEvent> {
        tokio::select! {
            biased;
            event = self.session.recv() => match event {
                Some(event) => Some(CallEvent::Session(event)),
                None => self.media.recv().await,
            },
            event = self.media.recv() => match event {
                Some(event) => Some(event),
                None => self.session.recv().await.map(CallEvent::Session),
            },
        }
    }

    /// The next event if one is waiting (session events first), without waiting.
    pub fn try_recv(&mut self) -> Option<CallEvent> {
        self.session
            .try_recv()
            .map(CallEvent::Session)
            .or_else(|| self.media.try_recv().ok())
    }
}

/// A handle on a call. Clones share it; the call ends on [`Call::leave`].
#[derive(Clone)]
pub struct Call {
    session: Session,
    shared: Arc<Shared>,
    state: watch::Receiver<MediaState>,
    /// Screens this app may share; `None` when it cannot.
    screen: Option<Arc<ScreenFeed>>,
}

/// The screen-share capture: its thread starts with the first share (most calls never
/// share, and an idle capture thread would still wake to check whether it should start).
struct ScreenFeed {
    /// Taken when the thread starts.
    input: Mutex<Option<ScreenInput>>,
}

/// Joins a session and starts media.
///
/// # Errors
/// As [`session::join`].
pub async fn join(options: CallOptions) -> Result<(Call, CallEvents), ClientError> {
    let CallOptions {
        join,
        audio,
        video,
        screen,
        relay_only,
        deliver_audio,
        decode_video,
        event_capacity,
    } = options;
    if deliver_audio && matches!(audio, AudioInput::Devices(_)) {
        return Err(ClientError::Media(
            "received audio goes either to the speaker or to the caller, not both".to_owned(),
        ));
    }
    let audio_muted = join.audio_muted;
    let video_on = join.video_on;
    let input = match &audio {
        AudioInput::Devices(devices) => Arc::clone(&devices.input),
        _ => Arc::default(),
    };
    let (session, session_events) = session::join(join).await?;
    let (events_tx, events_rx) = mpsc::channel(event_capacity.max(8));
    let (state_tx, state_rx) = watch::channel(MediaState::Connecting);
    let shared = Arc::new(Shared {
        audio_muted: AtomicBool::new(audio_muted),
        camera: Feed::new(video_on),
        screen: Feed::new(false),
        closed: AtomicBool::new(false),
        stop: CancellationToken::new(),
        tasks: TaskTracker::new(),
        threads: Mutex::new(Vec::new()),
        counters: Counters::default(),
        slots: Mutex::new(SlotMap::default()),
        tracks: Mutex::new(send::Tracks::default()),
        target: Mutex::new(None),
        jitter: Mutex::new(Vec::new()),
        device_audio: audio::DeviceAudioSlot::default(),
        volumes: Arc::default(),
        input,
        input_level: LevelCell::default(),
        events: events_tx,
        state: state_tx,
        talking: watch::channel(false).0,
        video_reception: Mutex::new(Vec::new()),
        decode_video,
    });
    let media_events = session
        .take_media_events()
        .ok_or_else(|| ClientError::Media("media events already taken".to_owned()))?;
    send::start_audio(audio, Arc::clone(&shared));
    send::start_video(video, Arc::clone(&shared));
    let screen = screen.map(|input| {
        Arc::new(ScreenFeed {
            input: Mutex::new(Some(input)),
        })
    });
    if deliver_audio {
        receive::start_audio_pull(Arc::clone(&shared));
    }
    shared.tasks.spawn(connection::run(
        session.clone(),
        media_events,
        Arc::clone(&shared),
        relay_only,
    ));
    Ok((
        Call {
            session,
            shared,
            state: state_rx,
            screen,
        },
        CallEvents {
            session: session_events,
            media: events_rx,
        },
    ))
}

impl Call {
    /// The signaling session: roster, chat, host actions.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The media link's state.
    #[must_use]
    pub fn media_state(&self) -> MediaState {
        self.state.borrow().clone()
    }

    /// Waits until the media link is in `want` (or `timeout` passes).
    ///
    /// # Errors
    /// [`ClientError::Timeout`].
    pub async fn wait_media(&self, want: MediaState, timeout: Duration) -> Result<(), ClientError> {
        let mut state = self.state.clone();
        let reached = tokio::time::timeout(timeout, state.wait_for(|s| *s == want)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(ClientError::Media("media task ended".to_owned())),
            Err(_) => Err(ClientError::Timeout {
                what: format!("media to become {want:?}"),
            }),
        }
    }

    /// Mutes or unmutes the microphone: stops sending audio and tells everyone.
    ///
    /// # Errors
    /// As [`Session::set_audio_muted`].
    pub async fn set_audio_muted(&self, muted: bool) -> Result<(), ClientError> {
        self.shared.audio_muted.store(muted, Ordering::Relaxed);
        self.session.set_audio_muted(muted).await
    }

    /// Turns the camera on or off: stops capturing and sending video and tells everyone.
    ///
    /// # Errors
    /// As [`Session::set_video`].
    pub async fn set_video(&self, on: bool) -> Result<(), ClientError> {
        self.shared.camera.set_on(on);
        self.session.set_video(on).await
    }

    /// What the call's camera shows, newest frame only: for the person's own tile, so that
    /// the camera is opened once (a real camera is often busy for a second opener).
    #[must_use]
    pub fn local_video(&self) -> watch::Receiver<LocalVideo> {
        self.shared.camera.local.subscribe()
    }

    /// Switches to another camera mid-call (`None`: the default one). The capture thread
    /// opens it before its next frame; if it cannot be opened, it keeps trying every second
    /// (and logs why) until another is chosen.
    pub fn set_camera(&self, id: Option<String>) {
        self.shared.camera.switch_to(id);
    }

    /// Starts sharing a screen (`screen`: which one, `None`: the primary one) or stops.
    ///
    /// Starting opens the screen first and waits for its first frame, so a screen that
    /// cannot be captured is reported here and nobody is told of a share that shows
    /// nothing; then the server is asked, which refuses while sharing is locked to hosts
    /// and managers. A host locking sharing later, or the screen going away, stops the share.
    ///
    /// # Errors
    /// [`ClientError::Media`] when this app cannot share or the screen cannot be captured;
    /// as [`Session::set_sharing`] when the server refuses.
    pub async fn set_sharing(&self, on: bool, screen: Option<String>) -> Result<(), ClientError> {
        let feed = &self.shared.screen;
        if !on {
            feed.set_on(false);
            return self.session.set_sharing(false).await;
        }
        let Some(screens) = &self.screen else {
            return Err(ClientError::Media(
                "this app cannot share screens".to_owned(),
            ));
        };
        // A new attempt: whatever an earlier share left shown (its failure, its last
        // frame) is not this one's answer.
        feed.local.send_replace(LocalVideo::Starting);
        let mut local = feed.local.subscribe();
        if let Some(input) = screens
            .input
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            send::start_screen(input, Arc::clone(&self.shared));
        }
        feed.switch_to(screen);
        feed.set_on(true);
        // In a block of its own: the watch's read guard must be gone before the next await.
        let failure = {
            let first = tokio::time::timeout(
                SHARE_START_TIMEOUT,
                local.wait_for(|s| matches!(s, LocalVideo::Live(_) | LocalVideo::Failed(_))),
            )
            .await;
            match first {
                Ok(Ok(state)) => match &*state {
                    LocalVideo::Failed(why) => Some(why.to_string()),
                    _ => None,
                },
                Ok(Err(_)) => Some("the call is over".to_owned()),
                Err(_) => Some("the screen sent no picture in time".to_owned()),
            }
        };
        if let Some(why) = failure {
            feed.set_on(false);
            return Err(ClientError::Media(format!(
                "cannot share the screen: {why}"
            )));
        }
        if let Err(e) = self.session.set_sharing(true).await {
            feed.set_on(false);
            return Err(e);
        }
        Ok(())
    }

    /// What this app shares, newest frame only (`Off` when not sharing).
    #[must_use]
    pub fn local_screen(&self) -> watch::Receiver<LocalVideo> {
        self.shared.screen.local.subscribe()
    }

    /// Tells the server which videos this app shows, and how big (most important first).
    ///
    /// # Errors
    /// [`ClientError::SessionClosed`] when the call is over.
    pub async fn subscribe(&self, videos: Vec<VideoWant>) -> Result<(), ClientError> {
        self.session
            .send_media(MediaRequest::Subscribe { videos })
            .await
    }

    /// Jitter buffer counters of each audio slot.
    #[must_use]
    pub fn audio_stats(&self) -> Vec<(usize, JitterStats)> {
        self.shared
            .jitter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(slot, remote)| (*slot, remote.stats()))
            .collect()
    }

    /// What arrived from each member over each slot, for connection-quality indicators:
    /// sample it now and then and compare.
    #[must_use]
    pub fn reception(&self) -> Vec<Reception> {
        let mut out = Vec::new();
        let video = self
            .shared
            .video_reception
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (slot, entry) in video.into_iter().enumerate() {
            if let Some((participant, received, lost)) = entry {
                if self.shared.participant_in(SlotKind::Video, slot) == Some(participant) {
                    out.push(Reception {
                        participant,
                        video: true,
                        slot,
                        received,
                        lost,
                    });
                }
            }
        }
        for (slot, stats) in self.audio_stats() {
            if let Some(participant) = self.shared.participant_in(SlotKind::Audio, slot) {
                out.push(Reception {
                    participant,
                    video: false,
                    slot,
                    received: stats.received,
                    lost: stats.late + stats.fec_recovered,
                });
            }
        }
        out
    }

    /// The received audio of each slot as playout sources for the speaker mixer.
    #[must_use]
    pub fn audio_sources(&self) -> Vec<(usize, huddle_media::RemoteAudio)> {
        self.shared
            .jitter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> CallStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallStats {
            audio_packets_sent: get(&c.audio_packets_sent),
            video_frames_sent: get(&c.video_frames_sent),
            screen_frames_sent: get(&c.screen_frames_sent),
            keyframes_sent: get(&c.keyframes_sent),
            keyframe_requests: get(&c.keyframe_requests),
            video_frames_decoded: get(&c.video_frames_decoded),
            decode_errors: get(&c.decode_errors),
            video_frames_lost: get(&c.video_frames_lost),
            rtp_received: get(&c.rtp_received),
            events_dropped: get(&c.events_dropped),
            connections: get(&c.connections),
            bandwidth_estimate_bps: self
                .shared
                .target
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map_or(0.0, huddle_rtp::BandwidthTarget::bits_per_second),
            video_bitrate_bps: get(&c.video_bitrate_bps),
        }
    }

    /// Moves the call's audio ([`AudioInput::Devices`]) to another microphone and/or speaker
    /// (`None`: keep it, `Some(None)`: the system's default). What the devices feed carries
    /// on (the microphone's queue, the mix of voices, the echo reference); a device that
    /// cannot be opened leaves the previous one in use.
    ///
    /// # Errors
    /// [`ClientError::Device`] naming the device that failed; [`ClientError::NoDeviceAudio`]
    /// when the call was joined without devices (or they are still opening).
    pub async fn switch_audio(
        &self,
        microphone: Option<Option<String>>,
        speaker: Option<Option<String>>,
    ) -> Result<(), ClientError> {
        let shared = Arc::clone(&self.shared);
        // Opening a device blocks for tens of milliseconds, a slow one for seconds.
        let switched = tokio::task::spawn_blocking(move || {
            let sources = shared
                .jitter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            shared
                .device_audio
                .with(|audio| audio.switch(microphone, speaker, &sources))
        })
        .await
        .map_err(|e| ClientError::Media(format!("the device switch stopped: {e}")))?;
        switched
            .ok_or(ClientError::NoDeviceAudio)?
            .map_err(ClientError::Device)
    }

    /// Plays `member` at `volume` on this computer's speaker (0 = silent, 1 as sent, up to 2 =
    /// doubled; clamped to that): a choice of this listener only, nobody else is told. It
    /// holds for the whole call — across the member's audio slot being rebuilt and their
    /// resume — and is forgotten when the call ends. Takes effect within 10 ms, ramped.
    pub fn set_member_volume(&self, member: ParticipantId, volume: f32) {
        self.shared.volumes.set_member(member, volume);
    }

    /// The volume set for `member` (1 when none was).
    #[must_use]
    pub fn member_volume(&self, member: ParticipantId) -> f32 {
        self.shared.volumes.member(member)
    }

    /// The gain applied to what we send, after the microphone's processing and before the
    /// encoder: 0 = silent, 1 as captured, up to 2 = doubled (clipped to the sample range).
    pub fn set_input_volume(&self, volume: f32) {
        self.shared.input.set_volume(volume);
    }

    /// The input sensitivity: a noise gate that sends silence while the level (after the input
    /// volume) stays below `threshold_dbfs`, opening within a few ms and closing only after
    /// 200 ms below it; `None` sends everything.
    pub fn set_input_gate(&self, threshold_dbfs: Option<f32>) {
        self.shared.input.set_gate(threshold_dbfs);
    }

    /// The level of what we send, as last read (every 10 ms while there is audio to send, muted
    /// or not).
    #[must_use]
    pub fn input_level(&self) -> InputLevel {
        self.shared.input_level.get()
    }

    /// The call's microphone and speaker ([`AudioInput::Devices`]), once they were opened.
    #[must_use]
    pub fn audio_devices(&self) -> Option<DeviceAudioState> {
        self.shared.device_audio.state()
    }

    /// Leaves the session and stops all media.
    ///
    /// # Errors
    /// As [`Session::leave`].
    pub async fn leave(&self) -> Result<(), ClientError> {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.stop.cancel();
        let left = self.session.leave().await;
        self.wait_ended(LEAVE_WAIT).await;
        left
    }

    /// Waits (at most `limit`) until every task and thread of the call has ended: then the
    /// camera, the screen capture and the codecs are released and nothing of the call runs.
    /// Returns whether all ended in time.
    pub async fn wait_ended(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        self.shared.tasks.close();
        let tasks_done = tokio::time::timeout_at(deadline, self.shared.tasks.wait())
            .await
            .is_ok();
        let threads: Vec<_> = std::mem::take(
            &mut *self
                .shared
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        // The microphone thread stops and the devices close off the runtime.
        let devices = self.shared.device_audio.take();
        let joined = tokio::task::spawn_blocking(move || {
            drop(devices);
            for thread in threads {
                if thread.join().is_err() {
                    tracing::warn!("a call thread panicked");
                }
            }
        });
        let threads_done = matches!(tokio::time::timeout_at(deadline, joined).await, Ok(Ok(())));
        if !(tasks_done && threads_done) {
            tracing::warn!(
                tasks = self.shared.tasks.len(),
                "the call's tasks or threads did not end within {limit:?}"
            );
        }
        tasks_done && threads_done
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}
