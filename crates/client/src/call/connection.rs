//! The media task: one WebRTC connection to the forwarding unit at a time, rebuilt whenever
//! it fails, the server drops it, or the session resumed after the link was lost.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use huddle_proto::{Action, IceServer, MediaEvent, MediaRequest};
use huddle_rtp::rtc::ice::mdns::MulticastDnsMode;
use huddle_rtp::rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use huddle_rtp::rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionState,
    RTCSessionDescription, SettingEngineBuilder,
};

use super::send::{random_u32, FeedKind, Tracks};
use super::{receive, CallEvent, MediaState, Shared, SlotMap};
use crate::session::{ConnectionStatus, Session};

/// How long candidate gathering may take before the offer goes out with what there is.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may take to come up after the answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection `disconnected` this long is replaced rather than waited for. Long enough to
/// ride out a short outage on the connection we have (ICE picks up again by itself, at once),
/// short enough to move on when the server has dropped it.
const DISCONNECTED_GRACE: Duration = Duration::from_secs(8);
/// Pause before building again after a failure.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Time between ICE connectivity checks (the library default is 200 ms).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Checks per candidate pair before it fails: 1.4 s at [`ICE_CHECK_INTERVAL`], as by default.
const ICE_CHECKS_PER_CANDIDATE: u16 = 28;

/// What the server said media looks like.
#[derive(Clone)]
struct Ready {
    ice_servers: Vec<IceServer>,
    audio_slots: u8,
    video_slots: u8,
    share_slots: u8,
}

struct Handler {
    shared: Arc<Shared>,
    state: watch::Sender<RTCPeerConnectionState>,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.shared
            .tasks
            .spawn(receive::run_track(track, Arc::clone(&self.shared)));
    }
}

/// One connection and what it publishes.
struct Conn {
    pc: Arc<dyn PeerConnection>,
    state: watch::Receiver<RTCPeerConnectionState>,
    tracks: Tracks,
    answered: bool,
    started: Instant,
    connected: bool,
    disconnected_since: Option<Instant>,
}

