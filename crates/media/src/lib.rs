//! Huddle's media engine: cameras, screens, microphones and speakers, audio processing (echo
//! cancellation, noise suppression, gain control, voice activity, the microphone's volume and
//! noise gate), H.264 and Opus codecs, and the audio jitter buffer. It knows nothing of Tauri or the network; the call client
//! and the desktop shell drive it.
//!
//! Devices are actors: each open device is owned by one thread that takes commands and
//! hands frames to bounded queues ([`Subscription`]) that drop and count when a consumer
//! falls behind. Real-time audio callbacks only move samples through lock-free rings.
//!
//! Frames are [`VideoFrame`] (I420) and [`AudioFrame`] (10 ms, 48 kHz mono, f32), both
//! stamped on one monotonic media clock ([`media_now`]).

pub mod audio;
pub mod audio_codec;
pub mod camera;
pub mod convert;
pub mod devices;
mod error;
pub mod frame;
pub mod input;
pub mod jitter;
pub mod pipeline;
pub mod processing;
pub mod queue;
pub mod screen;
pub mod stamp;
pub mod synth;
pub mod video_codec;
mod worker;

pub use audio::{
    list_devices, AudioDeviceEvent, AudioDeviceInfo, Level, MicCapture, PlayoutSource,
    PushSourceHandle, SourceGain, SourceId, SpeakerPlayout,
};
pub use audio_codec::{EncodedAudio, OpusDecoder, OpusEncoder, OpusSettings};
pub use camera::{
    CameraCapture, CameraInfo, CameraRegistry, CaptureEvent, CaptureFormat, SyntheticCameraHandle,
    SyntheticFault,
};
pub use devices::{DeviceEvent, DeviceInfo, DeviceList, DeviceManager};
pub use error::{DeviceKind, MediaError};
pub use frame::{media_now, AudioFrame, VideoFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
pub use input::{InputControls, InputShaper, Shaped};
pub use jitter::{AudioPacket, FrameSource, JitterBuffer, JitterConfig, JitterStats};
pub use pipeline::{AudioSendPipeline, OutgoingAudio, RemoteAudio};
pub use processing::{
    AudioProcessor, EchoAligner, FrameAnalysis, LevelMeter, NoiseLevel, ProcessingConfig,
    ProcessorStats, SonoraProcessor, VoiceDetector,
};
pub use queue::Subscription;
pub use screen::{list_screens, open_screen, ScreenInfo};
pub use stamp::{read_stamp, write_stamp, Stamp};
pub use synth::{test_sound, SpeechSource};
pub use video_codec::{ContentMode, Effort, EncodedVideo, H264Decoder, H264Encoder, H264Settings};
pub use worker::Worker;
