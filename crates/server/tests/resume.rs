//! Resume: a member whose socket drops can take its place back within the grace, with the same
//! id and role, and the others never see it leave.

mod common;

use std::time::Duration;

use common::{resume_join, start_open, start_with, Client, TestResult};
use huddle_proto::{
    Action, ConnectionState, ErrorCode, LeaveReason, ResumeKey, Role, ServerEvent, ServerMessage,
};
use huddle_server::ServerConfig;

#[tokio::test]
async fn resume_within_grace_keeps_identity() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut ann, w_ann) = Client::join_open(&url, "Retro", "Ann").await?;
    let (mut bob, w_bob) = Client::join_open(&url, "retro", "Bob").await?;
    let bob_id = w_bob.participant_id;
    ann.knows(bob_id).await?;

    // Bob raises his hand, then his network goes away without a close handshake.
    assert_eq!(bob.request(Action::RaiseHand).await?, Ok(()));
    bob.drop_connection();
    let state = ann
        .event_where(|e| match e {
            ServerEvent::Updated {
                participant,
                changes,
            } if *participant == bob_id => changes.connection,
            _ => None,
        })
        .await?;
    assert_eq!(state, ConnectionState::Reconnecting);

    // He comes back with his resume key: same id, role and state.
    let (mut bob, again) = Client::join(&url, resume_join("RETRO", &w_bob)).await?;
    assert!(again.resumed);
    assert_eq!(again.participant_id, bob_id);
    assert_eq!(again.role, w_bob.role);
    let me = again
        .members
        .iter()
        .find(|m| m.id == bob_id)
        .ok_or("resumed member missing from roster")?;
    assert!(me.hand_raised);
    assert_eq!(me.connection, ConnectionState::Present);
    assert_eq!(again.members.len(), 2);
    // A resumed member gets a new key for the next drop.
    assert!(!again.resume_key.matches(&w_bob.resume_key));

    // Ann saw him come back and never saw him leave.
    let state = ann
        .event_where(|e| match e {
            ServerEvent::Updated {
                participant,
                changes,
            } if *participant == bob_id => changes.connection,
            _ => None,
        })
        .await?;
    assert_eq!(state, ConnectionState::Present);
    let rest = ann.quiet().await?;
    assert!(
        !rest.iter().any(|m| matches!(
            m,
            ServerMessage::Event {
                event: ServerEvent::Left { .. } | ServerEvent::Joined { .. }
            }
        )),
        "{rest:?}"
    );

    // And he is fully functional.
    assert_eq!(
        bob.request(Action::Chat {
            to: None,
            text: "back".into()
        })
        .await?,
        Ok(())
    );
    assert_eq!(w_ann.role, Role::Host);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn resume_replaces_a_connection_still_open() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (_ann, _) = Client::join_open(&url, "s", "Ann").await?;
    let (mut old, w_bob) = Client::join_open(&url, "s", "Bob").await?;
    let (_new, again) = Client::join(&url, resume_join("s", &w_bob)).await?;
    assert_eq!(again.participant_id, w_bob.participant_id);
    assert_eq!(old.expect_closed().await?, Some(1000));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wrong_key_or_late_resume_fails() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.reconnect_grace = Duration::from_millis(200);
    let server = start_with(config).await?;
    let url = server.ws_url();
    let (mut ann, _) = Client::join_open(&url, "s", "Ann").await?;
    let (bob, w_bob) = Client::join_open(&url, "s", "Bob").await?;
    ann.knows(w_bob.participant_id).await?;
    bob.drop_connection();

    let mut forged = w_bob.clone();
    forged.resume_key = ResumeKey("not-the-key".into());
    let (code, _) = Client::join_refused(&url, resume_join("s", &forged)).await?;
    assert_eq!(code, ErrorCode::ResumeFailed);

    // After the grace Bob leaves with connection_lost, and his key no longer works.
    let reason = ann
        .event_where(|e| match e {
            ServerEvent::Left {
                participant,
                reason,
            } if *participant == w_bob.participant_id => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(reason, LeaveReason::ConnectionLost);
    let (code, _) = Client::join_refused(&url, resume_join("s", &w_bob)).await?;
    assert_eq!(code, ErrorCode::ResumeFailed);
    server.shutdown().await;
    Ok(())
}
