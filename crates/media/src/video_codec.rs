//! H.264 through OpenH264: an encoder whose bitrate and frame rate can change while it runs,
//! that makes a keyframe on demand and has camera and screen-content modes, and a decoder
//! to I420. Packets are Annex B byte streams (start codes between NAL units).

use std::os::raw::{c_int, c_void};

use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, Level, RateControlMode,
    UsageType,
};
use openh264::formats::{YUVSlices, YUVSource};
use openh264::{OpenH264API, Timestamp};

use crate::frame::{media_now, VideoFrame};
use crate::MediaError;

/// What the encoder is tuned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentMode {
    /// Camera video in a call.
    #[default]
    Camera,
    /// Shared screens: sharp text, mostly static.
    Screen,
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct H264Settings {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Frame rate the rate control plans for.
    pub fps: f32,
    /// Camera or screen content.
    pub mode: ContentMode,
    /// Let rate control skip frames when over budget (useful on slow links).
    pub allow_frame_skip: bool,
    /// Encoder effort (CPU per frame against quality per bit).
    pub effort: Effort,
}

/// How hard the encoder works per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// Lowest CPU cost.
    Fast,
    /// OpenH264's default balance.
    #[default]
    Balanced,
    /// Best quality per bit, most CPU.
    Thorough,
}

impl Default for H264Settings {
    fn default() -> Self {
        H264Settings {
            bitrate_bps: 1_500_000,
            fps: 30.0,
            mode: ContentMode::Camera,
            allow_frame_skip: false,
            effort: Effort::Balanced,
        }
    }
}

/// One encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// Annex B bytes (empty when the encoder skipped the frame).
    pub data: Vec<u8>,
    /// True for an IDR frame a decoder can start from.
    pub keyframe: bool,
    /// Capture time of the source frame on the media clock.
    pub timestamp: std::time::Duration,
}

/// H.264 encoder.
pub struct H264Encoder {
    encoder: Encoder,
    settings: H264Settings,
    // The encoder learns the size from the first frame; rate changes before that are kept
    // in `settings` and applied at initialisation.
    initialised: bool,
}

