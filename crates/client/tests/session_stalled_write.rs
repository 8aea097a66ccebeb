//! A connection that stops taking data (the peer's window closed, a middlebox holding the
//! flow) is lost as far as the client is concerned: its write gives up after a heartbeat
//! interval and the session resumes on a new connection, instead of the driver freezing
//! behind the write with its heartbeats.

mod session_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use huddle_client::session::{self, ConnectionStatus, JoinOptions, SessionEvent};
use session_support::{drain, start_open, wait_event, TestResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A relay to `target` whose first connection stops reading from the client once `stall` is
/// set (it still passes on what the server says); later connections flow freely. Its receive
/// buffer is small, so the client's side fills after a few megabytes.
async fn stalling_relay(target: std::net::SocketAddr, stall: Arc<AtomicBool>) -> TestResult<u16> {
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = socket.listen(16)?;
    let port = listener.local_addr()?.port();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let first = connections.fetch_add(1, Ordering::Relaxed) == 0;
            let stall = Arc::clone(&stall);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut from_client, mut to_server) = (client.into_split(), server.into_split());
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut to_server.0, &mut from_client.1).await;
                });
                let mut buf = vec![0u8; 2048];
                loop {
                    if first && stall.load(Ordering::Relaxed) {
                        // Take nothing more, and hold the connection open.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    match from_client.0.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if to_server.1.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                down.abort();
            });
        }
    });
    Ok(port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_stalls_gives_the_connection_up_and_the_session_resumes() -> TestResult {
    let server = start_open().await?;
    let stall = Arc::new(AtomicBool::new(false));
    let port = stalling_relay(server.local_addr(), Arc::clone(&stall)).await?;
    let options = JoinOptions::new(format!("ws://127.0.0.1:{port}/v1/ws"), "stall", "Ann");
    let (ann, mut events) = session::join(options).await?;
    drain(&mut events);

    // The relay stops taking Ann's data; her chat fills the socket's buffers until a write
    // cannot finish.
    stall.store(true, Ordering::Relaxed);
    let text = "x".repeat(huddle_proto::limits::MAX_CHAT_CHARS);
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..2_000 {
        let ann = ann.clone();
        let text = text.clone();
        sends.spawn(async move { ann.chat(&text).await });
    }
    // Within a heartbeat interval of the stall (plus the wait's margin), not never.
    wait_event(&mut events, "reconnecting after the stalled write", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnecting))
    })
    .await?;
    wait_event(&mut events, "resumed on a new connection", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnected))
    })
    .await?;
    sends.abort_all();
    assert_eq!(ann.status(), ConnectionStatus::Reconnected);
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}
