//! `huddle-server`: runs the session server, or mints a join token with `token`.
//!
//! Settings come from a TOML file (`--config`), then `HUDDLE_*` environment variables, then
//! flags; later sources win. See `docs/server.md`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use huddle_proto::Role;
use huddle_server::duration::parse_duration;
use huddle_server::{mint_token, FileConfig, MintRequest, Server, ServerError};

/// Huddle session server.
#[derive(Debug, Parser)]
#[command(name = "huddle-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Print a signed join token.
    Token(TokenArgs),
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "HUDDLE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Admission mode: `jwt` (token required) or `open` (first joiner is host).
    #[arg(long, env = "HUDDLE_MODE", value_name = "jwt|open")]
    mode: Option<String>,
    /// HS256 secret for jwt mode.
    #[arg(
        long,
        env = "HUDDLE_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
    /// Address to listen on [default: 127.0.0.1:7880].
    #[arg(long, env = "HUDDLE_BIND", value_name = "IP:PORT")]
    bind: Option<String>,
    /// Certificate chain (PEM) for HTTPS/WSS.
    #[arg(long, env = "HUDDLE_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for HTTPS/WSS.
    #[arg(long, env = "HUDDLE_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP even on an address that is not loopback or private.
    #[arg(long, env = "HUDDLE_ALLOW_PLAIN")]
    allow_plain: bool,
    /// How long a dropped member may resume, e.g. `30s`.
    #[arg(long, env = "HUDDLE_RECONNECT_GRACE", value_name = "DURATION")]
    reconnect_grace: Option<String>,
    /// How long a new connection may take to send `join`, e.g. `10s`.
    #[arg(long, env = "HUDDLE_JOIN_TIMEOUT", value_name = "DURATION")]
    join_timeout: Option<String>,
    /// Silence after which a connection is dropped, e.g. `15s`.
    #[arg(long, env = "HUDDLE_HEARTBEAT_TIMEOUT", value_name = "DURATION")]
    heartbeat_timeout: Option<String>,
    /// Sustained messages per second per connection.
    #[arg(long, env = "HUDDLE_RATE_PER_SECOND", value_name = "N")]
    rate_per_second: Option<u32>,
    /// Message burst per connection.
    #[arg(long, env = "HUDDLE_RATE_BURST", value_name = "N")]
    rate_burst: Option<u32>,
    /// Messages queued towards one connection before it is dropped as too slow.
    #[arg(long, env = "HUDDLE_OUTBOX_CAPACITY", value_name = "N")]
    outbox_capacity: Option<usize>,
    /// UDP port of the network-test echo [default: the HTTP port's number].
    #[arg(long, env = "HUDDLE_UDP_ECHO_PORT", value_name = "PORT")]
    udp_echo_port: Option<u16>,
    /// Secret shared with the TURN servers (coturn's static-auth-secret).
    #[arg(
        long,
        env = "HUDDLE_TURN_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    turn_secret: Option<String>,
    /// TURN URL handed to clients; repeat the flag (or separate with commas) for several.
    #[arg(
        long = "turn-url",
        env = "HUDDLE_TURN_URLS",
        value_name = "URL",
        value_delimiter = ','
    )]
    turn_urls: Vec<String>,
    /// Lifetime of issued TURN credentials, e.g. `1h` [default: 1h].
    #[arg(long, env = "HUDDLE_TURN_TTL", value_name = "DURATION")]
    turn_ttl: Option<String>,
    /// Do not forward media (members meet, chat and see the roster only).
    #[arg(long, env = "HUDDLE_NO_MEDIA")]
    no_media: bool,
    /// UDP port for all media [default: 7882; 0 picks a free port].
    #[arg(long, env = "HUDDLE_MEDIA_UDP_PORT", value_name = "PORT")]
    media_udp_port: Option<u16>,
    /// Address to put in ICE candidates (public or LAN address clients reach); repeat or
    /// separate with commas [default: the bind address, or the default route's].
    #[arg(
        long = "media-announce",
        env = "HUDDLE_MEDIA_ANNOUNCE",
        value_name = "IP",
        value_delimiter = ','
    )]
    media_announce: Vec<IpAddr>,
    /// Loudest speakers forwarded to each member [default: 3].
    #[arg(long, env = "HUDDLE_AUDIO_SLOTS", value_name = "N")]
    audio_slots: Option<u8>,
    /// Most videos forwarded to each member [default: 9].
    #[arg(long, env = "HUDDLE_VIDEO_SLOTS", value_name = "N")]
    video_slots: Option<u8>,
    /// Most screen shares forwarded to each member at once; 0 turns screen share off
    /// [default: 2].
    #[arg(long, env = "HUDDLE_SHARE_SLOTS", value_name = "N")]
    share_slots: Option<u8>,
    /// Time a client has to send a request's headers (and an idle keep-alive connection
    /// stays open), e.g. `10s` [default: 10s].
    #[arg(long, env = "HUDDLE_HEADER_READ_TIMEOUT", value_name = "DURATION")]
    header_read_timeout: Option<String>,
    /// Most open connections [default: 20000].
    #[arg(long, env = "HUDDLE_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Most open connections from one IP address [default: 1000].
    #[arg(long, env = "HUDDLE_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    max_connections_per_ip: Option<usize>,
    /// Most connections not yet upgraded to a WebSocket [default: 1024].
    #[arg(long, env = "HUDDLE_MAX_PENDING_UPGRADES", value_name = "N")]
    max_pending_upgrades: Option<usize>,
    /// Most TLS handshakes in progress [default: 256].
    #[arg(long, env = "HUDDLE_MAX_TLS_HANDSHAKES", value_name = "N")]
    max_tls_handshakes: Option<usize>,
    /// Most sessions at once in open mode [default: 1000].
    #[arg(long, env = "HUDDLE_MAX_OPEN_ROOMS", value_name = "N")]
    max_open_rooms: Option<usize>,
    /// Largest frame accepted before `join`, in bytes [default: 16384].
    #[arg(long, env = "HUDDLE_MAX_PREJOIN_FRAME_BYTES", value_name = "BYTES")]
    max_prejoin_frame_bytes: Option<usize>,
    /// Do not count WebSocket ping and pong frames against the rate limit.
    #[arg(long, env = "HUDDLE_NO_RATE_LIMIT_CONTROL_FRAMES")]
    no_rate_limit_control_frames: bool,
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The server's HS256 secret.
    #[arg(long, env = "HUDDLE_JWT_SECRET", hide_env_values = true)]
    secret: String,
    /// Session name (`tpc`).
    #[arg(long)]
    session: String,
    /// `host` or `participant` (also `manager`, `audience`).
    #[arg(long, default_value = "participant")]
    role: String,
    /// Lifetime, e.g. `2h`, `30m`.
    #[arg(long, default_value = "2h")]
    ttl: String,
    /// `user_identity` claim.
    #[arg(long)]
    identity: Option<String>,
    /// `session_key` claim.
    #[arg(long)]
    session_key: Option<String>,
}

