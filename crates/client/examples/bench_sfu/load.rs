//! Members that cost little to run: each one a sans-IO `rtc` connection on its own UDP port
//! (the forwarding unit tells connections apart by source address), all of them tasks on the
//! one thread of the benchmark's runtime. They join through the real signaling
//! (`huddle_client::session`: WebSocket join, `media_ready`, offer and answer) and run ICE, DTLS
//! and SRTP for real; nothing is encoded or decoded.
//!
//! - A [`subscriber`] offers the app's receive slots only, reads every RTP packet (SRTP
//!   decrypted by the connection), counts packets, bytes and sequence-number gaps, and sends
//!   the RTCP receiver and sender reports of its interceptors; it sends no NACKs (a loss is
//!   counted, not repaired) and no keyframe requests of its own.
//! - A [`publisher`] sends what a 1280×720 at 30 fps camera and a speaking microphone put on
//!   the wire, without an encoder: H.264-shaped FU-A packets at a fixed rate (a keyframe when
//!   asked and every few seconds) and Opus-sized audio every 20 ms. Its CPU is bounded by the
//!   packet rate, not by a picture size. It may also receive, as a subscriber does (a member
//!   of a meeting where everyone's camera is on).
//!
//! Each task waits on its socket, its connection's next timer and its signaling, and after
//! every wake-up drains what the connection has to send, say and hand out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use huddle_client::session::{self, JoinOptions, Session, SessionEvents};
use huddle_proto::{MediaEvent, MediaRequest};
use huddle_rtp::rtc::ice::mdns::MulticastDnsMode;
use huddle_rtp::rtc::interceptor::Registry;
use huddle_rtp::rtc::peer_connection::configuration::interceptor_registry::configure_rtcp_reports;
use huddle_rtp::rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use huddle_rtp::rtc::peer_connection::configuration::RTCConfigurationBuilder;
use huddle_rtp::rtc::peer_connection::event::RTCPeerConnectionEvent;
use huddle_rtp::rtc::peer_connection::message::RTCMessage;
use huddle_rtp::rtc::peer_connection::sdp::RTCSessionDescription;
use huddle_rtp::rtc::peer_connection::state::RTCPeerConnectionState;
use huddle_rtp::rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate,
};
use huddle_rtp::rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use huddle_rtp::rtc::rtp_transceiver::{
    RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
};
use huddle_rtp::rtc::sansio::Protocol;
use huddle_rtp::rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::{watch, Semaphore};

use crate::bench_support::BenchResult;

/// Longest wait for signaling (the answer, `media_ready`) and for the connection to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest datagram read.
const MAX_DATAGRAM: usize = 1500;
/// Time between ICE checks (the app's setting: it nominates on the second answered check).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Checks per candidate pair before it fails.
const ICE_CHECKS: u16 = 28;

/// The publisher's camera: frames per second, and bits per second on the wire unless told.
pub const VIDEO_FPS: u32 = 30;
pub const VIDEO_BPS: u32 = 2_500_000;
/// A keyframe is this many times a delta frame.
const KEYFRAME_FACTOR: usize = 4;
/// Keyframes come at least this often (an encoder's GOP), besides when asked.
const KEYFRAME_INTERVAL: Duration = Duration::from_secs(4);
/// H.264 payload bytes per packet (an FU-A fragment).
const VIDEO_PAYLOAD: usize = 1100;
/// An Opus packet of speech at about 32 kbit/s, every 20 ms.
const AUDIO_PAYLOAD: usize = 80;
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
const AUDIO_TICKS: u32 = 960;

/// What one member's task reports, read by the benchmark between intervals.
#[derive(Debug, Default)]
pub struct Counters {
    /// The media connection is up.
    pub connected: AtomicBool,
    /// The task ended with this many errors (0 or 1).
    pub failed: AtomicU64,
    /// RTP packets read (subscriber) or written (publisher).
    pub packets: AtomicU64,
    /// Their payload bytes.
    pub bytes: AtomicU64,
    /// Packets the sequence numbers say were sent (subscriber): lost = expected − packets.
    pub expected: AtomicU64,
    /// Keyframes sent (publisher).
    pub keyframes: AtomicU64,
    /// Datagrams the socket would not take.
    pub send_dropped: AtomicU64,
}

/// Where a member joins.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's HTTP address.
    pub url: String,
    /// The session's name.
    pub session: String,
}

/// One member's signaling: the session (kept open for as long as the member stays) and the
/// media events it delivers.
struct Signaling {
    session: Session,
    events: SessionEvents,
    media: tokio::sync::mpsc::Receiver<MediaEvent>,
}

