//! Floods of what costs nothing to send — sockets, half-sent requests, TLS handshakes, big
//! first frames, ping frames, sessions in open mode — are bounded by the connection limits,
//! and while one is held the server keeps serving a normal join.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{
    closed_within, connect_tcp_from, join_message, start_with, Client, TestCert, TestResult,
    PATIENCE,
};
use huddle_proto::{ErrorCode, Role, ServerMessage};
use huddle_server::{ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// The loopback address a test plays a client from.
fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The start of an upgrade request that never ends.
const HALF_SENT: &[u8] = b"GET /v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n";

/// `n` sockets from `source` that each send the start of a request and then nothing.
async fn half_sent(server: &ServerHandle, source: IpAddr, n: usize) -> TestResult<Vec<TcpStream>> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut stream = connect_tcp_from(source, server.local_addr()).await?;
        stream.write_all(HALF_SENT).await?;
        held.push(stream);
    }
    Ok(held)
}

/// How many of `sockets` the server closes within `within`.
async fn closed(sockets: &mut [TcpStream], within: Duration) -> usize {
    let checks = sockets.iter_mut().map(|s| closed_within(s, within));
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count()
}

/// The close codes of those of `clients` that the server closes within a moment.
async fn closed_clients(clients: &mut [Client]) -> Vec<Option<u16>> {
    let checks = clients.iter_mut().map(|c| c.expect_closed_within(MOMENT));
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// A short wait for what the server does at once.
const MOMENT: Duration = Duration::from_millis(200);

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

#[tokio::test]
async fn half_sent_requests_are_closed_by_the_header_timeout() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.limits.header_read_timeout = Duration::from_millis(700);
    let server = start_with(config).await?;
    let url = server.ws_url();
    let mut held = half_sent(&server, from(2), 100).await?;
    // Held, and a normal join works meanwhile.
    let _ann = joins(&url, "main", "Ann").await?;
    assert_eq!(closed(&mut held[..1], Duration::from_millis(100)).await, 0);
    // Then every one of them is closed (each was given the timeout, from its connection).
    assert_eq!(closed(&mut held, PATIENCE).await, 100);
    // An idle keep-alive connection after a finished request goes the same way.
    let mut idle = TcpStream::connect(server.local_addr()).await?;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await?;
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut idle, PATIENCE).await,
        "idle keep-alive kept"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn connections_not_yet_upgraded_are_capped() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.limits.max_pending_upgrades = 8;
    let server = start_with(config).await?;
    let url = server.ws_url();
    let mut held = half_sent(&server, from(2), 30).await?;
    // The oldest made way for the newer ones: 22 closed, 8 held.
    assert_eq!(closed(&mut held[..22], MOMENT).await, 22);
    assert_eq!(closed(&mut held[22..], Duration::from_millis(50)).await, 0);
    // A normal join gets in, displacing the oldest of the flood.
    let _ann = joins(&url, "main", "Ann").await?;
    assert_eq!(closed(&mut held[22..], Duration::from_millis(50)).await, 1);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn connections_from_one_address_are_capped() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.limits.max_connections_per_ip = 5;
    let server = start_with(config).await?;
    let url = server.ws_url();
    // A flood of WebSockets that never join, from one address.
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(Client::connect_from(&url, from(2)).await?);
    }
    let codes = closed_clients(&mut flood).await;
    assert_eq!(codes.len(), 15, "{codes:?}");
    // Displaced ones are told to come back later.
    assert!(codes.iter().all(|c| *c == Some(1013)), "{codes:?}");
    // Another address is not affected.
    let _ann = joins(&url, "main", "Ann").await?;
    // Members are never displaced: five members from one address, and a sixth socket from it
    // is refused outright.
    let mut members = Vec::new();
    for i in 0..5 {
        let mut client = Client::connect_from(&url, from(3)).await?;
        client
            .send(&huddle_proto::ClientMessage::Join(join_message(
                "main",
                &format!("m{i}"),
            )))
            .await?;
        assert!(matches!(client.recv().await?, ServerMessage::Welcome(_)));
        members.push(client);
    }
    let mut refused = connect_tcp_from(from(3), server.local_addr()).await?;
    assert!(closed_within(&mut refused, PATIENCE).await);
    // All five are still connected.
    for member in &mut members {
        member.quiet().await?;
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn connections_in_all_are_capped() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.limits.max_connections = 10;
    config.limits.max_connections_per_ip = 4;
    let server = start_with(config).await?;
    let url = server.ws_url();
    // Sockets from several addresses, each within its own bound, together past the total.
    let mut flood = Vec::new();
    for source in 2..=5 {
        flood.extend(half_sent(&server, from(source), 4).await?);
    }
    assert_eq!(closed(&mut flood, MOMENT).await, 6);
    let _ann = joins(&url, "main", "Ann").await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tls_handshakes_in_progress_are_capped() -> TestResult {
    let cert = TestCert::new("tls-flood")?;
    let mut config = ServerConfig::open_loopback();
    config.tls = Some(cert.files.clone());
    config.limits.max_tls_handshakes = 4;
    let server = start_with(config).await?;
    // Sockets that never send a ClientHello.
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(connect_tcp_from(from(2), server.local_addr()).await?);
    }
    assert_eq!(closed(&mut flood[..16], MOMENT).await, 16);
    assert_eq!(closed(&mut flood[16..], Duration::from_millis(50)).await, 0);
    match cert.join(&server, "secure", "Ann").await? {
        ServerMessage::Welcome(welcome) => assert_eq!(welcome.role, Role::Host),
        other => return Err(format!("expected welcome, got {other:?}").into()),
    }
    server.shutdown().await;
    Ok(())
}

