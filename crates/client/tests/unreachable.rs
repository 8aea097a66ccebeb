//! Servers that cannot be reached or are not Huddle servers give a clear error within the
//! time limit instead of hanging.

mod support;

use std::time::{Duration, Instant};

use huddle_client::nettest::{self, Grade, NettestOptions};
use huddle_client::ClientError;
use support::{server_config, Netns, ServerInNs, TestResult};
use tokio_util::sync::CancellationToken;

async fn run(url: &str) -> (Result<nettest::Report, ClientError>, Duration, Duration) {
    let options = NettestOptions::new(url);
    let started = Instant::now();
    let result = nettest::run(&options, None, CancellationToken::new()).await;
    (result, started.elapsed(), options.time_limit)
}

#[tokio::test]
async fn nothing_listening_is_refused() -> TestResult {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let (result, took, limit) = run(&format!("http://127.0.0.1:{port}")).await;
    match result {
        Err(ClientError::Unreachable { reason, .. }) => {
            assert!(reason.contains("refused"), "{reason}")
        }
        other => return Err(format!("expected Unreachable, got {other:?}").into()),
    }
    assert!(took < limit, "{took:?}");
    Ok(())
}

#[tokio::test]
async fn not_a_huddle_server() -> TestResult {
    let (addr, server) = plain_http_404().await?;
    let (result, took, limit) = run(&format!("http://{addr}")).await;
    server.abort();
    assert!(
        matches!(result, Err(ClientError::BadAnswer { .. })),
        "{result:?}"
    );
    assert!(took < limit, "{took:?}");
    Ok(())
}

/// A listener that answers every connection with a plain-HTTP 404, as a web server that is
/// not a Huddle server would.
async fn plain_http_404() -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    Ok((addr, server))
}

#[tokio::test]
async fn a_server_without_tls_is_a_tls_failure_not_unreachable() -> TestResult {
    let (addr, server) = plain_http_404().await?;
    let (result, took, limit) = run(&format!("https://{addr}")).await;
    let joined = huddle_client::join(huddle_client::JoinOptions::new(
        format!("wss://{addr}"),
        "Team".to_owned(),
        "Ann".to_owned(),
    ))
    .await;
    server.abort();
    assert!(
        matches!(result, Err(ClientError::TlsHandshake { .. })),
        "{result:?}"
    );
    assert!(took < limit, "{took:?}");
    assert!(
        matches!(joined, Err(ClientError::TlsHandshake { .. })),
        "{:?}",
        joined.map(|_| ())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_hole_times_out_within_the_limit() -> TestResult {
    let ns = Netns::new()?;
    ns.drop_all_incoming()?;
    let (result, took, limit) = run(&format!("http://{}:7880", ns.ns_ip)).await;
    match result {
        Err(ClientError::Unreachable { reason, .. }) => {
            assert!(reason.contains("in time"), "{reason}")
        }
        other => return Err(format!("expected Unreachable, got {other:?}").into()),
    }
    assert!(took <= limit + Duration::from_millis(500), "{took:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_blocked_is_reported_and_poor() -> TestResult {
    let ns = Netns::new()?;
    ns.drop_udp_incoming()?;
    let server = ServerInNs::start(&ns, server_config(ns.ns_ip.into()))?;
    let (result, took, limit) = run(&server.url).await;
    let report = result?;
    assert!(!report.reachability.udp);
    assert!(report.reachability.tcp);
    assert!(
        report
            .udp
            .error
            .as_deref()
            .unwrap_or("")
            .contains("no reply"),
        "{:?}",
        report.udp
    );
    assert!(report.websocket.value.is_some());
    assert_eq!(report.grade, Grade::Poor);
    assert!(took <= limit + Duration::from_millis(500), "{took:?}");
    Ok(())
}

#[tokio::test]
async fn cancelling_stops_the_test() -> TestResult {
    let server = huddle_server::Server::start(huddle_server::ServerConfig::open_loopback()).await?;
    let options = NettestOptions::new(server.http_url());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let result = nettest::run(&options, None, cancel).await;
    server.shutdown().await;
    assert!(matches!(result, Err(ClientError::Cancelled)), "{result:?}");
    Ok(())
}
