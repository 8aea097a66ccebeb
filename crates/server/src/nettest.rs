//! Network-test endpoints for the pre-join screen: a UDP echo probe, the same echo over a
//! WebSocket, bounded download and upload throughput endpoints, and the client's test
//! configuration with short-lived TURN credentials.
//!
//! [`start`] binds the UDP echo socket, spawns its task (it stops when the server's shutdown
//! token is cancelled) and returns the HTTP routes to merge into the server's router. The
//! wire formats are described in `docs/nettest.md`; the client side lives in
//! `huddle_client::nettest`.
//!
//! Everything here answers strangers, so every piece of work is bounded: a UDP reply is never
//! larger than the probe that caused it and each source address gets a token bucket; per-run
//! counters live in a capped table; downloads and uploads have byte caps; the WebSocket echo
//! caps message size, count and lifetime.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Serialize;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::error::ServerError;

/// Path of the configuration endpoint.
pub const CONFIG_PATH: &str = "/v1/nettest/config";
/// Path of the WebSocket echo.
pub const WS_ECHO_PATH: &str = "/v1/nettest/ws";
/// Path of the download endpoint (`?bytes=N`).
pub const DOWNLOAD_PATH: &str = "/v1/nettest/download";
/// Path of the upload endpoint.
pub const UPLOAD_PATH: &str = "/v1/nettest/upload";

/// Largest download served, in bytes.
pub const MAX_DOWNLOAD_BYTES: usize = 25 * 1024 * 1024;
/// Largest upload read before the server stops reading, in bytes.
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

pub use huddle_wire::probe::{
    encode_reply, parse_probe, Probe, KIND_PROBE, KIND_REPLY, PROBE_LEN, PROBE_MAGIC,
};

/// Longest WebSocket echo message, in bytes.
const WS_MAX_MESSAGE: usize = 1024;
/// Messages one WebSocket echo connection may send before it is closed.
const WS_MAX_MESSAGES: u32 = 2000;
/// Lifetime of one WebSocket echo connection.
const WS_MAX_LIFETIME: Duration = Duration::from_secs(30);
/// Entries in the per-run counter table and in the per-source bucket table.
const TABLE_CAP: usize = 4096;
/// A run or source not heard from for this long may be forgotten.
const TABLE_IDLE: Duration = Duration::from_secs(60);
/// Interval between upload progress checkpoints.
const UPLOAD_CHECKPOINT: Duration = Duration::from_millis(25);
/// Most upload checkpoints reported.
const MAX_CHECKPOINTS: usize = 512;

/// Zeros served by the download endpoint. A static buffer so a download costs no allocation;
/// it lives in zero-filled memory that the kernel maps lazily.
static ZEROS: [u8; MAX_DOWNLOAD_BYTES] = [0; MAX_DOWNLOAD_BYTES];

/// TURN servers handed to clients, with the secret shared with the TURN server
/// (coturn's `static-auth-secret`).
#[derive(Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// Secret shared with the TURN server.
    pub secret: Vec<u8>,
    /// `turn:` / `turns:` URLs, e.g. `turn:turn.example.com:3478?transport=udp`.
    pub urls: Vec<String>,
    /// Lifetime of issued credentials.
    pub ttl: Duration,
}

impl fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("TurnConfig")
            .field("secret", &"<hidden>")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Settings of the network-test endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NettestConfig {
    /// Serve the endpoints and the UDP echo at all.
    pub enabled: bool,
    /// UDP echo port on the server's bind address. `None` uses the HTTP port's number (and a
    /// free port if that one is taken); `Some(0)` always picks a free port.
    pub udp_port: Option<u16>,
    /// Sustained UDP probes per second answered per source address.
    pub udp_rate_per_second: u32,
    /// Burst of UDP probes answered per source address.
    pub udp_burst: u32,
    /// TURN servers and their shared secret; `None` hands out no TURN servers.
    pub turn: Option<TurnConfig>,
}

impl Default for NettestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_port: None,
            // The client paces about 500 probes per second; twice that leaves room for two
            // tests from behind one NAT address without making the echo a useful reflector.
            udp_rate_per_second: 1000,
            udp_burst: 200,
            turn: None,
        }
    }
}

