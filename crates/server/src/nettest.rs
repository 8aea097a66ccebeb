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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Serialize;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use futures_util::StreamExt as _;
use huddle_auth::{unix_now, TokenVerifier, VerifiedToken};

use crate::error::ServerError;
use crate::http::PeerAddr;

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
/// The window of a client address's transfer budget.
const TRANSFER_WINDOW: Duration = Duration::from_secs(60);
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
    /// Downloads and uploads one client address may have running at once.
    pub transfers_per_address: u32,
    /// Bytes one client address may transfer (downloads asked for plus uploads sent) per
    /// minute.
    pub transfer_bytes_per_minute: u64,
    /// Lifetime of a network-test grant (token mode) and of the TURN credentials handed out
    /// with it (at most the TURN setting's own lifetime).
    pub grant_ttl: Duration,
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
            // A test runs one download and one upload; room for a few tests a minute from
            // one address (or several people behind one NAT), not for a bandwidth drain.
            transfers_per_address: 4,
            transfer_bytes_per_minute: 8 * MAX_DOWNLOAD_BYTES as u64,
            grant_ttl: Duration::from_secs(10 * 60),
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
    /// Token mode: the grant the other endpoints need (`?grant=`), valid for the grant TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
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

/// Who may use the HTTP endpoints.
enum Access {
    /// Open mode: anyone (who may join anyway).
    Open,
    /// Token mode: `config` needs a valid join token, and hands out a grant the other
    /// endpoints need.
    Token {
        verifier: TokenVerifier,
        /// Signs grants; random per server start, so a restart invalidates them.
        grant_key: [u8; 32],
    },
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Open => "Open",
            Access::Token { .. } => "Token",
        })
    }
}

#[derive(Debug)]
struct NettestState {
    udp_port: u16,
    turn: Option<TurnConfig>,
    shutdown: CancellationToken,
    access: Access,
    grant_ttl: Duration,
    transfers: Mutex<Transfers>,
}

/// Per-address use of the download and upload endpoints.
#[derive(Debug)]
struct Transfers {
    per_address: u32,
    bytes_per_minute: u64,
    by_address: HashMap<IpAddr, TransferUse>,
}

#[derive(Debug, Clone, Copy)]
struct TransferUse {
    running: u32,
    /// Bytes counted in the minute that began at `since`.
    bytes: u64,
    since: Instant,
}

/// Why a transfer was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferRefusal {
    TooMany,
    OverBudget { retry_after: Duration },
}

impl Transfers {
    /// Counts a transfer of up to `bytes` from `ip` starting `now`, or says why not.
    fn begin(&mut self, ip: IpAddr, bytes: u64, now: Instant) -> Result<(), TransferRefusal> {
        if self.by_address.len() >= TABLE_CAP {
            self.by_address.retain(|_, u| {
                u.running > 0 || now.saturating_duration_since(u.since) < TABLE_IDLE
            });
            if self.by_address.len() >= TABLE_CAP {
                return Err(TransferRefusal::TooMany);
            }
        }
        let entry = self.by_address.entry(ip).or_insert(TransferUse {
            running: 0,
            bytes: 0,
            since: now,
        });
        if now.saturating_duration_since(entry.since) >= TRANSFER_WINDOW {
            entry.bytes = 0;
            entry.since = now;
        }
        if entry.running >= self.per_address {
            return Err(TransferRefusal::TooMany);
        }
        if entry.bytes.saturating_add(bytes) > self.bytes_per_minute {
            let retry_after =
                TRANSFER_WINDOW.saturating_sub(now.saturating_duration_since(entry.since));
            return Err(TransferRefusal::OverBudget { retry_after });
        }
        entry.running += 1;
        entry.bytes = entry.bytes.saturating_add(bytes);
        Ok(())
    }

    /// A transfer from `ip` ended.
    fn end(&mut self, ip: IpAddr) {
        if let Some(entry) = self.by_address.get_mut(&ip) {
            entry.running = entry.running.saturating_sub(1);
        }
    }
}

/// Counts one running transfer until dropped (also when the client goes away mid-body).
struct TransferSlot {
    state: Arc<NettestState>,
    ip: IpAddr,
}

