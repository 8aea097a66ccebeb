//! The pre-join device check: camera preview, microphone level meter and the speaker's test
//! sound. The meter shows the microphone as the call would send it: after the input volume,
//! with the noise gate's state (the controls are shared with the call, so a change here or in
//! the call's device menu applies to both). Each stream runs on its own thread that forwards from a `huddle-media` subscription
//! to a Tauri channel and stops when asked, when the device goes away, or when the window
//! stops listening.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huddle_media::{
    CameraCapture, CameraRegistry, CaptureFormat, DeviceKind, InputControls, InputShaper,
    LevelMeter, MediaError, MicCapture, SpeakerPlayout, SyntheticFault, VideoFrame, Worker,
};
use serde::Serialize;

use crate::error::{AppError, ErrorView};

/// The preview's size and rate: enough to judge framing and light, light on the IPC bridge.
pub const PREVIEW_FORMAT: CaptureFormat = CaptureFormat::new(640, 360, 15);
/// Level readings arrive every 10 ms; the meter is redrawn at most this often.
const METER_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub label: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    pub cameras: Vec<Device>,
    pub microphones: Vec<Device>,
    pub speakers: Vec<Device>,
    /// Why there is no camera to pick, in words; absent while there is one.
    pub camera_problem: Option<ErrorView>,
    pub microphone_problem: Option<ErrorView>,
    pub speaker_problem: Option<ErrorView>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterReading {
    /// 0..1 (-60 to 0 dBFS of peak, after the input volume), fast attack and slow release.
    pub meter: f32,
    /// The peak after the input volume.
    pub dbfs: f32,
    /// The noise gate lets the voice through (always without a gate).
    pub open: bool,
}

impl MeterReading {
    /// A reading from a meter position (0..1 for -60..0 dBFS).
    pub fn from_meter(meter: f32, open: bool) -> Self {
        MeterReading {
            meter,
            dbfs: meter * 60.0 - 60.0,
            open,
        }
    }
}

/// Owns the devices the pre-join screen has open.
pub struct DeviceCheck {
    cameras: CameraRegistry,
    preview: Mutex<Option<Worker>>,
    meter: Mutex<Option<Worker>>,
    speaker: Mutex<Option<(Option<String>, SpeakerPlayout)>>,
    /// The input volume and gate, for the meter here and for the call.
    input: Arc<InputControls>,
}

impl Default for DeviceCheck {
    fn default() -> Self {
        let cameras = CameraRegistry::new();
        // A test pattern is always there, so a machine without a camera can still check
        // the whole path (and tests can see moving video).
        let _pattern = cameras.add_synthetic("Test pattern", SyntheticFault::None);
        DeviceCheck {
            cameras,
            preview: Mutex::new(None),
            meter: Mutex::new(None),
            speaker: Mutex::new(None),
            input: Arc::default(),
        }
    }
}

/// "No microphone was found…" for an empty list.
fn none_found(kind: DeviceKind, list: &[Device]) -> Option<ErrorView> {
    list.is_empty()
        .then(|| AppError::from(MediaError::DeviceNotFound { kind, id: None }).view())
}

