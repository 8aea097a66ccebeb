//! Cameras: the `Camera` trait, the registry that lists and opens real (V4L2 through nokhwa)
//! and synthetic cameras by id, and `CameraCapture`, the actor that owns the open camera,
//! delivers I420 frames to any number of bounded subscribers and switches cameras without
//! ending the subscribers' stream.

mod capture;
mod native;
mod synthetic;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

pub use capture::{CameraCapture, CaptureEvent};
pub use synthetic::{Pattern, SyntheticCamera, SyntheticCameraHandle, SyntheticFault};

use crate::error::DeviceKind;
use crate::frame::{check_dimensions, VideoFrame};
use crate::MediaError;
use synthetic::SyntheticState;

/// Prefix of synthetic camera ids.
pub const SYNTHETIC_PREFIX: &str = "synthetic:";

/// A camera as the device list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CameraInfo {
    /// Stable id: the same camera keeps it across enumerations and restarts.
    pub id: String,
    /// Name to show a person.
    pub label: String,
    /// True for synthetic test-pattern cameras.
    pub synthetic: bool,
}

/// The size and rate frames are delivered at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureFormat {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl CaptureFormat {
    /// A format of this size and rate.
    pub const fn new(width: u32, height: u32, fps: u32) -> Self {
        CaptureFormat { width, height, fps }
    }

    /// 1280x720 at 30 frames per second.
    pub const HD: CaptureFormat = CaptureFormat::new(1280, 720, 30);

    pub(crate) fn validate(&self) -> Result<(), MediaError> {
        check_dimensions(self.width, self.height)?;
        if self.fps == 0 || self.fps > 120 {
            return Err(MediaError::InvalidArgument(format!(
                "frame rate {} is outside 1..=120",
                self.fps
            )));
        }
        Ok(())
    }
}

/// An open camera delivering I420 frames at its `format()`.
///
/// Implementations need not be `Send`: a camera is opened and used on one capture thread.
pub trait Camera {
    /// Which camera this is.
    fn info(&self) -> &CameraInfo;
    /// The size and rate frames come at.
    fn format(&self) -> CaptureFormat;
    /// Blocks until the next frame. `DeviceUnplugged` once the camera is gone.
    fn next_frame(&mut self) -> Result<VideoFrame, MediaError>;
}

/// Lists and opens cameras by id: synthetic ones registered at run time and real ones.
#[derive(Clone, Default)]
pub struct CameraRegistry {
    synthetic: Arc<Mutex<Vec<Arc<SyntheticState>>>>,
    native_enabled: bool,
}

impl CameraRegistry {
    /// A registry with real cameras and no synthetic ones.
    pub fn new() -> Self {
        CameraRegistry {
            synthetic: Arc::default(),
            native_enabled: true,
        }
    }

    /// A registry that only knows synthetic cameras (tests, bots, machines without V4L2).
    pub fn synthetic_only() -> Self {
        CameraRegistry {
            synthetic: Arc::default(),
            native_enabled: false,
        }
    }

    /// Registers a synthetic camera; it is listed and opened like any other.
    pub fn add_synthetic(&self, label: &str, fault: SyntheticFault) -> SyntheticCameraHandle {
        let mut list = self
            .synthetic
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = format!("{SYNTHETIC_PREFIX}{}", list.len());
        let state = Arc::new(SyntheticState {
            info: CameraInfo {
                id,
                label: label.to_owned(),
                synthetic: true,
            },
            fault: Mutex::new(fault),
            unplugged: AtomicBool::new(false),
            open_streams: AtomicU64::new(0),
        });
        list.push(Arc::clone(&state));
        SyntheticCameraHandle { state }
    }

    /// The cameras present now: real ones first, then plugged-in synthetic ones.
    pub fn list(&self) -> Vec<CameraInfo> {
        let mut out = if self.native_enabled {
            native::list()
        } else {
            Vec::new()
        };
        let list = self
            .synthetic
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.extend(
            list.iter()
                .filter(|s| !s.unplugged.load(std::sync::atomic::Ordering::SeqCst))
                .map(|s| s.info.clone()),
        );
        out
    }

    /// The camera to use when the user has not chosen one: the first listed.
    pub fn default_camera(&self) -> Option<CameraInfo> {
        self.list().into_iter().next()
    }

    /// Opens a camera by id (or the default camera for `None`).
    pub fn open(
        &self,
        id: Option<&str>,
        format: CaptureFormat,
    ) -> Result<Box<dyn Camera>, MediaError> {
        format.validate()?;
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                self.default_camera()
                    .ok_or(MediaError::DeviceNotFound {
                        kind: DeviceKind::Camera,
                        id: None,
                    })?
                    .id
            }
        };
        if id.starts_with(SYNTHETIC_PREFIX) {
            let state = {
                let list = self
                    .synthetic
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                list.iter().find(|s| s.info.id == id).cloned()
            };
            let state = state.ok_or(MediaError::DeviceNotFound {
                kind: DeviceKind::Camera,
                id: Some(id.clone()),
            })?;
            return Ok(Box::new(SyntheticCamera::open(state, format)?));
        }
        if !self.native_enabled {
            return Err(MediaError::DeviceNotFound {
                kind: DeviceKind::Camera,
                id: Some(id),
            });
        }
        native::open(&id, format)
    }
}
