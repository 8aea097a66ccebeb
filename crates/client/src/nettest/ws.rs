//! The WebSocket echo stage: the same round trip as the UDP probe, over the TCP path that
//! signaling uses, for comparison (and as the fallback figure when UDP is blocked).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rustls::ClientConfig;
use serde::Serialize;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::net;

/// What the WebSocket echo measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WsStats {
    /// Echoes completed.
    pub samples: u32,
    /// Median round-trip time, ms.
    pub rtt_ms: f64,
    /// Smallest round-trip time, ms.
    pub rtt_min_ms: f64,
}

/// Echoes up to `count` messages one after another over `url`, ending by `deadline`.
pub async fn run(
    url: &str,
    host: &str,
    port: u16,
    tls: Option<&Arc<ClientConfig>>,
    count: u32,
    deadline: Instant,
) -> Result<WsStats, String> {
    let work = async {
        let addr = net::resolve(host, port).await?;
        let stream = net::connect(addr, host, tls).await?;
        let (mut socket, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| format!("WebSocket handshake failed: {e}"))?;
        let mut rtts = Vec::new();
        for seq in 0..count {
            let text = format!("{seq}");
            let sent = Instant::now();
            socket
                .send(Message::text(text.clone()))
                .await
                .map_err(|e| format!("WebSocket send failed: {e}"))?;
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(reply))) if reply.as_str() == text => break,
                    Some(Ok(Message::Close(_))) | None => {
                        return Err("the server closed the WebSocket echo".to_owned())
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("WebSocket receive failed: {e}")),
                }
            }
            rtts.push(sent.elapsed());
            // Spread the samples a little so they do not all see one moment's queue.
            tokio::time::sleep(Duration::from_millis(10)).await;
            if Instant::now() >= deadline {
                break;
            }
        }
        let _ = socket.close(None).await;
        Ok(rtts)
    };
    let rtts: Vec<Duration> = match tokio::time::timeout_at(deadline, work).await {
        Ok(result) => result?,
        Err(_) => return Err("the WebSocket echo did not answer in time".to_owned()),
    };
    let mut ms: Vec<f64> = rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let (Some(&min), Some(&median)) = (ms.first(), ms.get(ms.len() / 2)) else {
        return Err("no WebSocket echo completed".to_owned());
    };
    Ok(WsStats {
        samples: ms.len() as u32,
        rtt_ms: median,
        rtt_min_ms: min,
    })
}
