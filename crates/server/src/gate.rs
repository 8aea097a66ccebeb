//! The gate every connection passes before it is a member: how many sockets the server holds,
//! from one address and in all, and how many are still in their TLS handshake or HTTP request.
//!
//! Each accepted socket gets a [`Ticket`] that moves through the [`Stage`]s and gives its place
//! back when dropped. A socket that would pass a bound first displaces the oldest socket of the
//! same kind that has not joined yet (it is told through [`Ticket::evicted`]); only when every
//! socket in the way belongs to a member is the newcomer refused. So a flood of idle sockets
//! can hold at most a bound's worth of them and cannot lock members out: a normal join gets in
//! by displacing the flood's oldest socket.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use crate::config::ConnectionLimits;

/// Where a connection is on its way to membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In its TLS handshake.
    Handshake,
    /// Speaking HTTP (one request or several), not upgraded.
    Http,
    /// A WebSocket that has not joined (or never will: the network-test echo).
    Upgraded,
    /// A member's WebSocket; never displaced.
    Joined,
}

impl Stage {
    fn pending(self) -> bool {
        matches!(self, Stage::Handshake | Stage::Http)
    }
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    stage: Stage,
    evicted: CancellationToken,
}

#[derive(Debug, Default)]
struct Counts {
    /// Open connections by admission order, which is also age order.
    open: BTreeMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
    handshakes: usize,
    pending: usize,
    next_id: u64,
}

impl Counts {
    fn count(&mut self, entry: &Entry, up: bool) {
        let step = |n: &mut usize| {
            if up {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        step(self.per_ip.entry(entry.ip).or_default());
        if self.per_ip.get(&entry.ip) == Some(&0) {
            self.per_ip.remove(&entry.ip);
        }
        if entry.stage == Stage::Handshake {
            step(&mut self.handshakes);
        }
        if entry.stage.pending() {
            step(&mut self.pending);
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.open.remove(&id)?;
        self.count(&entry, false);
        Some(entry)
    }

    /// Displaces the oldest connection that `pick` chooses; false when there is none.
    fn evict_oldest(&mut self, pick: impl Fn(&Entry) -> bool) -> bool {
        let Some(id) = self
            .open
            .iter()
            .find(|(_, entry)| pick(entry))
            .map(|(id, _)| *id)
        else {
            return false;
        };
        if let Some(entry) = self.remove(id) {
            entry.evicted.cancel();
        }
        true
    }
}

/// The connection bounds of one server.
#[derive(Debug)]
pub struct Gate {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
}

impl Gate {
    /// A gate with nothing open.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Every critical section leaves the counts whole before it could panic, so a
        // poisoned lock still holds good numbers.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets a socket from `ip` in, at the TLS handshake or straight at HTTP, displacing the
    /// oldest unjoined sockets in its way; `None` when members fill the way.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, tls: bool) -> Option<Ticket> {
        let limits = &self.limits;
        let mut counts = self.lock();
        if counts.per_ip.get(&ip).copied().unwrap_or(0) >= limits.max_connections_per_ip
            && !counts.evict_oldest(|e| e.ip == ip && e.stage != Stage::Joined)
        {
            return None;
        }
        if counts.open.len() >= limits.max_connections
            && !counts.evict_oldest(|e| e.stage != Stage::Joined)
        {
            return None;
        }
        if tls && counts.handshakes >= limits.max_tls_handshakes {
            counts.evict_oldest(|e| e.stage == Stage::Handshake);
        }
        if counts.pending >= limits.max_pending_upgrades {
            counts.evict_oldest(|e| e.stage.pending());
        }
        let id = counts.next_id;
        counts.next_id += 1;
        let evicted = CancellationToken::new();
        let entry = Entry {
            ip,
            stage: if tls { Stage::Handshake } else { Stage::Http },
            evicted: evicted.clone(),
        };
        counts.count(&entry, true);
        counts.open.insert(id, entry);
        Some(Ticket {
            gate: Arc::clone(self),
            id,
            evicted,
            prejoin: AtomicBool::new(false),
        })
    }

    /// Open connections: all of them, and those not yet upgraded.
    pub fn open(&self) -> (usize, usize) {
        let counts = self.lock();
        (counts.open.len(), counts.pending)
    }
}

/// One admitted socket's place; given back when dropped.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    evicted: CancellationToken,
    /// The socket is a `/v1/ws` connection that has not joined: what it may send is bounded.
    prejoin: AtomicBool,
}

impl Ticket {
    /// Moves the connection on (never back: a later stage than `stage` stays).
    pub fn advance(&self, stage: Stage) {
        let mut counts = self.gate.lock();
        let Some(mut entry) = counts.remove(self.id) else {
            // Displaced meanwhile.
            return;
        };
        let order = |s: Stage| s as u8;
        if order(stage) > order(entry.stage) {
            entry.stage = stage;
        }
        counts.count(&entry, true);
        counts.open.insert(self.id, entry);
    }

