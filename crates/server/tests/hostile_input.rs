//! Hostile input over real WebSockets: malformed JSON, unknown types, wrong field types, huge
//! frames, binary frames, floods and connections that never join. The offender gets a clear
//! error or is closed; the server stays healthy and the other members of the session notice
//! nothing beyond what the protocol says (a dropped offender turns `reconnecting`).

mod common;

use std::time::Duration;

use common::{health, join_message, start_open, start_with, Client, TestResult};
use huddle_proto::{
    Action, ConnectionState, ErrorCode, MemberUpdate, ParticipantId, ServerEvent, ServerMessage,
};
use huddle_server::ServerConfig;
use tokio_tungstenite::tungstenite::Message;

/// Two bystanders in `session`, already past each other's join events.
async fn bystanders(url: &str, session: &str) -> TestResult<(Client, Client)> {
    let (mut a, _) = Client::join_open(url, session, "ann").await?;
    let (b, _) = Client::join_open(url, session, "bob").await?;
    // Ann sees Bob join; after that both must stay quiet.
    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    Ok((a, b))
}

async fn assert_undisturbed(a: &mut Client, b: &mut Client) -> TestResult {
    let seen_a = a.quiet().await?;
    let seen_b = b.quiet().await?;
    assert!(seen_a.is_empty(), "ann saw {seen_a:?}");
    assert!(seen_b.is_empty(), "bob saw {seen_b:?}");
    Ok(())
}

/// Only `updated {connection: reconnecting}` about the offender is allowed.
async fn assert_only_reconnecting(client: &mut Client, offender: ParticipantId) -> TestResult {
    for message in client.quiet().await? {
        match message {
            ServerMessage::Event {
                event:
                    ServerEvent::Updated {
                        participant,
                        changes,
                    },
            } if participant == offender
                && changes
                    == (MemberUpdate {
                        connection: Some(ConnectionState::Reconnecting),
                        ..MemberUpdate::default()
                    }) => {}
            other => return Err(format!("unexpected message {other:?}").into()),
        }
    }
    Ok(())
}

async fn expect_error(client: &mut Client) -> TestResult<ErrorCode> {
    match client.recv().await? {
        ServerMessage::Error { code, .. } => Ok(code),
        other => Err(format!("expected an error, got {other:?}").into()),
    }
}

