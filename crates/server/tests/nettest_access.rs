//! Who may use the network-test endpoints: in token mode only holders of a valid join token
//! (then a grant), so the endpoints are no open TURN relay or bandwidth source for strangers;
//! in either mode a client address's downloads and uploads are bounded.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{start_with, TestResult};
use huddle_proto::Role;
use huddle_server::{mint_token, MintRequest, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SECRET: &[u8] = b"nettest-access-secret";

/// Status, headers and body of one HTTP/1.1 GET.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> TestResult<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

async fn get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> TestResult<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await??;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8(response[..split].to_vec())?;
    let status = head.split(' ').nth(1).ok_or("no status")?.parse::<u16>()?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok(Answer { status, head, body })
}

fn dechunk(mut data: &[u8]) -> TestResult<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end])?.trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).ok_or("short chunk")?;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn token(ttl: Duration, issued: u64) -> TestResult<String> {
    Ok(mint_token(
        SECRET,
        &MintRequest {
            session: "any session".to_owned(),
            role: Role::Participant,
            ttl,
            identity: Some("ann@example.com".to_owned()),
            session_key: None,
            now_unix: issued,
        },
    )?)
}

fn token_mode() -> ServerConfig {
    let mut config = ServerConfig::open_loopback();
    config.auth = huddle_server::AuthMode::Jwt {
        secret: SECRET.to_vec(),
    };
    config.nettest.turn = Some(huddle_server::nettest::TurnConfig {
        secret: b"turn-secret".to_vec(),
        urls: vec!["turn:127.0.0.1:3478?transport=udp".to_owned()],
        ttl: Duration::from_secs(24 * 3600),
    });
    config
}

#[tokio::test]
async fn token_mode_serves_token_holders_only() -> TestResult {
    let server = start_with(token_mode()).await?;
    let addr = server.local_addr();

    // No token, a forged one, an expired one: refused, with the protocol's codes.
    let none = get(addr, "/v1/nettest/config", None).await?;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()?["code"], "token_required");
    let forged = get(addr, "/v1/nettest/config", Some("a.b.c")).await?;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.json()?["code"], "token_invalid");
    let old = token(Duration::from_secs(60), now() - 3_600)?;
    let expired = get(addr, "/v1/nettest/config", Some(&old)).await?;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()?["code"], "token_expired");

    // A valid token for any session: the configuration, a grant, and TURN credentials named
    // after the holder that expire with the grant (not after the TURN setting's day).
    let valid = token(Duration::from_secs(600), now())?;
    let config = get(addr, "/v1/nettest/config", Some(&valid)).await?;
    assert_eq!(config.status, 200, "{}", config.head);
    let config = config.json()?;
    let grant = config["grant"].as_str().ok_or("no grant")?.to_owned();
    let turn = &config["turn"];
    let username = turn["username"].as_str().ok_or("no TURN username")?;
    assert!(username.ends_with(":nettest-ann@example.com"), "{username}");
    let ttl = turn["ttl_secs"].as_u64().ok_or("no TURN ttl")?;
    assert!(ttl <= 600, "TURN credentials live {ttl} s");

    // The other endpoints need the grant.
    for path in ["/v1/nettest/download?bytes=1000", "/v1/nettest/ws"] {
        let refused = get(addr, path, None).await?;
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.json()?["code"], "grant_required", "{path}");
    }
    let tampered = format!("{}0", &grant[..grant.len() - 1]);
    for bad in [tampered.as_str(), "99999999999.00", "garbage"] {
        let path = format!("/v1/nettest/download?bytes=1000&grant={bad}");
        let refused = get(addr, &path, None).await?;
        assert_eq!(refused.status, 401, "{bad}");
        assert_eq!(refused.json()?["code"], "grant_invalid", "{bad}");
    }
    let download = get(
        addr,
        &format!("/v1/nettest/download?bytes=1000&grant={grant}"),
        None,
    )
    .await?;
    assert_eq!(download.status, 200, "{}", download.head);
    assert_eq!(download.body.len(), 1000);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn open_mode_needs_nothing_but_bounds_each_address() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.nettest.transfer_bytes_per_minute = 3 * 1024 * 1024;
    let server = start_with(config).await?;
    let addr = server.local_addr();
    let config = get(addr, "/v1/nettest/config", None).await?;
    assert_eq!(config.status, 200);
    assert!(config.json()?.get("grant").is_none());
    for n in 0..3 {
        let ok = get(addr, "/v1/nettest/download?bytes=1048576", None).await?;
        assert_eq!(ok.status, 200, "download {n}: {}", ok.head);
        assert_eq!(ok.body.len(), 1_048_576);
    }
    let spent = get(addr, "/v1/nettest/download?bytes=1048576", None).await?;
    assert_eq!(spent.status, 429, "{}", spent.head);
    assert_eq!(spent.json()?["code"], "transfer_budget_spent");
    assert!(
        spent.head.to_ascii_lowercase().contains("retry-after:"),
        "{}",
        spent.head
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_address_has_few_transfers_running_at_once() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.nettest.transfers_per_address = 1;
    let server = start_with(config).await?;
    let addr = server.local_addr();
    // A download nobody reads: 25 MiB cannot all sit in socket buffers, so it keeps running.
    let mut held = TcpStream::connect(addr).await?;
    held.write_all(format!("GET /v1/nettest/download HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut first = [0u8; 12];
    held.read_exact(&mut first).await?;
    assert_eq!(&first, b"HTTP/1.1 200");
    let second = get(addr, "/v1/nettest/download?bytes=1000", None).await?;
    assert_eq!(second.status, 429, "{}", second.head);
    assert_eq!(second.json()?["code"], "too_many_transfers");
    // Once the first is gone, the address may start another.
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let again = get(addr, "/v1/nettest/download?bytes=1000", None).await?;
        if again.status == 200 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("still refused: {}", again.head).into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
    Ok(())
}