impl H264Encoder {
    /// A new encoder with the given settings.
    pub fn new(settings: H264Settings) -> Result<Self, MediaError> {
        check_rates(settings.bitrate_bps, settings.fps)?;
        let usage = match settings.mode {
            ContentMode::Camera => UsageType::CameraVideoRealTime,
            ContentMode::Screen => UsageType::ScreenContentRealTime,
        };
        // The fast setting also drops the analysis passes that only refine quality; OpenH264
        // has no adaptive quantisation or background detection for screen content.
        let analysis = settings.effort != Effort::Fast;
        let camera_analysis = analysis && settings.mode == ContentMode::Camera;
        let config = EncoderConfig::new()
            .scene_change_detect(analysis)
            .adaptive_quantization(camera_analysis)
            .background_detection(camera_analysis)
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps))
            .usage_type(usage)
            .rate_control_mode(RateControlMode::Bitrate)
            // A fixed level: left to itself OpenH264 derives one from the starting bitrate and
            // then refuses any later rate above that level's ceiling. 3.1 (720p30) is what the
            // call negotiates; screens up to 1080p need 4.0.
            .level(match settings.mode {
                ContentMode::Camera => Level::Level_3_1,
                ContentMode::Screen => Level::Level_4_0,
            })
            .skip_frames(settings.allow_frame_skip)
            .complexity(match settings.effort {
                Effort::Fast => Complexity::Low,
                Effort::Balanced => Complexity::Medium,
                Effort::Thorough => Complexity::High,
            });
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        Ok(H264Encoder {
            encoder,
            settings,
            initialised: false,
        })
    }

    /// Current settings.
    pub fn settings(&self) -> H264Settings {
        self.settings
    }

    /// Changes the target bitrate without restarting the stream (no new keyframe).
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), MediaError> {
        check_rates(bitrate_bps, self.settings.fps)?;
        let raising = bitrate_bps > self.settings.bitrate_bps;
        self.settings.bitrate_bps = bitrate_bps;
        if self.initialised {
            let mut info = openh264_sys2::SBitrateInfo {
                iLayer: openh264_sys2::SPATIAL_LAYER_ALL,
                iBitrate: bitrate_bps as c_int,
            };
            // The ceiling must not fall below the target: raise it first when going up, lower
            // it after when going down. The ceiling is kept per spatial layer too (set to the
            // starting rate when the encoder was made), and the target is checked against
            // that one, so both are moved. OpenH264 refuses some ceilings (it checks them
            // against the level's limits); the target is what counts, so that refusal is not
            // an error of this call.
            let ceilings = |this: &mut Self| {
                for layer in [
                    openh264_sys2::SPATIAL_LAYER_ALL,
                    openh264_sys2::SPATIAL_LAYER_0,
                ] {
                    let mut max = openh264_sys2::SBitrateInfo {
                        iLayer: layer,
                        iBitrate: bitrate_bps as c_int,
                    };
                    let _ = this.set_option(openh264_sys2::ENCODER_OPTION_MAX_BITRATE, &mut max);
                }
            };
            if raising {
                ceilings(self);
                self.set_option(openh264_sys2::ENCODER_OPTION_BITRATE, &mut info)?;
            } else {
                self.set_option(openh264_sys2::ENCODER_OPTION_BITRATE, &mut info)?;
                ceilings(self);
            }
        }
        Ok(())
    }

    /// Changes the frame rate the rate control plans for.
    pub fn set_frame_rate(&mut self, fps: f32) -> Result<(), MediaError> {
        check_rates(self.settings.bitrate_bps, fps)?;
        self.settings.fps = fps;
        if self.initialised {
            let mut value = fps;
            self.set_option(openh264_sys2::ENCODER_OPTION_FRAME_RATE, &mut value)?;
        }
        Ok(())
    }

    fn set_option<T>(
        &mut self,
        option: openh264_sys2::ENCODER_OPTION,
        value: &mut T,
    ) -> Result<(), MediaError> {
        // SAFETY: the encoder is initialised (a frame has been encoded), and each option id is
        // paired with the type OpenH264 documents for it (SBitrateInfo for the bitrates, float
        // for the frame rate); the pointer is valid for the duration of the call.
        let rc = unsafe {
            self.encoder
                .raw_api()
                .set_option(option, (value as *mut T).cast::<c_void>())
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(MediaError::Codec {
                codec: "h264",
                message: format!("set option {option} failed with {rc}"),
            })
        }
    }

    /// Makes the next frame a keyframe (after loss, or for a new subscriber).
    pub fn request_keyframe(&mut self) {
        if self.initialised {
            self.encoder.force_intra_frame();
        }
        // Before the first frame there is nothing to do: the first frame is always IDR.
    }

    /// Encodes one frame.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<EncodedVideo, MediaError> {
        let (w, h) = (frame.width as usize, frame.height as usize);
        if frame.data.len() != crate::frame::i420_len(frame.width, frame.height) {
            return Err(MediaError::invalid(
                "I420 frame",
                "buffer size does not match its size",
            ));
        }
        let src = YUVSlices::new((frame.y(), frame.u(), frame.v()), (w, h), (w, w / 2, w / 2));
        let ts = Timestamp::from_millis(frame.timestamp.as_millis() as u64);
        let bitstream = self.encoder.encode_at(&src, ts)?;
        let keyframe = matches!(bitstream.frame_type(), FrameType::IDR | FrameType::I);
        let data = bitstream.to_vec();
        if !self.initialised {
            self.initialised = true;
            // Settings changed before the first frame were already part of the config.
        }
        Ok(EncodedVideo {
            data,
            keyframe,
            timestamp: frame.timestamp,
        })
    }
}