/// What `media_ready` said.
struct Slots {
    audio: u8,
    video: u8,
    share: u8,
}

impl Signaling {
    async fn join(options: JoinOptions) -> BenchResult<(Signaling, Slots)> {
        let (session, events) = session::join(options).await?;
        let mut media = session
            .take_media_events()
            .ok_or("the media events were taken")?;
        let slots = tokio::time::timeout(CONNECT_TIMEOUT, async {
            while let Some(event) = media.recv().await {
                if let MediaEvent::Ready {
                    audio_slots,
                    video_slots,
                    share_slots,
                    ..
                } = event
                {
                    return Ok(Slots {
                        audio: audio_slots,
                        video: video_slots,
                        share: share_slots,
                    });
                }
            }
            Err("signaling ended before media_ready")
        })
        .await
        .map_err(|_| "no media_ready")??;
        Ok((
            Signaling {
                session,
                events,
                media,
            },
            slots,
        ))
    }

    /// Sends the offer and waits for the answer.
    async fn negotiate(&mut self, offer: String) -> BenchResult<String> {
        self.session
            .send_media(MediaRequest::Offer { sdp: offer })
            .await?;
        let answer = tokio::time::timeout(CONNECT_TIMEOUT, async {
            while let Some(event) = self.media.recv().await {
                match event {
                    MediaEvent::Answer { sdp } => return Ok(sdp),
                    MediaEvent::Failed { message } => return Err(message),
                    _ => {}
                }
            }
            Err("signaling ended before the answer".to_owned())
        })
        .await
        .map_err(|_| "no answer")??;
        Ok(answer)
    }
}

/// What woke a member's task.
enum Wake {
    /// Datagrams to read, or a timer (handled already).
    Media,
    /// The benchmark says stop, or signaling ended.
    Stop,
}

/// A sans-IO connection and the UDP socket it owns.
struct Endpoint {
    pc: RTCPeerConnection,
    socket: UdpSocket,
    local: SocketAddr,
    buf: Vec<u8>,
    counters: Arc<Counters>,
}

fn init(direction: RTCRtpTransceiverDirection) -> Option<RTCRtpTransceiverInit> {
    Some(RTCRtpTransceiverInit {
        direction,
        streams: vec![],
        send_encodings: vec![],
    })
}

