//! Live rooms by session name. A room is created by the first join to its name and removed by
//! its own task when it ends; a join racing that removal is told to retry and creates a fresh
//! room.
//!
//! A room created by a token with a `session_key` is that key's instance of the session: it
//! admits only tokens with the same key, and once it has ended the key admits nobody (for
//! [`ENDED_KEY_RETENTION`] at least, and until every token that joined it has expired), so a
//! token cannot be replayed into a later instance of the session.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use huddle_proto::SessionName;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::auth::{unix_now, LEEWAY_SECS};
use crate::config::{AuthMode, ServerConfig};
use crate::driver::{self, RoomCommand};
use crate::sfu::Sfu;

/// How to reach one room task.
#[derive(Debug, Clone)]
pub struct RoomRef {
    /// Commands to the room task.
    pub tx: mpsc::Sender<RoomCommand>,
    /// Distinguishes this room from a later one with the same name.
    pub generation: u64,
}

/// How long a session key whose instance ended keeps being refused, at least.
pub const ENDED_KEY_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Most ended session keys remembered; past it the ones due soonest are forgotten first.
pub const MAX_ENDED_KEYS: usize = 100_000;

#[derive(Debug)]
struct Slot {
    room: RoomRef,
    members: Arc<AtomicUsize>,
    /// The `session_key` of the token that created the room.
    session_key: Option<String>,
}

/// Why a join gets no room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoom {
    /// Shutdown has begun.
    ShuttingDown,
    /// The live instance of the session has another `session_key` (or none, or the token has
    /// none).
    OtherInstance,
    /// The instance this `session_key` named has ended.
    InstanceEnded,
    /// In open mode, the server holds its most rooms and this join would create one.
    TooManyRooms(usize),
}

/// Session keys whose instance ended, each with the Unix time until which it is refused.
#[derive(Debug, Default)]
struct EndedKeys {
    until: HashMap<(String, String), u64>,
    by_time: BTreeSet<(u64, String, String)>,
}

impl EndedKeys {
    fn contains(&mut self, name: &str, key: &str, now: u64) -> bool {
        self.prune(now);
        self.until.contains_key(&(name.to_owned(), key.to_owned()))
    }

    fn insert(&mut self, name: &str, key: &str, until: u64, now: u64) {
        self.prune(now);
        let id = (name.to_owned(), key.to_owned());
        if let Some(old) = self.until.insert(id.clone(), until) {
            self.by_time.remove(&(old, id.0.clone(), id.1.clone()));
        }
        self.by_time.insert((until, id.0, id.1));
        while self.until.len() > MAX_ENDED_KEYS {
            self.pop_first();
        }
    }

    fn prune(&mut self, now: u64) {
        while self
            .by_time
            .first()
            .is_some_and(|(until, _, _)| *until <= now)
        {
            self.pop_first();
        }
    }

    fn pop_first(&mut self) {
        if let Some((_, name, key)) = self.by_time.pop_first() {
            self.until.remove(&(name, key));
        }
    }
}

#[derive(Debug, Default)]
struct Rooms {
    live: HashMap<String, Slot>,
    ended_keys: EndedKeys,
}

/// The rooms of one server.
#[derive(Debug)]
pub struct Registry {
    rooms: Mutex<Rooms>,
    next_generation: AtomicU64,
    closing: AtomicBool,
    config: Arc<ServerConfig>,
    tasks: TaskTracker,
    sfu: Option<Sfu>,
}

/// Room and member counts for the health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Live rooms.
    pub rooms: usize,
    /// Members with a live connection, over all rooms.
    pub members: usize,
}

