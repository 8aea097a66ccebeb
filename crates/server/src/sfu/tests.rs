//! The forwarding unit driven without sockets: datagrams in, datagrams out, on a clock the
//! test moves, with a fixed seed. A member is a sans-IO `rtc` connection of the client's shape
//! ([`Client`]) whose offer the router answers. Here the STUN a client sends is written by
//! hand, so that each way a client may check and nominate can be tried; [`call`] lets the
//! client connections themselves talk to the router, for whole calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use huddle_proto::{MediaEvent, ParticipantId};
use huddle_rtp::rtc::crypto::default_provider;
use huddle_rtp::rtc::ice::attributes::control::AttrControlling;
use huddle_rtp::rtc::ice::attributes::priority::PriorityAttr;
use huddle_rtp::rtc::ice::attributes::use_candidate::UseCandidateAttr;
use huddle_rtp::rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use huddle_rtp::rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate,
};
use huddle_rtp::rtc::peer_connection::RTCPeerConnection;
use huddle_rtp::rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use huddle_rtp::rtc::rtp_transceiver::{
    RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
};
use huddle_rtp::rtc::stun::attributes::ATTR_USERNAME;
use huddle_rtp::rtc::stun::fingerprint::FINGERPRINT;
use huddle_rtp::rtc::stun::integrity::MessageIntegrity;
use huddle_rtp::rtc::stun::message::{Message, Setter, TransactionId, BINDING_REQUEST};
use huddle_rtp::rtc::stun::textattrs::Username;
use huddle_rtp::SlotKind;

use super::random::{Random, SEED_LEN};
use super::router::{connection, SlotCounts, SWEEP_INTERVAL};
use super::{stun, Command, ForwardingTable, Output, Publish, Router, Sfu, SfuStats};
use crate::outbox::{self, ConnId};

mod call;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SERVER: &str = "127.0.0.1:7882";
const CLIENT: &str = "127.0.0.1:50000";
const CLIENT_UFRAG: &str = "cliufrag";
const CLIENT_PWD: &str = "clientpasswordclientpassword";

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a literal socket address")
}

/// One audio and one video slot per member, no screen share.
pub(super) const SLOTS: SlotCounts = SlotCounts {
    audio: 1,
    video: 1,
    share: 0,
};

/// A router with [`SLOTS`], and member 1 of room 1 in the session with microphone and camera
/// on.
fn router() -> Router {
    router_with(ForwardingTable::default())
}

pub(super) fn router_with(forwarding_table: ForwardingTable) -> Router {
    forwarding_table.apply((1, ParticipantId(1)), Publish::of_on());
    let local = addr(SERVER);
    Router::new(
        local,
        vec![local.ip()],
        SLOTS,
        Arc::new(SfuStats::default()),
        forwarding_table,
        Random::from_seed([7; SEED_LEN]),
    )
}

impl Publish {
    fn of_on() -> Self {
        Publish {
            audio: Some(true),
            video: Some(true),
            screen: Some(false),
            deaf: None,
        }
    }
}

/// A member's app as far as the router can tell: a client-side connection of the app's shape
/// (microphone and camera sent, receive-only slots after them) with known ICE credentials.
pub(super) struct Client {
    pub pc: RTCPeerConnection,
    /// Sender of the microphone (SSRC [`Client::AUDIO_SSRC`]).
    pub audio: RTCRtpSenderId,
    /// Sender of the camera (SSRC [`Client::VIDEO_SSRC`]).
    pub video: RTCRtpSenderId,
    /// Its offer, already its local description.
    pub offer: String,
}

impl Client {
    pub const AUDIO_SSRC: u32 = 11;
    pub const VIDEO_SSRC: u32 = 22;

    /// A client at `addr` (its one host candidate) offering `slots` receive-only slots.
    pub fn new(
        now: Instant,
        addr: SocketAddr,
        slots: SlotCounts,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let configured = huddle_rtp::configure(huddle_rtp::Role::Client)?;
        let setting = SettingEngineBuilder::new()
            .with_ice_credentials(CLIENT_UFRAG.to_owned(), CLIENT_PWD.to_owned())
            .build();
        let mut pc = connection(configured, setting, now)?;
        let init = |direction| {
            Some(RTCRtpTransceiverInit {
                direction,
                streams: vec![],
                send_encodings: vec![],
            })
        };
        let mut senders = Vec::new();
        for (track_id, kind, ssrc) in [
            (
                huddle_rtp::AUDIO_TRACK,
                RtpCodecKind::Audio,
                Self::AUDIO_SSRC,
            ),
            (
                huddle_rtp::CAMERA_TRACK,
                RtpCodecKind::Video,
                Self::VIDEO_SSRC,
            ),
        ] {
            let track =
                huddle_rtp::local_track(huddle_rtp::PUBLISH_STREAM, track_id, kind, ssrc, ssrc + 1);
            let transceiver =
                pc.add_transceiver_from_track(track, init(RTCRtpTransceiverDirection::Sendonly))?;
            let sender = pc
                .rtp_transceiver(transceiver)
                .and_then(|t| t.sender())
                .ok_or("a send-only transceiver without a sender")?;
            senders.push(sender);
        }
        let receive = [
            (RtpCodecKind::Audio, slots.audio),
            (RtpCodecKind::Video, slots.video + slots.share),
        ];
        for (kind, count) in receive {
            for _ in 0..count {
                pc.add_transceiver_from_kind(kind, init(RTCRtpTransceiverDirection::Recvonly))?;
            }
        }
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: addr.ip().to_string(),
                port: addr.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()?;
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
        let offer = pc.create_offer(None)?;
        pc.set_local_description(now, offer)?;
        let offer = pc.local_description().ok_or("no local description")?.sdp;
        Ok(Self {
            pc,
            audio: senders[0],
            video: senders[1],
            offer,
        })
    }
}

