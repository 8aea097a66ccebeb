//! Floods of what costs nothing to send — sockets, half-sent requests, TLS handshakes, big
//! first frames, ping frames, sessions in open mode — are bounded by the connection limits,
//! and while one is held the server keeps serving a normal join.

mod common;

use common::{join_message, start_with, Client, TestResult};
use huddle_proto::{ErrorCode, Role};
use huddle_server::ServerConfig;

/// A normal join into `session` works; returns its client.
async fn joins(url: &str, session: &str, name: &str) -> TestResult<Client> {
    let (mut client, welcome) = Client::join_open(url, session, name).await?;
    assert_eq!(
        welcome.members.last().map(|m| m.display_name.as_str()),
        Some(name)
    );
    assert!(client.quiet().await?.is_empty());
    Ok(client)
}

#[tokio::test]
async fn sessions_in_open_mode_are_capped() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.limits.max_open_rooms = 3;
    let server = start_with(config).await?;
    let url = server.ws_url();
    let (_ann, welcome) = Client::join_open(&url, "main", "Ann").await?;
    assert_eq!(welcome.role, Role::Host);
    // A flood of joins, each creating a session of its own.
    let mut flood = Vec::new();
    for i in 0..2 {
        flood.push(Client::join_open(&url, &format!("flood {i}"), "x").await?.0);
    }
    let (code, message) = Client::join_refused(&url, join_message("flood 2", "x")).await?;
    assert_eq!(code, ErrorCode::SessionFull);
    assert!(message.contains("sessions"), "{message}");
    // Existing sessions still take joins.
    joins(&url, "main", "Bob").await?;
    joins(&url, "flood 0", "Cat").await?;
    // A session that ends frees its place.
    let mut gone = flood.remove(1);
    gone.request(huddle_proto::Action::Leave)
        .await?
        .map_err(|e| e.1)?;
    gone.expect_closed().await?;
    common::eventually("the ended session frees its place", || {
        server.counts().rooms < 3
    })
    .await?;
    joins(&url, "flood 2", "x").await?;
    server.shutdown().await;
    Ok(())
}
