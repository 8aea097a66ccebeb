//! TURN reachability: a real Allocate (RFC 5766) with the server-issued long-term credential
//! (RFC 5389 §10.2), over UDP, TCP or TLS. A relayed address in the answer proves the whole
//! path works: the TURN port is reachable and the credentials are accepted. The allocation is
//! released straight away with a zero-lifetime Refresh.
//!
//! Only what an Allocate needs is implemented: building requests, MESSAGE-INTEGRITY, and
//! reading ERROR-CODE, REALM, NONCE and XOR-RELAYED-ADDRESS from answers. Answers are
//! untrusted input and are parsed without panicking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use md5::{Digest as _, Md5};
use rustls::ClientConfig;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::net::{self, ByteStream};

const MAGIC_COOKIE: u32 = 0x2112_a442;
const ALLOCATE: u16 = 0x0003;
const REFRESH: u16 = 0x0004;
const SUCCESS: u16 = 0x0100;
const ERROR: u16 = 0x0110;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_LIFETIME: u16 = 0x000d;
const ATTR_REALM: u16 = 0x0014;
const ATTR_NONCE: u16 = 0x0015;
const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;
const PROTO_UDP: u8 = 17;
/// Largest STUN message read over a stream; answers to an Allocate are far smaller.
const MAX_MESSAGE: usize = 4096;

/// How the client reaches the TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnTransport {
    /// `turn:` with `transport=udp` (the default).
    Udp,
    /// `turn:` with `transport=tcp`.
    Tcp,
    /// `turns:` (TLS over TCP).
    Tls,
}

impl std::fmt::Display for TurnTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TurnTransport::Udp => "UDP",
            TurnTransport::Tcp => "TCP",
            TurnTransport::Tls => "TLS",
        })
    }
}

/// A parsed `turn:` / `turns:` URL (RFC 7065).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnUrl {
    /// Host name or address.
    pub host: String,
    /// Port (3478, or 5349 for `turns:`, when not given).
    pub port: u16,
    /// Transport.
    pub transport: TurnTransport,
}

/// Parses a TURN URL; `None` when it is not one.
pub fn parse_url(url: &str) -> Option<TurnUrl> {
    let (secure, rest) = if let Some(rest) = url.strip_prefix("turns:") {
        (true, rest)
    } else {
        (false, url.strip_prefix("turn:")?)
    };
    let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
    let transport_param = query
        .split('&')
        .find_map(|p| p.strip_prefix("transport="))
        .map(str::to_ascii_lowercase);
    let transport = match (secure, transport_param.as_deref()) {
        (true, None | Some("tcp")) => TurnTransport::Tls,
        (false, None | Some("udp")) => TurnTransport::Udp,
        (false, Some("tcp")) => TurnTransport::Tcp,
        _ => return None,
    };
    let default_port = if secure { 5349 } else { 3478 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse().ok()?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(TurnUrl {
        host,
        port,
        transport,
    })
}

/// The result of one TURN check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnCheck {
    /// The URL tried.
    pub url: String,
    /// Transport used.
    pub transport: Option<TurnTransport>,
    /// A relay was allocated.
    pub ok: bool,
    /// Relayed address the server allocated.
    pub relayed: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Time to the allocation, ms.
    pub ms: Option<f64>,
}

/// Long-term credential.
#[derive(Debug, Clone)]
pub struct Credential {
    /// TURN username.
    pub username: String,
    /// TURN password.
    pub password: String,
}

/// Tries an Allocate at `url`, ending by `deadline`.
pub async fn check(
    url: &str,
    credential: &Credential,
    tls: &Arc<ClientConfig>,
    deadline: Instant,
) -> TurnCheck {
    let parsed = parse_url(url);
    let started = Instant::now();
    let result = match &parsed {
        None => Err("not a turn: or turns: URL".to_owned()),
        Some(parsed) => {
            match tokio::time::timeout_at(deadline, allocate(parsed, credential, tls)).await {
                Ok(result) => result,
                Err(_) => Err("no answer from the TURN server in time".to_owned()),
            }
        }
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(relayed) => TurnCheck {
            url: url.to_owned(),
            transport: parsed.map(|p| p.transport),
            ok: true,
            relayed: Some(relayed.to_string()),
            error: None,
            ms: Some(ms),
        },
        Err(error) => TurnCheck {
            url: url.to_owned(),
            transport: parsed.map(|p| p.transport),
            ok: false,
            relayed: None,
            error: Some(error),
            ms: None,
        },
    }
}

/// One request/answer exchange over some transport.
enum Channel {
    Udp(UdpSocket),
    Stream(Box<dyn ByteStream>),
}