impl Drop for TransferSlot {
    fn drop(&mut self) {
        self.state.transfers().end(self.ip);
    }
}

impl NettestState {
    fn transfers(&self) -> MutexGuard<'_, Transfers> {
        // The table stays consistent across a panic elsewhere: each update is one statement.
        self.transfers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a counted transfer of up to `bytes`, or the response refusing it.
    fn begin_transfer(
        self: &Arc<Self>,
        ip: IpAddr,
        bytes: u64,
    ) -> Result<TransferSlot, Box<Response>> {
        match self.transfers().begin(ip, bytes, Instant::now()) {
            Ok(()) => Ok(TransferSlot {
                state: Arc::clone(self),
                ip,
            }),
            Err(TransferRefusal::TooMany) => Err(Box::new(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_transfers",
                "too many network-test transfers from this address at once",
            ))),
            Err(TransferRefusal::OverBudget { retry_after }) => {
                let mut response = refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    "transfer_budget_spent",
                    "this address has used its network-test transfer budget for the minute",
                );
                if let Ok(value) =
                    header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
                {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                Err(Box::new(response))
            }
        }
    }

    /// Checks the grant a request carries (token mode), or the response refusing it.
    fn check_grant(&self, uri: &Uri) -> Result<(), Box<Response>> {
        let Access::Token { grant_key, .. } = &self.access else {
            return Ok(());
        };
        let grant = query_value(uri, "grant").ok_or_else(|| {
            Box::new(refusal(
                StatusCode::UNAUTHORIZED,
                "grant_required",
                "this server needs a network-test grant: get one from the config endpoint with a join token",
            ))
        })?;
        if grant_valid(grant_key, grant, unix_now()) {
            Ok(())
        } else {
            Err(Box::new(refusal(
                StatusCode::UNAUTHORIZED,
                "grant_invalid",
                "the network-test grant is invalid or has expired",
            )))
        }
    }
}

/// A refusal as JSON `{code, message}`.
fn refusal(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// The value of `name` in a request's query, if given once or more (the first).
fn query_value<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A grant: `<expiry unix seconds>.<hex HMAC-SHA1(key, expiry)>`.
fn mint_grant(key: &[u8], expiry_unix: u64) -> String {
    let mac = hmac_sha1(key, expiry_unix.to_string().as_bytes());
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("{expiry_unix}.{hex}")
}

fn grant_valid(key: &[u8], grant: &str, now_unix: u64) -> bool {
    let Some((expiry, mac_hex)) = grant.split_once('.') else {
        return false;
    };
    let Ok(expiry_unix) = expiry.parse::<u64>() else {
        return false;
    };
    if expiry_unix <= now_unix || mac_hex.len() != 40 || !mac_hex.is_ascii() {
        return false;
    }
    let mut mac = [0u8; 20];
    for (i, byte) in mac.iter_mut().enumerate() {
        match mac_hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => *byte = b,
            None => return false,
        }
    }
    // ring compares the tags in constant time.
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    ring::hmac::verify(&key, expiry.as_bytes(), &mac).is_ok()
}

/// The TURN username's identity part for a token's holder: what the token names it by,
/// reduced to characters that are safe in a TURN username, and bounded.
fn turn_identity(verified: Option<&VerifiedToken>) -> String {
    let who = verified.map_or("anyone", |v| {
        v.identity.as_deref().unwrap_or(v.session.as_str())
    });
    let clean: String = who
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        .take(64)
        .collect();
    format!("nettest-{clean}")
}

