//! Server configuration: everything the server needs to run, in one [`ServerConfig`].
//!
//! The library takes a finished `ServerConfig` (the desktop app builds one in code); the
//! binary builds it from [`crate::settings::Settings`], which layers defaults, a TOML file,
//! the environment and command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ServerError;
use huddle_proto::limits;

/// Default listening address: loopback only, so a server started without thought is not
/// reachable from the network.
pub const DEFAULT_BIND: &str = "127.0.0.1:7880";

/// How joiners are admitted.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMode {
    /// Every join needs an HS256 token signed with this secret.
    Jwt {
        /// Shared secret of the token issuer and this server.
        secret: Vec<u8>,
    },
    /// No token; the first joiner of a session becomes its host.
    Open,
}

impl std::fmt::Debug for AuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never print the secret, not even in debug logs.
            AuthMode::Jwt { .. } => f.write_str("Jwt { secret: <hidden> }"),
            AuthMode::Open => f.write_str("Open"),
        }
    }
}

/// PEM files for HTTPS/WSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Per-connection message limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained messages per second.
    pub per_second: u32,
    /// Messages allowed in a burst above the sustained rate.
    pub burst: u32,
    /// Rate-limited messages tolerated (refilled at `per_second`) before the connection is
    /// closed for flooding.
    pub flood_tolerance: u32,
    /// Sustained app requests (`app_*` actions) per second, counted apart from the rest.
    pub app_per_second: u32,
    /// App requests allowed in a burst above `app_per_second`.
    pub app_burst: u32,
}

/// Bounds on what clients may hold before they are members: sockets, handshakes, request
/// headers, first frames and (in open mode) rooms. A connection that would pass a bound on
/// sockets first displaces the oldest connection that has not joined yet, if there is one,
/// so a flood of idle sockets cannot lock members out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's headers, counted from the connection
    /// (after TLS) or from the end of the previous response; an idle keep-alive connection
    /// is closed after it too.
    pub header_read_timeout: Duration,
    /// Most open connections, at every stage (TLS handshake, HTTP, WebSocket).
    pub max_connections: usize,
    /// Most open connections from one IP address.
    pub max_connections_per_ip: usize,
    /// Most connections not yet upgraded to a WebSocket (in their TLS handshake or an HTTP
    /// request).
    pub max_pending_upgrades: usize,
    /// Most TLS handshakes in progress.
    pub max_tls_handshakes: usize,
    /// Most rooms at once in open mode, where anyone may create one.
    pub max_open_rooms: usize,
    /// Largest text frame accepted before `join`, in bytes.
    pub max_prejoin_frame_bytes: usize,
    /// Whether WebSocket ping and pong frames count against the rate limit.
    pub rate_limit_control_frames: bool,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 20_000,
            max_connections_per_ip: 1_000,
            max_pending_upgrades: 1_024,
            max_tls_handshakes: 256,
            max_open_rooms: 1_000,
            max_prejoin_frame_bytes: 16 * 1024,
            rate_limit_control_frames: true,
        }
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Token or open admission.
    pub auth: AuthMode,
    /// Serve HTTPS/WSS with these files; `None` serves plain HTTP/WS.
    pub tls: Option<TlsFiles>,
    /// Allow plain HTTP on an address reachable from public networks.
    pub allow_plain: bool,
    /// How long a dropped member stays `reconnecting` and may resume.
    pub reconnect_grace: Duration,
    /// Most members one session holds.
    pub session_capacity: usize,
    /// Most members of one session who may publish; later participants join as audience.
    pub max_active: usize,
    /// How long a host may be alone before the session ends, unless its join asked for
    /// another value.
    pub idle_timeout: Duration,
    /// How long a new connection may take to send `join`.
    pub join_timeout: Duration,
    /// Interval at which clients are told to ping.
    pub heartbeat_interval: Duration,
    /// Silence after which a connection is dropped.
    pub heartbeat_timeout: Duration,
    /// Largest text frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Per-connection rate limit.
    pub rate_limit: RateLimit,
    /// Messages queued towards one connection; a member whose queue fills falls behind: it
    /// is sent nothing until the queue drains to half, then its state afresh.
    pub outbox_capacity: usize,
    /// How long a member may stay behind, taking nothing from its full queue, before it is
    /// cut (close 1013; it may resume).
    pub behind_limit: Duration,
    /// Commands queued towards one room before senders wait.
    pub room_queue_capacity: usize,
    /// How long shutdown waits for connections to say goodbye.
    pub shutdown_grace: Duration,
    /// Network-test endpoints, UDP echo and TURN credentials.
    pub nettest: crate::nettest::NettestConfig,
    /// Media forwarding (UDP port, announced addresses, slots).
    pub media: crate::sfu::MediaConfig,
    /// Bounds on connections that are not members yet.
    pub limits: ConnectionLimits,
}

