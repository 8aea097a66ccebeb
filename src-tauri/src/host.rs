//! The session server embedded in the app ("Host on this computer"). The app starts it at
//! launch in open mode, so a user can host without running anything else; the server itself
//! lives in `huddle-server`, this is only its owner.
//!
//! It listens on loopback (only this computer can join) unless the user lets others on
//! their network join: then it listens on the address of the network interface the default
//! route leaves by, and only when that address is a private one (a home or office network,
//! a VPN), because the embedded server serves plain HTTP and WebSocket with open admission.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::PoisonError;

use huddle_server::config::{default_route_ip, is_local_or_private};
use huddle_server::{Server, ServerConfig, ServerHandle};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::{AppError, ErrorView, NetworkRefusal};

/// The port the embedded server asks for first, so the address to share stays the same
/// from one launch to the next; a free port is used when another program holds it.
pub const PREFERRED_PORT: u16 = 7880;

/// Who can reach the embedded server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reach {
    /// Loopback only.
    #[default]
    ThisComputer,
    /// This computer's private network address (loopback is not served then).
    Network,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    pub running: bool,
    /// Who can join while running; what was last started for while stopped.
    pub reach: Reach,
    /// `ws://127.0.0.1:7880/v1/ws` while running.
    pub ws_url: Option<String>,
    /// The `host:port` to type in the server field.
    pub address: Option<String>,
    /// `http://127.0.0.1:7880`, the base of the server's HTTP endpoints.
    pub http_url: Option<String>,
    /// Why the last start failed (say, no private network address), until one succeeds.
    pub problem: Option<ErrorView>,
}

/// Owns the embedded server, if one is running.
#[derive(Default)]
pub struct Host {
    /// Held through a start or a stop (they take a moment: a stopping server tells its
    /// members), so they happen one at a time.
    inner: Mutex<Inner>,
    /// The status as of the last start or stop: asking never waits for one under way.
    shown: std::sync::Mutex<HostStatus>,
}

/// [`Host::inner`], locked; the status shown follows when the lock is let go.
struct Locked<'a> {
    inner: tokio::sync::MutexGuard<'a, Inner>,
    shown: &'a std::sync::Mutex<HostStatus>,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        *self.shown.lock().unwrap_or_else(PoisonError::into_inner) = status_of(&self.inner);
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }
}

#[derive(Default)]
struct Inner {
    handle: Option<ServerHandle>,
    reach: Reach,
    problem: Option<ErrorView>,
}

impl Host {
    /// Where the server listens, as of the last start or stop.
    pub async fn status(&self) -> HostStatus {
        self.shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn lock(&self) -> Locked<'_> {
        Locked {
            inner: self.inner.lock().await,
            shown: &self.shown,
        }
    }

    /// Starts the server for `reach` unless it runs so already (running for another reach,
    /// it is stopped first: members of its sessions are told the server shut down); returns
    /// where it listens. Asking for the network when this computer has no private network
    /// address is an error that says so, and leaves a running server as it was.
    pub async fn start(&self, reach: Reach) -> Result<HostStatus, AppError> {
        self.start_on(reach, network_interface_address).await
    }

    /// [`Host::start`] with the network address found by `detect`.
    async fn start_on(
        &self,
        reach: Reach,
        detect: impl FnOnce() -> Result<Option<IpAddr>, AppError>,
    ) -> Result<HostStatus, AppError> {
        let mut inner = self.lock().await;
        if inner.handle.is_some() && inner.reach == reach {
            return Ok(status_of(&inner));
        }
        // Refused before the running server is touched, so a refusal leaves it serving.
        let ip = match reach {
            Reach::ThisComputer => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Reach::Network => detect().and_then(network_address),
        };
        let ip = match ip {
            Ok(ip) => ip,
            Err(err) => {
                inner.problem = Some(err.view());
                return Err(err);
            }
        };
        if let Some(old) = inner.handle.take() {
            old.shutdown().await;
            tracing::info!("stopped hosting, to host for another reach");
        }
        inner.reach = reach;
        match serve(ip).await {
            Ok(handle) => {
                tracing::info!(url = %handle.ws_url(), ?reach, "hosting on this computer");
                inner.handle = Some(handle);
                inner.problem = None;
                Ok(status_of(&inner))
            }
            Err(err) => {
                inner.problem = Some(err.view());
                Err(err)
            }
        }
    }

    /// Starts hosting for `reach` at launch; when the network cannot be served, hosts for
    /// this computer instead, and the status says why.
    pub async fn start_at_launch(&self, reach: Reach) -> HostStatus {
        self.launch_on(reach, network_interface_address).await
    }

