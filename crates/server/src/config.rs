//! Server configuration: one [`ServerConfig`] built from defaults, a TOML file, the
//! environment and command-line flags, in that order of increasing precedence.
//!
//! The library takes a finished `ServerConfig` (the desktop app builds one in code); the
//! binary builds it with [`FileConfig`] and the flags in `main.rs`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use huddle_proto::limits;
use serde::Deserialize;

use crate::duration::parse_duration;
use crate::error::ServerError;

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
#[derive(Debug, Clone)]
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
    /// Messages queued towards one connection before it counts as too slow and is dropped.
    pub outbox_capacity: usize,
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
            join_timeout: limits::JOIN_TIMEOUT,
            heartbeat_interval: limits::HEARTBEAT_INTERVAL,
            heartbeat_timeout: limits::HEARTBEAT_TIMEOUT,
            max_frame_bytes: limits::MAX_FRAME_BYTES,
            rate_limit: RateLimit {
                per_second: limits::RATE_LIMIT_PER_SEC,
                burst: limits::RATE_LIMIT_BURST,
                flood_tolerance: 100,
            },
            outbox_capacity: 1024,
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

/// The TOML configuration file. Every field is optional; unknown fields are refused so a
/// typo does not silently fall back to a default.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `jwt` or `open`.
    pub mode: Option<String>,
    /// HS256 secret for `jwt` mode.
    pub jwt_secret: Option<String>,
    /// Listening address, e.g. `0.0.0.0:7880`.
    pub bind: Option<String>,
    /// Certificate chain PEM file.
    pub tls_cert: Option<PathBuf>,
    /// Private key PEM file.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP even on public addresses.
    pub allow_plain: Option<bool>,
    /// Reconnect grace, e.g. `30s`.
    pub reconnect_grace: Option<String>,
    /// Join timeout, e.g. `10s`.
    pub join_timeout: Option<String>,
    /// Heartbeat timeout, e.g. `15s`.
    pub heartbeat_timeout: Option<String>,
    /// Sustained messages per second per connection.
    pub rate_per_second: Option<u32>,
    /// Burst of messages per connection.
    pub rate_burst: Option<u32>,
    /// Outbound queue length per connection.
    pub outbox_capacity: Option<usize>,
    /// UDP port of the network-test echo (default: the HTTP port's number; 0: any free port).
    pub udp_echo_port: Option<u16>,
    /// Secret shared with the TURN servers (coturn's `static-auth-secret`).
    pub turn_secret: Option<String>,
    /// TURN URLs handed to clients, e.g. `turn:turn.example.com:3478?transport=udp`.
    pub turn_urls: Option<Vec<String>>,
    /// Lifetime of issued TURN credentials, e.g. `1h`.
    pub turn_ttl: Option<String>,
    /// Forward media (default true).
    pub media: Option<bool>,
    /// UDP port for all media (default 7882; 0: any free port).
    pub media_udp_port: Option<u16>,
    /// Addresses put in ICE candidates (default: the bind address, or the default route's).
    pub media_announce: Option<Vec<IpAddr>>,
    /// Loudest speakers forwarded to each member (1–8).
    pub audio_slots: Option<u8>,
    /// Most videos forwarded to each member (1–25).
    pub video_slots: Option<u8>,
    /// Most screen shares forwarded to each member at once (0–4; 0 turns screen share off).
    pub share_slots: Option<u8>,
    /// Time a client has to send a request's headers, e.g. `10s`.
    pub header_read_timeout: Option<String>,
    /// Most open connections.
    pub max_connections: Option<usize>,
    /// Most open connections from one IP address.
    pub max_connections_per_ip: Option<usize>,
    /// Most connections not yet upgraded to a WebSocket.
    pub max_pending_upgrades: Option<usize>,
    /// Most TLS handshakes in progress.
    pub max_tls_handshakes: Option<usize>,
    /// Most rooms at once in open mode.
    pub max_open_rooms: Option<usize>,
    /// Largest frame before `join`, in bytes.
    pub max_prejoin_frame_bytes: Option<usize>,
    /// Count WebSocket ping and pong frames against the rate limit (default true).
    pub rate_limit_control_frames: Option<bool>,
}

