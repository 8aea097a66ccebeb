//! Load benchmarks of the session server over loopback WebSockets. Prints figures; asserts
//! nothing.
//!
//! ```text
//! cargo run --release -p huddle-server --example bench_server -- join-storm [MEMBERS] [CONCURRENCY] [HOLD_SECS]
//! cargo run --release -p huddle-server --example bench_server -- fanout [MEMBERS] [MESSAGES]
//! cargo run --release -p huddle-server --example bench_server -- large-session [MEMBERS] [PUBLISHERS] [HOLD_SECS]
//! ```
//!
//! `large-session` is the webinar: MEMBERS join one session (the first PUBLISHERS on the
//! stage, the rest audience), then the session is held for HOLD_SECS with 5 chat messages
//! and 10 roster changes a second (publishers muting and unmuting, audience hands going up
//! and down); every member pings as the app does and counts what it receives without
//! decoding it.
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
        Some("serve") => runtime.block_on(serve(args.get(1).and_then(|a| a.parse().ok()))),
        Some("join-storm") => {
            runtime.block_on(join_storm(number(1, 1_000), number(2, 200), number(3, 0)))
        }
        Some("fanout") => runtime.block_on(fanout(number(1, 1_000), number(2, 20))),
        Some("large-session") => runtime.block_on(large_session(
            number(1, 5_000),
            number(2, 50),
            number(3, 60),
        )),
        _ => {
            eprintln!("usage: bench_server join-storm [MEMBERS] [CONCURRENCY] [HOLD_SECS] | fanout [MEMBERS] [MESSAGES] | large-session [MEMBERS] [PUBLISHERS] [HOLD_SECS]");
            Ok(())
        }
    }
}

/// The child: an open-mode server on a free loopback port until standard input closes.
/// With `max_active`, a large session's server: that many publishers, and room for every
/// benchmark member from the one loopback address.
async fn serve(max_active: Option<usize>) -> BenchResult {
    // Default limits, so the figures show what a deployed server does (including cutting
    // members whose client cannot keep up).
    let mut config = huddle_server::ServerConfig::open_loopback();
    if let Some(max_active) = max_active {
        config.max_active = max_active;
        config.limits.max_connections_per_ip = config.limits.max_connections;
    }
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
        ServerProcess::start_with(&[]).await
    }

    async fn start_with(args: &[String]) -> BenchResult<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("serve")
            .args(args)
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
        tokio::time::timeout(Duration::from_secs(120), self.child.wait())
            .await
            .map_err(|_| "the server did not shut down within 120 s")??;
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

/// What one large-session member counts.
#[derive(Default)]
struct Received {
    frames: AtomicUsize,
    bytes: AtomicUsize,
}

/// What the load asks of one member.
enum Do {
    Chat(String),
    Toggle,
}

