//! A clean path through a namespace: everything works and the grade is good.

mod support;

use huddle_client::nettest::Grade;
use support::{nettest, server_config, Netns, ServerInNs, TestResult};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_path_is_good() -> TestResult {
    let ns = Netns::new()?;
    let server = ServerInNs::start(&ns, server_config(ns.ns_ip.into()))?;
    let report = nettest(&server.url).await?;
    let udp = report.udp.value.as_ref().ok_or("UDP echo failed")?;
    assert!(udp.loss_pct < 1.0, "{udp:?}");
    assert!(udp.received >= 990, "{udp:?}");
    assert!(report.websocket.value.is_some(), "{:?}", report.websocket);
    assert!(report.download.value.is_some() && report.upload.value.is_some());
    assert!(report.reachability.udp && report.reachability.tcp);
    assert_eq!(report.grade, Grade::Good, "{:?}", report.advice);
    assert!(report.advice.is_empty(), "{:?}", report.advice);
    Ok(())
}
