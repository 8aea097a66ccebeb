//! The forwarding workers: one thread each, with its own single-threaded runtime, its own
//! [`Router`] and its own socket on the shared media port (see the module docs of `sfu`).

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::send;
use super::steer::Steering;
use super::{
    signal, Command, Output, PortSharing, Router, SfuStats, COMMAND_QUEUE, HANDOFF_QUEUE,
    MAX_DATAGRAM, READ_BATCH, SOCKET_BUFFER,
};
use crate::ServerError;

/// What the rest of the server holds of a worker.
#[derive(Debug)]
pub(super) struct Handle {
    pub commands: mpsc::Sender<Command>,
    pub stats: Arc<SfuStats>,
}

/// What one worker hands another.
#[derive(Debug)]
enum Handoff {
    /// Datagrams read for the other's connections.
    Datagrams(Batch),
    /// A connection that used this address is gone.
    Forget(SocketAddr),
}

/// Datagrams in one buffer: (source, end offset) each.
#[derive(Debug, Default)]
struct Batch {
    data: Vec<u8>,
    items: Vec<(SocketAddr, usize)>,
}

impl Batch {
    fn push(&mut self, from: SocketAddr, datagram: &[u8]) {
        self.data.extend_from_slice(datagram);
        self.items.push((from, self.data.len()));
    }

    fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        let mut start = 0;
        self.items.iter().filter_map(move |(from, end)| {
            let datagram = self.data.get(start..*end)?;
            start = *end;
            Some((*from, datagram))
        })
    }
}

/// The sockets of `count` workers on `addr` (port 0: a free one, the same for all), each
/// with whether its worker reads it.
pub(super) fn bind(
    addr: SocketAddr,
    count: usize,
    sharing: PortSharing,
) -> Result<Vec<(StdUdpSocket, bool)>, ServerError> {
    let cannot = |addr: SocketAddr, e: std::io::Error| {
        ServerError::Config(format!(
            "cannot bind the media UDP port {addr}: {e} (choose another with --media-udp-port)"
        ))
    };
    let reuse = sharing == PortSharing::ReusePort && count > 1;
    let first = open(addr, reuse).map_err(|e| cannot(addr, e))?;
    let addr = first.local_addr()?;
    let mut others = Vec::with_capacity(count.saturating_sub(1));
    for _ in 1..count {
        others.push(if reuse {
            (open(addr, true).map_err(|e| cannot(addr, e))?, true)
        } else {
            // One socket, one reader: the others send on a duplicate of it.
            (first.try_clone()?, false)
        });
    }
    Ok(std::iter::once((first, true)).chain(others).collect())
}

/// One UDP socket on `addr`, non-blocking, with room for bursts (keyframes from several
/// publishers at once) while its worker is busy; the kernel may cap the buffer sizes.
fn open(addr: SocketAddr, reuse_port: bool) -> std::io::Result<StdUdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse_port {
        set_reuse_port(&socket)?;
    }
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    for (what, result) in [
        ("receive", socket.set_recv_buffer_size(SOCKET_BUFFER)),
        ("send", socket.set_send_buffer_size(SOCKET_BUFFER)),
    ] {
        if let Err(e) = result {
            tracing::debug!("media socket {what} buffer: {e}");
        }
    }
    Ok(socket.into())
}

#[cfg(unix)]
fn set_reuse_port(socket: &Socket) -> std::io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(unix))]
fn set_reuse_port(_: &Socket) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "sharing a port between sockets is not supported here; use one-reader",
    ))
}

/// Starts one worker thread per router, each on the socket of the same index.
pub(super) fn spawn(
    sockets: Vec<(StdUdpSocket, bool)>,
    routers: Vec<Router>,
    send_batch: bool,
    shutdown: &CancellationToken,
) -> Result<Vec<Handle>, ServerError> {
    let count = routers.len();
    let (handoff_tx, handoff_rx): (Vec<_>, Vec<_>) =
        (0..count).map(|_| mpsc::channel(HANDOFF_QUEUE)).unzip();
    let mut handles = Vec::with_capacity(count);
    for (index, (((socket, reads), router), handoff)) in
        sockets.into_iter().zip(routers).zip(handoff_rx).enumerate()
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let port = if reads {
            // Registered with the worker's own runtime, which drives it.
            let _entered = runtime.enter();
            send::Port::Reads(UdpSocket::from_std(socket)?)
        } else {
            send::Port::Sends(socket)
        };
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let stats = Arc::clone(router.stats_arc());
        let worker = Worker {
            index,
            port,
            steering: Steering::new(index, count),
            commands: commands_rx,
            handoff,
            others: handoff_tx.clone(),
            outgoing: (0..count).map(|_| Batch::default()).collect(),
            sends: Vec::new(),
            send_batch,
            router,
            stats: Arc::clone(&stats),
            shutdown: shutdown.clone(),
        };
        std::thread::Builder::new()
            .name(format!("huddle-sfu-{index}"))
            .spawn(move || runtime.block_on(worker.run()))?;
        handles.push(Handle { commands, stats });
    }
    Ok(handles)
}

struct Worker {
    index: usize,
    /// Its socket on the media port (with one reader, only the first worker's is read).
    port: send::Port,
    steering: Steering,
    commands: mpsc::Receiver<Command>,
    handoff: mpsc::Receiver<Handoff>,
    /// Every worker's hand-off queue, this one's included (unused).
    others: Vec<mpsc::Sender<Handoff>>,
    /// Datagrams read for each other worker, sent once the read batch is done.
    outgoing: Vec<Batch>,
    /// What the router wants sent, sent together once it has no more to say.
    sends: Vec<(SocketAddr, BytesMut)>,
    send_batch: bool,
    router: Router,
    stats: Arc<SfuStats>,
    shutdown: CancellationToken,
}