/// Runs until the session is over.
pub(crate) async fn run(
    session: Session,
    mut media: mpsc::Receiver<MediaEvent>,
    shared: Arc<Shared>,
    relay_only: bool,
) {
    let mut status = session.status_watch();
    let mut roster = session.state_watch();
    let mut talking = shared.talking.subscribe();
    let mut last_me = roster
        .borrow()
        .myself()
        .map(|m| (m.audio_muted, m.video_on, m.sharing));
    let mut screen = shared.screen.local.subscribe();
    let mut ready: Option<Ready> = None;
    let mut conn: Option<Conn> = None;
    let mut retry_at: Option<Instant> = None;
    loop {
        if shared.closed.load(Ordering::Relaxed) {
            break;
        }
        let link_up = *status.borrow() == ConnectionStatus::Connected;
        if conn.is_none() && link_up && retry_at.is_none_or(|at| Instant::now() >= at) {
            if let Some(ready) = &ready {
                match Conn::start(&session, ready, &shared, relay_only).await {
                    Ok(c) => {
                        conn = Some(c);
                        retry_at = None;
                    }
                    Err(e) => {
                        tracing::warn!("media connection: {e}");
                        shared.set_state(MediaState::Reconnecting);
                        retry_at = Some(Instant::now() + RETRY_DELAY * 4);
                    }
                }
            }
        }
        let deadline = next_deadline(conn.as_ref(), retry_at);
        let mut conn_state = conn.as_ref().map(|c| c.state.clone());
        tokio::select! {
            event = media.recv() => {
                let Some(event) = event else { break };
                match event {
                    MediaEvent::Ready { ice_servers, audio_slots, video_slots, share_slots } => {
                        ready = Some(Ready { ice_servers, audio_slots, video_slots, share_slots });
                        // After a resume: keep a connection that still works, replace one that
                        // does not (the server may have dropped it meanwhile).
                        if conn.as_ref().is_some_and(|c| !c.connected) {
                            drop_conn(&mut conn, &shared).await;
                        }
                    }
                    MediaEvent::Answer { sdp } => {
                        if let Some(c) = &mut conn {
                            if let Err(e) = c.apply_answer(sdp, &shared).await {
                                tracing::warn!("media answer: {e}");
                                drop_conn(&mut conn, &shared).await;
                                retry_at = Some(Instant::now() + RETRY_DELAY);
                            }
                        }
                    }
                    MediaEvent::Slots { audio, video, share } => {
                        shared.volumes.slots_changed(&audio);
                        *shared.slots.lock().unwrap_or_else(PoisonError::into_inner) = SlotMap {
                            audio: audio.clone(),
                            video: video.clone(),
                            share: share.clone(),
                        };
                        shared.emit(CallEvent::Slots { audio, video, share });
                    }
                    MediaEvent::Failed { message } => {
                        tracing::info!("server dropped media: {message}");
                        if conn.is_some() {
                            drop_conn(&mut conn, &shared).await;
                            shared.set_state(MediaState::Reconnecting);
                            retry_at = Some(Instant::now() + RETRY_DELAY);
                        } else if ready.is_none() {
                            shared.set_state(MediaState::Unavailable(message));
                        }
                    }
                }
            }
            changed = talking.changed() => {
                if changed.is_ok() {
                    let now = *talking.borrow_and_update();
                    // Best effort, off this task: a refused or lost report only leaves the
                    // highlight stale.
                    let session = session.clone();
                    shared.tasks.spawn(async move {
                        if let Err(e) = session.request(Action::SetTalking { talking: now }).await {
                            tracing::debug!("talking state not reported: {e}");
                        }
                    });
                }
            }
            changed = roster.changed() => {
                if changed.is_err() {
                    break;
                }
                // A host muting us, stopping our camera or our share (or locking sharing)
                // takes effect on what we send. Only changes count: the app's own toggles run
                // ahead of the server's word.
                let me = roster
                    .borrow()
                    .myself()
                    .map(|m| (m.audio_muted, m.video_on, m.sharing));
                if me != last_me {
                    if let Some((muted, video_on, sharing)) = me {
                        shared.audio_muted.store(muted, Ordering::Relaxed);
                        shared.camera.on.store(video_on, Ordering::Relaxed);
                        if !sharing {
                            shared.screen.on.store(false, Ordering::Relaxed);
                        }
                    }
                    last_me = me;
                }
            }
            changed = screen.changed() => {
                if changed.is_err() {
                    break;
                }
                // The shared screen failed (closed, unplugged): the share is over.
                let failed = matches!(*screen.borrow_and_update(), super::LocalVideo::Failed(_));
                let sharing = roster.borrow().myself().is_some_and(|m| m.sharing);
                if failed && sharing {
                    let session = session.clone();
                    shared.tasks.spawn(async move {
                        if let Err(e) = session.set_sharing(false).await {
                            tracing::debug!("end of share not reported: {e}");
                        }
                    });
                }
            }
            changed = status.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = status.borrow().clone();
                match now {
                    ConnectionStatus::Reconnecting => shared.set_state(MediaState::Reconnecting),
                    ConnectionStatus::Closed { .. } => break,
                    _ => {}
                }
            }
            Some(state) = async {
                match &mut conn_state {
                    Some(rx) => rx.changed().await.ok().map(|()| *rx.borrow()),
                    None => std::future::pending().await,
                }
            } => {
                if let Some(c) = &mut conn {
                    match state {
                        RTCPeerConnectionState::Connected => {
                            c.disconnected_since = None;
                            if !c.connected {
                                c.connected = true;
                                shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                                shared.set_state(MediaState::Connected);
                            }
                        }
                        RTCPeerConnectionState::Disconnected => {
                            c.disconnected_since.get_or_insert_with(Instant::now);
                        }
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            drop_conn(&mut conn, &shared).await;
                            shared.set_state(MediaState::Reconnecting);
                            retry_at = Some(Instant::now() + RETRY_DELAY);
                        }
                        _ => {}
                    }
                }
            }
            () = sleep_until(deadline) => {
                if let Some(c) = &conn {
                    let now = Instant::now();
                    let stuck = !c.connected
                        && now.duration_since(c.started) > ANSWER_TIMEOUT + CONNECT_TIMEOUT;
                    let gone = c
                        .disconnected_since
                        .is_some_and(|at| now.duration_since(at) > DISCONNECTED_GRACE);
                    if stuck || gone {
                        tracing::info!(stuck, gone, "replacing the media connection");
                        drop_conn(&mut conn, &shared).await;
                        shared.set_state(MediaState::Reconnecting);
                    }
                }
            }
        }
    }
    drop_conn(&mut conn, &shared).await;
    shared.closed.store(true, Ordering::Relaxed);
    shared.set_state(MediaState::Closed);
}

