//! A dropped connection is resumed by the client itself: Reconnecting, then Reconnected with
//! the same id and role; the others never see the member leave; chat sent meanwhile is
//! recovered; requests made while away fail fast.

mod session_support;

use std::time::Duration;

use huddle_client::session::{ConnectionStatus, Notice, SessionEvent};
use huddle_client::ClientError;
use huddle_proto::{ConnectionState, Role};
use session_support::{drain, join, start_open, wait_event, wait_state, TestResult};

#[tokio::test]
async fn dropped_connection_resumes_and_recovers_chat() -> TestResult {
    let server = start_open().await?;
    let (ann, mut ann_events) = join(&server, "flaky", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "flaky", "Bo").await?;
    let bo_id = bo.state().me;
    wait_state(&ann, "Ann sees Bo", |s| s.members.len() == 2).await?;
    drain(&mut ann_events);
    drain(&mut bo_events);

    // Stay away long enough for the chat below to be sent while Bo is disconnected.
    bo.debug_drop_connection(Duration::from_secs(3)).await;
    wait_event(&mut bo_events, "reconnecting", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnecting))
    })
    .await?;
    assert!(matches!(
        bo.chat("while away").await,
        Err(ClientError::Reconnecting)
    ));
    wait_state(&ann, "Ann sees Bo reconnecting", |s| {
        s.member(bo_id)
            .is_some_and(|m| m.connection == ConnectionState::Reconnecting)
    })
    .await?;
    ann.chat_to(bo_id, "missed me?").await?;
    ann.chat("public while Bo was away").await?;

    // The messages come back through the resume, before Reconnected is announced.
    let (_, before) = wait_event(&mut bo_events, "reconnected", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnected))
    })
    .await?;
    let recovered: Vec<String> = before
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Chat(m) => Some(m.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(recovered, vec!["missed me?", "public while Bo was away"]);
    let state = bo.state();
    assert_eq!(state.me, bo_id);
    assert_eq!(state.role, Role::Participant);
    assert_eq!(state.members.len(), 2);
    assert_eq!(bo.status(), ConnectionStatus::Reconnected);

    // Bo is usable again, and Ann sees Bo present without ever having seen Bo leave.
    bo.chat("back").await?;
    wait_state(&ann, "Ann has Bo's message", |s| {
        s.chat.iter().any(|m| m.text == "back")
    })
    .await?;
    let ann_state = wait_state(&ann, "Ann sees Bo present", |s| {
        s.member(bo_id)
            .is_some_and(|m| m.connection == ConnectionState::Present)
    })
    .await?;
    assert_eq!(ann_state.members.len(), 2);
    let left: Vec<_> = drain(&mut ann_events)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::Notice(Notice::Left { .. })))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    bo.leave().await?;
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn resume_after_the_grace_is_refused_and_closes() -> TestResult {
    let mut config = huddle_server::ServerConfig::open_loopback();
    config.reconnect_grace = Duration::from_millis(300);
    let server = huddle_server::Server::start(config).await?;
    let (ann, mut ann_events) = join(&server, "strict", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "strict", "Bo").await?;
    let bo_id = bo.state().me;

    // Away for longer than the server keeps the membership.
    bo.debug_drop_connection(Duration::from_secs(2)).await;
    wait_event(&mut ann_events, "Bo lost", |e| {
        matches!(
            e,
            SessionEvent::Notice(Notice::Left { id, reason: huddle_proto::LeaveReason::ConnectionLost, .. })
                if *id == bo_id
        )
    })
    .await?;
    let (closed, _) = wait_event(&mut bo_events, "closed", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Closed { .. }))
    })
    .await?;
    match closed {
        SessionEvent::Connection(ConnectionStatus::Closed {
            reason: huddle_client::CloseReason::ResumeRefused { code, .. },
        }) => assert_eq!(code, huddle_proto::ErrorCode::ResumeFailed),
        other => return Err(format!("expected a refused resume, got {other:?}").into()),
    }
    assert!(matches!(
        bo.chat("anyone?").await,
        Err(ClientError::SessionClosed(_))
    ));
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}
