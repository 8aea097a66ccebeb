//! Benchmarks of the in-meeting apps' shared channel (docs/apps.md §4–5): how long a message
//! takes from one member to another through the server, and how many messages one session's
//! channel relays, with the server's per-connection app limit and with it raised. The server
//! runs in this process (open mode, loopback); every member is a `Session` of the call client.
//! Prints figures; asserts nothing.
//!
//! ```text
//! cargo run --release -p huddle-client --example bench_apps -- [--messages=2000] [--senders=8]
//!     [--rate=25] [--members=20] [--seconds=10] [--payload-bytes=200] [--window=4] [--in-step]
//! ```
//!
//! - latency: `--senders` members send `--messages` in all, each at `--rate` a second (inside
//!   the server's 30/s), staggered; one more member with the app open receives them. Each
//!   message is a whiteboard stroke of about `--payload-bytes` bytes of JSON stamped with its
//!   send time (nanoseconds since a start shared by the whole process); the receiver takes the
//!   latency as it reads the message off its event stream.
//! - throughput at the server's limits: `--members` members in one session, all with the app
//!   open, each sending for `--seconds` as fast as its app budget allows (a token bucket on
//!   the client with the server's rate and burst, so refusals show where the two disagree).
//! - throughput with the limit raised: the same with `app_per_second` and `app_burst` at
//!   10,000, each member keeping `--window` messages in flight: what the server itself relays.
//!
//! The throughput members start spread over one token interval; `--in-step` starts them
//! together, so that at the server's limits their messages reach it at the same moments and
//! each member is written many frames back to back.
//!
//! Every message reaches every member with the app open, its sender included, so deliveries
//! are messages × members. CPU is the whole process's (server and clients together) from
//! `/proc/self/stat`, nothing subtracted.

// CPU time, load average and logging of the other benchmarks (its child-process server is
// not used here: this one runs in the process).
#[allow(
    dead_code,
    reason = "the server runs in this process; the child-process half is unused"
)]
mod bench_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bench_support::{cpu_seconds, init_tracing, load_average, BenchResult};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt as _;
use huddle_client::session::{self, AppEvent, JoinOptions, Session, SessionEvent, SessionEvents};
use huddle_client::ClientError;
use huddle_proto::{json_len, AppId, ErrorCode, ParticipantId};
use huddle_server::{Server, ServerConfig, ServerHandle};
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The app whose channel carries the load.
const APP: &str = "whiteboard";
/// The raised per-connection app limit of the last run (per second and burst).
const RAISED_LIMIT: u32 = 10_000;
/// Pause between the last member opening the app and the first message, so every member's
/// app budget at the server is full again (`app_open` took a token).
const SETTLE: Duration = Duration::from_millis(500);
/// Deliveries still arriving after the senders stopped are waited for until none came for
/// this long.
const DRAIN_QUIET: Duration = Duration::from_secs(2);
/// Longest wait for one member's `app_opened`.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Events a member's client may hold unread: far above what a run leaves waiting, so none is
/// dropped on the client side.
const EVENT_CAPACITY: usize = 1 << 16;

/// What the command line asked for.
#[derive(Debug, Clone)]
struct Plan {
    /// Messages of the latency run, all senders together.
    messages: u64,
    /// Sending members of the latency run.
    senders: usize,
    /// Messages a second from each sender of the latency run.
    rate: f64,
    /// Members of the throughput runs.
    members: usize,
    /// Sending time of each throughput run.
    seconds: u64,
    /// Size of each message's data as JSON, roughly.
    payload_bytes: usize,
    /// Requests each member keeps in flight.
    window: usize,
    /// Throughput members start together instead of spread over one token interval.
    in_step: bool,
}

const USAGE: &str = "usage: bench_apps [--messages=2000] [--senders=8] [--rate=25] \
                     [--members=20] [--seconds=10] [--payload-bytes=200] [--window=4] \
                     [--in-step]";

