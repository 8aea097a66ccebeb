//! Opening the signaling WebSocket and performing the join handshake.
//!
//! [`Endpoint::parse`] turns what a person typed (a `ws(s)://` URL, an `http(s)://` base or a
//! bare `host:port`) into the `/v1/ws` URL; [`connect_and_join`] opens TCP (and TLS for
//! `wss`), upgrades, sends `join` and waits for `welcome` or the server's refusal, or, for a
//! session with a waiting room, `waiting`; [`wait_for_admission`] then waits in the lobby.

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use huddle_proto::limits::{HEARTBEAT_INTERVAL, MAX_SERVER_FRAME_BYTES};
use huddle_proto::{decode_server, encode, ClientMessage, Join, ServerMessage, WaiterId, Welcome};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::error::ClientError;
use crate::tls::{self, Trust};

/// The WebSocket path of the signaling endpoint.
const WS_PATH: &str = "/v1/ws";

/// A byte stream over TCP or TLS.
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// The signaling socket.
pub(crate) type Ws = WebSocketStream<Box<dyn ByteStream>>;

/// Where the signaling WebSocket lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The full `ws://` or `wss://` URL.
    pub url: String,
    secure: bool,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Accepts `ws(s)://host[:port][/path]` (the path kept, `/v1/ws` when absent),
    /// `http(s)://host[:port][/...]` (reduced to `/v1/ws`) and bare `host[:port]` (plain `ws`).
    pub fn parse(server: &str) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidUrl {
            url: server.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = server.trim();
        let (secure, keep_path, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "ws" => (false, true, rest),
                "wss" => (true, true, rest),
                "http" => (false, false, rest),
                "https" => (true, false, rest),
                _ => return Err(invalid("the scheme must be ws, wss, http or https")),
            },
            None => (false, false, trimmed),
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(split);
        if authority.contains('@') {
            return Err(invalid("user information is not supported"));
        }
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| invalid("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(invalid("unexpected text after ]")),
            };
            (format!("[{host}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (host.to_owned(), p.parse().map_err(|_| invalid("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(invalid("no host"));
        }
        let path = if keep_path && !tail.is_empty() && tail != "/" {
            tail.to_owned()
        } else {
            WS_PATH.to_owned()
        };
        let scheme = if secure { "wss" } else { "ws" };
        Ok(Self {
            url: format!("{scheme}://{host}:{port}{path}"),
            secure,
            host,
            port,
        })
    }
}

/// Someone waiting in a session's lobby: what the server said when the join went there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobbyNotice {
    /// The lobby's id for this join.
    pub waiter: WaiterId,
    /// The session's name.
    pub session_name: String,
}

/// How far a join got.
pub(crate) enum Handshake {
    /// A member.
    Welcome(Ws, Box<Welcome>),
    /// Waiting in the lobby; [`wait_for_admission`] goes on.
    Waiting(Ws, LobbyNotice),
}

/// Opens the socket and joins. Refusals come back as [`ClientError::JoinRefused`]; the caller
/// bounds the time.
pub(crate) async fn connect_and_join(
    endpoint: &Endpoint,
    trust: &Trust,
    join: Join,
) -> Result<Handshake, ClientError> {
    let mut ws = open(endpoint, trust).await?;
    let frame = encode(&ClientMessage::Join(join)).map_err(|e| ClientError::BadAnswer {
        url: endpoint.url.clone(),
        reason: e.to_string(),
    })?;
    ws.send(Message::text(frame))
        .await
        .map_err(|e| unreachable_err(endpoint, &e.to_string()))?;
    match read_answer(&mut ws, endpoint).await? {
        Answer::Welcome(welcome) => Ok(Handshake::Welcome(ws, welcome)),
        Answer::Waiting(notice) => Ok(Handshake::Waiting(ws, notice)),
    }
}

/// Waits in the lobby until a host lets this join in (the welcome) or turns it away
/// ([`ClientError::JoinRefused`] with `denied`), sending the heartbeat meanwhile. The caller
/// bounds the time; dropping the future leaves the lobby (the socket closes).
pub(crate) async fn wait_for_admission(
    mut ws: Ws,
    endpoint: &Endpoint,
) -> Result<(Ws, Welcome), ClientError> {
    let mut beat = tokio::time::interval(HEARTBEAT_INTERVAL);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            answer = read_answer(&mut ws, endpoint) => match answer? {
                Answer::Welcome(welcome) => return Ok((ws, *welcome)),
                Answer::Waiting(_) => {}
            },
            _ = beat.tick() => {
                nonce += 1;
                let ping = encode(&ClientMessage::Ping { nonce }).map_err(|e| {
                    ClientError::BadAnswer { url: endpoint.url.clone(), reason: e.to_string() }
                })?;
                ws.send(Message::text(ping))
                    .await
                    .map_err(|e| unreachable_err(endpoint, &e.to_string()))?;
            }
        }
    }
}

