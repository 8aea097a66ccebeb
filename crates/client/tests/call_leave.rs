//! Leaving a call returns once everything it started has ended: no capture, encode or decode
//! thread of it is left, so the camera and the codecs are released when `leave` returns, not
//! some time later. One test in its own process, so the threads counted are this call's.

mod call_support;

use std::time::{Duration, Instant};

use call_support::{all_connected, eventually, join, options, TestResult};
use huddle_server::{Server, ServerConfig};

/// Names of this process's threads that belong to calls (`huddle-camera-send`,
/// `huddle-decode-v0`…; the kernel keeps 15 characters), not the in-process server's media
/// workers (`huddle-sfu-N`, which live as long as the server).
fn call_threads() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("huddle-") && !name.starts_with("huddle-sfu-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_returns_when_the_call_has_ended() -> TestResult {
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let ann = join(options(&url, "leaving", "Ann", 1)).await?;
    let bo = join(options(&url, "leaving", "Bo", 2)).await?;
    all_connected(&[&ann, &bo]).await?;
    // Each decodes the other's video before leaving, so decoders run too.
    eventually("video both ways", Duration::from_secs(20), || {
        !ann.frames_from(bo.id).is_empty() && !bo.frames_from(ann.id).is_empty()
    })
    .await?;
    let running = call_threads();
    assert!(
        running.iter().any(|t| t.starts_with("huddle-decode"))
            && running.iter().any(|t| t.starts_with("huddle-camera")),
        "expected capture and decode threads, found {running:?}"
    );

    let started = Instant::now();
    bo.call.leave().await?;
    ann.call.leave().await?;
    let took = started.elapsed();
    let left = call_threads();
    assert!(
        left.is_empty(),
        "threads still running after leave: {left:?}"
    );
    assert!(ann.call.wait_ended(Duration::ZERO).await);
    println!("two calls left in {took:?}");
    server.shutdown().await;
    Ok(())
}
