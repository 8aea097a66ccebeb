//! Media on bad networks, with real faults: a relay-only call through coturn, a client whose
//! link is cut for 5 s, and a client behind 10 % random loss each way. The cut and lossy
//! clients run `huddle-cli` inside a network namespace; the server and the observing client
//! run in the root namespace.

mod call_support;
mod support;

use std::net::IpAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use call_support::{all_connected, eventually, in_order, join, longest_gap, options, Client};
use huddle_proto::{ConnectionState, ParticipantId};
use huddle_server::nettest::TurnConfig;
use huddle_server::{Server, ServerConfig};
use support::{server_config, start_coturn, BoxError, Netns, TestResult, SECRET};
use tokio::io::AsyncBufReadExt as _;

/// One test at a time: they measure real-time behaviour.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_only_call_through_coturn() -> TestResult {
    let _serial = SERIAL.lock().await;
    let coturn = start_coturn()?;
    let mut config = ServerConfig::open_loopback();
    config.nettest.turn = Some(TurnConfig {
        secret: SECRET.as_bytes().to_vec(),
        urls: vec![format!("turn:127.0.0.1:{}?transport=udp", coturn.port)],
        ttl: Duration::from_secs(600),
    });
    let server = Server::start(config).await?;
    let url = server.http_url();
    let mut ann_options = options(&url, "relay", "Ann", 1);
    ann_options.relay_only = true;
    let mut bob_options = options(&url, "relay", "Bob", 2);
    bob_options.relay_only = true;
    let ann = join(ann_options).await?;
    let bob = join(bob_options).await?;
    all_connected(&[&ann, &bob]).await?;
    for (me, other) in [(&ann, &bob), (&bob, &ann)] {
        eventually(
            "30 frames through the relay",
            Duration::from_secs(20),
            || me.frames_from(other.id).len() >= 30,
        )
        .await?;
        assert!(in_order(&me.frames_from(other.id)));
        eventually(
            "a second of audio through the relay",
            Duration::from_secs(10),
            || me.with(|r| r.audio.get(&other.id).map_or(0, Vec::len)) >= 48_000,
        )
        .await?;
    }
    ann.call.leave().await?;
    bob.call.leave().await?;
    server.shutdown().await;
    drop(coturn);
    Ok(())
}

