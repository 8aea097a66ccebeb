//! Graceful shutdown: every member is told `session_ended {server_shutdown}` and closed with
//! 1001 ("going away", protocol §1), and the server stops accepting connections.

mod common;

use common::{start_open, Client, TestResult};
use huddle_proto::{EndReason, ServerEvent};

#[tokio::test]
async fn shutdown_tells_everyone_and_closes() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let addr = server.local_addr();
    let (mut ann, _) = Client::join_open(&url, "one", "Ann").await?;
    let (mut bob, _) = Client::join_open(&url, "one", "Bob").await?;
    let (mut cat, _) = Client::join_open(&url, "two", "Cat").await?;
    // Connected but not yet joined: closed as well.
    let mut lurker = Client::connect(&url).await?;
    assert_eq!(server.counts().rooms, 2);

    server.shutdown().await;

    for client in [&mut ann, &mut bob, &mut cat] {
        let reason = client
            .event_where(|e| match e {
                ServerEvent::SessionEnded { reason } => Some(reason.clone()),
                _ => None,
            })
            .await?;
        assert_eq!(reason, EndReason::ServerShutdown);
        assert_eq!(client.expect_closed().await?, Some(1001));
    }
    assert_eq!(lurker.expect_closed().await?, Some(1001));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting connections after shutdown"
    );
    Ok(())
}
