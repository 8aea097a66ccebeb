//! Fan-out of the forwarding unit with a load side that costs little: one publisher and N
//! subscribers, every one a sans-IO `rtc` connection (see `load.rs`), all on one thread of this
//! process, against the server in a child process. Prints forwarded packets per server
//! CPU-second; asserts nothing.
//!
//! ```text
//! cargo build --release -p huddle-client --example bench_sfu
//! target/release/examples/bench_sfu [--all] [--workers=K] [--sharing=HOW] [--no-send-batch]
//!     [SUBSCRIBERS...]
//! target/release/examples/bench_sfu sessions [--sessions=4] [--members=10] [--video-kbps=2500]
//!     [--workers=1,2] [--sharing=HOW] [--no-send-batch]
//! ```
//!
//! `--workers` is the server's media worker count (0: one per core, the default); `--sharing`
//! how they share the port (`auto`, `reuse-port`, `one-reader`); `--no-send-batch` makes it
//! send one datagram per system call. `sessions` runs S sessions of
//! M members at once, every member publishing and receiving the others, once per worker count
//! given, in the same run: forwarded packets per second, loss, and the cores of each worker.
//!
//! The publisher sends a 1280×720 at 30 fps camera's packets (2.5 Mbit/s, no encoder) and
//! speech-sized audio; each subscriber receives both through its slots. Loss is per subscriber,
//! from the sequence numbers it received (the server rewrites them into one continuous run per
//! slot). Rows stop once the worst subscriber lost more than 0.5 %, once the server reads less
//! than 98 % of what the publisher sends (its queue grows), once not every subscriber could
//! connect, once the server and the load side together use most of the machine, or once the
//! load side's one thread is full; `--all` runs every row anyway. Each member holds a UDP
//! socket and a WebSocket here and one at the server: many need a raised open-file limit.

// The server in a child process.
#[path = "../bench_support/mod.rs"]
mod bench_support;
mod load;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_support::{
    cpu_seconds, init_tracing, load_average, serve, BenchResult, ServeOptions, ServerProcess,
    SfuCounts,
};
use load::{Counters, Publishing, Target};
use tokio::sync::{watch, Semaphore};

/// Members setting up (signaling, ICE, DTLS) at once.
const JOIN_CONCURRENCY: usize = 16;
/// Longest wait for every member to be connected.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
/// Time after the last member connected before measuring (every subscriber had a keyframe).
const SETTLE: Duration = Duration::from_secs(5);
/// The measured interval.
const MEASURE: Duration = Duration::from_secs(10);
/// Loss above which a row counts as not held.
const LOSS_LIMIT_PCT: f64 = 0.5;
/// The server reading less than this share of what the publisher sent has fallen behind.
const KEPT_UP: f64 = 0.98;
/// The load side runs on one thread: above this it is what limits the row, not the server.
const LOAD_THREAD_FULL: f64 = 0.95;

fn main() -> BenchResult {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(serve(ServeOptions::parse(
            args.get(1..).unwrap_or_default(),
        )?));
    }
    let flag = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let number = |name: &str, default: usize| -> BenchResult<usize> {
        flag(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} takes a number, not `{v}`").into())
        })
    };
    let workers: Vec<usize> = match flag("--workers") {
        Some(list) => list
            .split(',')
            .map(|w| w.parse().map_err(|_| format!("bad --workers `{w}`")))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let sharing = flag("--sharing");
    // `--no-send-batch`: the server sends one datagram per system call (the old path).
    let send_batch = !args.iter().any(|a| a == "--no-send-batch");
    // The whole load side (signaling, connections, this measurement) on this one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    if args.first().map(String::as_str) == Some("sessions") {
        let plan = SessionsPlan {
            sessions: number("--sessions", 4)?,
            members: number("--members", 10)?,
            video_bps: u32::try_from(number("--video-kbps", 2500)? * 1000)?,
            workers: if workers.is_empty() {
                vec![1, 2]
            } else {
                workers
            },
            sharing,
            send_batch,
        };
        return local.block_on(&runtime, sessions(&plan));
    }
    // `--all`: every row is run, saturated or not (the stop rules are still reported).
    let all = args.iter().any(|a| a == "--all");
    let mut counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if counts.is_empty() {
        counts = vec![10, 50, 100, 200, 400];
    }
    let serve = ServeOptions {
        workers: workers.first().copied().unwrap_or(0),
        sharing,
        send_batch,
    };
    local.block_on(&runtime, fanout(&counts, all, &serve))
}

