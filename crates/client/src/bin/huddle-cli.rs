//! `huddle-cli`: Huddle from the command line. `huddle-cli nettest <server-url>` runs the
//! pre-join network test and prints its report (`--json` for machines). `huddle-cli join
//! <server> <session>` joins a session, prints roster changes, notices and chat as lines (or
//! JSON lines), sends each line of standard input as chat to everyone, and leaves on end of
//! input or Ctrl-C. `huddle-cli crowd <server> <session> --members N` holds N members that
//! only signal (no media) in one process, for trying a client or a server on a large session.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use huddle_client::nettest::{self, NettestOptions, Outcome, Progress, Report};
use huddle_client::tls::Trust;
use tokio_util::sync::CancellationToken;

/// Huddle command-line client.
#[derive(Debug, Parser)]
#[command(name = "huddle-cli", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test the network path to a server: round-trip time, jitter, loss, throughput, TURN.
    Nettest(NettestArgs),
    /// Join a session: print who is there and the chat; lines typed are sent as chat.
    Join(JoinArgs),
    /// List this computer's microphones, speakers and cameras (ids for `join`).
    Devices,
    /// Hold many members in one session, signaling only (no media), until standard input
    /// closes or a signal arrives; then every member leaves.
    Crowd(CrowdArgs),
}

#[derive(Debug, Args)]
struct CrowdArgs {
    /// Server: ws(s)://host:port/v1/ws, http(s)://host:port, or host:port.
    server: String,
    /// Session name.
    session: String,
    /// How many members join (1 to 5,000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(crowd::MAX_MEMBERS)))]
    members: u32,
    /// Names are this followed by a zero-padded number: "member 0001", "member 0002"...
    #[arg(long, default_value = "member")]
    name_prefix: String,
    /// Join token for every member (needed unless the server runs in open mode).
    #[arg(long)]
    token: Option<String>,
    /// The session's passcode.
    #[arg(long)]
    passcode: Option<String>,
    /// Most joins in progress at once (1 to 1,000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    concurrency: u32,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Trust only this CA certificate (PEM) instead of the system's, for self-hosted servers.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct JoinArgs {
    /// Server: ws(s)://host:port/v1/ws, http(s)://host:port, or host:port.
    server: String,
    /// Session name.
    session: String,
    /// Name shown to others.
    #[arg(long, default_value = "huddle-cli")]
    name: String,
    /// The session's passcode.
    #[arg(long)]
    passcode: Option<String>,
    /// Join token (needed unless the server runs in open mode).
    #[arg(long)]
    token: Option<String>,
    /// Join with the microphone muted.
    #[arg(long)]
    muted: bool,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Trust only this CA certificate (PEM) instead of the system's, for self-hosted servers.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Camera to publish: `synthetic` (moving pattern with a frame counter), `device` (this
    /// computer's default camera) or `none`.
    #[arg(long, default_value = "synthetic")]
    camera: MediaSource,
    /// Join with the camera off.
    #[arg(long)]
    camera_off: bool,
    /// Microphone to publish: `synthetic` (generated speech), `device` (this computer's
    /// microphone, with echo cancellation, noise suppression and gain, and its speaker playing
    /// everyone else) or `none`.
    #[arg(long, default_value = "synthetic")]
    microphone: MediaSource,
    /// With `--microphone device`: which microphone (an id from `huddle-cli devices`; default:
    /// the system's).
    #[arg(long, value_name = "ID")]
    microphone_id: Option<String>,
    /// With `--microphone device`: which speaker (default: the system's).
    #[arg(long, value_name = "ID")]
    speaker_id: Option<String>,
    /// Camera size, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    size: (u32, u32),
    /// Camera frame rate.
    #[arg(long, default_value_t = 15)]
    fps: u32,
    /// Seed of the synthetic speech (clients with different seeds sound different).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Volume of what is sent, in percent (0 to 200), applied just before the encoder.
    #[arg(long, default_value_t = 100, value_name = "PERCENT",
          value_parser = clap::value_parser!(u16).range(0..=200))]
    input_volume: u16,
    /// Input sensitivity: send silence while the level stays below this many dBFS (-100 to 0;
    /// default: no gate).
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i16).range(-100..=0))]
    input_gate: Option<i16>,
    /// Reach the media server only through TURN relays.
    #[arg(long)]
    relay_only: bool,
    /// Print media counters every this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    stats_every: u64,
    /// Receive others' video without decoding it: a publisher for load and benchmarks that
    /// costs its machine only the encoding.
    #[arg(long)]
    no_decode: bool,
    /// Share a synthetic screen (a moving pattern) once joined.
    #[arg(long)]
    share: bool,
    /// Size of the shared synthetic screen, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    share_size: (u32, u32),
}

/// Where a medium comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MediaSource {
    /// Generated test media.
    Synthetic,
    /// This computer's device.
    Device,
    /// Publish nothing.
    None,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {text:?}"))?;
    let w: u32 = w.parse().map_err(|_| format!("bad width in {text:?}"))?;
    let h: u32 = h.parse().map_err(|_| format!("bad height in {text:?}"))?;
    if !(16..=3840).contains(&w)
        || !(16..=2160).contains(&h)
        || !w.is_multiple_of(2)
        || !h.is_multiple_of(2)
    {
        return Err(format!(
            "{text}: width 16-3840 and height 16-2160, both even"
        ));
    }
    Ok((w, h))
}

#[derive(Debug, Args)]
struct NettestArgs {
    /// Server URL, e.g. https://meet.example.com or http://127.0.0.1:7880.
    server: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Overall time limit in seconds.
    #[arg(long, default_value_t = 8.0)]
    time_limit: f64,
    /// Trust only this CA certificate (PEM) instead of the system's, for self-hosted servers.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Join token, for a server in token mode (it tests networks only for token holders).
    #[arg(long)]
    token: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Diagnostics go to standard error, warnings by default; RUST_LOG selects more.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Nettest(args) => runtime.block_on(nettest_command(args)),
        Command::Join(args) => runtime.block_on(join::run(args)),
        Command::Devices => list_devices(),
        Command::Crowd(args) => runtime.block_on(crowd::run(args)),
    }
}