    async fn launch_on(
        &self,
        reach: Reach,
        detect: impl FnOnce() -> Result<Option<IpAddr>, AppError>,
    ) -> HostStatus {
        let Err(err) = self.start_on(reach, detect).await else {
            return self.status().await;
        };
        tracing::warn!(error = %err, ?reach, "embedded server did not start");
        if reach == Reach::Network {
            if let Err(err) = self.start(Reach::ThisComputer).await {
                tracing::warn!(error = %err, "embedded server did not start for this computer either");
            }
            // Say why the network was not served, though this computer is.
            self.lock().await.problem = Some(err.view());
        }
        self.status().await
    }

    /// Ends every hosted session (members are told the host's server shut down) and stops.
    pub async fn stop(&self) -> HostStatus {
        let mut inner = self.lock().await;
        if let Some(handle) = inner.handle.take() {
            handle.shutdown().await;
            tracing::info!("stopped hosting");
        }
        status_of(&inner)
    }
}

/// The environment variable naming the address to host on for the network, for a computer
/// on several networks where the default route's is not the one to share.
pub const ADDRESS_VAR: &str = "HUDDLE_HOST_ADDRESS";

/// This computer's address on its network: [`ADDRESS_VAR`] when set, else the address of
/// the interface the default route leaves by.
fn network_interface_address() -> Result<Option<IpAddr>, AppError> {
    match std::env::var(ADDRESS_VAR) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| AppError::HostNetwork(NetworkRefusal::BadAddressSetting(text))),
        Err(_) => Ok(default_route_ip()),
    }
}

/// The address to host on for the network, given the default route's address: refused when
/// there is none or it is loopback, and when it is public, since the embedded server has no
/// TLS and lets anyone in who knows a session's name.
fn network_address(detected: Option<IpAddr>) -> Result<IpAddr, AppError> {
    let ip = match detected {
        Some(ip) if !ip.is_loopback() && !ip.is_unspecified() => ip,
        _ => return Err(AppError::HostNetwork(NetworkRefusal::NoNetwork)),
    };
    if is_local_or_private(ip) || is_shared_address_space(ip) {
        Ok(ip)
    } else {
        Err(AppError::HostNetwork(NetworkRefusal::PublicAddress(ip)))
    }
}

/// 100.64.0.0/10: carrier-grade NAT and mesh VPNs, private in practice.
fn is_shared_address_space(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
}

/// Starts a server on `ip`, on the preferred port, else on a free one.
async fn serve(ip: IpAddr) -> Result<ServerHandle, AppError> {
    match Server::start(config(ip, PREFERRED_PORT)).await {
        Ok(handle) => Ok(handle),
        Err(first) => {
            tracing::info!(error = %first, port = PREFERRED_PORT, "preferred port unavailable; using a free one");
            Server::start(config(ip, 0))
                .await
                .map_err(|e| AppError::HostFailed(e.to_string()))
        }
    }
}

fn config(ip: IpAddr, port: u16) -> ServerConfig {
    let mut config = ServerConfig::open_loopback();
    // Media goes over a free UDP port on the same address, announced in its candidates.
    config.bind = SocketAddr::new(ip, port);
    // `network_address` already decided which addresses may be served without TLS.
    config.allow_plain = true;
    // One forwarding thread: a meeting hosted from a laptop is small (one worker forwarded
    // 50,000 packets/s, 4 sessions of 10, in docs/BENCHMARKS.md), and the other cores are the
    // call view's.
    config.media.workers = 1;
    config
}

