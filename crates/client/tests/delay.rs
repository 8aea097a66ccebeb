//! 50 ms added each way by a userspace relay: round-trip time within ±15 % of the 100 ms
//! added, over UDP and over the WebSocket.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use huddle_client::nettest::Grade;
use support::{nettest, rel_err, start_delay_relay, TestResult};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_ms_round_trip() -> TestResult {
    let server = huddle_server::Server::start(huddle_server::ServerConfig::open_loopback()).await?;
    let target = server.local_addr();
    // Ask the server which UDP port it echoes on, then relay both ports from 127.0.0.2.
    let config: serde_json::Value = reqwest_free_get(target, "/v1/nettest/config").await?;
    let udp_port = config["udp_port"].as_u64().ok_or("no udp_port")? as u16;
    let relay_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let tasks = start_delay_relay(relay_ip, target, udp_port, Duration::from_millis(50)).await?;
    let report = nettest(&format!("http://{relay_ip}:{}", target.port())).await;
    for task in tasks {
        task.abort();
    }
    server.shutdown().await;
    let report = report?;
    let udp = report.udp.value.as_ref().ok_or("UDP echo failed")?;
    let ws = report
        .websocket
        .value
        .as_ref()
        .ok_or("WebSocket echo failed")?;
    println!(
        "ACCURACY delay 100 ms round trip measured UDP {:.1} ms ({:+.1}%) WebSocket {:.1} ms ({:+.1}%)",
        udp.rtt_ms,
        100.0 * (udp.rtt_ms - 100.0) / 100.0,
        ws.rtt_ms,
        100.0 * (ws.rtt_ms - 100.0) / 100.0
    );
    assert!(rel_err(udp.rtt_ms, 100.0) <= 0.15, "{udp:?}");
    assert!(rel_err(ws.rtt_ms, 100.0) <= 0.15, "{ws:?}");
    assert!(udp.loss_pct < 1.0, "{udp:?}");
    // 100 ms round trip is within ITU-T G.114's comfortable one-way budget.
    assert_eq!(report.grade, Grade::Good, "{:?}", report.advice);
    Ok(())
}

/// A plain HTTP/1.1 GET of a JSON body, without pulling an HTTP client into the test.
async fn reqwest_free_get(
    addr: std::net::SocketAddr,
    path: &str,
) -> Result<serde_json::Value, support::BoxError> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    let body = text.split_once("\r\n\r\n").ok_or("no HTTP body")?.1;
    Ok(serde_json::from_str(body)?)
}
