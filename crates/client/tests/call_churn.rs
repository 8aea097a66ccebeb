//! Connecting and leaving 1,000 times leaves memory flat: every media connection the server
//! made is gone afterwards, and the process (server and clients) does not grow with the
//! number of calls made. (webrtc-rs 0.21.0 leaked every closed connection; 0.21.1 fixed it.)

mod call_support;

use std::time::{Duration, Instant};

use call_support::TestResult;
use huddle_client::call::{self, CallOptions, MediaState};
use huddle_client::session::JoinOptions;
use huddle_server::{Server, ServerConfig};

/// Calls made at the same time.
const CONCURRENT: usize = 10;
/// Calls made in all.
const TOTAL: usize = 1_000;
/// Calls made before the baseline is read (allocator pools and caches fill up first: after
/// only 100 calls the baseline was seen anywhere from 74 to 88 MiB, with the same 91 MiB at
/// the end).
const WARM_UP: usize = 300;

fn rss_kib() -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

async fn one_call(url: String, n: usize) -> TestResult {
    let join = JoinOptions::new(
        url,
        format!("churn {}", n % CONCURRENT),
        format!("member {n}"),
    );
    let (call, _events) = call::join(CallOptions::new(join)).await?;
    call.wait_media(MediaState::Connected, Duration::from_secs(30))
        .await?;
    call.leave().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_calls_leave_memory_flat() -> TestResult {
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let started = Instant::now();
    let mut baseline = None;
    let mut trace = Vec::new();
    let mut done = 0;
    while done < TOTAL {
        let batch: Vec<_> = (done..done + CONCURRENT)
            .map(|n| tokio::spawn(one_call(url.clone(), n)))
            .collect();
        for call in batch {
            call.await??;
        }
        done += CONCURRENT;
        if done % 100 == 0 {
            trace.push(rss_kib()? / 1024);
        }
        if done == WARM_UP {
            // Let the server finish closing the warm-up connections.
            tokio::time::sleep(Duration::from_millis(500)).await;
            baseline = Some(rss_kib()?);
        }
    }
    let peers_now = || server.media_stats().map(|s| s.peers).ok_or("media is off");
    let deadline = Instant::now() + Duration::from_secs(10);
    while peers_now()? > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peers = peers_now()?;
    let end = rss_kib()?;
    let baseline = baseline.ok_or("no baseline")?;
    let growth = end.saturating_sub(baseline);
    eprintln!(
        "{TOTAL} calls in {:?}: RSS {baseline} KiB after {WARM_UP}, {end} KiB after {TOTAL} \
         (+{growth} KiB, {:.1} KiB per call); server connections left: {peers}; RSS MiB every \
         100 calls: {trace:?}",
        started.elapsed(),
        growth as f64 / (TOTAL - WARM_UP) as f64
    );
    assert_eq!(
        peers, 0,
        "the server kept media connections of members who left"
    );
    // A leak of even 20 KiB per closed connection would add 14 MiB here.
    assert!(
        growth < 12 * 1024,
        "memory grew by {growth} KiB over {} calls",
        TOTAL - WARM_UP
    );
    server.shutdown().await;
    Ok(())
}