impl Plan {
    fn from_args(args: &[String]) -> BenchResult<Plan> {
        let mut plan = Plan {
            messages: 2_000,
            senders: 8,
            rate: 25.0,
            members: 20,
            seconds: 10,
            payload_bytes: 200,
            window: 4,
            in_step: false,
        };
        for arg in args {
            if arg == "--in-step" {
                plan.in_step = true;
                continue;
            }
            let Some((key, value)) = arg.strip_prefix("--").and_then(|a| a.split_once('=')) else {
                return Err(format!("unknown argument `{arg}`\n{USAGE}").into());
            };
            let bad = || format!("--{key} takes a number, not `{value}`");
            match key {
                "messages" => plan.messages = value.parse().map_err(|_| bad())?,
                "senders" => plan.senders = value.parse().map_err(|_| bad())?,
                "rate" => plan.rate = value.parse().map_err(|_| bad())?,
                "members" => plan.members = value.parse().map_err(|_| bad())?,
                "seconds" => plan.seconds = value.parse().map_err(|_| bad())?,
                "payload-bytes" => plan.payload_bytes = value.parse().map_err(|_| bad())?,
                "window" => plan.window = value.parse().map_err(|_| bad())?,
                _ => return Err(format!("unknown flag `--{key}`\n{USAGE}").into()),
            }
        }
        if plan.senders == 0 || plan.members < 2 || plan.window == 0 || plan.seconds == 0 {
            return Err(
                format!("need senders ≥ 1, members ≥ 2, window ≥ 1, seconds ≥ 1\n{USAGE}").into(),
            );
        }
        if !(plan.rate > 0.0 && plan.rate.is_finite()) {
            return Err("--rate must be above zero".into());
        }
        Ok(plan)
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> BenchResult {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = Plan::from_args(&args)?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "bench_apps: server in this process (open mode, loopback), {cores} cores, load average {}",
        load_average()
    );
    println!("CPU figures are the whole process's, server and clients together (/proc/self/stat)");
    let stroke = Stroke::new(plan.payload_bytes);
    println!(
        "message data: {} bytes of JSON (a whiteboard stroke)",
        stroke.size()
    );
    println!();
    latency(&plan, &stroke).await?;
    println!();
    let config = ServerConfig::open_loopback();
    let limit = config.rate_limit;
    let load = Load {
        title: format!(
            "throughput at the server's limits ({}/s, bursts of {} per connection)",
            limit.app_per_second, limit.app_burst
        ),
        pace: Pace::bucket(limit.app_per_second, limit.app_burst),
        config,
    };
    throughput(&plan, &stroke, load).await?;
    println!();
    let mut config = ServerConfig::open_loopback();
    config.rate_limit.app_per_second = RAISED_LIMIT;
    config.rate_limit.app_burst = RAISED_LIMIT;
    let load = Load {
        title: format!(
            "throughput with the app limit raised to {RAISED_LIMIT}/s, {} in flight per member",
            plan.window
        ),
        pace: Pace::Flat,
        config,
    };
    throughput(&plan, &stroke, load).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The runs

/// Latency of single messages, member to member, at a pace well inside the limit.
async fn latency(plan: &Plan, stroke: &Stroke) -> BenchResult {
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let members = join_all(&server, "bench-latency", plan.senders + 1).await?;
    let clock = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let mut members = members.into_iter();
    let receiver = members.next().ok_or("no receiver")?;
    let mut receivers = vec![receiver.listen(clock, Some(0), &delivered, &stop)];
    let interval = Duration::from_secs_f64(1.0 / plan.rate);
    let started = Instant::now() + SETTLE;
    let mut senders = Vec::new();
    for (i, member) in members.enumerate() {
        let session = member.session.clone();
        receivers.push(member.listen(clock, None, &delivered, &stop));
        // An even share of the messages, and an even spread of the senders over one interval.
        let share = plan.messages / plan.senders as u64
            + u64::from((i as u64) < plan.messages % plan.senders as u64);
        let from = started + interval.mul_f64(i as f64 / plan.senders as f64);
        let sending = Sending {
            pace: Pace::every(interval, from),
            messages: share,
            from,
            until: from + interval.mul_f64(share as f64 + 1.0) + Duration::from_secs(60),
            window: plan.window,
        };
        senders.push(tokio::spawn(send(
            session,
            sending,
            stroke.clone(),
            clock,
            i,
        )));
    }
    let sent = collect_sends(senders).await?;
    let members_count = plan.senders as u64 + 1;
    drain(&delivered, sent.accepted * members_count).await;
    stop.cancel();
    let heard = collect_receipts(receivers).await?;
    let elapsed = Instant::now()
        .saturating_duration_since(started)
        .as_secs_f64();
    println!(
        "latency: {} senders at {}/s each, 1 receiver, {} messages in {:.1} s",
        plan.senders, plan.rate, sent.accepted, elapsed
    );
    print_latency("member to member", &heard.latencies);
    print_losses(&sent, &heard, members_count);
    server.shutdown().await;
    Ok(())
}

/// One throughput run: how members send, and the server's app limit.
struct Load {
    title: String,
    config: ServerConfig,
    pace: Pace,
}

/// Messages a session's channel carries: every member sending for `plan.seconds`.
async fn throughput(plan: &Plan, stroke: &Stroke, load: Load) -> BenchResult {
    let limit = load.config.rate_limit;
    let server = Server::start(load.config).await?;
    let members = join_all(&server, "bench-throughput", plan.members).await?;
    let clock = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let seconds = Duration::from_secs(plan.seconds);
    // Members start spread over one token interval unless asked to start in step (then, at
    // the server's limits, they all send at the same moments); latencies are also given apart
    // for the messages sent once a full burst would have been earned back.
    let stagger = if plan.in_step {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(1.0 / f64::from(limit.app_per_second.max(1)))
    };
    let burst_spent = f64::from(limit.app_burst) / f64::from(limit.app_per_second.max(1));
    let started = Instant::now() + SETTLE;
    let steady = (started + Duration::from_secs_f64(burst_spent)).saturating_duration_since(clock);
    let steady_from = u64::try_from(steady.as_nanos()).unwrap_or(u64::MAX);
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (i, member) in members.into_iter().enumerate() {
        let sending = Sending {
            pace: load.pace.clone(),
            messages: u64::MAX,
            from: started + stagger.mul_f64(i as f64 / plan.members as f64),
            until: started + seconds,
            window: plan.window,
        };
        let session = member.session.clone();
        senders.push(tokio::spawn(send(
            session,
            sending,
            stroke.clone(),
            clock,
            i,
        )));
        receivers.push(member.listen(clock, Some(steady_from), &delivered, &stop));
    }
    tokio::time::sleep_until(started).await;
    let cpu_before = cpu_seconds("self");
    let sent = collect_sends(senders).await?;
    let sending_for = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    let members_count = plan.members as u64;
    drain(&delivered, sent.accepted * members_count).await;
    stop.cancel();
    let heard = collect_receipts(receivers).await?;
    let window = seconds.as_secs_f64();
    println!(
        "{}: {} members for {} s{}",
        load.title,
        plan.members,
        plan.seconds,
        if plan.in_step { ", in step" } else { "" }
    );
    println!(
        "  relayed {} ({:.0}/s, {:.1}/s per member)  deliveries {} ({:.0}/s)",
        sent.accepted,
        sent.accepted as f64 / window,
        sent.accepted as f64 / window / plan.members as f64,
        heard.deliveries,
        heard.deliveries as f64 / window,
    );
    print_losses(&sent, &heard, members_count);
    println!(
        "  process CPU {cpu:.2} s in {sending_for:.2} s ({:.2} CPU-s per s)",
        cpu / sending_for
    );
    print_latency("to the other members, whole run", &heard.latencies);
    print_latency(
        &format!("to the other members, after the first {burst_spent:.1} s"),
        &heard.steady,
    );
    server.shutdown().await;
    Ok(())
}

fn print_latency(what: &str, sorted: &[u64]) {
    println!(
        "  latency {what}: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} samples)",
        percentile_ms(sorted, 0.50),
        percentile_ms(sorted, 0.95),
        percentile_ms(sorted, 0.99),
        percentile_ms(sorted, 1.0),
        sorted.len(),
    );
}

fn print_losses(sent: &Sent, heard: &Receipts, members: u64) {
    println!(
        "  refused (rate_limited) {}  failed {}  not delivered {}",
        sent.limited,
        sent.failed,
        (sent.accepted * members).saturating_sub(heard.deliveries)
    );
}

// ---------------------------------------------------------------------------------------------
// Members

/// A member with the app open.
struct Member {
    session: Session,
    events: SessionEvents,
    me: ParticipantId,
}

impl Member {
    /// Starts reading this member's events: counts app messages into `delivered` and, with
    /// `record`, keeps the latency of those other members sent (apart too for those sent at
    /// or after `record`, in nanoseconds of `clock`).
    fn listen(
        self,
        clock: Instant,
        record: Option<u64>,
        delivered: &Arc<AtomicU64>,
        stop: &CancellationToken,
    ) -> tokio::task::JoinHandle<Receipts> {
        let delivered = Arc::clone(delivered);
        let stop = stop.clone();
        let Member {
            session,
            mut events,
            me,
        } = self;
        tokio::spawn(async move {
            let mut receipts = Receipts::default();
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => break,
                    event = events.recv() => event,
                };
                match event {
                    Some(SessionEvent::App(AppEvent::Message(message))) => {
                        let now = nanos_since(clock);
                        receipts.deliveries += 1;
                        delivered.fetch_add(1, Ordering::Relaxed);
                        let sent = message.data.get("sent_ns").and_then(Value::as_u64);
                        if let (Some(steady_from), Some(sent), true) =
                            (record, sent, message.from != me)
                        {
                            let latency = now.saturating_sub(sent);
                            receipts.latencies.push(latency);
                            if sent >= steady_from {
                                receipts.steady.push(latency);
                            }
                        }
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            receipts.dropped = events.dropped();
            // Errors leaving do not change the figures.
            let _ = session.leave().await;
            receipts
        })
    }
}

/// `count` members of `session_name`, each with the app open (its `app_opened` read).
async fn join_all(
    server: &ServerHandle,
    session_name: &str,
    count: usize,
) -> BenchResult<Vec<Member>> {
    let app = AppId::parse(APP)?;
    let mut members = Vec::with_capacity(count);
    for i in 0..count {
        let mut options = JoinOptions::new(server.ws_url(), session_name, format!("Member {i}"));
        options.event_capacity = EVENT_CAPACITY;
        let (session, mut events) = session::join(options).await?;
        session.app_open(app.clone()).await?;
        tokio::time::timeout(OPEN_TIMEOUT, async {
            while let Some(event) = events.recv().await {
                if matches!(event, SessionEvent::App(AppEvent::Opened { .. })) {
                    return Ok(());
                }
            }
            Err("events ended before app_opened")
        })
        .await
        .map_err(|_| "no app_opened in time")??;
        let me = session.state().me;
        members.push(Member {
            session,
            events,
            me,
        });
    }
    Ok(members)
}

/// What one member's reading saw.
#[derive(Debug, Default)]
struct Receipts {
    /// App messages read.
    deliveries: u64,
    /// Send-to-read times of other members' messages, in nanoseconds.
    latencies: Vec<u64>,
    /// The same for the messages sent from the time asked for on.
    steady: Vec<u64>,
    /// Events the client dropped because they were not read in time.
    dropped: u64,
}

async fn collect_receipts(
    receivers: Vec<tokio::task::JoinHandle<Receipts>>,
) -> BenchResult<Receipts> {
    let mut all = Receipts::default();
    for receiver in receivers {
        let receipts = receiver.await?;
        all.deliveries += receipts.deliveries;
        all.dropped += receipts.dropped;
        all.latencies.extend(receipts.latencies);
        all.steady.extend(receipts.steady);
    }
    all.latencies.sort_unstable();
    all.steady.sort_unstable();
    if all.dropped > 0 {
        println!("  (the clients dropped {} unread events)", all.dropped);
    }
    Ok(all)
}

/// Waits until `expected` messages were delivered, or none came for [`DRAIN_QUIET`].
async fn drain(delivered: &AtomicU64, expected: u64) {
    let mut last = delivered.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while last < expected && quiet_since.elapsed() < DRAIN_QUIET {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = delivered.load(Ordering::Relaxed);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sending

/// When a sender may send its next message.
#[derive(Debug, Clone)]
enum Pace {
    /// One every `interval`, the first at `next`; after a stall the schedule is not caught up
    /// in a burst.
    Every { interval: Duration, next: Instant },
    /// A token bucket: `per_second` tokens a second, at most `burst` held; starts full.
    Bucket {
        per_second: f64,
        burst: f64,
        tokens: f64,
        filled: Instant,
    },
    /// Whenever a request slot is free.
    Flat,
}

impl Pace {
    fn every(interval: Duration, first: Instant) -> Pace {
        Pace::Every {
            interval,
            next: first,
        }
    }

    fn bucket(per_second: u32, burst: u32) -> Pace {
        Pace::Bucket {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            filled: Instant::now(),
        }
    }

    /// Takes the right to send now, or says how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        match self {
            Pace::Every { interval, next } => {
                if now < *next {
                    return Err(*next - now);
                }
                *next = (*next + *interval).max(now);
                Ok(())
            }
            Pace::Bucket {
                per_second,
                burst,
                tokens,
                filled,
            } => {
                let earned = now.saturating_duration_since(*filled).as_secs_f64() * *per_second;
                *tokens = (*tokens + earned).min(*burst);
                *filled = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    Ok(())
                } else {
                    Err(Duration::from_secs_f64((1.0 - *tokens) / *per_second))
                }
            }
            Pace::Flat => Ok(()),
        }
    }
}

/// How one member sends.
#[derive(Debug, Clone)]
struct Sending {
    pace: Pace,
    /// Most messages to send.
    messages: u64,
    /// The first message is not started before this.
    from: Instant,
    /// No message is started after this.
    until: Instant,
    /// Most requests awaiting their answer at once.
    window: usize,
}

/// How a member's requests were answered.
#[derive(Debug, Default)]
struct Sent {
    accepted: u64,
    /// Refused with `rate_limited`.
    limited: u64,
    /// Refused otherwise, or unanswered.
    failed: u64,
}

impl Sent {
    fn count(&mut self, answer: Result<(), ClientError>) {
        match answer {
            Ok(()) => self.accepted += 1,
            Err(ClientError::Rejected {
                code: ErrorCode::RateLimited,
                ..
            }) => self.limited += 1,
            Err(other) => {
                if self.failed == 0 {
                    tracing::warn!("app message failed: {other}");
                }
                self.failed += 1;
            }
        }
    }
}

/// Sends strokes from member `index` as `sending` says, then waits for the last answers.
async fn send(
    session: Session,
    mut sending: Sending,
    stroke: Stroke,
    clock: Instant,
    index: usize,
) -> BenchResult<Sent> {
    let app = AppId::parse(APP)?;
    let mut sent = Sent::default();
    let mut started = 0u64;
    tokio::time::sleep_until(sending.from).await;
    let mut in_flight = FuturesUnordered::new();
    loop {
        let now = Instant::now();
        let more = started < sending.messages && now < sending.until;
        if !more && in_flight.is_empty() {
            break;
        }
        if more && in_flight.len() < sending.window {
            match sending.pace.take(now) {
                Ok(()) => {
                    let data = stroke.stamped(index, started, nanos_since(clock));
                    let session = session.clone();
                    let app = app.clone();
                    in_flight.push(async move { session.app_send(app, data).await });
                    started += 1;
                }
                Err(wait) => {
                    let wait = wait.min(sending.until.saturating_duration_since(now));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        Some(answer) = in_flight.next() => sent.count(answer),
                    }
                }
            }
        } else if let Some(answer) = in_flight.next().await {
            sent.count(answer);
        }
    }
    Ok(sent)
}

async fn collect_sends(
    senders: Vec<tokio::task::JoinHandle<BenchResult<Sent>>>,
) -> BenchResult<Sent> {
    let mut all = Sent::default();
    for sender in senders {
        let sent = sender.await??;
        all.accepted += sent.accepted;
        all.limited += sent.limited;
        all.failed += sent.failed;
    }
    Ok(all)
}

/// A whiteboard stroke: points padded out to the payload size asked for.
#[derive(Debug, Clone)]
struct Stroke {
    points: Arc<Value>,
}

impl Stroke {
    fn new(payload_bytes: usize) -> Stroke {
        let mut points = Vec::new();
        let mut stroke = Stroke {
            points: Arc::new(Value::Array(Vec::new())),
        };
        while stroke.size() < payload_bytes {
            let i = points.len() as u64;
            points.push(json!([100 + (i * 37) % 800, 100 + (i * 53) % 600]));
            stroke.points = Arc::new(Value::Array(points.clone()));
        }
        stroke
    }

    /// The message `seq` of sender `from`, stamped with its send time.
    fn stamped(&self, from: usize, seq: u64, sent_ns: u64) -> Value {
        json!({
            "t": "stroke",
            "id": format!("{from}-{seq}"),
            "color": "#1f6feb",
            "width": 3,
            "sent_ns": sent_ns,
            "points": &*self.points,
        })
    }

    /// Encoded size of a typical message.
    fn size(&self) -> usize {
        json_len(&self.stamped(10, 1_000, 10_000_000_000))
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

fn nanos_since(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The `p` quantile (nearest rank) of sorted nanoseconds, in milliseconds; 0 for none.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).map_or(0.0, |&ns| ns as f64 / 1e6)
}
