//! TURN reachability against a real coturn on loopback: with the server's secret, UDP, TCP
//! and TLS allocations are each reported working; with a wrong secret each is reported
//! failing, with the reason.

mod support;

use std::time::Duration;

use huddle_client::nettest::{self, NettestOptions};
use huddle_client::tls::Trust;
use huddle_server::nettest::TurnConfig;
use support::{start_coturn, BoxError, Coturn, TestResult, SECRET};
use tokio_util::sync::CancellationToken;

async fn run_with_secret(coturn: &Coturn, secret: &str) -> Result<nettest::Report, BoxError> {
    let mut config = huddle_server::ServerConfig::open_loopback();
    config.nettest.turn = Some(TurnConfig {
        secret: secret.as_bytes().to_vec(),
        urls: vec![
            format!("turn:127.0.0.1:{}?transport=udp", coturn.port),
            format!("turn:127.0.0.1:{}?transport=tcp", coturn.port),
            format!("turns:127.0.0.1:{}?transport=tcp", coturn.tls_port),
        ],
        ttl: Duration::from_secs(600),
    });
    let server = huddle_server::Server::start(config).await?;
    let mut options = NettestOptions::new(server.http_url());
    options.trust = Trust::Only(vec![coturn.cert_der.clone().into()]);
    let report = nettest::run(&options, None, CancellationToken::new()).await;
    server.shutdown().await;
    let report = report?;
    println!("{}", serde_json::to_string_pretty(&report.turn)?);
    Ok(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_over_udp_tcp_and_tls() -> TestResult {
    let coturn = start_coturn()?;
    let report = run_with_secret(&coturn, SECRET).await?;
    assert_eq!(report.turn.len(), 3);
    for check in &report.turn {
        assert!(check.ok, "{check:?}");
        assert!(
            check
                .relayed
                .as_deref()
                .unwrap_or("")
                .starts_with("127.0.0.1:"),
            "{check:?}"
        );
    }
    let r = &report.reachability;
    assert_eq!(
        (r.turn_udp, r.turn_tcp, r.turn_tls),
        (Some(true), Some(true), Some(true))
    );

    let wrong = run_with_secret(&coturn, "not-the-secret").await?;
    for check in &wrong.turn {
        assert!(!check.ok, "{check:?}");
        let error = check.error.as_deref().unwrap_or("");
        assert!(error.contains("refused the credentials"), "{check:?}");
    }
    let r = &wrong.reachability;
    assert_eq!(
        (r.turn_udp, r.turn_tcp, r.turn_tls),
        (Some(false), Some(false), Some(false))
    );
    assert!(
        wrong.advice.iter().any(|a| a.contains("TURN")),
        "{:?}",
        wrong.advice
    );
    Ok(())
}