/// An offer as the app makes it (microphone, camera, one audio and one video slot), with
/// known ICE credentials.
fn client_offer(now: Instant) -> Result<String, Box<dyn std::error::Error>> {
    Ok(Client::new(now, addr(CLIENT), SLOTS)?.offer)
}

/// Datagrams to send (where, what) and media events (for whom, what).
type Outputs = (
    Vec<(SocketAddr, BytesMut)>,
    Vec<(ParticipantId, MediaEvent)>,
);

/// Everything the router asked for since the last call.
fn outputs(router: &mut Router) -> Outputs {
    let mut datagrams = Vec::new();
    let mut signals = Vec::new();
    while let Some(output) = router.poll_output() {
        match output {
            Output::Transmit { to, bytes } => datagrams.push((to, bytes)),
            Output::Signal { who, media, .. } => signals.push((who.1, media)),
            Output::Released { .. } => {}
        }
    }
    (datagrams, signals)
}

/// The member's answer among the events it was sent.
fn answer(events: &[MediaEvent]) -> Result<String, Box<dyn std::error::Error>> {
    events
        .iter()
        .find_map(|event| match event {
            MediaEvent::Answer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .ok_or_else(|| "no answer".into())
}

/// The value of the first `a=<name>:` line.
fn sdp_attr<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("a={name}:");
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix(prefix.as_str()))
}

/// The signaling events `who` was sent in answer to its offer.
fn offer_of(
    router: &mut Router,
    who: ParticipantId,
    now: Instant,
) -> Result<Vec<MediaEvent>, Box<dyn std::error::Error>> {
    let (outbox, _inbox) = outbox::channel(ConnId(who.0), 64);
    router.handle_command(
        now,
        Command::Offer {
            room: 1,
            who,
            sdp: client_offer(now)?,
            outbox,
        },
    );
    let (_, signals) = outputs(router);
    Ok(signals
        .into_iter()
        .filter(|(to, _)| *to == who)
        .map(|(_, event)| event)
        .collect())
}

/// A member that offered; the router answered.
struct Member {
    server_ufrag: String,
    server_pwd: String,
}

fn offer(router: &mut Router, now: Instant) -> Result<Member, Box<dyn std::error::Error>> {
    let events = offer_of(router, ParticipantId(1), now)?;
    let sdp = answer(&events)?;
    Ok(Member {
        server_ufrag: sdp_attr(&sdp, "ice-ufrag").ok_or("no ufrag")?.to_owned(),
        server_pwd: sdp_attr(&sdp, "ice-pwd").ok_or("no pwd")?.to_owned(),
    })
}

/// A check from the member, as a controlling full agent sends it.
fn check(member: &Member, nominate: bool) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let provider = default_provider()?;
    let username = format!("{}:{CLIENT_UFRAG}", member.server_ufrag);
    let mut setters: Vec<Box<dyn Setter + '_>> = vec![
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(Username::new(ATTR_USERNAME, username)),
        Box::new(AttrControlling(7)),
        Box::new(PriorityAttr(2_130_706_431)),
    ];
    if nominate {
        setters.push(Box::new(UseCandidateAttr));
    }
    setters.push(Box::new(
        MessageIntegrity::new_short_term_integrity_with_provider(
            member.server_pwd.clone(),
            provider.crypto(),
        ),
    ));
    setters.push(Box::new(FINGERPRINT));
    let mut message = Message::new();
    message.build(&setters)?;
    Ok(message.raw)
}

/// What the router sent in answer to one datagram.
struct Sent {
    datagrams: Vec<(SocketAddr, BytesMut)>,
}

impl Sent {
    fn answers(&self, request: &[u8]) -> bool {
        let txid = stun::transaction_id(request);
        self.datagrams.iter().any(|(to, d)| {
            *to == addr(CLIENT) && txid.is_some() && stun::binding_success_txid(d) == txid
        })
    }