impl Worker {
    async fn run(mut self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            // Connection timers and the periodic sweep alike: the router has one deadline.
            let deadline = self
                .router
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.router.handle_command(Instant::now(), command),
                    None => break,
                },
                handed = self.handoff.recv() => match handed {
                    Some(Handoff::Datagrams(batch)) => {
                        let now = Instant::now();
                        for (from, datagram) in batch.iter() {
                            self.router.handle_datagram(now, from, datagram);
                        }
                    }
                    Some(Handoff::Forget(addr)) => self.steering.forget(addr),
                    // Every worker holds a sender of every queue, its own included.
                    None => break,
                },
                received = self.port.recv_from(&mut buf) => {
                    match received {
                        Ok((n, from)) => {
                            self.take(from, buf.get(..n).unwrap_or_default());
                            // Drain what else is waiting before writing anything.
                            for _ in 0..READ_BATCH {
                                match self.port.try_recv_from(&mut buf) {
                                    Ok((n, from)) => self.take(from, buf.get(..n).unwrap_or_default()),
                                    Err(_) => break,
                                }
                            }
                            self.hand_on();
                        }
                        Err(e) => tracing::debug!("media socket read: {e}"),
                    }
                }
                // Without a deadline (no connections) the branch is off and the sleep never polled.
                () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                    if deadline.is_some() => self.router.handle_timeout(Instant::now()),
            }
            while let Some(output) = self.router.poll_output() {
                match output {
                    Output::Transmit { to, bytes } => {
                        self.sends.push((to, bytes));
                        if self.sends.len() >= send::BATCH * 4 {
                            send::send_all(&self.port, &mut self.sends, self.send_batch).await;
                        }
                    }
                    Output::Signal { who, outbox, media } => signal(who.1, &outbox, media),
                    Output::Released { addr } => self.released(addr),
                }
            }
            send::send_all(&self.port, &mut self.sends, self.send_batch).await;
        }
        self.router.close_all();
        tracing::info!(
            worker = self.index,
            forwarded = self.stats.rtp_out.load(Ordering::Relaxed),
            "media forwarding stopped"
        );
    }

    /// A datagram read from the socket: routed here, or kept for its owner.
    fn take(&mut self, from: SocketAddr, datagram: &[u8]) {
        let owner = self.steering.owner(from, datagram);
        match self.outgoing.get_mut(owner) {
            Some(batch) if owner != self.index => batch.push(from, datagram),
            _ => self.router.handle_datagram(Instant::now(), from, datagram),
        }
    }

    /// Hands the datagrams read for other workers to them.
    fn hand_on(&mut self) {
        for (owner, batch) in self.outgoing.iter_mut().enumerate() {
            if batch.items.is_empty() {
                continue;
            }
            let batch = std::mem::take(batch);
            let count = batch.items.len() as u64;
            let Some(queue) = self.others.get(owner) else {
                continue;
            };
            match queue.try_send(Handoff::Datagrams(batch)) {
                Ok(()) => self.stats.handed_on.fetch_add(count, Ordering::Relaxed),
                Err(_) => self
                    .stats
                    .handoff_dropped
                    .fetch_add(count, Ordering::Relaxed),
            };
        }
    }

    /// One of this worker's connections stopped using `addr`: the others forget it too.
    fn released(&mut self, addr: SocketAddr) {
        for (other, queue) in self.others.iter().enumerate() {
            if other != self.index {
                // A full queue only leaves a stale entry, replaced by the address's next
                // binding request.
                let _ = queue.try_send(Handoff::Forget(addr));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_what_went_in() {
        let mut batch = Batch::default();
        let a = SocketAddr::from(([127, 0, 0, 1], 1));
        let b = SocketAddr::from(([127, 0, 0, 1], 2));
        batch.push(a, b"first");
        batch.push(b, b"");
        batch.push(a, b"third one");
        let out: Vec<(SocketAddr, Vec<u8>)> = batch.iter().map(|(f, d)| (f, d.to_vec())).collect();
        assert_eq!(
            out,
            vec![
                (a, b"first".to_vec()),
                (b, vec![]),
                (a, b"third one".to_vec())
            ]
        );
    }

    #[test]
    fn workers_share_one_port_either_way() -> Result<(), ServerError> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        for sharing in [PortSharing::ReusePort, PortSharing::OneReader] {
            let sockets = bind(any, 3, sharing)?;
            let ports: Vec<u16> = sockets
                .iter()
                .map(|(s, _)| s.local_addr().map(|a| a.port()))
                .collect::<Result<_, _>>()?;
            assert_eq!(ports.len(), 3);
            assert!(ports.iter().all(|p| *p == ports[0] && *p != 0), "{ports:?}");
            let readers: Vec<bool> = sockets.iter().map(|(_, r)| *r).collect();
            match sharing {
                PortSharing::ReusePort => assert_eq!(readers, [true, true, true]),
                _ => assert_eq!(readers, [true, false, false]),
            }
        }
        Ok(())
    }

    #[test]
    fn a_taken_port_is_a_clear_error() -> Result<(), ServerError> {
        let taken = StdUdpSocket::bind("127.0.0.1:0")?;
        let addr = taken.local_addr()?;
        for sharing in [PortSharing::ReusePort, PortSharing::OneReader] {
            let err = bind(addr, 2, sharing).err().map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("--media-udp-port")),
                "{err:?}"
            );
        }
        Ok(())
    }
}