impl Endpoint {
    /// A connection on a fresh loopback port. A subscriber's interceptors are the RTCP
    /// reports only; the publisher's are the app's (NACK, TWCC with congestion control).
    async fn new(publisher: bool, counters: Arc<Counters>) -> BenchResult<Endpoint> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        let configured = huddle_rtp::configure(huddle_rtp::Role::Client)?;
        // The app's codecs and header extensions either way, so the offer is the app's.
        let registry = if publisher {
            configured.registry
        } else {
            configure_rtcp_reports(Registry::new())
        };
        let setting = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECKS))
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(setting)
            .with_media_engine(configured.engine)
            .with_interceptor_registry(registry)
            .build(Instant::now())?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: local.ip().to_string(),
                port: local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()?;
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
        Ok(Endpoint {
            pc,
            socket,
            local,
            buf: vec![0; MAX_DATAGRAM],
            counters,
        })
    }

    /// Receive-only transceivers for every slot `media_ready` announced, in the app's order.
    fn add_slots(&mut self, slots: &Slots) -> BenchResult {
        let receive = [
            (RtpCodecKind::Audio, u16::from(slots.audio)),
            (
                RtpCodecKind::Video,
                u16::from(slots.video) + u16::from(slots.share),
            ),
        ];
        for (kind, count) in receive {
            for _ in 0..count {
                self.pc
                    .add_transceiver_from_kind(kind, init(RTCRtpTransceiverDirection::Recvonly))?;
            }
        }
        Ok(())
    }

    /// A send-only track of `kind` with SSRC `ssrc`.
    fn add_track(
        &mut self,
        track_id: &str,
        kind: RtpCodecKind,
        ssrc: u32,
    ) -> BenchResult<RTCRtpSenderId> {
        let track =
            huddle_rtp::local_track(huddle_rtp::PUBLISH_STREAM, track_id, kind, ssrc, ssrc ^ 1);
        let transceiver = self
            .pc
            .add_transceiver_from_track(track, init(RTCRtpTransceiverDirection::Sendonly))?;
        Ok(self
            .pc
            .rtp_transceiver(transceiver)
            .and_then(|t| t.sender())
            .ok_or("a send-only transceiver without a sender")?)
    }

    /// Offers through `signaling` and applies the answer.
    async fn negotiate(&mut self, signaling: &mut Signaling) -> BenchResult {
        let offer = self.pc.create_offer(None)?;
        self.pc.set_local_description(Instant::now(), offer)?;
        let offer = self
            .pc
            .local_description()
            .ok_or("no local description")?
            .sdp;
        let answer = signaling.negotiate(offer).await?;
        self.pc
            .set_remote_description(Instant::now(), RTCSessionDescription::answer(answer)?)?;
        Ok(())
    }

    /// Waits for a datagram, the connection's next timer, `tick`, signaling or `stop`, and
    /// feeds the connection what came.
    async fn wait(
        &mut self,
        signaling: &mut Signaling,
        stop: &mut watch::Receiver<bool>,
        tick: Option<Instant>,
    ) -> Wake {
        let timer = self.pc.poll_timeout().into_iter().chain(tick).min();
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(
            timer.unwrap_or_else(|| Instant::now() + Duration::from_secs(1)),
        ));
        tokio::select! {
            readable = self.socket.readable() => {
                if readable.is_ok() {
                    self.read_all();
                }
                Wake::Media
            }
            () = sleep => {
                let now = Instant::now();
                if self.pc.poll_timeout().is_some_and(|at| at <= now) {
                    if let Err(e) = self.pc.handle_timeout(now) {
                        tracing::debug!("timer: {e}");
                    }
                }
                Wake::Media
            }
            event = signaling.media.recv() => match event {
                // Slot assignments and the like: nothing to do for these members.
                Some(_) => Wake::Media,
                None => Wake::Stop,
            },
            event = signaling.events.recv() => match event {
                Some(_) => Wake::Media,
                None => Wake::Stop,
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    Wake::Stop
                } else {
                    Wake::Media
                }
            }
        }
    }

    /// Hands the connection every datagram waiting on the socket.
    fn read_all(&mut self) {
        loop {
            match self.socket.try_recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let Some(data) = self.buf.get(..n) else {
                        continue;
                    };
                    let datagram = TaggedBytesMut {
                        now: Instant::now(),
                        transport: TransportContext {
                            local_addr: self.local,
                            peer_addr: from,
                            ecn: None,
                            transport_protocol: TransportProtocol::UDP,
                        },
                        message: BytesMut::from(data),
                    };
                    if let Err(e) = self.pc.handle_read(datagram) {
                        tracing::trace!("datagram refused: {e}");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("socket read: {e}");
                    return;
                }
            }
        }
    }

    /// Sends what the connection wrote, notes its state and hands out what it read.
    fn service(&mut self, mut on_message: impl FnMut(RTCMessage)) -> BenchResult {
        while let Some(t) = self.pc.poll_write() {
            if self
                .socket
                .try_send_to(&t.message, t.transport.peer_addr)
                .is_err()
            {
                self.counters.send_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        while let Some(event) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                match state {
                    RTCPeerConnectionState::Connected => {
                        self.counters.connected.store(true, Ordering::Relaxed);
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        return Err(format!("media connection {state}").into());
                    }
                    _ => {}
                }
            }
        }
        while let Some(read) = self.pc.poll_read() {
            on_message(read.message);
        }
        Ok(())
    }
}

/// The highest extended sequence number of one received stream.
struct Sequence {
    highest: u64,
}

impl Sequence {
    fn new(seq: u16) -> Self {
        Sequence {
            highest: u64::from(seq),
        }
    }

    /// Folds a packet in; returns by how much the count of packets sent grew.
    fn observe(&mut self, seq: u16) -> u64 {
        let delta = i64::from(seq.wrapping_sub(self.highest as u16) as i16);
        if delta > 0 {
            self.highest += delta.unsigned_abs();
            delta.unsigned_abs()
        } else {
            0
        }
    }
}

/// Counts the RTP packets a member reads, and from their sequence numbers the ones sent.
struct Received {
    counters: Arc<Counters>,
    streams: Vec<(String, Sequence)>,
}

impl Received {
    fn new(counters: Arc<Counters>) -> Self {
        Received {
            counters,
            streams: Vec::new(),
        }
    }

