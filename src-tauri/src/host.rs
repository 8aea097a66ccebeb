//! The session server embedded in the app ("Host on this computer"). The app starts it at
//! launch in open mode on loopback, so a user can host without running anything else; the
//! server itself lives in `huddle-server`, this is only its owner.

use std::net::{Ipv4Addr, SocketAddr};

use huddle_server::{Server, ServerConfig, ServerHandle};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::error::AppError;

/// The port the embedded server asks for first, so the address to share stays the same
/// from one launch to the next; a free port is used when another program holds it.
pub const PREFERRED_PORT: u16 = 7880;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    pub running: bool,
    /// `ws://127.0.0.1:7880/v1/ws` while running.
    pub ws_url: Option<String>,
    /// The `host:port` to type in the server field.
    pub address: Option<String>,
    /// `http://127.0.0.1:7880`, the base of the server's HTTP endpoints.
    pub http_url: Option<String>,
}

/// Owns the embedded server, if one is running.
#[derive(Default)]
pub struct Host {
    handle: Mutex<Option<ServerHandle>>,
}

impl Host {
    pub async fn status(&self) -> HostStatus {
        status_of(self.handle.lock().await.as_ref())
    }

    /// Starts the server unless it runs already; returns where it listens.
    pub async fn start(&self) -> Result<HostStatus, AppError> {
        let mut slot = self.handle.lock().await;
        if slot.is_none() {
            let handle = match Server::start(config(PREFERRED_PORT)).await {
                Ok(handle) => handle,
                Err(first) => {
                    tracing::info!(error = %first, port = PREFERRED_PORT, "preferred port unavailable; using a free one");
                    Server::start(config(0))
                        .await
                        .map_err(|e| AppError::Host(e.to_string()))?
                }
            };
            tracing::info!(url = %handle.ws_url(), "hosting on this computer");
            *slot = Some(handle);
        }
        Ok(status_of(slot.as_ref()))
    }

    /// Ends every hosted session (members are told the server shut down) and stops.
    pub async fn stop(&self) -> HostStatus {
        if let Some(handle) = self.handle.lock().await.take() {
            handle.shutdown().await;
            tracing::info!("stopped hosting");
        }
        status_of(None)
    }
}

fn config(port: u16) -> ServerConfig {
    let mut config = ServerConfig::open_loopback();
    config.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    config
}

fn status_of(handle: Option<&ServerHandle>) -> HostStatus {
    HostStatus {
        running: handle.is_some(),
        ws_url: handle.map(ServerHandle::ws_url),
        address: handle.map(|h| h.local_addr().to_string()),
        http_url: handle.map(ServerHandle::http_url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_once_serves_health_and_stops() -> Result<(), Box<dyn std::error::Error>> {
        let host = Host::default();
        assert!(!host.status().await.running);
        let first = host.start().await?;
        let again = host.start().await?;
        assert!(first.running);
        assert_eq!(first, again, "a second start reuses the running server");
        let address = first.address.clone().ok_or("no address while running")?;
        // The embedded server answers its health endpoint like a standalone one.
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(
                format!(
                    "GET {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
                    huddle_server::HEALTH_PATH
                )
                .as_bytes(),
            )
            .await?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await?;
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "health answered: {reply}"
        );
        assert!(!host.stop().await.running);
        assert!(
            tokio::net::TcpStream::connect(&address).await.is_err(),
            "the port is closed after stop"
        );
        Ok(())
    }
}