/// Cores of each worker between two readings of their CPU seconds, as `0.81/0.06`.
fn worker_cores(start: &[f64], end: &[f64], seconds: f64) -> String {
    let cores: Vec<String> = start
        .iter()
        .zip(end)
        .map(|(a, b)| format!("{:.2}", (b - a) / seconds))
        .collect();
    if cores.is_empty() {
        "-".to_owned()
    } else {
        cores.join("/")
    }
}

/// Counters read at one moment.
struct Snapshot {
    at: Instant,
    sfu: SfuCounts,
    server_cpu: f64,
    worker_cpu: Vec<f64>,
    own_cpu: f64,
    /// (packets, expected) of each subscriber.
    received: Vec<(u64, u64)>,
    published: u64,
}

impl Snapshot {
    async fn take(
        server: &mut ServerProcess,
        publisher: &Counters,
        subscribers: &[Arc<Counters>],
    ) -> BenchResult<Snapshot> {
        let sfu = server.media().await?;
        Ok(Snapshot {
            at: Instant::now(),
            sfu,
            server_cpu: server.cpu_seconds(),
            worker_cpu: server.worker_cpu_seconds(),
            own_cpu: cpu_seconds("self"),
            received: subscribers
                .iter()
                .map(|c| {
                    (
                        c.packets.load(Ordering::Relaxed),
                        c.expected.load(Ordering::Relaxed),
                    )
                })
                .collect(),
            published: publisher.packets.load(Ordering::Relaxed),
        })
    }
}

async fn fanout(counts: &[usize], all: bool, serve: &ServeOptions) -> BenchResult {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    println!(
        "bench_sfu: one publisher (1280x720@30 packets at {} kbit/s without an encoder, \
         Opus-sized audio every 20 ms) and N subscribers, all sans-IO rtc connections on one \
         thread; server in a child process ({} media workers, port sharing {}, {}); {cores} \
         cores; {} s measured after {} s settling",
        load::VIDEO_BPS / 1000,
        match serve.workers {
            0 => "one per core".to_owned(),
            n => n.to_string(),
        },
        serve.sharing.as_deref().unwrap_or("auto"),
        if serve.send_batch {
            "sendmmsg"
        } else {
            "one sendto per datagram"
        },
        MEASURE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "{:>4} {:>8} {:>9} {:>9} {:>10} {:>10} {:>8} {:>11} {:>9} {:>7} {:>6}",
        "N",
        "in pkt/s",
        "out pkt/s",
        "loss mean",
        "loss worst",
        "pkt/cpu-s",
        "srv core",
        "worker core",
        "load core",
        "RSS MiB",
        "load"
    );
    for &n in counts {
        let mut server = ServerProcess::start(serve).await?;
        let target = Target {
            url: server.url.clone(),
            session: "fanout".to_owned(),
        };
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = Vec::new();
        let publisher = Arc::new(Counters::default());
        tasks.push(tokio::task::spawn_local(load::publisher(
            target.clone(),
            Publishing::default(),
            Arc::clone(&publisher),
            stop.clone(),
        )));
        wait_connected(std::slice::from_ref(&publisher)).await?;
        let joining = Arc::new(Semaphore::new(JOIN_CONCURRENCY));
        let subscribers: Vec<Arc<Counters>> = (0..n).map(|_| Arc::default()).collect();
        let joins_started = Instant::now();
        for (i, counters) in subscribers.iter().enumerate() {
            tasks.push(tokio::task::spawn_local(load::subscriber(
                target.clone(),
                format!("Subscriber {i}"),
                Arc::clone(counters),
                Arc::clone(&joining),
                stop.clone(),
            )));
        }
        if let Err(e) = wait_connected(&subscribers).await {
            // A server that no longer keeps up answers the newcomers' ICE checks behind
            // seconds of queued media, and their checks run out.
            println!("{n:>4} not measured: {e} (load {})", load_average());
            println!("saturated at N = {n}: not every subscriber connected");
            stop_tx.send_replace(true);
            for task in tasks {
                task.await?;
            }
            server.stop().await?;
            if all {
                continue;
            }
            println!("stopping");
            break;
        }
        let joined_in = joins_started.elapsed();
        tokio::time::sleep(SETTLE).await;
        let start = Snapshot::take(&mut server, &publisher, &subscribers).await?;
        tokio::time::sleep(MEASURE).await;
        let end = Snapshot::take(&mut server, &publisher, &subscribers).await?;
        let (rss, _) = server.memory();
        let seconds = end.at.duration_since(start.at).as_secs_f64();
        let rtp_in = (end.sfu.rtp_in - start.sfu.rtp_in) as f64;
        let rtp_out = (end.sfu.rtp_out - start.sfu.rtp_out) as f64;
        let server_cpu = end.server_cpu - start.server_cpu;
        let server_cores = server_cpu / seconds;
        let own_cores = (end.own_cpu - start.own_cpu) / seconds;
        let (mean, worst) = loss(&start.received, &end.received);
        let per_cpu_second = if server_cpu > 0.0 {
            rtp_out / server_cpu
        } else {
            f64::NAN
        };
        println!(
            "{n:>4} {:>8.0} {:>9.0} {:>8.3}% {:>9.3}% {:>10.0} {:>8.2} {:>11} {:>9.2} {:>7.1} {:>6}",
            rtp_in / seconds,
            rtp_out / seconds,
            mean,
            worst,
            per_cpu_second,
            server_cores,
            worker_cores(&start.worker_cpu, &end.worker_cpu, seconds),
            own_cores,
            rss,
            load_average()
        );
        let unforwarded = 100.0 * (1.0 - rtp_out / (n as f64 * rtp_in));
        let sent = (end.published - start.published) as f64 / seconds;
        // Read by the server against sent: below 1 the server's socket queue grows (it falls
        // behind) even before anything is lost.
        let kept_up = rtp_in / seconds / sent;
        let send_dropped: u64 = subscribers
            .iter()
            .chain(std::iter::once(&publisher))
            .map(|c| c.send_dropped.load(Ordering::Relaxed))
            .sum();
        println!(
            "     publisher sent {sent:.0} pkt/s, the server read {:.1}% of that; {} keyframes \
             in all; server did not forward {unforwarded:.3}% of N x in; unrouted {}; all joined \
             and connected in {:.1} s; datagrams not sent by the load side {send_dropped}; \
             {seconds:.1} s measured",
            100.0 * kept_up,
            publisher.keyframes.load(Ordering::Relaxed),
            end.sfu.unrouted,
            joined_in.as_secs_f64()
        );
        stop_tx.send_replace(true);
        for task in tasks {
            task.await?;
        }
        server.stop().await?;
        let stop_rule = if worst > LOSS_LIMIT_PCT {
            Some(format!("loss above {LOSS_LIMIT_PCT}%"))
        } else if kept_up < KEPT_UP {
            Some("the server fell behind the publisher".to_owned())
        } else if own_cores > LOAD_THREAD_FULL {
            Some("the load side's thread is full".to_owned())
        } else if server_cores + own_cores > 0.85 * cores as f64 {
            Some("server and load side together use most of the machine".to_owned())
        } else {
            None
        };
        if let Some(why) = stop_rule {
            println!("saturated at N = {n}: {why}");
            if !all {
                println!("stopping");
                break;
            }
        }
    }
    Ok(())
}

