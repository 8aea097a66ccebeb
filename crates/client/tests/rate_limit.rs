//! A 2 Mbit/s token-bucket limit each way: throughput within ±20 % in each limited direction,
//! graded fair (below what comfortable 720p needs, above the poor line).

mod support;

use huddle_client::nettest::Grade;
use support::{nettest, rel_err, server_config, Netns, ServerInNs, TestResult};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_megabit_each_way() -> TestResult {
    let ns = Netns::new()?;
    ns.limit_ns_egress("2mbit")?;
    ns.limit_host_egress("2mbit")?;
    let server = ServerInNs::start(&ns, server_config(ns.ns_ip.into()))?;
    let report = nettest(&server.url).await?;
    let down = report.download.value.as_ref().ok_or("download failed")?;
    let up = report.upload.value.as_ref().ok_or("upload failed")?;
    println!(
        "ACCURACY tbf 2000 kbit/s measured download {:.0} kbit/s ({:+.1}%) upload {:.0} kbit/s ({:+.1}%)",
        down.kbps,
        100.0 * (down.kbps - 2000.0) / 2000.0,
        up.kbps,
        100.0 * (up.kbps - 2000.0) / 2000.0
    );
    assert!(rel_err(down.kbps, 2000.0) <= 0.20, "{down:?}");
    assert!(rel_err(up.kbps, 2000.0) <= 0.20, "{up:?}");
    assert_eq!(report.grade, Grade::Fair, "{:?}", report.advice);
    Ok(())
}
