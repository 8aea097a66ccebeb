//! The server's settings, each declared once in the [`settings!`] table below: its name (the
//! TOML key), type, default, flag, environment variable and help text. From that one row come
//! the field of [`Settings`], the key the configuration file accepts, the environment
//! variable read, the flag `huddle-server` parses with its `--help` line, and the row of the
//! table in `docs/server.md` (a test checks that the file matches, see [`markdown_table`]).
//!
//! Sources are layered, later ones winning: built-in defaults, the TOML file (`--config FILE`
//! or `HUDDLE_CONFIG`), environment variables, flags. Each source gives a [`SettingsLayer`]
//! (every setting optional); [`Settings::load`] lays them over the defaults and
//! [`Settings::into_server_config`] turns the result into the library's [`ServerConfig`].
//! The environment comes in as a map, so loading never reads the process's environment.

mod value;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Arg, ArgMatches, Command};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor};
use serde::Deserialize;

pub use value::{Form, Mode, Secret, Value};

use crate::config::{AuthMode, ServerConfig, TlsFiles};
use crate::error::ServerError;

/// The environment variable naming the configuration file (the `--config` flag wins).
pub const CONFIG_ENV: &str = "HUDDLE_CONFIG";

/// Environment variables by name, as [`Settings::load`] reads them.
pub type Environment = BTreeMap<String, OsString>;

/// This process's `HUDDLE_*` environment variables.
pub fn process_environment() -> Environment {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| name.starts_with("HUDDLE_"))
        .collect()
}

/// What the library would use, for defaults the settings share with it.
fn library() -> ServerConfig {
    ServerConfig::new(AuthMode::Open)
}

