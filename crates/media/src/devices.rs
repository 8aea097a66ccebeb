//! The device manager: lists cameras, microphones and speakers, and notices devices being
//! added or removed (and the system default changing) by polling, reporting each change as
//! an event on bounded subscriptions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::audio::list_devices;
use crate::camera::CameraRegistry;
use crate::error::DeviceKind;
use crate::queue::{pending_subscription, Fanout, Subscription};
use crate::MediaError;

/// Any device, as the pickers show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceInfo {
    /// Stable id.
    pub id: String,
    /// Name to show a person.
    pub label: String,
    /// Camera, microphone or speaker.
    pub kind: DeviceKind,
    /// The system default of its kind (for cameras: the first listed).
    pub is_default: bool,
}

/// All devices present at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    /// Cameras, the default first.
    pub cameras: Vec<DeviceInfo>,
    /// Microphones, the default first.
    pub microphones: Vec<DeviceInfo>,
    /// Speakers, the default first.
    pub speakers: Vec<DeviceInfo>,
}

impl DeviceList {
    fn all(&self) -> impl Iterator<Item = &DeviceInfo> {
        self.cameras
            .iter()
            .chain(&self.microphones)
            .chain(&self.speakers)
    }

    /// The default device of a kind, if there is any device of that kind.
    pub fn default_of(&self, kind: DeviceKind) -> Option<&DeviceInfo> {
        let list = match kind {
            DeviceKind::Camera => &self.cameras,
            DeviceKind::Microphone => &self.microphones,
            DeviceKind::Speaker => &self.speakers,
            // Screens are listed by `screen::list_screens`, not by the device manager.
            DeviceKind::Screen => return None,
        };
        list.iter().find(|d| d.is_default).or_else(|| list.first())
    }
}

/// A change in the device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A device appeared.
    Added(DeviceInfo),
    /// A device went away.
    Removed(DeviceInfo),
    /// The default device of a kind changed (`None`: no device of that kind is left).
    DefaultChanged {
        /// Which kind.
        kind: DeviceKind,
        /// The new default's id.
        id: Option<String>,
    },
}

/// Enumerates everything now.
pub fn enumerate(cameras: &CameraRegistry) -> DeviceList {
    let cams = cameras.list();
    let camera_infos = cams
        .into_iter()
        .enumerate()
        .map(|(i, c)| DeviceInfo {
            id: c.id,
            label: c.label,
            kind: DeviceKind::Camera,
            is_default: i == 0,
        })
        .collect();
    let audio = |kind| -> Vec<DeviceInfo> {
        match list_devices(kind) {
            Ok(list) => list
                .into_iter()
                .map(|d| DeviceInfo {
                    id: d.id,
                    label: d.label,
                    kind,
                    is_default: d.is_default,
                })
                .collect(),
            Err(e) => {
                tracing::debug!("listing {kind}s failed: {e}");
                Vec::new()
            }
        }
    };
    DeviceList {
        cameras: camera_infos,
        microphones: audio(DeviceKind::Microphone),
        speakers: audio(DeviceKind::Speaker),
    }
}

/// The events that turn list `old` into list `new`.
pub fn diff(old: &DeviceList, new: &DeviceList) -> Vec<DeviceEvent> {
    let key = |d: &DeviceInfo| (d.kind, d.id.clone());
    let mut events = Vec::new();
    for d in new.all() {
        if !old.all().any(|o| key(o) == key(d)) {
            events.push(DeviceEvent::Added(d.clone()));
        }
    }
    for d in old.all() {
        if !new.all().any(|n| key(n) == key(d)) {
            events.push(DeviceEvent::Removed(d.clone()));
        }
    }
    for kind in [
        DeviceKind::Camera,
        DeviceKind::Microphone,
        DeviceKind::Speaker,
    ] {
        let before = old.default_of(kind).map(|d| d.id.clone());
        let after = new.default_of(kind).map(|d| d.id.clone());
        if before != after {
            events.push(DeviceEvent::DefaultChanged { kind, id: after });
        }
    }
    events
}

