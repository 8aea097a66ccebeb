//! Every connection of the forwarding unit and the forwarding between them, as a sans-IO
//! state machine (the shape of str0m's `Rtc` and quinn-proto's `Connection`).
//!
//! Owned by one task, which feeds it commands, datagrams and timeouts, each with the current
//! instant (`handle_command`, `handle_datagram`, `handle_timeout`), and then does what
//! [`Router::poll_output`] returns: a datagram to send or a signaling event for a member.
//! [`Router::poll_timeout`] says when to call again if nothing else happens. The router
//! itself touches no socket, queue or clock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use huddle_proto::{MediaEvent, ParticipantId, VideoWant};
use huddle_rtp::rtc::peer_connection::configuration::setting_engine::{
    SettingEngine, SettingEngineBuilder,
};
use huddle_rtp::rtc::peer_connection::configuration::RTCConfigurationBuilder;
use huddle_rtp::rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use huddle_rtp::rtc::peer_connection::message::RTCMessage;
use huddle_rtp::rtc::peer_connection::sdp::RTCSessionDescription;
use huddle_rtp::rtc::peer_connection::state::RTCPeerConnectionState;
use huddle_rtp::rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate,
};
use huddle_rtp::rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use huddle_rtp::rtc::rtcp;
use huddle_rtp::rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use huddle_rtp::rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use huddle_rtp::rtc::sansio::Protocol;
use huddle_rtp::rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use huddle_rtp::SlotKind;

use super::fanout::{Fanout, Receiver};
use super::peer::{Assignment, Inbound, Loudness, Peer, PeerKey, Rewriter, Slot};
use super::random::Random;
use super::{lite, select, stun, Command, Forwarding, ForwardingTable, SfuStats};
use crate::outbox::Outbox;

/// How often slots are re-chosen (loudest speakers) and stale connections swept.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_millis(250);
/// A connection that has not come up by then is dropped (the app offers again).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Fewest time between keyframe requests sent to one publisher.
const PLI_INTERVAL: Duration = Duration::from_millis(300);
/// Loudness bonus that keeps a speaker already heard in its slot.
const AUDIO_HYSTERESIS: f32 = 12.0;
/// Addresses remembered per connection (ICE may try several).
const MAX_ADDRS: usize = 8;

/// How many slots of each kind every member receives others through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotCounts {
    /// Loudest speakers.
    pub audio: usize,
    /// Videos.
    pub video: usize,
    /// Screen shares.
    pub share: usize,
}

/// What the router asks its task to do.
#[derive(Debug)]
pub(crate) enum Output {
    /// Send a datagram.
    Transmit {
        /// Where to.
        to: SocketAddr,
        /// What.
        bytes: BytesMut,
    },
    /// Tell a member something on its signaling link (an answer, a failure, its slots).
    Signal {
        /// Whom.
        who: PeerKey,
        /// Its signaling link.
        outbox: Outbox,
        /// What.
        media: MediaEvent,
    },
    /// A connection that used this address is gone (other workers may forget it).
    Released {
        /// The address.
        addr: SocketAddr,
    },
}

/// All connections and the forwarding between them.
pub struct Router {
    local_addr: SocketAddr,
    announce: Vec<IpAddr>,
    slots: SlotCounts,
    random: Random,
    /// Starts every local ufrag: names the worker that owns the connection.
    ufrag_prefix: String,
    stats: Arc<SfuStats>,
    peers: HashMap<PeerKey, Peer>,
    rooms: HashMap<u64, Vec<ParticipantId>>,
    by_ufrag: HashMap<String, PeerKey>,
    by_addr: HashMap<SocketAddr, PeerKey>,
    forwarding_table: ForwardingTable,
    /// Who receives each published stream (the forwarding step's lists).
    fanout: Fanout,
    outputs: VecDeque<Output>,
    dirty: HashSet<u64>,
    /// When slots are next re-chosen and connections swept; `None` while there are none.
    next_sweep: Option<Instant>,
}

impl Router {
    /// A router answering on `local_addr` and naming `announce` in its candidates, drawing
    /// ICE credentials and SSRCs from `random`.
    #[must_use]
    pub(crate) fn new(
        local_addr: SocketAddr,
        announce: Vec<IpAddr>,
        slots: SlotCounts,
        stats: Arc<SfuStats>,
        forwarding_table: ForwardingTable,
        random: Random,
    ) -> Self {
        Self {
            local_addr,
            announce,
            slots,
            random,
            ufrag_prefix: String::new(),
            stats,
            peers: HashMap::new(),
            rooms: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            forwarding_table,
            fanout: Fanout::default(),
            outputs: VecDeque::new(),
            dirty: HashSet::new(),
            next_sweep: None,
        }
    }

