//! Connection helpers shared by the stages: a TCP connection, optionally wrapped in TLS,
//! behind one boxed stream type.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A byte stream over TCP or TLS.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// Opens a TCP connection to `addr`, with TLS for `host` when `tls` is given.
pub async fn connect(
    addr: SocketAddr,
    host: &str,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<Box<dyn ByteStream>, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("TCP connection to {addr} failed: {e}"))?;
    // Probes are small and timed; Nagle's algorithm would hold them back.
    let _ = tcp.set_nodelay(true);
    let Some(config) = tls else {
        return Ok(Box::new(tcp));
    };
    let name = match host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.to_owned())
            .map_err(|e| format!("`{host}` is not a valid TLS server name: {e}"))?,
    };
    let stream = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
    Ok(Box::new(stream))
}

/// Resolves `host:port` to its first address.
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let host_only = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host_only.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host_only, port))
        .await
        .map_err(|e| format!("cannot resolve {host_only}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host_only} has no address"))
}

/// Aborts a spawned task when dropped, so a cancelled test leaves nothing running.
#[derive(Debug)]
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