/// Body of `GET /v1/nettest/config`.
#[derive(Debug, Clone, Serialize)]
pub struct ClientNettestConfig {
    /// UDP echo port on the same host as the HTTP endpoint.
    pub udp_port: u16,
    /// WebSocket echo path.
    pub ws_path: &'static str,
    /// Download path.
    pub download_path: &'static str,
    /// Upload path.
    pub upload_path: &'static str,
    /// Largest download served.
    pub max_download_bytes: u64,
    /// Largest upload read.
    pub max_upload_bytes: u64,
    /// TURN servers with fresh credentials, if configured.
    pub turn: Option<TurnCredentials>,
}

/// Short-lived TURN REST credentials (the scheme coturn calls `use-auth-secret`).
#[derive(Debug, Clone, Serialize)]
pub struct TurnCredentials {
    /// TURN URLs.
    pub urls: Vec<String>,
    /// `expiry:identity`, expiry in Unix seconds.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub credential: String,
    /// Seconds the credentials stay valid.
    pub ttl_secs: u64,
}

/// Body of `POST /v1/nettest/upload`.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    /// Bytes read (and discarded).
    pub bytes: u64,
    /// Milliseconds from the first to the last byte read.
    pub duration_ms: f64,
    /// `[milliseconds since the first byte, bytes so far]` about every 25 ms, so the client
    /// can leave out the start-up burst.
    pub checkpoints: Vec<(f64, u64)>,
    /// True when the server stopped reading at its cap.
    pub capped: bool,
}

#[derive(Debug)]
struct NettestState {
    udp_port: u16,
    turn: Option<TurnConfig>,
    shutdown: CancellationToken,
}

