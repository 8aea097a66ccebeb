//! A private X server for screen-capture tests and benchmarks: `Xvfb` on a display number it
//! picks itself (`-displayfd`, so parallel tests never race for one), stopped by its pid
//! when the guard is dropped, also when a test fails.
#![allow(dead_code)] // Each user needs only part of it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long Xvfb may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running Xvfb; dropping it stops the server.
pub struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts `Xvfb -screen 0 <width>x<height>x24`. `Ok(None)` when Xvfb is not installed.
    pub fn start(width: u32, height: u32) -> Result<Option<Xvfb>, String> {
        Self::start_with(width, height, 24, &[])
    }

    /// Like `start`, with a colour depth and more arguments (e.g. `-extension MIT-SHM` to
    /// turn that off).
    pub fn start_with(
        width: u32,
        height: u32,
        depth: u32,
        extra: &[&str],
    ) -> Result<Option<Xvfb>, String> {
        let spawned = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0"])
            .arg(format!("{width}x{height}x{depth}"))
            .args(["-nolisten", "tcp", "-noreset"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot start Xvfb: {e}")),
        };
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("Xvfb's stdout was not captured".into());
        };
        // The guard owns the child from here on, so every early return stops it.
        let mut guard = Xvfb {
            child,
            display: String::new(),
        };
        // Xvfb writes its display number once it accepts connections.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let number = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line.trim().to_owned(),
            Ok(Ok(_)) => return Err("Xvfb exited without a display number".into()),
            Ok(Err(e)) => return Err(format!("reading Xvfb's display number: {e}")),
            Err(_) => return Err(format!("Xvfb did not start within {START_TIMEOUT:?}")),
        };
        guard.display = format!(":{number}");
        Ok(Some(guard))
    }

    /// The display name to connect to, e.g. `:3`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Stops the server now (as dropping the guard does).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM first, so that Xvfb removes its lock file and socket.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with the pid of a child we spawned and have not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        self.stop();
    }
}
