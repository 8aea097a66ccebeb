//! The selective forwarding unit: every member's WebRTC connection terminates here, on one
//! UDP socket, and RTP is forwarded between them without decoding.
//!
//! One task owns the socket and every connection (each a sans-IO `rtc` peer connection), so
//! forwarding a packet is a function call, not a hop between tasks. The connections and the
//! forwarding are a [`Router`], a state machine that touches no socket, queue, clock or OS
//! random source: the task ([`Sfu::start`]) feeds it commands, datagrams and the current time,
//! sends the datagrams and pushes the signaling events it returns (`poll_output`), and sleeps
//! until its `poll_timeout`, which also holds the periodic slot re-choice. Packets are routed to a
//! connection by source address, or, for the first packets of a connection, by the ICE ufrag in
//! the STUN binding request. Each subscriber receives others through a fixed number of audio and
//! video *slots* negotiated once; the unit decides who fills them (the loudest speakers, the
//! videos the subscriber shows) and rewrites sequence numbers and timestamps so a slot can change
//! source without renegotiation. Keyframe requests from subscribers are relayed to publishers;
//! NACKs are answered hop by hop from each connection's own send history.

mod fanout;
mod lite;
mod peer;
mod random;
mod router;
pub mod select;
pub use huddle_wire::stun;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use huddle_proto::{encode, IceServer, MediaEvent, ParticipantId, ServerMessage, VideoWant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::nettest::{turn_credentials, TurnConfig};
use crate::outbox::{Outbox, Outgoing};
use crate::ServerError;

use router::Output;
pub use router::Router;

/// Commands queued towards the forwarding task before senders see it as busy.
const COMMAND_QUEUE: usize = 4096;
/// Datagrams read in one go before outputs are flushed.
const READ_BATCH: usize = 64;
/// Socket buffer asked for, each way.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Largest datagram accepted.
const MAX_DATAGRAM: usize = 1500;

/// Settings of the forwarding unit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaConfig {
    /// Forward media at all. Without it members still meet (roster, chat) but see and hear
    /// nothing.
    pub enabled: bool,
    /// UDP port for all media, on the server's bind address; 0 picks a free port.
    pub udp_port: u16,
    /// Addresses put in ICE candidates. Empty: the bind address, or, when bound to every
    /// interface, the address of the interface with the default route (and loopback).
    pub announce: Vec<IpAddr>,
    /// Loudest speakers forwarded to each member.
    pub audio_slots: u8,
    /// Most videos forwarded to each member.
    pub video_slots: u8,
    /// Most screen shares forwarded to each member at once (0: screen share not forwarded).
    pub share_slots: u8,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_port: 7882,
            announce: Vec::new(),
            audio_slots: 3,
            video_slots: 9,
            share_slots: 2,
        }
    }
}

/// Counters of the forwarding task, for health and benchmarks.
#[derive(Debug, Default)]
pub struct SfuStats {
    /// Connections open now.
    pub peers: AtomicU64,
    /// RTP packets received from publishers.
    pub rtp_in: AtomicU64,
    /// RTP packets handed to subscriber connections.
    pub rtp_out: AtomicU64,
    /// Audio packets not forwarded to a member because it is deafened.
    pub withheld_deaf: AtomicU64,
    /// Datagrams that matched no connection.
    pub unrouted: AtomicU64,
}

/// What the room tasks and connections tell the forwarding task.
#[derive(Debug)]
pub(crate) enum Command {
    Offer {
        room: u64,
        who: ParticipantId,
        sdp: String,
        outbox: Outbox,
    },
    Subscribe {
        room: u64,
        who: ParticipantId,
        videos: Vec<VideoWant>,
    },
    /// Someone's forwarding changed: choose who fills the slots again.
    Publishing {
        room: u64,
    },
    Left {
        room: u64,
        who: ParticipantId,
    },
    RoomEnded {
        room: u64,
    },
}

/// What a member may have forwarded, as the room says (`None`: unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Publish {
    /// Microphone unmuted.
    pub audio: Option<bool>,
    /// Camera on.
    pub video: Option<bool>,
    /// Sharing the screen.
    pub screen: Option<bool>,
    /// Deafened: no audio is forwarded to the member.
    pub deaf: Option<bool>,
}