/// `huddle-cli join` running inside a namespace, its JSON lines collected.
struct CliClient {
    child: tokio::process::Child,
    id: u64,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl CliClient {
    async fn start(ns: &Netns, url: &str, session: &str, name: &str) -> Result<Self, BoxError> {
        let mut child = tokio::process::Command::new("ip")
            .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_huddle-cli")])
            .args(["join", url, session, "--name", name, "--json"])
            .args(["--size", "320x180", "--fps", "15", "--stats-every", "1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut reader = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), reader.next_line())
            .await??
            .ok_or("huddle-cli printed nothing")?;
        let welcome: serde_json::Value = serde_json::from_str(&first)?;
        let id = welcome["state"]["me"]
            .as_u64()
            .ok_or_else(|| format!("no id in {first}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        tokio::spawn(async move {
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(value);
                }
            }
        });
        Ok(Self { child, id, lines })
    }

    /// Its latest stats line.
    fn last_stats(&self) -> serde_json::Value {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines
            .iter()
            .rev()
            .find(|l| l["type"] == "media_stats")
            .cloned()
            .unwrap_or_default()
    }

    /// Frames this client decoded from `who`, per its latest stats line.
    fn frames_from(&self, who: u64) -> u64 {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines
            .iter()
            .rev()
            .find(|l| l["type"] == "media_stats")
            .and_then(|l| l["frames_by_participant"][who.to_string()].as_u64())
            .unwrap_or(0)
    }
}

/// Server in the root namespace on the veth address the namespace reaches.
async fn server_for(ns: &Netns) -> Result<huddle_server::ServerHandle, BoxError> {
    let config = server_config(IpAddr::V4(ns.host_ip));
    Ok(Server::start(config).await?)
}

fn roster_whole(observer: &Client, expected: &[u64]) -> bool {
    let state = observer.call.session().state();
    state.members.len() == expected.len()
        && expected.iter().all(|id| {
            state
                .member(ParticipantId(*id))
                .is_some_and(|m| m.connection == ConnectionState::Present)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_resumes_after_a_5s_cut() -> TestResult {
    let _serial = SERIAL.lock().await;
    let ns = Netns::new()?;
    let server = server_for(&ns).await?;
    let url = server.http_url();
    let bob = join(options(&url, "cut", "Bob", 2)).await?;
    let mut ann = CliClient::start(&ns, &url, "cut", "Ann").await?;
    all_connected(&[&bob]).await?;
    eventually("Bob sees Ann", Duration::from_secs(20), || {
        bob.frames_from(ann.id).len() >= 20
    })
    .await?;
    eventually("Ann sees Bob", Duration::from_secs(10), || {
        ann.frames_from(bob.id) >= 20
    })
    .await?;

    ns.cut()?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = bob.frames_from(ann.id).len();
    let ann_before = ann.frames_from(bob.id);
    ns.heal()?;
    let healed = Instant::now();
    let back = eventually("Ann's video back at Bob", Duration::from_secs(15), || {
        bob.frames_from(ann.id).len() >= before + 5
    })
    .await?;
    eventually("Bob's video back at Ann", Duration::from_secs(15), || {
        ann.frames_from(bob.id) >= ann_before + 5
    })
    .await?;
    let both = healed.elapsed();
    eprintln!("media back {back:?} after healing (both ways within {both:?})");
    assert!(
        back <= Duration::from_secs(2),
        "Ann's video took {back:?} to come back"
    );

    // Same identity, nobody twice, nobody left reconnecting.
    eventually("the roster is whole again", Duration::from_secs(15), || {
        roster_whole(&bob, &[bob.id, ann.id])
    })
    .await?;
    assert!(in_order(&bob.frames_from(ann.id)));
    assert!(ann.child.try_wait()?.is_none(), "huddle-cli ended");
    bob.call.leave().await?;
    let _ = ann.child.kill().await;
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn video_moves_and_audio_has_no_gaps_at_10_percent_loss() -> TestResult {
    let _serial = SERIAL.lock().await;
    let ns = Netns::new()?;
    let server = server_for(&ns).await?;
    let url = server.http_url();
    let bob = join(options(&url, "lossy", "Bob", 2)).await?;
    let mut ann = CliClient::start(&ns, &url, "lossy", "Ann").await?;
    all_connected(&[&bob]).await?;
    eventually("Bob sees Ann", Duration::from_secs(20), || {
        bob.frames_from(ann.id).len() >= 20
    })
    .await?;
    eventually("Bob hears Ann", Duration::from_secs(10), || {
        bob.with(|r| r.audio.get(&ann.id).map_or(0, Vec::len)) > 48_000
    })
    .await?;

    ns.drop_both(10)?;
    bob.reset();
    let ann_before = ann.frames_from(bob.id);
    let stats_before = bob.call.audio_stats();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let frames = bob.frames_from(ann.id);
    let gap = longest_gap(&frames);
    let (heard, gaps) = bob.with(|r| {
        (
            (r.audio.get(&ann.id).map_or(0, Vec::len) / 480) as u64,
            r.audio_gaps.get(&ann.id).copied().unwrap_or(0),
        )
    });
    let stats_after = bob.call.audio_stats();
    eprintln!(
        "10% loss: Bob decoded {} frames of Ann in 12 s (longest gap {gap:?}); {heard} audio frames, {gaps} silent; jitter {stats_before:?} -> {stats_after:?}; Bob's stats {:?}; Ann saw {} more of Bob; Ann's stats {}",
        frames.len(),
        bob.call.stats(),
        ann.frames_from(bob.id).saturating_sub(ann_before),
        ann.last_stats()
    );
    // Video keeps moving: most frames arrive and never freezes for long.
    assert!(frames.len() >= 90, "only {} frames in 12 s", frames.len());
    assert!(
        gap <= Duration::from_millis(1500),
        "video froze for {gap:?}"
    );
    assert!(in_order(&frames));
    // Audio has no gaps: every lost packet was recovered (FEC) or concealed.
    assert!(heard >= 1000, "only {heard} audio frames in 12 s");
    assert!(gaps * 100 <= heard, "{gaps} silent frames in {heard}");
    // And the other way: Ann keeps seeing Bob.
    assert!(ann.frames_from(bob.id) >= ann_before + 90);
    bob.call.leave().await?;
    let _ = ann.child.kill().await;
    server.shutdown().await;
    Ok(())
}