fn list_devices() -> ExitCode {
    use huddle_media::DeviceKind;
    let mut ok = true;
    for (title, kind) in [
        ("Microphones", DeviceKind::Microphone),
        ("Speakers", DeviceKind::Speaker),
    ] {
        println!("{title}:");
        match huddle_media::list_devices(kind) {
            Ok(devices) if devices.is_empty() => println!("  (none)"),
            Ok(devices) => {
                for d in devices {
                    let default = if d.is_default { " (default)" } else { "" };
                    println!("  {}  {}{default}", d.id, d.label);
                }
            }
            Err(e) => {
                ok = false;
                println!("  cannot list them: {e}");
            }
        }
    }
    println!("Cameras:");
    let cameras = huddle_media::CameraRegistry::new().list();
    if cameras.is_empty() {
        println!("  (none)");
    }
    for c in cameras {
        println!("  {}  {}", c.id, c.label);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn nettest_command(args: NettestArgs) -> ExitCode {
    let mut options = NettestOptions::new(args.server);
    options.token = args.token;
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit <= 600.0) {
        eprintln!("error: --time-limit must be between 0 and 600 seconds");
        return ExitCode::FAILURE;
    }
    options.time_limit = Duration::from_secs_f64(args.time_limit);
    if let Some(path) = args.ca_cert {
        match ca_trust(&path) {
            Ok(trust) => options.trust = trust,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    let show_progress = !args.json;
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if show_progress {
                if let Progress::Started { stage } = event {
                    eprintln!("testing {stage:?}...");
                }
            }
        }
    });
    let cancel = CancellationToken::new();
    let ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let result = nettest::run(&options, Some(tx), cancel).await;
    let _ = printer.await;
    match result {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", human(&report));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({ "error": e.to_string() }));
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `--ca-cert FILE`: trust only the certificates in the PEM file; the error names the file.
fn ca_trust(path: &std::path::Path) -> Result<Trust, String> {
    use rustls_pki_types::pem::PemObject as _;
    let read = || -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no certificate in the file".to_owned());
        }
        Ok(certs)
    };
    read()
        .map(Trust::Only)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn line<T>(label: &str, outcome: &Outcome<T>, show: impl Fn(&T) -> String) -> String {
    match (&outcome.value, &outcome.error) {
        (Some(v), _) => format!("  {label:<12} {}\n", show(v)),
        (None, Some(e)) => format!("  {label:<12} failed: {e}\n"),
        (None, None) => format!("  {label:<12} not measured\n"),
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "works",
        Some(false) => "fails",
        None => "not configured",
    }
}

fn human(r: &Report) -> String {
    let mut out = format!(
        "Network test against {}: {}\n",
        r.server,
        r.grade.to_string().to_uppercase()
    );
    out += &line("UDP echo", &r.udp, |u| {
        format!(
            "RTT {:.1} ms (min {:.1}, p95 {:.1}), jitter {:.1} ms, loss {:.1}% (up {:.1}%, down {:.1}%), {}/{} replies",
            u.rtt_ms, u.rtt_min_ms, u.rtt_p95_ms, u.jitter_ms, u.loss_pct, u.loss_up_pct, u.loss_down_pct, u.received, u.sent
        )
    });
    out += &line("WebSocket", &r.websocket, |w| {
        format!(
            "RTT {:.1} ms (min {:.1}) over {} echoes",
            w.rtt_ms, w.rtt_min_ms, w.samples
        )
    });
    let rate = |t: &nettest::Throughput| {
        format!(
            "{:.2} Mbit/s{}",
            t.kbps / 1000.0,
            if t.capped {
                " (at least: transfer hit the size cap)"
            } else {
                ""
            }
        )
    };
    out += &line("Download", &r.download, rate);
    out += &line("Upload", &r.upload, rate);
    out += &format!(
        "  {:<12} UDP {}, TCP {}, TURN/UDP {}, TURN/TCP {}, TURN/TLS {}\n",
        "Reachable",
        if r.reachability.udp { "works" } else { "fails" },
        if r.reachability.tcp { "works" } else { "fails" },
        yes_no(r.reachability.turn_udp),
        yes_no(r.reachability.turn_tcp),
        yes_no(r.reachability.turn_tls),
    );
    for check in &r.turn {
        match (&check.relayed, &check.error) {
            (Some(relay), _) => out += &format!("    {}: relay {relay}\n", check.url),
            (None, Some(e)) => out += &format!("    {}: {e}\n", check.url),
            (None, None) => {}
        }
    }
    for advice in &r.advice {
        out += &format!("  - {advice}\n");
    }
    out += &format!("  (took {:.1} s)\n", r.duration_ms / 1000.0);
    out
}

mod typed {
    //! What a line typed into `huddle-cli join` asks for: chat, or a `/command`.

    use huddle_proto::{AppId, ParticipantId, WaiterId};

    /// What an `/app` line asks of an in-meeting app's channel.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum AppCommand {
        Open(AppId),
        Close(AppId),
        Send(AppId, serde_json::Value),
        State(AppId, serde_json::Value),
        Invite(AppId, Option<ParticipantId>),
    }

    /// Whose metadata a `/meta` or `/unmeta` line changes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Whose {
        Room,
        Me,
        Member(ParticipantId),
    }

    /// One typed line.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum Typed {
        Chat(String),
        Meta {
            whose: Whose,
            key: String,
            value: serde_json::Value,
        },
        Unmeta {
            whose: Whose,
            key: String,
        },
        Share(bool),
        Hand(bool),
        Mute(ParticipantId),
        Remove(ParticipantId),
        Lock(bool),
        LockSharing(bool),
        /// Myself deaf or not.
        Deaf(bool),
        /// Someone else deaf or not.
        DeafenMember(ParticipantId, bool),
        WaitingRoom(bool),
        Admit(WaiterId),
        AdmitAll,
        Deny(WaiterId),
        Lobby,
        HandsFirst(bool),
        App(AppCommand),
        End,
        Help,
    }

    pub(super) const HELP: &str = "lines are chat to everyone (start one with // to send a \
        leading /); commands: /share on|off, /hand up|down, /mute ID, /remove ID, \
        /lock on|off, /lock-sharing on|off, /meta room|me|ID KEY=JSON, /unmeta room|me|ID KEY, \
        /deaf on|off, /deafen ID, /undeafen ID, /waiting-room on|off, /lobby, /admit ID, \
        /admit-all, /deny ID, /hands-first on|off, /app open|close APP, /app send|state APP JSON, \
        /app invite APP [ID], /end, /help";

    /// Parses a typed line; an error says what was wrong in words.
    pub(super) fn parse(line: &str) -> Result<Typed, String> {
        if let Some(text) = line.strip_prefix("//") {
            return Ok(Typed::Chat(format!("/{text}")));
        }
        let Some(command) = line.strip_prefix('/') else {
            return Ok(Typed::Chat(line.to_owned()));
        };
        // A JSON value may hold spaces, so these take the rest of the line as it is.
        if let Some(rest) = command.strip_prefix("meta ") {
            return parse_meta(rest);
        }
        if let Some(rest) = command.strip_prefix("unmeta ") {
            return parse_unmeta(rest);
        }
        if let Some(rest) = command.strip_prefix("app ") {
            return parse_app(rest).map(Typed::App);
        }
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or("");
        let arg = words.next();
        if words.next().is_some() {
            return Err(format!("/{name}: too many words ({HELP})"));
        }
        let switch = |on: &str, off: &str| match arg {
            Some(a) if a == on => Ok(true),
            Some(a) if a == off => Ok(false),
            _ => Err(format!("/{name} takes {on} or {off}")),
        };
        let id = || {
            arg.and_then(|a| a.parse().ok())
                .map(ParticipantId)
                .ok_or_else(|| format!("/{name} takes a member id (a number)"))
        };
        let none = |typed: Typed| match arg {
            None => Ok(typed),
            Some(_) => Err(format!("/{name} takes nothing more")),
        };
        match name {
            "share" => switch("on", "off").map(Typed::Share),
            "hand" => switch("up", "down").map(Typed::Hand),
            "mute" => id().map(Typed::Mute),
            "remove" => id().map(Typed::Remove),
            "lock" => switch("on", "off").map(Typed::Lock),
            "lock-sharing" => switch("on", "off").map(Typed::LockSharing),
            "deaf" => switch("on", "off").map(Typed::Deaf),
            "deafen" => id().map(|id| Typed::DeafenMember(id, true)),
            "undeafen" => id().map(|id| Typed::DeafenMember(id, false)),
            "waiting-room" => switch("on", "off").map(Typed::WaitingRoom),
            "admit" => id().map(|id| Typed::Admit(WaiterId(id.0))),
            "admit-all" => none(Typed::AdmitAll),
            "deny" => id().map(|id| Typed::Deny(WaiterId(id.0))),
            "lobby" => none(Typed::Lobby),
            "hands-first" => switch("on", "off").map(Typed::HandsFirst),
            "end" => none(Typed::End),
            "help" => none(Typed::Help),
            "meta" => Err("/meta takes room, me or a member id, then KEY=JSON".to_owned()),
            "unmeta" => Err("/unmeta takes room, me or a member id, then KEY".to_owned()),
            "app" => Err(APP_USAGE.to_owned()),
            other => Err(format!("unknown command /{other} ({HELP})")),
        }
    }

    fn whose(word: &str, command: &str) -> Result<Whose, String> {
        match word {
            "room" => Ok(Whose::Room),
            "me" => Ok(Whose::Me),
            id => id
                .parse()
                .map(|id| Whose::Member(ParticipantId(id)))
                .map_err(|_| format!("/{command} takes room, me or a member id, not {id:?}")),
        }
    }

    /// `/meta WHOSE KEY=JSON`.
    fn parse_meta(rest: &str) -> Result<Typed, String> {
        let (who, assignment) = rest
            .trim_start()
            .split_once(char::is_whitespace)
            .ok_or("/meta takes room, me or a member id, then KEY=JSON")?;
        let whose = whose(who, "meta")?;
        let (key, value) = assignment
            .trim()
            .split_once('=')
            .ok_or("/meta needs KEY=JSON, e.g. topic=\"Q3 review\"")?;
        let value = serde_json::from_str(value.trim()).map_err(|e| {
            format!(
                "/meta: the value of {key:?} is not JSON ({e}); text needs quotes: {key}=\"...\""
            )
        })?;
        Ok(Typed::Meta {
            whose,
            key: key.trim().to_owned(),
            value,
        })
    }

    const APP_USAGE: &str =
        "/app takes open|close APP, send|state APP JSON, or invite APP [MEMBER ID]";

    /// `/app open|close APP`, `/app send|state APP JSON`, `/app invite APP [ID]`.
    fn parse_app(rest: &str) -> Result<AppCommand, String> {
        let mut words = rest.trim_start().splitn(3, char::is_whitespace);
        let (Some(verb), Some(app)) = (words.next(), words.next()) else {
            return Err(APP_USAGE.to_owned());
        };
        let app = AppId::parse(app).map_err(|e| format!("/app: {e}"))?;
        let more = words.next().map(str::trim).filter(|m| !m.is_empty());
        let json = |more: Option<&str>| {
            let text =
                more.ok_or_else(|| format!("/app {verb} needs a JSON value after the app"))?;
            serde_json::from_str(text).map_err(|e| format!("/app {verb}: not JSON ({e})"))
        };
        match (verb, more) {
            ("open", None) => Ok(AppCommand::Open(app)),
            ("close", None) => Ok(AppCommand::Close(app)),
            ("send", more) => json(more).map(|v| AppCommand::Send(app, v)),
            ("state", more) => json(more).map(|v| AppCommand::State(app, v)),
            ("invite", None) => Ok(AppCommand::Invite(app, None)),
            ("invite", Some(id)) => id
                .parse()
                .map(|id| AppCommand::Invite(app, Some(ParticipantId(id))))
                .map_err(|_| format!("/app invite takes a member id, not {id:?}")),
            _ => Err(APP_USAGE.to_owned()),
        }
    }

    /// `/unmeta WHOSE KEY`.
    fn parse_unmeta(rest: &str) -> Result<Typed, String> {
        let mut words = rest.split_whitespace();
        let (Some(who), Some(key), None) = (words.next(), words.next(), words.next()) else {
            return Err("/unmeta takes room, me or a member id, then one KEY".to_owned());
        };
        Ok(Typed::Unmeta {
            whose: whose(who, "unmeta")?,
            key: key.to_owned(),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lines_are_chat_unless_they_are_commands() {
            assert_eq!(parse("hello"), Ok(Typed::Chat("hello".into())));
            assert_eq!(parse("//slash"), Ok(Typed::Chat("/slash".into())));
            assert_eq!(parse("/share on"), Ok(Typed::Share(true)));
            assert_eq!(parse("/share off"), Ok(Typed::Share(false)));
            assert_eq!(parse("/hand up"), Ok(Typed::Hand(true)));
            assert_eq!(parse("/mute 7"), Ok(Typed::Mute(ParticipantId(7))));
            assert_eq!(parse("/remove  12 "), Ok(Typed::Remove(ParticipantId(12))));
            assert_eq!(parse("/lock-sharing on"), Ok(Typed::LockSharing(true)));
            assert_eq!(parse("/lock off"), Ok(Typed::Lock(false)));
            assert_eq!(parse("/end"), Ok(Typed::End));
            assert_eq!(parse("/admit 4"), Ok(Typed::Admit(WaiterId(4))));
            assert_eq!(parse("/deny 5"), Ok(Typed::Deny(WaiterId(5))));
            assert_eq!(
                parse("/deafen 2"),
                Ok(Typed::DeafenMember(ParticipantId(2), true))
            );
            assert_eq!(parse("/deaf on"), Ok(Typed::Deaf(true)));
            assert_eq!(parse("/waiting-room off"), Ok(Typed::WaitingRoom(false)));
            assert_eq!(parse("/help"), Ok(Typed::Help));
        }

        #[test]
        fn meta_lines_take_a_json_value() {
            assert_eq!(
                parse("/meta room topic=\"Q3 review\""),
                Ok(Typed::Meta {
                    whose: Whose::Room,
                    key: "topic".into(),
                    value: serde_json::json!("Q3 review"),
                })
            );
            assert_eq!(
                parse("/meta me  status = {\"away\": true, \"until\": [10, 30]}"),
                Ok(Typed::Meta {
                    whose: Whose::Me,
                    key: "status".into(),
                    value: serde_json::json!({"away": true, "until": [10, 30]}),
                })
            );
            assert_eq!(
                parse("/meta 7 team=null"),
                Ok(Typed::Meta {
                    whose: Whose::Member(ParticipantId(7)),
                    key: "team".into(),
                    value: serde_json::Value::Null,
                })
            );
            assert_eq!(
                parse("/unmeta room topic"),
                Ok(Typed::Unmeta {
                    whose: Whose::Room,
                    key: "topic".into(),
                })
            );
        }

        #[test]
        fn bad_meta_lines_say_why() {
            for (line, says) in [
                ("/meta", "room, me or a member id"),
                ("/meta room", "room, me or a member id"),
                ("/meta room topic", "KEY=JSON"),
                ("/meta room topic=Q3 review", "not JSON"),
                ("/meta room topic=", "not JSON"),
                ("/meta ann topic=1", "not \"ann\""),
                ("/unmeta room", "one KEY"),
                ("/unmeta room a b", "one KEY"),
                ("/unmeta -1 a", "member id"),
            ] {
                let err = parse(line).expect_err(line);
                assert!(err.contains(says), "{line}: {err}");
            }
        }

        #[test]
        fn app_lines_name_the_app_and_carry_json() -> Result<(), String> {
            let board = AppId::parse("whiteboard").map_err(|e| e.to_string())?;
            assert_eq!(
                parse("/app open whiteboard")?,
                Typed::App(AppCommand::Open(board.clone()))
            );
            assert_eq!(
                parse(r#"/app send whiteboard {"t": "clear"}"#)?,
                Typed::App(AppCommand::Send(
                    board.clone(),
                    serde_json::json!({"t": "clear"})
                ))
            );
            assert_eq!(
                parse("/app invite whiteboard 4")?,
                Typed::App(AppCommand::Invite(board, Some(ParticipantId(4))))
            );
            for bad in [
                "/app",
                "/app open",
                "/app open Bad/Id",
                "/app send whiteboard",
                "/app send whiteboard {nope",
                "/app invite whiteboard bo",
                "/app dance whiteboard",
                "/app open whiteboard extra",
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
            Ok(())
        }

        #[test]
        fn bad_commands_say_why() {
            for (line, says) in [
                ("/share", "on or off"),
                ("/share maybe", "on or off"),
                ("/mute", "member id"),
                ("/mute ann", "member id"),
                ("/mute -1", "member id"),
                ("/end now", "nothing more"),
                ("/remove 1 2", "too many"),
                ("/dance", "unknown command"),
                ("/", "unknown command"),
                ("/admit", "member id"),
                ("/admit-all now", "nothing more"),
                ("/deaf maybe", "on or off"),
                ("/waiting-room", "on or off"),
            ] {
                let err = parse(line).expect_err(line);
                assert!(err.contains(says), "{line}: {err}");
            }
        }
    }
}

mod crowd {
    //! The `crowd` command: many signaling-only members of one session in one process. The
    //! first member joins alone, so that a wrong address, token or session is reported once;
    //! the rest join at most `--concurrency` at a time. Each member's events are read and
    //! dropped (its state is kept by the client), and a member whose connection is lost for
    //! good is counted. Standard input closing, Ctrl-C or SIGTERM makes every member leave.

    use std::process::ExitCode;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    use futures_util::StreamExt as _;
    use huddle_client::session::{
        self, CloseReason, ConnectionStatus, JoinOptions, Session, SessionEvent,
    };
    use serde_json::json;
    use tokio::io::AsyncReadExt as _;

    use super::{ca_trust, CrowdArgs};

    /// The most members one crowd holds: a session's largest capacity.
    pub(super) const MAX_MEMBERS: u32 = huddle_proto::limits::MAX_SESSION_MEMBERS as u32;

    /// "member 0001": numbered from 1, at least four digits.
    pub(super) fn member_name(prefix: &str, number: u32, total: u32) -> String {
        let width = total.to_string().len().max(4);
        format!("{prefix} {number:0width$}")
    }

    pub(super) async fn run(args: CrowdArgs) -> ExitCode {
        let json = args.json;
        let fail = |message: String| {
            if json {
                println!("{}", json!({ "type": "error", "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        };
        let mut base = JoinOptions::new(args.server, args.session, String::new());
        base.token = args.token;
        base.passcode = args.passcode;
        base.audio_muted = true;
        base.video_on = false;
        // Nobody reads a crowd member's events but to drop them.
        base.event_capacity = 16;
        if let Some(path) = &args.ca_cert {
            match ca_trust(path) {
                Ok(trust) => base.trust = trust,
                Err(e) => return fail(e),
            }
        }
        let total = args.members;
        let options = |number: u32| {
            let mut options = base.clone();
            options.display_name = member_name(&args.name_prefix, number, total);
            options
        };
        let lost = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut members: Vec<Session> = Vec::with_capacity(total as usize);
        let mut failed = 0u32;
        let mut stop = std::pin::pin!(stop_signal());

        match session::join(options(1)).await {
            Ok((member, events)) => {
                watch_member(events, Arc::clone(&lost));
                members.push(member);
            }
            Err(e) => return fail(format!("the first member could not join: {e}")),
        }
        let mut first_error: Option<String> = None;
        let mut joins = futures_util::stream::iter(2..=total)
            .map(|number| session::join(options(number)))
            .buffer_unordered(args.concurrency.max(1) as usize);
        let mut stopped = false;
        loop {
            tokio::select! {
                joined = joins.next() => match joined {
                    Some(Ok((member, events))) => {
                        watch_member(events, Arc::clone(&lost));
                        members.push(member);
                    }
                    Some(Err(e)) => {
                        failed += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                    None => break,
                },
                () = &mut stop => {
                    stopped = true;
                    break;
                }
            }
        }
        drop(joins);
        let seconds = started.elapsed().as_secs_f64();
        if let Some(e) = &first_error {
            eprintln!("warning: {failed} members could not join; the first: {e}");
        }
        if stopped {
            failed = total - u32::try_from(members.len()).unwrap_or(total);
        }
        if json {
            println!(
                "{}",
                json!({ "type": "crowd", "joined": members.len(), "failed": failed, "seconds": round2(seconds) })
            );
        } else {
            println!(
                "* {} members joined in {seconds:.2} s ({failed} failed)",
                members.len()
            );
        }
        if !stopped {
            stop.await;
        }

        let leaving = Instant::now();
        let mut leave_errors = 0u64;
        let mut leaves = futures_util::stream::iter(members.iter().map(Session::leave))
            .buffer_unordered(args.concurrency.max(1) as usize);
        while let Some(result) = leaves.next().await {
            if result.is_err() {
                leave_errors += 1;
            }
        }
        let left = members.len() as u64 - leave_errors;
        let lost = lost.load(Ordering::Relaxed);
        let seconds = leaving.elapsed().as_secs_f64();
        if json {
            println!(
                "{}",
                json!({ "type": "crowd_left", "left": left, "lost": lost, "seconds": round2(seconds) })
            );
        } else {
            println!("* {left} members left in {seconds:.2} s ({lost} lost their connection)");
        }
        if failed == 0 && lost == 0 && leave_errors == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn round2(seconds: f64) -> f64 {
        (seconds * 100.0).round() / 100.0
    }

    /// Reads a member's events until its connection closes, counting a close that was not
    /// asked for.
    fn watch_member(mut events: session::SessionEvents, lost: Arc<AtomicU64>) {
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let SessionEvent::Connection(ConnectionStatus::Closed { reason }) = event {
                    if matches!(
                        reason,
                        CloseReason::ConnectionLost { .. } | CloseReason::ResumeRefused { .. }
                    ) {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
            }
        });
    }

    /// Resolves when standard input ends, or on Ctrl-C or SIGTERM.
    async fn stop_signal() {
        let stdin_closed = async {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 1024];
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        };
        #[cfg(unix)]
        let terminate = async {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = stdin_closed => {}
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }

    #[cfg(test)]
    mod tests {
        use super::member_name;

        #[test]
        fn names_are_numbered_from_one_and_zero_padded() {
            assert_eq!(member_name("member", 1, 300), "member 0001");
            assert_eq!(member_name("member", 300, 300), "member 0300");
            assert_eq!(member_name("guest", 5000, 5000), "guest 5000");
        }
    }
}

mod join {
    //! The `join` command: a text front end to a call, publishing synthetic media.

    use std::collections::HashMap;
    use std::process::ExitCode;
    use std::time::Duration;

    use huddle_client::call::{
        self, AudioDevices, AudioInput, CallEvent, CallOptions, MediaState, ScreenInput, VideoInput,
    };
    use huddle_client::session::MetadataChanged;
    use huddle_client::session::{
        AppEvent, CallState, CloseReason, ConnectionStatus, JoinOptions, Notice, SessionEvent,
    };
    use huddle_client::ClientError;
    use huddle_media::camera::{CameraRegistry, CaptureFormat, SyntheticFault};
    use huddle_proto::{Action, ChatMessage, LeaveReason, MemberUpdate, Metadata, ServerEvent};
    use serde_json::json;
    use tokio::io::AsyncBufReadExt as _;

    use super::typed::{self, AppCommand, Typed, Whose};
    use super::{ca_trust, JoinArgs, MediaSource};

    pub(super) async fn run(args: JoinArgs) -> ExitCode {
        let json = args.json;
        let mut options = JoinOptions::new(args.server, args.session, args.name);
        options.passcode = args.passcode;
        options.token = args.token;
        options.audio_muted = args.muted;
        options.video_on = args.camera != MediaSource::None && !args.camera_off;
        if let Some(path) = args.ca_cert {
            match ca_trust(&path) {
                Ok(trust) => options.trust = trust,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let (waiting_tx, mut waiting_rx) = tokio::sync::mpsc::unbounded_channel();
        options.on_waiting = Some(waiting_tx);
        // Said while the join waits in a lobby; the task ends with the join.
        tokio::spawn(async move {
            while let Some(notice) = waiting_rx.recv().await {
                if json {
                    println!(
                        "{}",
                        json!({ "type": "waiting", "waiter": notice.waiter, "session": notice.session_name })
                    );
                } else {
                    println!(
                        "waiting for the host to let you into {}",
                        notice.session_name
                    );
                }
            }
        });
        let mut call_options = CallOptions::new(options);
        call_options.relay_only = args.relay_only;
        call_options.decode_video = !args.no_decode;
        call_options.audio = match args.microphone {
            MediaSource::Synthetic => AudioInput::Synthetic { seed: args.seed },
            MediaSource::Device => AudioInput::Devices(AudioDevices {
                microphone: args.microphone_id,
                speaker: args.speaker_id,
                ..AudioDevices::default()
            }),
            MediaSource::None => AudioInput::None,
        };
        let format = CaptureFormat {
            width: args.size.0,
            height: args.size.1,
            fps: args.fps,
        };
        match args.camera {
            MediaSource::Synthetic => {
                let registry = CameraRegistry::synthetic_only();
                let camera = registry.add_synthetic("Test pattern", SyntheticFault::None);
                call_options.video = VideoInput::Camera {
                    registry,
                    id: Some(camera.info().id.clone()),
                    format,
                };
            }
            MediaSource::Device => {
                call_options.video = VideoInput::Camera {
                    registry: CameraRegistry::new(),
                    id: None,
                    format,
                };
            }
            MediaSource::None => {}
        }
        call_options.screen = Some(ScreenInput::synthetic(CaptureFormat {
            width: args.share_size.0,
            height: args.share_size.1,
            fps: 5,
        }));
        let (call, mut events) = match call::join(call_options).await {
            Ok(joined) => joined,
            Err(e) => {
                if json {
                    println!("{}", json!({ "type": "error", "error": e.to_string() }));
                } else {
                    eprintln!("error: {e}");
                }
                return ExitCode::FAILURE;
            }
        };
        call.set_input_volume(f32::from(args.input_volume) / 100.0);
        call.set_input_gate(args.input_gate.map(f32::from));
        let session = call.session().clone();
        let state = session.state();
        let mut frames: HashMap<u64, u64> = HashMap::new();
        let mut screen_frames: HashMap<u64, u64> = HashMap::new();
        if args.share {
            if let Err(e) = call.set_sharing(true, None).await {
                report_error(json, &e.to_string());
            }
        }
        let stats_every = Duration::from_secs(args.stats_every.max(1));
        let mut stats_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + stats_every, stats_every);
        if json {
            println!("{}", json!({ "type": "welcome", "state": state }));
        } else {
            print!("{}", describe_welcome(&state));
        }
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                line = lines.next_line(), if stdin_open => match line {
                    Ok(Some(text)) if text.trim().is_empty() => {}
                    Ok(Some(text)) => match typed::parse(&text) {
                        Ok(Typed::Help) => report_help(json),
                        Ok(Typed::Lobby) => report_lobby(json, &session.state()),
                        Ok(command) => {
                            if let Err(e) = run_typed(&call, command).await {
                                report_error(json, &e.to_string());
                            }
                        }
                        Err(why) => report_error(json, &why),
                    },
                    Ok(None) | Err(_) => {
                        stdin_open = false;
                        if let Err(e) = session.leave().await {
                            report_error(json, &e.to_string());
                        }
                    }
                },
                _ = &mut ctrl_c => {
                    if let Err(e) = call.leave().await {
                        report_error(json, &e.to_string());
                    }
                }
                _ = stats_tick.tick(), if args.stats_every > 0 => {
                    let stats = call.stats();
                    if json {
                        println!("{}", json!({
                            "type": "media_stats",
                            "audio_packets_sent": stats.audio_packets_sent,
                            "video_frames_sent": stats.video_frames_sent,
                            "screen_frames_sent": stats.screen_frames_sent,
                            "video_frames_decoded": stats.video_frames_decoded,
                            "video_frames_lost": stats.video_frames_lost,
                            "decode_errors": stats.decode_errors,
                            "bandwidth_estimate_bps": stats.bandwidth_estimate_bps,
                            "frames_by_participant": frames,
                            "screen_frames_by_participant": screen_frames,
                        }));
                    } else {
                        println!(
                            "media: sent {} audio packets, {} video frames; decoded {} frames ({} lost); estimate {:.0} kbit/s",
                            stats.audio_packets_sent,
                            stats.video_frames_sent,
                            stats.video_frames_decoded,
                            stats.video_frames_lost,
                            stats.bandwidth_estimate_bps / 1000.0
                        );
                    }
                }
                event = events.recv() => match event {
                    Some(CallEvent::Video(video)) => {
                        if let Some(who) = video.participant {
                            let counts = if video.screen { &mut screen_frames } else { &mut frames };
                            *counts.entry(who.0).or_default() += 1;
                        }
                    }
                    Some(CallEvent::Audio(_)) => {}
                    Some(CallEvent::Media(state)) => {
                        if json {
                            println!("{}", json!({ "type": "media", "state": format!("{state:?}") }));
                        } else {
                            println!("media: {}", describe_media(&state));
                        }
                    }
                    Some(CallEvent::Slots { audio, video, share }) => {
                        if json {
                            println!("{}", json!({ "type": "slots", "audio": audio, "video": video, "share": share }));
                        }
                    }
                    Some(CallEvent::Session(event)) => {
                        if let Some(text) = render(json, &state, &event) {
                            println!("{text}");
                        }
                        if let SessionEvent::Connection(ConnectionStatus::Closed { reason }) = event {
                            return match reason {
                                CloseReason::ConnectionLost { .. } | CloseReason::ResumeRefused { .. } => {
                                    ExitCode::FAILURE
                                }
                                _ => ExitCode::SUCCESS,
                            };
                        }
                    }
                    None => return ExitCode::SUCCESS,
                },
            }
        }
    }

    /// Carries out a typed line (chat or a command).
    async fn run_typed(call: &call::Call, command: Typed) -> Result<(), ClientError> {
        let session = call.session();
        match command {
            Typed::Chat(text) => session.chat(text).await,
            Typed::Share(on) => call.set_sharing(on, None).await,
            Typed::Hand(true) => session.raise_hand().await,
            Typed::Hand(false) => session.lower_hand(None).await,
            Typed::Mute(who) => session.mute(who).await,
            Typed::Remove(who) => session.remove(who).await,
            Typed::Lock(on) => session.lock_session(on).await,
            Typed::LockSharing(on) => session.request(Action::LockSharing { locked: on }).await,
            Typed::Meta { whose, key, value } => {
                let set = Metadata::from_iter([(key, value)]);
                match whose {
                    Whose::Room => session.set_room_metadata(set).await,
                    Whose::Me => session.set_member_metadata(None, set).await,
                    Whose::Member(id) => session.set_member_metadata(Some(id), set).await,
                }
            }
            Typed::Unmeta { whose, key } => match whose {
                Whose::Room => session.delete_room_metadata(vec![key]).await,
                Whose::Me => session.delete_member_metadata(None, vec![key]).await,
                Whose::Member(id) => session.delete_member_metadata(Some(id), vec![key]).await,
            },
            Typed::Deaf(deaf) => session.set_deaf(None, deaf).await,
            Typed::DeafenMember(who, deaf) => session.set_deaf(Some(who), deaf).await,
            Typed::WaitingRoom(on) => session.set_waiting_room(on).await,
            Typed::Admit(waiter) => session.admit(waiter).await,
            Typed::AdmitAll => session.admit_all().await,
            Typed::Deny(waiter) => session.deny(waiter).await,
            Typed::HandsFirst(on) => session.set_hands_first(on).await,
            Typed::App(command) => match command {
                AppCommand::Open(app) => session.app_open(app).await,
                AppCommand::Close(app) => session.app_close(app).await,
                AppCommand::Send(app, data) => session.app_send(app, data).await,
                AppCommand::State(app, state) => session.app_set_state(app, state).await,
                AppCommand::Invite(app, to) => session.app_invite(app, to.map(|id| vec![id])).await,
            },
            Typed::End => session.end().await,
            Typed::Help | Typed::Lobby => Ok(()),
        }
    }

    /// Who waits in the lobby, as a host or manager knows it.
    fn report_lobby(json: bool, state: &CallState) {
        if json {
            println!("{}", json!({ "type": "lobby", "waiting": state.lobby }));
        } else if state.lobby.is_empty() {
            println!("nobody is waiting in the lobby");
        } else {
            for w in &state.lobby {
                println!("waiting: {} ({})", w.display_name, w.id);
            }
        }
    }

    fn report_help(json: bool) {
        if json {
            println!("{}", json!({ "type": "help", "text": typed::HELP }));
        } else {
            println!("{}", typed::HELP);
        }
    }

    fn describe_media(state: &MediaState) -> String {
        match state {
            MediaState::Connecting => "connecting".to_owned(),
            MediaState::Connected => "connected".to_owned(),
            MediaState::Reconnecting => "reconnecting".to_owned(),
            MediaState::Unavailable(why) => format!("unavailable: {why}"),
            MediaState::Closed => "closed".to_owned(),
        }
    }

    fn report_error(json: bool, error: &str) {
        if json {
            println!("{}", json!({ "type": "error", "error": error }));
        } else {
            eprintln!("error: {error}");
        }
    }

    fn describe_welcome(state: &CallState) -> String {
        let me = state
            .myself()
            .map_or("?", |m| m.display_name.as_str())
            .to_owned();
        let mut out = format!(
            "* joined \"{}\" as {me} (id {}, {})\n",
            state.session.name,
            state.me,
            state.role.as_str()
        );
        if !state.metadata.is_empty() {
            out += &format!("* session metadata: {}\n", metadata_line(&state.metadata));
        }
        for m in state.stage_and_me() {
            out += &format!(
                "*   {} (id {}, {}){}{}{}\n",
                m.display_name,
                m.id,
                m.role.as_str(),
                if m.audio_muted { ", muted" } else { "" },
                if m.hand_raised { ", hand raised" } else { "" },
                state
                    .metadata_of(m.id)
                    .map(|meta| format!(", metadata: {}", metadata_line(meta)))
                    .unwrap_or_default(),
            );
        }
        if state.audience_count > 0 {
            out += &format!("*   and {} in the audience\n", state.audience_count);
        }
        for message in &state.chat {
            out += &chat_line(state, message);
            out.push('\n');
        }
        out
    }

    fn chat_line(state: &CallState, m: &ChatMessage) -> String {
        match m.to {
            Some(to) if to == state.me => {
                format!("[{}] {} (privately): {}", m.seq.0, m.from_name, m.text)
            }
            Some(to) => format!(
                "[{}] {} (privately to {to}): {}",
                m.seq.0, m.from_name, m.text
            ),
            None => format!("[{}] {}: {}", m.seq.0, m.from_name, m.text),
        }
    }

    /// One output line for an event; `joined` is the state at the welcome (for who "I" am).
    fn render(json: bool, joined: &CallState, event: &SessionEvent) -> Option<String> {
        if json {
            return Some(
                match event {
                    SessionEvent::StateChanged { cause, state } => {
                        json!({ "type": "state", "cause": cause, "state": &**state })
                    }
                    SessionEvent::Chat(message) => json!({ "type": "chat", "message": message }),
                    SessionEvent::Notice(notice) => json!({ "type": "notice", "notice": notice }),
                    SessionEvent::Metadata(change) => {
                        json!({ "type": "metadata", "change": change })
                    }
                    SessionEvent::Connection(status) => {
                        json!({ "type": "connection", "status": status })
                    }
                    SessionEvent::App(event) => json!({ "type": "app", "event": event }),
                    _ => return None,
                }
                .to_string(),
            );
        }
        match event {
            SessionEvent::StateChanged {
                cause:
                    Some(ServerEvent::Updated {
                        participant,
                        changes,
                    }),
                state,
            } => {
                let name = state
                    .member(*participant)
                    .map_or_else(|| participant.to_string(), |m| m.display_name.clone());
                let what = describe_update(changes);
                (!what.is_empty()).then(|| format!("* {name}: {what}"))
            }
            SessionEvent::StateChanged {
                cause: Some(ServerEvent::MembersChanged { updated, .. }),
                state,
            } => {
                let lines: Vec<String> = updated
                    .iter()
                    .filter_map(|change| {
                        let name = state.member(change.participant).map_or_else(
                            || change.participant.to_string(),
                            |m| m.display_name.clone(),
                        );
                        let what = describe_update(&change.changes);
                        (!what.is_empty()).then(|| format!("* {name}: {what}"))
                    })
                    .collect();
                (!lines.is_empty()).then(|| lines.join("\n"))
            }
            SessionEvent::StateChanged {
                cause: Some(ServerEvent::SessionUpdated { session }),
                ..
            } => Some(format!(
                "* session: {}{}",
                if session.locked { "locked" } else { "unlocked" },
                session
                    .spotlight
                    .map(|id| format!(", spotlight on {id}"))
                    .unwrap_or_default()
            )),
            SessionEvent::StateChanged { .. } => None,
            SessionEvent::Chat(message) => Some(chat_line(joined, message)),
            SessionEvent::Notice(notice) => Some(format!("* {}", describe_notice(notice))),
            SessionEvent::Metadata(change) => Some(describe_metadata(joined, change)),
            SessionEvent::App(event) => Some(describe_app(event)),
            SessionEvent::Connection(status) => Some(match status {
                ConnectionStatus::Connected => "* connected".to_owned(),
                ConnectionStatus::Reconnecting => "* connection lost, reconnecting...".to_owned(),
                ConnectionStatus::Reconnected => "* reconnected".to_owned(),
                ConnectionStatus::Closed { reason } => format!("* closed: {reason}"),
                _ => return None,
            }),
            _ => None,
        }
    }

    fn describe_metadata(joined: &CallState, change: &MetadataChanged) -> String {
        let whose = match change.participant {
            None => "the session's".to_owned(),
            Some(id) if id == joined.me => "your".to_owned(),
            Some(id) if id == change.by => "their own".to_owned(),
            Some(id) => format!("member {id}'s"),
        };
        let mut parts: Vec<String> = change
            .changes
            .set
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        parts.extend(change.changes.deleted.iter().map(|key| format!("-{key}")));
        format!(
            "* {} changed {whose} metadata: {}",
            change.by_name,
            parts.join(", ")
        )
    }

    fn metadata_line(metadata: &Metadata) -> String {
        metadata
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn describe_update(c: &MemberUpdate) -> String {
        let mut parts = Vec::new();
        if let Some(name) = &c.display_name {
            parts.push(format!("now called {name}"));
        }
        if let Some(role) = c.role {
            parts.push(format!("now {}", role.as_str()));
        }
        if let Some(muted) = c.audio_muted {
            parts.push(if muted { "muted" } else { "unmuted" }.to_owned());
        }
        if let Some(on) = c.video_on {
            parts.push(if on { "camera on" } else { "camera off" }.to_owned());
        }
        if let Some(on) = c.sharing {
            parts.push(if on { "sharing" } else { "stopped sharing" }.to_owned());
        }
        if let Some(up) = c.hand_raised {
            parts.push(if up { "raised hand" } else { "lowered hand" }.to_owned());
        }
        if let Some(connection) = c.connection {
            parts.push(match connection {
                huddle_proto::ConnectionState::Present => "back".to_owned(),
                huddle_proto::ConnectionState::Reconnecting => "reconnecting".to_owned(),
            });
        }
        // Talking flips many times a second; it is not worth a line.
        parts.join(", ")
    }

    fn describe_app(event: &AppEvent) -> String {
        match event {
            AppEvent::Opened { app, state, recent } => format!(
                "* app {app}: open ({} recent messages{})",
                recent.len(),
                if state.is_some() { ", with state" } else { "" }
            ),
            AppEvent::Message(m) => {
                format!("* app {}: #{} from {}: {}", m.app, m.seq, m.from, m.data)
            }
            AppEvent::Invitation { app, from_name, .. } => {
                format!("* {from_name} invites you to open app {app}")
            }
            other => format!("* app: {other:?}"),
        }
    }

    fn describe_notice(notice: &Notice) -> String {
        match notice {
            Notice::Joined { name, .. } => format!("{name} joined"),
            Notice::Left {
                name,
                reason,
                by_name,
                ..
            } => match reason {
                LeaveReason::Removed { .. } => format!(
                    "{name} was removed by {}",
                    by_name.as_deref().unwrap_or("the host")
                ),
                LeaveReason::ConnectionLost => format!("{name} lost their connection"),
                _ => format!("{name} left"),
            },
            Notice::YouWereMuted { by_name, .. } => format!("{by_name} muted you"),
            Notice::YourVideoStopped { by_name, .. } => format!("{by_name} stopped your camera"),
            Notice::UnmuteRequested { by_name, .. } => format!("{by_name} asks you to unmute"),
            Notice::YouWereRenamed { by_name, name, .. } => {
                format!("{by_name} renamed you to {name}")
            }
            Notice::YourHandLowered { by_name, .. } => format!("{by_name} lowered your hand"),
            Notice::YourRoleChanged { by_name, role, .. } => {
                format!("you are now {} ({by_name})", role.as_str())
            }
            Notice::YouWereRemoved { by_name, .. } => format!("{by_name} removed you"),
            Notice::SessionEnded { reason, by_name } => match reason {
                huddle_proto::EndReason::EndedByHost { .. } => format!(
                    "{} ended the session",
                    by_name.as_deref().unwrap_or("the host")
                ),
                huddle_proto::EndReason::IdleTimeout => {
                    "the session ended: the host was alone too long".to_owned()
                }
                huddle_proto::EndReason::Empty => "the session ended".to_owned(),
                huddle_proto::EndReason::ServerShutdown => "the server shut down".to_owned(),
            },
            Notice::Reaction { name, reaction, .. } => format!("{name} reacted {reaction:?}"),
            Notice::YourHearingChanged {
                by_name,
                deaf: true,
                ..
            } => format!("{by_name} deafened you: you hear nobody now"),
            Notice::YourHearingChanged {
                by_name,
                deaf: false,
                ..
            } => format!("{by_name} let you hear again"),
            Notice::WaiterJoined { waiter, name } => {
                format!("{name} is waiting in the lobby (/admit {waiter} or /deny {waiter})")
            }
            _ => "something happened".to_owned(),
        }
    }
}