#[tokio::test]
async fn bad_messages_from_a_member_get_errors_and_nothing_else() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut a, mut b) = bystanders(&url, "calm").await?;
    let (mut mallory, _) = Client::join_open(&url, "calm", "mallory").await?;
    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    b.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;

    let cases: Vec<(&str, ErrorCode)> = vec![
        ("{\"type\":", ErrorCode::MalformedMessage),
        ("not json at all", ErrorCode::MalformedMessage),
        ("", ErrorCode::MalformedMessage),
        ("[1,2,3]", ErrorCode::InvalidMessage),
        ("{\"type\":\"teleport\"}", ErrorCode::UnknownMessageType),
        (
            "{\"type\":\"request\",\"id\":1,\"action\":{\"type\":\"fly\"}}",
            ErrorCode::UnknownMessageType,
        ),
        ("{\"type\":\"ping\",\"nonce\":\"seven\"}", ErrorCode::InvalidMessage),
        (
            "{\"type\":\"request\",\"id\":\"x\",\"action\":{\"type\":\"raise_hand\"}}",
            ErrorCode::InvalidMessage,
        ),
        (
            "{\"type\":\"request\",\"id\":2,\"action\":{\"type\":\"mute_audio\",\"participant\":\"all\"}}",
            ErrorCode::InvalidMessage,
        ),
        (
            "{\"type\":\"request\",\"id\":3,\"action\":{\"type\":\"chat\",\"text\":[1]}}",
            ErrorCode::InvalidMessage,
        ),
        ("{\"type\":\"join\",\"protocol_version\":1}", ErrorCode::InvalidMessage),
        (
            "{\"type\":\"join\",\"protocol_version\":1,\"session_name\":\"x\",\"display_name\":\"y\"}",
            ErrorCode::AlreadyJoined,
        ),
    ];
    for (text, expected) in cases {
        mallory.send_raw(text.to_owned()).await?;
        assert_eq!(expect_error(&mut mallory).await?, expected, "for {text:?}");
    }
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    mallory.send_raw(deep).await?;
    assert_eq!(
        expect_error(&mut mallory).await?,
        ErrorCode::MalformedMessage
    );

    // Mallory is still connected and the others saw nothing at all.
    assert!(mallory.quiet().await?.is_empty());
    assert_undisturbed(&mut a, &mut b).await?;
    assert_eq!(health(&server).await?["status"], "ok");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn spoofing_names_are_cleaned_on_join_and_on_rename() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut ann, _) = Client::join_open(&url, "names", "Ann").await?;
    // A zero width space made this a second "Ann" that was not equal to the first.
    let (mut mallory, welcome) = Client::join_open(&url, "names", "Ann\u{200b}").await?;
    let shown: Vec<&str> = welcome
        .members
        .iter()
        .map(|m| m.display_name.as_str())
        .collect();
    assert_eq!(shown, ["Ann", "Ann"]);
    let joined = ann
        .event_where(|e| match e {
            ServerEvent::Joined { member } => Some(member.display_name.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(joined, "Ann");

    // A right-to-left override would reverse what a client shows after the name; a name of
    // only invisible characters is an empty one.
    let me = welcome.participant_id;
    for (raw, cleaned) in [
        ("\u{202e}olleh", "olleh"),
        ("\u{2066}\u{200b}\u{feff}", "Guest"),
    ] {
        let rename = Action::Rename {
            participant: me,
            name: raw.into(),
        };
        assert_eq!(mallory.request(rename).await?, Ok(()));
        let name = ann
            .event_where(|e| match e {
                ServerEvent::Updated {
                    participant,
                    changes,
                } if *participant == me => changes.display_name.clone(),
                _ => None,
            })
            .await?;
        assert_eq!(name, cleaned, "for {raw:?}");
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn huge_frame_closes_only_the_offender() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut a, mut b) = bystanders(&url, "big").await?;

    // Before joining: closed with 1009, nobody else affected.
    let mut stranger = Client::connect(&url).await?;
    stranger
        .send_raw(format!(
            "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
            "a".repeat(100 * 1024)
        ))
        .await?;
    assert_eq!(stranger.expect_closed().await?, Some(1009));
    assert_undisturbed(&mut a, &mut b).await?;

    // Far beyond the limit the server stops reading at once; the close may arrive as a
    // reset, but it is closed all the same.
    let mut stranger = Client::connect(&url).await?;
    // The write itself may fail once the server has hung up.
    let _ = stranger.send_raw("y".repeat(8 * 1024 * 1024)).await;
    stranger.expect_closed().await?;
    assert_undisturbed(&mut a, &mut b).await?;

    // A member: closed too; the others only see it turn `reconnecting`.
    let (mut mallory, welcome) = Client::join_open(&url, "big", "mallory").await?;
    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    b.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    mallory.send_raw("x".repeat(200 * 1024)).await?;
    assert_eq!(mallory.expect_closed().await?, Some(1009));
    let pending = mallory.take_pending();
    assert!(
        pending.iter().any(|m| matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::MessageTooLarge,
                ..
            }
        )),
        "{pending:?}"
    );
    assert_only_reconnecting(&mut a, welcome.participant_id).await?;
    assert_only_reconnecting(&mut b, welcome.participant_id).await?;
    assert_eq!(health(&server).await?["status"], "ok");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn binary_frames_are_a_protocol_error() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut a, mut b) = bystanders(&url, "bin").await?;

    let mut stranger = Client::connect(&url).await?;
    stranger
        .send_frame(Message::Binary(vec![0u8, 159, 146, 150].into()))
        .await?;
    assert_eq!(expect_error(&mut stranger).await?, ErrorCode::BinaryFrame);
    assert_eq!(stranger.expect_closed().await?, Some(1003));

    let (mut mallory, welcome) = Client::join_open(&url, "bin", "mallory").await?;
    mallory
        .send_frame(Message::Binary(
            b"{\"type\":\"ping\",\"nonce\":1}".to_vec().into(),
        ))
        .await?;
    assert_eq!(expect_error(&mut mallory).await?, ErrorCode::BinaryFrame);
    assert_eq!(mallory.expect_closed().await?, Some(1003));

    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    b.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    assert_only_reconnecting(&mut a, welcome.participant_id).await?;
    assert_only_reconnecting(&mut b, welcome.participant_id).await?;
    assert_eq!(health(&server).await?["status"], "ok");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_burst_is_rate_limited_and_a_flood_is_closed() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut a, mut b) = bystanders(&url, "flood").await?;

    // A burst of 60 pings: at least the first 50 answered, the rest refused, still connected.
    let (mut eager, _) = Client::join_open(&url, "flood", "eager").await?;
    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    b.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    for nonce in 0..60u64 {
        eager
            .send_raw(format!("{{\"type\":\"ping\",\"nonce\":{}}}", 1_000 + nonce))
            .await?;
    }
    let (mut pongs, mut limited) = (0, 0);
    while pongs + limited < 60 {
        match eager.recv().await? {
            ServerMessage::Pong { .. } => pongs += 1,
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
    // The join spent one token of the burst of 50.
    assert!(
        pongs >= 49 && limited >= 1,
        "{pongs} pongs, {limited} limited"
    );
    assert_undisturbed(&mut a, &mut b).await?;

    // A persistent flood before joining is closed with 1008.
    let mut flooder = Client::connect(&url).await?;
    for _ in 0..2_000 {
        if flooder
            .send_raw("{\"type\":\"nonsense\"}".to_owned())
            .await
            .is_err()
        {
            break;
        }
    }
    let code = flooder.expect_closed().await?;
    assert!(matches!(code, None | Some(1008)), "closed with {code:?}");

    // A persistent flood from a member is closed with 1008 after rate_limited errors.
    let (mut mallory, welcome) = Client::join_open(&url, "flood", "mallory").await?;
    a.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    b.event_where(|e| matches!(e, ServerEvent::Joined { .. }).then_some(()))
        .await?;
    for nonce in 0..2_000u64 {
        let ping = format!("{{\"type\":\"ping\",\"nonce\":{nonce}}}");
        if mallory.send_raw(ping).await.is_err() {
            break;
        }
    }
    // The flooder is still writing when it is closed, so its close frame may be lost to a
    // reset; either way the connection must be gone, with 1008 if a code arrived.
    let code = mallory.expect_closed().await?;
    assert!(matches!(code, None | Some(1008)), "closed with {code:?}");
    assert_only_reconnecting(&mut a, welcome.participant_id).await?;
    assert_only_reconnecting(&mut b, welcome.participant_id).await?;
    assert_eq!(health(&server).await?["status"], "ok");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn never_joining_times_out() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.join_timeout = Duration::from_millis(300);
    let server = start_with(config).await?;
    let url = server.ws_url();
    let (mut a, mut b) = bystanders(&url, "idle").await?;

    let mut lurker = Client::connect(&url).await?;
    assert_eq!(expect_error(&mut lurker).await?, ErrorCode::JoinTimeout);
    assert_eq!(lurker.expect_closed().await?, Some(1008));

    // Anything but join first is refused with not_joined.
    let mut eager = Client::connect(&url).await?;
    eager
        .send_raw("{\"type\":\"request\",\"id\":9,\"action\":{\"type\":\"raise_hand\"}}".to_owned())
        .await?;
    match eager.recv().await? {
        ServerMessage::Error {
            id,
            code: ErrorCode::NotJoined,
            ..
        } => assert_eq!(id, Some(huddle_proto::RequestId(9))),
        other => return Err(format!("expected not_joined, got {other:?}").into()),
    }
    assert_eq!(eager.expect_closed().await?, Some(1008));

    // A join with a bad protocol version or session name is refused with its code.
    let bad_version = huddle_proto::Join {
        protocol_version: 999,
        ..join_message("idle", "x")
    };
    let (code, _) = Client::join_refused(&url, bad_version).await?;
    assert_eq!(code, ErrorCode::UnsupportedVersion);
    let (code, _) = Client::join_refused(&url, join_message("   ", "x")).await?;
    assert_eq!(code, ErrorCode::InvalidSessionName);

    assert_undisturbed(&mut a, &mut b).await?;
    assert_eq!(health(&server).await?["status"], "ok");
    server.shutdown().await;
    Ok(())
}
