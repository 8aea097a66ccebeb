//! A named thread with a stop flag, for the loops that forward from a device subscription:
//! dropping the [`Worker`] raises the flag and joins the thread, so whatever the thread holds
//! (a device, a queue) is released when the owner lets go. The thread's body checks the flag
//! between waits (every 200 ms or so), so the drop returns that quickly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::MediaError;

/// A running thread and its stop flag; dropping it stops and joins the thread.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts `body` on a thread called `name`, handing it the flag that says when to stop.
    ///
    /// # Errors
    /// [`MediaError::InvalidArgument`] when the system cannot start a thread.
    pub fn spawn(
        name: &str,
        body: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> Result<Self, MediaError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&flag))
            .map_err(|e| MediaError::InvalidArgument(format!("cannot start a thread: {e}")))?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("a device thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dropping_stops_and_joins_the_thread() -> Result<(), MediaError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = Worker::spawn("test-worker", move |stop| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = tx.send("stopped");
        })?;
        drop(worker);
        // Joined: the thread has sent its last word by the time drop returns.
        assert_eq!(rx.try_recv().ok(), Some("stopped"));
        Ok(())
    }
}
