//! Whole calls against the router, without sockets: every member is a client-side sans-IO `rtc`
//! connection of the app's shape ([`Client`]), datagrams go between those and the router in
//! memory, and the test moves the clock. ICE, DTLS, SRTP, NACK and RTCP all run for real;
//! only the encoders are replaced by packets written here (an H.264 IDR or delta slice of
//! one packet per frame, Opus-sized audio).
//!
//! What is on the wire between them is read from the RTP header, which SRTP leaves in the
//! clear: which payload type, SSRC and sequence number went where.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use huddle_proto::{MediaEvent, ParticipantId, VideoWant};
use huddle_rtp::rtc::peer_connection::event::RTCPeerConnectionEvent;
use huddle_rtp::rtc::peer_connection::message::RTCMessage;
use huddle_rtp::rtc::peer_connection::sdp::RTCSessionDescription;
use huddle_rtp::rtc::peer_connection::state::RTCPeerConnectionState;
use huddle_rtp::rtc::rtp;
use huddle_rtp::rtc::sansio::Protocol;
use huddle_rtp::SlotKind;

use super::super::fanout::Receiver;
use super::super::peer::Assignment;
use super::super::router::input;
use super::{addr, answer, router_with, Client, TestResult, SERVER, SLOTS};
use crate::outbox::{self, ConnId};
use crate::sfu::{Command, ForwardingTable, Output, Publish, Router};

type Error = Box<dyn std::error::Error>;

/// The room every member is in.
const ROOM: u64 = 1;
/// Longest a call may take to come up on the test clock.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

fn p(n: u64) -> ParticipantId {
    ParticipantId(n)
}

/// The clear part of one RTP datagram on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rtp {
    from: std::net::SocketAddr,
    to: std::net::SocketAddr,
    payload_type: u8,
    ssrc: u32,
    seq: u16,
}

impl Rtp {
    /// The header of `datagram` when it is RTP, not STUN, DTLS or RTCP (RFC 7983, RFC 5761).
    fn read(from: std::net::SocketAddr, to: std::net::SocketAddr, datagram: &[u8]) -> Option<Self> {
        let (&first, &second) = (datagram.first()?, datagram.get(1)?);
        let rtcp = (192..=223).contains(&second);
        if !(128..=191).contains(&first) || rtcp || datagram.len() < 12 {
            return None;
        }
        Some(Rtp {
            from,
            to,
            payload_type: second & 0x7f,
            seq: u16::from_be_bytes([datagram[2], datagram[3]]),
            ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
        })
    }
}

/// One member's app.
struct App {
    who: ParticipantId,
    addr: std::net::SocketAddr,
    client: Client,
    connected: bool,
    /// Next sequence number and timestamp of its microphone and camera.
    audio_next: (u16, u32),
    video_next: (u16, u32),
    /// Media events the router sent it, in order.
    signals: Vec<MediaEvent>,
    /// RTP its slots delivered, by slot track id (`a0`, `v0`).
    received: Vec<(String, rtp::Packet)>,
    /// Keyframe requests about its own tracks, by track id.
    keyframe_requests: Vec<String>,
}

impl App {
    /// The slot assignment it was told last.
    fn slots(&self) -> Result<Assignment, Error> {
        self.signals
            .iter()
            .rev()
            .find_map(|event| match event {
                MediaEvent::Slots {
                    audio,
                    video,
                    share,
                } => Some(Assignment {
                    audio: audio.clone(),
                    video: video.clone(),
                    share: share.clone(),
                }),
                _ => None,
            })
            .ok_or_else(|| format!("member {} was told no slots", self.who).into())
    }

    /// Payloads its slot `track` delivered (the first byte tells the source in these tests).
    fn got(&self, track: &str) -> Vec<&rtp::Packet> {
        self.received
            .iter()
            .filter(|(t, _)| t == track)
            .map(|(_, packet)| packet)
            .collect()
    }
}

/// A router and the members' apps around it, on one clock.
struct Call {
    router: Router,
    forwarding_table: ForwardingTable,
    apps: Vec<App>,
    now: Instant,
    /// Every RTP datagram sent, both ways.
    wire: Vec<Rtp>,
    /// Whether a datagram from the router to an app is lost on the way.
    lose: Box<dyn FnMut(&Rtp) -> bool>,
}

