//! The call the app is in, if any: `huddle-client`'s call (signaling and media, with this
//! computer's microphone and speaker), and the task that forwards its events to the window.
//!
//! Joining replaces any earlier call (it is left first). The forwarding task coalesces bursts
//! of state changes into one snapshot, so a window that falls behind sees the latest roster
//! rather than a queue of old ones; chat, notices, link and media changes are sent as they
//! come. Decoded video is offered to the frame hub (`crate::frames`) under its sender's
//! tile, which keeps only the newest frame a tile has not taken. Chat is also offered to the
//! desktop notifications (`crate::notifications`), which decide whether it matters to me.
//! The last event on the window's channel says why the call is over.

mod quality;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use huddle_client::call::{
    self as client_call, AudioDevices, AudioInput, CallEvent as MediaEvent, CallEvents,
    CallOptions, LocalVideo, ScreenInput, VideoInput,
};
use huddle_client::session::{self, JoinOptions, Notice, Session, SessionEvent};
use huddle_client::ClientError;
use huddle_media::{CameraRegistry, CaptureFormat, InputControls};
use huddle_proto::{ParticipantId, VideoWant};
use tokio::sync::{watch, Mutex};

use crate::error::AppError;
use crate::frames::{Hub, Source};
use crate::latest::Latest;
use crate::notifications::Notifications;
use view::{CallEvent, JoinRequest, JoinedView, TileSize};

/// How long leaving may take when the app closes, so a dead server cannot hold the exit up.
const LEAVE_ON_EXIT: Duration = Duration::from_secs(2);
/// Events taken in one go before what they carry is sent on.
const MAX_BATCH: usize = 64;
/// What the camera captures and the encoder sends in a call: the preview's size and rate,
/// which a two-core laptop encodes alongside decoding a gallery of others.
pub const CALL_CAMERA_FORMAT: CaptureFormat = crate::devices::PREVIEW_FORMAT;

/// Where the forwarding task sends events: the window's channel, or a test's queue.
pub trait EventSink: Clone + Send + 'static {
    /// False once nobody listens any more.
    fn send(&self, event: CallEvent) -> bool;
}

impl EventSink for tauri::ipc::Channel<CallEvent> {
    fn send(&self, event: CallEvent) -> bool {
        tauri::ipc::Channel::send(self, event).is_ok()
    }
}

/// The devices the call may use; tests join without any.
#[derive(Default)]
pub struct LocalMedia {
    /// Cameras to send from (the app's registry, with its test pattern).
    pub cameras: Option<CameraRegistry>,
    /// Open the microphone and speaker named in the request.
    pub audio: bool,
    /// Screens that may be shared.
    pub screens: Option<ScreenInput>,
    /// The microphone's volume and gate, kept by the device check (which the call follows).
    pub input: Arc<InputControls>,
}

/// This computer's screens, to share at [`ScreenInput::DEFAULT_LIMIT`].
pub fn screens() -> ScreenInput {
    ScreenInput {
        open: Arc::new(huddle_media::open_screen),
        limit: ScreenInput::DEFAULT_LIMIT,
    }
}

struct Active {
    call: client_call::Call,
    /// Tasks that live as long as the call (own camera, connection quality).
    tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
}

impl Drop for Active {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The app's call slot.
pub struct Call {
    active: Mutex<Option<Active>>,
    /// The join under way, if any. Leaving (or a newer join) cancels it: a join never holds
    /// the slot's lock while it waits on the network, so Leave always wins.
    joining: Latest,
    /// Where decoded video (and my camera's) goes to the tiles.
    tiles: Arc<Hub>,
    /// Desktop notifications for chat that matters to me while the window is in the back.
    alerts: Arc<Notifications>,
}

impl Call {
    pub fn new(tiles: Arc<Hub>) -> Self {
        Call {
            active: Mutex::new(None),
            joining: Latest::default(),
            tiles,
            alerts: Arc::default(),
        }
    }

    /// Chat that mentions me or is for me alone goes to `alerts` too.
    pub fn with_alerts(mut self, alerts: Arc<Notifications>) -> Self {
        self.alerts = alerts;
        self
    }

