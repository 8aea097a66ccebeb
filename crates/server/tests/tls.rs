//! TLS: the server serves WSS with PEM files, and refuses to serve plain HTTP on a public
//! address unless told to.

mod common;

use common::{TestCert, TestResult};
use huddle_proto::{Role, ServerMessage};
use huddle_server::{Server, ServerConfig, ServerError, TlsFiles};

#[tokio::test]
async fn joins_over_wss() -> TestResult {
    let cert = TestCert::new("tls")?;
    let mut config = ServerConfig::open_loopback();
    config.tls = Some(cert.files.clone());
    let server = Server::start(config).await?;
    assert!(server.ws_url().starts_with("wss://"));

    match cert.join(&server, "secure", "Ann").await? {
        ServerMessage::Welcome(welcome) => assert_eq!(welcome.role, Role::Host),
        other => return Err(format!("expected welcome, got {other:?}").into()),
    }

    // A plain-text client cannot talk to the TLS port.
    let plain =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", server.local_addr())).await;
    assert!(plain.is_err(), "plain WebSocket accepted on the TLS port");

    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn plain_on_public_address_needs_allow_plain() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.bind = "0.0.0.0:0".parse()?;
    match Server::start(config.clone()).await {
        Err(ServerError::Config(message)) => assert!(message.contains("--allow-plain")),
        Err(other) => return Err(format!("wrong error: {other}").into()),
        Ok(_) => return Err("served plain HTTP on 0.0.0.0 without --allow-plain".into()),
    }
    // Refusing only needs the configuration check; nothing is bound.
    config.tls = Some(TlsFiles {
        cert: "missing-cert.pem".into(),
        key: "missing-key.pem".into(),
    });
    match Server::start(config).await {
        Err(ServerError::Tls(message)) => assert!(message.contains("missing-cert.pem")),
        Err(other) => return Err(format!("wrong error: {other}").into()),
        Ok(_) => return Err("started without its certificate".into()),
    }
    Ok(())
}
