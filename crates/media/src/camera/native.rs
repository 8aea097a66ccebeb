//! Real cameras through nokhwa (V4L2 on Linux, Media Foundation and AVFoundation elsewhere).
//! Frames arrive as MJPEG, YUYV, NV12, grey or RGB and are converted and scaled to I420 here.

use std::time::Instant;

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use super::{Camera, CameraInfo, CaptureFormat};
use crate::convert;
use crate::error::DeviceKind;
use crate::frame::{media_time_of, VideoFrame};
use crate::MediaError;

const PREFIX: &str = "cam:";

/// Cameras the operating system reports. Failures to enumerate count as "no cameras"
/// (a machine without V4L2 devices reports an error rather than an empty list).
pub(super) fn list() -> Vec<CameraInfo> {
    match nokhwa::query(ApiBackend::Auto) {
        Ok(cams) => cams.iter().map(|c| info_of(c).0).collect(),
        Err(e) => {
            tracing::debug!("camera enumeration failed: {e}");
            Vec::new()
        }
    }
}

fn info_of(c: &nokhwa::utils::CameraInfo) -> (CameraInfo, CameraIndex) {
    // The bus/path in `misc` survives re-enumeration; the index alone can move on hotplug.
    let misc = c.misc();
    let key = if misc.trim().is_empty() {
        format!("{}|{}", c.human_name(), c.index())
    } else {
        misc
    };
    (
        CameraInfo {
            id: format!("{PREFIX}{key}"),
            label: c.human_name(),
            synthetic: false,
        },
        c.index().clone(),
    )
}

pub(super) fn open(id: &str, format: CaptureFormat) -> Result<Box<dyn Camera>, MediaError> {
    let cams = nokhwa::query(ApiBackend::Auto).unwrap_or_default();
    let (info, index) = cams
        .iter()
        .map(info_of)
        .find(|(info, _)| info.id == id)
        .ok_or_else(|| MediaError::DeviceNotFound {
            kind: DeviceKind::Camera,
            id: Some(id.to_owned()),
        })?;
    let requested = RequestedFormat::new::<nokhwa::pixel_format::RgbFormat>(
        RequestedFormatType::Closest(CameraFormat::new(
            Resolution::new(format.width, format.height),
            FrameFormat::MJPEG,
            format.fps,
        )),
    );
    let mut camera = nokhwa::Camera::new(index, requested).map_err(|e| map_err(id, e))?;
    camera.open_stream().map_err(|e| map_err(id, e))?;
    Ok(Box::new(NativeCamera {
        info,
        format,
        camera,
    }))
}

fn map_err(id: &str, err: nokhwa::NokhwaError) -> MediaError {
    let text = err.to_string();
    let lower = text.to_lowercase();
    let id = id.to_owned();
    let kind = DeviceKind::Camera;
    if lower.contains("busy") {
        MediaError::DeviceBusy { kind, id }
    } else if lower.contains("permission") || lower.contains("denied") {
        MediaError::PermissionDenied { kind, id }
    } else if lower.contains("no such") || lower.contains("not found") {
        MediaError::DeviceUnplugged { kind, id }
    } else {
        MediaError::Device {
            kind,
            id,
            message: text,
        }
    }
}

struct NativeCamera {
    info: CameraInfo,
    format: CaptureFormat,
    camera: nokhwa::Camera,
}

impl Camera for NativeCamera {
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn format(&self) -> CaptureFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, MediaError> {
        let buffer = self.camera.frame().map_err(|e| map_err(&self.info.id, e))?;
        let ts = media_time_of(Instant::now());
        let res = buffer.resolution();
        let (w, h) = (res.width() & !1, res.height() & !1);
        let data = buffer.buffer();
        let frame = match buffer.source_frame_format() {
            FrameFormat::MJPEG => convert::mjpeg_to_i420(data, ts)?,
            FrameFormat::YUYV => convert::yuyv_to_i420(data, w, h, ts)?,
            FrameFormat::NV12 => convert::nv12_to_i420(data, w, h, ts)?,
            FrameFormat::GRAY => convert::gray_to_i420(data, w, h, ts)?,
            FrameFormat::RAWRGB => convert::rgb_to_i420(data, w, h, false, ts)?,
            FrameFormat::RAWBGR => convert::rgb_to_i420(data, w, h, true, ts)?,
        };
        convert::scale_i420(&frame, self.format.width, self.format.height)
    }
}

impl Drop for NativeCamera {
    fn drop(&mut self) {
        if let Err(e) = self.camera.stop_stream() {
            tracing::debug!("stopping camera {}: {e}", self.info.id);
        }
    }
}
