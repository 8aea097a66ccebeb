//! Which forwarding worker owns a datagram.
//!
//! Every worker owns the connections of the sessions placed on it, and all of them share one
//! UDP port. Where the kernel delivers a datagram (one socket per worker with `SO_REUSEPORT`,
//! which hashes the 4-tuple; or one socket read by the first worker) is not where its
//! connection lives, so the worker that reads a datagram asks [`Steering::owner`] and hands it
//! to the owner when that is another worker. A connection's first datagram is an ICE binding
//! request whose username starts with the ufrag the owner chose, and a worker's ufrags start
//! with its [tag](ufrag_tag): the owner is read from the packet, with no table shared between
//! workers. From then on the source address is remembered, by the reading worker only, for the
//! datagrams that carry no ufrag (DTLS, SRTP). The kernel's hash sends one address to the
//! same socket every time, so each reader learns only the addresses it is given.
//!
//! Pure and single-threaded: each worker keeps its own, and the per-packet path takes no lock.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::stun;

/// Most workers: a worker's tag is two hexadecimal digits.
pub const MAX_WORKERS: usize = 64;
/// Addresses of other workers' connections remembered by one reader before the oldest half of
/// them is dropped. A connection keeps a handful of addresses, and a forgotten one is learned
/// again from the connection's next binding request (every few seconds while ICE runs).
const MAX_FOREIGN: usize = 1 << 16;

/// The ufrag prefix of a worker's connections.
#[must_use]
pub fn ufrag_tag(worker: usize) -> String {
    format!("{:02x}", worker % MAX_WORKERS)
}

/// The worker a local ufrag was made by, if it is one of `workers`.
fn worker_of(ufrag: &str, workers: usize) -> Option<usize> {
    let tag = ufrag.get(..2)?;
    let worker = usize::from_str_radix(tag, 16).ok()?;
    (worker < workers).then_some(worker)
}

/// One reader's view of who owns what.
#[derive(Debug)]
pub struct Steering {
    me: usize,
    workers: usize,
    /// Addresses whose connection lives on another worker, with the tick they were learned.
    foreign: HashMap<SocketAddr, (usize, u64)>,
    tick: u64,
}

impl Steering {
    /// The view of worker `me` of `workers`.
    #[must_use]
    pub fn new(me: usize, workers: usize) -> Self {
        Steering {
            me,
            workers: workers.clamp(1, MAX_WORKERS),
            foreign: HashMap::new(),
            tick: 0,
        }
    }

    /// The worker that owns the connection a datagram from `from` belongs to. A datagram
    /// nobody is known to own is the reader's own (its router counts it as unrouted).
    pub fn owner(&mut self, from: SocketAddr, data: &[u8]) -> usize {
        if self.workers == 1 {
            return self.me;
        }
        // Binding requests name their owner, and may move an address to another connection
        // (a client port reused, an ICE restart), so they are read before the table.
        if data.first().is_some_and(|b| *b < 2) {
            if let Some(owner) =
                stun::binding_request_ufrag(data).and_then(|u| worker_of(u, self.workers))
            {
                self.learn(from, owner);
                return owner;
            }
        }
        self.foreign.get(&from).map_or(self.me, |(owner, _)| *owner)
    }

    /// A connection that used `addr` is gone.
    pub fn forget(&mut self, addr: SocketAddr) {
        self.foreign.remove(&addr);
    }

    /// Addresses remembered as another worker's.
    #[must_use]
    pub fn foreign_len(&self) -> usize {
        self.foreign.len()
    }