    fn checks(&self) -> usize {
        self.datagrams
            .iter()
            .filter(|(_, d)| stun::binding_request_txid(d).is_some())
            .count()
    }

    /// A DTLS handshake record (RFC 9147 demultiplexing: first byte 20–63; 22 is handshake):
    /// the server, the DTLS client, starts once a pair is selected.
    fn dtls_hello(&self) -> bool {
        self.datagrams
            .iter()
            .any(|(to, d)| *to == addr(CLIENT) && d.first() == Some(&22))
    }
}

/// Hands the router one datagram at `now`, runs the timers that fall due at that instant
/// (as its task does right after), and collects what it sent.
fn send(router: &mut Router, datagram: &[u8], now: Instant) -> Sent {
    router.handle_datagram(now, addr(CLIENT), datagram);
    let (mut datagrams, _) = outputs(router);
    for _ in 0..4 {
        if router.poll_timeout().is_none_or(|at| at > now) {
            break;
        }
        router.handle_timeout(now);
        datagrams.extend(outputs(router).0);
    }
    Sent { datagrams }
}

#[test]
fn a_nomination_on_the_first_check_is_answered_at_once() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let member = offer(&mut router, now)?;
    let nomination = check(&member, true)?;
    let sent = send(&mut router, &nomination, now);
    assert!(
        sent.answers(&nomination),
        "the first nominating check went unanswered"
    );
    assert_eq!(
        sent.checks(),
        0,
        "an ICE-lite server sent a check of its own"
    );
    assert!(sent.dtls_hello(), "the pair was not selected at once");
    Ok(())
}

#[test]
fn a_nomination_right_after_a_plain_check_is_answered_at_once() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let member = offer(&mut router, now)?;
    let plain = check(&member, false)?;
    let sent = send(&mut router, &plain, now);
    assert!(sent.answers(&plain));
    assert_eq!(
        sent.checks(),
        0,
        "an ICE-lite server sent a triggered check"
    );
    let nomination = check(&member, true)?;
    let sent = send(&mut router, &nomination, now);
    assert!(sent.answers(&nomination), "the nomination went unanswered");
    assert_eq!(sent.checks(), 0);
    assert!(sent.dtls_hello(), "the pair was not selected at once");
    Ok(())
}

#[test]
fn consent_checks_are_answered_and_never_returned() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let member = offer(&mut router, now)?;
    let nomination = check(&member, true)?;
    send(&mut router, &nomination, now);
    for i in 1..=4u64 {
        let later = now + std::time::Duration::from_secs(5 * i);
        router.handle_timeout(later);
        let consent = check(&member, false)?;
        let sent = send(&mut router, &consent, later);
        assert!(sent.answers(&consent), "consent check {i} went unanswered");
        assert_eq!(
            sent.checks(),
            0,
            "a check was sent back after consent check {i}"
        );
    }
    Ok(())
}

#[test]
fn a_check_with_a_wrong_password_is_not_answered() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let mut member = offer(&mut router, now)?;
    member.server_pwd = "not the password at all".to_owned();
    let forged = check(&member, true)?;
    let sent = send(&mut router, &forged, now);
    assert!(!sent.answers(&forged));
    assert!(!sent.dtls_hello());
    Ok(())
}

/// The failure among the events a member was sent, if any.
fn failure(events: &[MediaEvent]) -> Option<String> {
    events.iter().find_map(|event| match event {
        MediaEvent::Failed { message } => Some(message.clone()),
        _ => None,
    })
}

#[test]
fn host_controls_hold_when_the_command_queue_is_full() -> TestResult {
    let now = Instant::now();
    let forwarding_table = ForwardingTable::default();
    let mut router = router_with(forwarding_table.clone());
    offer(&mut router, now)?;
    let who = ParticipantId(1);
    assert!(router.forwards(1, who, SlotKind::Audio));
    assert!(router.forwards(1, who, SlotKind::Video));
    assert!(!router.forwards(1, who, SlotKind::Share));

    // The forwarding task's queue is full: nothing more gets through to it.
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let sfu = Sfu {
        workers: vec![super::worker::Handle {
            commands: tx,
            stats: Arc::new(SfuStats::default()),
        }]
        .into(),
        placement: Arc::default(),
        audio_slots: 1,
        video_slots: 1,
        share_slots: 0,
        turn: None,
        local_addr: addr(SERVER),
        forwarding_table,
    };
    sfu.publishing(1, ParticipantId(9), Publish::default());
    assert!(
        !sfu.send(1, true, Command::Publishing { room: 1 }),
        "the queue should be full"
    );

    // The host mutes the member and stops its video: both stop at once regardless.
    sfu.publishing(
        1,
        who,
        Publish {
            audio: Some(false),
            video: None,
            screen: None,
            deaf: None,
        },
    );
    assert!(!router.forwards(1, who, SlotKind::Audio));
    assert!(router.forwards(1, who, SlotKind::Video));
    sfu.publishing(
        1,
        who,
        Publish {
            audio: None,
            video: Some(false),
            screen: None,
            deaf: None,
        },
    );
    assert!(!router.forwards(1, who, SlotKind::Video));

    // Removed: nothing is forwarded, and the next sweep drops the connection.
    sfu.publishing(1, who, Publish::of_on());
    assert!(router.forwards(1, who, SlotKind::Audio));
    sfu.left(1, who);
    assert!(!router.forwards(1, who, SlotKind::Audio));
    assert!(router.has_peer(1, who));
    let sweep = router
        .poll_timeout()
        .ok_or("no deadline with a connection open")?;
    assert!(sweep <= now + SWEEP_INTERVAL, "the sweep is not a deadline");
    router.handle_timeout(now + SWEEP_INTERVAL);
    assert!(!router.has_peer(1, who));
    assert_eq!(router.poll_timeout(), None, "a deadline with nothing to do");
    Ok(())
}

