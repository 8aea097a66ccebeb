//! The one error type of the media engine.
//!
//! Device errors are split by what a person can do about them (pick another device, close the
//! other application, plug it back in, grant permission), so the UI can say so in words.

use std::fmt;

/// What kind of device an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A camera (real or synthetic).
    Camera,
    /// A microphone or other capture device.
    Microphone,
    /// A speaker or other playback device.
    Speaker,
    /// A screen (monitor) shared as video.
    Screen,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Microphone => "microphone",
            DeviceKind::Speaker => "speaker",
            DeviceKind::Screen => "screen",
        })
    }
}

/// Errors of the media engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// No device of this kind exists, or the requested id is unknown.
    #[error("no {kind} found{}", id_suffix(.id))]
    DeviceNotFound {
        /// Which kind of device was asked for.
        kind: DeviceKind,
        /// The id that was asked for, if any.
        id: Option<String>,
    },
    /// The device exists but another application (or stream) holds it.
    #[error("the {kind} '{id}' is busy (in use by another application)")]
    DeviceBusy {
        /// Which kind of device.
        kind: DeviceKind,
        /// Its id.
        id: String,
    },
    /// The device went away while it was in use.
    #[error("the {kind} '{id}' was unplugged")]
    DeviceUnplugged {
        /// Which kind of device.
        kind: DeviceKind,
        /// Its id.
        id: String,
    },
    /// The operating system refused access to the device.
    #[error("access to the {kind} '{id}' was refused")]
    PermissionDenied {
        /// Which kind of device.
        kind: DeviceKind,
        /// Its id.
        id: String,
    },
    /// The device cannot deliver the requested format.
    #[error("the {kind} '{id}' does not support {what}")]
    UnsupportedFormat {
        /// Which kind of device.
        kind: DeviceKind,
        /// Its id.
        id: String,
        /// The format that was asked for.
        what: String,
    },
    /// Any other failure reported by a device backend.
    #[error("{kind} '{id}' failed: {message}")]
    Device {
        /// Which kind of device.
        kind: DeviceKind,
        /// Its id.
        id: String,
        /// The backend's words.
        message: String,
    },
    /// The audio system itself is not reachable (for example the sound server is not
    /// running), so no device of this kind can be used, whichever is picked through it.
    #[error("no {kind} can be used: the sound system is not running ({reason})")]
    AudioUnavailable {
        /// Which kind of device was asked for.
        kind: DeviceKind,
        /// The backend's words.
        reason: String,
    },
    /// Input data (a frame, a packet, an image) is malformed.
    #[error("invalid {what}: {reason}")]
    InvalidData {
        /// What was being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A codec refused to work.
    #[error("{codec} error: {message}")]
    Codec {
        /// Which codec.
        codec: &'static str,
        /// What it said.
        message: String,
    },
    /// This platform or desktop session cannot do it (yet); the text says what is missing.
    #[error("{0}")]
    Unavailable(String),
    /// An argument was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A worker thread behind a handle has stopped.
    #[error("the {0} has stopped")]
    Stopped(&'static str),
    /// Waiting for something timed out.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

fn id_suffix(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" with id '{id}'"),
        None => String::new(),
    }
}

impl MediaError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        MediaError::InvalidData {
            what,
            reason: reason.into(),
        }
    }

    /// Maps a cpal error from opening or configuring a device onto the engine's device
    /// errors. (A device that goes away while it runs is reported by the stream itself, as
    /// [`MediaError::DeviceUnplugged`].)
    pub(crate) fn from_cpal(kind: DeviceKind, id: &str, err: &cpal::Error) -> Self {
        use cpal::ErrorKind as K;
        let reason = err.to_string();
        let id = id.to_owned();
        match err.kind() {
            K::DeviceBusy => MediaError::DeviceBusy { kind, id },
            K::DeviceNotAvailable => MediaError::DeviceNotFound { kind, id: Some(id) },
            K::StreamInvalidated => MediaError::DeviceUnplugged { kind, id },
            K::PermissionDenied => MediaError::PermissionDenied { kind, id },
            K::UnsupportedConfig => MediaError::UnsupportedFormat {
                kind,
                id,
                what: reason,
            },
            K::HostUnavailable => MediaError::AudioUnavailable { kind, reason },
            K::BackendError if crate::audio::sound_server_refused(kind, &id) => {
                MediaError::AudioUnavailable { kind, reason }
            }
            _ => MediaError::Device {
                kind,
                id,
                message: reason,
            },
        }
    }
}

impl From<opus::Error> for MediaError {
    fn from(err: opus::Error) -> Self {
        MediaError::Codec {
            codec: "opus",
            message: err.to_string(),
        }
    }
}

impl From<openh264::Error> for MediaError {
    fn from(err: openh264::Error) -> Self {
        MediaError::Codec {
            codec: "h264",
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpal_errors_keep_what_a_person_can_do_about_them() {
        let mic = DeviceKind::Microphone;
        let map = |kind| MediaError::from_cpal(mic, "alsa:x", &cpal::Error::new(kind));
        assert!(matches!(
            map(cpal::ErrorKind::DeviceBusy),
            MediaError::DeviceBusy { .. }
        ));
        // Opening a device that is not there is "not found", not "unplugged".
        assert!(matches!(
            map(cpal::ErrorKind::DeviceNotAvailable),
            MediaError::DeviceNotFound { id: Some(_), .. }
        ));
        assert!(matches!(
            map(cpal::ErrorKind::StreamInvalidated),
            MediaError::DeviceUnplugged { .. }
        ));
        assert!(matches!(
            map(cpal::ErrorKind::PermissionDenied),
            MediaError::PermissionDenied { .. }
        ));
        assert!(matches!(
            map(cpal::ErrorKind::UnsupportedConfig),
            MediaError::UnsupportedFormat { .. }
        ));
        assert!(matches!(
            map(cpal::ErrorKind::HostUnavailable),
            MediaError::AudioUnavailable {
                kind: DeviceKind::Microphone,
                ..
            }
        ));
    }

    #[test]
    fn a_backend_error_of_a_pcm_that_does_not_exist_stays_a_device_error() {
        let err = cpal::Error::with_message(cpal::ErrorKind::BackendError, "snd_pcm_open failed");
        let mapped = MediaError::from_cpal(DeviceKind::Speaker, "alsa:huddle_no_such_pcm", &err);
        assert!(
            matches!(mapped, MediaError::Device { ref message, .. } if message == "snd_pcm_open failed"),
            "{mapped:?}"
        );
    }
}
