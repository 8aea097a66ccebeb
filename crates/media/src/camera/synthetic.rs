//! The synthetic camera: a moving test pattern stamped with a frame counter and capture time,
//! selectable like any other camera. Tests and bots use it on machines without cameras, and
//! it can act out device faults (busy, unplugged mid-stream) on demand.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Camera, CameraInfo, CaptureFormat};
use crate::error::DeviceKind;
use crate::frame::{media_now, VideoFrame};
use crate::stamp::{stamp_height, write_stamp, Stamp};
use crate::MediaError;

/// Faults a synthetic camera can act out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyntheticFault {
    /// Behaves like a healthy camera.
    #[default]
    None,
    /// Opening fails as if another application held the camera.
    Busy,
    /// The camera disappears after this many frames of a stream.
    UnplugAfterFrames(u64),
}

/// Shared state between a registered synthetic camera and the handle its creator keeps.
#[derive(Debug)]
pub(crate) struct SyntheticState {
    pub(crate) info: CameraInfo,
    pub(crate) fault: Mutex<SyntheticFault>,
    pub(crate) unplugged: AtomicBool,
    pub(crate) open_streams: AtomicU64,
}

/// Control over one registered synthetic camera.
#[derive(Debug, Clone)]
pub struct SyntheticCameraHandle {
    pub(crate) state: Arc<SyntheticState>,
}

impl SyntheticCameraHandle {
    /// The camera's id and label.
    pub fn info(&self) -> &CameraInfo {
        &self.state.info
    }

    /// Pulls the camera out: running streams fail with `DeviceUnplugged`, and it leaves the
    /// device list.
    pub fn unplug(&self) {
        self.state.unplugged.store(true, Ordering::SeqCst);
    }

    /// Plugs the camera back in.
    pub fn replug(&self) {
        self.state.unplugged.store(false, Ordering::SeqCst);
    }

    /// Sets the fault to act out from the next open on.
    pub fn set_fault(&self, fault: SyntheticFault) {
        if let Ok(mut f) = self.state.fault.lock() {
            *f = fault;
        }
    }

    /// True while it is plugged in.
    pub fn is_plugged(&self) -> bool {
        !self.state.unplugged.load(Ordering::SeqCst)
    }
}

/// A running synthetic camera stream.
pub struct SyntheticCamera {
    state: Arc<SyntheticState>,
    format: CaptureFormat,
    fault: SyntheticFault,
    counter: u64,
    next_due: Instant,
    pattern: Pattern,
}

impl SyntheticCamera {
    pub(crate) fn open(
        state: Arc<SyntheticState>,
        format: CaptureFormat,
    ) -> Result<Self, MediaError> {
        format.validate()?;
        let id = state.info.id.clone();
        if state.unplugged.load(Ordering::SeqCst) {
            return Err(MediaError::DeviceNotFound {
                kind: DeviceKind::Camera,
                id: Some(id),
            });
        }
        let fault = state.fault.lock().map(|f| *f).unwrap_or_default();
        if fault == SyntheticFault::Busy {
            return Err(MediaError::DeviceBusy {
                kind: DeviceKind::Camera,
                id,
            });
        }
        state.open_streams.fetch_add(1, Ordering::SeqCst);
        Ok(SyntheticCamera {
            pattern: Pattern::new(format.width, format.height),
            state,
            format,
            fault,
            counter: 0,
            next_due: Instant::now(),
        })
    }

    /// A standalone synthetic camera, not registered anywhere (for tests and benchmarks).
    pub fn standalone(format: CaptureFormat) -> Result<Self, MediaError> {
        let state = Arc::new(SyntheticState {
            info: CameraInfo {
                id: "synthetic:standalone".into(),
                label: "Test pattern".into(),
                synthetic: true,
            },
            fault: Mutex::new(SyntheticFault::None),
            unplugged: AtomicBool::new(false),
            open_streams: AtomicU64::new(0),
        });
        Self::open(state, format)
    }

    /// Renders frame `n` without waiting for its due time (for tests and benchmarks).
    pub fn render(&mut self, n: u64) -> Result<VideoFrame, MediaError> {
        self.pattern.render(n, media_now())
    }
}