    fn learn(&mut self, from: SocketAddr, owner: usize) {
        if owner == self.me {
            self.foreign.remove(&from);
            return;
        }
        if self.foreign.len() >= MAX_FOREIGN && !self.foreign.contains_key(&from) {
            // Bounded whatever the peers do: drop the older half.
            let mut ticks: Vec<u64> = self.foreign.values().map(|(_, t)| *t).collect();
            ticks.sort_unstable();
            let cut = ticks.get(ticks.len() / 2).copied().unwrap_or(0);
            self.foreign.retain(|_, (_, t)| *t > cut);
        }
        self.tick += 1;
        self.foreign.insert(from, (owner, self.tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request whose USERNAME is `username` (no integrity: steering reads no more).
    fn binding(username: &str) -> Vec<u8> {
        let value = username.as_bytes();
        let padded = value.len().div_ceil(4) * 4;
        let mut p = vec![0x00, 0x01];
        let body = u16::try_from(4 + padded).expect("test usernames are short");
        p.extend_from_slice(&body.to_be_bytes());
        p.extend_from_slice(&0x2112_a442_u32.to_be_bytes());
        p.extend_from_slice(&[7; 12]);
        p.extend_from_slice(&0x0006_u16.to_be_bytes());
        let len = u16::try_from(value.len()).expect("test usernames are short");
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(value);
        p.resize(20 + 4 + padded, 0);
        p
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    const RTP: [u8; 12] = [0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

    #[test]
    fn tags_round_trip_and_stay_in_range() {
        for w in 0..MAX_WORKERS {
            assert_eq!(
                worker_of(&format!("{}abcdef01", ufrag_tag(w)), MAX_WORKERS),
                Some(w)
            );
        }
        assert_eq!(
            worker_of("03abcdef", 2),
            None,
            "a worker that does not exist"
        );
        assert_eq!(worker_of("zzabcdef", 4), None);
        assert_eq!(worker_of("0", 4), None);
        assert_eq!(worker_of("é0abc", 4), None, "not a char boundary");
    }

    #[test]
    fn a_binding_request_names_its_owner_and_the_address_follows() {
        let mut s = Steering::new(0, 2);
        assert_eq!(s.owner(addr(1000), &RTP), 0, "unknown: the reader's own");
        assert_eq!(s.owner(addr(1000), &binding("01cafe00:client")), 1);
        assert_eq!(s.owner(addr(1000), &RTP), 1, "learned");
        assert_eq!(s.owner(addr(1000), &[22, 254, 253]), 1, "DTLS too");
        assert_eq!(s.foreign_len(), 1);
        // The port is reused by a connection of this worker's.
        assert_eq!(s.owner(addr(1000), &binding("00beef00:client")), 0);
        assert_eq!(s.owner(addr(1000), &RTP), 0);
        assert_eq!(s.foreign_len(), 0, "own addresses are not kept");
    }

    #[test]
    fn forgetting_an_address_returns_it_to_the_reader() {
        let mut s = Steering::new(1, 3);
        assert_eq!(s.owner(addr(5), &binding("02aa:x")), 2);
        s.forget(addr(5));
        assert_eq!(s.owner(addr(5), &RTP), 1);
    }

    #[test]
    fn untagged_or_broken_requests_change_nothing() {
        let mut s = Steering::new(0, 2);
        assert_eq!(s.owner(addr(7), &binding("01ab:x")), 1);
        for junk in [
            binding("7fab:x"),
            binding("nothex:x"),
            binding(":x"),
            vec![0, 1, 0],
            vec![],
        ] {
            assert_eq!(s.owner(addr(7), &junk), 1, "{junk:?}");
        }
    }

    #[test]
    fn one_worker_owns_everything() {
        let mut s = Steering::new(0, 1);
        assert_eq!(s.owner(addr(9), &binding("01ab:x")), 0);
        assert_eq!(s.foreign_len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut s = Steering::new(0, 2);
        let request = binding("01ab:x");
        for i in 0..(MAX_FOREIGN + 10) {
            let port = u16::try_from(i % 60_000).expect("below 60,000");
            let ip = [10, 0, (i / 60_000) as u8, 1];
            s.owner(SocketAddr::from((ip, port)), &request);
        }
        assert!(s.foreign_len() <= MAX_FOREIGN, "{}", s.foreign_len());
        assert!(s.foreign_len() > MAX_FOREIGN / 4);
    }
}
