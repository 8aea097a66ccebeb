//! Speaker playout actor: mixes any number of 48 kHz mono sources (remote participants'
//! jitter buffers, clips such as the test sound) into one stream, hands each mixed 10 ms
//! frame to reference subscribers (the echo canceller) and sends it to the device.
//!
//! The mixer runs on its own thread and keeps a small lead of samples in a lock-free ring;
//! the cpal callback only pops from that ring and spreads mono onto the device's channels.
//! The device's consumption paces the mixer, so the mix runs on the device clock.
//!
//! Each source has a playback gain ([`SourceGain`], 0 = silent .. 2 = doubled) that whoever
//! holds it may change at any time without a command: the mixer reads it once per frame and
//! ramps to a new value over that frame, so a change does not click.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};

use super::resample::MonoResampler;
use super::{find_device, AudioDeviceEvent, AudioDeviceInfo};
use crate::error::DeviceKind;
use crate::frame::{media_now, AudioFrame, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::queue::{pending_subscription, Fanout, Subscription};
use crate::MediaError;

const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Audio the mixer keeps queued ahead of the device by default. Less lowers latency but
/// risks underruns (audible gaps, and a jump in the echo path) on a busy machine.
pub const DEFAULT_LEAD: Duration = Duration::from_millis(40);

/// Something the speaker plays: pulled once per 10 ms of playout.
pub trait PlayoutSource: Send {
    /// Writes the next 10 ms into `out` (which is zeroed). Returns false when the source has
    /// ended and should be removed.
    fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool;
}

impl PlayoutSource for crate::synth::SpeechSource {
    fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool {
        self.fill(out);
        true
    }
}

/// A source's playback gain, shared between whoever sets it (a volume slider) and the mixer.
/// 0 is silent, 1 plays the source as it comes, [`SourceGain::MAX`] doubles it (the mix is
/// clipped to the output range).
#[derive(Debug)]
pub struct SourceGain(AtomicU32);

impl SourceGain {
    /// The highest gain: 200 %.
    pub const MAX: f32 = 2.0;

    /// A gain of `gain` (clamped to 0..=MAX; not a number means 1).
    pub fn new(gain: f32) -> Self {
        SourceGain(AtomicU32::new(clamp_gain(gain).to_bits()))
    }

    /// Changes the gain; the mixer moves to it over its next frame.
    pub fn set(&self, gain: f32) {
        self.0.store(clamp_gain(gain).to_bits(), Ordering::Relaxed);
    }

    /// The gain set last.
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl Default for SourceGain {
    fn default() -> Self {
        SourceGain::new(1.0)
    }
}

fn clamp_gain(gain: f32) -> f32 {
    if gain.is_finite() {
        gain.clamp(0.0, SourceGain::MAX)
    } else {
        1.0
    }
}

/// Identifies a source added to a playout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(u64);

/// A source fed by pushing frames from another thread (bounded; overflow drops and counts).
pub struct PushSource {
    rx: rtrb::Consumer<f32>,
    closed: Arc<AtomicBool>,
}

/// The pushing end of a `PushSource`.
pub struct PushSourceHandle {
    tx: rtrb::Producer<f32>,
    dropped: u64,
    closed: Arc<AtomicBool>,
}

impl PushSource {
    /// A source buffering up to `capacity_frames` frames, and its handle.
    pub fn new(capacity_frames: usize) -> (PushSource, PushSourceHandle) {
        let (tx, rx) = rtrb::RingBuffer::new(capacity_frames.max(1) * SAMPLES_PER_FRAME);
        let closed = Arc::new(AtomicBool::new(false));
        (
            PushSource {
                rx,
                closed: Arc::clone(&closed),
            },
            PushSourceHandle {
                tx,
                dropped: 0,
                closed,
            },
        )
    }
}

impl PlayoutSource for PushSource {
    fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool {
        // Only whole frames: `push` writes a frame sample by sample, so reading fewer than a
        // frame's worth could catch one half written and shift everything after it.
        if self.rx.slots() >= SAMPLES_PER_FRAME {
            for s in out.iter_mut() {
                if let Ok(v) = self.rx.pop() {
                    *s = v;
                }
            }
        }
        !(self.closed.load(Ordering::Relaxed) && self.rx.is_empty())
    }
}

impl PushSourceHandle {
    /// Queues a frame; returns false (and counts) when the queue is full.
    pub fn push(&mut self, frame: &AudioFrame) -> bool {
        if self.tx.slots() < SAMPLES_PER_FRAME {
            self.dropped += 1;
            return false;
        }
        for &s in &frame.samples {
            let _ = self.tx.push(s);
        }
        true
    }

    /// Frames waiting to be played.
    pub fn queued_frames(&self) -> usize {
        (self.tx.buffer().capacity() - self.tx.slots()) / SAMPLES_PER_FRAME
    }

    /// Frames dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Drop for PushSourceHandle {
    fn drop(&mut self) {
        // The source plays out what is queued, then ends.
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// A fixed clip, played once.
struct Clip {
    samples: Vec<f32>,
    pos: usize,
}

impl PlayoutSource for Clip {
    fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool {
        let end = (self.pos + SAMPLES_PER_FRAME).min(self.samples.len());
        let n = end - self.pos;
        out[..n].copy_from_slice(&self.samples[self.pos..end]);
        self.pos = end;
        self.pos < self.samples.len()
    }
}

struct Shared {
    failed: AtomicBool,
    underruns: AtomicU64,
    last_callback: AtomicU32,
    volume_bits: AtomicU32,
}

type Reply = SyncSender<Result<AudioDeviceInfo, MediaError>>;

enum Command {
    Add(SourceId, Box<dyn PlayoutSource>, Arc<SourceGain>),
    Remove(SourceId),
    Reference(SyncSender<AudioFrame>, Arc<AtomicU64>),
    Events(SyncSender<AudioDeviceEvent>, Arc<AtomicU64>),
    Switch(Option<String>, Reply),
    Stop,
}

/// A running speaker. Dropping it closes the device.
pub struct SpeakerPlayout {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl SpeakerPlayout {
    /// Opens a speaker (by id, or the default one) and starts playing silence, keeping
    /// `DEFAULT_LEAD` of audio queued ahead of the device.
    pub fn start(id: Option<&str>) -> Result<(Self, AudioDeviceInfo), MediaError> {
        Self::start_with_lead(id, DEFAULT_LEAD)
    }

    /// Like `start`, with the queued lead chosen by the caller (10 ms .. 400 ms).
    pub fn start_with_lead(
        id: Option<&str>,
        lead: Duration,
    ) -> Result<(Self, AudioDeviceInfo), MediaError> {
        if !(Duration::from_millis(10)..=Duration::from_millis(400)).contains(&lead) {
            return Err(MediaError::InvalidArgument(format!(
                "playout lead {lead:?} is outside 10..400 ms"
            )));
        }
        let (commands, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            failed: AtomicBool::new(false),
            underruns: AtomicU64::new(0),
            last_callback: AtomicU32::new(0),
            volume_bits: AtomicU32::new(1.0f32.to_bits()),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("huddle-speaker".into())
            .spawn(move || Mixer::new(thread_shared, lead).run(rx))
            .map_err(|e| MediaError::InvalidArgument(format!("cannot start a thread: {e}")))?;
        let speaker = SpeakerPlayout {
            commands,
            thread: Some(thread),
            shared,
            next_id: AtomicU64::new(1),
        };
        let info = speaker.switch(id)?;
        Ok((speaker, info))
    }

    /// Adds a source to the mix.
    pub fn add_source(&self, source: Box<dyn PlayoutSource>) -> Result<SourceId, MediaError> {
        self.add_source_with_gain(source, Arc::new(SourceGain::default()))
    }

    /// Adds a source played at `gain`, which the caller may change while it plays (from its
    /// first frame on: the source starts at the gain set then, without a ramp).
    pub fn add_source_with_gain(
        &self,
        source: Box<dyn PlayoutSource>,
        gain: Arc<SourceGain>,
    ) -> Result<SourceId, MediaError> {
        let id = SourceId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.send(Command::Add(id, source, gain))?;
        Ok(id)
    }

    /// Adds a push-fed source buffering up to `capacity_frames` frames.
    pub fn add_push_source(
        &self,
        capacity_frames: usize,
    ) -> Result<(SourceId, PushSourceHandle), MediaError> {
        let (source, handle) = PushSource::new(capacity_frames);
        let id = self.add_source(Box::new(source))?;
        Ok((id, handle))
    }

    /// Removes a source from the mix.
    pub fn remove_source(&self, id: SourceId) -> Result<(), MediaError> {
        self.send(Command::Remove(id))
    }

    /// Plays a 48 kHz mono clip once (mixed with everything else).
    pub fn play_clip(&self, samples: Vec<f32>) -> Result<SourceId, MediaError> {
        self.add_source(Box::new(Clip { samples, pos: 0 }))
    }

    /// Plays the speaker test sound of the pre-join screen.
    pub fn play_test_sound(&self) -> Result<SourceId, MediaError> {
        self.play_clip(crate::synth::test_sound())
    }

    /// The mix as it is sent to the device, frame by frame: the echo reference. Each frame
    /// is stamped with the media-clock time the device is due to reach it (mix time plus the
    /// queued lead; the device's own buffer is not included).
    pub fn reference(&self, capacity: usize) -> Result<Subscription<AudioFrame>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Reference(tx, dropped))?;
        Ok(sub)
    }

    /// A queue of device events (opened, lost).
    pub fn events(&self, capacity: usize) -> Result<Subscription<AudioDeviceEvent>, MediaError> {
        let (tx, dropped, sub) = pending_subscription(capacity);
        self.send(Command::Events(tx, dropped))?;
        Ok(sub)
    }

    /// Output volume, 0..=1 (applied after the reference tap, like a device volume).
    pub fn set_volume(&self, volume: f32) {
        let v = if volume.is_finite() {
            volume.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.shared
            .volume_bits
            .store(v.to_bits(), Ordering::Relaxed);
    }

    /// Switches to another speaker (or the default); sources keep playing.
    pub fn switch(&self, id: Option<&str>) -> Result<AudioDeviceInfo, MediaError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Switch(id.map(str::to_owned), reply))?;
        match answer.recv_timeout(OPEN_TIMEOUT) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(MediaError::Timeout("the speaker to open")),
            Err(RecvTimeoutError::Disconnected) => Err(MediaError::Stopped("speaker playout")),
        }
    }

    /// Times the device asked for samples the mixer had not provided yet.
    pub fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }

    fn send(&self, cmd: Command) -> Result<(), MediaError> {
        self.commands
            .send(cmd)
            .map_err(|_| MediaError::Stopped("speaker playout"))
    }
}

impl Drop for SpeakerPlayout {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Open {
    info: AudioDeviceInfo,
    _stream: cpal::Stream,
    ring: rtrb::Producer<f32>,
    rate: u32,
    resampler: MonoResampler,
}

/// A source in the mix, with its gain and the gain its last frame was played at.
struct Mixed {
    id: SourceId,
    source: Box<dyn PlayoutSource>,
    gain: Arc<SourceGain>,
    applied: f32,
}

impl Mixed {
    fn new(id: SourceId, source: Box<dyn PlayoutSource>, gain: Arc<SourceGain>) -> Self {
        let applied = gain.get();
        Mixed {
            id,
            source,
            gain,
            applied,
        }
    }
}

/// Adds the next frame of every source into `mix` at its gain (ramping over the frame from
/// the gain of its last frame to the current one), drops the sources that ended, and clips
/// the sum to the output range.
fn mix_sources(sources: &mut Vec<Mixed>, mix: &mut [f32; SAMPLES_PER_FRAME]) {
    let mut scratch = [0.0f32; SAMPLES_PER_FRAME];
    sources.retain_mut(|mixed| {
        scratch.fill(0.0);
        let alive = mixed.source.next_frame(&mut scratch);
        let (from, to) = (mixed.applied, mixed.gain.get());
        let step = (to - from) / SAMPLES_PER_FRAME as f32;
        for (i, (m, s)) in mix.iter_mut().zip(&scratch).enumerate() {
            *m += s * (from + step * (i + 1) as f32);
        }
        mixed.applied = to;
        alive
    });
    for s in mix.iter_mut() {
        *s = s.clamp(-1.0, 1.0);
    }
}

struct Mixer {
    shared: Arc<Shared>,
    lead: Duration,
    sources: Vec<Mixed>,
    reference: Fanout<AudioFrame>,
    events: Fanout<AudioDeviceEvent>,
    open: Option<Open>,
    converted: Vec<f32>,
}

impl Mixer {
    fn new(shared: Arc<Shared>, lead: Duration) -> Self {
        Mixer {
            shared,
            lead,
            sources: Vec::new(),
            reference: Fanout::new(),
            events: Fanout::new(),
            open: None,
            converted: Vec::with_capacity(4 * SAMPLES_PER_FRAME),
        }
    }

    fn run(mut self, commands: Receiver<Command>) {
        loop {
            match commands.recv_timeout(Duration::from_millis(2)) {
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Command::Add(id, s, gain)) => self.sources.push(Mixed::new(id, s, gain)),
                Ok(Command::Remove(id)) => self.sources.retain(|m| m.id != id),
                Ok(Command::Reference(tx, d)) => self.reference.attach(tx, d),
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

    /// Mixes frames while the device ring holds less than the target lead.
    fn pump(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if self.shared.failed.swap(false, Ordering::SeqCst) {
            let id = open.info.id.clone();
            tracing::warn!("speaker {id} failed");
            self.open = None;
            let error = MediaError::DeviceUnplugged {
                kind: DeviceKind::Speaker,
                id: id.clone(),
            };
            self.events.send(&AudioDeviceEvent::Lost { id, error });
            return;
        }
        // Keep the lead queued, or two device callbacks' worth if the device asks for more.
        let per_10ms = (open.rate / 100) as usize;
        let callback = self.shared.last_callback.load(Ordering::Relaxed) as usize;
        let lead = (self.lead.as_micros() as usize * open.rate as usize) / 1_000_000;
        let target = lead.max(2 * callback);
        let capacity = open.ring.buffer().capacity();
        loop {
            let queued = capacity - open.ring.slots();
            if queued >= target || open.ring.slots() < 2 * per_10ms {
                break;
            }
            // Stamp the frame with when the device will reach it (after what is queued), so
            // that the echo canceller sees the reference at play time, whatever the lead.
            let ahead = Duration::from_micros(queued as u64 * 1_000_000 / u64::from(open.rate));
            let mut mix = AudioFrame::silence(media_now() + ahead);
            mix_sources(&mut self.sources, &mut mix.samples);
            self.reference.send(&mix);
            self.converted.clear();
            if open
                .resampler
                .process(&mix.samples, &mut self.converted)
                .is_err()
            {
                self.converted.resize(per_10ms, 0.0);
            }
            for &s in &self.converted {
                let _ = open.ring.push(s);
            }
        }
    }
}

fn open_device(id: Option<&str>, shared: &Arc<Shared>) -> Result<Open, MediaError> {
    let kind = DeviceKind::Speaker;
    let (device, info) = find_device(kind, id)?;
    let supported = device
        .default_output_config()
        .map_err(|e| MediaError::from_cpal(kind, &info.id, &e))?;
    let rate = supported.sample_rate();
    let channels = usize::from(supported.channels().max(1));
    let config = cpal::StreamConfig {
        channels: supported.channels(),
        sample_rate: rate,
        buffer_size: cpal::BufferSize::Default,
    };
    let (ring, mut reader) = rtrb::RingBuffer::<f32>::new(rate as usize / 2);
    shared.failed.store(false, Ordering::SeqCst);
    shared.last_callback.store(0, Ordering::Relaxed);
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
    let cb = Arc::clone(shared);
    // The real-time side: pop mono samples, spread them over the channels, count underruns.
    let mut fill = move |out: &mut dyn FnMut(usize, f32), frames: usize| {
        cb.last_callback.store(frames as u32, Ordering::Relaxed);
        let volume = f32::from_bits(cb.volume_bits.load(Ordering::Relaxed));
        let mut short = false;
        for i in 0..frames {
            let s = match reader.pop() {
                Ok(s) => s * volume,
                Err(_) => {
                    short = true;
                    0.0
                }
            };
            out(i, s);
        }
        if short {
            cb.underruns.fetch_add(1, Ordering::Relaxed);
        }
    };
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => device.build_output_stream::<f32, _, _>(
            config,
            move |data: &mut [f32], _| {
                let frames = data.len() / channels;
                fill(
                    &mut |i, s| data[i * channels..(i + 1) * channels].fill(s),
                    frames,
                );
            },
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        cpal::SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
            config,
            move |data: &mut [i16], _| {
                let frames = data.len() / channels;
                fill(
                    &mut |i, s| {
                        let v = (s * 32767.0) as i16;
                        data[i * channels..(i + 1) * channels].fill(v);
                    },
                    frames,
                );
            },
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
        resampler: MonoResampler::new(SAMPLE_RATE, rate)?,
        info,
        _stream: stream,
        ring,
        rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_source_plays_queued_frames_then_ends() {
        let (mut src, mut handle) = PushSource::new(2);
        let mut f = AudioFrame::silence(Duration::ZERO);
        f.samples[0] = 0.5;
        assert!(handle.push(&f));
        assert!(handle.push(&f));
        assert!(!handle.push(&f));
        assert_eq!(handle.dropped(), 1);
        drop(handle);
        let mut out = [0.0; SAMPLES_PER_FRAME];
        assert!(src.next_frame(&mut out));
        assert_eq!(out[0], 0.5);
        assert!(!src.next_frame(&mut out));
    }

    /// A source playing `value` on every sample, for ever.
    struct Steady(f32);

    impl PlayoutSource for Steady {
        fn next_frame(&mut self, out: &mut [f32; SAMPLES_PER_FRAME]) -> bool {
            out.fill(self.0);
            true
        }
    }

    fn steady(id: u64, value: f32, gain: &Arc<SourceGain>) -> Mixed {
        Mixed::new(SourceId(id), Box::new(Steady(value)), Arc::clone(gain))
    }

    fn mixed(sources: &mut Vec<Mixed>) -> [f32; SAMPLES_PER_FRAME] {
        let mut mix = [0.0; SAMPLES_PER_FRAME];
        mix_sources(sources, &mut mix);
        mix
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_source_is_mixed_at_its_gain_and_the_sum_clipped() {
        for (gain, value, expect) in [
            (0.5, 0.4, 0.2),
            (0.0, 0.4, 0.0),
            (1.0, 0.4, 0.4),
            (2.0, 0.3, 0.6),
            (2.0, 0.7, 1.0),
            (2.0, -0.7, -1.0),
        ] {
            let mut sources = vec![steady(1, value, &Arc::new(SourceGain::new(gain)))];
            let mix = mixed(&mut sources);
            assert!(
                mix.iter().all(|&s| close(s, expect)),
                "{value} at {gain}: {} .. {}",
                mix[0],
                mix[SAMPLES_PER_FRAME - 1]
            );
        }
    }

    #[test]
    fn one_source_s_gain_leaves_the_other_alone() {
        let (quiet, loud) = (Arc::new(SourceGain::new(0.5)), Arc::default());
        let mut sources = vec![steady(1, 0.2, &quiet), steady(2, 0.01, &loud)];
        assert!(mixed(&mut sources).iter().all(|&s| close(s, 0.11)));
        quiet.set(0.0);
        mixed(&mut sources);
        assert!(mixed(&mut sources).iter().all(|&s| close(s, 0.01)));
    }

    #[test]
    fn a_gain_change_ramps_over_one_frame() {
        let gain = Arc::new(SourceGain::default());
        let mut sources = vec![steady(1, 0.5, &gain)];
        assert!(mixed(&mut sources).iter().all(|&s| close(s, 0.5)));
        gain.set(0.0);
        let ramp = mixed(&mut sources);
        assert!(ramp[0] > 0.49, "starts where it was: {}", ramp[0]);
        assert!(
            ramp.windows(2).all(|w| w[1] < w[0]),
            "falls on every sample"
        );
        assert!(
            close(ramp[SAMPLES_PER_FRAME - 1], 0.0),
            "ends at the new gain"
        );
        assert!(mixed(&mut sources).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn gains_out_of_range_are_clamped() {
        assert_eq!(SourceGain::new(5.0).get(), SourceGain::MAX);
        assert_eq!(SourceGain::new(-1.0).get(), 0.0);
        assert_eq!(SourceGain::new(f32::NAN).get(), 1.0);
    }

    #[test]
    fn clip_ends_after_its_samples() {
        let mut clip = Clip {
            samples: vec![0.1; 700],
            pos: 0,
        };
        let mut out = [0.0; SAMPLES_PER_FRAME];
        assert!(clip.next_frame(&mut out));
        out.fill(0.0);
        assert!(!clip.next_frame(&mut out));
        assert_eq!(out[219], 0.1);
        assert_eq!(out[220], 0.0);
    }
}
