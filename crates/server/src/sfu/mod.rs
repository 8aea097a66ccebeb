//! The selective forwarding unit: every member's WebRTC connection terminates here, on one
//! UDP port, and RTP is forwarded between them without decoding.
//!
//! The forwarding runs on [workers](MediaConfig::workers), one thread each (by default one per
//! core). A session lives on one worker, chosen when it first has media (the worker with the
//! fewest connections), and that worker owns every one of its members' connections, so
//! forwarding a packet is a function call on one thread, with no lock and no hop. The workers
//! share the UDP port: on Linux each has its own socket on it (`SO_REUSEPORT`), elsewhere the
//! first worker reads the one socket; a datagram read by a worker that does not own its
//! connection is handed to the owner ([`steer`]). Incoming datagrams are the few (publishers'
//! media, subscribers' feedback); the many, the forwarded copies, are sent by the owner on its
//! own socket.
//!
//! Each worker's connections and forwarding are a [`Router`], a state machine that touches no
//! socket, queue, clock or OS random source: the worker feeds it commands, datagrams and the
//! current time, sends the datagrams and pushes the signaling events it returns
//! (`poll_output`), and sleeps until its `poll_timeout`, which also holds the periodic slot
//! re-choice. Packets are routed to a connection by source address, or, for the first packets
//! of a connection, by the ICE ufrag in the STUN binding request. Each subscriber receives
//! others through a fixed number of audio and video *slots* negotiated once; the unit decides
//! who fills them (the loudest speakers, the videos the subscriber shows) and rewrites sequence
//! numbers and timestamps so a slot can change source without renegotiation. Keyframe requests
//! from subscribers are relayed to publishers; NACKs are answered hop by hop from each
//! connection's own send history.

mod fanout;
mod lite;
mod peer;
mod random;
mod router;
pub mod select;
mod send;
pub mod steer;
mod worker;
pub use huddle_wire::stun;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use huddle_proto::{encode, IceServer, MediaEvent, ParticipantId, ServerMessage, VideoWant};
use tokio_util::sync::CancellationToken;

use crate::nettest::{turn_credentials, TurnConfig};
use crate::outbox::{Outbox, Outgoing};
use crate::ServerError;

use router::Output;
pub use router::Router;

/// Commands queued towards a worker before senders see it as busy.
const COMMAND_QUEUE: usize = 4096;
/// Batches of datagrams queued from one worker towards another before they are dropped (as a
/// full socket buffer would).
const HANDOFF_QUEUE: usize = 1024;
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
    /// Forwarding threads; 0: one per core. A session's media is on one of them.
    pub workers: usize,
    /// How the workers share the UDP port.
    pub port_sharing: PortSharing,
    /// Send each burst of datagrams with as few system calls as the OS allows (`sendmmsg` on
    /// Linux) rather than one each.
    pub send_batch: bool,
}

/// How the forwarding workers share the one UDP port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortSharing {
    /// `reuse-port` on Linux, `one-reader` elsewhere.
    #[default]
    Auto,
    /// A socket per worker on the port (`SO_REUSEPORT`); the kernel spreads datagrams over
    /// them by address and each worker hands on what it does not own. Linux and the BSDs.
    ReusePort,
    /// One socket, read by the first worker, which hands datagrams to their owners; every
    /// worker sends on it.
    OneReader,
}

impl PortSharing {
    /// What `Auto` means here.
    fn resolve(self) -> PortSharing {
        match self {
            PortSharing::Auto if cfg!(any(target_os = "linux", target_os = "android")) => {
                PortSharing::ReusePort
            }
            PortSharing::Auto => PortSharing::OneReader,
            other => other,
        }
    }
}

impl std::str::FromStr for PortSharing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(PortSharing::Auto),
            "reuse-port" => Ok(PortSharing::ReusePort),
            "one-reader" => Ok(PortSharing::OneReader),
            other => Err(format!(
                "unknown port sharing `{other}`: expected auto, reuse-port or one-reader"
            )),
        }
    }
}

impl std::fmt::Display for PortSharing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PortSharing::Auto => "auto",
            PortSharing::ReusePort => "reuse-port",
            PortSharing::OneReader => "one-reader",
        })
    }
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
            workers: 0,
            port_sharing: PortSharing::Auto,
            send_batch: true,
        }
    }
}