/// Upgrades a raw socket to a WebSocket by hand, so that it can send what no client library
/// would: half a frame.
async fn raw_websocket(server: &ServerHandle) -> TestResult<TcpStream> {
    let mut stream = TcpStream::connect(server.local_addr()).await?;
    stream
        .write_all(
            b"GET /v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tokio::time::timeout(PATIENCE, stream.read_u8()).await??);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    Ok(stream)
}

#[tokio::test]
async fn big_frames_before_join_are_cut_short() -> TestResult {
    let server = start_with(ServerConfig::open_loopback()).await?;
    let url = server.ws_url();
    let mut flood = Vec::new();
    for _ in 0..10 {
        let mut socket = raw_websocket(&server).await?;
        // A text frame announced as 1 MiB (masked, as from a client), of which 64 KiB come.
        let mut frame = vec![0x81, 0x80 | 127];
        frame.extend_from_slice(&(1024u64 * 1024).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend(std::iter::repeat_n(b'a', 64 * 1024));
        socket.write_all(&frame).await?;
        flood.push(socket);
    }
    // Each is refused and closed without the server waiting for the rest of its frame.
    for socket in &mut flood {
        let mut seen = Vec::new();
        tokio::time::timeout(PATIENCE, socket.read_to_end(&mut seen)).await??;
        let seen = String::from_utf8_lossy(&seen);
        assert!(seen.contains("message_too_large"), "{seen}");
    }
    let _ann = joins(&url, "main", "Ann").await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn ping_floods_are_rate_limited() -> TestResult {
    let server = start_with(ServerConfig::open_loopback()).await?;
    let url = server.ws_url();
    // Before join, past the burst.
    let mut stranger = Client::connect(&url).await?;
    for _ in 0..60 {
        stranger.send_frame(Message::Ping(vec![1].into())).await?;
    }
    assert_eq!(stranger.expect_closed().await?, Some(1008));
    // A member keeps flooding past its tolerance.
    let (mut mallory, _) = Client::join_open(&url, "main", "mallory").await?;
    let mut ann = joins(&url, "main", "Ann").await?;
    for _ in 0..300 {
        if mallory
            .send_frame(Message::Ping(vec![1].into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(mallory.expect_closed().await?, Some(1008));
    let pending = mallory.take_pending();
    assert!(
        pending.iter().any(|m| matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            }
        )),
        "{pending:?}"
    );
    assert!(ann.quiet().await.is_ok());
    server.shutdown().await;

    // Counting them can be turned off.
    let mut config = ServerConfig::open_loopback();
    config.limits.rate_limit_control_frames = false;
    let server = start_with(config).await?;
    let (mut pinger, _) = Client::join_open(&server.ws_url(), "main", "pinger").await?;
    for _ in 0..300 {
        pinger.send_frame(Message::Ping(vec![1].into())).await?;
    }
    assert!(pinger.quiet().await.is_ok());
    server.shutdown().await;
    Ok(())
}
