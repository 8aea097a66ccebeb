//! Device faults give the documented error or event, never a panic or a hang: a missing
//! device, a busy device, and a camera unplugged mid-stream (synthetic camera), which the
//! device manager also reports as removed. Every wait has a timeout.

mod common;

use std::time::{Duration, Instant};

use common::TestResult;
use huddle_media::{
    CameraCapture, CameraRegistry, CaptureEvent, CaptureFormat, DeviceEvent, DeviceKind,
    DeviceManager, MediaError, MicCapture, SpeakerPlayout, SyntheticFault,
};

const FORMAT: CaptureFormat = CaptureFormat::new(320, 180, 30);

#[test]
fn missing_devices_are_not_found() -> TestResult {
    let registry = CameraRegistry::synthetic_only();
    match registry.open(None, FORMAT) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Camera,
            id: None,
        }) => {}
        other => return Err(format!("no camera at all: {:?}", other.map(|_| ())).into()),
    }
    match CameraCapture::start(registry.clone(), Some("synthetic:99"), FORMAT) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Camera,
            id: Some(_),
        }) => {}
        other => return Err(format!("unknown camera: {:?}", other.map(|_| ())).into()),
    }
    match MicCapture::start(Some("alsa:huddle_no_such_device")) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Microphone,
            ..
        }) => {}
        other => return Err(format!("unknown microphone: {:?}", other.map(|_| ())).into()),
    }
    match SpeakerPlayout::start(Some("not even an id")) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Speaker,
            ..
        }) => {}
        other => return Err(format!("unknown speaker: {:?}", other.map(|_| ())).into()),
    }
    Ok(())
}

#[test]
fn real_camera_enumeration_without_cameras_is_empty_not_an_error() -> TestResult {
    // Build machines have no V4L2 devices: listing must simply find none.
    let registry = CameraRegistry::new();
    let synthetic = registry.add_synthetic("Test pattern", SyntheticFault::None);
    let list = registry.list();
    assert!(list.iter().any(|c| c.id == synthetic.info().id));
    match registry.open(Some("cam:/no/such/camera"), FORMAT) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Camera,
            ..
        }) => Ok(()),
        other => Err(format!("expected not found, got {:?}", other.map(|_| ())).into()),
    }
}

#[test]
fn busy_camera_is_reported_as_busy() -> TestResult {
    let registry = CameraRegistry::synthetic_only();
    let cam = registry.add_synthetic("Busy camera", SyntheticFault::Busy);
    match CameraCapture::start(registry.clone(), Some(&cam.info().id), FORMAT) {
        Err(MediaError::DeviceBusy {
            kind: DeviceKind::Camera,
            id,
        }) => {
            assert_eq!(id, cam.info().id);
        }
        other => return Err(format!("expected busy, got {:?}", other.map(|_| ())).into()),
    }
    // Once the other application lets go, it opens.
    cam.set_fault(SyntheticFault::None);
    let (_capture, info) = CameraCapture::start(registry, Some(&cam.info().id), FORMAT)?;
    assert_eq!(info.id, cam.info().id);
    Ok(())
}

#[test]
fn camera_unplugged_mid_stream_reports_lost_and_removed_then_recovers() -> TestResult {
    let registry = CameraRegistry::synthetic_only();
    let a = registry.add_synthetic("Camera A", SyntheticFault::None);
    let b = registry.add_synthetic("Camera B", SyntheticFault::None);
    let manager = DeviceManager::start(registry.clone(), Duration::from_millis(100))?;
    let device_events = manager.events(64)?;
    let (capture, _) = CameraCapture::start(registry, Some(&a.info().id), FORMAT)?;
    let frames = capture.subscribe(8)?;
    let events = capture.events(8)?;
    for _ in 0..5 {
        frames.recv_timeout(Duration::from_secs(2))?;
    }

    a.unplug();
    let lost = events.recv_timeout(Duration::from_secs(2))?;
    match lost {
        CaptureEvent::Lost {
            camera_id,
            error: MediaError::DeviceUnplugged { .. },
        } => {
            assert_eq!(camera_id, a.info().id);
        }
        other => return Err(format!("expected Lost(unplugged), got {other:?}").into()),
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut removed = false;
    while Instant::now() < deadline && !removed {
        if let Ok(DeviceEvent::Removed(d)) = device_events.recv_timeout(Duration::from_millis(200))
        {
            removed = d.id == a.info().id;
        }
    }
    assert!(
        removed,
        "the device manager did not report the camera as removed"
    );

    // Drain what was queued before the unplug, then switch: the same queue carries on.
    while frames.try_recv()?.is_some() {}
    let info = capture.switch(Some(&b.info().id))?;
    assert_eq!(info.id, b.info().id);
    let frame = frames.recv_timeout(Duration::from_secs(2))?;
    let stamp = huddle_media::read_stamp(&frame).ok_or("no stamp on the new camera's frame")?;
    assert!(
        stamp.counter < 5,
        "frames should come from the fresh camera B"
    );
    Ok(())
}

#[test]
fn camera_unplugging_itself_after_n_frames_is_an_event_not_a_panic() -> TestResult {
    let registry = CameraRegistry::synthetic_only();
    let cam = registry.add_synthetic("Flaky", SyntheticFault::UnplugAfterFrames(3));
    let (capture, _) = CameraCapture::start(registry, Some(&cam.info().id), FORMAT)?;
    let events = capture.events(4)?;
    let frames = capture.subscribe(16)?;
    match events.recv_timeout(Duration::from_secs(2))? {
        CaptureEvent::Lost {
            error: MediaError::DeviceUnplugged { .. },
            ..
        } => {}
        other => return Err(format!("expected Lost, got {other:?}").into()),
    }
    let mut n = 0;
    while frames.try_recv()?.is_some() {
        n += 1;
    }
    assert!(n <= 3, "got {n} frames from a camera that died after 3");
    assert!(!cam.is_plugged());
    // Reopening a camera that is gone is "not found", not a hang.
    match capture.switch(Some(&cam.info().id)) {
        Err(MediaError::DeviceNotFound { .. }) => Ok(()),
        other => Err(format!("expected not found, got {other:?}").into()),
    }
}