    /// The socket became the WebSocket of someone about to join: until [`Ticket::joined`],
    /// what it may send is bounded by the pre-join frame limit.
    pub fn expect_join(&self) {
        self.advance(Stage::Upgraded);
        self.prejoin.store(true, Ordering::Release);
    }

    /// The socket belongs to a member now: never displaced, no pre-join bound.
    pub fn joined(&self) {
        self.prejoin.store(false, Ordering::Release);
        self.advance(Stage::Joined);
    }

    /// Whether the pre-join bound applies.
    pub fn before_join(&self) -> bool {
        self.prejoin.load(Ordering::Acquire)
    }

    /// Cancelled when a newcomer displaced this socket: close it.
    pub fn evicted(&self) -> &CancellationToken {
        &self.evicted
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 4,
            max_connections_per_ip: 2,
            max_pending_upgrades: 3,
            max_tls_handshakes: 1,
            ..ConnectionLimits::default()
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
    const C: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 3));

    #[test]
    fn a_full_address_displaces_its_oldest_unjoined_socket() -> Result<(), &'static str> {
        let gate = Gate::new(limits());
        let first = gate.admit(A, false).ok_or("first")?;
        let second = gate.admit(A, false).ok_or("second")?;
        let third = gate.admit(A, false).ok_or("third")?;
        assert!(first.evicted().is_cancelled());
        assert!(!second.evicted().is_cancelled() && !third.evicted().is_cancelled());
        // Members are never displaced: with both of A's places joined, A gets no more.
        second.joined();
        third.joined();
        assert!(gate.admit(A, false).is_none());
        assert!(gate.admit(B, false).is_some());
        drop(first);
        assert_eq!(
            gate.open().0,
            2,
            "a displaced ticket gives nothing back twice"
        );
        drop(third);
        assert!(gate.admit(A, false).is_some());
        Ok(())
    }

    #[test]
    fn the_total_and_the_pending_bounds_displace_the_oldest() -> Result<(), &'static str> {
        let gate = Gate::new(limits());
        let a = gate.admit(A, false).ok_or("a")?;
        a.joined();
        let b = gate.admit(B, false).ok_or("b")?;
        let c = gate.admit(C, false).ok_or("c")?;
        let d = gate.admit(C, false).ok_or("d")?;
        assert_eq!(gate.open(), (4, 3));
        // Four open: the oldest unjoined (b) makes way, the member stays.
        let e = gate.admit(B, false).ok_or("e")?;
        assert!(b.evicted().is_cancelled() && !a.evicted().is_cancelled());
        assert_eq!(gate.open(), (4, 3));
        // Three pending: upgrading one frees a pending place without a displacement.
        c.expect_join();
        assert!(c.before_join());
        assert_eq!(gate.open(), (4, 2));
        drop((a, c, d, e));
        assert_eq!(gate.open(), (0, 0));
        Ok(())
    }

    #[test]
    fn one_tls_handshake_at_a_time() -> Result<(), &'static str> {
        let gate = Gate::new(limits());
        let slow = gate.admit(A, true).ok_or("slow")?;
        let quick = gate.admit(B, true).ok_or("quick")?;
        assert!(slow.evicted().is_cancelled());
        quick.advance(Stage::Http);
        let next = gate.admit(C, true).ok_or("next")?;
        assert!(!quick.evicted().is_cancelled() && !next.evicted().is_cancelled());
        // Stages only move forward.
        quick.joined();
        quick.advance(Stage::Http);
        assert!(gate.admit(B, false).is_some());
        Ok(())
    }
}