/// Binds the UDP echo next to the HTTP listener at `http_addr`, spawns it until `shutdown`,
/// and returns the HTTP routes. With `verifier` (token mode) the HTTP endpoints need a join
/// token, then a grant. A disabled configuration returns no routes.
pub async fn start(
    config: &NettestConfig,
    http_addr: SocketAddr,
    verifier: Option<TokenVerifier>,
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
    let access = match verifier {
        None => Access::Open,
        Some(verifier) => {
            let mut grant_key = [0u8; 32];
            getrandom::fill(&mut grant_key).map_err(|e| {
                ServerError::Config(format!("no randomness for network-test grants: {e}"))
            })?;
            Access::Token {
                verifier,
                grant_key,
            }
        }
    };
    let state = Arc::new(NettestState {
        udp_port,
        turn: config.turn.clone(),
        shutdown,
        access,
        grant_ttl: config.grant_ttl,
        transfers: Mutex::new(Transfers {
            per_address: config.transfers_per_address,
            bytes_per_minute: config.transfer_bytes_per_minute,
            by_address: HashMap::new(),
        }),
    });
    Ok(Router::new()
        .route(CONFIG_PATH, get(client_config))
        .route(WS_ECHO_PATH, get(ws_echo))
        .route(DOWNLOAD_PATH, get(download))
        .route(UPLOAD_PATH, post(upload))
        .with_state(state))
}

async fn client_config(State(state): State<Arc<NettestState>>, headers: HeaderMap) -> Response {
    let now = unix_now();
    let (verified, grant) = match &state.access {
        Access::Open => (None, None),
        Access::Token {
            verifier,
            grant_key,
        } => {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            let Some(token) = bearer else {
                return refusal(
                    StatusCode::UNAUTHORIZED,
                    "token_required",
                    "this server runs in token mode: the network test needs a join token",
                );
            };
            match verifier.verify_any_session(token.trim(), now) {
                Ok(verified) => {
                    let expiry = now.saturating_add(state.grant_ttl.as_secs());
                    (Some(verified), Some(mint_grant(grant_key, expiry)))
                }
                Err(e) => {
                    let body = serde_json::json!({
                        "code": e.wire_code().as_str(),
                        "message": e.to_string(),
                    });
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::CACHE_CONTROL, "no-store")],
                        Json(body),
                    )
                        .into_response();
                }
            }
        }
    };
    let turn = match &state.turn {
        Some(turn) if !turn.urls.is_empty() && !turn.secret.is_empty() => {
            // Relays for the test only, named after who asked, and short-lived.
            let ttl = turn.ttl.min(state.grant_ttl);
            let expiry = now.saturating_add(ttl.as_secs());
            let identity = turn_identity(verified.as_ref());
            let (username, credential) = turn_credentials(&turn.secret, expiry, &identity);
            Some(TurnCredentials {
                urls: turn.urls.clone(),
                username,
                credential,
                ttl_secs: ttl.as_secs(),
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
        grant,
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

async fn download(
    State(state): State<Arc<NettestState>>,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    uri: Uri,
) -> Response {
    if let Err(refused) = state.check_grant(&uri) {
        return *refused;
    }
    let asked = query_value(&uri, "bytes").map(str::parse::<u64>);
    let bytes = match asked {
        Some(Ok(n)) => usize::try_from(n)
            .unwrap_or(MAX_DOWNLOAD_BYTES)
            .min(MAX_DOWNLOAD_BYTES),
        Some(Err(_)) => {
            return (StatusCode::BAD_REQUEST, "bytes must be a whole number").into_response()
        }
        None => MAX_DOWNLOAD_BYTES,
    };
    let slot = match state.begin_transfer(peer.0.ip(), bytes as u64) {
        Ok(slot) => slot,
        Err(refused) => return *refused,
    };
    // The slot is held until the body has been sent (or the client went away).
    let stream = futures_util::stream::once(async move {
        let chunk = Bytes::from_static(&ZEROS[..bytes]);
        Ok::<_, std::convert::Infallible>(chunk)
    })
    .chain(futures_util::stream::once(async move {
        drop(slot);
        Ok(Bytes::new())
    }));
    let body = Body::from_stream(stream);
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn upload(
    State(state): State<Arc<NettestState>>,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    uri: Uri,
    body: Body,
) -> Response {
    if let Err(refused) = state.check_grant(&uri) {
        return *refused;
    }
    let _slot = match state.begin_transfer(peer.0.ip(), MAX_UPLOAD_BYTES) {
        Ok(slot) => slot,
        Err(refused) => return *refused,
    };
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

async fn ws_echo(
    State(state): State<Arc<NettestState>>,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // The grant first: a stranger learns nothing more than that one is needed.
    if let Err(refused) = state.check_grant(&uri) {
        return *refused;
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
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