/// Declares every setting once. A row:
///
/// ```text
/// /// Help text (the `--help` line and the docs' meaning column).
/// key: Type = default [, unset "when not set"], flag "--flag" [<"VALUE">], env "HUDDLE_…";
/// ```
///
/// `key` is the field of [`Settings`] and the TOML key; `Type` is a [`Value`], which says how
/// the flag, the environment and the file spell it.
macro_rules! settings {
    ($(
        $(#[doc = $help:literal])+
        $key:ident: $ty:ty = $default:expr $(, unset $unset:literal)?,
            flag $flag:literal $(<$value_name:literal>)?, env $env:literal;
    )+) => {
        /// Every server setting, with its value from the layered sources.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct Settings {
            $($(#[doc = $help])+ pub $key: $ty,)+
        }

        impl Default for Settings {
            fn default() -> Self {
                Self { $($key: $default,)+ }
            }
        }

        /// The settings one source gives: `None` where it says nothing.
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct SettingsLayer {
            $($(#[doc = $help])+ pub $key: Option<$ty>,)+
        }

        /// Every TOML key, for the error about an unknown one.
        const KEYS: &[&str] = &[$(stringify!($key)),+];

        impl Settings {
            /// `self` with what `layer` sets laid over it.
            pub fn overlay(mut self, layer: SettingsLayer) -> Self {
                $(if let Some(value) = layer.$key {
                    self.$key = value;
                })+
                self
            }

            /// Every setting, in declaration order, with its names and shown default.
            pub fn describe() -> Vec<SettingInfo> {
                let defaults = Settings::default();
                vec![$(SettingInfo {
                    key: stringify!($key),
                    flag: $flag,
                    env: $env,
                    value_name: None $(.or(Some($value_name)))?,
                    help: join_doc(&[$($help),+]),
                    form: <$ty as Value>::FORM,
                    default: Value::show(&defaults.$key),
                    unset: None $(.or(Some($unset)))?,
                    configure_flag: <$ty as Value>::flag,
                },)+]
            }
        }

        impl SettingsLayer {
            /// `self` with what `other` sets laid over it.
            pub fn overlay(self, other: SettingsLayer) -> Self {
                SettingsLayer { $($key: other.$key.or(self.$key),)+ }
            }

            /// The settings the environment variables in `env` give.
            pub fn from_env(env: &Environment) -> Result<Self, ServerError> {
                let defaults = Settings::default();
                let mut layer = SettingsLayer::default();
                $(if let Some(raw) = env.get($env) {
                    layer.$key = Some(env_value(stringify!($key), $env, raw, &defaults.$key)?);
                })+
                Ok(layer)
            }

            /// The settings the flags in `matches` give (the flags [`SettingsLayer`]'s
            /// `clap::Args` adds).
            fn from_matches(matches: &ArgMatches) -> Self {
                let defaults = Settings::default();
                SettingsLayer {$(
                    $key: <$ty as Value>::from_flag(matches, stringify!($key))
                        .map(|value| value.switched(&defaults.$key)),
                )+}
            }
        }

        impl<'de> Deserialize<'de> for SettingsLayer {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Keys;
                impl<'de> Visitor<'de> for Keys {
                    type Value = SettingsLayer;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a table of settings")
                    }
                    fn visit_map<A>(self, mut map: A) -> Result<SettingsLayer, A::Error>
                    where
                        A: MapAccess<'de>,
                    {
                        let mut layer = SettingsLayer::default();
                        // `Key` refuses an unknown key while the parser still knows where it is.
                        while let Some(key) = map.next_key_seed(Key)? {
                            $(if key == stringify!($key) {
                                let seed = FileValue::<$ty>::new(stringify!($key));
                                layer.$key = Some(map.next_value_seed(seed)?);
                            })+
                        }
                        Ok(layer)
                    }
                }
                deserializer.deserialize_map(Keys)
            }
        }
    };
}

settings! {
    /// Admission: `jwt` (every join needs a token signed with the secret) or `open` (no
    /// token; the first to join a session is its host).
    mode: Mode = Mode::Jwt, flag "--mode" <"jwt|open">, env "HUDDLE_MODE";
    /// HS256 secret tokens are signed with; required in `jwt` mode.
    jwt_secret: Option<Secret> = None, flag "--jwt-secret" <"SECRET">, env "HUDDLE_JWT_SECRET";
    /// Address to listen on; port 0 picks a free port.
    bind: SocketAddr = library().bind, flag "--bind" <"IP:PORT">, env "HUDDLE_BIND";
    /// Certificate chain (PEM, leaf first) for HTTPS and WSS; needs `--tls-key`.
    tls_cert: Option<PathBuf> = None, flag "--tls-cert" <"FILE">, env "HUDDLE_TLS_CERT";
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) for HTTPS and WSS; needs `--tls-cert`.
    tls_key: Option<PathBuf> = None, flag "--tls-key" <"FILE">, env "HUDDLE_TLS_KEY";
    /// Serve plain HTTP even on an address that is not loopback or private.
    allow_plain: bool = library().allow_plain, flag "--allow-plain", env "HUDDLE_ALLOW_PLAIN";
    /// How long a dropped member may resume its place.
    reconnect_grace: Duration = library().reconnect_grace,
        flag "--reconnect-grace" <"DURATION">, env "HUDDLE_RECONNECT_GRACE";
    /// Most members one session holds (at most 5,000).
    capacity: usize = library().session_capacity,
        flag "--capacity" <"N">, env "HUDDLE_CAPACITY";
    /// Most members of one session who may publish; later participants join as audience.
    max_active: usize = library().max_active,
        flag "--max-active" <"N">, env "HUDDLE_MAX_ACTIVE";
    /// How long a host may be alone before the session ends (a join may ask for another).
    idle_timeout: Duration = library().idle_timeout,
        flag "--idle-timeout" <"DURATION">, env "HUDDLE_IDLE_TIMEOUT";
    /// How long a new connection may take to send `join`.
    join_timeout: Duration = library().join_timeout,
        flag "--join-timeout" <"DURATION">, env "HUDDLE_JOIN_TIMEOUT";
    /// Silence after which a connection is dropped.
    heartbeat_timeout: Duration = library().heartbeat_timeout,
        flag "--heartbeat-timeout" <"DURATION">, env "HUDDLE_HEARTBEAT_TIMEOUT";
    /// Sustained messages per second per connection.
    rate_per_second: u32 = library().rate_limit.per_second,
        flag "--rate-per-second" <"N">, env "HUDDLE_RATE_PER_SECOND";
    /// Messages a connection may send in a burst above the sustained rate.
    rate_burst: u32 = library().rate_limit.burst,
        flag "--rate-burst" <"N">, env "HUDDLE_RATE_BURST";
    /// Sustained in-meeting app requests per second per connection, counted apart from the
    /// other messages.
    app_rate_per_second: u32 = library().rate_limit.app_per_second,
        flag "--app-rate-per-second" <"N">, env "HUDDLE_APP_RATE_PER_SECOND";
    /// App requests a connection may send in a burst above the sustained rate.
    app_rate_burst: u32 = library().rate_limit.app_burst,
        flag "--app-rate-burst" <"N">, env "HUDDLE_APP_RATE_BURST";
    /// Messages queued towards one connection before it is dropped as too slow.
    outbox_capacity: usize = library().outbox_capacity,
        flag "--outbox-capacity" <"N">, env "HUDDLE_OUTBOX_CAPACITY";
    /// UDP port of the network-test echo; 0 picks a free one.
    udp_echo_port: Option<u16> = library().nettest.udp_port, unset "the HTTP port's number",
        flag "--udp-echo-port" <"PORT">, env "HUDDLE_UDP_ECHO_PORT";
    /// Secret shared with the TURN servers (coturn's `use-auth-secret` with
    /// `static-auth-secret`).
    turn_secret: Option<Secret> = None, flag "--turn-secret" <"SECRET">, env "HUDDLE_TURN_SECRET";
    /// TURN URLs handed to clients with short-lived credentials, e.g.
    /// `turn:turn.example.com:3478?transport=udp` or `turns:turn.example.com:5349`.
    turn_urls: Option<Vec<String>> = None, flag "--turn-url" <"URL">, env "HUDDLE_TURN_URLS";
    /// Lifetime of issued TURN credentials.
    turn_ttl: Duration = Duration::from_secs(60 * 60),
        flag "--turn-ttl" <"DURATION">, env "HUDDLE_TURN_TTL";
    /// Do not forward media: members meet, chat and see the roster only.
    media: bool = library().media.enabled, flag "--no-media", env "HUDDLE_NO_MEDIA";
    /// The one UDP port all media uses; 0 picks a free one (the embedded server does).
    media_udp_port: u16 = library().media.udp_port,
        flag "--media-udp-port" <"PORT">, env "HUDDLE_MEDIA_UDP_PORT";
    /// Addresses put in ICE candidates: the addresses clients reach (a public IP behind
    /// 1:1 NAT).
    media_announce: Vec<IpAddr> = library().media.announce,
        unset "the bind address, or when bound to every interface the default route's address \
               and loopback",
        flag "--media-announce" <"IP">, env "HUDDLE_MEDIA_ANNOUNCE";
    /// Loudest speakers forwarded to each member (1 to 8).
    audio_slots: u8 = library().media.audio_slots,
        flag "--audio-slots" <"N">, env "HUDDLE_AUDIO_SLOTS";
    /// Most videos forwarded to each member (1 to 25).
    video_slots: u8 = library().media.video_slots,
        flag "--video-slots" <"N">, env "HUDDLE_VIDEO_SLOTS";
    /// Most screen shares forwarded to each member at once (0 to 4; 0: screen share is not
    /// forwarded).
    share_slots: u8 = library().media.share_slots,
        flag "--share-slots" <"N">, env "HUDDLE_SHARE_SLOTS";
    /// Media forwarding threads (1 to 64); a session's media is on one of them.
    media_workers: Option<usize> = None, unset "one per core",
        flag "--media-workers" <"N">, env "HUDDLE_MEDIA_WORKERS";
    /// How the media workers share the UDP port: `reuse-port` (a socket each, Linux),
    /// `one-reader` (one socket, read by one worker), or `auto`.
    media_port_sharing: crate::sfu::PortSharing = library().media.port_sharing,
        flag "--media-port-sharing" <"HOW">, env "HUDDLE_MEDIA_PORT_SHARING";
    /// Send each burst of media datagrams with one system call per 64 (`sendmmsg`, Linux);
    /// the switch sends one at a time.
    media_send_batch: bool = library().media.send_batch,
        flag "--no-media-send-batch", env "HUDDLE_NO_MEDIA_SEND_BATCH";
    /// Time a client has to send a request's headers, counted from the connection (after
    /// TLS) or the end of the previous response; idle keep-alive connections close after it
    /// too.
    header_read_timeout: Duration = library().limits.header_read_timeout,
        flag "--header-read-timeout" <"DURATION">, env "HUDDLE_HEADER_READ_TIMEOUT";
    /// Most open sockets, at every stage.
    max_connections: usize = library().limits.max_connections,
        flag "--max-connections" <"N">, env "HUDDLE_MAX_CONNECTIONS";
    /// Most open sockets from one address.
    max_connections_per_ip: usize = library().limits.max_connections_per_ip,
        flag "--max-connections-per-ip" <"N">, env "HUDDLE_MAX_CONNECTIONS_PER_IP";
    /// Most sockets in their TLS handshake or an HTTP request, not yet a WebSocket.
    max_pending_upgrades: usize = library().limits.max_pending_upgrades,
        flag "--max-pending-upgrades" <"N">, env "HUDDLE_MAX_PENDING_UPGRADES";
    /// Most TLS handshakes in progress.
    max_tls_handshakes: usize = library().limits.max_tls_handshakes,
        flag "--max-tls-handshakes" <"N">, env "HUDDLE_MAX_TLS_HANDSHAKES";
    /// Most sessions at once in open mode (then `session_full`).
    max_open_rooms: usize = library().limits.max_open_rooms,
        flag "--max-open-rooms" <"N">, env "HUDDLE_MAX_OPEN_ROOMS";
    /// Largest frame read before `join`, in bytes (then `message_too_large`, close 1009).
    max_prejoin_frame_bytes: usize = library().limits.max_prejoin_frame_bytes,
        flag "--max-prejoin-frame-bytes" <"BYTES">, env "HUDDLE_MAX_PREJOIN_FRAME_BYTES";
    /// Do not count WebSocket ping and pong frames against the rate limit.
    rate_limit_control_frames: bool = library().limits.rate_limit_control_frames,
        flag "--no-rate-limit-control-frames", env "HUDDLE_NO_RATE_LIMIT_CONTROL_FRAMES";
}

/// One setting's names and help, from its row in the table.
#[derive(Debug, Clone)]
pub struct SettingInfo {
    /// Field of [`Settings`] and TOML key.
    pub key: &'static str,
    /// The flag, with its `--`.
    pub flag: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// What the flag's value is called in the help (none for a switch).
    pub value_name: Option<&'static str>,
    /// What the setting does.
    pub help: String,
    /// How the flag takes its value.
    pub form: Form,
    /// The default as flags spell it; `None` for an optional setting or an empty list.
    pub default: Option<String>,
    /// What happens when the setting is not set, where that needs saying.
    pub unset: Option<&'static str>,
    configure_flag: fn(Arg) -> Arg,
}

impl SettingInfo {
    /// How the environment variable and the file say what the flag says: `HUDDLE_X` and
    /// `x`, for a switch `HUDDLE_X=true` and `x = true` (or `false`, where the flag turns a
    /// default of true off).
    fn spelled(&self) -> (String, String) {
        match self.form {
            Form::Switch => {
                let value = !self.flag.starts_with("--no-");
                (
                    format!("{}=true", self.env),
                    format!("{} = {value}", self.key),
                )
            }
            Form::Value | Form::List => (self.env.to_owned(), self.key.to_owned()),
        }
    }

    /// The help line: what it does, its default, its environment variable and file key.
    pub fn help_line(&self) -> String {
        let (env, key) = self.spelled();
        let default = match (self.form, &self.default, self.unset) {
            (Form::Switch, _, _) | (_, None, None) => String::new(),
            (_, Some(default), _) => format!(" [default: {default}]"),
            (_, None, Some(unset)) => format!(" [default: {unset}]"),
        };
        let list = match self.form {
            Form::List => " Repeat the flag or separate with commas for several.",
            Form::Value | Form::Switch => "",
        };
        format!("{}{list}{default} [env: {env}] [file: {key}]", self.help)
    }

    /// The flag, for clap.
    fn arg(&self) -> Arg {
        let arg = Arg::new(self.key)
            .long(self.flag.trim_start_matches("--"))
            .help(self.help_line());
        let arg = match self.value_name {
            Some(name) => arg.value_name(name),
            None => arg,
        };
        (self.configure_flag)(arg)
    }
}

/// The doc lines of a row as one paragraph.
fn join_doc(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads setting `key` from environment variable `var`.
fn env_value<T: Value>(
    key: &'static str,
    var: &'static str,
    raw: &OsStr,
    default: &T,
) -> Result<T, ServerError> {
    raw.to_str()
        .ok_or_else(|| "the value is not valid UTF-8".to_owned())
        .and_then(T::parse)
        .map(|value| value.switched(default))
        .map_err(|message| ServerError::Setting {
            setting: key,
            origin: format!("environment variable {var}"),
            message,
        })
}

/// Reads a key of the file: one of [`KEYS`].
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let key = String::deserialize(deserializer)?;
        KEYS.iter()
            .copied()
            .find(|known| *known == key)
            .ok_or_else(|| D::Error::unknown_field(&key, KEYS))
    }
}