impl Call {
    fn new() -> Self {
        let forwarding_table = ForwardingTable::default();
        Call {
            router: router_with(forwarding_table.clone()),
            forwarding_table,
            apps: Vec::new(),
            now: Instant::now(),
            wire: Vec::new(),
            lose: Box::new(|_| false),
        }
    }

    /// A call whose members `who` all joined and are connected.
    fn with(who: &[u64]) -> Result<Self, Error> {
        let mut call = Call::new();
        for n in who {
            call.join(*n)?;
        }
        call.connect()?;
        Ok(call)
    }

    fn app(&self, who: u64) -> Result<&App, Error> {
        self.apps
            .iter()
            .find(|a| a.who == p(who))
            .ok_or_else(|| format!("no member {who}").into())
    }

    fn app_mut(&mut self, who: u64) -> Result<&mut App, Error> {
        self.apps
            .iter_mut()
            .find(|a| a.who == p(who))
            .ok_or_else(|| format!("no member {who}").into())
    }

    /// Member `who` joins with microphone and camera on, and offers; the answer is applied.
    fn join(&mut self, who: u64) -> TestResult {
        self.forwarding_table.apply(
            (ROOM, p(who)),
            Publish {
                audio: Some(true),
                video: Some(true),
                screen: Some(false),
                deaf: None,
            },
        );
        let port = u16::try_from(50_000 + who)?;
        let app_addr = addr(&format!("127.0.0.1:{port}"));
        let client = Client::new(self.now, app_addr, SLOTS)?;
        let (outbox, _inbox) = outbox::channel(ConnId(who), 64);
        self.router.handle_command(
            self.now,
            Command::Offer {
                room: ROOM,
                who: p(who),
                sdp: client.offer.clone(),
                outbox,
            },
        );
        self.apps.push(App {
            who: p(who),
            addr: app_addr,
            client,
            connected: false,
            audio_next: (1000, 0),
            video_next: (5000, 0),
            signals: Vec::new(),
            received: Vec::new(),
            keyframe_requests: Vec::new(),
        });
        self.pump()?;
        let now = self.now;
        let app = self.app_mut(who)?;
        let sdp = answer(&app.signals)?;
        app.client
            .pc
            .set_remote_description(now, RTCSessionDescription::answer(sdp)?)?;
        self.pump()
    }

    /// Runs the clock until every app and the router see every connection up.
    fn connect(&mut self) -> TestResult {
        let deadline = self.now + CONNECT_WITHIN;
        while self.now < deadline {
            let up = self
                .apps
                .iter()
                .all(|a| a.connected && self.router.connected(ROOM, a.who));
            if up {
                return Ok(());
            }
            self.advance(Duration::from_millis(10))?;
        }
        Err("the call did not come up".into())
    }

