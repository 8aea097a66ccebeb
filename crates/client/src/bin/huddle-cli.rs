//! `huddle-cli`: Huddle from the command line. `huddle-cli nettest <server-url>` runs the
//! pre-join network test and prints its report (`--json` for machines).

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    }
}

async fn nettest_command(args: NettestArgs) -> ExitCode {
    let mut options = NettestOptions::new(args.server);
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit <= 600.0) {
        eprintln!("error: --time-limit must be between 0 and 600 seconds");
        return ExitCode::FAILURE;
    }
    options.time_limit = Duration::from_secs_f64(args.time_limit);
    if let Some(path) = args.ca_cert {
        match read_pem_certs(&path) {
            Ok(certs) => options.trust = Trust::Only(certs),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
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

fn read_pem_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject as _;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in the file".to_owned());
    }
    Ok(certs)
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