/// Reads the value of setting `key` from the file; errors name the key (the TOML parser
/// adds where in the file).
struct FileValue<T> {
    key: &'static str,
    value: PhantomData<T>,
}

impl<T> FileValue<T> {
    fn new(key: &'static str) -> Self {
        Self {
            key,
            value: PhantomData,
        }
    }
}

impl<'de, T: Value> DeserializeSeed<'de> for FileValue<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        T::from_toml(value).map_err(|e| D::Error::custom(format!("setting `{}`: {e}", self.key)))
    }
}

impl SettingsLayer {
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

    /// Parses configuration text. Unknown keys are refused, so a typo does not silently
    /// leave a default in place.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

/// The setting flags, for `#[command(flatten)]`.
impl clap::Args for SettingsLayer {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(Settings::describe().iter().map(SettingInfo::arg))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for SettingsLayer {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self::from_matches(matches))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = std::mem::take(self).overlay(Self::from_matches(matches));
        Ok(())
    }
}

impl Settings {
    /// The settings from every source: defaults, then the file (`config_file`, else the one
    /// `HUDDLE_CONFIG` in `env` names), then the environment variables in `env`, then
    /// `flags`.
    pub fn load(
        config_file: Option<&Path>,
        env: &Environment,
        flags: SettingsLayer,
    ) -> Result<Self, ServerError> {
        let from_env = env.get(CONFIG_ENV).map(PathBuf::from);
        let file = match config_file.or(from_env.as_deref()) {
            Some(path) => SettingsLayer::load(path)?,
            None => SettingsLayer::default(),
        };
        Self::layered(file, env, flags)
    }