    /// Moves every datagram and event until nothing moves any more.
    fn pump(&mut self) -> TestResult {
        let server = addr(SERVER);
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(output) = self.router.poll_output() {
                moved = true;
                match output {
                    Output::Transmit { to, bytes } => {
                        if let Some(rtp) = Rtp::read(server, to, &bytes) {
                            self.wire.push(rtp);
                            if (self.lose)(&rtp) {
                                continue;
                            }
                        }
                        if let Some(app) = self.apps.iter_mut().find(|a| a.addr == to) {
                            let datagram = input(to, server, bytes, self.now);
                            // A refused datagram is the client's business, as on a network.
                            let _ = app.client.pc.handle_read(datagram);
                        }
                    }
                    Output::Signal { who, media, .. } => {
                        if let Some(app) = self.apps.iter_mut().find(|a| a.who == who.1) {
                            app.signals.push(media);
                        }
                    }
                    Output::Released { .. } => {}
                }
            }
            let mut to_router = Vec::new();
            for app in &mut self.apps {
                while let Some(t) = app.client.pc.poll_write() {
                    moved = true;
                    to_router.push((app.addr, t.transport.peer_addr, t.message));
                }
                while let Some(event) = app.client.pc.poll_event() {
                    moved = true;
                    if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                        app.connected = state == RTCPeerConnectionState::Connected;
                    }
                }
                while let Some(read) = app.client.pc.poll_read() {
                    moved = true;
                    match read.message {
                        RTCMessage::RtpPacket(track, packet) => app.received.push((track, packet)),
                        RTCMessage::RtcpPacket(track, packets)
                            if packets
                                .iter()
                                .any(|p| huddle_rtp::is_keyframe_request(p.as_ref())) =>
                        {
                            app.keyframe_requests.push(track);
                        }
                        _ => {}
                    }
                }
            }
            for (from, to, bytes) in to_router {
                if let Some(rtp) = Rtp::read(from, to, &bytes) {
                    self.wire.push(rtp);
                }
                if to == server {
                    self.router.handle_datagram(self.now, from, &bytes);
                }
            }
            if !moved {
                return Ok(());
            }
        }
        Err("the call never went quiet".into())
    }

    /// Runs the clock `by` on, firing every timer of the router and the apps on the way.
    fn advance(&mut self, by: Duration) -> TestResult {
        let end = self.now + by;
        self.pump()?;
        for _ in 0..100_000 {
            let next = self
                .apps
                .iter_mut()
                .filter_map(|a| a.client.pc.poll_timeout())
                .chain(self.router.poll_timeout())
                .min()
                .filter(|at| *at <= end);
            let Some(next) = next else {
                self.now = end;
                return Ok(());
            };
            self.now = self.now.max(next);
            let now = self.now;
            if self.router.poll_timeout().is_some_and(|at| at <= now) {
                self.router.handle_timeout(now);
            }
            for app in &mut self.apps {
                if app.client.pc.poll_timeout().is_some_and(|at| at <= now) {
                    app.client.pc.handle_timeout(now)?;
                }
            }
            self.pump()?;
        }
        Err("timers kept firing without the clock moving".into())
    }

    /// Member `who`'s camera sends one frame in one packet: an IDR slice or a delta slice,
    /// its second byte saying whose it is. Returns the sequence number it went out with.
    fn video(&mut self, who: u64, keyframe: bool) -> Result<u16, Error> {
        let now = self.now;
        let app = self.app_mut(who)?;
        let (seq, ts) = app.video_next;
        app.video_next = (seq.wrapping_add(1), ts.wrapping_add(3000));
        let nal = if keyframe { 0x65 } else { 0x41 };
        let mut payload = vec![nal, u8::try_from(who)?];
        payload.resize(200, 0xab);
        let packet = media_packet(huddle_rtp::H264_PT, seq, ts, Client::VIDEO_SSRC, payload);
        let sender = app.client.video;
        app.client
            .pc
            .rtp_sender(sender)
            .ok_or("no camera sender")?
            .write_rtp(now, packet)?;
        self.pump()?;
        Ok(seq)
    }

    /// Member `who`'s camera starts: a first frame that opens its track at the router (a
    /// stream's first packet only makes it known, so slots can be chosen), then a keyframe,
    /// the first frame anyone receives.
    fn start_video(&mut self, who: u64) -> TestResult {
        self.video(who, false)?;
        self.video(who, true)?;
        Ok(())
    }

    /// Member `who`'s microphone sends one 20 ms packet: speech-sized when `loud`, a DTX
    /// frame otherwise (without the level extension the router judges by size).
    fn audio(&mut self, who: u64, loud: bool) -> TestResult {
        let now = self.now;
        let app = self.app_mut(who)?;
        let (seq, ts) = app.audio_next;
        app.audio_next = (seq.wrapping_add(1), ts.wrapping_add(960));
        let mut payload = vec![u8::try_from(who)?];
        payload.resize(if loud { 90 } else { 2 }, 0x5c);
        let packet = media_packet(huddle_rtp::OPUS_PT, seq, ts, Client::AUDIO_SSRC, payload);
        let sender = app.client.audio;
        app.client
            .pc
            .rtp_sender(sender)
            .ok_or("no microphone sender")?
            .write_rtp(now, packet)?;
        self.pump()
    }

    /// Member `who` shows the videos of `videos`, in that order.
    fn subscribe(&mut self, who: u64, videos: &[u64]) -> TestResult {
        let videos = videos
            .iter()
            .map(|n| VideoWant {
                participant: p(*n),
                width: 640,
                height: 360,
            })
            .collect();
        self.router.handle_command(
            self.now,
            Command::Subscribe {
                room: ROOM,
                who: p(who),
                videos,
            },
        );
        self.pump()
    }

    /// RTP from the router to `who`.
    fn to(&self, who: u64) -> Result<Vec<Rtp>, Error> {
        let to = self.app(who)?.addr;
        let server = addr(SERVER);
        Ok(self
            .wire
            .iter()
            .filter(|r| r.from == server && r.to == to)
            .copied()
            .collect())
    }

    /// RTP from `who` to the router.
    fn from(&self, who: u64) -> Result<Vec<Rtp>, Error> {
        let from = self.app(who)?.addr;
        Ok(self
            .wire
            .iter()
            .filter(|r| r.from == from)
            .copied()
            .collect())
    }
}

