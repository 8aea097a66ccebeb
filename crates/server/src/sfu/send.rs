//! Sending what a worker's router decided in one go: on Linux one `sendmmsg` system call
//! carries up to [`BATCH`] datagrams (each to its own address), instead of one `sendto` each;
//! elsewhere, or when batching is off, one `send_to` per datagram.
//!
//! A forwarded packet is copied to every subscriber, so the system call per datagram was the
//! largest single cost of forwarding (see docs/BENCHMARKS.md).

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::UdpSocket;

/// Most datagrams per system call.
pub const BATCH: usize = 64;
/// How long a worker that only sends waits for room in a full socket buffer before trying
/// again (it is not told when there is room).
const FULL_BUFFER_WAIT: Duration = Duration::from_millis(1);

/// A worker's socket on the media port.
#[derive(Debug)]
pub enum Port {
    /// One the worker reads and sends on, registered with its runtime.
    Reads(UdpSocket),
    /// A duplicate of the one reader's socket, which the worker only sends on. It is not
    /// registered with the worker's runtime: the registration would wake the worker on every
    /// readiness change of the shared socket (each datagram in, each send completed).
    Sends(StdUdpSocket),
}

impl Port {
    /// The next datagram, for a worker that reads; never, for one that only sends.
    pub async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        match self {
            Port::Reads(socket) => socket.recv_from(buf).await,
            Port::Sends(_) => std::future::pending().await,
        }
    }

    /// A datagram already waiting, without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        match self {
            Port::Reads(socket) => socket.try_recv_from(buf),
            Port::Sends(_) => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }

    async fn send_to(&self, bytes: &[u8], to: SocketAddr) -> std::io::Result<()> {
        match self {
            Port::Reads(socket) => socket.send_to(bytes, to).await.map(drop),
            Port::Sends(socket) => loop {
                match socket.send_to(bytes, to) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        tokio::time::sleep(FULL_BUFFER_WAIT).await;
                    }
                    other => return other.map(drop),
                }
            },
        }
    }

    /// Until the socket may take more.
    #[cfg(target_os = "linux")]
    async fn writable(&self) -> std::io::Result<()> {
        match self {
            Port::Reads(socket) => socket.writable().await,
            Port::Sends(_) => {
                tokio::time::sleep(FULL_BUFFER_WAIT).await;
                Ok(())
            }
        }
    }

    /// One `sendmmsg` of the first datagrams of `rest`.
    #[cfg(target_os = "linux")]
    fn try_sendmmsg(&self, rest: &[(SocketAddr, BytesMut)]) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd as _;
        match self {
            Port::Reads(socket) => socket.try_io(tokio::io::Interest::WRITABLE, || {
                sys::sendmmsg(socket.as_raw_fd(), rest)
            }),
            Port::Sends(socket) => sys::sendmmsg(socket.as_raw_fd(), rest),
        }
    }
}

/// Sends every datagram of `queue` and empties it. A datagram the kernel refuses (a
/// destination it cannot reach) is skipped; a full socket buffer is waited out.
pub async fn send_all(port: &Port, queue: &mut Vec<(SocketAddr, BytesMut)>, batched: bool) {
    if batched {
        send_batched(port, queue).await;
    } else {
        for (to, bytes) in queue.iter() {
            if let Err(e) = port.send_to(bytes, *to).await {
                tracing::trace!(%to, "media send failed: {e}");
            }
        }
    }
    queue.clear();
}

