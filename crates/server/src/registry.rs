//! Live rooms by session key. A room is created by the first join to its name and removed by
//! its own task when it ends; a join racing that removal is told to retry and creates a fresh
//! room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use huddle_proto::SessionName;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
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

#[derive(Debug)]
struct Slot {
    room: RoomRef,
    members: Arc<AtomicUsize>,
}

/// The rooms of one server.
#[derive(Debug)]
pub struct Registry {
    rooms: Mutex<HashMap<String, Slot>>,
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
            rooms: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            config,
            tasks,
            sfu,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding this lock cannot leave the map half-updated (every critical
        // section is a single insert, remove or read), so a poisoned lock is still usable.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The room for `name`, created if nobody is in it. `None` once shutdown has begun.
    pub fn room_for(self: &Arc<Self>, name: &SessionName) -> Option<RoomRef> {
        if self.closing.load(Ordering::Acquire) {
            return None;
        }
        let mut rooms = self.lock();
        if let Some(slot) = rooms.get(name.key()) {
            if !slot.room.tx.is_closed() {
                return Some(slot.room.clone());
            }
        }
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.config.room_queue_capacity);
        let members = Arc::new(AtomicUsize::new(0));
        let room = RoomRef { tx, generation };
        rooms.insert(
            name.key().to_owned(),
            Slot {
                room: room.clone(),
                members: members.clone(),
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
        Some(room)
    }

    /// Removes `key` if it still maps to the room of `generation`.
    pub fn forget(&self, key: &str, generation: u64) {
        let mut rooms = self.lock();
        if rooms
            .get(key)
            .is_some_and(|slot| slot.room.generation == generation)
        {
            rooms.remove(key);
        }
    }

    /// Current counts.
    pub fn counts(&self) -> Counts {
        let rooms = self.lock();
        Counts {
            rooms: rooms.len(),
            members: rooms
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
            .values()
            .map(|slot| slot.room.tx.clone())
            .collect();
        for tx in senders {
            // A room that already ended has nothing to be told.
            let _ = tx.send(RoomCommand::Shutdown).await;
        }
    }
}