    /// Joins, replacing (leaving) any call the app is in. `embedded` is the hosted server's
    /// address, used when the request names no server.
    pub async fn join(
        &self,
        request: JoinRequest,
        embedded: Option<String>,
        local: LocalMedia,
        sink: impl EventSink,
    ) -> Result<JoinedView, AppError> {
        let typed = !request.server.trim().is_empty();
        let server = if !typed {
            embedded.ok_or(AppError::NotHosting)?
        } else {
            request.server.trim().to_owned()
        };
        let cancel = self.joining.start();
        let earlier = self.active.lock().await.take();
        if let Some(old) = earlier {
            let _ = old.call.leave().await;
        }
        self.tiles.clear_participants();
        let invite_server = server.clone();
        let mut options = JoinOptions::new(server, request.session_name, request.display_name);
        options.passcode = request.passcode.filter(|p| !p.is_empty());
        options.token = view::pasted_token(request.token);
        options.audio_muted = request.audio_muted;
        options.video_on = request.video_on;
        // The window says "waiting for the host" while the join sits in a lobby.
        let (waiting, mut waits) = tokio::sync::mpsc::unbounded_channel();
        options.on_waiting = Some(waiting);
        let waiting_sink = sink.clone();
        tauri::async_runtime::spawn(async move {
            while let Some(notice) = waits.recv().await {
                waiting_sink.send(CallEvent::Waiting {
                    session_name: notice.session_name,
                });
            }
        });
        let mut options = CallOptions::new(options);
        options.decode_video = true;
        options.deliver_audio = false;
        if let Some(registry) = local.cameras {
            options.video = VideoInput::Camera {
                registry,
                id: request.camera_id,
                format: CALL_CAMERA_FORMAT,
            };
        }
        options.screen = local.screens;
        if local.audio {
            options.audio = AudioInput::Devices(AudioDevices {
                microphone: request.microphone_id,
                speaker: request.speaker_id,
                input: Arc::clone(&local.input),
                ..AudioDevices::default()
            });
        }
        let (call, events) = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ClientError::Cancelled.into()),
            joined = client_call::join(options) => joined?,
        };
        let mut slot = self.active.lock().await;
        if cancel.is_cancelled() {
            drop(slot);
            let _ = call.leave().await;
            return Err(ClientError::Cancelled.into());
        }
        let session = call.session();
        let state = session.state();
        let joined = JoinedView {
            state: view::snapshot(&state, &session.status()),
            chat: state.chat.iter().map(view::chat).collect(),
            media: view::media(&call.media_state()),
            invite_link: invite_link(&state.session.name, &invite_server, typed),
        };
        let tasks = vec![
            tauri::async_runtime::spawn(show_own_camera(
                call.local_video(),
                state.me.0,
                Arc::clone(&self.tiles),
                sink.clone(),
            )),
            tauri::async_runtime::spawn(show_own_screen(
                call.local_screen(),
                state.me.0,
                Arc::clone(&self.tiles),
                sink.clone(),
            )),
            tauri::async_runtime::spawn(watch_quality(call.clone(), state.me.0, sink.clone())),
        ];
        tauri::async_runtime::spawn(forward(
            call.session().clone(),
            events,
            sink,
            Arc::clone(&self.tiles),
            Arc::clone(&self.alerts),
        ));
        *slot = Some(Active { call, tasks });
        Ok(joined)
    }

    /// A handle on the current call's media and session.
    pub async fn media(&self) -> Result<client_call::Call, AppError> {
        self.active
            .lock()
            .await
            .as_ref()
            .map(|a| a.call.clone())
            .ok_or(AppError::NotInCall)
    }

    /// A handle on the current call's session (roster, chat, host actions).
    pub async fn session(&self) -> Result<Session, AppError> {
        Ok(self.media().await?.session().clone())
    }

    /// Leaves the call, if there is one, and cancels a join under way.
    pub async fn leave(&self) -> Result<(), AppError> {
        self.joining.cancel();
        let active = self.active.lock().await.take();
        self.tiles.clear_participants();
        match active {
            Some(a) => {
                self.log_video(&a.call);
                a.call.leave().await.map_err(AppError::from)
            }
            None => Ok(()),
        }
    }

    /// Ends the session for everyone (host only; the server checks).
    pub async fn end_for_all(&self) -> Result<(), AppError> {
        let session = self.session().await?;
        session.end().await.map_err(AppError::from)?;
        self.active.lock().await.take();
        self.tiles.clear_participants();
        Ok(())
    }

    /// Moves the call to other devices; `None` leaves that one as it is, `Some(None)` picks
    /// the system's default.
    pub async fn switch_devices(
        &self,
        camera: Option<Option<String>>,
        microphone: Option<Option<String>>,
        speaker: Option<Option<String>>,
    ) -> Result<(), AppError> {
        let call = self.media().await?;
        if let Some(id) = camera {
            call.set_camera(id);
        }
        if microphone.is_none() && speaker.is_none() {
            return Ok(());
        }
        call.switch_audio(microphone, speaker)
            .await
            .map_err(AppError::from)
    }

    /// Sets `key` of the session's metadata or of mine to the JSON `value`.
    pub async fn set_metadata(
        &self,
        scope: view::MetadataScope,
        key: &str,
        value: &str,
    ) -> Result<(), AppError> {
        let change = view::metadata_set(key, value)?;
        self.change_metadata(scope, change).await
    }

    /// Removes `key` from the session's metadata or from mine.
    pub async fn delete_metadata(
        &self,
        scope: view::MetadataScope,
        key: &str,
    ) -> Result<(), AppError> {
        let change = huddle_proto::MetadataChange::delete(vec![key.to_owned()]);
        self.change_metadata(scope, change).await
    }

    async fn change_metadata(
        &self,
        scope: view::MetadataScope,
        change: huddle_proto::MetadataChange,
    ) -> Result<(), AppError> {
        let session = self.session().await?;
        match scope {
            view::MetadataScope::Room => session.update_room_metadata(change).await,
            view::MetadataScope::Mine => session.update_member_metadata(None, change).await,
        }
        .map_err(AppError::from)
    }

    /// Starts sharing a screen (`None`: the primary one), or stops.
    pub async fn set_sharing(&self, on: bool, screen: Option<String>) -> Result<(), AppError> {
        let call = self.media().await?;
        Ok(call.set_sharing(on, screen).await?)
    }

    /// Tells the server which videos the window shows and how big, most important first.
    pub async fn set_tile_sizes(&self, sizes: Vec<TileSize>) -> Result<(), AppError> {
        let call = self.media().await?;
        let me = call.session().state().me;
        let wants: Vec<VideoWant> = sizes
            .into_iter()
            .filter(|s| s.participant != me.0 && s.width > 0 && s.height > 0)
            .map(|s| VideoWant {
                participant: ParticipantId(s.participant),
                width: s.width,
                height: s.height,
            })
            .collect();
        tracing::debug!(?wants, "tile sizes");
        call.subscribe(wants).await.map_err(AppError::from)
    }

    /// Logs what the call's video did, for bug reports and benchmarks.
    fn log_video(&self, call: &client_call::Call) {
        let stats = call.stats();
        let (to_tiles, skipped_for_tiles) = self.tiles.counts();
        tracing::info!(
            decoded = stats.video_frames_decoded,
            lost = stats.video_frames_lost,
            events_dropped = stats.events_dropped,
            to_tiles,
            skipped_for_tiles,
            sent = stats.video_frames_sent,
            "call video"
        );
    }

    /// Leaves quickly when the app closes.
    pub async fn leave_on_exit(&self) {
        if tokio::time::timeout(LEAVE_ON_EXIT, self.leave())
            .await
            .is_err()
        {
            tracing::warn!("leaving the call took too long; closing anyway");
        }
    }
}