#[cfg(target_os = "linux")]
async fn send_batched(port: &Port, queue: &[(SocketAddr, BytesMut)]) {
    let mut sent = 0;
    while let Some(rest) = queue.get(sent..).filter(|r| !r.is_empty()) {
        match port.try_sendmmsg(rest) {
            Ok(n) => sent += n.max(1),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Err(e) = port.writable().await {
                    tracing::debug!("media socket: {e}");
                    return;
                }
            }
            Err(e) => {
                // The first datagram of the rest was refused: skip it, send the others.
                if let Some((to, _)) = rest.first() {
                    tracing::trace!(%to, "media send failed: {e}");
                }
                sent += 1;
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn send_batched(port: &Port, queue: &[(SocketAddr, BytesMut)]) {
    for (to, bytes) in queue {
        if let Err(e) = port.send_to(bytes, *to).await {
            tracing::trace!(%to, "media send failed: {e}");
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::net::SocketAddr;
    use std::os::fd::RawFd;

    use bytes::BytesMut;
    use socket2::SockAddr;

    use super::BATCH;

    /// One `sendmmsg` of the first [`BATCH`] datagrams at most: how many the kernel took.
    pub fn sendmmsg(fd: RawFd, datagrams: &[(SocketAddr, BytesMut)]) -> std::io::Result<usize> {
        let datagrams = datagrams
            .get(..datagrams.len().min(BATCH))
            .unwrap_or_default();
        let addrs: Vec<SockAddr> = datagrams
            .iter()
            .map(|(to, _)| SockAddr::from(*to))
            .collect();
        let mut iovs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(_, bytes)| libc::iovec {
                // The kernel only reads through it (a send).
                iov_base: bytes.as_ptr().cast_mut().cast(),
                iov_len: bytes.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = addrs
            .iter()
            .zip(iovs.iter_mut())
            .map(|(addr, iov)| {
                // SAFETY: `mmsghdr` is a plain C struct of integers and pointers, for which
                // all zeroes is a valid value (null pointers, zero lengths and flags).
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_name = addr.as_ptr().cast_mut().cast();
                header.msg_hdr.msg_namelen = addr.len();
                header.msg_hdr.msg_iov = std::ptr::from_mut(iov);
                header.msg_hdr.msg_iovlen = 1;
                header
            })
            .collect();
        let count = libc::c_uint::try_from(headers.len()).unwrap_or(0);
        // SAFETY: `headers` holds `count` initialised headers, each pointing at an address in
        // `addrs` and an iovec in `iovs` that points into a datagram of `datagrams`; all of them
        // outlive the call, which only reads them (and writes each header's `msg_len`).
        let rc = unsafe { libc::sendmmsg(fd, headers.as_mut_ptr(), count, libc::MSG_DONTWAIT) };
        usize::try_from(rc).map_err(|_| std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    async fn received(sink: &UdpSocket, count: usize) -> Result<Vec<Vec<u8>>, std::io::Error> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2000];
        while out.len() < count {
            let (n, _) =
                tokio::time::timeout(std::time::Duration::from_secs(5), sink.recv_from(&mut buf))
                    .await
                    .map_err(|_| std::io::Error::other("timed out"))??;
            out.push(buf.get(..n).unwrap_or_default().to_vec());
        }
        Ok(out)
    }

    /// Both kinds of port on one socket (as a worker that reads and one that only sends).
    async fn ports() -> Result<[Port; 2], std::io::Error> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let plain = socket.into_std()?;
        let dup = plain.try_clone()?;
        Ok([Port::Reads(UdpSocket::from_std(plain)?), Port::Sends(dup)])
    }

    #[tokio::test]
    async fn every_datagram_arrives_in_order_to_its_address_either_way() -> TestResult {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let (to_a, to_b) = (a.local_addr()?, b.local_addr()?);
        let ports = ports().await?;
        let runs = ports.iter().flat_map(|port| [(port, true), (port, false)]);
        for (port, batched) in runs {
            // More than one batch, alternating destinations, sizes up to a full datagram.
            let mut queue: Vec<(SocketAddr, BytesMut)> = (0..(BATCH * 2 + 5))
                .map(|i| {
                    let to = if i % 2 == 0 { to_a } else { to_b };
                    let mut bytes = BytesMut::from(&vec![(i % 251) as u8; 1 + (i * 37) % 1400][..]);
                    bytes.extend_from_slice(&(i as u32).to_be_bytes());
                    (to, bytes)
                })
                .collect();
            let want = |addr: SocketAddr| -> Vec<Vec<u8>> {
                queue
                    .iter()
                    .filter(|(to, _)| *to == addr)
                    .map(|(_, d)| d.to_vec())
                    .collect()
            };
            let (want_a, want_b) = (want(to_a), want(to_b));
            send_all(port, &mut queue, batched).await;
            assert!(queue.is_empty());
            assert_eq!(
                received(&a, want_a.len()).await?,
                want_a,
                "{port:?} batched: {batched}"
            );
            assert_eq!(
                received(&b, want_b.len()).await?,
                want_b,
                "{port:?} batched: {batched}"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_destination_does_not_stop_the_others() -> TestResult {
        let sink = UdpSocket::bind("127.0.0.1:0").await?;
        // Port 0 cannot be sent to: the kernel refuses that one datagram.
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let queue = vec![
            (nowhere, BytesMut::from(&b"lost"[..])),
            (sink.local_addr()?, BytesMut::from(&b"one"[..])),
            (nowhere, BytesMut::from(&b"lost"[..])),
            (sink.local_addr()?, BytesMut::from(&b"two"[..])),
        ];
        for port in ports().await? {
            for batched in [true, false] {
                send_all(&port, &mut queue.clone(), batched).await;
                assert_eq!(
                    received(&sink, 2).await?,
                    vec![b"one".to_vec(), b"two".to_vec()],
                    "{port:?} batched: {batched}"
                );
            }
        }
        Ok(())
    }
}
