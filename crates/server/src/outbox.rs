//! The bounded path from a room task to one connection.
//!
//! A room never waits on a member: it pushes with `try_send`. A member whose queue is full has
//! fallen behind: the room stops sending to it, and once the queue has drained sends it the
//! state afresh (`resync`); one that takes nothing for long is cut off (its connection closes
//! and the member goes into the reconnect grace like any dropped connection). Frames are
//! serialized once per event and the same bytes are shared by every recipient.

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// WebSocket close code sent to a consumer that fell too far behind ("try again later").
pub const CLOSE_TOO_SLOW: u16 = 1013;
/// WebSocket close code for a normal goodbye (removed, session ended, left).
pub const CLOSE_NORMAL: u16 = 1000;
/// WebSocket close code when the server goes away (shutdown).
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// One item for a connection to write.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A text frame, already serialized.
    Frame(Utf8Bytes),
    /// Write a close frame with this code and reason, then end the connection.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Short reason text.
        reason: &'static str,
    },
}

/// Identifies one connection, so a room can tell an old connection of a resumed member from
/// its new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub u64);

/// The room's end of a connection.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Which connection this is.
    pub conn: ConnId,
    tx: mpsc::Sender<Outgoing>,
    kill: CancellationToken,
}

/// Why a push did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue is full: the consumer is too slow.
    Full,
    /// The connection is gone.
    Closed,
}

impl Outbox {
    /// Queues one item without waiting.
    pub fn push(&self, item: Outgoing) -> Result<(), PushError> {
        self.tx.try_send(item).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PushError::Full,
            mpsc::error::TrySendError::Closed(_) => PushError::Closed,
        })
    }

    /// How many more items the queue takes now.
    pub fn free(&self) -> usize {
        self.tx.capacity()
    }

    /// Whether the connection has gone (its end of the queue was dropped).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// How many items the queue holds at most.
    pub fn max(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Queues a close; if the queue is full the connection is cut at once instead, since the
    /// close would otherwise wait behind frames the member is not reading.
    pub fn close(&self, code: u16, reason: &'static str) {
        if self.push(Outgoing::Close { code, reason }).is_err() {
            self.kill.cancel();
        }
    }

    /// Cuts the connection without flushing what is queued.
    pub fn kill(&self) {
        self.kill.cancel();
    }
}

/// The connection's end.
#[derive(Debug)]
pub struct Inbox {
    /// Items to write, in order.
    pub rx: mpsc::Receiver<Outgoing>,
    /// Cancelled when the room cuts this connection.
    pub kill: CancellationToken,
}

/// A connected pair with room for `capacity` queued items.
pub fn channel(conn: ConnId, capacity: usize) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(capacity);
    let kill = CancellationToken::new();
    (
        Outbox {
            conn,
            tx,
            kill: kill.clone(),
        },
        Inbox { rx, kill },
    )
}
