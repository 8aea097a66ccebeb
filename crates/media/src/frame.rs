//! Frames that flow through the engine: raw I420 video and 10 ms mono audio at 48 kHz,
//! plus the engine's monotonic media clock that stamps them.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::MediaError;

/// Sample rate of every audio frame inside the engine.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one audio frame: 10 ms at 48 kHz, the unit of audio processing.
pub const SAMPLES_PER_FRAME: usize = 480;
/// Duration of one audio frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(10);

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Time on the engine's media clock: a monotonic duration since the clock's first use.
///
/// Capture timestamps of audio and video share this clock, so they can be compared with
/// each other (lip sync, echo delay) within one process.
pub fn media_now() -> Duration {
    media_time_of(Instant::now())
}

/// The media-clock time of an `Instant`; instants before the epoch map to zero.
pub fn media_time_of(instant: Instant) -> Duration {
    let epoch = *EPOCH.get_or_init(Instant::now);
    instant.saturating_duration_since(epoch)
}

/// One raw video frame in I420 (planar Y, then U and V at half width and height).
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Y plane (`width * height` bytes), then U and V planes (`width/2 * height/2` each).
    pub data: Vec<u8>,
    /// Capture time on the media clock.
    pub timestamp: Duration,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// Bytes an I420 frame of this size needs.
pub fn i420_len(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * (w / 2) * (h / 2)
}

impl VideoFrame {
    /// A black frame of the given size.
    pub fn black(width: u32, height: u32, timestamp: Duration) -> Result<Self, MediaError> {
        check_dimensions(width, height)?;
        let luma = width as usize * height as usize;
        let mut data = vec![128u8; i420_len(width, height)];
        data[..luma].fill(16);
        Ok(VideoFrame {
            width,
            height,
            data,
            timestamp,
        })
    }

    /// Wraps I420 bytes, checking that the size matches.
    pub fn from_i420(
        width: u32,
        height: u32,
        data: Vec<u8>,
        timestamp: Duration,
    ) -> Result<Self, MediaError> {
        check_dimensions(width, height)?;
        let want = i420_len(width, height);
        if data.len() != want {
            return Err(MediaError::invalid(
                "I420 frame",
                format!(
                    "{}x{} needs {want} bytes, got {}",
                    width,
                    height,
                    data.len()
                ),
            ));
        }
        Ok(VideoFrame {
            width,
            height,
            data,
            timestamp,
        })
    }

    fn luma_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    fn chroma_len(&self) -> usize {
        (self.width as usize / 2) * (self.height as usize / 2)
    }

    /// The Y plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    /// The U plane.
    pub fn u(&self) -> &[u8] {
        let start = self.luma_len();
        &self.data[start..start + self.chroma_len()]
    }

    /// The V plane.
    pub fn v(&self) -> &[u8] {
        let start = self.luma_len() + self.chroma_len();
        &self.data[start..start + self.chroma_len()]
    }

    /// The three planes, mutable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (luma, chroma) = (self.luma_len(), self.chroma_len());
        let (y, rest) = self.data.split_at_mut(luma);
        let (u, v) = rest.split_at_mut(chroma);
        (y, u, &mut v[..chroma])
    }
}

/// Rejects sizes the codecs and converters cannot take: zero, odd, or absurdly large.
pub(crate) fn check_dimensions(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(MediaError::InvalidArgument(format!(
            "frame size {width}x{height} must be non-zero and even"
        )));
    }
    if width > 7680 || height > 4320 {
        return Err(MediaError::InvalidArgument(format!(
            "frame size {width}x{height} is larger than 7680x4320"
        )));
    }
    Ok(())
}

/// Ten milliseconds of mono audio at 48 kHz, samples in [-1, 1].
#[derive(Clone, PartialEq)]
pub struct AudioFrame {
    /// The samples.
    pub samples: [f32; SAMPLES_PER_FRAME],
    /// Media-clock time of the first sample (capture time for captured audio, the time it
    /// was handed to the device for played audio).
    pub timestamp: Duration,
}

impl std::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioFrame")
            .field("timestamp", &self.timestamp)
            .field("rms_dbfs", &self.rms_dbfs())
            .finish()
    }
}

impl AudioFrame {
    /// A silent frame.
    pub fn silence(timestamp: Duration) -> Self {
        AudioFrame {
            samples: [0.0; SAMPLES_PER_FRAME],
            timestamp,
        }
    }

    /// Builds a frame from exactly 480 samples.
    pub fn from_slice(samples: &[f32], timestamp: Duration) -> Result<Self, MediaError> {
        let samples: [f32; SAMPLES_PER_FRAME] = samples.try_into().map_err(|_| {
            MediaError::invalid(
                "audio frame",
                format!("need {SAMPLES_PER_FRAME} samples, got {}", samples.len()),
            )
        })?;
        Ok(AudioFrame { samples, timestamp })
    }

    /// Level as RMS in dBFS (a full-scale square wave is 0 dBFS); silence is -100.
    pub fn rms_dbfs(&self) -> f32 {
        rms_dbfs(&self.samples)
    }

    /// Highest absolute sample value.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }
}

/// RMS of samples in dBFS, floored at -100.
pub fn rms_dbfs(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return -100.0;
    }
    let power = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    if power <= 1e-10 {
        -100.0
    } else {
        (10.0 * power.log10()).max(-100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_have_i420_sizes() -> Result<(), MediaError> {
        let f = VideoFrame::black(64, 48, Duration::ZERO)?;
        assert_eq!(f.y().len(), 64 * 48);
        assert_eq!(f.u().len(), 32 * 24);
        assert_eq!(f.v().len(), 32 * 24);
        assert!(f.y().iter().all(|&p| p == 16));
        Ok(())
    }

    #[test]
    fn odd_or_mismatched_frames_are_rejected() {
        assert!(VideoFrame::black(63, 48, Duration::ZERO).is_err());
        assert!(VideoFrame::from_i420(4, 4, vec![0; 10], Duration::ZERO).is_err());
        assert!(AudioFrame::from_slice(&[0.0; 479], Duration::ZERO).is_err());
    }

    #[test]
    fn level_of_full_scale_sine_is_minus_three_db() -> Result<(), MediaError> {
        let s: Vec<f32> = (0..480)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 48000.0).sin())
            .collect();
        let f = AudioFrame::from_slice(&s, Duration::ZERO)?;
        assert!((f.rms_dbfs() + 3.01).abs() < 0.05, "{}", f.rms_dbfs());
        assert_eq!(AudioFrame::silence(Duration::ZERO).rms_dbfs(), -100.0);
        Ok(())
    }
}