fn status_of(inner: &Inner) -> HostStatus {
    let handle = inner.handle.as_ref();
    HostStatus {
        running: handle.is_some(),
        reach: inner.reach,
        ws_url: handle.map(ServerHandle::ws_url),
        address: handle.map(|h| h.local_addr().to_string()),
        http_url: handle.map(ServerHandle::http_url),
        problem: inner.problem.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The first line of the server's answer to its health endpoint at `address`.
    async fn health(address: &str) -> Result<String, Box<dyn std::error::Error>> {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
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
        Ok(reply.lines().next().unwrap_or_default().to_owned())
    }

    #[tokio::test]
    async fn starts_once_serves_health_and_stops() -> TestResult {
        let host = Host::default();
        assert!(!host.status().await.running);
        let first = host.start(Reach::ThisComputer).await?;
        let again = host.start(Reach::ThisComputer).await?;
        assert!(first.running);
        assert_eq!(first, again, "a second start reuses the running server");
        let address = first.address.clone().ok_or("no address while running")?;
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        // The embedded server answers its health endpoint like a standalone one.
        let status = health(&address).await?;
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "health answered: {status}"
        );
        assert!(!host.stop().await.running);
        assert!(
            tokio::net::TcpStream::connect(&address).await.is_err(),
            "the port is closed after stop"
        );
        Ok(())
    }

    #[test]
    fn only_private_network_addresses_are_served() {
        let ok = |text: &str| network_address(text.parse().ok());
        for private in ["192.168.1.20", "10.0.0.7", "172.16.4.1", "100.101.102.103"] {
            assert_eq!(ok(private).ok(), private.parse().ok(), "{private}");
        }
        for none in ["", "127.0.0.1", "0.0.0.0"] {
            let err = ok(none).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("not connected to a network"), "{none}: {err}");
        }
        for public in ["8.8.8.8", "192.0.2.2", "100.128.0.1"] {
            let err = ok(public).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("is public"), "{public}: {err}");
        }
    }

    /// A veth pair in this namespace with a private address on one end: a real network
    /// interface other than loopback, removed on drop.
    struct Veth {
        name: String,
        ip: IpAddr,
    }

    impl Veth {
        fn new() -> Result<Self, Box<dyn std::error::Error>> {
            let id = std::process::id();
            let name = format!("hh{}a", id % 100_000);
            let ip = IpAddr::V4(Ipv4Addr::new(10, 203, (id % 250 + 1) as u8, 1));
            let run = |args: &[&str]| -> Result<(), Box<dyn std::error::Error>> {
                let out = std::process::Command::new("ip").args(args).output()?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "`ip {}` failed (this test adds a network interface and needs root): {}",
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .into())
                }
            };
            let _ = run(&["link", "del", &name]);
            let peer = format!("hh{}b", id % 100_000);
            run(&["link", "add", &name, "type", "veth", "peer", "name", &peer])?;
            let veth = Veth { name, ip };
            run(&["addr", "add", &format!("{ip}/24"), "dev", &veth.name])?;
            run(&["link", "set", &veth.name, "up"])?;
            run(&["link", "set", &peer, "up"])?;
            Ok(veth)
        }
    }

    impl Drop for Veth {
        fn drop(&mut self) {
            // Deleting one end deletes the pair and its address.
            let _ = std::process::Command::new("ip")
                .args(["link", "del", &self.name])
                .output();
        }
    }

    #[tokio::test]
    async fn hosts_for_the_network_on_its_private_address_and_moves_back() -> TestResult {
        let veth = Veth::new()?;
        let host = Host::default();
        let lan = host.start_on(Reach::Network, || Ok(Some(veth.ip))).await?;
        assert_eq!(lan.reach, Reach::Network);
        let address = lan.address.clone().ok_or("no address while running")?;
        assert!(
            address.starts_with(&format!("{}:", veth.ip)),
            "hosting for the network listens on the interface's address: {address}"
        );
        assert!(
            lan.ws_url.as_deref().unwrap_or_default().contains(&address),
            "the app joins where others do: {lan:?}"
        );
        let status = health(&address).await?;
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "health answered: {status}"
        );

        // Back to this computer only: the network address is no longer served.
        let local = host.start(Reach::ThisComputer).await?;
        assert_eq!(local.reach, Reach::ThisComputer);
        let local_address = local.address.clone().ok_or("no address while running")?;
        assert!(local_address.starts_with("127.0.0.1:"), "{local_address}");
        assert!(
            tokio::net::TcpStream::connect(&address).await.is_err(),
            "{address} is closed once hosting is for this computer"
        );
        host.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn launch_falls_back_to_this_computer_and_says_why() -> TestResult {
        let host = Host::default();
        let refused = host.start_on(Reach::Network, || Ok(None)).await;
        assert!(refused.is_err(), "no network address: {refused:?}");
        assert!(
            !host.status().await.running,
            "a refused start leaves it stopped"
        );

        // A refused move to the network leaves the running server serving.
        let local = host.start(Reach::ThisComputer).await?;
        let refused = host.start_on(Reach::Network, || Ok(None)).await;
        assert!(refused.is_err(), "no network address: {refused:?}");
        let after = host.status().await;
        assert_eq!((after.running, after.address), (true, local.address));
        assert_eq!(after.reach, Reach::ThisComputer);
        host.stop().await;

        // At launch the fallback hosts for this computer, keeping the reason to show.
        let status = host.launch_on(Reach::Network, || Ok(None)).await;
        assert!(status.running);
        assert_eq!(status.reach, Reach::ThisComputer);
        let problem = status.problem.ok_or("the status keeps the reason")?;
        assert_eq!(problem.kind, crate::error::ErrorKind::HostingRefused);
        assert!(
            problem.message.contains("isn't connected to one"),
            "{problem:?}"
        );

        // A start that succeeds clears the problem.
        host.stop().await;
        let status = host.start(Reach::ThisComputer).await?;
        assert!(status.running);
        assert_eq!(status.problem, None);
        host.stop().await;
        Ok(())
    }
}
