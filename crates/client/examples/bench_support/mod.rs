//! The server of the media benchmarks in a child process: the benchmark program started again
//! with `serve`, so its CPU time and memory are read from `/proc` apart from the clients'.
//! Shared by `bench_media` and `bench_sfu`.

use std::time::Duration;

use huddle_server::{Server, ServerConfig};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};

pub type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Logs to standard error, warnings and worse unless `RUST_LOG` says otherwise (standard
/// output carries the figures, and the child's its address and counters).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Options of the child server, as `serve` takes them after its name.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Media forwarding workers (0: one per core).
    pub workers: usize,
    /// How they share the port (`auto`, `reuse-port`, `one-reader`).
    pub sharing: Option<String>,
    /// Send bursts of datagrams with one system call (`sendmmsg`).
    pub send_batch: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            workers: 0,
            sharing: None,
            send_batch: true,
        }
    }
}

impl ServeOptions {
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "serve".to_owned(),
            format!("workers={}", self.workers),
            format!("send-batch={}", self.send_batch),
        ];
        args.extend(self.sharing.as_ref().map(|s| format!("sharing={s}")));
        args
    }

    /// Reads what [`ServeOptions::args`] wrote (after `serve`).
    pub fn parse(args: &[String]) -> BenchResult<ServeOptions> {
        let mut options = ServeOptions::default();
        for arg in args {
            match arg.split_once('=') {
                Some(("workers", n)) => options.workers = n.parse()?,
                Some(("sharing", s)) => options.sharing = Some(s.to_owned()),
                Some(("send-batch", b)) => options.send_batch = b.parse()?,
                _ => return Err(format!("unknown serve option `{arg}`").into()),
            }
        }
        Ok(options)
    }
}

/// The child: an open-mode server on free loopback ports. Each `stats` line on standard input
/// is answered with the forwarding unit's counters; end of input shuts it down.
pub async fn serve(options: ServeOptions) -> BenchResult {
    let mut config = ServerConfig::open_loopback();
    config.media.workers = options.workers;
    config.media.send_batch = options.send_batch;
    if let Some(sharing) = &options.sharing {
        config.media.port_sharing = sharing.parse()?;
    }
    let handle = Server::start(config).await?;
    println!("ADDR {}", handle.http_url());
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        if line.trim() == "stats" {
            let s = handle.media_stats().unwrap_or_default();
            println!(
                "STATS {} {} {} {} {}",
                s.rtp_in, s.rtp_out, s.unrouted, s.handed_on, s.handoff_dropped
            );
        }
    }
    handle.shutdown().await;
    Ok(())
}

/// The forwarding unit's counters.
pub struct SfuCounts {
    pub rtp_in: u64,
    pub rtp_out: u64,
    pub unrouted: u64,
    /// Datagrams one worker read for another and handed on.
    #[allow(dead_code, reason = "bench_media has one worker's worth of figures")]
    pub handed_on: u64,
    /// Datagrams dropped on the way between workers.
    #[allow(dead_code, reason = "bench_media has one worker's worth of figures")]
    pub handoff_dropped: u64,
}

pub struct ServerProcess {
    child: tokio::process::Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pid: u32,
    pub url: String,
}

impl ServerProcess {
    pub async fn start(options: &ServeOptions) -> BenchResult<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(options.args())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let pid = child.id().ok_or("server exited")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next_line().await?.ok_or("server exited")?;
            if let Some(url) = line.strip_prefix("ADDR ") {
                break url.to_owned();
            }
        };
        Ok(ServerProcess {
            child,
            stdin,
            lines,
            pid,
            url,
        })
    }

    pub async fn media(&mut self) -> BenchResult<SfuCounts> {
        self.stdin.write_all(b"stats\n").await?;
        self.stdin.flush().await?;
        loop {
            let line = self.lines.next_line().await?.ok_or("server exited")?;
            if let Some(rest) = line.strip_prefix("STATS ") {
                let n: Vec<u64> = rest
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if let [rtp_in, rtp_out, unrouted, handed_on, handoff_dropped] = n[..] {
                    return Ok(SfuCounts {
                        handed_on,
                        handoff_dropped,
                        rtp_in,
                        rtp_out,
                        unrouted,
                    });
                }
                return Err(format!("bad stats line: {line}").into());
            }
        }
    }

    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid.to_string())
    }

    /// CPU seconds of each media forwarding worker thread (`huddle-sfu-N`), in worker order.
    #[allow(dead_code, reason = "bench_media does not read the workers apart")]
    pub fn worker_cpu_seconds(&self) -> Vec<f64> {
        let mut workers: Vec<(usize, f64)> = Vec::new();
        let tasks = format!("/proc/{}/task", self.pid);
        for entry in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
            let tid = entry.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(format!("{tasks}/{tid}/comm")).unwrap_or_default();
            if let Some(index) = comm
                .trim()
                .strip_prefix("huddle-sfu-")
                .and_then(|i| i.parse().ok())
            {
                workers.push((index, cpu_seconds(&format!("{}/task/{tid}", self.pid))));
            }
        }
        workers.sort_by_key(|(i, _)| *i);
        workers.into_iter().map(|(_, s)| s).collect()
    }

    /// (current RSS, peak RSS) in MiB.
    pub fn memory(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub async fn stop(mut self) -> BenchResult {
        // Closing its standard input asks the child to shut down gracefully.
        drop(self.stdin);
        tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        Ok(())
    }
}

/// CPU seconds (user + system) of a process: a pid or `self`.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Linux reports these in clock ticks of 1/100 s on every common configuration.
    (ticks(11) + ticks(12)) / 100.0
}

/// The one-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}