/// The link "Copy invite link" copies: the https form (the server's join page, which works
/// from any browser and shows the session to someone without the app) for a server typed on
/// the form, the `huddle://` form for this computer's hosted one (plain HTTP on loopback or a
/// home network, whose page only reaches those who could join anyway) or a server whose page
/// cannot be told from its address.
fn invite_link(session: &str, server: &str, typed: bool) -> String {
    typed
        .then(|| crate::links::web_link(session, server))
        .flatten()
        .unwrap_or_else(|| crate::links::join_link(session, Some(server)))
}

/// Sends the call's own camera frames to the person's own tile (the camera is opened once,
/// by the call), and tells the window when the camera starts, stops or fails.
async fn show_own_camera(
    mut local: watch::Receiver<LocalVideo>,
    me: u64,
    tiles: Arc<Hub>,
    sink: impl EventSink,
) {
    let mut shown: Option<view::CameraView> = None;
    loop {
        let state = local.borrow_and_update().clone();
        if let LocalVideo::Live(frame) = &state {
            tiles.offer(Source::Participant(me), frame);
        }
        let now = view::camera(&state);
        if shown.as_ref() != Some(&now) {
            if !sink.send(CallEvent::Camera {
                camera: now.clone(),
            }) {
                return;
            }
            shown = Some(now);
        }
        if local.changed().await.is_err() {
            return;
        }
    }
}

