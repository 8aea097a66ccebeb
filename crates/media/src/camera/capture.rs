//! The camera capture actor: one thread owns the open camera, fans frames out to bounded
//! subscribers, and takes commands (subscribe, switch camera, stop). Switching or losing the
//! camera does not close the subscribers' queues: frames resume when a camera is open again.

use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Camera, CameraInfo, CameraRegistry, CaptureFormat};
use crate::frame::VideoFrame;
use crate::queue::{pending_subscription, Fanout, Subscription};
use crate::MediaError;

/// How long to wait for the capture thread to open a camera.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Something that happened to the capture.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureEvent {
    /// A camera is open and delivering frames.
    Opened(CameraInfo),
    /// The open camera failed (e.g. unplugged); no frames until another is chosen.
    Lost {
        /// The camera that failed.
        camera_id: String,
        /// Why.
        error: MediaError,
    },
}

type Reply = SyncSender<Result<CameraInfo, MediaError>>;

enum Command {
    Subscribe(SyncSender<Arc<VideoFrame>>, Arc<AtomicU64>),
    Events(SyncSender<CaptureEvent>, Arc<AtomicU64>),
    Switch(Option<String>, Reply),
    Stop,
}

/// A running camera capture. Dropping it stops the capture thread.
pub struct CameraCapture {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl CameraCapture {
    /// Opens a camera (by id, or the default one) and starts capturing at `format`.
    pub fn start(
        registry: CameraRegistry,
        id: Option<&str>,
        format: CaptureFormat,
    ) -> Result<(Self, CameraInfo), MediaError> {
        format.validate()?;
        let (commands, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("huddle-camera".into())
            .spawn(move || run(registry, format, rx))
            .map_err(|e| MediaError::InvalidArgument(format!("cannot start a thread: {e}")))?;
        let capture = CameraCapture {
            commands,
            thread: Some(thread),
        };
        let info = capture.switch(id)?;
        Ok((capture, info))
    }

    /// A new frame queue holding at most `capacity` frames; late frames are dropped and
    /// counted.
    pub fn subscribe(&self, capacity: usize) -> Result<Subscription<Arc<VideoFrame>>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Subscribe(tx, dropped))?;
        Ok(sub)
    }

    /// A queue of capture events (camera opened, camera lost).
    pub fn events(&self, capacity: usize) -> Result<Subscription<CaptureEvent>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Events(tx, dropped))?;
        Ok(sub)
    }

    /// Switches to another camera (or the default one); subscribers keep their queues.
    /// On failure the previous camera, if any, stays open.
    pub fn switch(&self, id: Option<&str>) -> Result<CameraInfo, MediaError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Switch(id.map(str::to_owned), reply))?;
        match answer.recv_timeout(OPEN_TIMEOUT) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(MediaError::Timeout("the camera to open")),
            Err(RecvTimeoutError::Disconnected) => Err(MediaError::Stopped("camera capture")),
        }
    }

    fn send(&self, cmd: Command) -> Result<(), MediaError> {
        self.commands
            .send(cmd)
            .map_err(|_| MediaError::Stopped("camera capture"))
    }
}

impl Drop for CameraCapture {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(registry: CameraRegistry, format: CaptureFormat, commands: Receiver<Command>) {
    let mut frames: Fanout<Arc<VideoFrame>> = Fanout::new();
    let mut events: Fanout<CaptureEvent> = Fanout::new();
    let mut camera: Option<Box<dyn Camera>> = None;
    loop {
        // With a camera open, commands are polled between frames; without one, we wait.
        let cmd = if camera.is_some() {
            match commands.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match commands.recv_timeout(Duration::from_millis(200)) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        match cmd {
            Some(Command::Stop) => return,
            Some(Command::Subscribe(tx, dropped)) => frames.attach(tx, dropped),
            Some(Command::Events(tx, dropped)) => events.attach(tx, dropped),
            Some(Command::Switch(id, reply)) => {
                // Close the old camera first: a real device may refuse a second open.
                let previous = camera.take().map(|c| c.info().id.clone());
                let result = registry.open(id.as_deref(), format);
                match result {
                    Ok(new) => {
                        let info = new.info().clone();
                        camera = Some(new);
                        events.send(&CaptureEvent::Opened(info.clone()));
                        let _ = reply.send(Ok(info));
                    }
                    Err(e) => {
                        // Keep the stream alive on the camera we had, if it still opens.
                        camera = previous.and_then(|p| registry.open(Some(&p), format).ok());
                        let _ = reply.send(Err(e));
                    }
                }
            }
            None => {}
        }
        if let Some(cam) = camera.as_mut() {
            match cam.next_frame() {
                Ok(frame) => frames.send(&Arc::new(frame)),
                Err(error) => {
                    let camera_id = cam.info().id.clone();
                    tracing::warn!("camera {camera_id} failed: {error}");
                    camera = None;
                    events.send(&CaptureEvent::Lost { camera_id, error });
                }
            }
        }
    }
}
