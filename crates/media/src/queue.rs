//! Bounded fan-out from one producer to many consumers. A consumer that falls behind loses
//! the newest items (a late frame is worth nothing) and the loss is counted, so a slow UI
//! never stalls capture and never grows memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use crate::MediaError;

struct Subscriber<T> {
    tx: SyncSender<T>,
    dropped: Arc<AtomicU64>,
}

/// The producer side: owned by one actor.
pub struct Fanout<T> {
    subscribers: Vec<Subscriber<T>>,
}

impl<T> Default for Fanout<T> {
    fn default() -> Self {
        Fanout {
            subscribers: Vec::new(),
        }
    }
}

impl<T: Clone> Fanout<T> {
    /// A fan-out with no consumers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a consumer whose queue holds at most `capacity` items (at least one).
    pub fn subscribe(&mut self, capacity: usize) -> Subscription<T> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        self.subscribers.push(Subscriber {
            tx,
            dropped: Arc::clone(&dropped),
        });
        Subscription { rx, dropped }
    }

    /// Adds an already made subscriber (used when a subscription is requested from another
    /// thread through a command).
    pub(crate) fn attach(&mut self, tx: SyncSender<T>, dropped: Arc<AtomicU64>) {
        self.subscribers.push(Subscriber { tx, dropped });
    }

    /// Offers an item to every consumer; full queues drop it and count, closed ones are removed.
    pub fn send(&mut self, item: &T) {
        self.subscribers
            .retain(|s| match s.tx.try_send(item.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    s.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }

    /// Number of live consumers.
    pub fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// True when nobody listens.
    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }
}

/// Makes a subscription whose sending half can be handed to a `Fanout` later.
pub(crate) fn pending_subscription<T>(
    capacity: usize,
) -> (SyncSender<T>, Arc<AtomicU64>, Subscription<T>) {
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    let sub = Subscription {
        rx,
        dropped: Arc::clone(&dropped),
    };
    (tx, dropped, sub)
}

/// The consumer side of a bounded fan-out.
pub struct Subscription<T> {
    rx: Receiver<T>,
    dropped: Arc<AtomicU64>,
}

impl<T> Subscription<T> {
    /// Waits up to `timeout` for the next item. `Timeout` when none came, `Stopped` when the
    /// producer is gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, MediaError> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => MediaError::Timeout("the next item of a stream"),
            RecvTimeoutError::Disconnected => MediaError::Stopped("stream producer"),
        })
    }

    /// The next item if one is queued.
    pub fn try_recv(&self) -> Result<Option<T>, MediaError> {
        match self.rx.try_recv() {
            Ok(item) => Ok(Some(item)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(MediaError::Stopped("stream producer")),
        }
    }

    /// Items this consumer lost because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_consumer_drops_and_counts_fast_one_gets_all() -> Result<(), MediaError> {
        let mut f = Fanout::new();
        let slow = f.subscribe(2);
        let fast = f.subscribe(16);
        for i in 0..10u32 {
            f.send(&i);
        }
        assert_eq!(slow.dropped(), 8);
        assert_eq!(slow.try_recv()?, Some(0));
        assert_eq!(slow.try_recv()?, Some(1));
        assert_eq!(slow.try_recv()?, None);
        assert_eq!(fast.dropped(), 0);
        for i in 0..10 {
            assert_eq!(fast.try_recv()?, Some(i));
        }
        Ok(())
    }

    #[test]
    fn closed_consumers_are_removed_and_closed_producer_is_reported() {
        let mut f = Fanout::new();
        let a = f.subscribe(1);
        drop(f.subscribe(1));
        f.send(&1u8);
        assert_eq!(f.len(), 1);
        drop(f);
        assert_eq!(a.try_recv(), Ok(Some(1)));
        assert!(matches!(a.try_recv(), Err(MediaError::Stopped(_))));
    }
}