/// Waits until every one of `members` is connected; fails when one gave up or time ran out.
async fn wait_connected(members: &[Arc<Counters>]) -> BenchResult {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        if members.iter().any(|c| c.failed.load(Ordering::Relaxed) > 0) {
            return Err("a member failed to connect".into());
        }
        if members.iter().all(|c| c.connected.load(Ordering::Relaxed)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("members did not connect in time".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Mean and worst loss in percent of the receivers, from (packets, expected) at two moments.
fn loss(start: &[(u64, u64)], end: &[(u64, u64)]) -> (f64, f64) {
    let losses: Vec<f64> = start
        .iter()
        .zip(end)
        .map(|(a, b)| {
            let expected = b.1.saturating_sub(a.1) as f64;
            if expected > 0.0 {
                100.0 * (1.0 - b.0.saturating_sub(a.0) as f64 / expected)
            } else {
                100.0
            }
        })
        .collect();
    let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
    let worst = losses.iter().copied().fold(0.0, f64::max);
    (mean, worst)
}

/// What `sessions` runs.
struct SessionsPlan {
    sessions: usize,
    members: usize,
    video_bps: u32,
    workers: Vec<usize>,
    sharing: Option<String>,
    send_batch: bool,
}

/// S sessions of M members, all publishing and receiving, once per worker count.
async fn sessions(plan: &SessionsPlan) -> BenchResult {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    println!(
        "bench_sfu sessions: {} sessions of {} members at once, every member publishing \
         (1280x720@30 packets at {} kbit/s without an encoder, Opus-sized audio) and receiving \
         the others through its slots; all sans-IO rtc connections on one thread; server in a \
         child process (port sharing {}, {}); {cores} cores; {} s measured after {} s settling",
        plan.sessions,
        plan.members,
        plan.video_bps / 1000,
        plan.sharing.as_deref().unwrap_or("auto"),
        if plan.send_batch {
            "sendmmsg"
        } else {
            "one sendto per datagram"
        },
        MEASURE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "{:>7} {:>8} {:>9} {:>9} {:>10} {:>10} {:>8} {:>11} {:>9} {:>8} {:>7} {:>6}",
        "workers",
        "in pkt/s",
        "out pkt/s",
        "loss mean",
        "loss worst",
        "pkt/cpu-s",
        "srv core",
        "worker core",
        "load core",
        "read %",
        "RSS MiB",
        "load"
    );
    for &workers in &plan.workers {
        let serve = ServeOptions {
            workers,
            sharing: plan.sharing.clone(),
            send_batch: plan.send_batch,
        };
        let mut server = ServerProcess::start(&serve).await?;
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut sent = Vec::new();
        let mut received = Vec::new();
        for s in 0..plan.sessions {
            let target = Target {
                url: server.url.clone(),
                session: format!("session-{s}"),
            };
            for m in 0..plan.members {
                let counters = Arc::new(Counters::default());
                let receive = Arc::new(Counters::default());
                tasks.push(tokio::task::spawn_local(load::publisher(
                    target.clone(),
                    Publishing {
                        name: format!("Member {s}.{m}"),
                        video_bps: plan.video_bps,
                        receive: Some(Arc::clone(&receive)),
                    },
                    Arc::clone(&counters),
                    stop.clone(),
                )));
                sent.push(counters);
                received.push(receive);
            }
        }
        let connected = wait_connected(&sent).await;
        let row = match connected {
            Err(e) => Err(e),
            Ok(()) => {
                tokio::time::sleep(SETTLE).await;
                let start = Snapshot::take(&mut server, &sent[0], &received).await?;
                let published_start: u64 =
                    sent.iter().map(|c| c.packets.load(Ordering::Relaxed)).sum();
                let keyframes_start: u64 = sent
                    .iter()
                    .map(|c| c.keyframes.load(Ordering::Relaxed))
                    .sum();
                tokio::time::sleep(MEASURE).await;
                let end = Snapshot::take(&mut server, &sent[0], &received).await?;
                let published_end: u64 =
                    sent.iter().map(|c| c.packets.load(Ordering::Relaxed)).sum();
                let keyframes_end: u64 = sent
                    .iter()
                    .map(|c| c.keyframes.load(Ordering::Relaxed))
                    .sum();
                Ok((
                    start,
                    end,
                    published_end - published_start,
                    keyframes_end - keyframes_start,
                ))
            }
        };
        stop_tx.send_replace(true);
        let (rss, _) = server.memory();
        for task in tasks {
            task.await?;
        }
        server.stop().await?;
        let (start, end, published, keyframes) = match row {
            Ok(row) => row,
            Err(e) => {
                println!("{workers:>7} not measured: {e} (load {})", load_average());
                continue;
            }
        };
        let seconds = end.at.duration_since(start.at).as_secs_f64();
        let rtp_in = (end.sfu.rtp_in - start.sfu.rtp_in) as f64;
        let rtp_out = (end.sfu.rtp_out - start.sfu.rtp_out) as f64;
        let server_cpu = end.server_cpu - start.server_cpu;
        let (mean, worst) = loss(&start.received, &end.received);
        println!(
            "{workers:>7} {:>8.0} {:>9.0} {:>8.3}% {:>9.3}% {:>10.0} {:>8.2} {:>11} {:>9.2} {:>7.1}% {:>7.1} {:>6}",
            rtp_in / seconds,
            rtp_out / seconds,
            mean,
            worst,
            if server_cpu > 0.0 { rtp_out / server_cpu } else { f64::NAN },
            server_cpu / seconds,
            worker_cores(&start.worker_cpu, &end.worker_cpu, seconds),
            (end.own_cpu - start.own_cpu) / seconds,
            100.0 * rtp_in / (published as f64).max(1.0),
            rss,
            load_average()
        );
        println!(
            "        handed between workers {:.0}/s, dropped on the way {}, unrouted {}; \
             keyframes sent {:.1}/s (every 4 s by themselves: {:.1}/s)",
            (end.sfu.handed_on - start.sfu.handed_on) as f64 / seconds,
            end.sfu.handoff_dropped,
            end.sfu.unrouted,
            keyframes as f64 / seconds,
            sent.len() as f64 / 4.0
        );
    }
    Ok(())
}
