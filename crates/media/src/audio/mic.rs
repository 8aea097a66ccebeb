//! Microphone capture actor. The cpal callback only downmixes to mono and pushes samples
//! and a time mark into lock-free rings (no allocation, no locks, no logging). The actor
//! thread resamples to 48 kHz, cuts 10 ms frames, stamps them on the media clock and fans
//! them out; it also serves level-meter subscribers and switches devices on command
//! without closing its subscribers' queues.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};

use super::resample::MonoResampler;
use super::{find_device, AudioDeviceEvent, AudioDeviceInfo};
use crate::error::DeviceKind;
use crate::frame::{media_now, AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::processing::{LevelMeter, VoiceDetector};
use crate::queue::{pending_subscription, Fanout, Subscription};
use crate::MediaError;

/// An ALSA stream through PulseAudio takes about 1.5 s to open; leave ample room.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// One level reading (every 10 ms) for meters and "you are talking" hints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// RMS level in dBFS.
    pub dbfs: f32,
    /// Meter position 0..1 with fast attack and slow release.
    pub meter: f32,
    /// Voice detected.
    pub voice: bool,
    /// Media-clock time of the frame.
    pub timestamp: Duration,
}

/// Counters of a microphone capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MicStats {
    /// Frames delivered.
    pub frames: u64,
    /// Samples lost because the actor did not drain the device ring in time.
    pub overruns: u64,
}

struct Shared {
    failed: AtomicBool,
    overruns: AtomicU64,
    frames: AtomicU64,
}

type Reply = SyncSender<Result<AudioDeviceInfo, MediaError>>;

enum Command {
    Frames(SyncSender<AudioFrame>, Arc<AtomicU64>),
    Levels(SyncSender<Level>, Arc<AtomicU64>),
    Events(SyncSender<AudioDeviceEvent>, Arc<AtomicU64>),
    Switch(Option<String>, Reply),
    Stop,
}

/// A running microphone capture. Dropping it closes the device.
pub struct MicCapture {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl MicCapture {
    /// Opens a microphone (by id, or the default one) and starts capturing.
    pub fn start(id: Option<&str>) -> Result<(Self, AudioDeviceInfo), MediaError> {
        let (commands, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            failed: AtomicBool::new(false),
            overruns: AtomicU64::new(0),
            frames: AtomicU64::new(0),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("huddle-mic".into())
            .spawn(move || Actor::new(thread_shared).run(rx))
            .map_err(|e| MediaError::InvalidArgument(format!("cannot start a thread: {e}")))?;
        let mic = MicCapture {
            commands,
            thread: Some(thread),
            shared,
        };
        let info = mic.switch(id)?;
        Ok((mic, info))
    }

    /// A queue of 10 ms frames at 48 kHz mono holding at most `capacity` frames.
    pub fn subscribe(&self, capacity: usize) -> Result<Subscription<AudioFrame>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Frames(tx, dropped))?;
        Ok(sub)
    }

    /// A queue of level readings (one per 10 ms) for a level meter.
    pub fn levels(&self, capacity: usize) -> Result<Subscription<Level>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Levels(tx, dropped))?;
        Ok(sub)
    }

    /// A queue of device events (opened, lost).
    pub fn events(&self, capacity: usize) -> Result<Subscription<AudioDeviceEvent>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Events(tx, dropped))?;
        Ok(sub)
    }

    /// Switches to another microphone (or the default); subscribers keep their queues.
    /// On failure the previous microphone stays in use if it can be reopened.
    pub fn switch(&self, id: Option<&str>) -> Result<AudioDeviceInfo, MediaError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Switch(id.map(str::to_owned), reply))?;
        match answer.recv_timeout(OPEN_TIMEOUT) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(MediaError::Timeout("the microphone to open")),
            Err(RecvTimeoutError::Disconnected) => Err(MediaError::Stopped("microphone capture")),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> MicStats {
        MicStats {
            frames: self.shared.frames.load(Ordering::Relaxed),
            overruns: self.shared.overruns.load(Ordering::Relaxed),
        }
    }

    fn send(&self, cmd: Command) -> Result<(), MediaError> {
        self.commands
            .send(cmd)
            .map_err(|_| MediaError::Stopped("microphone capture"))
    }
}