impl Channel {
    async fn exchange(&mut self, request: &[u8], txid: &[u8; 12]) -> Result<Vec<u8>, String> {
        match self {
            Channel::Udp(socket) => {
                // RFC 5389 §7.2.1 retransmits; a shorter, fixed schedule suits a test bounded
                // to a few seconds.
                let mut buf = vec![0u8; MAX_MESSAGE];
                loop {
                    socket
                        .send(request)
                        .await
                        .map_err(|e| format!("UDP send failed: {e}"))?;
                    let wait = tokio::time::sleep(Duration::from_millis(300));
                    tokio::pin!(wait);
                    loop {
                        tokio::select! {
                            _ = &mut wait => break,
                            got = socket.recv(&mut buf) => {
                                let len = match got {
                                    Ok(len) => len,
                                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                                        return Err("nothing answers on this UDP port (port unreachable)".to_owned())
                                    }
                                    Err(e) => return Err(format!("UDP receive failed: {e}")),
                                };
                                let message = &buf[..len];
                                if message.len() >= 20 && &message[8..20] == txid {
                                    return Ok(message.to_vec());
                                }
                            }
                        }
                    }
                }
            }
            Channel::Stream(stream) => {
                stream
                    .write_all(request)
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
                loop {
                    let mut header = [0u8; 20];
                    stream
                        .read_exact(&mut header)
                        .await
                        .map_err(|e| format!("the TURN server closed the connection: {e}"))?;
                    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
                    if len > MAX_MESSAGE || header[0] & 0xc0 != 0 {
                        return Err("the server does not speak STUN".to_owned());
                    }
                    let mut message = header.to_vec();
                    message.resize(20 + len, 0);
                    stream
                        .read_exact(&mut message[20..])
                        .await
                        .map_err(|e| format!("the TURN server closed the connection: {e}"))?;
                    if &message[8..20] == txid {
                        return Ok(message);
                    }
                }
            }
        }
    }
}

async fn allocate(
    url: &TurnUrl,
    credential: &Credential,
    tls: &Arc<ClientConfig>,
) -> Result<SocketAddr, String> {
    let addr = net::resolve(&url.host, url.port).await?;
    let mut channel = match url.transport {
        TurnTransport::Udp => {
            let local: SocketAddr = if addr.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let socket = UdpSocket::bind(local)
                .await
                .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
            socket
                .connect(addr)
                .await
                .map_err(|e| format!("cannot address {addr}: {e}"))?;
            Channel::Udp(socket)
        }
        TurnTransport::Tcp => Channel::Stream(net::connect(addr, &url.host, None).await?),
        TurnTransport::Tls => Channel::Stream(net::connect(addr, &url.host, Some(tls)).await?),
    };
    // First without credentials: the server answers 401 with its realm and a nonce.
    let txid = new_txid()?;
    let first = Request::new(ALLOCATE, txid)
        .requested_transport()
        .finish(None);
    let answer = channel.exchange(&first, &txid).await?;
    let mut parsed = parse_message(&answer)?;
    let mut tries = 0;
    loop {
        if parsed.class == SUCCESS {
            return parsed
                .relayed
                .ok_or_else(|| "the server allocated no relayed address".to_owned());
        }
        let (code, reason) = parsed.error.clone().unwrap_or((0, String::new()));
        let retry = tries == 0 && code == 401 || tries < 2 && code == 438;
        if !retry {
            return Err(match code {
                401 => format!("the TURN server refused the credentials (401 {reason})"),
                0 => "the TURN server gave an unexpected answer".to_owned(),
                _ => format!("the TURN server refused the allocation ({code} {reason})"),
            });
        }
        tries += 1;
        let (Some(realm), Some(nonce)) = (parsed.realm.clone(), parsed.nonce.clone()) else {
            return Err("the TURN server asked for credentials without a realm or nonce".into());
        };
        let key = long_term_key(&credential.username, &realm, &credential.password);
        let txid = new_txid()?;
        let request = Request::new(ALLOCATE, txid)
            .requested_transport()
            .attr(ATTR_USERNAME, credential.username.as_bytes())
            .attr(ATTR_REALM, realm.as_bytes())
            .attr(ATTR_NONCE, nonce.as_bytes())
            .finish(Some(&key));
        let answer = channel.exchange(&request, &txid).await?;
        parsed = parse_message(&answer)?;
        if parsed.class == SUCCESS {
            // Release the allocation at once; a test should leave nothing behind. Best
            // effort: the server frees it after its lifetime anyway.
            if let Ok(txid) = new_txid() {
                let release = Request::new(REFRESH, txid)
                    .attr(ATTR_LIFETIME, &0u32.to_be_bytes())
                    .attr(ATTR_USERNAME, credential.username.as_bytes())
                    .attr(ATTR_REALM, realm.as_bytes())
                    .attr(ATTR_NONCE, nonce.as_bytes())
                    .finish(Some(&key));
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    channel.exchange(&release, &txid),
                )
                .await;
            }
        }
    }
}

fn new_txid() -> Result<[u8; 12], String> {
    let mut txid = [0u8; 12];
    getrandom::fill(&mut txid).map_err(|e| format!("random source failed: {e}"))?;
    Ok(txid)
}

/// MD5(username ":" realm ":" password), RFC 5389 §15.4.
fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(format!("{username}:{realm}:{password}").as_bytes());
    md5.finalize().into()
}

/// A STUN request being built.
struct Request {
    buf: Vec<u8>,
}

