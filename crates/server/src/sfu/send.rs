//! Sending what a worker's router decided in one go: on Linux one `sendmmsg` system call
//! carries up to [`BATCH`] datagrams (each to its own address), instead of one `sendto` each;
//! elsewhere, or when batching is off, one `send_to` per datagram.
//!
//! A forwarded packet is copied to every subscriber, so the system call per datagram was the
//! largest single cost of forwarding (see docs/BENCHMARKS.md).

use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::net::UdpSocket;

/// Most datagrams per system call.
pub const BATCH: usize = 64;

/// Sends every datagram of `queue` and empties it. A datagram the kernel refuses (a
/// destination it cannot reach) is skipped; a full socket buffer is waited out.
pub async fn send_all(socket: &UdpSocket, queue: &mut Vec<(SocketAddr, BytesMut)>, batched: bool) {
    if batched {
        send_batched(socket, queue).await;
    } else {
        for (to, bytes) in queue.iter() {
            if let Err(e) = socket.send_to(bytes, *to).await {
                tracing::trace!(%to, "media send failed: {e}");
            }
        }
    }
    queue.clear();
}

#[cfg(target_os = "linux")]
async fn send_batched(socket: &UdpSocket, queue: &[(SocketAddr, BytesMut)]) {
    use std::os::fd::AsRawFd as _;
    let mut sent = 0;
    while let Some(rest) = queue.get(sent..).filter(|r| !r.is_empty()) {
        match socket.try_io(tokio::io::Interest::WRITABLE, || {
            sys::sendmmsg(socket.as_raw_fd(), rest)
        }) {
            Ok(n) => sent += n.max(1),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Err(e) = socket.writable().await {
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
async fn send_batched(socket: &UdpSocket, queue: &[(SocketAddr, BytesMut)]) {
    for (to, bytes) in queue {
        if let Err(e) = socket.send_to(bytes, *to).await {
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

    #[tokio::test]
    async fn every_datagram_arrives_in_order_to_its_address_either_way() -> TestResult {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let (to_a, to_b) = (a.local_addr()?, b.local_addr()?);
        for batched in [true, false] {
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
            send_all(&socket, &mut queue, batched).await;
            assert!(queue.is_empty());
            assert_eq!(
                received(&a, want_a.len()).await?,
                want_a,
                "batched: {batched}"
            );
            assert_eq!(
                received(&b, want_b.len()).await?,
                want_b,
                "batched: {batched}"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_destination_does_not_stop_the_others() -> TestResult {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let sink = UdpSocket::bind("127.0.0.1:0").await?;
        // Port 0 cannot be sent to: the kernel refuses that one datagram.
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut queue = vec![
            (nowhere, BytesMut::from(&b"lost"[..])),
            (sink.local_addr()?, BytesMut::from(&b"one"[..])),
            (nowhere, BytesMut::from(&b"lost"[..])),
            (sink.local_addr()?, BytesMut::from(&b"two"[..])),
        ];
        send_all(&socket, &mut queue, true).await;
        assert_eq!(
            received(&sink, 2).await?,
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        Ok(())
    }
}