impl Drop for MicCapture {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An open device: the cpal stream and the consumer ends of its rings.
struct Open {
    info: AudioDeviceInfo,
    _stream: cpal::Stream,
    samples: rtrb::Consumer<f32>,
    marks: rtrb::Consumer<(u64, u64)>,
    rate: u32,
    resampler: MonoResampler,
    consumed: u64,
    last_mark: Option<(u64, u64)>,
    emitted: u64,
}

struct Actor {
    shared: Arc<Shared>,
    frames: Fanout<AudioFrame>,
    levels: Fanout<Level>,
    events: Fanout<AudioDeviceEvent>,
    open: Option<Open>,
    scratch: Vec<f32>,
    out48: Vec<f32>,
    meter: LevelMeter,
    vad: VoiceDetector,
}

impl Actor {
    fn new(shared: Arc<Shared>) -> Self {
        Actor {
            shared,
            frames: Fanout::new(),
            levels: Fanout::new(),
            events: Fanout::new(),
            open: None,
            scratch: Vec::with_capacity(SAMPLE_RATE as usize),
            out48: Vec::with_capacity(SAMPLE_RATE as usize),
            meter: LevelMeter::default(),
            vad: VoiceDetector::new(),
        }
    }

    fn run(mut self, commands: Receiver<Command>) {
        loop {
            match commands.recv_timeout(Duration::from_millis(5)) {
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Command::Frames(tx, d)) => self.frames.attach(tx, d),
                Ok(Command::Levels(tx, d)) => self.levels.attach(tx, d),
                Ok(Command::Events(tx, d)) => self.events.attach(tx, d),
                Ok(Command::Switch(id, reply)) => {
                    let shared = &self.shared;
                    let result = super::switch_device(
                        &mut self.open,
                        |o| &o.info,
                        id.as_deref(),
                        |id| open_device(id, shared),
                    );
                    if let Ok(info) = &result {
                        self.events.send(&AudioDeviceEvent::Opened(info.clone()));
                    }
                    let _ = reply.send(result);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.pump();
        }
    }

    fn pump(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if self.shared.failed.swap(false, Ordering::SeqCst) {
            let id = open.info.id.clone();
            tracing::warn!("microphone {id} failed");
            self.open = None;
            let error = MediaError::DeviceUnplugged {
                kind: DeviceKind::Microphone,
                id: id.clone(),
            };
            self.events.send(&AudioDeviceEvent::Lost { id, error });
            return;
        }
        while let Ok(mark) = open.marks.pop() {
            open.last_mark = Some(mark);
        }
        self.scratch.clear();
        while let Ok(s) = open.samples.pop() {
            self.scratch.push(s);
        }
        open.consumed += self.scratch.len() as u64;
        if let Err(e) = open.resampler.process(&self.scratch, &mut self.out48) {
            tracing::warn!("microphone resampling failed: {e}");
            self.scratch.clear();
            return;
        }
        let ratio = open.resampler.ratio();
        let delay = open.resampler.delay() as f64;
        let mut start = 0;
        while self.out48.len() - start >= SAMPLES_PER_FRAME {
            // Map this frame's first sample back to device-sample index and from there,
            // through the newest callback mark, to the media clock.
            let in_index = (open.emitted as f64 - delay) / ratio;
            let timestamp = match open.last_mark {
                Some((idx, ns)) => {
                    let back = (idx as f64 - in_index) / f64::from(open.rate);
                    Duration::from_nanos(ns).saturating_sub(Duration::from_secs_f64(back.max(0.0)))
                }
                None => media_now(),
            };
            let mut frame = AudioFrame::silence(timestamp);
            frame
                .samples
                .copy_from_slice(&self.out48[start..start + SAMPLES_PER_FRAME]);
            start += SAMPLES_PER_FRAME;
            open.emitted += SAMPLES_PER_FRAME as u64;
            self.shared.frames.fetch_add(1, Ordering::Relaxed);
            if !self.levels.is_empty() {
                let dbfs = frame.rms_dbfs();
                let level = Level {
                    dbfs,
                    meter: self.meter.update(&frame),
                    voice: self.vad.update(dbfs),
                    timestamp,
                };
                self.levels.send(&level);
            }
            self.frames.send(&frame);
        }
        self.out48.drain(..start);
    }
}

fn open_device(id: Option<&str>, shared: &Arc<Shared>) -> Result<Open, MediaError> {
    let kind = DeviceKind::Microphone;
    let (device, info) = find_device(kind, id)?;
    let supported = device
        .default_input_config()
        .map_err(|e| MediaError::from_cpal(kind, &info.id, &e))?;
    let rate = supported.sample_rate();
    let channels = usize::from(supported.channels().max(1));
    let config = cpal::StreamConfig {
        channels: supported.channels(),
        sample_rate: rate,
        buffer_size: cpal::BufferSize::Default,
    };
    // Half a second of room: the actor drains every few ms, so only a stalled actor loses.
    let (samples_tx, samples) = rtrb::RingBuffer::<f32>::new(rate as usize / 2);
    let (marks_tx, marks) = rtrb::RingBuffer::<(u64, u64)>::new(256);
    shared.failed.store(false, Ordering::SeqCst);
    let err_shared = Arc::clone(shared);
    let on_error = move |e: cpal::Error| {
        // cpal keeps the stream running after every other error (xruns, transient
        // backend errors such as the pulse plugin's EIO at start-up); only these end it.
        if matches!(
            e.kind(),
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated
        ) {
            err_shared.failed.store(true, Ordering::SeqCst);
        }
    };
    let cb_shared = Arc::clone(shared);
    let mut writer = RingWriter {
        samples: samples_tx,
        marks: marks_tx,
        channels,
        total: 0,
        shared: cb_shared,
    };
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
            config,
            move |data, _| writer.write(data, |s| s),
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
            config,
            move |data, _| writer.write(data, |s| f32::from(s) / 32768.0),
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        cpal::SampleFormat::I32 => device.build_input_stream::<i32, _, _>(
            config,
            move |data, _| writer.write(data, |s| s as f32 / 2_147_483_648.0),
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        other => {
            return Err(MediaError::UnsupportedFormat {
                kind,
                id: info.id,
                what: format!("sample format {other}"),
            })
        }
    }
    .map_err(|e| MediaError::from_cpal(kind, &info.id, &e))?;
    stream
        .play()
        .map_err(|e| MediaError::from_cpal(kind, &info.id, &e))?;
    Ok(Open {
        resampler: MonoResampler::new(rate, SAMPLE_RATE)?,
        info,
        _stream: stream,
        samples,
        marks,
        rate,
        consumed: 0,
        last_mark: None,
        emitted: 0,
    })
}

/// The real-time side: lives inside the cpal callback.
struct RingWriter {
    samples: rtrb::Producer<f32>,
    marks: rtrb::Producer<(u64, u64)>,
    channels: usize,
    total: u64,
    shared: Arc<Shared>,
}

impl RingWriter {
    fn write<T: Copy>(&mut self, data: &[T], to_f32: impl Fn(T) -> f32) {
        let scale = 1.0 / self.channels as f32;
        let mut lost = 0u64;
        for frame in data.chunks_exact(self.channels) {
            let mono = frame.iter().map(|&s| to_f32(s)).sum::<f32>() * scale;
            if self.samples.push(mono).is_err() {
                lost += 1;
            }
        }
        self.total += (data.len() / self.channels) as u64;
        if lost > 0 {
            self.shared.overruns.fetch_add(lost, Ordering::Relaxed);
        }
        // The newest sample was captured about now; the actor derives frame times from it.
        let now = media_now().as_nanos() as u64;
        let _ = self.marks.push((self.total, now));
    }
}
