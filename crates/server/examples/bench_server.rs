//! Load benchmarks of the session server over loopback WebSockets. Prints figures; asserts
//! nothing.
//!
//! ```text
//! cargo run --release -p huddle-server --example bench_server -- join-storm [MEMBERS] [CONCURRENCY] [HOLD_SECS]
//! cargo run --release -p huddle-server --example bench_server -- fanout [MEMBERS] [MESSAGES]
//! ```
//!
//! The server runs in a child process (this program started again with `serve`), so its
//! memory can be read from `/proc` apart from the clients'. Thousands of sockets need a
//! raised open-file limit: run under `ulimit -n 65536`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use huddle_proto::{
    decode_server, Action, ClientMessage, Join, RequestId, ServerMessage, PROTOCOL_VERSION,
};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::Message;

/// Client sockets the server closed during a run.
static CUT: AtomicUsize = AtomicUsize::new(0);

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> usize {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(serve()),
        Some("join-storm") => {
            runtime.block_on(join_storm(number(1, 1_000), number(2, 200), number(3, 0)))
        }
        Some("fanout") => runtime.block_on(fanout(number(1, 1_000), number(2, 20))),
        _ => {
            eprintln!("usage: bench_server join-storm [MEMBERS] [CONCURRENCY] [HOLD_SECS] | fanout [MEMBERS] [MESSAGES]");
            Ok(())
        }
    }
}

/// The child: an open-mode server on a free loopback port until standard input closes.
async fn serve() -> BenchResult {
    // Default limits, so the figures show what a deployed server does (including cutting
    // members whose client cannot keep up).
    let config = huddle_server::ServerConfig::open_loopback();
    let handle = huddle_server::Server::start(config).await?;
    println!("ADDR {}", handle.local_addr());
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while stdin.next_line().await?.is_some() {}
    handle.shutdown().await;
    Ok(())
}

struct ServerProcess {
    child: tokio::process::Child,
    url: String,
}

impl ServerProcess {
    async fn start() -> BenchResult<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("serve")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next_line().await?.ok_or("server exited")?;
            if let Some(addr) = line.strip_prefix("ADDR ") {
                break addr.to_owned();
            }
        };
        Ok(ServerProcess {
            child,
            url: format!("ws://{addr}/v1/ws"),
        })
    }

    /// (current RSS, peak RSS) in MiB.
    fn memory(&self) -> (f64, f64) {
        let Some(pid) = self.child.id() else {
            return (0.0, 0.0);
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
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

    /// CPU seconds the server process has used (user + system).
    fn cpu_seconds(&self) -> f64 {
        let Some(pid) = self.child.id() else {
            return 0.0;
        };
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

    async fn stop(mut self) -> BenchResult {
        // Closing its standard input asks the child to shut down gracefully.
        drop(self.child.stdin.take());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        Ok(())
    }
}

fn join_message(session: &str, name: String) -> BenchResult<String> {
    Ok(serde_json::to_string(&ClientMessage::Join(Join {
        protocol_version: PROTOCOL_VERSION,
        session_name: session.to_owned(),
        display_name: name,
        passcode: None,
        token: None,
        resume: None,
        audio_muted: true,
        video_on: false,
        idle_timeout_mins: None,
    }))?)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and joins; returns the socket and the time from connect to welcome.
async fn join(url: &str, session: &str, name: String) -> BenchResult<(Ws, Duration)> {
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(join_message(session, name)?)).await?;
    loop {
        match ws.next().await.ok_or("closed before welcome")?? {
            Message::Text(text) => match decode_server(text.as_str())? {
                ServerMessage::Welcome(_) => return Ok((ws, start.elapsed())),
                ServerMessage::Error { code, message, .. } => {
                    return Err(format!("join refused: {code}: {message}").into())
                }
                _ => {}
            },
            Message::Close(frame) => return Err(format!("closed: {frame:?}").into()),
            _ => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Reads and discards everything until the socket closes; counts frames; reports chat
/// arrivals (by the text's marker) on `chats`.
fn drain(
    mut ws: Ws,
    frames: Arc<AtomicUsize>,
    chats: Option<mpsc::UnboundedSender<(String, Instant)>>,
) {
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(_) = message {
                // The server only closes a member here when it cut it as too slow.
                CUT.fetch_add(1, Ordering::Relaxed);
                break;
            }
            frames.fetch_add(1, Ordering::Relaxed);
            if let (Some(chats), Message::Text(text)) = (&chats, &message) {
                // A cheap check first: most frames are roster events.
                if text.as_str().contains("\"type\":\"chat\"") {
                    if let Ok(ServerMessage::Event {
                        event: huddle_proto::ServerEvent::Chat { message },
                    }) = decode_server(text.as_str())
                    {
                        let _ = chats.send((message.text, Instant::now()));
                    }
                }
            }
        }
    });
}

async fn join_storm(members: usize, concurrency: usize, hold_secs: usize) -> BenchResult {
    let server = ServerProcess::start().await?;
    let (idle_rss, _) = server.memory();
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let frames = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(members);
    for i in 0..members {
        let url = server.url.clone();
        let gate = gate.clone();
        let frames = frames.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let (ws, took) = join(&url, "storm", format!("member {i}")).await?;
            drain(ws, frames, None);
            BenchResult::Ok(took)
        }));
    }
    let mut times = Vec::with_capacity(members);
    let mut failures = 0;
    for task in tasks {
        match task.await? {
            Ok(took) => times.push(took),
            Err(e) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("join failed: {e}");
                }
            }
        }
    }
    let wall = started.elapsed();
    times.sort();
    let (rss, peak) = server.memory();
    println!("join storm: {members} members into one session, {concurrency} joining at a time");
    println!(
        "  joined {} ({} failed) in {:.2} s = {:.0} joins/s",
        times.len(),
        failures,
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "  join time p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 1.0))
    );
    println!(
        "  server CPU {:.1} s of {:.1} s wall",
        server.cpu_seconds(),
        wall.as_secs_f64()
    );
    println!(
        "  server RSS idle {idle_rss:.1} MiB, after joins {rss:.1} MiB (peak {peak:.1} MiB); {} members cut as too slow",
        CUT.load(Ordering::Relaxed)
    );
    if hold_secs > 0 {
        tokio::time::sleep(Duration::from_secs(hold_secs as u64)).await;
        let (rss, peak) = server.memory();
        println!(
            "  after holding {hold_secs} s: server RSS {rss:.1} MiB (peak {peak:.1} MiB), {} frames received by clients, {} members cut as too slow",
            frames.load(Ordering::Relaxed),
            CUT.load(Ordering::Relaxed)
        );
    }
    server.stop().await?;
    Ok(())
}

