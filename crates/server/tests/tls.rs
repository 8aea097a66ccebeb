//! TLS: the server serves WSS with PEM files, and refuses to serve plain HTTP on a public
//! address unless told to.

mod common;

use std::sync::Arc;

use common::{join_message, TestResult};
use futures_util::{SinkExt as _, StreamExt as _};
use huddle_proto::{decode_server, ClientMessage, Role, ServerMessage};
use huddle_server::{Server, ServerConfig, ServerError, TlsFiles};
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;

/// A fresh directory for this test's files.
fn scratch_dir(name: &str) -> TestResult<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("huddle-server-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::test]
async fn joins_over_wss() -> TestResult {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let dir = scratch_dir("tls")?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem())?;
    std::fs::write(&key_path, certified.signing_key.serialize_pem())?;

    let mut config = ServerConfig::open_loopback();
    config.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let server = Server::start(config).await?;
    assert!(server.ws_url().starts_with("wss://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone())?;
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = tokio::net::TcpStream::connect(server.local_addr()).await?;
    let tls = connector
        .connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp)
        .await?;
    let url = format!("wss://localhost:{}/v1/ws", server.local_addr().port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await?;
    let join = ClientMessage::Join(join_message("secure", "Ann"));
    ws.send(Message::text(serde_json::to_string(&join)?))
        .await?;
    let reply = tokio::time::timeout(common::PATIENCE, ws.next())
        .await?
        .ok_or("closed")??;
    match decode_server(reply.to_text()?)? {
        ServerMessage::Welcome(welcome) => assert_eq!(welcome.role, Role::Host),
        other => return Err(format!("expected welcome, got {other:?}").into()),
    }

    // A plain-text client cannot talk to the TLS port.
    let plain =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", server.local_addr())).await;
    assert!(plain.is_err(), "plain WebSocket accepted on the TLS port");

    server.shutdown().await;
    std::fs::remove_dir_all(dir)?;
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