/// Sends what this app shares to the person's own screen tile, and tells the window when
/// a running share's screen could not be captured any more (which ends the share). A share
/// that fails to start is not told here: the share command answers with the reason.
async fn show_own_screen(
    mut local: watch::Receiver<LocalVideo>,
    me: u64,
    tiles: Arc<Hub>,
    sink: impl EventSink,
) {
    let mut live = false;
    loop {
        let state = local.borrow_and_update().clone();
        match state {
            LocalVideo::Live(frame) => {
                live = true;
                tiles.offer(Source::Screen(me), &frame);
            }
            LocalVideo::Failed(e) => {
                let error = AppError::from(e).view();
                if std::mem::take(&mut live) && !sink.send(CallEvent::ShareStopped { error }) {
                    return;
                }
            }
            LocalVideo::Off | LocalVideo::Starting => live = false,
        }
        if local.changed().await.is_err() {
            return;
        }
    }
}

/// How often connection quality is graded.
const QUALITY_PERIOD: Duration = Duration::from_secs(2);

/// Grades every member's connection every [`QUALITY_PERIOD`] and tells the window when the
/// grades change.
async fn watch_quality(call: client_call::Call, me: u64, sink: impl EventSink) {
    let mut tracker = quality::Tracker::default();
    let mut shown: Vec<view::MemberQuality> = Vec::new();
    let mut tick = tokio::time::interval(QUALITY_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut grades = tracker.sample(&call.reception());
        if let Some(mine) = quality::own(&call.media_state(), call.stats().bandwidth_estimate_bps) {
            grades.insert(me, mine);
        }
        let mut members: Vec<view::MemberQuality> = grades
            .into_iter()
            .map(|(id, quality)| view::MemberQuality { id, quality })
            .collect();
        members.sort_by_key(|m| m.id);
        if members != shown {
            if !sink.send(CallEvent::Quality {
                members: members.clone(),
            }) {
                return;
            }
            shown = members;
        }
    }
}

