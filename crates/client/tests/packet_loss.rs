//! 5 % random loss each way at the server's side: measured within ±2 points, attributed to
//! both directions, graded poor.

mod support;

use huddle_client::nettest::Grade;
use support::{nettest, server_config, Netns, ServerInNs, TestResult};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_each_way() -> TestResult {
    let ns = Netns::new()?;
    ns.drop_both(5)?;
    let server = ServerInNs::start(&ns, server_config(ns.ns_ip.into()))?;
    // The configuration fetch goes over lossy TCP too; it retransmits.
    let report = nettest(&server.url).await?;
    let udp = report.udp.value.as_ref().ok_or("UDP echo failed")?;
    println!(
        "ACCURACY loss injected 5%/5% measured up {:.2}% down {:.2}% round trip {:.2}% (expected {:.2}%)",
        udp.loss_up_pct, udp.loss_down_pct, udp.loss_pct, 100.0 * (1.0 - 0.95 * 0.95)
    );
    assert!((udp.loss_up_pct - 5.0).abs() <= 2.0, "{udp:?}");
    assert!((udp.loss_down_pct - 5.0).abs() <= 2.0, "{udp:?}");
    // The round trip compounds both directions (9.75 % expected), so its estimate spreads
    // wider than either direction's: allow three standard errors of a binomial estimate.
    let p = 1.0 - 0.95 * 0.95;
    let three_se = 300.0 * (p * (1.0 - p) / f64::from(udp.sent)).sqrt();
    assert!(
        (udp.loss_pct - 100.0 * p).abs() <= three_se,
        "{udp:?} (allowed ±{three_se:.2} points)"
    );
    assert_eq!(report.grade, Grade::Poor);
    assert!(
        report.advice[0].contains("packet loss"),
        "{:?}",
        report.advice
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_up_only() -> TestResult {
    let ns = Netns::new()?;
    ns.drop_incoming(5)?;
    let server = ServerInNs::start(&ns, server_config(ns.ns_ip.into()))?;
    let report = nettest(&server.url).await?;
    let udp = report.udp.value.as_ref().ok_or("UDP echo failed")?;
    println!(
        "ACCURACY loss injected 5% up only measured up {:.2}% down {:.2}% round trip {:.2}%",
        udp.loss_up_pct, udp.loss_down_pct, udp.loss_pct
    );
    assert!((udp.loss_pct - 5.0).abs() <= 2.0, "{udp:?}");
    assert!((udp.loss_up_pct - 5.0).abs() <= 2.0, "{udp:?}");
    assert!(udp.loss_down_pct <= 1.0, "{udp:?}");
    // Around the 5 % line: fair or poor, never good.
    assert_ne!(report.grade, Grade::Good);
    Ok(())
}