enum Command {
    Events(SyncSender<DeviceEvent>, Arc<AtomicU64>),
    PollNow,
}

/// Watches devices by polling on its own thread. Dropping it stops the thread.
pub struct DeviceManager {
    cameras: CameraRegistry,
    list: Arc<Mutex<DeviceList>>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DeviceManager {
    /// Enumerates once and starts polling every `interval` (at least 50 ms).
    pub fn start(cameras: CameraRegistry, interval: Duration) -> Result<Self, MediaError> {
        let first = enumerate(&cameras);
        let list = Arc::new(Mutex::new(first));
        let (commands, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let (t_cameras, t_list, t_stop) = (cameras.clone(), Arc::clone(&list), Arc::clone(&stop));
        let interval = interval.max(Duration::from_millis(50));
        let thread = std::thread::Builder::new()
            .name("huddle-devices".into())
            .spawn(move || poll_loop(t_cameras, t_list, rx, t_stop, interval))
            .map_err(|e| MediaError::InvalidArgument(format!("cannot start a thread: {e}")))?;
        Ok(DeviceManager {
            cameras,
            list,
            commands,
            stop,
            thread: Some(thread),
        })
    }

    /// The camera registry the manager watches (to open cameras or add synthetic ones).
    pub fn cameras(&self) -> &CameraRegistry {
        &self.cameras
    }

    /// The devices as of the last poll.
    pub fn devices(&self) -> DeviceList {
        self.list
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// A queue of device changes.
    pub fn events(&self, capacity: usize) -> Result<Subscription<DeviceEvent>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.commands
            .send(Command::Events(tx, dropped))
            .map_err(|_| MediaError::Stopped("device manager"))?;
        Ok(sub)
    }

    /// Polls at once instead of waiting for the next interval.
    pub fn poll_now(&self) -> Result<(), MediaError> {
        self.commands
            .send(Command::PollNow)
            .map_err(|_| MediaError::Stopped("device manager"))
    }
}

impl Drop for DeviceManager {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.commands.send(Command::PollNow);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn poll_loop(
    cameras: CameraRegistry,
    list: Arc<Mutex<DeviceList>>,
    commands: Receiver<Command>,
    stop: Arc<AtomicBool>,
    interval: Duration,
) {
    let mut events: Fanout<DeviceEvent> = Fanout::new();
    loop {
        match commands.recv_timeout(interval) {
            Ok(Command::Events(tx, d)) => {
                events.attach(tx, d);
                continue;
            }
            Ok(Command::PollNow) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let new = enumerate(&cameras);
        let old = list
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let changes = diff(&old, &new);
        if !changes.is_empty() {
            if let Ok(mut l) = list.lock() {
                *l = new;
            }
            for e in &changes {
                events.send(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, kind: DeviceKind, is_default: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            label: id.into(),
            kind,
            is_default,
        }
    }

    #[test]
    fn diff_reports_added_removed_and_default_changes() {
        let old = DeviceList {
            cameras: vec![dev("a", DeviceKind::Camera, true)],
            microphones: vec![dev("m1", DeviceKind::Microphone, true)],
            speakers: vec![],
        };
        let new = DeviceList {
            cameras: vec![dev("b", DeviceKind::Camera, true)],
            microphones: vec![
                dev("m1", DeviceKind::Microphone, false),
                dev("m2", DeviceKind::Microphone, true),
            ],
            speakers: vec![],
        };
        let ev = diff(&old, &new);
        assert!(ev.contains(&DeviceEvent::Added(dev("b", DeviceKind::Camera, true))));
        assert!(ev.contains(&DeviceEvent::Added(dev("m2", DeviceKind::Microphone, true))));
        assert!(ev.contains(&DeviceEvent::Removed(dev("a", DeviceKind::Camera, true))));
        assert!(ev.contains(&DeviceEvent::DefaultChanged {
            kind: DeviceKind::Microphone,
            id: Some("m2".into())
        }));
        assert!(diff(&new, &new).is_empty());
    }
}
