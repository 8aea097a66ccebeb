//! What docs/protocol.md promises a client written from it alone, pinned: the answer to a
//! request comes before the events it causes, what may come before `join` and what happens
//! to anything else, and that `display_name` may be left out.

mod common;

use common::{join_message, start_open, Client, TestResult};
use huddle_proto::{
    Action, ClientMessage, ErrorCode, MediaRequest, RequestId, ServerEvent, ServerMessage,
};

#[tokio::test]
async fn the_ok_comes_before_the_events_a_request_causes() -> TestResult {
    let server = start_open().await?;
    let (mut ann, _) = Client::join_open(&server.ws_url(), "order", "Ann").await?;
    let (mut bo, bo_welcome) = Client::join_open(&server.ws_url(), "order", "Bo").await?;
    let bo_id = bo_welcome.participant_id;
    ann.event().await?; // Bo joined
    let actions = [
        Action::SetAudio { muted: true },
        Action::SetVideo { on: true },
        Action::RaiseHand,
        Action::LowerHand { participant: None },
        Action::Chat {
            to: None,
            text: "hello".to_owned(),
        },
        Action::Rename {
            participant: bo_id,
            name: "Bob".to_owned(),
        },
        Action::MuteAudio { participant: bo_id },
        Action::LockSession { locked: true },
    ];
    for (n, action) in actions.into_iter().enumerate() {
        let id = RequestId(100 + u64::try_from(n)?);
        ann.send(&ClientMessage::Request {
            id,
            action: action.clone(),
        })
        .await?;
        match ann.recv().await? {
            ServerMessage::Ok { id: got } if got == id => {}
            other => return Err(format!("{action:?}: expected ok first, got {other:?}").into()),
        }
        match ann.recv().await? {
            ServerMessage::Event { .. } => {}
            other => return Err(format!("{action:?}: expected its event, got {other:?}").into()),
        }
    }
    drop(bo.take_pending());
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_ping_before_join_is_answered() -> TestResult {
    let server = start_open().await?;
    let mut client = Client::connect(&server.ws_url()).await?;
    client.send(&ClientMessage::Ping { nonce: 41 }).await?;
    assert!(matches!(
        client.recv().await?,
        ServerMessage::Pong { nonce: 41 }
    ));
    // …and the connection may still join.
    client
        .send(&ClientMessage::Join(join_message("ping first", "Ann")))
        .await?;
    assert!(matches!(client.recv().await?, ServerMessage::Welcome(_)));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_request_or_media_before_join_is_refused_and_closed() -> TestResult {
    let server = start_open().await?;
    let early: [ClientMessage; 3] = [
        ClientMessage::Request {
            id: RequestId(7),
            action: Action::RaiseHand,
        },
        ClientMessage::ChatHistory {
            id: RequestId(8),
            after_seq: huddle_proto::ChatSeq(0),
        },
        ClientMessage::Media {
            media: MediaRequest::Subscribe { videos: vec![] },
        },
    ];
    for message in early {
        let mut client = Client::connect(&server.ws_url()).await?;
        client.send(&message).await?;
        match client.recv().await? {
            ServerMessage::Error { id, code, .. } => {
                assert_eq!(code, ErrorCode::NotJoined, "{message:?}");
                // A request's id is echoed so its sender can stop waiting for it.
                let expected = match &message {
                    ClientMessage::Request { id, .. } | ClientMessage::ChatHistory { id, .. } => {
                        Some(*id)
                    }
                    _ => None,
                };
                assert_eq!(id, expected, "{message:?}");
            }
            other => return Err(format!("expected not_joined, got {other:?}").into()),
        }
        assert_eq!(client.expect_closed().await?, Some(1008), "{message:?}");
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_version_1_join_is_refused_in_words_naming_the_supported_version() -> TestResult {
    let server = start_open().await?;
    let mut client = Client::connect(&server.ws_url()).await?;
    client
        .send_raw(
            r#"{"type":"join","protocol_version":1,"session_name":"old","display_name":"Old app"}"#
                .to_owned(),
        )
        .await?;
    match client.recv().await? {
        ServerMessage::Error { id, code, message } => {
            assert_eq!((id, code), (None, ErrorCode::UnsupportedVersion));
            assert!(message.contains("version 1"), "{message}");
            assert!(message.contains("supported: [2]"), "{message}");
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    assert_eq!(client.expect_closed().await?, Some(1008));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_join_without_a_display_name_is_a_guest() -> TestResult {
    let server = start_open().await?;
    let mut client = Client::connect(&server.ws_url()).await?;
    client
        .send_raw(r#"{"type":"join","protocol_version":2,"session_name":"nameless"}"#.to_owned())
        .await?;
    let me = match client.recv().await? {
        ServerMessage::Welcome(welcome) => {
            let me = welcome
                .members
                .iter()
                .find(|m| m.id == welcome.participant_id)
                .ok_or("not in my own roster")?;
            assert_eq!(me.display_name, "Guest");
            me.id
        }
        other => return Err(format!("expected a welcome, got {other:?}").into()),
    };
    // Others see the same name.
    let (mut bo, _) = Client::join_open(&server.ws_url(), "nameless", "Bo").await?;
    drop(bo.take_pending());
    let joined = client
        .event_where(|e| match e {
            ServerEvent::Joined { member } if member.id != me => Some(member.display_name.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(joined, "Bo");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_rate_limited_request_is_answered_with_its_id() -> TestResult {
    let server = start_open().await?;
    let (mut eager, _) = Client::join_open(&server.ws_url(), "hurry", "Eager").await?;
    // A burst of 60 requests: the burst allowance (50) passes, the rest are refused, each
    // with the id it was sent with.
    for n in 0..60u64 {
        eager
            .send(&ClientMessage::Request {
                id: RequestId(1_000 + n),
                action: Action::SetTalking { talking: false },
            })
            .await?;
    }
    let mut answered = std::collections::BTreeSet::new();
    let mut limited = 0;
    while answered.len() < 60 {
        match eager.recv().await? {
            ServerMessage::Ok { id } => {
                answered.insert(id.0);
            }
            ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::RateLimited,
                ..
            } => {
                answered.insert(id.0);
                limited += 1;
            }
            ServerMessage::Media { .. } => {}
            other => return Err(format!("an answer without its id: {other:?}").into()),
        }
    }
    assert!(limited >= 1, "nothing was rate limited");
    assert_eq!(answered, (1_000..1_060).collect());
    server.shutdown().await;
    Ok(())
}