fn media_packet(payload_type: u8, seq: u16, ts: u32, ssrc: u32, payload: Vec<u8>) -> rtp::Packet {
    let mut packet = rtp::Packet::default();
    packet.header.version = 2;
    packet.header.marker = true;
    packet.header.payload_type = payload_type;
    packet.header.sequence_number = seq;
    packet.header.timestamp = ts;
    packet.header.ssrc = ssrc;
    packet.payload = Bytes::from(payload);
    packet
}

/// Whose frame a forwarded video packet is (the second payload byte [`Call::video`] wrote).
fn source(packet: &rtp::Packet) -> Option<u64> {
    packet.payload.get(1).map(|b| u64::from(*b))
}

#[test]
fn slots_go_to_publishers_in_join_order_then_as_asked() -> TestResult {
    let mut call = Call::with(&[1, 2, 3])?;
    for who in [1, 2, 3] {
        call.video(who, true)?;
        call.audio(who, who == 2)?;
    }
    // Nobody asked for anything: each sees the first other publisher in join order.
    for (who, seen) in [(1, 2), (2, 1), (3, 1)] {
        let Assignment { video, .. } = call.app(who)?.slots()?;
        assert_eq!(video, vec![Some(p(seen))], "member {who}'s video slot");
    }
    assert_eq!(
        call.router.receivers(ROOM, p(1), SlotKind::Video),
        [
            Receiver { who: p(2), slot: 0 },
            Receiver { who: p(3), slot: 0 }
        ]
    );

    // Member 3 shows member 2's tile: its slot follows, and it is told.
    call.subscribe(3, &[2])?;
    let Assignment { video, .. } = call.app(3)?.slots()?;
    assert_eq!(video, vec![Some(p(2))]);
    assert_eq!(
        call.router.receivers(ROOM, p(1), SlotKind::Video),
        [Receiver { who: p(2), slot: 0 }]
    );
    assert_eq!(
        call.router.receivers(ROOM, p(2), SlotKind::Video),
        [
            Receiver { who: p(1), slot: 0 },
            Receiver { who: p(3), slot: 0 }
        ]
    );

    // Member 2 talks, the others send silence: by the next sweep, 1 and 3 hear 2.
    for _ in 0..25 {
        for who in [1, 2, 3] {
            call.audio(who, who == 2)?;
        }
        call.advance(Duration::from_millis(20))?;
    }
    for who in [1, 3] {
        let Assignment { audio, .. } = call.app(who)?.slots()?;
        assert_eq!(audio, vec![Some(p(2))], "member {who}'s audio slot");
    }
    call.router.fanout_matches_slots()?;
    Ok(())
}

#[test]
fn a_subscriber_that_starts_asks_its_publisher_for_a_keyframe() -> TestResult {
    let mut call = Call::with(&[1])?;
    call.video(1, true)?;
    call.video(1, false)?;
    call.advance(Duration::from_millis(500))?;
    assert!(
        call.app(1)?.keyframe_requests.is_empty(),
        "a keyframe asked for with nobody watching"
    );

    call.join(2)?;
    call.connect()?;
    assert_eq!(
        call.router.sources(ROOM, p(2)).ok_or("no peer")?.video,
        vec![Some(p(1))]
    );
    let requests = &call.app(1)?.keyframe_requests;
    assert!(
        requests.iter().any(|t| t == huddle_rtp::CAMERA_TRACK),
        "member 1 was not asked for a keyframe of its camera: {requests:?}"
    );
    Ok(())
}