impl FileConfig {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|source| ServerError::ConfigParse {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Overlays `other`'s set fields on this one (`other` wins).
    pub fn overlay(self, other: FileConfig) -> FileConfig {
        FileConfig {
            mode: other.mode.or(self.mode),
            jwt_secret: other.jwt_secret.or(self.jwt_secret),
            bind: other.bind.or(self.bind),
            tls_cert: other.tls_cert.or(self.tls_cert),
            tls_key: other.tls_key.or(self.tls_key),
            allow_plain: other.allow_plain.or(self.allow_plain),
            reconnect_grace: other.reconnect_grace.or(self.reconnect_grace),
            join_timeout: other.join_timeout.or(self.join_timeout),
            heartbeat_timeout: other.heartbeat_timeout.or(self.heartbeat_timeout),
            rate_per_second: other.rate_per_second.or(self.rate_per_second),
            rate_burst: other.rate_burst.or(self.rate_burst),
            outbox_capacity: other.outbox_capacity.or(self.outbox_capacity),
            udp_echo_port: other.udp_echo_port.or(self.udp_echo_port),
            turn_secret: other.turn_secret.or(self.turn_secret),
            turn_urls: other.turn_urls.or(self.turn_urls),
            turn_ttl: other.turn_ttl.or(self.turn_ttl),
            media: other.media.or(self.media),
            media_udp_port: other.media_udp_port.or(self.media_udp_port),
            media_announce: other.media_announce.or(self.media_announce),
            audio_slots: other.audio_slots.or(self.audio_slots),
            video_slots: other.video_slots.or(self.video_slots),
            share_slots: other.share_slots.or(self.share_slots),
            header_read_timeout: other.header_read_timeout.or(self.header_read_timeout),
            max_connections: other.max_connections.or(self.max_connections),
            max_connections_per_ip: other.max_connections_per_ip.or(self.max_connections_per_ip),
            max_pending_upgrades: other.max_pending_upgrades.or(self.max_pending_upgrades),
            max_tls_handshakes: other.max_tls_handshakes.or(self.max_tls_handshakes),
            max_open_rooms: other.max_open_rooms.or(self.max_open_rooms),
            max_prejoin_frame_bytes: other
                .max_prejoin_frame_bytes
                .or(self.max_prejoin_frame_bytes),
            rate_limit_control_frames: other
                .rate_limit_control_frames
                .or(self.rate_limit_control_frames),
        }
    }

