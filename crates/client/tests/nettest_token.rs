//! Against a server in token mode the network test runs for a holder of a join token (the
//! server hands out a grant the later stages carry) and is refused, in the protocol's words,
//! without one.

use std::time::Duration;

use huddle_client::nettest::{self, NettestOptions};
use huddle_client::ClientError;
use huddle_proto::{ErrorCode, Role};
use huddle_server::auth::unix_now;
use huddle_server::{mint_token, AuthMode, MintRequest, Server, ServerConfig};
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SECRET: &[u8] = b"nettest-token-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_holder_is_tested_and_a_stranger_is_refused() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.auth = AuthMode::Jwt {
        secret: SECRET.to_vec(),
    };
    let server = Server::start(config).await?;
    let url = format!("http://{}", server.local_addr());

    let mut options = NettestOptions::new(url.clone());
    options.time_limit = Duration::from_secs(6);
    match nettest::run(&options, None, CancellationToken::new()).await {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::TokenRequired),
        other => return Err(format!("a stranger was not refused: {other:?}").into()),
    }

    options.token = Some(mint_token(
        SECRET,
        &MintRequest {
            session: "standup".to_owned(),
            role: Role::Participant,
            ttl: Duration::from_secs(600),
            identity: None,
            session_key: None,
            now_unix: unix_now(),
        },
    )?);
    let report = nettest::run(&options, None, CancellationToken::new()).await?;
    assert!(report.udp.value.is_some(), "{:?}", report.udp);
    assert!(report.websocket.value.is_some(), "{:?}", report.websocket);
    assert!(report.download.value.is_some(), "{:?}", report.download);
    assert!(report.upload.value.is_some(), "{:?}", report.upload);
    server.shutdown().await;
    Ok(())
}