impl Publish {
    /// Everything a member's roster entry allows.
    pub fn of(member: &huddle_proto::Member) -> Self {
        Publish {
            audio: Some(!member.audio_muted),
            video: Some(member.video_on),
            screen: Some(member.sharing),
            deaf: Some(member.deafened),
        }
    }
}

const FORWARD_AUDIO: u8 = 1;
const FORWARD_VIDEO: u8 = 1 << 1;
const FORWARD_SCREEN: u8 = 1 << 2;
const FORWARD_CLOSED: u8 = 1 << 3;
/// Set while the member is deafened: unlike the others a bit that takes away (a member
/// hears from the start), and closed takes everything away anyway.
const FORWARD_DEAF: u8 = 1 << 4;

/// What the room lets one member have forwarded: microphone, camera, screen, whether it
/// hears the others (deafened or not), and whether it is still a member at all. State the forwarding task reads on every packet, written by the
/// member's room task on every change, rather than a stream of commands: a command the
/// forwarding task never received (its queue full) cannot leave a muted member audible or a
/// removed one forwarded. It starts closed to everything (deny by default).
#[derive(Debug, Default)]
pub(crate) struct Forwarding(AtomicU8);

impl Forwarding {
    /// Applies what changed (`None`: unchanged).
    fn apply(&self, change: Publish) {
        let set = |bits: u8, bit: u8, on: Option<bool>| match on {
            Some(true) => bits | bit,
            Some(false) => bits & !bit,
            None => bits,
        };
        // Only the member's room task writes, so load-modify-store cannot lose an update;
        // `fetch_update` keeps that true should a second writer ever appear.
        let _ = self
            .0
            .fetch_update(Ordering::Release, Ordering::Acquire, |bits| {
                let bits = set(bits, FORWARD_AUDIO, change.audio);
                let bits = set(bits, FORWARD_VIDEO, change.video);
                let bits = set(bits, FORWARD_DEAF, change.deaf);
                Some(set(bits, FORWARD_SCREEN, change.screen))
            });
    }

    /// The member left: nothing of it is forwarded any more, and nothing reaches it.
    fn close(&self) {
        self.0.store(FORWARD_CLOSED, Ordering::Release);
    }

    /// Whether the member left.
    pub fn is_closed(&self) -> bool {
        self.0.load(Ordering::Acquire) & FORWARD_CLOSED != 0
    }

    /// Whether others' audio may be forwarded to it: a member, not deafened.
    pub fn hears(&self) -> bool {
        self.0.load(Ordering::Acquire) & (FORWARD_CLOSED | FORWARD_DEAF) == 0
    }

    /// Whether its stream of `kind` may be forwarded.
    pub fn allows(&self, kind: huddle_rtp::SlotKind) -> bool {
        let bits = self.0.load(Ordering::Acquire);
        let bit = match kind {
            huddle_rtp::SlotKind::Audio => FORWARD_AUDIO,
            huddle_rtp::SlotKind::Video => FORWARD_VIDEO,
            huddle_rtp::SlotKind::Share => FORWARD_SCREEN,
        };
        bits & FORWARD_CLOSED == 0 && bits & bit != 0
    }
}

/// Every member's forwarding, by room generation and member. Locked when a member joins, changes
/// or leaves, and when it offers; never on the per-packet path (a connection holds its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct ForwardingTable(Arc<Mutex<ForwardingMap>>);

type ForwardingMap = HashMap<(u64, ParticipantId), Arc<Forwarding>>;

impl ForwardingTable {
    fn map(&self) -> MutexGuard<'_, ForwardingMap> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The forwarding of a member, if it is one.
    pub fn get(&self, key: (u64, ParticipantId)) -> Option<Arc<Forwarding>> {
        self.map().get(&key).cloned()
    }

    /// Applies a change to a member's forwarding, creating it on first use.
    fn apply(&self, key: (u64, ParticipantId), change: Publish) {
        self.map().entry(key).or_default().apply(change);
    }

    /// Closes and forgets a member's forwarding.
    fn close(&self, key: (u64, ParticipantId)) {
        if let Some(forwarding) = self.map().remove(&key) {
            forwarding.close();
        }
    }

