//! Microphones and speakers through cpal: enumeration with stable ids and human labels,
//! microphone capture resampled to 48 kHz mono 10 ms frames, speaker playout of a mix of
//! any number of streams (which is also the echo canceller's reference), level meters and
//! the speaker test sound.

mod mic;
pub mod resample;
mod speaker;

use cpal::traits::{DeviceTrait, HostTrait};

pub use mic::{Level, MicCapture, MicStats};
pub use speaker::{
    PlayoutSource, PushSource, PushSourceHandle, SourceGain, SourceId, SpeakerPlayout,
};

use crate::error::DeviceKind;
use crate::MediaError;

/// A microphone or speaker as the device list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AudioDeviceInfo {
    /// Stable id (the backend's name for the device, e.g. `alsa:default`).
    pub id: String,
    /// Name to show a person.
    pub label: String,
    /// Microphone or speaker.
    pub kind: DeviceKind,
    /// True for the system's default device of this kind.
    pub is_default: bool,
}

/// Something that happened to an open microphone or speaker.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioDeviceEvent {
    /// The device is open and running.
    Opened(AudioDeviceInfo),
    /// The device failed while running (unplugged, or the sound server went away). The
    /// consumer's stream stays open; choose another device with `switch`.
    Lost {
        /// Which device.
        id: String,
        /// Why.
        error: MediaError,
    },
}

/// ALSA pcms that are converters, effects or other sound systems rather than a place sound
/// comes from or goes to; offering them in a device picker only confuses people.
const ALSA_NOT_ENDPOINTS: &[&str] = &[
    "alsa:null",
    "alsa:lavrate",
    "alsa:samplerate",
    "alsa:speexrate",
    "alsa:speex",
    "alsa:upmix",
    "alsa:vdownmix",
    "alsa:jack",
    "alsa:oss",
];

fn host() -> cpal::Host {
    cpal::default_host()
}

fn device_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.to_string())
}

fn device_label(device: &cpal::Device) -> String {
    match device.description() {
        Ok(d) => d.name().to_owned(),
        Err(_) => device_id(device).unwrap_or_else(|| "Unknown device".into()),
    }
}

/// Lists the microphones (`DeviceKind::Microphone`) or speakers (`DeviceKind::Speaker`).
pub fn list_devices(kind: DeviceKind) -> Result<Vec<AudioDeviceInfo>, MediaError> {
    let host = host();
    let default_id = match kind {
        DeviceKind::Microphone => host.default_input_device(),
        DeviceKind::Speaker => host.default_output_device(),
        DeviceKind::Camera => {
            return Err(MediaError::InvalidArgument(
                "cameras are listed by the camera registry".into(),
            ))
        }
        DeviceKind::Screen => {
            return Err(MediaError::InvalidArgument(
                "screens are listed by screen::list_screens".into(),
            ))
        }
    }
    .and_then(|d| device_id(&d));
    let devices = host.devices().map_err(|e| MediaError::AudioUnavailable {
        kind,
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for d in devices {
        let fits = match kind {
            DeviceKind::Microphone => d.supports_input(),
            _ => d.supports_output(),
        };
        let Some(id) = device_id(&d) else { continue };
        if !fits
            || ALSA_NOT_ENDPOINTS.contains(&id.as_str())
            || out.iter().any(|o: &AudioDeviceInfo| o.id == id)
        {
            continue;
        }
        out.push(AudioDeviceInfo {
            is_default: default_id.as_deref() == Some(id.as_str()),
            label: device_label(&d),
            id,
            kind,
        });
    }
    // The default device first, so "first listed" is a sensible choice.
    out.sort_by_key(|d| !d.is_default);
    Ok(out)
}

/// Whether opening the ALSA device `id` (`alsa:<pcm>`) is refused by a sound server that is
/// not running: the pulse plugin's pcms (the usual `default` on desktops) fail with
/// `ECONNREFUSED` then. cpal keeps only the words of such an errno ("backend error"), so the
/// pcm is opened once more here to read the errno itself; this runs only after an open has
/// already failed.
#[cfg(target_os = "linux")]
pub(crate) fn sound_server_refused(kind: DeviceKind, id: &str) -> bool {
    let Some(pcm) = id.strip_prefix("alsa:") else {
        return false;
    };
    let direction = match kind {
        DeviceKind::Microphone => alsa::Direction::Capture,
        DeviceKind::Speaker => alsa::Direction::Playback,
        DeviceKind::Camera | DeviceKind::Screen => return false,
    };
    match alsa::pcm::PCM::new(pcm, direction, true) {
        Ok(_) => false,
        Err(e) => e.errno() == libc::ECONNREFUSED,
    }
}

/// Other systems' audio backends report a missing sound service as cpal's
/// `HostUnavailable` themselves.
#[cfg(not(target_os = "linux"))]
pub(crate) fn sound_server_refused(_kind: DeviceKind, _id: &str) -> bool {
    false
}

/// Finds a device by id (or the default one for `None`).
pub(crate) fn find_device(
    kind: DeviceKind,
    id: Option<&str>,
) -> Result<(cpal::Device, AudioDeviceInfo), MediaError> {
    let host = host();
    let default = match kind {
        DeviceKind::Microphone => host.default_input_device(),
        _ => host.default_output_device(),
    };
    let device = match id {
        None => default.clone(),
        Some(id) => {
            let parsed: Result<cpal::DeviceId, _> = id.parse();
            parsed.ok().and_then(|pid| host.device_by_id(&pid))
        }
    };
    let device = device.ok_or_else(|| MediaError::DeviceNotFound {
        kind,
        id: id.map(str::to_owned),
    })?;
    let id = device_id(&device).ok_or_else(|| MediaError::DeviceNotFound {
        kind,
        id: id.map(str::to_owned),
    })?;
    let is_default = default.and_then(|d| device_id(&d)).as_deref() == Some(id.as_str());
    let info = AudioDeviceInfo {
        label: device_label(&device),
        id,
        kind,
        is_default,
    };
    Ok((device, info))
}

/// Moves a running stream to device `id` (the default for `None`). When the new device
/// cannot be opened, the device that was open before is reopened, so a failed switch never
/// leaves the stream without a device; the error still goes back to the caller.
pub(crate) fn switch_device<O>(
    current: &mut Option<O>,
    info: for<'a> fn(&'a O) -> &'a AudioDeviceInfo,
    id: Option<&str>,
    open: impl Fn(Option<&str>) -> Result<O, MediaError>,
) -> Result<AudioDeviceInfo, MediaError> {
    let previous = current.take().map(|o| info(&o).id.clone());
    match open(id) {
        Ok(opened) => {
            let opened_info = info(&opened).clone();
            *current = Some(opened);
            Ok(opened_info)
        }
        Err(e) => {
            *current = previous.and_then(|p| open(Some(&p)).ok());
            Err(e)
        }
    }
}