fn next_deadline(conn: Option<&Conn>, retry_at: Option<Instant>) -> Instant {
    let mut at = Instant::now() + Duration::from_secs(1);
    if let Some(c) = conn {
        if let Some(since) = c.disconnected_since {
            at = at.min(since + DISCONNECTED_GRACE);
        }
    }
    if let Some(retry) = retry_at {
        at = at.min(retry);
    }
    at
}

async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
}

async fn drop_conn(conn: &mut Option<Conn>, shared: &Shared) {
    if let Some(c) = conn.take() {
        *shared.tracks.lock().unwrap_or_else(PoisonError::into_inner) = Tracks::default();
        if let Err(e) = c.pc.close().await {
            tracing::debug!("closing media connection: {e}");
        }
    }
}

fn send_track(name: &str, kind: RtpCodecKind, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(huddle_rtp::local_track(
        huddle_rtp::PUBLISH_STREAM,
        name,
        kind,
        ssrc,
        random_u32(),
    )))
}

/// Relays keyframe requests the server forwards from people who see `track` to its feed.
fn watch_keyframe_requests(track: &Arc<TrackLocalStaticRTP>, kind: FeedKind, shared: &Arc<Shared>) {
    let track = Arc::clone(track);
    let tasks = shared.tasks.clone();
    let shared = Arc::clone(shared);
    tasks.spawn(async move {
        while let Some(event) = track.poll().await {
            if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                if packets
                    .iter()
                    .any(|p| huddle_rtp::is_keyframe_request(p.as_ref()))
                {
                    shared
                        .counters
                        .keyframe_requests
                        .fetch_add(1, Ordering::Relaxed);
                    kind.feed(&shared)
                        .keyframe_wanted
                        .store(true, Ordering::Relaxed);
                }
            }
        }
    });
}

fn direction(direction: RTCRtpTransceiverDirection) -> Option<RTCRtpTransceiverInit> {
    Some(RTCRtpTransceiverInit {
        direction,
        streams: vec![],
        send_encodings: vec![],
    })
}