/// Forwards the call's events until the call is over or the window stops listening.
async fn forward(
    session: Session,
    mut events: CallEvents,
    sink: impl EventSink,
    tiles: Arc<Hub>,
    alerts: Arc<Notifications>,
) {
    // The remover's or host's name, from the notice that precedes the close.
    let mut closer: Option<String> = None;
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Some(more) => batch.push(more),
                None => break,
            }
        }
        // Only the latest state of a burst is worth drawing; it goes out before the next
        // non-state event so the window never shows a notice ahead of its cause.
        let mut pending = None;
        for event in batch {
            let event = match event {
                MediaEvent::Session(event) => event,
                MediaEvent::Media(state) => {
                    if !sink.send(CallEvent::Media {
                        media: view::media(&state),
                    }) {
                        return;
                    }
                    continue;
                }
                MediaEvent::Video(video) => {
                    // Straight on: the hub keeps only the newest frame a tile has not taken.
                    if let Some(p) = video.participant {
                        let source = if video.screen {
                            Source::Screen(p.0)
                        } else {
                            Source::Participant(p.0)
                        };
                        tiles.offer(source, &video.frame);
                    }
                    continue;
                }
                _ => continue,
            };
            let out = match event {
                SessionEvent::StateChanged { state, .. } => {
                    pending = Some(state);
                    continue;
                }
                SessionEvent::Chat(message) => {
                    let state = session.state_watch();
                    let me = state.borrow().me;
                    alerts.chat(&message, me, || {
                        Some(state.borrow().myself()?.display_name.clone())
                    });
                    CallEvent::Chat {
                        message: view::chat(&message),
                    }
                }
                SessionEvent::Notice(notice) => {
                    match &notice {
                        Notice::YouWereRemoved { by_name, .. } => closer = Some(by_name.clone()),
                        Notice::SessionEnded {
                            by_name: Some(by_name),
                            ..
                        } => closer = Some(by_name.clone()),
                        Notice::WaiterJoined { name, .. } => alerts.lobby_waiting(name),
                        _ => {}
                    }
                    match view::notice(&notice) {
                        Some(notice) => CallEvent::Notice { notice },
                        None => continue,
                    }
                }
                SessionEvent::App(event) => match view::app_event(event) {
                    Some(out) => out,
                    None => continue,
                },
                SessionEvent::Connection(status) => match status {
                    session::ConnectionStatus::Closed { reason } => CallEvent::Closed {
                        reason: view::close_reason(&reason, closer.clone()),
                    },
                    other => CallEvent::Link {
                        link: view::link(&other),
                    },
                },
                _ => continue,
            };
            if let Some(state) = pending.take() {
                if !sink.send(CallEvent::State {
                    state: view::snapshot(&state, &session.status()),
                }) {
                    return;
                }
            }
            let closed = matches!(out, CallEvent::Closed { .. });
            if !sink.send(out) || closed {
                return;
            }
        }
        if let Some(state) = pending.take() {
            if !sink.send(CallEvent::State {
                state: view::snapshot(&state, &session.status()),
            }) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[derive(Clone)]
    struct Queue(mpsc::Sender<CallEvent>);
    impl EventSink for Queue {
        fn send(&self, event: CallEvent) -> bool {
            self.0.send(event).is_ok()
        }
    }

    async fn server() -> Result<huddle_server::ServerHandle, Box<dyn std::error::Error>> {
        let mut config = huddle_server::ServerConfig::open_loopback();
        config.bind = ([127, 0, 0, 1], 0).into();
        Ok(huddle_server::Server::start(config).await?)
    }

    fn request(name: &str) -> JoinRequest {
        JoinRequest {
            server: String::new(),
            session_name: "Weekly".into(),
            display_name: name.into(),
            passcode: None,
            token: None,
            audio_muted: false,
            video_on: true,
            camera_id: None,
            microphone_id: None,
            speaker_id: None,
        }
    }

    fn next(rx: &mpsc::Receiver<CallEvent>, what: impl Fn(&CallEvent) -> bool) -> CallEvent {
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(e) if what(&e) => return e,
                Ok(_) => continue,
                Err(e) => panic!("no matching event: {e}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_host_mutes_a_guest_and_ends_the_session() -> Result<(), Box<dyn std::error::Error>> {
        let server = server().await?;
        let (host_tx, host_rx) = mpsc::channel();
        let (guest_tx, guest_rx) = mpsc::channel();
        let host = Call::new(Arc::default());
        let guest = Call::new(Arc::default());
        let joined = host
            .join(
                request("Ann"),
                Some(server.ws_url()),
                LocalMedia::default(),
                Queue(host_tx),
            )
            .await?;
        assert_eq!(joined.state.role, view::RoleView::Host);
        // This computer's server: the huddle:// form.
        assert!(
            joined
                .invite_link
                .starts_with("huddle://join?session=Weekly&server="),
            "{}",
            joined.invite_link
        );
        let guest_joined = guest
            .join(
                request("Bo"),
                Some(server.ws_url()),
                LocalMedia::default(),
                Queue(guest_tx),
            )
            .await?;
        assert_eq!(guest_joined.state.members.len(), 2);
        let bo = guest_joined.state.me;

        // The guest may not mute anyone; the refusal is the server's own words.
        let refused = guest
            .session()
            .await?
            .mute(huddle_proto::ParticipantId(joined.state.me))
            .await
            .map_err(AppError::from);
        let view = refused.as_ref().map_err(AppError::view);
        assert!(
            matches!(view, Err(ref v) if v.kind == crate::error::ErrorKind::Refused && v.message.len() > 1),
            "{refused:?}"
        );

        host.session()
            .await?
            .mute(huddle_proto::ParticipantId(bo))
            .await
            .map_err(AppError::from)?;
        next(
            &guest_rx,
            |e| matches!(e, CallEvent::Notice { notice: view::NoticeView::YouWereMuted { by } } if by == "Ann"),
        );
        next(
            &host_rx,
            |e| matches!(e, CallEvent::State { state } if state.members.iter().any(|m| m.id == bo && m.audio_muted)),
        );

        host.end_for_all().await?;
        let closed = next(&guest_rx, |e| matches!(e, CallEvent::Closed { .. }));
        assert_eq!(
            closed,
            CallEvent::Closed {
                reason: view::EndView::EndedByHost {
                    by: Some("Ann".into())
                }
            }
        );
        assert!(matches!(host.session().await, Err(AppError::NotInCall)));
        server.shutdown().await;
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leave_wins_over_a_join_to_a_server_that_never_answers(
    ) -> Result<(), Box<dyn std::error::Error>> {
        // Accepts connections and holds them, never saying a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = silent.local_addr()?;
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                sockets.push(socket);
            }
        });
        let call = Arc::new(Call::new(Arc::default()));
        let (tx, _rx) = mpsc::channel();
        let mut to_silent = request("Ann");
        to_silent.server = format!("ws://{address}/v1/ws");
        let joining = tokio::spawn({
            let call = Arc::clone(&call);
            async move {
                call.join(to_silent, None, LocalMedia::default(), Queue(tx))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!joining.is_finished(), "the silent server answered?");

        // Leave returns at once (the bound only keeps a regression from hanging the suite)
        // and the join ends as cancelled.
        tokio::time::timeout(Duration::from_secs(5), call.leave()).await??;
        let joined = tokio::time::timeout(Duration::from_secs(5), joining).await??;
        assert!(
            matches!(joined, Err(AppError::Client(ClientError::Cancelled))),
            "{joined:?}"
        );
        assert!(matches!(call.session().await, Err(AppError::NotInCall)));

        // The slot is free: a join to a real server works after it.
        let server = server().await?;
        let (tx, _rx) = mpsc::channel();
        call.join(
            request("Ann"),
            Some(server.ws_url()),
            LocalMedia::default(),
            Queue(tx),
        )
        .await?;
        call.leave().await?;
        server.shutdown().await;
        held.abort();
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_in_token_mode_admits_the_token_typed_on_the_form(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let secret = b"a secret shared with the organisation's backend".to_vec();
        let mut config = huddle_server::ServerConfig::open_loopback();
        config.bind = ([127, 0, 0, 1], 0).into();
        config.auth = huddle_server::AuthMode::Jwt {
            secret: secret.clone(),
        };
        let server = huddle_server::Server::start(config).await?;
        let call = Call::new(Arc::default());
        let mut without = request("Ann");
        without.server = server.ws_url();
        let (tx, _rx) = mpsc::channel();
        let refused = call
            .join(without.clone(), None, LocalMedia::default(), Queue(tx))
            .await
            .map(|_| ());
        let view = refused.as_ref().map_err(AppError::view);
        assert!(
            matches!(view, Err(ref v) if v.kind == crate::error::ErrorKind::TokenRequired),
            "{refused:?}"
        );

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let token = huddle_server::mint_token(
            &secret,
            &huddle_server::MintRequest {
                session: "Weekly".into(),
                role: huddle_proto::Role::Host,
                ttl: Duration::from_secs(600),
                identity: None,
                session_key: None,
                now_unix: now,
            },
        )?;
        let mut with = without;
        // As pasted: the form trims it.
        with.token = Some(format!("  {token}\n"));
        let (tx, _rx) = mpsc::channel();
        let joined = call
            .join(with, None, LocalMedia::default(), Queue(tx))
            .await?;
        assert_eq!(joined.state.role, view::RoleView::Host);
        // A server typed on the form: the invite is its https (here http) join page.
        assert_eq!(
            joined.invite_link,
            format!("{}/join?session=Weekly", server.http_url())
        );
        call.leave().await?;
        server.shutdown().await;
        Ok(())
    }

    /// A call slot of its own in the session "Weekly" on `server`, and its events.
    async fn joined(
        server: &huddle_server::ServerHandle,
        name: &str,
    ) -> Result<(Call, mpsc::Receiver<CallEvent>), AppError> {
        let (tx, rx) = mpsc::channel();
        let call = Call::new(Arc::default());
        let request = request(name);
        call.join(
            request,
            Some(server.ws_url()),
            LocalMedia::default(),
            Queue(tx),
        )
        .await?;
        Ok((call, rx))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metadata_set_in_the_app_reaches_everyone_and_refusals_are_in_words(
    ) -> Result<(), Box<dyn std::error::Error>> {
        use view::MetadataScope::{Mine, Room};
        let server = server().await?;
        let (host, _host_rx) = joined(&server, "Ann").await?;
        let (guest, guest_rx) = joined(&server, "Bo").await?;

        host.set_metadata(Room, "topic", r#" "Q3 review" "#).await?;
        let entry = |key: &str, value: &str| view::MetadataEntryView {
            key: key.into(),
            value: value.into(),
        };
        next(
            &guest_rx,
            |e| matches!(e, CallEvent::State { state } if state.metadata == [entry("topic", "\"Q3 review\"")]),
        );
        guest
            .set_metadata(Mine, "status", r#"{"away": true}"#)
            .await?;
        next(
            &guest_rx,
            |e| matches!(e, CallEvent::State { state } if state.my_metadata == [entry("status", r#"{"away":true}"#)]),
        );

        // A participant may not change the session's; the server says why.
        let refused = guest.set_metadata(Room, "topic", "1").await;
        let view = refused.as_ref().map_err(AppError::view);
        assert!(
            matches!(view, Err(ref v) if v.kind == crate::error::ErrorKind::Refused && v.message.ends_with('.')),
            "{refused:?}"
        );
        // Too large for a member: the server's limit in its words.
        let big = format!("\"{}\"", "x".repeat(2000));
        let refused = guest.set_metadata(Mine, "note", &big).await;
        assert!(
            matches!(refused.as_ref().map_err(AppError::view), Err(ref v) if v.kind == crate::error::ErrorKind::Refused),
            "{refused:?}"
        );
        // Not JSON never leaves the app.
        let refused = guest.set_metadata(Mine, "note", "hello there").await;
        assert!(
            matches!(refused.as_ref().map_err(AppError::view), Err(ref v) if v.kind == crate::error::ErrorKind::InvalidMetadata && v.message.starts_with("That can't be set: the value is not JSON")),
            "{refused:?}"
        );

        host.delete_metadata(Room, "topic").await?;
        next(
            &guest_rx,
            |e| matches!(e, CallEvent::State { state } if state.metadata.is_empty()),
        );
        host.leave().await?;
        guest.leave().await?;
        server.shutdown().await;
        Ok(())
    }

    #[tokio::test]
    async fn joining_without_a_server_or_hosting_is_a_clear_error() {
        let call = Call::new(Arc::default());
        let (tx, _rx) = mpsc::channel();
        let err = call
            .join(request("Ann"), None, LocalMedia::default(), Queue(tx))
            .await;
        assert!(matches!(err, Err(AppError::NotHosting)), "{err:?}");
        assert!(matches!(call.leave().await, Ok(())));
    }
}