#[test]
fn an_offer_from_no_member_is_refused() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let events = offer_of(&mut router, ParticipantId(2), now)?;
    let message = failure(&events).ok_or("no failure for a stranger's offer")?;
    assert!(message.contains("not a member"), "{message}");
    assert!(!router.has_peer(1, ParticipantId(2)));
    Ok(())
}

#[test]
fn nothing_is_forwarded_before_the_room_says_so() {
    let forwarding_table = ForwardingTable::default();
    forwarding_table.apply((1, ParticipantId(3)), Publish::default());
    let forwarding = forwarding_table
        .get((1, ParticipantId(3)))
        .expect("just created");
    for kind in [SlotKind::Audio, SlotKind::Video, SlotKind::Share] {
        assert!(!forwarding.allows(kind), "{kind:?} allowed by default");
    }
}

#[test]
fn the_answer_has_the_documented_shape() -> TestResult {
    let now = Instant::now();
    let mut router = router();
    let events = offer_of(&mut router, ParticipantId(1), now)?;
    let sdp = answer(&events)?;
    let (session, sections) = sdp.split_once("\r\nm=").ok_or("no media section")?;
    let sections: Vec<&str> = sections.split("\r\nm=").collect();
    assert!(session.contains("\r\na=ice-lite"), "{session}");
    assert!(session.contains("\r\na=fingerprint:sha-256 "), "{session}");
    assert!(session.contains("a=group:BUNDLE 0 1 2 3"), "{session}");
    assert_eq!(sections.len(), 4, "{sdp}");
    for (index, section) in sections.iter().enumerate() {
        assert!(
            section.contains("a=setup:active"),
            "section {index}: {section}"
        );
        assert!(section.contains("a=rtcp-mux"), "section {index}: {section}");
        let candidates: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .collect();
        if index == 0 {
            assert_eq!(candidates.len(), 1, "{section}");
            let fields: Vec<&str> = candidates[0].split(' ').collect();
            assert_eq!(fields.get(1), Some(&"1"), "component 1 only: {section}");
            assert_eq!(fields.get(4), Some(&"127.0.0.1"));
            assert_eq!(fields.get(5), Some(&"7882"));
        } else {
            assert!(
                candidates.is_empty(),
                "candidates outside the first section: {section}"
            );
        }
        assert!(!section.contains("sdes:mid"), "{section}");
        assert!(!section.contains("abs-send-time"), "{section}");
    }
    // The member's own tracks are received; each slot sends from one SSRC of its own (video
    // with its RTX SSRC in a FID group).
    assert!(sections[0].contains("a=recvonly") && sections[1].contains("a=recvonly"));
    for (section, slot) in [(sections[2], "a0"), (sections[3], "v0")] {
        assert!(section.contains("a=sendonly"), "{section}");
        assert!(
            section.contains(&format!("a=msid:huddle-slots {slot}")),
            "{section}"
        );
    }
    assert!(sections[3].contains("a=ssrc-group:FID "), "{}", sections[3]);
    Ok(())
}

#[test]
fn credentials_and_ssrcs_follow_from_the_seed() -> TestResult {
    let now = Instant::now();
    let answer_of = |router: &mut Router| -> Result<String, Box<dyn std::error::Error>> {
        answer(&offer_of(router, ParticipantId(1), now)?)
    };
    let (first, second) = (answer_of(&mut router())?, answer_of(&mut router())?);
    for attr in ["ice-ufrag", "ice-pwd", "ssrc-group"] {
        assert!(sdp_attr(&first, attr).is_some(), "no {attr}: {first}");
        assert_eq!(sdp_attr(&first, attr), sdp_attr(&second, attr), "{attr}");
    }
    Ok(())
}