#[test]
fn forwarding_starts_on_a_keyframe_and_a_switch_waits_for_one() -> TestResult {
    let mut call = Call::with(&[1, 2, 3])?;
    call.subscribe(2, &[1])?;
    // Member 1's first frames are deltas: member 2 cannot decode them, so gets none.
    for _ in 0..3 {
        call.video(1, false)?;
    }
    assert!(
        call.app(2)?.got("v0").is_empty(),
        "a delta frame forwarded first"
    );
    call.video(1, true)?;
    call.video(1, false)?;
    let got: Vec<Option<u64>> = call.app(2)?.got("v0").iter().map(|p| source(p)).collect();
    assert_eq!(got, vec![Some(1), Some(1)]);

    // Member 2 switches to member 3: member 1 stops at once, member 3 starts at its keyframe.
    call.video(3, false)?;
    call.subscribe(2, &[3])?;
    call.video(1, false)?;
    call.video(3, false)?;
    call.video(3, false)?;
    assert_eq!(
        call.app(2)?.got("v0").len(),
        2,
        "forwarded across the switch"
    );
    call.video(3, true)?;
    call.video(3, false)?;
    call.video(1, true)?;
    let got = call.app(2)?.got("v0");
    let sources: Vec<Option<u64>> = got.iter().map(|p| source(p)).collect();
    assert_eq!(sources, vec![Some(1), Some(1), Some(3), Some(3)]);
    // One outgoing numbering across the switch, so the receiver sees no loss.
    let seqs: Vec<u16> = got.iter().map(|p| p.header.sequence_number).collect();
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0].wrapping_add(1), "{seqs:?}");
    }
    Ok(())
}

#[test]
fn a_closed_gate_stops_forwarding_at_the_next_packet() -> TestResult {
    let mut call = Call::with(&[1, 2])?;
    call.audio(1, true)?;
    call.start_video(1)?;
    call.audio(1, true)?;
    call.video(1, false)?;
    let before = (call.app(2)?.got("a0").len(), call.app(2)?.got("v0").len());
    assert_eq!(before, (1, 2), "not forwarding yet");

    // The host mutes member 1. Only the forwarding changes; no command reaches the router.
    call.forwarding_table.apply(
        (ROOM, p(1)),
        Publish {
            audio: Some(false),
            video: None,
            screen: None,
            deaf: None,
        },
    );
    call.audio(1, true)?;
    call.video(1, false)?;
    assert_eq!(
        call.app(2)?.got("a0").len(),
        before.0,
        "audio after the mute"
    );
    assert_eq!(
        call.app(2)?.got("v0").len(),
        before.1 + 1,
        "video stopped too"
    );

    call.forwarding_table.apply(
        (ROOM, p(1)),
        Publish {
            audio: Some(true),
            video: None,
            screen: None,
            deaf: None,
        },
    );
    call.audio(1, true)?;
    assert_eq!(
        call.app(2)?.got("a0").len(),
        before.0 + 1,
        "audio after the unmute"
    );
    Ok(())
}

#[test]
fn a_deafened_member_is_sent_no_audio_and_others_still_are() -> TestResult {
    let mut call = Call::with(&[1, 2, 3])?;
    call.audio(1, true)?;
    call.start_video(1)?;
    call.audio(1, true)?;
    let heard = |call: &Call, who: u64| call.app(who).map(|a| a.got("a0").len());
    let (two, three) = (heard(&call, 2)?, heard(&call, 3)?);
    assert!(
        two > 0 && three > 0,
        "audio forwarded before: {two} {three}"
    );

    // Member 2 is deafened: the room writes it into 2's forwarding.
    let deaf = |on| Publish {
        audio: None,
        video: None,
        screen: None,
        deaf: Some(on),
    };
    call.forwarding_table.apply((ROOM, p(2)), deaf(true));
    let withheld = call.router.stats().withheld_deaf.load(Ordering::Relaxed);
    for _ in 0..10 {
        call.audio(1, true)?;
    }
    call.video(1, false)?;
    assert_eq!(heard(&call, 2)?, two, "audio reached a deafened member");
    assert_eq!(heard(&call, 3)?, three + 10, "the others still hear");
    assert_eq!(
        call.router.stats().withheld_deaf.load(Ordering::Relaxed) - withheld,
        10,
        "each withheld packet counted"
    );
    // Video still reaches it; deafness is about sound.
    assert!(call.app(2)?.got("v0").len() >= 2, "video stopped too");

    call.forwarding_table.apply((ROOM, p(2)), deaf(false));
    call.audio(1, true)?;
    assert_eq!(heard(&call, 2)?, two + 1, "audio again after undeafening");
    Ok(())
}