    /// Closes and forgets every forwarding of a room.
    fn close_room(&self, room: u64) {
        self.map().retain(|(r, _), forwarding| {
            if *r == room {
                forwarding.close();
            }
            *r != room
        });
    }
}

/// A handle on the forwarding task.
#[derive(Debug, Clone)]
pub struct Sfu {
    tx: mpsc::Sender<Command>,
    audio_slots: u8,
    video_slots: u8,
    share_slots: u8,
    turn: Option<TurnConfig>,
    local_addr: SocketAddr,
    stats: Arc<SfuStats>,
    forwarding_table: ForwardingTable,
}

impl Sfu {
    /// Binds the media socket on `bind_ip` and starts the forwarding task; `None` when media is
    /// disabled.
    ///
    /// # Errors
    /// [`ServerError::Config`] when the UDP port cannot be bound, [`ServerError::Io`] for
    /// other socket errors.
    pub fn start(
        config: &MediaConfig,
        bind_ip: IpAddr,
        turn: Option<TurnConfig>,
        shutdown: CancellationToken,
    ) -> Result<Option<Sfu>, ServerError> {
        if !config.enabled {
            return Ok(None);
        }
        let addr = SocketAddr::new(bind_ip, config.udp_port);
        let std_socket = StdUdpSocket::bind(addr).map_err(|e| {
            ServerError::Config(format!(
                "cannot bind the media UDP port {addr}: {e} (choose another with --media-udp-port)"
            ))
        })?;
        std_socket.set_nonblocking(true)?;
        // One socket carries every member's media: give it room for bursts (keyframes from
        // several publishers at once) while the task is busy. The kernel may cap the sizes.
        let sock = socket2::SockRef::from(&std_socket);
        for (what, result) in [
            ("receive", sock.set_recv_buffer_size(SOCKET_BUFFER)),
            ("send", sock.set_send_buffer_size(SOCKET_BUFFER)),
        ] {
            if let Err(e) = result {
                tracing::debug!("media socket {what} buffer: {e}");
            }
        }
        let socket = UdpSocket::from_std(std_socket)?;
        let local_addr = socket.local_addr()?;
        let announce = if config.announce.is_empty() {
            default_announce(bind_ip)
        } else {
            config.announce.clone()
        };
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let stats = Arc::new(SfuStats::default());
        let forwarding_table = ForwardingTable::default();
        let random = random::Random::from_os()
            .map_err(|e| ServerError::Random(format!("seeding media credentials: {e}")))?;
        let router = Router::new(
            local_addr,
            announce,
            router::SlotCounts {
                audio: usize::from(config.audio_slots),
                video: usize::from(config.video_slots),
                share: usize::from(config.share_slots),
            },
            Arc::clone(&stats),
            forwarding_table.clone(),
            random,
        );
        tokio::spawn(run(socket, rx, router, shutdown));
        tracing::info!(addr = %local_addr, "media forwarding on UDP");
        Ok(Some(Sfu {
            tx,
            audio_slots: config.audio_slots,
            video_slots: config.video_slots,
            share_slots: config.share_slots,
            turn,
            local_addr,
            stats,
            forwarding_table,
        }))
    }

    /// The UDP address media arrives at.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live counters.
    #[must_use]
    pub fn stats(&self) -> &SfuStats {
        &self.stats
    }