    fn observe(&mut self, message: RTCMessage) {
        let RTCMessage::RtpPacket(track, packet) = message else {
            return;
        };
        let seq = packet.header.sequence_number;
        let grown = match self.streams.iter_mut().find(|(t, _)| *t == track) {
            Some((_, sequence)) => sequence.observe(seq),
            None => {
                self.streams.push((track, Sequence::new(seq)));
                1
            }
        };
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes
            .fetch_add(packet.payload.len() as u64, Ordering::Relaxed);
        self.counters.expected.fetch_add(grown, Ordering::Relaxed);
    }
}

/// Joins as someone who only watches and listens, and counts what arrives until `stop`.
/// `joining` bounds how many members set up at once; the permit is given back once connected.
pub async fn subscriber(
    target: Target,
    name: String,
    counters: Arc<Counters>,
    joining: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
) {
    if let Err(e) = run_subscriber(target, name, &counters, joining, stop).await {
        tracing::warn!("subscriber: {e}");
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

async fn run_subscriber(
    target: Target,
    name: String,
    counters: &Arc<Counters>,
    joining: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> BenchResult {
    let permit = joining.acquire_owned().await?;
    let mut options = JoinOptions::new(target.url, target.session, name);
    options.audio_muted = true;
    options.video_on = false;
    let (mut signaling, slots) = Signaling::join(options).await?;
    let mut endpoint = Endpoint::new(false, Arc::clone(counters)).await?;
    endpoint.add_slots(&slots)?;
    endpoint.negotiate(&mut signaling).await?;
    let mut permit = Some(permit);
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut received = Received::new(Arc::clone(counters));
    loop {
        if let Wake::Stop = endpoint.wait(&mut signaling, &mut stop, None).await {
            break;
        }
        endpoint.service(|message| received.observe(message))?;
        if permit.is_some() {
            if counters.connected.load(Ordering::Relaxed) {
                permit = None;
            } else if Instant::now() > deadline {
                return Err("the media connection did not come up".into());
            }
        }
    }
    signaling.session.leave().await?;
    Ok(())
}

/// The publisher's outgoing streams.
struct Sending {
    audio: RTCRtpSenderId,
    video: RTCRtpSenderId,
    audio_seq: u16,
    video_seq: u16,
    audio_ts: u32,
    next_audio: Instant,
    next_frame: Instant,
    frames: u64,
    started: Instant,
    last_keyframe: Option<Instant>,
    keyframe_wanted: bool,
    video_bps: u32,
}

const AUDIO_SSRC: u32 = 0x0a0d_1000;
const VIDEO_SSRC: u32 = 0x0a0d_2000;

impl Sending {
    fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: Bytes) -> rtp::Packet {
        let mut packet = rtp::Packet::default();
        packet.header.version = 2;
        packet.header.payload_type = pt;
        packet.header.sequence_number = seq;
        packet.header.timestamp = ts;
        packet.header.ssrc = ssrc;
        packet.header.marker = marker;
        packet.payload = payload;
        packet
    }

    /// Writes every audio packet and video frame due by `now`.
    fn send_due(
        &mut self,
        pc: &mut RTCPeerConnection,
        counters: &Counters,
        now: Instant,
    ) -> BenchResult {
        while self.next_audio <= now {
            let payload = Bytes::from(vec![0x5c; AUDIO_PAYLOAD]);
            let packet = Self::packet(
                huddle_rtp::OPUS_PT,
                self.audio_seq,
                self.audio_ts,
                AUDIO_SSRC,
                false,
                payload,
            );
            self.audio_seq = self.audio_seq.wrapping_add(1);
            self.audio_ts = self.audio_ts.wrapping_add(AUDIO_TICKS);
            self.next_audio += AUDIO_INTERVAL;
            write(pc, self.audio, now, packet, counters)?;
        }
        let frame_interval = Duration::from_secs(1) / VIDEO_FPS;
        while self.next_frame <= now {
            let keyframe = self.keyframe_wanted
                || self
                    .last_keyframe
                    .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_INTERVAL);
            if keyframe {
                self.keyframe_wanted = false;
                self.last_keyframe = Some(now);
                counters.keyframes.fetch_add(1, Ordering::Relaxed);
            }
            let delta_bytes = (self.video_bps / 8 / VIDEO_FPS) as usize;
            let bytes = if keyframe {
                delta_bytes * KEYFRAME_FACTOR
            } else {
                delta_bytes
            };
            let count = bytes.div_ceil(VIDEO_PAYLOAD).max(2);
            let ts =
                (self.frames * u64::from(huddle_rtp::VIDEO_CLOCK) / u64::from(VIDEO_FPS)) as u32;
            // FU-A fragments of one IDR (type 5) or non-IDR (type 1) slice.
            let nal_type = if keyframe { 5 } else { 1 };
            for i in 0..count {
                let mut fu = nal_type;
                if i == 0 {
                    fu |= 0x80;
                }
                if i + 1 == count {
                    fu |= 0x40;
                }
                let mut payload = vec![0xab; VIDEO_PAYLOAD];
                if let Some(header) = payload.get_mut(..2) {
                    header.copy_from_slice(&[0x7c, fu]);
                }
                let packet = Self::packet(
                    huddle_rtp::H264_PT,
                    self.video_seq,
                    ts,
                    VIDEO_SSRC,
                    i + 1 == count,
                    Bytes::from(payload),
                );
                self.video_seq = self.video_seq.wrapping_add(1);
                write(pc, self.video, now, packet, counters)?;
            }
            self.frames += 1;
            self.next_frame = self.started + frame_interval * (self.frames as u32);
        }
        Ok(())
    }
}

fn write(
    pc: &mut RTCPeerConnection,
    sender: RTCRtpSenderId,
    now: Instant,
    packet: rtp::Packet,
    counters: &Counters,
) -> BenchResult {
    let len = packet.payload.len() as u64;
    pc.rtp_sender(sender)
        .ok_or("no sender")?
        .write_rtp(now, packet)?;
    counters.packets.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(len, Ordering::Relaxed);
    Ok(())
}

/// How a publisher sends, and whether it also receives.
#[derive(Debug, Clone)]
pub struct Publishing {
    /// The display name.
    pub name: String,
    /// Video bits per second on the wire.
    pub video_bps: u32,
    /// Receive the others too (through the slots), counting into these.
    pub receive: Option<Arc<Counters>>,
}

impl Default for Publishing {
    fn default() -> Self {
        Publishing {
            name: "Publisher".to_owned(),
            video_bps: VIDEO_BPS,
            receive: None,
        }
    }
}

/// Joins with camera and microphone on and sends until `stop` (see the module's docs).
pub async fn publisher(
    target: Target,
    publishing: Publishing,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
) {
    if let Err(e) = run_publisher(target, publishing, &counters, stop).await {
        tracing::warn!("publisher: {e}");
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

async fn run_publisher(
    target: Target,
    publishing: Publishing,
    counters: &Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> BenchResult {
    let mut options = JoinOptions::new(target.url, target.session, publishing.name);
    options.audio_muted = false;
    options.video_on = true;
    let (mut signaling, slots) = Signaling::join(options).await?;
    let mut endpoint = Endpoint::new(true, Arc::clone(counters)).await?;
    let audio = endpoint.add_track(huddle_rtp::AUDIO_TRACK, RtpCodecKind::Audio, AUDIO_SSRC)?;
    let video = endpoint.add_track(huddle_rtp::CAMERA_TRACK, RtpCodecKind::Video, VIDEO_SSRC)?;
    let mut received = publishing.receive.map(Received::new);
    if received.is_some() {
        endpoint.add_slots(&slots)?;
    }
    endpoint.negotiate(&mut signaling).await?;
    let mut sending: Option<Sending> = None;
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let tick = sending.as_ref().map(|s| s.next_audio.min(s.next_frame));
        if let Wake::Stop = endpoint.wait(&mut signaling, &mut stop, tick).await {
            break;
        }
        let mut keyframe_wanted = false;
        endpoint.service(|message| match message {
            RTCMessage::RtcpPacket(_, packets) => {
                keyframe_wanted |= packets
                    .iter()
                    .any(|p| huddle_rtp::is_keyframe_request(p.as_ref()));
            }
            other => {
                if let Some(received) = &mut received {
                    received.observe(other);
                }
            }
        })?;
        let now = Instant::now();
        match &mut sending {
            Some(s) => {
                s.keyframe_wanted |= keyframe_wanted;
                s.send_due(&mut endpoint.pc, counters, now)?;
                endpoint.service(|message| {
                    if let Some(received) = &mut received {
                        received.observe(message);
                    }
                })?;
            }
            None if counters.connected.load(Ordering::Relaxed) => {
                sending = Some(Sending {
                    audio,
                    video,
                    audio_seq: 1,
                    video_seq: 1,
                    audio_ts: 0,
                    next_audio: now,
                    next_frame: now,
                    frames: 0,
                    started: now,
                    last_keyframe: None,
                    keyframe_wanted: true,
                    video_bps: publishing.video_bps,
                });
            }
            None if now > deadline => return Err("the media connection did not come up".into()),
            None => {}
        }
    }
    signaling.session.leave().await?;
    Ok(())
}