impl Request {
    fn new(method: u16, txid: [u8; 12]) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&method.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&txid);
        Self { buf }
    }

    fn requested_transport(self) -> Self {
        self.attr(ATTR_REQUESTED_TRANSPORT, &[PROTO_UDP, 0, 0, 0])
    }

    fn attr(mut self, kind: u16, value: &[u8]) -> Self {
        self.buf.extend_from_slice(&kind.to_be_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(value);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self
    }

    /// The finished message, with MESSAGE-INTEGRITY when `key` is given.
    fn finish(mut self, key: Option<&[u8; 16]>) -> Vec<u8> {
        if let Some(key) = key {
            // The length must already count the MESSAGE-INTEGRITY attribute (24 bytes)
            // when the HMAC is computed (RFC 5389 §15.4).
            let len = (self.buf.len() - 20 + 24) as u16;
            self.buf[2..4].copy_from_slice(&len.to_be_bytes());
            let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
            let tag = ring::hmac::sign(&hmac_key, &self.buf);
            self = self.attr(ATTR_MESSAGE_INTEGRITY, tag.as_ref());
        }
        let len = (self.buf.len() - 20) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }
}

/// The parts of an answer an Allocate needs.
#[derive(Debug, Default)]
struct Answer {
    class: u16,
    error: Option<(u16, String)>,
    realm: Option<String>,
    nonce: Option<String>,
    relayed: Option<SocketAddr>,
}

fn parse_message(message: &[u8]) -> Result<Answer, String> {
    let bad = || "the TURN server sent a malformed answer".to_owned();
    if message.len() < 20 || message[4..8] != MAGIC_COOKIE.to_be_bytes() {
        return Err(bad());
    }
    let kind = u16::from_be_bytes([message[0], message[1]]);
    let len = usize::from(u16::from_be_bytes([message[2], message[3]]));
    let body = message.get(20..20 + len).ok_or_else(bad)?;
    let mut answer = Answer {
        class: kind & 0x0110,
        ..Answer::default()
    };
    if answer.class != SUCCESS && answer.class != ERROR {
        return Err(bad());
    }
    let mut rest = body;
    while rest.len() >= 4 {
        let attr = u16::from_be_bytes([rest[0], rest[1]]);
        let alen = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + alen).ok_or_else(bad)?;
        let padded = (4 + alen).div_ceil(4) * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
        match attr {
            ATTR_ERROR_CODE if value.len() >= 4 => {
                let code = u16::from(value[2] & 0x07) * 100 + u16::from(value[3]);
                let reason = String::from_utf8_lossy(&value[4..]).into_owned();
                answer.error = Some((code, reason));
            }
            ATTR_REALM => answer.realm = Some(String::from_utf8_lossy(value).into_owned()),
            ATTR_NONCE => answer.nonce = Some(String::from_utf8_lossy(value).into_owned()),
            ATTR_XOR_RELAYED_ADDRESS => answer.relayed = xor_address(value, &message[4..20]),
            _ => {}
        }
    }
    Ok(answer)
}

/// Decodes an XOR-…-ADDRESS value; `cookie_txid` is the header's bytes 4..20.
fn xor_address(value: &[u8], cookie_txid: &[u8]) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]) ^ (MAGIC_COOKIE >> 16) as u16;
    match family {
        0x01 => {
            let raw: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            let ip = u32::from_be_bytes(raw) ^ MAGIC_COOKIE;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        0x02 => {
            let raw = value.get(4..20)?;
            let mut ip = [0u8; 16];
            for (i, b) in ip.iter_mut().enumerate() {
                *b = raw[i] ^ cookie_txid[i];
            }
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_turn_urls() {
        let u = parse_url("turn:example.com?transport=tcp").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("example.com", 3478, TurnTransport::Tcp)
        );
        let u = parse_url("turns:127.0.0.1:5350").expect("url");
        assert_eq!((u.port, u.transport), (5350, TurnTransport::Tls));
        let u = parse_url("turn:[::1]:4000").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("::1", 4000, TurnTransport::Udp)
        );
        for bad in [
            "stun:x",
            "turn:",
            "turns:x?transport=udp",
            "turn:x:notaport",
            "turn:[::1",
        ] {
            assert!(parse_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn long_term_key_is_md5_of_user_realm_password() {
        let key = long_term_key("user", "realm", "pass");
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8493fbc53ba582fb4c044c456bdc40eb");
    }

    #[test]
    fn hostile_answers_do_not_panic() {
        let txid = [7u8; 12];
        let mut message = Request::new(ALLOCATE | SUCCESS, txid)
            .attr(ATTR_XOR_RELAYED_ADDRESS, &[0, 1, 0x21, 0x12, 1, 2, 3, 4])
            .finish(None);
        let answer = parse_message(&message).expect("well formed");
        assert!(answer.relayed.is_some());
        // Truncate and corrupt in every way; nothing may panic.
        for cut in 0..message.len() {
            let _ = parse_message(&message[..cut]);
        }
        message[22] = 0xff;
        message[23] = 0xff;
        assert!(parse_message(&message).is_err());
    }
}