    /// The `media_ready` event for a member: slot counts and ICE servers, with TURN
    /// credentials minted for it.
    #[must_use]
    pub fn ready(&self, who: ParticipantId) -> MediaEvent {
        let ice_servers = match &self.turn {
            Some(turn) if !turn.urls.is_empty() => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let expiry = now.saturating_add(turn.ttl).as_secs();
                let (username, credential) =
                    turn_credentials(&turn.secret, expiry, &format!("member-{who}"));
                vec![IceServer {
                    urls: turn.urls.clone(),
                    username,
                    credential,
                }]
            }
            _ => Vec::new(),
        };
        MediaEvent::Ready {
            ice_servers,
            audio_slots: self.audio_slots,
            video_slots: self.video_slots,
            share_slots: self.share_slots,
        }
    }

    /// Queues a command without waiting; false when the task is gone or overwhelmed.
    fn send(&self, command: Command) -> bool {
        match self.tx.try_send(command) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("media command not delivered: {e}");
                false
            }
        }
    }

    /// A member's SDP offer; the answer (or a failure) goes to `outbox`.
    pub(crate) fn offer(&self, room: u64, who: ParticipantId, sdp: String, outbox: Outbox) -> bool {
        self.send(Command::Offer {
            room,
            who,
            sdp,
            outbox,
        })
    }

    /// The videos a member shows.
    pub(crate) fn subscribe(&self, room: u64, who: ParticipantId, videos: Vec<VideoWant>) {
        self.send(Command::Subscribe { room, who, videos });
    }

    /// A member's microphone, camera or screen-share state changed (or it joined): its forwarding
    /// says so at once; the forwarding task is then asked to re-choose slots, which it also
    /// does on its own every [`router::SWEEP_INTERVAL`] should that request be dropped.
    pub(crate) fn publishing(&self, room: u64, who: ParticipantId, change: Publish) {
        self.forwarding_table.apply((room, who), change);
        self.send(Command::Publishing { room });
    }

    /// A member left: its media stops at once (the forwarding closes); its connection is torn down
    /// on the command, or by the next sweep.
    pub(crate) fn left(&self, room: u64, who: ParticipantId) {
        self.forwarding_table.close((room, who));
        self.send(Command::Left { room, who });
    }

    /// A room ended.
    pub(crate) fn room_ended(&self, room: u64) {
        self.forwarding_table.close_room(room);
        self.send(Command::RoomEnded { room });
    }
}

/// Candidate addresses when none are configured.
fn default_announce(bind_ip: IpAddr) -> Vec<IpAddr> {
    if !bind_ip.is_unspecified() {
        return vec![bind_ip];
    }
    let mut out: Vec<IpAddr> = crate::config::default_route_ip().into_iter().collect();
    out.push(IpAddr::from([127, 0, 0, 1]));
    out
}

/// Pushes a media event onto a member's signaling link.
fn signal(who: ParticipantId, outbox: &Outbox, media: MediaEvent) {
    match encode(&ServerMessage::Media { media }) {
        Ok(text) => {
            // A full queue means the member is cut anyway; its room handles that.
            if let Err(e) = outbox.push(Outgoing::Frame(text.into())) {
                tracing::debug!(participant = %who, "media event not queued: {e:?}");
            }
        }
        Err(e) => tracing::warn!("media event not encoded: {e}"),
    }
}

async fn run(
    socket: UdpSocket,
    mut commands: mpsc::Receiver<Command>,
    mut router: Router,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        // Connection timers and the periodic sweep alike: the router has one deadline.
        let deadline = router.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            () = shutdown.cancelled() => break,
            command = commands.recv() => match command {
                Some(command) => router.handle_command(std::time::Instant::now(), command),
                None => break,
            },
            received = socket.recv_from(&mut buf) => {
                match received {
                    Ok((n, from)) => {
                        router.handle_datagram(std::time::Instant::now(), from, &buf[..n]);
                        // Drain what else is waiting before writing anything.
                        for _ in 0..READ_BATCH {
                            match socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => {
                                    router.handle_datagram(std::time::Instant::now(), from, &buf[..n]);
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => tracing::debug!("media socket read: {e}"),
                }
            }
            // Without a deadline (no connections) the branch is off and the sleep never polled.
            () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                if deadline.is_some() => router.handle_timeout(std::time::Instant::now()),
        }
        while let Some(output) = router.poll_output() {
            match output {
                Output::Transmit { to, bytes } => {
                    if let Err(e) = socket.send_to(&bytes, to).await {
                        tracing::trace!(%to, "media send failed: {e}");
                    }
                }
                Output::Signal { who, outbox, media } => signal(who.1, &outbox, media),
            }
        }
    }
    router.close_all();
    tracing::info!(
        forwarded = router.stats().rtp_out.load(Ordering::Relaxed),
        "media forwarding stopped"
    );
}

#[cfg(test)]
mod tests;