fn check_rates(bitrate_bps: u32, fps: f32) -> Result<(), MediaError> {
    if !(10_000..=50_000_000).contains(&bitrate_bps) {
        return Err(MediaError::InvalidArgument(format!(
            "bitrate {bitrate_bps} bit/s is outside 10 kbit/s..50 Mbit/s"
        )));
    }
    if !(fps.is_finite() && (1.0..=120.0).contains(&fps)) {
        return Err(MediaError::InvalidArgument(format!(
            "frame rate {fps} is outside 1..=120"
        )));
    }
    Ok(())
}

/// H.264 decoder to I420.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    /// A new decoder.
    pub fn new() -> Result<Self, MediaError> {
        Ok(H264Decoder {
            decoder: Decoder::new()?,
        })
    }

    /// Decodes one Annex B packet (one or more NAL units). `Ok(None)` when the packet
    /// completes no picture (parameter sets only, or the decoder needs more data). Corrupt
    /// input gives an error; the decoder stays usable and recovers at the next keyframe.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Option<VideoFrame>, MediaError> {
        let Some(yuv) = self.decoder.decode(packet)? else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let (w, h) = (w & !1, h & !1);
        if w == 0 || h == 0 {
            return Ok(None);
        }
        let mut frame = VideoFrame::black(w as u32, h as u32, media_now())?;
        let (y, u, v) = frame.planes_mut();
        copy_plane(yuv.y(), sy, y, w, h);
        copy_plane(yuv.u(), su, u, w / 2, h / 2);
        copy_plane(yuv.v(), sv, v, w / 2, h / 2);
        Ok(Some(frame))
    }
}

fn copy_plane(src: &[u8], stride: usize, dst: &mut [u8], w: usize, h: usize) {
    for (row, out) in dst.chunks_exact_mut(w).take(h).enumerate() {
        out.copy_from_slice(&src[row * stride..row * stride + w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::Pattern;
    use std::time::Duration;

    #[test]
    fn first_frame_is_a_keyframe_and_keyframes_come_on_demand() -> Result<(), MediaError> {
        let pattern = Pattern::new(320, 180);
        let mut enc = H264Encoder::new(H264Settings::default())?;
        let mut dec = H264Decoder::new()?;
        let mut kinds = Vec::new();
        for n in 0..6 {
            if n == 4 {
                enc.request_keyframe();
            }
            let f = pattern.render(n, Duration::from_millis(n * 33))?;
            let e = enc.encode(&f)?;
            kinds.push(e.keyframe);
            let d = dec.decode(&e.data)?;
            assert!(d.is_some(), "frame {n} did not decode");
        }
        assert_eq!(kinds, vec![true, false, false, false, true, false]);
        Ok(())
    }

    #[test]
    fn rates_change_while_running_and_bad_rates_are_refused() -> Result<(), MediaError> {
        let pattern = Pattern::new(320, 180);
        let mut enc = H264Encoder::new(H264Settings::default())?;
        enc.encode(&pattern.render(0, Duration::ZERO)?)?;
        enc.set_bitrate(300_000)?;
        enc.set_frame_rate(15.0)?;
        let e = enc.encode(&pattern.render(1, Duration::from_millis(66))?)?;
        assert!(!e.keyframe);
        assert!(enc.set_bitrate(1).is_err());
        assert!(enc.set_frame_rate(0.0).is_err());
        Ok(())
    }

    #[test]
    fn garbage_input_is_an_error_not_a_panic() -> Result<(), MediaError> {
        let mut dec = H264Decoder::new()?;
        let junk: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut packet = vec![0, 0, 0, 1, 0x65];
        packet.extend_from_slice(&junk);
        let _ = dec.decode(&packet);
        let _ = dec.decode(&[]);
        let _ = dec.decode(&[0, 0, 1]);
        Ok(())
    }
}
