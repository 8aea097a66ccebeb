//! Fan-out of the forwarding unit with a load side that costs little: one publisher and N
//! subscribers, every one a sans-IO `rtc` connection (see `load.rs`), all on one thread of this
//! process, against the server in a child process. Prints forwarded packets per server
//! CPU-second; asserts nothing.
//!
//! ```text
//! cargo build --release -p huddle-client --example bench_sfu
//! target/release/examples/bench_sfu [--all] [SUBSCRIBERS...]
//! ```
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
    cpu_seconds, init_tracing, load_average, serve, BenchResult, ServerProcess, SfuCounts,
};
use load::{Counters, Target};
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
        return runtime.block_on(serve());
    }
    // `--all`: every row is run, saturated or not (the stop rules are still reported).
    let all = args.iter().any(|a| a == "--all");
    let mut counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if counts.is_empty() {
        counts = vec![10, 50, 100, 200, 400];
    }
    // The whole load side (signaling, connections, this measurement) on this one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, fanout(&counts, all))
}

/// Counters read at one moment.
struct Snapshot {
    at: Instant,
    sfu: SfuCounts,
    server_cpu: f64,
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

async fn fanout(counts: &[usize], all: bool) -> BenchResult {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    println!(
        "bench_sfu: one publisher (1280x720@30 packets at {} kbit/s without an encoder, \
         Opus-sized audio every 20 ms) and N subscribers, all sans-IO rtc connections on one \
         thread; server in a child process; {cores} cores; {} s measured after {} s settling",
        load::VIDEO_BPS / 1000,
        MEASURE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "{:>4} {:>8} {:>9} {:>9} {:>10} {:>10} {:>8} {:>9} {:>7} {:>6}",
        "N",
        "in pkt/s",
        "out pkt/s",
        "loss mean",
        "loss worst",
        "pkt/cpu-s",
        "srv core",
        "load core",
        "RSS MiB",
        "load"
    );
    for &n in counts {
        let mut server = ServerProcess::start().await?;
        let target = Target {
            url: server.url.clone(),
            session: "fanout".to_owned(),
        };
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = Vec::new();
        let publisher = Arc::new(Counters::default());
        tasks.push(tokio::task::spawn_local(load::publisher(
            target.clone(),
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
        let losses: Vec<f64> = start
            .received
            .iter()
            .zip(&end.received)
            .map(|(a, b)| {
                let expected = (b.1 - a.1) as f64;
                if expected > 0.0 {
                    100.0 * (1.0 - (b.0 - a.0) as f64 / expected)
                } else {
                    100.0
                }
            })
            .collect();
        let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        let worst = losses.iter().copied().fold(0.0, f64::max);
        let per_cpu_second = if server_cpu > 0.0 {
            rtp_out / server_cpu
        } else {
            f64::NAN
        };
        println!(
            "{n:>4} {:>8.0} {:>9.0} {:>8.3}% {:>9.3}% {:>10.0} {:>8.2} {:>9.2} {:>7.1} {:>6}",
            rtp_in / seconds,
            rtp_out / seconds,
            mean,
            worst,
            per_cpu_second,
            server_cores,
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
