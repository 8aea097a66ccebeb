//! A link that goes silent without closing (a frozen network path) is noticed by the missing
//! heartbeat answers, and the client resumes over a fresh connection.
//!
//! The client reaches the real server through a small relay owned by this test; freezing the
//! relay stops every byte on the existing connection while keeping its sockets open, which is
//! what a dead route looks like from both ends.

mod session_support;

use std::net::SocketAddr;
use std::time::Duration;

use huddle_client::session::{self, ConnectionStatus, JoinOptions, SessionEvent};
use huddle_server::{Server, ServerConfig};
use session_support::{join, wait_event, wait_state, TestResult};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections to `target`; connections accepted before a freeze stop forwarding
/// when the freeze counter moves past them.
async fn start_relay(target: SocketAddr) -> TestResult<(SocketAddr, watch::Sender<u64>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (freeze_tx, freeze_rx) = watch::channel(0u64);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let generation = *freeze_rx.borrow();
            let mut freeze = freeze_rx.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let frozen = tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => false,
                    changed = freeze.wait_for(|g| *g > generation) => changed.is_ok(),
                };
                if frozen {
                    // Keep both sockets open and silent until the test ends.
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    Ok((addr, freeze_tx))
}

#[tokio::test]
async fn silent_link_is_detected_and_resumed() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    // A short heartbeat keeps the silence detection (three intervals) quick.
    config.heartbeat_interval = Duration::from_millis(200);
    let server = Server::start(config).await?;
    let (relay, freeze) = start_relay(server.local_addr()).await?;

    let (ann, _ann_events) = join(&server, "quiet", "Ann").await?;
    let options = JoinOptions::new(format!("{relay}"), "quiet", "Bo");
    let (bo, mut bo_events) = session::join(options).await?;
    let bo_id = bo.state().me;
    wait_state(&ann, "Ann sees Bo", |s| s.members.len() == 2).await?;

    freeze.send_modify(|g| *g += 1);
    wait_event(&mut bo_events, "reconnecting", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnecting))
    })
    .await?;
    wait_event(&mut bo_events, "reconnected", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnected))
    })
    .await?;
    assert_eq!(bo.state().me, bo_id);

    // The resumed connection carries traffic both ways.
    ann.chat("still there?").await?;
    wait_state(&bo, "Bo gets the message", |s| {
        s.chat.iter().any(|m| m.text == "still there?")
    })
    .await?;
    bo.chat("yes").await?;
    wait_state(&ann, "Ann gets the answer", |s| {
        s.chat.iter().any(|m| m.text == "yes")
    })
    .await?;
    assert_eq!(ann.state().members.len(), 2);

    bo.leave().await?;
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}