/// Binds the UDP echo next to the HTTP listener at `http_addr`, spawns it until `shutdown`,
/// and returns the HTTP routes. A disabled configuration returns no routes.
pub async fn start(
    config: &NettestConfig,
    http_addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<Router, ServerError> {
    if !config.enabled {
        return Ok(Router::new());
    }
    if config.udp_rate_per_second == 0 || config.udp_burst == 0 {
        return Err(ServerError::Config(
            "network-test UDP rate and burst must be at least 1".to_owned(),
        ));
    }
    let socket = match config.udp_port {
        Some(port) => UdpSocket::bind(SocketAddr::new(http_addr.ip(), port)).await?,
        None => match UdpSocket::bind(http_addr).await {
            Ok(socket) => socket,
            Err(e) => {
                tracing::warn!(error = %e, port = http_addr.port(),
                    "UDP echo cannot use the HTTP port number; using a free port");
                UdpSocket::bind(SocketAddr::new(http_addr.ip(), 0)).await?
            }
        },
    };
    let udp_port = socket.local_addr()?.port();
    tracing::info!(udp_port, "network-test UDP echo listening");
    let echo = UdpEcho::new(config.udp_rate_per_second, config.udp_burst);
    tokio::spawn(echo.run(socket, shutdown.clone()));
    let state = Arc::new(NettestState {
        udp_port,
        turn: config.turn.clone(),
        shutdown,
    });
    Ok(Router::new()
        .route(CONFIG_PATH, get(client_config))
        .route(WS_ECHO_PATH, get(ws_echo))
        .route(DOWNLOAD_PATH, get(download))
        .route(UPLOAD_PATH, post(upload))
        .with_state(state))
}

async fn client_config(State(state): State<Arc<NettestState>>) -> Response {
    let turn = match &state.turn {
        Some(turn) if !turn.urls.is_empty() && !turn.secret.is_empty() => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let expiry = now.saturating_add(turn.ttl).as_secs();
            let (username, credential) = turn_credentials(&turn.secret, expiry, "huddle-nettest");
            Some(TurnCredentials {
                urls: turn.urls.clone(),
                username,
                credential,
                ttl_secs: turn.ttl.as_secs(),
            })
        }
        _ => None,
    };
    let body = ClientNettestConfig {
        udp_port: state.udp_port,
        ws_path: WS_ECHO_PATH,
        download_path: DOWNLOAD_PATH,
        upload_path: UPLOAD_PATH,
        max_download_bytes: MAX_DOWNLOAD_BYTES as u64,
        max_upload_bytes: MAX_UPLOAD_BYTES,
        turn,
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// TURN REST credentials: username `expiry:identity`, password
/// base64(HMAC-SHA1(secret, username)).
pub fn turn_credentials(secret: &[u8], expiry_unix: u64, identity: &str) -> (String, String) {
    let username = format!("{expiry_unix}:{identity}");
    let mac = hmac_sha1(secret, username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac);
    (username, credential)
}

async fn download(uri: Uri) -> Response {
    let asked = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("bytes="))
        .map(str::parse::<u64>);
    let bytes = match asked {
        Some(Ok(n)) => usize::try_from(n)
            .unwrap_or(MAX_DOWNLOAD_BYTES)
            .min(MAX_DOWNLOAD_BYTES),
        Some(Err(_)) => {
            return (StatusCode::BAD_REQUEST, "bytes must be a whole number").into_response()
        }
        None => MAX_DOWNLOAD_BYTES,
    };
    let body = Body::from(Bytes::from_static(&ZEROS[..bytes]));
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn upload(body: Body) -> Response {
    let mut body = body;
    let mut bytes: u64 = 0;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let mut next_checkpoint = Duration::ZERO;
    let mut checkpoints = Vec::new();
    let mut capped = false;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let frame = match frame {
            None => break,
            Some(Ok(frame)) => frame,
            // The client went away or sent a broken body: report what arrived.
            Some(Err(e)) => {
                tracing::debug!(error = %e, "upload body ended early");
                break;
            }
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let now = Instant::now();
        let start = *first.get_or_insert(now);
        bytes = bytes.saturating_add(data.len() as u64);
        last = now;
        let since = now.duration_since(start);
        if since >= next_checkpoint && checkpoints.len() < MAX_CHECKPOINTS {
            checkpoints.push((since.as_secs_f64() * 1000.0, bytes));
            next_checkpoint = since + UPLOAD_CHECKPOINT;
        }
        if bytes >= MAX_UPLOAD_BYTES {
            capped = true;
            break;
        }
    }
    let duration_ms = first
        .map(|start| last.duration_since(start).as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    if let Some(&(_, at)) = checkpoints.last() {
        if at != bytes {
            checkpoints.push((duration_ms, bytes));
        }
    }
    Json(UploadReport {
        bytes,
        duration_ms,
        checkpoints,
        capped,
    })
    .into_response()
}

async fn ws_echo(upgrade: WebSocketUpgrade, State(state): State<Arc<NettestState>>) -> Response {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down").into_response();
    }
    let shutdown = state.shutdown.clone();
    upgrade
        .max_message_size(WS_MAX_MESSAGE)
        .max_frame_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| serve_ws_echo(socket, shutdown))
}

async fn serve_ws_echo(mut socket: WebSocket, shutdown: CancellationToken) {
    let deadline = tokio::time::sleep(WS_MAX_LIFETIME);
    tokio::pin!(deadline);
    let mut count: u32 = 0;
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = &mut deadline => break,
            message = socket.recv() => message,
        };
        let reply = match message {
            Some(Ok(Message::Text(text))) => Message::Text(text),
            Some(Ok(Message::Binary(data))) => Message::Binary(data),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
        };
        count += 1;
        if count > WS_MAX_MESSAGES || socket.send(reply).await.is_err() {
            break;
        }
    }
    // Best effort: the peer may already be gone.
    let _ = socket.send(Message::Close(None)).await;
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The UDP echo's bounded bookkeeping.
#[derive(Debug)]
struct UdpEcho {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
    runs: HashMap<(SocketAddr, u64), (u32, Instant)>,
}

