//! Prints how long the network test takes against an embedded server on loopback, over a
//! few runs: `cargo run -p huddle-client --example bench_nettest --release`. The accuracy
//! figures under injected faults come from the namespace tests (lines starting `ACCURACY`
//! with `cargo test -p huddle-client -- --nocapture`).

use std::time::Instant;

use huddle_client::nettest::{self, NettestOptions};
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = huddle_server::Server::start(huddle_server::ServerConfig::open_loopback()).await?;
    let options = NettestOptions::new(server.http_url());
    println!("run  total_s  udp_rtt_ms  jitter_ms  loss_pct  grade");
    for run in 1..=5 {
        let started = Instant::now();
        let report = nettest::run(&options, None, CancellationToken::new()).await?;
        let udp = report.udp.value.as_ref();
        println!(
            "{run:>3}  {:>7.2}  {:>10.3}  {:>9.3}  {:>8.2}  {}",
            started.elapsed().as_secs_f64(),
            udp.map(|u| u.rtt_ms).unwrap_or(f64::NAN),
            udp.map(|u| u.jitter_ms).unwrap_or(f64::NAN),
            udp.map(|u| u.loss_pct).unwrap_or(f64::NAN),
            report.grade
        );
    }
    server.shutdown().await;
    Ok(())
}