impl Registry {
    /// An empty registry whose room tasks are tracked by `tasks`.
    pub fn new(config: Arc<ServerConfig>, tasks: TaskTracker, sfu: Option<Sfu>) -> Self {
        Self {
            rooms: Mutex::new(Rooms::default()),
            next_generation: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            config,
            tasks,
            sfu,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rooms> {
        // A panic while holding this lock cannot leave the map half-updated (every critical
        // section is a single insert, remove or read), so a poisoned lock is still usable.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The room for `name`, created if nobody is in it, for a join whose token carries
    /// `session_key` (always `None` in open mode).
    pub fn room_for(
        self: &Arc<Self>,
        name: &SessionName,
        session_key: Option<&str>,
    ) -> Result<RoomRef, NoRoom> {
        if self.closing.load(Ordering::Acquire) {
            return Err(NoRoom::ShuttingDown);
        }
        let mut rooms = self.lock();
        if let Some(slot) = rooms.live.get(name.key()) {
            if !slot.room.tx.is_closed() {
                if slot.session_key.as_deref() != session_key {
                    return Err(NoRoom::OtherInstance);
                }
                return Ok(slot.room.clone());
            }
        }
        if let Some(key) = session_key {
            if rooms.ended_keys.contains(name.key(), key, unix_now()) {
                return Err(NoRoom::InstanceEnded);
            }
        }
        let max_rooms = self.config.limits.max_open_rooms;
        if self.config.auth == AuthMode::Open && rooms.live.len() >= max_rooms {
            return Err(NoRoom::TooManyRooms(max_rooms));
        }
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.config.room_queue_capacity);
        let members = Arc::new(AtomicUsize::new(0));
        let room = RoomRef { tx, generation };
        rooms.live.insert(
            name.key().to_owned(),
            Slot {
                room: room.clone(),
                members: members.clone(),
                session_key: session_key.map(str::to_owned),
            },
        );
        drop(rooms);
        let task = driver::RoomTask::new(
            name.clone(),
            generation,
            rx,
            Arc::clone(self),
            members,
            self.config.clone(),
            self.sfu.clone(),
        );
        self.tasks.spawn(task.run());
        tracing::info!(session = %name.key(), generation, "room created");
        Ok(room)
    }

    /// Removes `key` if it still maps to the room of `generation`. `latest_exp` is the latest
    /// `exp` among the tokens that joined it, `None` when nobody joined with a token; a room
    /// with a session key that somebody joined leaves the key refused.
    pub fn forget(&self, key: &str, generation: u64, latest_exp: Option<u64>) {
        let mut rooms = self.lock();
        if rooms
            .live
            .get(key)
            .is_none_or(|slot| slot.room.generation != generation)
        {
            return;
        }
        let Some(slot) = rooms.live.remove(key) else {
            return;
        };
        if let (Some(session_key), Some(exp)) = (slot.session_key, latest_exp) {
            let now = unix_now();
            let until = exp
                .saturating_add(LEEWAY_SECS)
                .max(now.saturating_add(ENDED_KEY_RETENTION.as_secs()));
            rooms.ended_keys.insert(key, &session_key, until, now);
        }
    }

    /// Current counts.
    pub fn counts(&self) -> Counts {
        let rooms = self.lock();
        Counts {
            rooms: rooms.live.len(),
            members: rooms
                .live
                .values()
                .map(|slot| slot.members.load(Ordering::Relaxed))
                .sum(),
        }
    }

    /// Refuses new rooms and tells every room to end with `server_shutdown`.
    pub async fn shutdown_all(&self) {
        self.closing.store(true, Ordering::Release);
        let senders: Vec<mpsc::Sender<RoomCommand>> = self
            .lock()
            .live
            .values()
            .map(|slot| slot.room.tx.clone())
            .collect();
        for tx in senders {
            // A room that already ended has nothing to be told.
            let _ = tx.send(RoomCommand::Shutdown).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_keys_are_kept_until_due_and_bounded() {
        let mut ended = EndedKeys::default();
        ended.insert("s", "k1", 100, 0);
        ended.insert("s", "k2", 50, 0);
        assert!(ended.contains("s", "k1", 49) && ended.contains("s", "k2", 49));
        assert!(!ended.contains("other", "k1", 49));
        assert!(!ended.contains("s", "k2", 50), "due at 50");
        assert!(ended.contains("s", "k1", 99));
        // Moving a key's deadline leaves one entry.
        ended.insert("s", "k1", 200, 99);
        assert_eq!((ended.until.len(), ended.by_time.len()), (1, 1));
        assert!(ended.contains("s", "k1", 150));
        for i in 0..MAX_ENDED_KEYS + 10 {
            ended.insert("s", &format!("n{i}"), 1_000 + i as u64, 150);
        }
        assert_eq!(ended.until.len(), MAX_ENDED_KEYS);
        assert_eq!(ended.by_time.len(), MAX_ENDED_KEYS);
        // The ones due soonest went first.
        assert!(!ended.contains("s", "k1", 150));
        assert!(ended.contains("s", &format!("n{}", MAX_ENDED_KEYS + 9), 150));
    }
}