impl UdpEcho {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            buckets: HashMap::new(),
            runs: HashMap::new(),
        }
    }

    async fn run(mut self, socket: UdpSocket, shutdown: CancellationToken) {
        let mut buf = [0u8; 2048];
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = socket.recv_from(&mut buf) => r,
            };
            let (len, from) = match received {
                Ok(r) => r,
                // ICMP errors from earlier replies surface here on some systems; keep going.
                Err(e) => {
                    tracing::debug!(error = %e, "UDP echo receive error");
                    continue;
                }
            };
            let Some(reply) = self.handle(&buf[..len], from, Instant::now()) else {
                continue;
            };
            if let Err(e) = socket.send_to(&reply, from).await {
                tracing::debug!(error = %e, %from, "UDP echo send failed");
            }
        }
    }

    /// The reply to one datagram, or `None` to stay silent.
    fn handle(&mut self, packet: &[u8], from: SocketAddr, now: Instant) -> Option<[u8; PROBE_LEN]> {
        let probe = parse_probe(packet)?;
        // Count before rate limiting: the count says what arrived, so the client can tell
        // loss on the way up from replies that were not sent or lost on the way down.
        let received = self.count(from, probe.run, now)?;
        if !self.take_token(from.ip(), now) {
            return None;
        }
        Some(encode_reply(&probe, received))
    }

    fn count(&mut self, from: SocketAddr, run: u64, now: Instant) -> Option<u32> {
        let key = (from, run);
        if !self.runs.contains_key(&key) && self.runs.len() >= TABLE_CAP {
            self.runs
                .retain(|_, (_, seen)| now.duration_since(*seen) < TABLE_IDLE);
            if self.runs.len() >= TABLE_CAP {
                // Full of live runs: refuse new ones rather than grow without bound.
                return None;
            }
        }
        let entry = self.runs.entry(key).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        Some(entry.0)
    }

    fn take_token(&mut self, ip: IpAddr, now: Instant) -> bool {
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= TABLE_CAP {
            self.buckets
                .retain(|_, b| now.duration_since(b.at) < TABLE_IDLE);
            if self.buckets.len() >= TABLE_CAP {
                return false;
            }
        }
        let (rate, burst) = (self.rate, self.burst);
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// HMAC-SHA1 (RFC 2104), which TURN's REST credentials are defined with.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let mut out = [0u8; 20];
    out.copy_from_slice(ring::hmac::sign(&key, message).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha1_rfc2202() {
        assert_eq!(
            hex(&hmac_sha1(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // A key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn reply_never_larger_and_counts_per_run() {
        let mut echo = UdpEcho::new(1000, 200);
        let from: SocketAddr = "10.0.0.1:5000".parse().expect("literal address");
        let now = Instant::now();
        let probe = Probe {
            run: 7,
            seq: 3,
            sent: 99,
        };
        let mut packet = encode_reply(&probe, 0);
        packet[4] = KIND_PROBE;
        assert!(echo.handle(&packet[..PROBE_LEN - 1], from, now).is_none());
        let reply = echo.handle(&packet, from, now).expect("valid probe");
        assert_eq!(reply.len(), packet.len());
        let reply = echo.handle(&packet, from, now).expect("valid probe");
        assert_eq!(
            u32::from_be_bytes([reply[28], reply[29], reply[30], reply[31]]),
            2
        );
        // A reply is not a probe, so two echoes cannot bounce packets between each other.
        assert!(echo.handle(&reply, from, now).is_none());
    }

    #[test]
    fn rate_limited_per_source() {
        let mut echo = UdpEcho::new(10, 5);
        let from: SocketAddr = "10.0.0.1:5000".parse().expect("literal address");
        let other: SocketAddr = "10.0.0.2:5000".parse().expect("literal address");
        let now = Instant::now();
        let mut packet = encode_reply(
            &Probe {
                run: 1,
                seq: 0,
                sent: 0,
            },
            0,
        );
        packet[4] = KIND_PROBE;
        let answered = (0..50)
            .filter(|_| echo.handle(&packet, from, now).is_some())
            .count();
        assert_eq!(answered, 5);
        assert!(echo.handle(&packet, other, now).is_some());
        // Refilled after a second at 10 per second, up to the burst.
        let later = now + Duration::from_secs(1);
        let answered = (0..50)
            .filter(|_| echo.handle(&packet, from, later).is_some())
            .count();
        assert_eq!(answered, 5);
    }

    #[test]
    fn turn_credential_shape() {
        let (user, pass) = turn_credentials(b"secret", 1_700_000_000, "huddle-nettest");
        assert_eq!(user, "1700000000:huddle-nettest");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(hmac_sha1(b"secret", user.as_bytes()));
        assert_eq!(pass, expected);
        assert_eq!(pass.len(), 28);
    }
}