enum Answer {
    Welcome(Box<Welcome>),
    Waiting(LobbyNotice),
}

/// Reads until the server answers the join. Cancel-safe: it holds nothing between frames.
async fn read_answer(ws: &mut Ws, endpoint: &Endpoint) -> Result<Answer, ClientError> {
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or_else(|| "no reason".to_owned(), |f| f.reason.to_string());
                return Err(unreachable_err(
                    endpoint,
                    &format!("closed before welcome: {why}"),
                ));
            }
            // Control frames and stray binary frames carry nothing for the handshake.
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(unreachable_err(endpoint, &e.to_string())),
            None => return Err(unreachable_err(endpoint, "closed before welcome")),
        };
        match decode_server(text.as_str()) {
            Ok(ServerMessage::Welcome(welcome)) => return Ok(Answer::Welcome(Box::new(welcome))),
            Ok(ServerMessage::Waiting {
                waiter,
                session_name,
            }) => {
                return Ok(Answer::Waiting(LobbyNotice {
                    waiter,
                    session_name,
                }))
            }
            Ok(ServerMessage::Error {
                id: None,
                code,
                message,
            }) => {
                // The server closes right after a refusal; say goodbye politely, but the
                // refusal is what matters.
                let _ = ws.close(None).await;
                return Err(ClientError::JoinRefused { code, message });
            }
            // Pongs, and errors answering something else, are not the join's answer.
            Ok(_) => continue,
            Err(e) => {
                return Err(ClientError::BadAnswer {
                    url: endpoint.url.clone(),
                    reason: format!("unreadable answer to join: {e}"),
                })
            }
        }
    }
}

fn unreachable_err(endpoint: &Endpoint, reason: &str) -> ClientError {
    ClientError::Unreachable {
        url: endpoint.url.clone(),
        reason: reason.to_owned(),
    }
}

async fn open(endpoint: &Endpoint, trust: &Trust) -> Result<Ws, ClientError> {
    let host_only = endpoint.host.trim_start_matches('[').trim_end_matches(']');
    let addr = match host_only.parse::<IpAddr>() {
        Ok(ip) => std::net::SocketAddr::new(ip, endpoint.port),
        Err(_) => tokio::net::lookup_host((host_only, endpoint.port))
            .await
            .map_err(|e| unreachable_err(endpoint, &format!("cannot resolve {host_only}: {e}")))?
            .next()
            .ok_or_else(|| unreachable_err(endpoint, &format!("{host_only} has no address")))?,
    };
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| unreachable_err(endpoint, &format!("TCP connection failed: {e}")))?;
    // Signaling messages are small and latency-sensitive.
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn ByteStream> = if endpoint.secure {
        let config = tls::client_config(trust, &[b"http/1.1"])?;
        let name = match host_only.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(host_only.to_owned())
                .map_err(|e| ClientError::Tls(format!("bad server name: {e}")))?,
        };
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&config))
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::TlsHandshake {
                url: endpoint.url.clone(),
                reason: e.to_string(),
            })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    // The welcome carries the whole roster, so server frames may be far larger than ours.
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(MAX_SERVER_FRAME_BYTES));
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(endpoint.url.as_str(), stream, Some(config))
            .await
            .map_err(|e| unreachable_err(endpoint, &format!("WebSocket handshake failed: {e}")))?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms_reduce_to_the_ws_url() -> Result<(), ClientError> {
        let cases = [
            ("127.0.0.1:7880", "ws://127.0.0.1:7880/v1/ws"),
            ("http://127.0.0.1:7880", "ws://127.0.0.1:7880/v1/ws"),
            (
                "https://meet.example.com/",
                "wss://meet.example.com:443/v1/ws",
            ),
            ("ws://h:1/v1/ws", "ws://h:1/v1/ws"),
            ("wss://h:2", "wss://h:2/v1/ws"),
            ("ws://[::1]:9000/custom", "ws://[::1]:9000/custom"),
        ];
        for (given, want) in cases {
            assert_eq!(Endpoint::parse(given)?.url, want, "{given}");
        }
        for bad in [
            "",
            "ftp://x",
            "http://",
            "http://x:99999",
            "ws://u@x",
            "[::1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