    /// The same router, starting every ICE ufrag it makes with `prefix` (a worker's tag).
    #[must_use]
    pub(crate) fn with_ufrag_prefix(mut self, prefix: String) -> Self {
        self.ufrag_prefix = prefix;
        self
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &SfuStats {
        &self.stats
    }

    /// Counters, shared.
    pub(crate) fn stats_arc(&self) -> &Arc<SfuStats> {
        &self.stats
    }

    /// The next thing to do, in the order the router decided them; `None` until more input.
    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`Router::handle_timeout`] next: the earliest timer of any connection,
    /// or the next sweep; `None` while there is no connection. Only connections driven since
    /// the last call are asked again (the others' timers cannot have moved): asking every one,
    /// through its whole pipeline, after every datagram made each datagram cost O(members).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.peers
            .values_mut()
            .filter_map(Peer::timer)
            .chain(self.next_sweep)
            .min()
    }

    /// Handles a command from a room or a connection.
    pub(crate) fn handle_command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Offer {
                room,
                who,
                sdp,
                outbox,
            } => self.offer((room, who), &sdp, outbox, now),
            Command::Subscribe { room, who, videos } => {
                if let Some(peer) = self.peers.get_mut(&(room, who)) {
                    peer.wants = Some(videos);
                    self.dirty.insert(room);
                }
                self.reselect_dirty(now);
            }
            Command::Publishing { room } => {
                // The forwarding already says what changed; choose who fills the slots again.
                self.dirty.insert(room);
                self.reselect_dirty(now);
            }
            Command::Left { room, who } => {
                self.remove_peer((room, who), now);
                self.reselect_dirty(now);
            }
            Command::RoomEnded { room } => {
                let members = self.rooms.get(&room).cloned().unwrap_or_default();
                for who in members {
                    self.remove_peer((room, who), now);
                }
                self.rooms.remove(&room);
                self.dirty.remove(&room);
            }
        }
    }

    /// Handles one datagram.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let key = match self.by_addr.get(&from) {
            Some(key) => *key,
            None => {
                let Some(key) = stun::binding_request_ufrag(data)
                    .and_then(|ufrag| self.by_ufrag.get(ufrag))
                    .copied()
                else {
                    self.stats.unrouted.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                if let Some(peer) = self.peers.get_mut(&key) {
                    if peer.addrs.len() >= MAX_ADDRS {
                        let old = peer.addrs.remove(0);
                        self.by_addr.remove(&old);
                        self.outputs.push_back(Output::Released { addr: old });
                    }
                    peer.addrs.push(from);
                }
                self.by_addr.insert(from, key);
                key
            }
        };
        let Some(peer) = self.peers.get_mut(&key) else {
            self.by_addr.remove(&from);
            return;
        };
        if let Err(e) = peer
            .pc
            .handle_read(input(self.local_addr, from, BytesMut::from(data), now))
        {
            tracing::trace!(participant = %key.1, "media input refused: {e}");
        }
        if stun::binding_request_txid(data).is_some() {
            self.answer_own_checks(key, from, data, now);
        }
        self.service(key, now);
        if stun::nominates(data) {
            // A pair just selected starts DTLS, whose client we are; its first flight waits
            // in the connection until its next timer, up to 200 ms away. Let it out now (the
            // connection's timers act only on what is due).
            if let Some(peer) = self.peers.get_mut(&key) {
                if let Err(e) = peer.pc.handle_timeout(now) {
                    tracing::debug!(participant = %key.1, "media timer: {e}");
                }
            }
            self.service(key, now);
        }
    }

    /// Keeps the connection ICE-lite after it read a binding request (see [`lite`]): the
    /// checks its agent queued in reply are answered here instead of sent, and a nomination
    /// the agent left unanswered (its pair was not valid yet) is read again now that it is.
    fn answer_own_checks(&mut self, key: PeerKey, from: SocketAddr, request: &[u8], now: Instant) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let txid = stun::binding_request_txid(request);
        let mut own_checks = Vec::new();
        let mut answered = false;
        while let Some(t) = peer.pc.poll_write() {
            if stun::binding_request_txid(&t.message).is_some() {
                own_checks.push((t.transport.peer_addr, t.message));
                continue;
            }
            answered |= txid.is_some() && stun::binding_success_txid(&t.message) == txid;
            self.outputs.push_back(Output::Transmit {
                to: t.transport.peer_addr,
                bytes: t.message,
            });
        }
        for (to, check) in own_checks {
            let Some(answer) = lite::answer_own_check(&check, &peer.remote_pwd, self.local_addr)
            else {
                continue;
            };
            if let Err(e) = peer.pc.handle_read(input(self.local_addr, to, answer, now)) {
                tracing::debug!(participant = %key.1, "ICE-lite check not taken: {e}");
            }
        }
        if stun::nominates(request) && !answered {
            let again = input(self.local_addr, from, BytesMut::from(request), now);
            if let Err(e) = peer.pc.handle_read(again) {
                tracing::debug!(participant = %key.1, "ICE nomination not taken: {e}");
            }
        }
        drain_writes(&mut peer.pc, &mut self.outputs);
    }

    /// Runs every connection timer that is due, and the sweep when it is.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerKey> = self
            .peers
            .iter_mut()
            .filter_map(|(k, p)| p.timer().is_some_and(|t| t <= now).then_some(*k))
            .collect();
        for key in due {
            if let Some(peer) = self.peers.get_mut(&key) {
                if let Err(e) = peer.pc.handle_timeout(now) {
                    tracing::debug!(participant = %key.1, "media timer: {e}");
                }
            }
            self.service(key, now);
        }
        if self.next_sweep.is_some_and(|at| at <= now) {
            self.sweep(now);
            // Counted from now, not from when it was due: a late sweep is not run twice.
            self.next_sweep = (!self.peers.is_empty()).then(|| now + SWEEP_INTERVAL);
        }
    }

    /// Periodic work: re-choose the loudest speakers, drop connections that never came up and
    /// those of members the room let go (should the command saying so have been lost).
    fn sweep(&mut self, now: Instant) {
        let stale: Vec<PeerKey> = self
            .peers
            .values()
            .filter(|p| !p.connected && now.saturating_duration_since(p.created) > CONNECT_TIMEOUT)
            .map(|p| p.key)
            .collect();
        for key in stale {
            tracing::info!(participant = %key.1, "media connection never came up; dropped");
            self.fail(key, "the media connection did not come up", now);
        }
        // Members the room let go, should the command saying so not have arrived.
        let gone: Vec<PeerKey> = self
            .peers
            .values()
            .filter(|p| p.forwarding.is_closed())
            .map(|p| p.key)
            .collect();
        for key in gone {
            self.remove_peer(key, now);
        }
        let rooms: Vec<u64> = self.rooms.keys().copied().collect();
        self.dirty.extend(rooms);
        self.reselect_dirty(now);
    }

    /// Closes every connection (shutdown).
    pub fn close_all(&mut self) {
        for peer in self.peers.values_mut() {
            let _ = peer.pc.close();
        }
        self.peers.clear();
    }

    /// Queues a signaling event for `who`.
    fn signal(&mut self, who: PeerKey, outbox: &Outbox, media: MediaEvent) {
        self.outputs.push_back(Output::Signal {
            who,
            outbox: outbox.clone(),
            media,
        });
    }

    fn offer(&mut self, key: PeerKey, sdp: &str, outbox: Outbox, now: Instant) {
        // A new offer replaces the member's connection (a reconnect or a fresh start).
        self.remove_peer(key, now);
        let Some(forwarding) = self.forwarding_table.get(key).filter(|g| !g.is_closed()) else {
            self.signal(
                key,
                &outbox,
                MediaEvent::Failed {
                    message: "not a member of this session".to_owned(),
                },
            );
            return;
        };
        match self.build_peer(key, sdp, outbox.clone(), forwarding, now) {
            Ok((peer, answer)) => {
                self.by_ufrag.insert(peer.ufrag.clone(), key);
                let members = self.rooms.entry(key.0).or_default();
                if let Err(at) = members.binary_search(&key.1) {
                    members.insert(at, key.1);
                }
                self.peers.insert(key, peer);
                self.next_sweep.get_or_insert(now + SWEEP_INTERVAL);
                self.stats
                    .peers
                    .store(self.peers.len() as u64, Ordering::Relaxed);
                self.signal(key, &outbox, MediaEvent::Answer { sdp: answer });
                self.service(key, now);
                self.dirty.insert(key.0);
                self.reselect_dirty(now);
            }
            Err(message) => {
                tracing::info!(participant = %key.1, "media offer refused: {message}");
                self.signal(key, &outbox, MediaEvent::Failed { message });
            }
        }
    }

    fn build_peer(
        &mut self,
        key: PeerKey,
        sdp: &str,
        outbox: Outbox,
        forwarding: Arc<Forwarding>,
        now: Instant,
    ) -> Result<(Peer, String), String> {
        let configured = huddle_rtp::configure(huddle_rtp::Role::Server)
            .map_err(|e| format!("media engine: {e}"))?;
        let ufrag = format!("{}{}", self.ufrag_prefix, self.random.hex(8));
        let setting = SettingEngineBuilder::new()
            .with_lite(true)
            .with_ice_credentials(ufrag.clone(), self.random.hex(24))
            .build();
        let mut pc =
            connection(configured, setting, now).map_err(|e| format!("connection: {e}"))?;
        let mut audio = Vec::with_capacity(self.slots.audio);
        let mut video = Vec::with_capacity(self.slots.video);
        let mut share = Vec::with_capacity(self.slots.share);
        // Slot order matches the offer: audio, video, then share slots.
        for (kind, count) in [
            (SlotKind::Audio, self.slots.audio),
            (SlotKind::Video, self.slots.video),
            (SlotKind::Share, self.slots.share),
        ] {
            for index in 0..count {
                let track_id = huddle_rtp::slot_track_id(kind, index);
                // 0 is left out: some stacks read it as "no SSRC".
                let ssrc = self.random.next_u32().max(1);
                let rtx_ssrc = self.random.next_u32().max(1);
                let track = huddle_rtp::local_track(
                    "huddle-slots",
                    &track_id,
                    kind.codec_kind(),
                    ssrc,
                    rtx_ssrc,
                );
                let transceiver = pc
                    .add_transceiver_from_track(
                        track,
                        Some(RTCRtpTransceiverInit {
                            direction: RTCRtpTransceiverDirection::Sendonly,
                            streams: vec![],
                            send_encodings: vec![],
                        }),
                    )
                    .map_err(|e| format!("slot {track_id}: {e}"))?;
                let sender = pc
                    .rtp_transceiver(transceiver)
                    .and_then(|t| t.sender())
                    .ok_or_else(|| format!("slot {track_id} has no sender"))?;
                let slot = Slot {
                    sender,
                    track_id,
                    ssrc,
                    audio_level_id: None,
                    source: None,
                    rewrite: Rewriter::default(),
                    awaiting_keyframe: kind != SlotKind::Audio,
                };
                match kind {
                    SlotKind::Audio => audio.push(slot),
                    SlotKind::Video => video.push(slot),
                    SlotKind::Share => share.push(slot),
                }
            }
        }
        let remote_pwd = lite::ice_pwd(sdp)
            .ok_or_else(|| "offer: no ICE password (a=ice-pwd)".to_owned())?
            .to_owned();
        let offer =
            RTCSessionDescription::offer(sdp.to_owned()).map_err(|e| format!("offer: {e}"))?;
        pc.set_remote_description(now, offer)
            .map_err(|e| format!("offer: {e}"))?;
        for ip in &self.announce {
            let candidate = CandidateHostConfig {
                base_config: CandidateConfig {
                    network: "udp".to_owned(),
                    address: ip.to_string(),
                    port: self.local_addr.port(),
                    component: 1,
                    ..Default::default()
                },
                ..Default::default()
            }
            .new_candidate_host()
            .map_err(|e| format!("candidate: {e}"))?;
            let init = RTCIceCandidate::from(&candidate)
                .to_json()
                .map_err(|e| format!("candidate: {e}"))?;
            pc.add_local_candidate(init)
                .map_err(|e| format!("candidate: {e}"))?;
        }
        let answer = pc.create_answer(None).map_err(|e| format!("answer: {e}"))?;
        pc.set_local_description(now, answer)
            .map_err(|e| format!("answer: {e}"))?;
        let answer = without_rtcp_candidates(
            &pc.local_description()
                .ok_or_else(|| "no local description".to_owned())?
                .sdp,
        );
        for slot in &mut audio {
            slot.audio_level_id = pc.rtp_sender(slot.sender).and_then(|mut s| {
                audio_level_id(&s.get_parameters().rtp_parameters.header_extensions)
            });
        }
        Ok((
            Peer {
                key,
                pc,
                ufrag,
                remote_pwd,
                forwarding,
                addrs: Vec::new(),
                outbox,
                inbound: HashMap::new(),
                audio,
                video,
                share,
                wants: None,
                loudness: Loudness::default(),
                last_pli: None,
                last_share_pli: None,
                told: None,
                connected: false,
                created: now,
                timer: None,
                timer_stale: true,
            },
            answer,
        ))
    }

    fn remove_peer(&mut self, key: PeerKey, now: Instant) {
        let Some(mut peer) = self.peers.remove(&key) else {
            return;
        };
        let _ = peer.pc.close();
        drain_writes(&mut peer.pc, &mut self.outputs);
        self.by_ufrag.remove(&peer.ufrag);
        for addr in &peer.addrs {
            self.by_addr.remove(addr);
            self.outputs.push_back(Output::Released { addr: *addr });
        }
        for kind in [SlotKind::Audio, SlotKind::Video, SlotKind::Share] {
            // What it received: off the lists of those it received.
            for (index, slot) in peer.slots(kind).iter().enumerate() {
                let receiver = Receiver {
                    who: key.1,
                    slot: index,
                };
                self.fanout
                    .move_slot(key.0, kind, receiver, slot.source, None);
            }
            // What it published: every slot that carried it is empty from now on (the
            // reselect that follows may fill it with someone else and tells its subscriber).
            for receiver in self.fanout.take(key, kind) {
                let subscriber = (key.0, receiver.who);
                let Some(slot) = self
                    .peers
                    .get_mut(&subscriber)
                    .and_then(|p| p.slots_mut(kind).get_mut(receiver.slot))
                else {
                    continue;
                };
                point_slot(
                    &mut self.fanout,
                    subscriber,
                    kind,
                    receiver.slot,
                    slot,
                    None,
                );
            }
        }
        if let Some(members) = self.rooms.get_mut(&key.0) {
            members.retain(|id| *id != key.1);
            if members.is_empty() {
                self.rooms.remove(&key.0);
            }
        }
        self.stats
            .peers
            .store(self.peers.len() as u64, Ordering::Relaxed);
        self.dirty.insert(key.0);
        let _ = now;
    }

    fn fail(&mut self, key: PeerKey, message: &str, now: Instant) {
        if let Some(peer) = self.peers.get(&key) {
            let outbox = peer.outbox.clone();
            self.signal(
                key,
                &outbox,
                MediaEvent::Failed {
                    message: message.to_owned(),
                },
            );
        }
        self.remove_peer(key, now);
        self.reselect_dirty(now);
    }

    /// Drains a connection's outputs: datagrams, events, and media to forward.
    fn service(&mut self, key: PeerKey, now: Instant) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        peer.timer_stale = true;
        drain_writes(&mut peer.pc, &mut self.outputs);
        let mut events = Vec::new();
        while let Some(event) = peer.pc.poll_event() {
            events.push(event);
        }
        let mut messages = Vec::new();
        while let Some(message) = peer.pc.poll_read() {
            messages.push(message.message);
        }
        for event in events {
            self.on_event(key, event, now);
        }
        for message in messages {
            self.on_message(key, message, now);
        }
        if let Some(peer) = self.peers.get_mut(&key) {
            drain_writes(&mut peer.pc, &mut self.outputs);
        }
        self.reselect_dirty(now);
    }

    fn on_event(&mut self, key: PeerKey, event: RTCPeerConnectionEvent, now: Instant) {
        match event {
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                let Some(peer) = self.peers.get_mut(&key) else {
                    return;
                };
                let Some(mut receiver) = peer.pc.rtp_receiver(init.receiver_id) else {
                    return;
                };
                let kind = match receiver.track().kind() {
                    RtpCodecKind::Audio => SlotKind::Audio,
                    _ if init.track_id == huddle_rtp::SCREEN_TRACK => SlotKind::Share,
                    _ => SlotKind::Video,
                };
                let level =
                    audio_level_id(&receiver.get_parameters().rtp_parameters.header_extensions);
                tracing::debug!(participant = %key.1, ?kind, ssrc = init.ssrc, "publishing");
                peer.inbound.insert(
                    init.track_id,
                    Inbound {
                        kind,
                        receiver: init.receiver_id,
                        ssrc: init.ssrc,
                        audio_level_id: level,
                        last_timestamp: None,
                    },
                );
                self.dirty.insert(key.0);
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnClose(track_id)) => {
                if let Some(peer) = self.peers.get_mut(&key) {
                    peer.inbound.remove(&track_id);
                    self.dirty.insert(key.0);
                }
            }
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => match state {
                RTCPeerConnectionState::Connected => {
                    if let Some(peer) = self.peers.get_mut(&key) {
                        peer.connected = true;
                        tracing::debug!(participant = %key.1, "media connected");
                    }
                    self.dirty.insert(key.0);
                    // Subscribers start with a keyframe from everyone they will see.
                    self.request_keyframes_for(key, now);
                }
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                    tracing::info!(participant = %key.1, %state, "media connection ended");
                    self.fail(key, "the media connection was lost", now);
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn on_message(&mut self, key: PeerKey, message: RTCMessage, now: Instant) {
        match message {
            RTCMessage::RtpPacket(track_id, packet) => self.forward(key, &track_id, packet, now),
            RTCMessage::RtcpPacket(track_id, packets) => {
                self.on_rtcp(key, &track_id, &packets, now);
            }
            _ => {}
        }
    }

    /// Relays keyframe requests a subscriber sends about one of its video slots.
    fn on_rtcp(
        &mut self,
        key: PeerKey,
        track_id: &str,
        packets: &[Box<dyn rtcp::Packet>],
        now: Instant,
    ) {
        let wants_keyframe = packets
            .iter()
            .any(|p| huddle_rtp::is_keyframe_request(p.as_ref()));
        if !wants_keyframe {
            return;
        }
        let source = self.peers.get(&key).and_then(|peer| {
            [SlotKind::Video, SlotKind::Share]
                .into_iter()
                .find_map(|kind| {
                    peer.slots(kind)
                        .iter()
                        .find(|s| s.track_id == track_id)
                        .and_then(|s| s.source)
                        .map(|source| (source, kind))
                })
        });
        if let Some((source, kind)) = source {
            self.request_keyframe((key.0, source), kind, now);
        }
    }

    fn forward(&mut self, key: PeerKey, track_id: &str, packet: rtp::Packet, now: Instant) {
        let Some(publisher) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(inbound) = publisher.inbound.get_mut(track_id) else {
            return;
        };
        self.stats.rtp_in.fetch_add(1, Ordering::Relaxed);
        if !publisher.forwarding.allows(inbound.kind) {
            return;
        }
        let video = inbound.kind != SlotKind::Audio;
        // Repair packets are answered per hop; only media is forwarded.
        let expected_pt = if video {
            huddle_rtp::H264_PT
        } else {
            huddle_rtp::OPUS_PT
        };
        if packet.header.payload_type != expected_pt {
            return;
        }
        // A frame begins where the timestamp changes; only there may a new subscriber start,
        // or it would get the tail of a keyframe (an IDR without its SPS and PPS, or a later
        // slice of it) and fail to decode until the next one.
        let frame_start = inbound.last_timestamp != Some(packet.header.timestamp);
        inbound.last_timestamp = Some(packet.header.timestamp);
        let inbound = inbound.clone();
        let level = inbound
            .audio_level_id
            .and_then(|id| packet.header.get_extension(id))
            .and_then(|ext| huddle_rtp::parse_audio_level(&ext));
        if !video {
            publisher
                .loudness
                .observe(level.map(|(_, l)| l), packet.payload.len(), now);
        }
        let keyframe = video && frame_start && huddle_rtp::h264_is_keyframe(&packet.payload);
        let (clock, pt) = if video {
            (huddle_rtp::VIDEO_CLOCK, huddle_rtp::H264_PT)
        } else {
            (huddle_rtp::AUDIO_CLOCK, huddle_rtp::OPUS_PT)
        };
        // Only those whose slot carries this stream, not every member: this runs for every
        // packet. Borrowed, not copied: the lists, the peers and the outputs are separate
        // fields.
        let receivers = self.fanout.of(key, inbound.kind);
        // What every copy shares, done once: the copies differ only in SSRC, numbering and
        // the audio level. Without the publisher's extensions a copy allocates nothing.
        let mut template = packet;
        template.header.payload_type = pt;
        template.header.extension = false;
        template.header.extension_profile = 0;
        template.header.extensions.clear();
        let mut wants_keyframe = false;
        for &Receiver { who: member, slot } in receivers {
            let Some(sub) = self.peers.get_mut(&(key.0, member)) else {
                continue;
            };
            if !sub.connected || sub.forwarding.is_closed() {
                continue;
            }
            if !video && !sub.forwarding.hears() {
                self.stats.withheld_deaf.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(slot) = sub.slots_mut(inbound.kind).get_mut(slot) else {
                continue;
            };
            if slot.awaiting_keyframe {
                if keyframe {
                    slot.awaiting_keyframe = false;
                } else {
                    wants_keyframe = true;
                    continue;
                }
            }
            let mut out = template.clone();
            slot.rewrite.apply(&mut out, clock, now);
            out.header.ssrc = slot.ssrc;
            if let (Some(id), Some((voice, dbov))) = (slot.audio_level_id, level) {
                let byte = (u8::from(voice) << 7) | dbov;
                let _ = out
                    .header
                    .set_extension(id, Bytes::copy_from_slice(&[byte]));
            }
            let sender_id = slot.sender;
            if let Some(mut sender) = sub.pc.rtp_sender(sender_id) {
                match sender.write_rtp(now, out) {
                    Ok(()) => {
                        self.stats.rtp_out.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::trace!("forward to {member}: {e}"),
                }
            }
            drain_writes(&mut sub.pc, &mut self.outputs);
            sub.timer_stale = true;
        }
        if wants_keyframe {
            self.request_keyframe(key, inbound.kind, now);
        }
    }

    /// Asks a publisher for a keyframe of its camera or screen (at most every
    /// [`PLI_INTERVAL`] unless `force`).
    fn request_keyframe(&mut self, publisher: PeerKey, kind: SlotKind, now: Instant) {
        self.request_keyframe_from(publisher, kind, now, false);
    }

    fn request_keyframe_from(
        &mut self,
        publisher: PeerKey,
        kind: SlotKind,
        now: Instant,
        force: bool,
    ) {
        let Some(peer) = self.peers.get_mut(&publisher) else {
            return;
        };
        if !force
            && peer
                .last_pli_mut(kind)
                .is_some_and(|at| now.saturating_duration_since(at) < PLI_INTERVAL)
        {
            return;
        }
        let Some(inbound) = peer.inbound.values().find(|i| i.kind == kind).cloned() else {
            return;
        };
        *peer.last_pli_mut(kind) = Some(now);
        peer.timer_stale = true;
        if let Some(mut receiver) = peer.pc.rtp_receiver(inbound.receiver) {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: inbound.ssrc,
            };
            if let Err(e) = receiver.write_rtcp(now, vec![Box::new(pli)]) {
                tracing::trace!("keyframe request: {e}");
            }
        }
        drain_writes(&mut peer.pc, &mut self.outputs);
    }

    /// Asks everyone `subscriber` sees for a keyframe, now: it just connected and can decode
    /// nothing until one comes (a request made while it was connecting went to waste).
    fn request_keyframes_for(&mut self, subscriber: PeerKey, now: Instant) {
        let sources: Vec<(ParticipantId, SlotKind)> = self
            .peers
            .get(&subscriber)
            .map(|p| {
                [SlotKind::Video, SlotKind::Share]
                    .into_iter()
                    .flat_map(|kind| {
                        p.slots(kind)
                            .iter()
                            .filter_map(move |s| s.source.map(|who| (who, kind)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (source, kind) in sources {
            self.request_keyframe_from((subscriber.0, source), kind, now, true);
        }
    }

    fn reselect_dirty(&mut self, now: Instant) {
        let rooms: Vec<u64> = self.dirty.drain().collect();
        for room in rooms {
            self.reselect(room, now);
        }
    }

    /// Re-chooses who fills every slot of every member of `room`, and tells members whose
    /// assignment changed.
    fn reselect(&mut self, room: u64, now: Instant) {
        let Some(members) = self.rooms.get(&room).cloned() else {
            return;
        };
        let mut video_publishers = Vec::new();
        let mut sharers = Vec::new();
        let mut speakers = Vec::new();
        for id in &members {
            let Some(peer) = self.peers.get(&(room, *id)) else {
                continue;
            };
            if !peer.connected {
                continue;
            }
            let forwarding = &peer.forwarding;
            if forwarding.allows(SlotKind::Video) && peer.publishes(SlotKind::Video) {
                video_publishers.push(*id);
            }
            if forwarding.allows(SlotKind::Share) && peer.publishes(SlotKind::Share) {
                sharers.push(*id);
            }
            if forwarding.allows(SlotKind::Audio) && peer.publishes(SlotKind::Audio) {
                speakers.push((*id, peer.loudness.current(now)));
            }
        }
        let mut need_keyframe = Vec::new();
        for id in &members {
            let Some(peer) = self.peers.get_mut(&(room, *id)) else {
                continue;
            };
            let current = peer.sources();
            let (current_audio, current_video) = (&current.audio, &current.video);
            let videos = select::choose_videos(
                *id,
                peer.wants.as_deref(),
                &video_publishers,
                peer.video.len(),
            );
            let next_video = select::assign(current_video, &videos);
            let shares = select::choose_shares(*id, &sharers, &current.share, peer.share.len());
            let next_share = select::assign(&current.share, &shares);
            let voices = select::choose_audio(
                *id,
                &speakers,
                current_audio,
                peer.audio.len(),
                AUDIO_HYSTERESIS,
            );
            let next_audio = select::assign(current_audio, &voices);
            let connected = peer.connected;
            for (kind, slots, nexts) in [
                (SlotKind::Audio, &mut peer.audio, &next_audio),
                (SlotKind::Video, &mut peer.video, &next_video),
                (SlotKind::Share, &mut peer.share, &next_share),
            ] {
                for (index, (slot, next)) in slots.iter_mut().zip(nexts).enumerate() {
                    if slot.source == *next {
                        continue;
                    }
                    point_slot(&mut self.fanout, (room, *id), kind, index, slot, *next);
                    // Video starts on a keyframe; a subscriber still connecting asks when it
                    // is up.
                    if let Some(source) = next.filter(|_| connected && kind != SlotKind::Audio) {
                        need_keyframe.push((source, kind));
                    }
                }
            }
            let assignment = Assignment {
                audio: next_audio,
                video: next_video,
                share: next_share,
            };
            if peer.told.as_ref() != Some(&assignment) {
                self.outputs.push_back(Output::Signal {
                    who: (room, *id),
                    outbox: peer.outbox.clone(),
                    media: MediaEvent::Slots {
                        audio: assignment.audio.clone(),
                        video: assignment.video.clone(),
                        share: assignment.share.clone(),
                    },
                });
                peer.told = Some(assignment);
            }
        }
        need_keyframe.sort_unstable_by_key(|(who, kind)| (*who, *kind == SlotKind::Share));
        need_keyframe.dedup();
        for (source, kind) in need_keyframe {
            self.request_keyframe((room, source), kind, now);
        }
    }

    /// Members connected in `room`, for tests and stats.
    #[must_use]
    pub fn members(&self, room: u64) -> Vec<ParticipantId> {
        self.rooms.get(&room).cloned().unwrap_or_default()
    }

    /// Whether `who` has a connection (for tests).
    #[must_use]
    pub fn has_peer(&self, room: u64, who: ParticipantId) -> bool {
        self.peers.contains_key(&(room, who))
    }

    /// Whether `who`'s stream of `kind` would be forwarded now (for tests).
    #[must_use]
    pub fn forwards(&self, room: u64, who: ParticipantId, kind: SlotKind) -> bool {
        self.peers
            .get(&(room, who))
            .is_some_and(|p| p.forwarding.allows(kind))
    }

    /// Whether `who`'s connection is up (for tests).
    #[cfg(test)]
    pub fn connected(&self, room: u64, who: ParticipantId) -> bool {
        self.peers.get(&(room, who)).is_some_and(|p| p.connected)
    }

    /// Who fills each of `who`'s slots now (for tests).
    #[cfg(test)]
    pub fn sources(&self, room: u64, who: ParticipantId) -> Option<Assignment> {
        self.peers.get(&(room, who)).map(Peer::sources)
    }

    /// Who receives `publisher`'s stream of `kind` (for tests).
    #[cfg(test)]
    pub fn receivers(&self, room: u64, publisher: ParticipantId, kind: SlotKind) -> Vec<Receiver> {
        self.fanout.of((room, publisher), kind).to_vec()
    }

    /// Whether the fan-out lists say exactly what the slots say (for tests): every slot with a
    /// source is on that source's list once, and every list entry is such a slot.
    #[cfg(test)]
    pub fn fanout_matches_slots(&self) -> Result<(), String> {
        let mut listed = 0;
        for (publisher, kind, receivers) in self.fanout.iter() {
            for r in receivers {
                listed += 1;
                let source = self
                    .peers
                    .get(&(publisher.0, r.who))
                    .and_then(|p| p.slots(kind).get(r.slot))
                    .and_then(|s| s.source);
                if source != Some(publisher.1) {
                    return Err(format!(
                        "{publisher:?} {kind:?} lists {r:?}, whose slot carries {source:?}"
                    ));
                }
            }
        }
        let filled: usize = self
            .peers
            .values()
            .map(|p| {
                [SlotKind::Audio, SlotKind::Video, SlotKind::Share]
                    .into_iter()
                    .map(|kind| p.slots(kind).iter().filter(|s| s.source.is_some()).count())
                    .sum::<usize>()
            })
            .sum();
        if filled == listed {
            Ok(())
        } else {
            Err(format!("{filled} slots filled, {listed} listed"))
        }
    }

    /// The videos `who` asked for.
    #[must_use]
    pub fn wants(&self, room: u64, who: ParticipantId) -> Option<Vec<VideoWant>> {
        self.peers.get(&(room, who)).and_then(|p| p.wants.clone())
    }
}

/// Points slot `index` of `subscriber`'s slots of `kind` at `next`, keeping the fan-out
/// lists in step: the sequence numbering continues across the change, and a video slot waits
/// for a keyframe of its new source.
fn point_slot(
    fanout: &mut Fanout,
    subscriber: PeerKey,
    kind: SlotKind,
    index: usize,
    slot: &mut Slot,
    next: Option<ParticipantId>,
) {
    let receiver = Receiver {
        who: subscriber.1,
        slot: index,
    };
    fanout.move_slot(subscriber.0, kind, receiver, slot.source, next);
    slot.source = next;
    slot.rewrite.switch();
    slot.awaiting_keyframe = kind != SlotKind::Audio;
}

/// The answer without the component-2 (RTCP) candidates the connection lists beside each
/// component-1 one: RTCP is multiplexed (`a=rtcp-mux` is required), so they name the same
/// address for a component nobody uses, and strict clients refuse them.
fn without_rtcp_candidates(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let rtcp = line
            .strip_prefix("a=candidate:")
            .and_then(|rest| rest.split(' ').nth(1))
            .is_some_and(|component| component == "2");
        if !rtcp {
            out.push_str(line);
        }
    }
    out
}

/// Moves a connection's outgoing datagrams to `outputs`. Binding requests stay off the
/// wire: an ICE-lite agent sends no checks (see [`lite`]).
fn drain_writes(pc: &mut RTCPeerConnection, outputs: &mut VecDeque<Output>) {
    while let Some(t) = pc.poll_write() {
        if stun::binding_request_txid(&t.message).is_some() {
            tracing::trace!(to = %t.transport.peer_addr, "ICE check not sent (ICE-lite)");
            continue;
        }
        outputs.push_back(Output::Transmit {
            to: t.transport.peer_addr,
            bytes: t.message,
        });
    }
}

/// A connection with Huddle's codecs and interceptors (`configured`) and `setting`.
pub(super) fn connection(
    configured: huddle_rtp::Configured,
    setting: SettingEngine,
    now: Instant,
) -> Result<RTCPeerConnection, huddle_rtp::rtc::shared::error::Error> {
    RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(setting)
        .with_media_engine(configured.engine)
        .with_interceptor_registry(configured.registry)
        .build(now)
}

/// A datagram from `from` as the connection reads it.
pub(super) fn input(
    local_addr: SocketAddr,
    from: SocketAddr,
    message: BytesMut,
    now: Instant,
) -> TaggedBytesMut {
    TaggedBytesMut {
        now,
        transport: TransportContext {
            local_addr,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        },
        message,
    }
}

fn audio_level_id(
    extensions: &[huddle_rtp::rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionParameters],
) -> Option<u8> {
    extensions
        .iter()
        .find(|h| h.uri == huddle_rtp::AUDIO_LEVEL_URI)
        .and_then(|h| u8::try_from(h.id).ok())
}
