//! Screen capture on Windows and macOS through xcap: `Monitor::all()` lists the monitors,
//! `Monitor::capture_image()` grabs one as RGBA, converted to I420 while scaling.
//!
//! Not compiled on Linux (X11 has its own backend), so this file stays small and uses only
//! xcap 0.9's `Monitor` API.

use std::time::Instant;

use xcap::Monitor;

use super::{fit_within, Pacer, ScreenInfo};
use crate::camera::{Camera, CameraInfo, CaptureFormat};
use crate::convert::rgba_to_i420_scaled;
use crate::error::DeviceKind;
use crate::frame::{media_time_of, VideoFrame};
use crate::MediaError;

/// Prefix of the ids of screens listed by xcap.
const PREFIX: &str = "screen:";

/// The screens present now, primary first.
pub(super) fn list_screens() -> Result<Vec<ScreenInfo>, MediaError> {
    Ok(monitors()?.into_iter().map(|(info, _)| info).collect())
}

/// Opens a screen; the first frame is grabbed here, which also learns its size in pixels
/// (on macOS the monitor's size is in points, the image's in pixels).
pub(super) fn open_screen(
    id: Option<&str>,
    limit: CaptureFormat,
) -> Result<Box<dyn Camera>, MediaError> {
    let (info, monitor) = monitors()?
        .into_iter()
        .find(|(info, _)| id.is_none_or(|id| info.id == id))
        .ok_or_else(|| MediaError::DeviceNotFound {
            kind: DeviceKind::Screen,
            id: id.map(str::to_owned),
        })?;
    let first = monitor.capture_image().map_err(|e| failed(&info.id, &e))?;
    let (width, height) = fit_within(first.width(), first.height(), limit)?;
    Ok(Box::new(XcapScreen {
        info: CameraInfo {
            id: info.id,
            label: info.label,
            synthetic: false,
        },
        format: CaptureFormat::new(width, height, limit.fps),
        limit,
        pacer: Pacer::new(limit.fps),
        monitor,
        first: Some(first),
    }))
}

/// The monitors with their list entries, primary first.
fn monitors() -> Result<Vec<(ScreenInfo, Monitor)>, MediaError> {
    let all = Monitor::all()
        .map_err(|e| MediaError::Unavailable(format!("cannot list the screens to share: {e}")))?;
    let mut out = Vec::with_capacity(all.len());
    for monitor in all {
        let Ok(key) = stable_key(&monitor) else {
            continue;
        };
        let name = monitor
            .friendly_name()
            .or_else(|_| monitor.name())
            .unwrap_or_default();
        let (width, height) = (monitor.width().unwrap_or(0), monitor.height().unwrap_or(0));
        let info = ScreenInfo {
            id: format!("{PREFIX}{key}"),
            label: name,
            width,
            height,
            primary: monitor.is_primary().unwrap_or(false),
        };
        out.push((info, monitor));
    }
    out.sort_by_key(|(info, _)| !info.primary);
    for (n, (info, _)) in out.iter_mut().enumerate() {
        info.label = format!(
            "Screen {} – {} ({}×{})",
            n + 1,
            info.label,
            info.width,
            info.height
        );
    }
    Ok(out)
}

/// What identifies a monitor across enumerations: the GDI device name on Windows (the
/// HMONITOR handle changes), the CGDirectDisplayID on macOS.
fn stable_key(monitor: &Monitor) -> Result<String, xcap::XCapError> {
    if cfg!(windows) {
        monitor.name()
    } else {
        monitor.id().map(|id| id.to_string())
    }
}

fn failed(id: &str, e: &xcap::XCapError) -> MediaError {
    MediaError::Device {
        kind: DeviceKind::Screen,
        id: id.to_owned(),
        message: e.to_string(),
    }
}

struct XcapScreen {
    info: CameraInfo,
    format: CaptureFormat,
    /// The size and rate asked for; `format` is what fits the screen within it.
    limit: CaptureFormat,
    pacer: Pacer,
    monitor: Monitor,
    /// The image grabbed when opening, delivered as the first frame.
    first: Option<xcap::image::RgbaImage>,
}

impl XcapScreen {
    /// Grabs once; after a failure, finds the monitor again by id (its handle may have
    /// changed) and tries once more, or reports it unplugged.
    fn capture(&mut self) -> Result<xcap::image::RgbaImage, MediaError> {
        match self.monitor.capture_image() {
            Ok(image) => Ok(image),
            Err(first_error) => {
                let again = monitors()?
                    .into_iter()
                    .find(|(info, _)| info.id == self.info.id);
                let Some((_, monitor)) = again else {
                    return Err(MediaError::DeviceUnplugged {
                        kind: DeviceKind::Screen,
                        id: self.info.id.clone(),
                    });
                };
                self.monitor = monitor;
                self.monitor.capture_image().map_err(|e| {
                    tracing::debug!("screen grab failed twice: {first_error}; {e}");
                    failed(&self.info.id, &e)
                })
            }
        }
    }
}

impl Camera for XcapScreen {
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn format(&self) -> CaptureFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, MediaError> {
        self.pacer.wait();
        let taken = media_time_of(Instant::now());
        let image = match self.first.take() {
            Some(image) => image,
            None => self.capture()?,
        };
        let (width, height) = (image.width(), image.height());
        // After a resolution change the output follows: the same limit, the new shape.
        let (out_width, out_height) = fit_within(width, height, self.limit)?;
        self.format = CaptureFormat::new(out_width, out_height, self.limit.fps);
        rgba_to_i420_scaled(
            image.as_raw(),
            width as usize * 4,
            width,
            height,
            out_width,
            out_height,
            taken,
        )
    }
}
