//! TURN reachability against a real coturn on loopback: with the server's secret, UDP, TCP
//! and TLS allocations are each reported working; with a wrong secret each is reported
//! failing, with the reason.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use huddle_client::nettest::{self, NettestOptions};
use huddle_client::tls::Trust;
use huddle_server::nettest::TurnConfig;
use support::{BoxError, TestResult};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "coturn-shared-secret-for-tests";

/// coturn with its own configuration in a temporary directory; stopped and removed on drop.
struct Coturn {
    child: Child,
    dir: PathBuf,
    port: u16,
    tls_port: u16,
    cert_der: Vec<u8>,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both TCP and UDP on loopback.
fn free_port() -> Result<u16, BoxError> {
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

fn start_coturn() -> Result<Coturn, BoxError> {
    if Command::new("turnserver").arg("--help").output().is_err() {
        return Err("coturn (turnserver) is not installed: apt-get install coturn".into());
    }
    let dir = std::env::temp_dir().join(format!("huddle-coturn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem())?;
    let port = free_port()?;
    let tls_port = free_port()?;
    let relay_base = 40000 + (std::process::id() % 200) as u16 * 100;
    let conf = format!(
        "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\ntls-listening-port={tls_port}\n\
         min-port={relay_base}\nmax-port={}\nuse-auth-secret\nstatic-auth-secret={SECRET}\n\
         realm=huddle.test\ncert={}\npkey={}\nno-cli\nno-dtls\nno-tlsv1\nno-tlsv1_1\n\
         log-file=stdout\nsimple-log\npidfile={}\nuserdb={}\n",
        relay_base + 99,
        dir.join("cert.pem").display(),
        dir.join("key.pem").display(),
        dir.join("turnserver.pid").display(),
        dir.join("turndb").display(),
    );
    std::fs::write(dir.join("turnserver.conf"), conf)?;
    let child = Command::new("turnserver")
        .arg("-c")
        .arg(dir.join("turnserver.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let coturn = Coturn {
        child,
        dir,
        port,
        tls_port,
        cert_der: cert.cert.der().to_vec(),
    };
    // Ready when both listeners accept.
    let started = Instant::now();
    loop {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok();
        if ok {
            return Ok(coturn);
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("coturn did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

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
