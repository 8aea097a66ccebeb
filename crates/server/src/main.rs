//! `huddle-server`: runs the session server, or mints a join token with `token`.
//!
//! Settings come from built-in defaults, then a TOML file (`--config`), then `HUDDLE_*`
//! environment variables, then flags; later sources win. Each is declared once, in
//! `huddle_server::settings`. See `docs/server.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use huddle_proto::Role;
use huddle_server::duration::parse_duration;
use huddle_server::settings::{self, Settings, SettingsLayer};
use huddle_server::{mint_token, MintRequest, Server, ServerError};

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
    /// TOML configuration file [env: HUDDLE_CONFIG].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    // Every setting's flag, from the table in `huddle_server::settings`.
    #[command(flatten)]
    settings: SettingsLayer,
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
    let env = settings::process_environment();
    let config =
        Settings::load(args.config.as_deref(), &env, args.settings)?.into_server_config()?;
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