#[test]
fn a_leave_clears_every_slot_that_carried_the_member() -> TestResult {
    let mut call = Call::with(&[1, 2, 3])?;
    for who in [1, 2, 3] {
        call.video(who, true)?;
        call.audio(who, who == 1)?;
    }
    call.advance(Duration::from_millis(300))?;
    for who in [2, 3] {
        let Assignment { audio, video, .. } = call.app(who)?.slots()?;
        assert_eq!(
            (audio, video),
            (vec![Some(p(1))], vec![Some(p(1))]),
            "member {who}"
        );
    }
    let forwarded = call.to(3)?.len();

    // Member 1 leaves (the room closes its forwarding, then tells the router).
    call.forwarding_table.close((ROOM, p(1)));
    call.router.handle_command(
        call.now,
        Command::Left {
            room: ROOM,
            who: p(1),
        },
    );
    call.pump()?;
    for kind in [SlotKind::Audio, SlotKind::Video] {
        assert!(
            call.router.receivers(ROOM, p(1), kind).is_empty(),
            "{kind:?}"
        );
    }
    for who in [2, 3] {
        let sources = call.router.sources(ROOM, p(who)).ok_or("no peer")?;
        assert!(
            !sources.audio.contains(&Some(p(1))) && !sources.video.contains(&Some(p(1))),
            "member {who} still receives the leaver: {sources:?}"
        );
        let Assignment { audio, video, .. } = call.app(who)?.slots()?;
        assert!(
            !audio.contains(&Some(p(1))) && !video.contains(&Some(p(1))),
            "member {who} was not told"
        );
    }
    // Member 3's video slot went to the one other publisher, member 2, which starts it
    // with a keyframe.
    assert_eq!(call.app(3)?.slots()?.video, vec![Some(p(2))]);
    call.router.fanout_matches_slots()?;
    let leaver_gone = call.app(1)?.addr;
    call.router
        .handle_datagram(call.now, leaver_gone, &[0x80, 102, 0, 1]);
    call.pump()?;
    assert_eq!(
        call.to(3)?.len(),
        forwarded,
        "something forwarded after the leave"
    );
    Ok(())
}

#[test]
fn a_nack_is_answered_from_the_send_history_not_the_publisher() -> TestResult {
    let mut call = Call::with(&[1, 2])?;
    call.start_video(1)?;
    // The second delta frame towards member 2 is lost on the way.
    let member2 = call.app(2)?.addr;
    let mut seen = 0;
    call.lose = Box::new(move |rtp| {
        if rtp.to != member2 || rtp.payload_type != huddle_rtp::H264_PT {
            return false;
        }
        seen += 1;
        seen == 3
    });
    for _ in 0..4 {
        call.video(1, false)?;
        call.advance(Duration::from_millis(33))?;
    }
    call.advance(Duration::from_millis(500))?;

    let to_member2 = call.to(2)?;
    let lost = to_member2
        .iter()
        .filter(|r| r.payload_type == huddle_rtp::H264_PT)
        .nth(2)
        .ok_or("fewer than three video packets to member 2")?;
    let repairs: Vec<&Rtp> = to_member2
        .iter()
        .filter(|r| r.payload_type == huddle_rtp::RTX_PT)
        .collect();
    assert!(
        !repairs.is_empty(),
        "the loss was not repaired: {to_member2:?}"
    );
    assert!(
        repairs.iter().all(|r| r.ssrc != lost.ssrc),
        "a repair came on the media SSRC, not as RTX"
    );
    // Member 1 resent nothing: the NACK stopped at the router.
    let resent = call
        .from(1)?
        .iter()
        .filter(|r| r.payload_type == huddle_rtp::RTX_PT)
        .count();
    assert_eq!(resent, 0, "the publisher was asked to retransmit");
    // And member 2's connection has the frame after all.
    let got: Vec<u16> = call
        .app(2)?
        .got("v0")
        .iter()
        .map(|p| p.header.sequence_number)
        .collect();
    assert!(
        got.contains(&lost.seq),
        "seq {} never arrived: {got:?}",
        lost.seq
    );
    Ok(())
}