/// One large-session member: joins, then reads and counts everything, pings every 5 s as
/// the app does, and runs what the load asks of it. Returns (join time, welcome bytes).
async fn member(
    url: String,
    name: String,
    received: Arc<Received>,
    mut load: mpsc::UnboundedReceiver<Do>,
) -> BenchResult<(Duration, usize, bool)> {
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    ws.send(Message::text(join_message("webinar", name)?))
        .await?;
    let (welcome_bytes, stage) = loop {
        match ws.next().await.ok_or("closed before welcome")?? {
            Message::Text(text) => match decode_server(text.as_str())? {
                ServerMessage::Welcome(w) => {
                    break (text.len(), w.role != huddle_proto::Role::Audience)
                }
                ServerMessage::Error { code, message, .. } => {
                    return Err(format!("join refused: {code}: {message}").into());
                }
                _ => {}
            },
            Message::Close(frame) => return Err(format!("closed: {frame:?}").into()),
            _ => {}
        }
    };
    let took = start.elapsed();
    tokio::spawn(async move {
        let (mut sink, mut stream) = ws.split();
        let mut ping = tokio::time::interval(Duration::from_secs(5));
        let (mut next_id, mut on) = (1u64, false);
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        CUT.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Some(Ok(frame)) => {
                        received.frames.fetch_add(1, Ordering::Relaxed);
                        received.bytes.fetch_add(frame.len(), Ordering::Relaxed);
                    }
                },
                _ = ping.tick() => {
                    let ping = ClientMessage::Ping { nonce: next_id };
                    next_id += 1;
                    let Ok(text) = serde_json::to_string(&ping) else { break };
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                order = load.recv() => {
                    let action = match order {
                        None => break,
                        Some(Do::Chat(text)) => Action::Chat { to: None, text },
                        Some(Do::Toggle) => {
                            on = !on;
                            if stage {
                                Action::SetAudio { muted: !on }
                            } else if on {
                                Action::RaiseHand
                            } else {
                                Action::LowerHand { participant: None }
                            }
                        }
                    };
                    let request = ClientMessage::Request { id: RequestId(next_id), action };
                    next_id += 1;
                    let Ok(text) = serde_json::to_string(&request) else { break };
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok((took, welcome_bytes, stage))
}

async fn large_session(members: usize, publishers: usize, hold_secs: usize) -> BenchResult {
    let server = ServerProcess::start_with(&[publishers.to_string()]).await?;
    let (idle_rss, _) = server.memory();
    let gate = Arc::new(Semaphore::new(200));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(members);
    let mut orders = Vec::with_capacity(members);
    let mut counters = Vec::with_capacity(members);
    // Joins go in order so that the first PUBLISHERS are the stage and the last is the
    // 5,000th member; 200 at a time are under way.
    for i in 0..members {
        let url = server.url.clone();
        let gate = gate.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let received = Arc::new(Received::default());
        orders.push(tx);
        counters.push(received.clone());
        let permit = gate.acquire_owned().await?;
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            member(url, format!("member {i:04}"), received, rx).await
        }));
    }
    let mut times = Vec::with_capacity(members);
    let (mut failures, mut last_welcome, mut largest_welcome) = (0, 0, 0);
    let (mut stage, mut crowd) = (Vec::new(), Vec::new());
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await? {
            Ok((took, bytes, on_stage)) => {
                times.push(took);
                last_welcome = bytes;
                largest_welcome = largest_welcome.max(bytes);
                if on_stage {
                    stage.push(i)
                } else {
                    crowd.push(i)
                }
            }
            Err(e) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("join failed: {e}");
                }
            }
        }
    }
    let wall = started.elapsed();
    let join_cpu = server.cpu_seconds();
    times.sort();
    let (rss, peak) = server.memory();
    println!("large session: {members} members ({publishers} on the stage), 200 joining at a time");
    println!(
        "  joined {} ({failures} failed) in {:.2} s = {:.0} joins/s; join time p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        times.len(),
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 1.0))
    );
    println!(
        "  welcome of the last member {:.1} KB, largest {:.1} KB",
        last_welcome as f64 / 1000.0,
        largest_welcome as f64 / 1000.0
    );
    println!(
        "  server CPU {join_cpu:.1} s for the joins; RSS idle {idle_rss:.1} MiB, after joins {rss:.1} MiB (peak {peak:.1} MiB); {} members cut",
        CUT.load(Ordering::Relaxed)
    );
    if hold_secs == 0 {
        server.stop().await?;
        return Ok(());
    }
    // Let the join batches settle, then count from zero.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<usize> = counters
        .iter()
        .map(|c| c.bytes.load(Ordering::Relaxed))
        .collect();
    let frames_before: usize = counters
        .iter()
        .map(|c| c.frames.load(Ordering::Relaxed))
        .sum();
    let cpu_before = server.cpu_seconds();
    let hold = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0usize;
    // The host (the first on the stage) chats; the others change.
    let host = stage.first().copied().unwrap_or(0);
    let speakers: Vec<usize> = stage.iter().copied().skip(1).collect();
    while hold.elapsed() < Duration::from_secs(hold_secs as u64) {
        tick.tick().await;
        // 10 roster changes a second: a publisher's microphone, then an audience hand.
        let pool = if n.is_multiple_of(2) && !speakers.is_empty() {
            &speakers
        } else {
            &crowd
        };
        if let Some(order) = pool
            .get((n / 2 * 7919) % pool.len().max(1))
            .and_then(|i| orders.get(*i))
        {
            let _ = order.send(Do::Toggle);
        }
        // 5 chat messages a second, from the host.
        if n.is_multiple_of(2) {
            if let Some(host) = orders.get(host) {
                let _ = host.send(Do::Chat(format!("chat {n}")));
            }
        }
        n += 1;
    }
    let held = hold.elapsed().as_secs_f64();
    let hold_cpu = server.cpu_seconds() - cpu_before;
    let rates: Vec<f64> = counters
        .iter()
        .zip(&before)
        .map(|(c, b)| (c.bytes.load(Ordering::Relaxed) - b) as f64 / held)
        .collect();
    let frames: usize = counters
        .iter()
        .map(|c| c.frames.load(Ordering::Relaxed))
        .sum::<usize>()
        - frames_before;
    let (rss, peak) = server.memory();
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let rate_of = |i: Option<&usize>| i.and_then(|i| rates.get(*i)).copied().unwrap_or(0.0);
    let stage_rate = rate_of(speakers.first());
    let audience_rate = rate_of(crowd.last());
    println!(
        "  held {held:.0} s with 5 chat messages/s and 10 roster changes/s: server CPU {hold_cpu:.1} s ({:.0} % of a core); RSS {rss:.1} MiB (peak {peak:.1} MiB); {} members cut",
        hold_cpu / held * 100.0,
        CUT.load(Ordering::Relaxed)
    );
    println!(
        "  received per member: mean {mean:.0} B/s; host {:.0} B/s, a publisher {stage_rate:.0} B/s, an audience member {audience_rate:.0} B/s; {:.0} frames/s to all members together",
        rate_of(Some(&host)),
        frames as f64 / held
    );
    drop(orders);
    let stopping = Instant::now();
    server.stop().await?;
    println!(
        "  server shut down (every member told) in {:.2} s",
        stopping.elapsed().as_secs_f64()
    );
    Ok(())
}