    /// The defaults under `file`, the environment variables in `env` and `flags`.
    pub fn layered(
        file: SettingsLayer,
        env: &Environment,
        flags: SettingsLayer,
    ) -> Result<Self, ServerError> {
        let env = SettingsLayer::from_env(env)?;
        Ok(Settings::default()
            .overlay(file)
            .overlay(env)
            .overlay(flags))
    }

    /// Turns the settings into a checked [`ServerConfig`].
    pub fn into_server_config(self) -> Result<ServerConfig, ServerError> {
        // Every field by name: a setting added to the table and not used here does not
        // compile.
        let Settings {
            mode,
            jwt_secret,
            bind,
            tls_cert,
            tls_key,
            allow_plain,
            reconnect_grace,
            capacity,
            max_active,
            idle_timeout,
            join_timeout,
            heartbeat_timeout,
            rate_per_second,
            rate_burst,
            app_rate_per_second,
            app_rate_burst,
            outbox_capacity,
            udp_echo_port,
            turn_secret,
            turn_urls,
            turn_ttl,
            media,
            media_udp_port,
            media_announce,
            audio_slots,
            video_slots,
            share_slots,
            media_workers,
            media_port_sharing,
            media_send_batch,
            header_read_timeout,
            max_connections,
            max_connections_per_ip,
            max_pending_upgrades,
            max_tls_handshakes,
            max_open_rooms,
            max_prejoin_frame_bytes,
            rate_limit_control_frames,
        } = self;
        let auth = match mode {
            Mode::Jwt => AuthMode::Jwt {
                secret: jwt_secret.map(Secret::into_bytes).unwrap_or_default(),
            },
            Mode::Open => AuthMode::Open,
        };
        let mut config = ServerConfig::new(auth);
        config.bind = bind;
        config.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ServerError::Config(
                    "TLS needs both a certificate and a key file".to_owned(),
                ))
            }
        };
        config.allow_plain = allow_plain;
        config.reconnect_grace = reconnect_grace;
        config.session_capacity = capacity;
        config.max_active = max_active;
        config.idle_timeout = idle_timeout;
        config.join_timeout = join_timeout;
        config.heartbeat_timeout = heartbeat_timeout;
        config.rate_limit.per_second = rate_per_second;
        config.rate_limit.burst = rate_burst;
        config.rate_limit.app_per_second = app_rate_per_second;
        config.rate_limit.app_burst = app_rate_burst;
        config.outbox_capacity = outbox_capacity;
        config.limits = crate::config::ConnectionLimits {
            header_read_timeout,
            max_connections,
            max_connections_per_ip,
            max_pending_upgrades,
            max_tls_handshakes,
            max_open_rooms,
            max_prejoin_frame_bytes,
            rate_limit_control_frames,
        };
        config.nettest.udp_port = udp_echo_port;
        for (name, value, range) in [
            ("audio", audio_slots, 1..=8),
            ("video", video_slots, 1..=25),
            ("share", share_slots, 0..=4),
        ] {
            if !range.contains(&value) {
                return Err(ServerError::Config(format!(
                    "{name} slots must be {} to {} (got {value})",
                    range.start(),
                    range.end()
                )));
            }
        }
        let media_config = &mut config.media;
        media_config.enabled = media;
        media_config.udp_port = media_udp_port;
        media_config.announce = media_announce;
        media_config.audio_slots = audio_slots;
        media_config.video_slots = video_slots;
        media_config.share_slots = share_slots;
        media_config.workers = media_workers.unwrap_or(0);
        media_config.port_sharing = media_port_sharing;
        media_config.send_batch = media_send_batch;
        config.nettest.turn = match (turn_secret, turn_urls) {
            (Some(secret), Some(urls)) if !secret.0.is_empty() && !urls.is_empty() => {
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

/// The table of settings in `docs/server.md`, between [`DOCS_BEGIN`] and [`DOCS_END`].
pub fn markdown_table() -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut table = String::from(
        "| flag | environment | TOML key | default | meaning |\n|---|---|---|---|---|\n",
    );
    for info in Settings::describe() {
        let (env, key) = info.spelled();
        let flag = match info.value_name {
            Some(value) => format!("`{} {value}`", info.flag),
            None => format!("`{}`", info.flag),
        };
        let (flag, env, key) = match info.form {
            Form::List => (
                format!("{flag} (repeatable)"),
                format!("`{env}` (comma-separated)"),
                format!("`{key}` (list)"),
            ),
            Form::Value | Form::Switch => (flag, format!("`{env}`"), format!("`{key}`")),
        };
        let default = match (info.form, &info.default, info.unset) {
            (Form::Switch, _, _) => "off".to_owned(),
            (_, Some(default), _) => format!("`{default}`"),
            (_, None, Some(unset)) => unset.to_owned(),
            (_, None, None) => "—".to_owned(),
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&flag),
            cell(&env),
            cell(&key),
            cell(&default),
            cell(&info.help)
        ));
    }
    table
}

/// The line before the generated table in `docs/server.md`.
pub const DOCS_BEGIN: &str =
    "<!-- settings table: generated from crates/server/src/settings/mod.rs; \
     HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle-server settings_docs rewrites it -->";
/// The line after the generated table in `docs/server.md`.
pub const DOCS_END: &str = "<!-- end of settings table -->";

#[cfg(test)]
mod tests;
