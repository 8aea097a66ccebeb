//! Heartbeats: pings are answered, and a silent connection is dropped (its member turns
//! `reconnecting` for the others).

mod common;

use std::time::Duration;

use common::{start_with, Client, TestResult};
use huddle_proto::{ClientMessage, ConnectionState, ErrorCode, ServerEvent, ServerMessage};
use huddle_server::ServerConfig;

#[tokio::test]
async fn silent_connections_are_dropped() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.heartbeat_interval = Duration::from_millis(100);
    config.heartbeat_timeout = Duration::from_millis(400);
    let server = start_with(config).await?;
    let url = server.ws_url();
    let (mut ann, _) = Client::join_open(&url, "s", "Ann").await?;
    let (mut bob, w_bob) = Client::join_open(&url, "s", "Bob").await?;
    // The welcome tells clients the configured ping interval.
    assert_eq!(w_bob.heartbeat_interval_ms, 100);

    // Pings are answered with the same nonce.
    bob.send(&ClientMessage::Ping { nonce: 77 }).await?;
    match bob.recv().await? {
        ServerMessage::Pong { nonce } => assert_eq!(nonce, 77),
        other => return Err(format!("expected pong, got {other:?}").into()),
    }

    // Ann keeps pinging while Bob stays silent: Bob is dropped with heartbeat_timeout.
    let state = loop {
        ann.send(&ClientMessage::Ping { nonce: 1 }).await?;
        let next = ann.recv().await?;
        if let ServerMessage::Event {
            event:
                ServerEvent::Updated {
                    participant,
                    changes,
                },
        } = next
        {
            if participant == w_bob.participant_id {
                break changes.connection;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(state, Some(ConnectionState::Reconnecting));
    match bob.recv().await? {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::HeartbeatTimeout),
        other => return Err(format!("expected heartbeat_timeout, got {other:?}").into()),
    }
    assert_eq!(bob.expect_closed().await?, Some(1008));
    server.shutdown().await;
    Ok(())
}