async fn fanout(members: usize, messages: usize) -> BenchResult {
    let server = ServerProcess::start().await?;
    let frames = Arc::new(AtomicUsize::new(0));
    let (chat_tx, mut chat_rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(200));
    let mut tasks = Vec::new();
    // Member 0 is the sender and keeps its socket; the others only listen.
    let (mut sender, _) = join(&server.url, "fanout", "sender".to_owned()).await?;
    for i in 1..members {
        let url = server.url.clone();
        let gate = gate.clone();
        let frames = frames.clone();
        let chat_tx = chat_tx.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let (ws, _) = join(&url, "fanout", format!("listener {i}")).await?;
            drain(ws, frames, Some(chat_tx));
            BenchResult::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let listeners = members - 1;
    // Let the roster events of the joins settle before measuring.
    let mut settled = 0;
    while settled < 3 {
        let before = frames.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        settled = if frames.load(Ordering::Relaxed) == before {
            settled + 1
        } else {
            0
        };
    }
    // The sender's own socket must be read too, or the server would cut it as too slow.
    let (sender_tx, mut sender_rx) = mpsc::unbounded_channel::<()>();
    let mut latencies = Vec::with_capacity(listeners * messages);
    let mut lost = 0;
    for n in 0..messages {
        let marker = format!("fanout message {n}");
        let request = ClientMessage::Request {
            id: RequestId(n as u64 + 1),
            action: Action::Chat {
                to: None,
                text: marker.clone(),
            },
        };
        let sent = Instant::now();
        sender
            .send(Message::text(serde_json::to_string(&request)?))
            .await?;
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while got < listeners {
            match tokio::time::timeout_at(deadline, chat_rx.recv()).await {
                Ok(Some((text, at))) if text == marker => {
                    latencies.push(at - sent);
                    got += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        lost += listeners - got;
        // Drain the sender's answers (ok + its own chat event) without blocking.
        while let Some(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(1), sender.next())
            .await
            .ok()
            .map(|m| m.transpose())
        {}
        let _ = sender_tx.send(());
        // Stay within the sender's rate limit of 20 messages per second.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    while sender_rx.try_recv().is_ok() {}
    latencies.sort();
    let (rss, peak) = server.memory();
    println!("fan-out: one chat message to {listeners} listeners, {messages} messages");
    println!(
        "  delivery p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {} deliveries, {} lost",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 1.0)),
        latencies.len(),
        lost
    );
    println!(
        "  server RSS {rss:.1} MiB (peak {peak:.1} MiB); {} members cut as too slow",
        CUT.load(Ordering::Relaxed)
    );
    server.stop().await?;
    Ok(())
}