/// Counters of one forwarding worker (written by it alone, so no two cores write one line).
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
    /// Datagrams this worker read for another and handed on.
    pub handed_on: AtomicU64,
    /// Datagrams dropped because the worker they were for did not keep up.
    pub handoff_dropped: AtomicU64,
}

/// The counters of one worker or of all of them, read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SfuCounts {
    /// Connections open now.
    pub peers: u64,
    /// RTP packets received from publishers.
    pub rtp_in: u64,
    /// RTP packets handed to subscriber connections.
    pub rtp_out: u64,
    /// Audio packets not forwarded to a member because it is deafened.
    pub withheld_deaf: u64,
    /// Datagrams that matched no connection.
    pub unrouted: u64,
    /// Datagrams read by one worker for another and handed on.
    pub handed_on: u64,
    /// Datagrams dropped on the way from one worker to another.
    pub handoff_dropped: u64,
}

impl SfuStats {
    /// The counters now.
    #[must_use]
    pub fn read(&self) -> SfuCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SfuCounts {
            peers: get(&self.peers),
            rtp_in: get(&self.rtp_in),
            rtp_out: get(&self.rtp_out),
            withheld_deaf: get(&self.withheld_deaf),
            unrouted: get(&self.unrouted),
            handed_on: get(&self.handed_on),
            handoff_dropped: get(&self.handoff_dropped),
        }
    }
}

impl std::ops::Add for SfuCounts {
    type Output = SfuCounts;

    fn add(self, o: SfuCounts) -> SfuCounts {
        SfuCounts {
            peers: self.peers + o.peers,
            rtp_in: self.rtp_in + o.rtp_in,
            rtp_out: self.rtp_out + o.rtp_out,
            withheld_deaf: self.withheld_deaf + o.withheld_deaf,
            unrouted: self.unrouted + o.unrouted,
            handed_on: self.handed_on + o.handed_on,
            handoff_dropped: self.handoff_dropped + o.handoff_dropped,
        }
    }
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

/// A handle on the forwarding workers.
#[derive(Debug, Clone)]
pub struct Sfu {
    workers: Arc<[worker::Handle]>,
    placement: Arc<Mutex<HashMap<u64, usize>>>,
    audio_slots: u8,
    video_slots: u8,
    share_slots: u8,
    turn: Option<TurnConfig>,
    local_addr: SocketAddr,
    forwarding_table: ForwardingTable,
}

impl Sfu {
    /// Binds the media port on `bind_ip` and starts the forwarding workers; `None` when media
    /// is disabled.
    ///
    /// # Errors
    /// [`ServerError::Config`] when the UDP port cannot be bound or the worker count is out of
    /// range, [`ServerError::Io`] for other socket errors and when a worker cannot start.
    pub fn start(
        config: &MediaConfig,
        bind_ip: IpAddr,
        turn: Option<TurnConfig>,
        shutdown: CancellationToken,
    ) -> Result<Option<Sfu>, ServerError> {
        if !config.enabled {
            return Ok(None);
        }
        let count = match config.workers {
            0 => std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(steer::MAX_WORKERS),
            n if n <= steer::MAX_WORKERS => n,
            n => {
                return Err(ServerError::Config(format!(
                    "media workers must be 0 (one per core) to {} (got {n})",
                    steer::MAX_WORKERS
                )))
            }
        };
        let sharing = config.port_sharing.resolve();
        let sockets = worker::bind(SocketAddr::new(bind_ip, config.udp_port), count, sharing)?;
        let local_addr = sockets
            .first()
            .map(|(socket, _)| socket.local_addr())
            .transpose()?
            .ok_or_else(|| ServerError::Config("no media socket".to_owned()))?;
        let announce = if config.announce.is_empty() {
            default_announce(bind_ip)
        } else {
            config.announce.clone()
        };
        let forwarding_table = ForwardingTable::default();
        let slots = router::SlotCounts {
            audio: usize::from(config.audio_slots),
            video: usize::from(config.video_slots),
            share: usize::from(config.share_slots),
        };
        let mut routers = Vec::with_capacity(count);
        for index in 0..count {
            let random = random::Random::from_os()
                .map_err(|e| ServerError::Random(format!("seeding media credentials: {e}")))?;
            let router = Router::new(
                local_addr,
                announce.clone(),
                slots,
                Arc::new(SfuStats::default()),
                forwarding_table.clone(),
                random,
            )
            .with_ufrag_prefix(steer::ufrag_tag(index));
            routers.push(router);
        }
        let workers = worker::spawn(sockets, routers, config.send_batch, &shutdown)?;
        tracing::info!(addr = %local_addr, workers = count, sharing = %sharing, "media forwarding on UDP");
        Ok(Some(Sfu {
            workers: workers.into(),
            placement: Arc::default(),
            audio_slots: config.audio_slots,
            video_slots: config.video_slots,
            share_slots: config.share_slots,
            turn,
            local_addr,
            forwarding_table,
        }))
    }

