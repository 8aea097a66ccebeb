//! Video frames to the page over a loopback WebSocket.
//!
//! Tauri's channels carry a large message as an `eval` plus a fetch through the webview's
//! custom-protocol handler, which on WebKitGTK runs on the window's main thread: measured at
//! about 10 frames/s of 640×360 in total, whatever the number of tiles. A WebSocket on
//! loopback moved 318 such frames/s in the same webview (docs/BENCHMARKS.md), so frames
//! take that road. The server listens on 127.0.0.1 only, on a port the system picks, and
//! accepts a connection only with this run's random token; the page learns both from the
//! `video_endpoint` command.
//!
//! One connection per canvas: `ws://127.0.0.1:<port>/video?token=<token>&source=<source>`,
//! where the source is `preview` or `tile:<participant>` ([`Source::parse`]). The server sends
//! binary frames ([`crate::frames::encode`]); the page answers each with a short message once
//! it has drawn it, the acknowledgement that lets the next frame go.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::frames::{Hub, Source};

/// Largest message the page may send: acknowledgements are a byte or two.
const MAX_INCOMING: usize = 1024;

/// Where the page connects.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoEndpoint {
    /// `ws://127.0.0.1:<port>/video`
    pub url: String,
    pub token: String,
    /// The webview composites in software (no GPU): a 2D canvas then draws video faster
    /// than WebGL (measured 4.0 against 2.8 frames/s per tile in a 4-tile call).
    pub software_rendering: bool,
}

/// The running server.
pub struct VideoServer {
    endpoint: VideoEndpoint,
}

impl VideoServer {
    /// Listens on a loopback port and serves `hub`'s frames from the Tauri runtime.
    pub fn start(hub: Arc<Hub>, software_rendering: bool) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let token = random_token()?;
        let expected = token.clone();
        tauri::async_runtime::spawn(async move {
            let listener = match TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "video server cannot listen");
                    return;
                }
            };
            accept_loop(listener, hub, expected).await;
        });
        tracing::info!(%addr, "video server listening");
        Ok(VideoServer {
            endpoint: VideoEndpoint {
                url: format!("ws://{addr}/video"),
                token,
                software_rendering,
            },
        })
    }

    pub fn endpoint(&self) -> VideoEndpoint {
        self.endpoint.clone()
    }
}

fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn accept_loop(listener: TcpListener, hub: Arc<Hub>, token: String) {
    let token: Arc<str> = token.into();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let hub = Arc::clone(&hub);
                let token = Arc::clone(&token);
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = serve(stream, &hub, &token).await {
                        tracing::debug!(%peer, error = %e, "video connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "video server accept");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Compares without an early exit, so the time taken says nothing about the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The source a request asks for, if its path and token are right.
fn authorize(request: &Request, token: &str) -> Result<Source, (StatusCode, &'static str)> {
    if request.uri().path() != "/video" {
        return Err((StatusCode::NOT_FOUND, "no such path"));
    }
    let query = request.uri().query().unwrap_or("");
    let mut given = None;
    let mut source = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "token" => given = Some(value),
            "source" => source = Some(value),
            _ => {}
        }
    }
    if !given.is_some_and(|g| same(&g, token)) {
        return Err((StatusCode::FORBIDDEN, "bad token"));
    }
    source
        .and_then(|s| Source::parse(&s))
        .ok_or((StatusCode::BAD_REQUEST, "bad source"))
}

// The handshake callback's error type is the library's HTTP response, large by nature.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, hub: &Hub, token: &str) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut source = None;
    let callback = |request: &Request, response: Response| match authorize(request, token) {
        Ok(s) => {
            source = Some(s);
            Ok(response)
        }
        Err((status, why)) => {
            let mut refusal = ErrorResponse::new(Some(why.to_owned()));
            *refusal.status_mut() = status;
            Err(refusal)
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config))
        .await
        .map_err(|e| e.to_string())?;
    let source = source.ok_or("no source")?;
    let (mut write, mut read) = ws.split();
    // The hub sends at most one frame before the page acknowledges it; two slots leave room
    // for a frame sent on a timed-out acknowledgement.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(2);
    let generation = hub.attach(
        source,
        Box::new(move |bytes| {
            !matches!(
                tx.try_send(bytes),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        }),
    );
    let result = loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(bytes) = frame else { break Ok(()) };
                if let Err(e) = write.send(Message::Binary(bytes.into())).await {
                    break Err(e.to_string());
                }
            }
            incoming = read.next() => match incoming {
                Some(Ok(Message::Text(_) | Message::Binary(_))) => hub.ack(source),
                Some(Ok(Message::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.to_string()),
            }
        }
    };
    hub.detach(source, generation);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    fn request(uri: &str) -> Request {
        uri.into_client_request().expect("request")
    }

    #[test]
    fn only_the_right_token_and_a_known_source_get_in() {
        let token = "00112233445566778899aabbccddeeff";
        let ok = format!("ws://127.0.0.1:1/video?token={token}&source=tile:7");
        assert_eq!(authorize(&request(&ok), token), Ok(Source::Participant(7)));
        let preview = format!("ws://127.0.0.1:1/video?source=preview&token={token}");
        assert_eq!(authorize(&request(&preview), token), Ok(Source::Preview));
        // As the page's encodeURIComponent writes it.
        let encoded = format!("ws://127.0.0.1:1/video?token={token}&source=tile%3A7");
        assert_eq!(
            authorize(&request(&encoded), token),
            Ok(Source::Participant(7))
        );
        for (uri, status) in [
            (
                "ws://127.0.0.1:1/video?source=preview".to_owned(),
                StatusCode::FORBIDDEN,
            ),
            (
                "ws://127.0.0.1:1/video?token=00112233445566778899aabbccddeefe&source=preview"
                    .to_owned(),
                StatusCode::FORBIDDEN,
            ),
            (
                format!("ws://127.0.0.1:1/video?token={token}0&source=preview"),
                StatusCode::FORBIDDEN,
            ),
            (
                format!("ws://127.0.0.1:1/video?token={token}&source=tile:x"),
                StatusCode::BAD_REQUEST,
            ),
            (
                format!("ws://127.0.0.1:1/video?token={token}"),
                StatusCode::BAD_REQUEST,
            ),
            (
                format!("ws://127.0.0.1:1/other?token={token}&source=preview"),
                StatusCode::NOT_FOUND,
            ),
        ] {
            assert_eq!(
                authorize(&request(&uri), token).map_err(|e| e.0),
                Err(status),
                "{uri}"
            );
        }
    }

    fn frame(fill: u8) -> Arc<huddle_media::VideoFrame> {
        Arc::new(huddle_media::VideoFrame {
            width: 4,
            height: 2,
            data: vec![fill; 12],
            timestamp: std::time::Duration::ZERO,
        })
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_page_gets_frames_one_at_a_time_and_a_stranger_gets_nothing(
    ) -> Result<(), Box<dyn std::error::Error>> {
        use std::time::Duration;
        use tokio::time::timeout;
        let hub = Arc::new(Hub::default());
        let server = VideoServer::start(Arc::clone(&hub), false)?;
        let e = server.endpoint();

        let stranger = format!("{}?token=0123&source=tile:5", e.url);
        assert!(
            tokio_tungstenite::connect_async(stranger).await.is_err(),
            "a wrong token is refused at the handshake"
        );

        let url = format!("{}?token={}&source=tile%3A5", e.url, e.token);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        // The server attaches the canvas right after the handshake.
        let attached = async {
            loop {
                hub.offer(Source::Participant(5), &frame(1));
                if hub.counts().0 > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        timeout(Duration::from_secs(5), attached).await?;
        let first = timeout(Duration::from_secs(5), ws.next())
            .await?
            .ok_or("closed")??;
        assert_eq!(first.into_data().len(), crate::frames::HEADER_BYTES + 12);
        // Two more before the acknowledgement: held, the older one replaced.
        hub.offer(Source::Participant(5), &frame(2));
        hub.offer(Source::Participant(5), &frame(3));
        assert!(
            timeout(Duration::from_millis(300), ws.next())
                .await
                .is_err(),
            "nothing more until the page acknowledges"
        );
        ws.send(Message::text("a")).await?;
        let next = timeout(Duration::from_secs(5), ws.next())
            .await?
            .ok_or("closed")??;
        let bytes = next.into_data();
        assert_eq!(bytes[crate::frames::HEADER_BYTES], 3, "the newest frame");
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into()?),
            1,
            "one skipped"
        );

        // Closing the socket detaches the canvas: frames go nowhere.
        ws.close(None).await?;
        let sent = hub.counts().0;
        tokio::time::sleep(Duration::from_millis(200)).await;
        hub.offer(Source::Participant(5), &frame(4));
        assert_eq!(hub.counts().0, sent);
        Ok(())
    }

    #[test]
    fn tokens_are_random_and_long() -> std::io::Result<()> {
        let (a, b) = (random_token()?, random_token()?);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        Ok(())
    }
}