impl Conn {
    async fn start(
        session: &Session,
        ready: &Ready,
        shared: &Arc<Shared>,
        relay_only: bool,
    ) -> Result<Conn, String> {
        let configured =
            huddle_rtp::configure(huddle_rtp::Role::Client).map_err(|e| e.to_string())?;
        (*shared.target.lock().unwrap_or_else(PoisonError::into_inner))
            .clone_from(&configured.target);
        let ice_servers = ready
            .ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(if relay_only {
                RTCIceTransportPolicy::Relay
            } else {
                RTCIceTransportPolicy::All
            })
            .build();
        // No mDNS: the server's candidates are addresses, and opening the multicast socket
        // fails outright on hosts without a multicast route.
        // Checks every 50 ms instead of 200 (28 tries instead of 7: the same 1.4 s per
        // candidate): the agent nominates on the check after the first answered one, so the
        // interval is what a join waits between "reachable" and "connected". The server
        // answers each check at once (it is ICE-lite), so the extra checks cost it nothing.
        let setting = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECKS_PER_CANDIDATE))
            .build();
        let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, mut gathered_rx) = watch::channel(false);
        let handler = Arc::new(Handler {
            shared: Arc::clone(shared),
            state: state_tx,
            gathered: gathered_tx,
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_setting_engine(setting)
            .with_media_engine(configured.engine)
            .with_interceptor_registry(configured.registry)
            .with_handler(handler)
            .with_udp_addrs(vec!["0.0.0.0:0"])
            .build()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let audio_ssrc = random_u32();
        let video_ssrc = random_u32();
        let screen_ssrc = random_u32();
        let audio = send_track(huddle_rtp::AUDIO_TRACK, RtpCodecKind::Audio, audio_ssrc);
        let video = send_track(huddle_rtp::CAMERA_TRACK, RtpCodecKind::Video, video_ssrc);
        // Offered only to a server that forwards shares (an older one would take it for a
        // second camera).
        let screen = (ready.share_slots > 0)
            .then(|| send_track(huddle_rtp::SCREEN_TRACK, RtpCodecKind::Video, screen_ssrc));
        let setup = async {
            pc.add_transceiver_from_track(
                Arc::clone(&audio) as Arc<dyn TrackLocal>,
                direction(RTCRtpTransceiverDirection::Sendonly),
            )
            .await?;
            pc.add_transceiver_from_track(
                Arc::clone(&video) as Arc<dyn TrackLocal>,
                direction(RTCRtpTransceiverDirection::Sendonly),
            )
            .await?;
            if let Some(screen) = &screen {
                pc.add_transceiver_from_track(
                    Arc::clone(screen) as Arc<dyn TrackLocal>,
                    direction(RTCRtpTransceiverDirection::Sendonly),
                )
                .await?;
            }
            for _ in 0..ready.audio_slots {
                pc.add_transceiver_from_kind(
                    RtpCodecKind::Audio,
                    direction(RTCRtpTransceiverDirection::Recvonly),
                )
                .await?;
            }
            for _ in 0..u16::from(ready.video_slots) + u16::from(ready.share_slots) {
                pc.add_transceiver_from_kind(
                    RtpCodecKind::Video,
                    direction(RTCRtpTransceiverDirection::Recvonly),
                )
                .await?;
            }
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await
        };
        if let Err(e) = setup.await {
            let _ = pc.close().await;
            return Err(format!("offer: {e}"));
        }
        let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered_rx.wait_for(|g| *g)).await;
        let Some(offer) = pc.local_description().await else {
            let _ = pc.close().await;
            return Err("no local description".to_owned());
        };
        if let Err(e) = session
            .send_media(MediaRequest::Offer { sdp: offer.sdp })
            .await
        {
            let _ = pc.close().await;
            return Err(format!("sending the offer: {e}"));
        }
        // Keyframe requests the server relays from people who see us.
        watch_keyframe_requests(&video, FeedKind::Camera, shared);
        if let Some(screen) = &screen {
            watch_keyframe_requests(screen, FeedKind::Screen, shared);
        }
        Ok(Conn {
            pc,
            state: state_rx,
            tracks: Tracks {
                audio: Some(audio),
                video: Some(video),
                screen,
                audio_ssrc,
                video_ssrc,
                screen_ssrc,
                audio_level_id: None,
            },
            answered: false,
            started: Instant::now(),
            connected: false,
            disconnected_since: None,
        })
    }

    async fn apply_answer(&mut self, sdp: String, shared: &Shared) -> Result<(), String> {
        if self.answered {
            return Ok(());
        }
        let answer = RTCSessionDescription::answer(sdp).map_err(|e| e.to_string())?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| e.to_string())?;
        self.answered = true;
        let mut level_id = None;
        for sender in self.pc.get_senders().await {
            if sender.track().kind().await != RtpCodecKind::Audio {
                continue;
            }
            if let Ok(params) = sender.get_parameters().await {
                level_id = params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|h| h.uri == huddle_rtp::AUDIO_LEVEL_URI)
                    .and_then(|h| u8::try_from(h.id).ok());
            }
        }
        *shared.tracks.lock().unwrap_or_else(PoisonError::into_inner) = Tracks {
            audio: self.tracks.audio.clone(),
            video: self.tracks.video.clone(),
            screen: self.tracks.screen.clone(),
            audio_ssrc: self.tracks.audio_ssrc,
            video_ssrc: self.tracks.video_ssrc,
            screen_ssrc: self.tracks.screen_ssrc,
            audio_level_id: level_id,
        };
        shared.camera.keyframe_wanted.store(true, Ordering::Relaxed);
        shared.screen.keyframe_wanted.store(true, Ordering::Relaxed);
        Ok(())
    }
}