    /// Turns the merged settings into a checked [`ServerConfig`].
    pub fn into_server_config(self) -> Result<ServerConfig, ServerError> {
        let mode = self.mode.as_deref().unwrap_or("jwt").to_ascii_lowercase();
        let auth = match mode.as_str() {
            "jwt" => AuthMode::Jwt {
                secret: self.jwt_secret.unwrap_or_default().into_bytes(),
            },
            "open" => AuthMode::Open,
            other => {
                return Err(ServerError::Config(format!(
                    "unknown mode `{other}`: expected `jwt` or `open`"
                )))
            }
        };
        let mut config = ServerConfig::new(auth);
        if let Some(bind) = self.bind {
            config.bind = bind.parse().map_err(|_| {
                ServerError::Config(format!("bind address `{bind}` is not IP:PORT"))
            })?;
        }
        config.tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ServerError::Config(
                    "TLS needs both a certificate and a key file".to_owned(),
                ))
            }
        };
        config.allow_plain = self.allow_plain.unwrap_or(false);
        let duration = |name: &str, text: Option<String>, default: Duration| match text {
            Some(text) => {
                parse_duration(&text).map_err(|e| ServerError::Config(format!("{name}: {e}")))
            }
            None => Ok(default),
        };
        config.reconnect_grace = duration(
            "reconnect_grace",
            self.reconnect_grace,
            config.reconnect_grace,
        )?;
        config.join_timeout = duration("join_timeout", self.join_timeout, config.join_timeout)?;
        config.heartbeat_timeout = duration(
            "heartbeat_timeout",
            self.heartbeat_timeout,
            config.heartbeat_timeout,
        )?;
        if let Some(rate) = self.rate_per_second {
            config.rate_limit.per_second = rate;
        }
        if let Some(burst) = self.rate_burst {
            config.rate_limit.burst = burst;
        }
        if let Some(capacity) = self.outbox_capacity {
            config.outbox_capacity = capacity;
        }
        let limits = &mut config.limits;
        limits.header_read_timeout = duration(
            "header_read_timeout",
            self.header_read_timeout,
            limits.header_read_timeout,
        )?;
        for (value, field) in [
            (self.max_connections, &mut limits.max_connections),
            (
                self.max_connections_per_ip,
                &mut limits.max_connections_per_ip,
            ),
            (self.max_pending_upgrades, &mut limits.max_pending_upgrades),
            (self.max_tls_handshakes, &mut limits.max_tls_handshakes),
            (self.max_open_rooms, &mut limits.max_open_rooms),
            (
                self.max_prejoin_frame_bytes,
                &mut limits.max_prejoin_frame_bytes,
            ),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(counted) = self.rate_limit_control_frames {
            limits.rate_limit_control_frames = counted;
        }
        if self.udp_echo_port.is_some() {
            config.nettest.udp_port = self.udp_echo_port;
        }
        if let Some(enabled) = self.media {
            config.media.enabled = enabled;
        }
        if let Some(port) = self.media_udp_port {
            config.media.udp_port = port;
        }
        if let Some(announce) = self.media_announce {
            config.media.announce = announce;
        }
        if let Some(n) = self.audio_slots {
            if !(1..=8).contains(&n) {
                return Err(ServerError::Config(format!(
                    "audio slots must be 1 to 8 (got {n})"
                )));
            }
            config.media.audio_slots = n;
        }
        if let Some(n) = self.video_slots {
            if !(1..=25).contains(&n) {
                return Err(ServerError::Config(format!(
                    "video slots must be 1 to 25 (got {n})"
                )));
            }
            config.media.video_slots = n;
        }
        if let Some(n) = self.share_slots {
            if n > 4 {
                return Err(ServerError::Config(format!(
                    "share slots must be 0 to 4 (got {n})"
                )));
            }
            config.media.share_slots = n;
        }
        let turn_ttl = duration("turn_ttl", self.turn_ttl, Duration::from_secs(3600))?;
        config.nettest.turn = match (self.turn_secret, self.turn_urls) {
            (Some(secret), Some(urls)) if !secret.is_empty() && !urls.is_empty() => {
                Some(crate::nettest::TurnConfig {
                    secret: secret.into_bytes(),
                    urls,
                    ttl: turn_ttl,
                })
            }
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ServerError::Config(
                    "TURN needs a non-empty secret and at least one URL".to_owned(),
                ))
            }
            _ => {
                return Err(ServerError::Config(
                    "TURN needs both a secret (turn_secret) and URLs (turn_urls)".to_owned(),
                ))
            }
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line, in an open-mode file, is refused with a message containing `says`.
    fn refused(lines: &[&str], says: &str) -> Result<(), Box<dyn std::error::Error>> {
        for bad in lines {
            let result =
                FileConfig::parse(&format!("mode = \"open\"\n{bad}\n"))?.into_server_config();
            assert!(
                matches!(&result, Err(ServerError::Config(m)) if m.contains(says)),
                "{bad}: {result:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn turn_settings_need_secret_and_urls() -> Result<(), Box<dyn std::error::Error>> {
        let both = FileConfig::parse(
            "mode = \"open\"\nturn_secret = \"s3cret\"\nturn_urls = [\"turn:127.0.0.1:3478?transport=udp\"]\nturn_ttl = \"10m\"\nudp_echo_port = 0\n",
        )?
        .into_server_config()?;
        let turn = both.nettest.turn.ok_or("TURN configured")?;
        assert_eq!(turn.secret, b"s3cret");
        assert_eq!(turn.urls, ["turn:127.0.0.1:3478?transport=udp"]);
        assert_eq!(turn.ttl, Duration::from_secs(600));
        assert_eq!(both.nettest.udp_port, Some(0));
        let secret_only = FileConfig {
            mode: Some("open".into()),
            turn_secret: Some("s3cret".into()),
            ..FileConfig::default()
        };
        assert!(matches!(
            secret_only.into_server_config(),
            Err(ServerError::Config(m)) if m.contains("both a secret")
        ));
        Ok(())
    }

    #[test]
    fn media_settings() -> Result<(), Box<dyn std::error::Error>> {
        let config = FileConfig::parse(
            "mode = \"open\"\nmedia_udp_port = 40000\nmedia_announce = [\"203.0.113.7\"]\naudio_slots = 2\nvideo_slots = 16\nshare_slots = 1\n",
        )?
        .into_server_config()?;
        assert!(config.media.enabled);
        assert_eq!(config.media.udp_port, 40000);
        assert_eq!(config.media.announce, [IpAddr::from([203, 0, 113, 7])]);
        assert_eq!(
            (
                config.media.audio_slots,
                config.media.video_slots,
                config.media.share_slots
            ),
            (2, 16, 1)
        );
        let off = FileConfig::parse("mode = \"open\"\nmedia = false\n")?.into_server_config()?;
        assert!(!off.media.enabled);
        refused(
            &[
                "audio_slots = 0",
                "audio_slots = 9",
                "video_slots = 0",
                "video_slots = 26",
                "share_slots = 5",
            ],
            "slots",
        )
    }

    #[test]
    fn connection_limits() -> Result<(), Box<dyn std::error::Error>> {
        let defaults = FileConfig::parse("mode = \"open\"\n")?.into_server_config()?;
        assert_eq!(defaults.limits, ConnectionLimits::default());
        let config = FileConfig::parse(
            "mode = \"open\"\nheader_read_timeout = \"3s\"\nmax_connections = 50\n\
             max_connections_per_ip = 5\nmax_pending_upgrades = 7\nmax_tls_handshakes = 3\n\
             max_open_rooms = 2\nmax_prejoin_frame_bytes = 2048\n\
             rate_limit_control_frames = false\n",
        )?
        .into_server_config()?;
        assert_eq!(
            config.limits,
            ConnectionLimits {
                header_read_timeout: Duration::from_secs(3),
                max_connections: 50,
                max_connections_per_ip: 5,
                max_pending_upgrades: 7,
                max_tls_handshakes: 3,
                max_open_rooms: 2,
                max_prejoin_frame_bytes: 2048,
                rate_limit_control_frames: false,
            }
        );
        refused(
            &["max_connections = 0", "max_connections_per_ip = 0"],
            "at least 1",
        )?;
        refused(
            &[
                "max_pending_upgrades = 0",
                "max_tls_handshakes = 0",
                "max_open_rooms = 0",
            ],
            "at least 1",
        )?;
        refused(
            &[
                "max_prejoin_frame_bytes = 100",
                "max_prejoin_frame_bytes = 100000",
            ],
            "pre-join",
        )?;
        refused(&["header_read_timeout = \"0s\""], "header read timeout")
    }

    #[test]
    fn file_then_overrides() -> Result<(), Box<dyn std::error::Error>> {
        let file = FileConfig::parse(
            "mode = \"open\"\nbind = \"127.0.0.1:9000\"\nreconnect_grace = \"45s\"\n",
        )?;
        let flags = FileConfig {
            bind: Some("127.0.0.1:9100".to_owned()),
            ..FileConfig::default()
        };
        let config = file.overlay(flags).into_server_config()?;
        assert_eq!(config.auth, AuthMode::Open);
        assert_eq!(config.bind.port(), 9100);
        assert_eq!(config.reconnect_grace, Duration::from_secs(45));
        Ok(())
    }

    #[test]
    fn refuses_bad_combinations() {
        let jwt_without_secret = FileConfig {
            mode: Some("jwt".to_owned()),
            ..FileConfig::default()
        };
        assert!(jwt_without_secret.into_server_config().is_err());

        let public_plain = FileConfig {
            mode: Some("open".to_owned()),
            bind: Some("0.0.0.0:7880".to_owned()),
            ..FileConfig::default()
        };
        assert!(public_plain.clone().into_server_config().is_err());
        let allowed = FileConfig {
            allow_plain: Some(true),
            ..public_plain
        };
        assert!(allowed.into_server_config().is_ok());

        assert!(FileConfig::parse("bnid = \"x\"").is_err());
    }

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