impl ServeArgs {
    fn into_file_config(self) -> FileConfig {
        FileConfig {
            mode: self.mode,
            jwt_secret: self.jwt_secret,
            bind: self.bind,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            allow_plain: self.allow_plain.then_some(true),
            reconnect_grace: self.reconnect_grace,
            join_timeout: self.join_timeout,
            heartbeat_timeout: self.heartbeat_timeout,
            rate_per_second: self.rate_per_second,
            rate_burst: self.rate_burst,
            outbox_capacity: self.outbox_capacity,
            udp_echo_port: self.udp_echo_port,
            turn_secret: self.turn_secret,
            turn_urls: (!self.turn_urls.is_empty()).then_some(self.turn_urls),
            turn_ttl: self.turn_ttl,
            media: self.no_media.then_some(false),
            media_udp_port: self.media_udp_port,
            media_announce: (!self.media_announce.is_empty()).then_some(self.media_announce),
            audio_slots: self.audio_slots,
            video_slots: self.video_slots,
            share_slots: self.share_slots,
            header_read_timeout: self.header_read_timeout,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            max_pending_upgrades: self.max_pending_upgrades,
            max_tls_handshakes: self.max_tls_handshakes,
            max_open_rooms: self.max_open_rooms,
            max_prejoin_frame_bytes: self.max_prejoin_frame_bytes,
            rate_limit_control_frames: self.no_rate_limit_control_frames.then_some(false),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(args)) => token(args),
        Some(Command::Serve(args)) => serve(*args),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("huddle-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn token(args: TokenArgs) -> Result<(), ServerError> {
    let role = parse_role(&args.role)?;
    let ttl = parse_duration(&args.ttl).map_err(ServerError::Config)?;
    let token = mint_token(
        args.secret.as_bytes(),
        &MintRequest {
            session: args.session,
            role,
            ttl,
            identity: args.identity,
            session_key: args.session_key,
            now_unix: huddle_server::auth::unix_now(),
        },
    )?;
    println!("{token}");
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, ServerError> {
    match text.to_ascii_lowercase().as_str() {
        "host" | "1" => Ok(Role::Host),
        "participant" | "0" => Ok(Role::Participant),
        "manager" | "2" => Ok(Role::Manager),
        "audience" | "3" => Ok(Role::Audience),
        other => Err(ServerError::Config(format!(
            "unknown role `{other}`: expected host or participant"
        ))),
    }
}

fn serve(args: ServeArgs) -> Result<(), ServerError> {
    init_logging();
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let config = file.overlay(args.into_file_config()).into_server_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stop = stop_signal();
        let handle = Server::start(config).await?;
        stop.await;
        handle.shutdown().await;
        Ok(())
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUDDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Standard error, as documented: standard output stays free for what a command prints
    // (the `token` command's token).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Listens for SIGTERM and SIGINT from now on and returns a future that ends at the first of
/// them. Called before the server starts: a signal that arrives once members are in but before
/// anyone listened would otherwise kill the process without telling them.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
    };
    async move {
        #[cfg(unix)]
        match signals {
            Ok((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("signal received");
    }
}
