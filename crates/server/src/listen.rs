//! Accepting sockets and serving HTTP on them, with the bounds that hold before anyone is a
//! member: the [`Gate`]'s socket counts, the TLS handshake timeout, the header-read timeout
//! (which also closes idle keep-alive connections), and a read budget on `/v1/ws` sockets that
//! have not joined yet.
//!
//! [`serve`] runs until `shutdown` is cancelled, then stops accepting, lets requests in flight
//! finish and returns. Upgraded sockets live on in their own tasks (see `conn`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ConnectionLimits;
use crate::gate::{Gate, Stage, Ticket};
use crate::http::PeerAddr;

/// Longest a client may take over its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes a `/v1/ws` socket may send before `join` beyond the pre-join frame limit: room for
/// frame headers, pings, and what a client sends right behind its join.
pub const PREJOIN_SLACK_BYTES: usize = 16 * 1024;

/// How long a request in flight may still take once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Largest HTTP read buffer per connection: request heads are small, and a slow one cannot
/// make the server hold more than this.
const MAX_HTTP_BUFFER: usize = 64 * 1024;

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    gate: Arc<Gate>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    let tls = tls.map(TlsAcceptor::from);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(ticket) = gate.admit(peer.ip(), tls.is_some()) else {
            tracing::debug!(%peer, "connection refused: members hold every place");
            continue;
        };
        // Signaling is small frames that must go at once: with Nagle's algorithm a second
        // frame close behind a first waited for the peer's delayed ACK (~40 ms; bench_apps).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
        }
        let connection = Connection {
            peer,
            ticket: Arc::new(ticket),
            router: router.clone(),
            prejoin_budget: limits
                .max_prejoin_frame_bytes
                .saturating_add(PREJOIN_SLACK_BYTES),
            header_read_timeout: limits.header_read_timeout,
            shutdown: shutdown.clone(),
        };
        connections.spawn(connection.run(tcp, tls.clone()));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// One accepted socket until it is upgraded or closed.
struct Connection {
    peer: SocketAddr,
    ticket: Arc<Ticket>,
    router: Router,
    prejoin_budget: usize,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, tcp: TcpStream, tls: Option<TlsAcceptor>) {
        let Some(acceptor) = tls else {
            return self.http(tcp).await;
        };
        let peer = self.peer;
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            },
            _ = self.ticket.evicted().cancelled() => {
                tracing::debug!(%peer, "TLS handshake displaced by a newer one");
                return;
            }
            _ = self.shutdown.cancelled() => return,
        };
        self.ticket.advance(Stage::Http);
        self.http(stream).await;
    }

    async fn http<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Budgeted::new(
            io,
            Arc::clone(&self.ticket),
            self.prejoin_budget,
        ));
        let router = TowerToHyperService::new(self.router);
        let (peer, ticket) = (self.peer, Arc::clone(&self.ticket));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
            request.extensions_mut().insert(Arc::clone(&ticket));
            hyper::service::Service::call(&router, request)
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(MAX_HTTP_BUFFER);
        let connection = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            _ = self.shutdown.cancelled() => {
                // Idle connections close at once, requests in flight get a moment to finish;
                // a request still coming in (a slow or stalled head) is not waited for.
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(result) => result,
                    Err(_) => return,
                }
            }
            _ = self.ticket.evicted().cancelled() => {
                tracing::debug!(peer = %self.peer, "connection displaced by a newer one");
                return;
            }
        };
        if let Err(e) = result {
            // Header-read timeouts, resets and malformed requests end up here.
            tracing::debug!(peer = %self.peer, error = %e, "HTTP connection ended");
        }
        // Closed, or handed to a WebSocket task that now holds the ticket.
        self.ticket.advance(Stage::Upgraded);
    }
}

/// A socket whose reads are bounded while its ticket says it has not joined: past the budget,
/// a read fails with an error the WebSocket layer reports as a frame too long, so the client is
/// told `message_too_large` and closed instead of making the server buffer a large frame; it
/// drops what it reads from then on.
///
/// When dropped, the socket is shut down and read out (bytes dropped) for up to [`LINGER`]
/// before it closes: a socket closed with unread data is reset, and the reset would destroy
/// the last frames on their way, such as why a client that is still sending (a flood, a big
/// frame) was closed. A client that closes its end at once ends the linger at once.
struct Budgeted<I: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    /// Always there until `Drop` hands it to the lingering task.
    inner: Option<I>,
    ticket: Arc<Ticket>,
    budget: usize,
    read: usize,
    overflowed: bool,
}

/// How long a socket is still read (and its bytes dropped) after the server is done with it.
const LINGER: Duration = Duration::from_secs(2);

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "socket already closed")
}

impl<I: AsyncRead + AsyncWrite + Unpin + Send + 'static> Budgeted<I> {
    fn new(inner: I, ticket: Arc<Ticket>, budget: usize) -> Self {
        Self {
            inner: Some(inner),
            ticket,
            budget,
            read: 0,
            overflowed: false,
        }
    }

    fn inner(&mut self) -> io::Result<Pin<&mut I>> {
        self.inner.as_mut().map(Pin::new).ok_or_else(gone)
    }
}

/// Reads and drops whatever is there; ready (with nothing read) at end of stream.
fn poll_discard<I: AsyncRead + Unpin>(inner: &mut I, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let mut scratch = [0u8; 4096];
    loop {
        let mut sink = ReadBuf::new(&mut scratch);
        match Pin::new(&mut *inner).poll_read(cx, &mut sink) {
            Poll::Ready(Ok(())) if sink.filled().is_empty() => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for Budgeted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let overflowed = self.overflowed;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Err(gone()));
        };
        if overflowed {
            return poll_discard(inner, cx);
        }
        let before = buf.filled().len();
        let polled = Pin::new(inner).poll_read(cx, buf);
        if self.ticket.before_join() {
            self.read = self
                .read
                .saturating_add(buf.filled().len().saturating_sub(before));
            if self.read > self.budget {
                self.overflowed = true;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "frame too long before join",
                )));
            }
        }
        polled
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Budgeted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.inner() {
            Ok(inner) => inner.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.inner() {
            Ok(inner) => inner.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(I::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.inner() {
            Ok(inner) => inner.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.inner() {
            Ok(inner) => inner.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for Budgeted<I> {
    fn drop(&mut self) {
        let (Some(mut inner), Ok(runtime)) =
            (self.inner.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        // The lingering socket keeps its place at the gate (and can be displaced from it).
        let ticket = Arc::clone(&self.ticket);
        runtime.spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            let linger = async {
                // End our side (the close frame is already out), then read until the client
                // ends its own.
                let _ = inner.shutdown().await;
                let _ = std::future::poll_fn(|cx| poll_discard(&mut inner, cx)).await;
            };
            tokio::select! {
                _ = tokio::time::timeout(LINGER, linger) => {}
                _ = ticket.evicted().cancelled() => {}
            }
        });
    }
}