    /// The UDP address media arrives at.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters of all workers together.
    #[must_use]
    pub fn stats(&self) -> SfuCounts {
        self.worker_stats()
            .into_iter()
            .fold(SfuCounts::default(), |sum, w| sum + w)
    }

    /// The counters of each worker.
    #[must_use]
    pub fn worker_stats(&self) -> Vec<SfuCounts> {
        self.workers.iter().map(|w| w.stats.read()).collect()
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

    fn placements(&self) -> MutexGuard<'_, HashMap<u64, usize>> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        self.placement
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The worker of `room`; a room not placed yet goes to the worker with the fewest
    /// connections (then the fewest rooms) when `place` says so.
    fn worker_for(&self, room: u64, place: bool) -> Option<usize> {
        let mut placements = self.placements();
        if let Some(worker) = placements.get(&room) {
            return Some(*worker);
        }
        if !place {
            return None;
        }
        let mut rooms = vec![0usize; self.workers.len()];
        for worker in placements.values() {
            if let Some(n) = rooms.get_mut(*worker) {
                *n += 1;
            }
        }
        let worker = (0..self.workers.len()).min_by_key(|&i| {
            let peers = self
                .workers
                .get(i)
                .map_or(0, |w| w.stats.peers.load(Ordering::Relaxed));
            (peers, rooms.get(i).copied().unwrap_or(0))
        })?;
        placements.insert(room, worker);
        Some(worker)
    }

    /// Queues a command for the worker of `room` without waiting; false when the worker is gone
    /// or overwhelmed, or the room has no media to act on.
    fn send(&self, room: u64, place: bool, command: Command) -> bool {
        let Some(handle) = self
            .worker_for(room, place)
            .and_then(|i| self.workers.get(i))
        else {
            return false;
        };
        match handle.commands.try_send(command) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("media command not delivered: {e}");
                false
            }
        }
    }

    /// A member's SDP offer; the answer (or a failure) goes to `outbox`.
    pub(crate) fn offer(&self, room: u64, who: ParticipantId, sdp: String, outbox: Outbox) -> bool {
        self.send(
            room,
            true,
            Command::Offer {
                room,
                who,
                sdp,
                outbox,
            },
        )
    }

    /// The videos a member shows.
    pub(crate) fn subscribe(&self, room: u64, who: ParticipantId, videos: Vec<VideoWant>) {
        self.send(room, true, Command::Subscribe { room, who, videos });
    }

    /// A member's microphone, camera or screen-share state changed (or it joined): its forwarding
    /// says so at once; the room's worker is then asked to re-choose slots, which it also
    /// does on its own every [`router::SWEEP_INTERVAL`] should that request be dropped.
    pub(crate) fn publishing(&self, room: u64, who: ParticipantId, change: Publish) {
        self.forwarding_table.apply((room, who), change);
        self.send(room, true, Command::Publishing { room });
    }

    /// A member left: its media stops at once (the forwarding closes); its connection is torn down
    /// on the command, or by the next sweep.
    pub(crate) fn left(&self, room: u64, who: ParticipantId) {
        self.forwarding_table.close((room, who));
        self.send(room, false, Command::Left { room, who });
    }

    /// A room ended: its worker forgets it.
    pub(crate) fn room_ended(&self, room: u64) {
        self.forwarding_table.close_room(room);
        self.send(room, false, Command::RoomEnded { room });
        self.placements().remove(&room);
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

#[cfg(test)]
mod tests;