impl Drop for SyntheticCamera {
    fn drop(&mut self) {
        self.state.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Camera for SyntheticCamera {
    fn info(&self) -> &CameraInfo {
        &self.state.info
    }

    fn format(&self) -> CaptureFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, MediaError> {
        let unplug_now = match self.fault {
            SyntheticFault::UnplugAfterFrames(n) if self.counter >= n => {
                self.state.unplugged.store(true, Ordering::SeqCst);
                true
            }
            _ => self.state.unplugged.load(Ordering::SeqCst),
        };
        if unplug_now {
            return Err(MediaError::DeviceUnplugged {
                kind: DeviceKind::Camera,
                id: self.state.info.id.clone(),
            });
        }
        let now = Instant::now();
        if self.next_due > now {
            std::thread::sleep(self.next_due - now);
        }
        let period = Duration::from_secs(1) / self.format.fps.max(1);
        self.next_due += period;
        // After a long stall, restart the cadence instead of bursting to catch up.
        if self.next_due + period < Instant::now() {
            self.next_due = Instant::now();
        }
        let frame = self.pattern.render(self.counter, media_now())?;
        self.counter += 1;
        Ok(frame)
    }
}

/// The moving test pattern: smooth luma and chroma waves drifting at different speeds and a
/// bright square bouncing around, under the stamp strip. Smooth content keeps it meaningful
/// for codec quality measurements (noise would only measure the encoder's noise handling).
pub struct Pattern {
    width: u32,
    height: u32,
}

impl Pattern {
    /// A pattern for frames of this size.
    pub fn new(width: u32, height: u32) -> Self {
        Pattern { width, height }
    }

    /// Frame `n` of the pattern, stamped with `n` and the given capture time.
    pub fn render(&self, n: u64, timestamp: Duration) -> Result<VideoFrame, MediaError> {
        let mut frame = VideoFrame::black(self.width, self.height, timestamp)?;
        let (w, h) = (self.width as usize, self.height as usize);
        let t = n as f32;
        let tau = std::f32::consts::TAU;
        let col: Vec<f32> = (0..w)
            .map(|x| (tau * (x as f32 + 3.0 * t) / 320.0).sin())
            .collect();
        let row: Vec<f32> = (0..h)
            .map(|y| (tau * (y as f32 - 2.0 * t) / 240.0).cos())
            .collect();
        let (yp, up, vp) = frame.planes_mut();
        for (y, r) in row.iter().enumerate() {
            let line = &mut yp[y * w..(y + 1) * w];
            for (p, c) in line.iter_mut().zip(&col) {
                *p = (126.0 + 55.0 * c + 35.0 * r) as u8;
            }
        }
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let i = cy * (w / 2) + cx;
                up[i] = (128.0 + 40.0 * col[(2 * cx + w / 3) % w]) as u8;
                vp[i] = (128.0 + 40.0 * row[(2 * cy + h / 4) % h]) as u8;
            }
        }
        // The bouncing square.
        let side = (h / 6).max(4) & !1;
        let strip = stamp_height(self.width, self.height);
        let span_x = w.saturating_sub(side).max(1);
        let span_y = h.saturating_sub(side + strip).max(1);
        let bounce = |pos: u64, span: usize| -> usize {
            let p = (pos % (2 * span as u64)) as usize;
            if p < span {
                p
            } else {
                2 * span - p
            }
        };
        let sx = bounce(n * 7, span_x) & !1;
        let sy = (strip + bounce(n * 5, span_y)) & !1;
        for y in sy..(sy + side).min(h) {
            yp[y * w + sx..y * w + (sx + side).min(w)].fill(200);
        }
        for cy in sy / 2..((sy + side) / 2).min(h / 2) {
            let start = cy * (w / 2) + sx / 2;
            let end = cy * (w / 2) + ((sx + side) / 2).min(w / 2);
            up[start..end].fill(90);
            vp[start..end].fill(200);
        }
        write_stamp(
            &mut frame,
            Stamp {
                counter: n as u32,
                capture_ms: timestamp.as_millis() as u32,
            },
        );
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::read_stamp;

    #[test]
    fn pattern_moves_and_is_stamped() -> Result<(), MediaError> {
        let p = Pattern::new(320, 180);
        let a = p.render(1, Duration::from_millis(1000))?;
        let b = p.render(2, Duration::from_millis(1033))?;
        assert_ne!(a.y(), b.y());
        let s = read_stamp(&b).ok_or(MediaError::InvalidArgument("no stamp".into()))?;
        assert_eq!((s.counter, s.capture_ms), (2, 1033));
        Ok(())
    }

    #[test]
    fn unplug_after_frames_fails_the_stream() -> Result<(), MediaError> {
        let mut cam = SyntheticCamera::standalone(CaptureFormat::new(160, 90, 100))?;
        cam.fault = SyntheticFault::UnplugAfterFrames(2);
        cam.next_frame()?;
        cam.next_frame()?;
        assert!(matches!(
            cam.next_frame(),
            Err(MediaError::DeviceUnplugged { .. })
        ));
        Ok(())
    }
}