impl ServerConfig {
    /// A configuration with defaults for everything but the admission mode.
    pub fn new(auth: AuthMode) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7880)),
            auth,
            tls: None,
            allow_plain: false,
            reconnect_grace: limits::DEFAULT_RECONNECT_GRACE,
            session_capacity: limits::MAX_SESSION_MEMBERS,
            max_active: limits::DEFAULT_MAX_ACTIVE,
            idle_timeout: limits::DEFAULT_IDLE_TIMEOUT,
            join_timeout: limits::JOIN_TIMEOUT,
            heartbeat_interval: limits::HEARTBEAT_INTERVAL,
            heartbeat_timeout: limits::HEARTBEAT_TIMEOUT,
            max_frame_bytes: limits::MAX_FRAME_BYTES,
            rate_limit: RateLimit {
                per_second: limits::RATE_LIMIT_PER_SEC,
                burst: limits::RATE_LIMIT_BURST,
                flood_tolerance: 100,
                app_per_second: limits::APP_RATE_LIMIT_PER_SEC,
                app_burst: limits::APP_RATE_LIMIT_BURST,
            },
            outbox_capacity: 1024,
            behind_limit: Duration::from_secs(10),
            room_queue_capacity: 1024,
            shutdown_grace: Duration::from_secs(5),
            nettest: crate::nettest::NettestConfig::default(),
            media: crate::sfu::MediaConfig::default(),
            limits: ConnectionLimits::default(),
        }
    }

    /// An open-mode configuration listening on a free loopback port: what tests and the
    /// desktop app's embedded server start from.
    pub fn open_loopback() -> Self {
        let mut config = Self::new(AuthMode::Open);
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.media.udp_port = 0;
        config
    }

    /// Checks the combination of settings before anything is bound.
    pub fn validate(&self) -> Result<(), ServerError> {
        if let AuthMode::Jwt { secret } = &self.auth {
            if secret.is_empty() {
                return Err(ServerError::Config(
                    "jwt mode needs a non-empty secret (--jwt-secret or HUDDLE_JWT_SECRET)"
                        .to_owned(),
                ));
            }
        }
        if self.tls.is_none() && !self.allow_plain && !is_local_or_private(self.bind.ip()) {
            return Err(ServerError::Config(format!(
                "refusing to serve plain HTTP on {}, which may be reachable from public \
                 networks: give --tls-cert and --tls-key, or --allow-plain",
                self.bind.ip()
            )));
        }
        if self.session_capacity == 0 || self.session_capacity > limits::MAX_SESSION_MEMBERS {
            return Err(ServerError::Config(format!(
                "session capacity must be 1 to {} (got {})",
                limits::MAX_SESSION_MEMBERS,
                self.session_capacity
            )));
        }
        if self.max_active == 0 {
            return Err(ServerError::Config(
                "max active publishers must be at least 1 (everyone else joins as audience)"
                    .to_owned(),
            ));
        }
        let max_idle = Duration::from_secs(u64::from(limits::MAX_IDLE_TIMEOUT_MINS) * 60);
        if self.idle_timeout.is_zero() || self.idle_timeout > max_idle {
            return Err(ServerError::Config(format!(
                "idle timeout must be more than zero and at most {} minutes",
                limits::MAX_IDLE_TIMEOUT_MINS
            )));
        }
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err(ServerError::Config(
                "heartbeat timeout must be longer than the heartbeat interval".to_owned(),
            ));
        }
        if self.rate_limit.per_second == 0 || self.rate_limit.burst == 0 {
            return Err(ServerError::Config(
                "rate limit and burst must be at least 1".to_owned(),
            ));
        }
        if self.outbox_capacity == 0 || self.room_queue_capacity == 0 {
            return Err(ServerError::Config(
                "queue capacities must be at least 1".to_owned(),
            ));
        }
        if self.max_frame_bytes < 1024 {
            return Err(ServerError::Config(
                "max frame size must be at least 1024 bytes".to_owned(),
            ));
        }
        let limits = &self.limits;
        if !(1024..=self.max_frame_bytes).contains(&limits.max_prejoin_frame_bytes) {
            return Err(ServerError::Config(format!(
                "max pre-join frame size must be 1024 to {} bytes",
                self.max_frame_bytes
            )));
        }
        if limits.header_read_timeout.is_zero() {
            return Err(ServerError::Config(
                "header read timeout must be longer than zero".to_owned(),
            ));
        }
        for (name, value) in [
            ("max connections", limits.max_connections),
            ("max connections per IP", limits.max_connections_per_ip),
            ("max pending upgrades", limits.max_pending_upgrades),
            ("max TLS handshakes", limits.max_tls_handshakes),
            ("max open rooms", limits.max_open_rooms),
        ] {
            if value == 0 {
                return Err(ServerError::Config(format!("{name} must be at least 1")));
            }
        }
        Ok(())
    }
}

/// The address of the interface a default route leaves by, if there is one: where others on
/// this computer's network reach it. Found by "connecting" a UDP socket, which sends nothing.
pub fn default_route_ip() -> Option<IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // A documentation address: any routable one works, as nothing is sent.
    probe.connect("192.0.2.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// True for loopback, RFC 1918 / unique-local and link-local addresses: places where plain
/// HTTP is a reasonable choice. The unspecified address (0.0.0.0, ::) is not: it listens on
/// every interface, public ones included.
pub fn is_local_or_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_or_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                // fc00::/7 unique local
                || (first & 0xfe00) == 0xfc00
                // fe80::/10 link local
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.20.0.1",
            "::1",
            "fd00::1",
        ] {
            let ip: IpAddr = ok.parse().expect("literal address");
            assert!(is_local_or_private(ip), "{ok}");
        }
        for public in ["0.0.0.0", "8.8.8.8", "::", "2001:db8::1"] {
            let ip: IpAddr = public.parse().expect("literal address");
            assert!(!is_local_or_private(ip), "{public}");
        }
    }
}