fn to_devices(list: Vec<huddle_media::DeviceInfo>) -> Vec<Device> {
    list.into_iter()
        .map(|d| Device {
            id: d.id,
            label: d.label,
            is_default: d.is_default,
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicked forwarding thread never holds these locks, so the data is still sound.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DeviceCheck {
    /// The cameras the app knows, the test pattern included; a call opens its camera here.
    pub fn cameras(&self) -> CameraRegistry {
        self.cameras.clone()
    }

    pub fn list(&self) -> Devices {
        let list = huddle_media::devices::enumerate(&self.cameras);
        let cameras = to_devices(list.cameras);
        let microphones = to_devices(list.microphones);
        let speakers = to_devices(list.speakers);
        Devices {
            camera_problem: none_found(DeviceKind::Camera, &cameras),
            microphone_problem: none_found(DeviceKind::Microphone, &microphones),
            speaker_problem: none_found(DeviceKind::Speaker, &speakers),
            cameras,
            microphones,
            speakers,
        }
    }

    /// Starts (or restarts on another camera) the preview, handing each frame to `show`.
    /// Returns the camera's label.
    pub fn start_preview(
        &self,
        id: Option<&str>,
        show: impl Fn(&Arc<VideoFrame>) + Send + 'static,
    ) -> Result<String, AppError> {
        let mut slot = lock(&self.preview);
        slot.take();
        let (capture, info) = CameraCapture::start(self.cameras.clone(), id, PREVIEW_FORMAT)?;
        // Two frames of slack: a late frame is dropped, never queued behind newer ones.
        let frames = capture.subscribe(2)?;
        *slot = Some(Worker::spawn("huddle-preview", move |stop| {
            let _capture = capture;
            while !stop.load(Ordering::Relaxed) {
                match frames.recv_timeout(Duration::from_millis(200)) {
                    Ok(frame) => show(&frame),
                    Err(MediaError::Timeout(_)) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "camera preview stopped");
                        break;
                    }
                }
            }
        })?);
        Ok(info.label)
    }

    /// The microphone's volume and gate, which a call joined now uses (and keeps following).
    pub fn input(&self) -> Arc<InputControls> {
        Arc::clone(&self.input)
    }

    /// Sets the microphone's volume and gate, here and in a call.
    pub fn set_input(&self, volume: f32, gate: Option<f32>) {
        self.input.set_volume(volume);
        self.input.set_gate(gate);
    }

    pub fn stop_preview(&self) {
        lock(&self.preview).take();
    }

    /// Starts (or restarts on another microphone) the level meter. Returns the device label.
    pub fn start_meter(
        &self,
        id: Option<&str>,
        send: impl Fn(MeterReading) -> bool + Send + 'static,
    ) -> Result<String, AppError> {
        let mut slot = lock(&self.meter);
        slot.take();
        let (mic, info) = MicCapture::start(id)?;
        let frames = mic.subscribe(64)?;
        let input = Arc::clone(&self.input);
        *slot = Some(Worker::spawn("huddle-meter", move |stop| {
            let _mic = mic;
            let (mut shaper, mut meter) = (InputShaper::new(), LevelMeter::default());
            let mut peak: Option<MeterReading> = None;
            let mut last_sent = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                match frames.recv_timeout(Duration::from_millis(200)) {
                    Ok(mut frame) => {
                        let shaped = shaper.shape(&input, &mut frame);
                        let reading = MeterReading {
                            meter: meter.update_dbfs(shaped.peak_dbfs),
                            dbfs: shaped.peak_dbfs,
                            open: shaped.open,
                        };
                        // Keep the loudest reading of each interval so short peaks show.
                        peak = Some(match peak {
                            Some(p) if p.meter >= reading.meter => MeterReading {
                                open: p.open || reading.open,
                                ..p
                            },
                            _ => reading,
                        });
                    }
                    Err(MediaError::Timeout(_)) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "level meter stopped");
                        break;
                    }
                }
                if last_sent.elapsed() >= METER_INTERVAL {
                    if let Some(p) = peak.take() {
                        if !send(p) {
                            break;
                        }
                    }
                    last_sent = Instant::now();
                }
            }
        })?);
        Ok(info.label)
    }

    pub fn stop_meter(&self) {
        lock(&self.meter).take();
    }

    /// Plays the test sound on a speaker, opening (or switching to) it first.
    pub fn play_test_sound(&self, id: Option<&str>) -> Result<(), AppError> {
        let mut slot = lock(&self.speaker);
        let wanted = id.map(str::to_owned);
        let reuse = matches!(slot.as_ref(), Some((open, _)) if *open == wanted);
        if !reuse {
            // The speaker open before closes first: a device may not open twice.
            slot.take();
            let (speaker, _info) = SpeakerPlayout::start(id)?;
            *slot = Some((wanted, speaker));
        }
        if let Some((_, speaker)) = slot.as_ref() {
            speaker.play_test_sound()?;
        }
        Ok(())
    }

    /// Closes everything (when the user joins or closes the window).
    pub fn stop_all(&self) {
        self.stop_preview();
        self.stop_meter();
        lock(&self.speaker).take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{Hub, Source, HEADER_BYTES};
    use std::sync::mpsc;

    #[test]
    fn the_test_pattern_is_listed_and_previews_moving_frames(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let check = DeviceCheck::default();
        let devices = check.list();
        let pattern = devices
            .cameras
            .iter()
            .find(|c| c.label == "Test pattern")
            .ok_or("the test pattern is listed")?;
        // Frames reach the page's canvas through the hub, as in the app.
        let hub = Arc::new(Hub::default());
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(8);
        hub.attach(
            Source::Preview,
            Box::new(move |frame| {
                let _ = tx.try_send(frame);
                true
            }),
        );
        let to_hub = Arc::clone(&hub);
        let label = check.start_preview(Some(&pattern.id), move |frame| {
            to_hub.offer(Source::Preview, frame);
        })?;
        assert_eq!(label, "Test pattern");
        let first = rx.recv_timeout(Duration::from_secs(5))?;
        let word = |bytes: &[u8], at: usize| -> Result<u32, Box<dyn std::error::Error>> {
            Ok(u32::from_le_bytes(bytes[at..at + 4].try_into()?))
        };
        let (w, h) = (word(&first, 0)?, word(&first, 4)?);
        assert_eq!((w, h), (PREVIEW_FORMAT.width, PREVIEW_FORMAT.height));
        assert_eq!(first.len(), HEADER_BYTES + (w * h * 3 / 2) as usize);
        // Until the page takes a frame, no other is sent; newer ones replace each other.
        assert!(
            rx.recv_timeout(Duration::from_millis(400)).is_err(),
            "one frame in transit at a time"
        );
        hub.ack(Source::Preview);
        let second = rx.recv_timeout(Duration::from_secs(5))?;
        assert!(
            word(&second, 8)? >= 1,
            "the frames replaced while waiting are counted in the header"
        );
        let mut later = second;
        for _ in 0..4 {
            hub.ack(Source::Preview);
            later = rx.recv_timeout(Duration::from_secs(5))?;
        }
        assert_ne!(
            first[HEADER_BYTES..],
            later[HEADER_BYTES..],
            "the pattern moves"
        );
        check.stop_preview();
        Ok(())
    }

    #[test]
    fn an_unknown_camera_is_a_clear_error() {
        let check = DeviceCheck::default();
        let err = check.start_preview(Some("synthetic:does-not-exist"), |_| {});
        assert!(
            matches!(
                err,
                Err(AppError::Media(MediaError::DeviceNotFound {
                    kind: DeviceKind::Camera,
                    ..
                }))
            ),
            "{err:?}"
        );
    }
}
