//! Video frames on their way to the window: the wire format a canvas decodes, the credit
//! that keeps at most one frame per canvas in transit, and the hub where producers (the
//! call's decoders, its camera, the pre-join preview) meet the canvases that show them.
//!
//! Frames travel over a loopback WebSocket (`video_server`), and the page acknowledges each
//! once it has drawn it. Until then newer frames replace each other in a one-frame waiting slot,
//! so when the window falls behind frames are dropped here, before any copy, and never queue
//! up inside the webview (which, without it, grew by hundreds of megabytes in a 4-tile call).
//! The count of frames dropped that way travels in the next frame's header, so the page can
//! report every frame it did not draw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use huddle_media::VideoFrame;

/// Bytes before the planes: width, height, frames skipped since the previous one (u32 LE).
pub const HEADER_BYTES: usize = 12;

/// How long a frame may go unacknowledged before the next one is sent anyway (a window
/// that never acknowledges still gets a frame a second).
pub const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// The header and the I420 planes: what `ui/src/lib/i420.ts` parses.
pub fn encode(frame: &VideoFrame, skipped: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + frame.data.len());
    out.extend_from_slice(&frame.width.to_le_bytes());
    out.extend_from_slice(&frame.height.to_le_bytes());
    out.extend_from_slice(&skipped.to_le_bytes());
    out.extend_from_slice(&frame.data);
    out
}

/// Takes one encoded frame; false once nobody listens (the tile is gone).
pub type FrameSink = Box<dyn Fn(Vec<u8>) -> bool + Send + Sync>;

/// What happened to an offered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent to the window.
    Sent,
    /// Waiting for the window to take the previous frame (replacing any older waiting one).
    Held,
    /// The window no longer listens; drop this feed.
    Closed,
}

/// One surface in the window fed with frames.
pub struct Feed {
    sink: FrameSink,
    /// When the frame in transit was sent; `None` when the window has taken it.
    in_transit: Option<Instant>,
    waiting: Option<Arc<VideoFrame>>,
    /// Frames replaced before they could be sent, since the last one sent.
    skipped: u32,
}

impl Feed {
    pub fn new(sink: FrameSink) -> Self {
        Feed {
            sink,
            in_transit: None,
            waiting: None,
            skipped: 0,
        }
    }

    /// A new frame: sent at once if the window has taken the previous one, else held.
    pub fn offer(&mut self, frame: &Arc<VideoFrame>, now: Instant) -> Outcome {
        let busy = self
            .in_transit
            .is_some_and(|since| now.saturating_duration_since(since) < ACK_TIMEOUT);
        if busy {
            if self.waiting.replace(Arc::clone(frame)).is_some() {
                self.skipped = self.skipped.saturating_add(1);
            }
            return Outcome::Held;
        }
        if self.waiting.take().is_some() {
            // Older than the frame in hand: never sent.
            self.skipped = self.skipped.saturating_add(1);
        }
        self.send(frame, now)
    }

    /// The window took the frame in transit: the waiting frame, if any, goes now.
    pub fn ack(&mut self, now: Instant) -> Outcome {
        self.in_transit = None;
        match self.waiting.take() {
            Some(frame) => self.send(&frame, now),
            None => Outcome::Held,
        }
    }

    /// Frames replaced before they could be sent, not yet reported in a header.
    pub fn skipped(&self) -> u32 {
        self.skipped
    }

    fn send(&mut self, frame: &VideoFrame, now: Instant) -> Outcome {
        let bytes = encode(frame, self.skipped);
        if (self.sink)(bytes) {
            self.skipped = 0;
            self.in_transit = Some(now);
            Outcome::Sent
        } else {
            Outcome::Closed
        }
    }
}

/// What a canvas shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The pre-join camera preview.
    Preview,
    /// A call member's tile (my own id: my camera as the call captures it).
    Participant(u64),
    /// A call member's shared screen (my own id: what I share).
    Screen(u64),
}

impl Source {
    /// `preview`, `tile:<participant id>` or `screen:<participant id>`, as the page names it.
    pub fn parse(text: &str) -> Option<Source> {
        if text == "preview" {
            return Some(Source::Preview);
        }
        if let Some(id) = text.strip_prefix("tile:") {
            return id.parse().ok().map(Source::Participant);
        }
        text.strip_prefix("screen:")?
            .parse()
            .ok()
            .map(Source::Screen)
    }
}

/// Where every producer offers frames and every canvas takes them.
#[derive(Default)]
pub struct Hub {
    feeds: Mutex<HashMap<Source, (u64, Feed)>>,
    next_generation: AtomicU64,
    /// Frames sent to canvases.
    sent: AtomicU64,
    /// Frames replaced by a newer one before they could be sent.
    skipped: AtomicU64,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HashMap<Source, (u64, Feed)>> {
        // Sinks never panic while the lock is held, so the map is still sound.
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A canvas starts showing `source` (replacing an earlier one of it); returns the
    /// attachment's generation for [`Hub::detach`].
    pub fn attach(&self, source: Source, sink: FrameSink) -> u64 {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(source, (generation, Feed::new(sink)));
        generation
    }

    /// The canvas of that attachment is gone (a newer one of the same source stays).
    pub fn detach(&self, source: Source, generation: u64) {
        let mut feeds = self.lock();
        if feeds.get(&source).is_some_and(|(g, _)| *g == generation) {
            feeds.remove(&source);
        }
    }

    /// Forgets every call tile and screen (the call ended or another began).
    pub fn clear_participants(&self) {
        self.lock().retain(|source, _| *source == Source::Preview);
    }

    /// A new frame of `source`: sent if a canvas shows it and has taken the previous one.
    pub fn offer(&self, source: Source, frame: &Arc<VideoFrame>) {
        let mut feeds = self.lock();
        if let Some((_, feed)) = feeds.get_mut(&source) {
            let before = feed.skipped();
            let outcome = feed.offer(frame, Instant::now());
            if feed.skipped() > before {
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
            self.settle(&mut feeds, source, outcome);
        }
    }

    /// The canvas showing `source` took its frame: the waiting one, if any, goes now.
    pub fn ack(&self, source: Source) {
        let mut feeds = self.lock();
        if let Some((_, feed)) = feeds.get_mut(&source) {
            let outcome = feed.ack(Instant::now());
            self.settle(&mut feeds, source, outcome);
        }
    }

    /// Frames sent to canvases and frames replaced before sending, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
        )
    }

    fn settle(&self, feeds: &mut HashMap<Source, (u64, Feed)>, source: Source, outcome: Outcome) {
        match outcome {
            Outcome::Sent => {
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Held => {}
            Outcome::Closed => {
                feeds.remove(&source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, fill: u8) -> Arc<VideoFrame> {
        Arc::new(VideoFrame {
            width,
            height,
            data: vec![fill; (width * height * 3 / 2) as usize],
            timestamp: Duration::ZERO,
        })
    }

    /// A feed whose sink records what it got.
    fn recorded() -> (Feed, Arc<Mutex<Vec<Vec<u8>>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&got);
        let feed = Feed::new(Box::new(move |bytes| {
            into.lock().expect("test lock").push(bytes);
            true
        }));
        (feed, got)
    }

    fn header(bytes: &[u8]) -> (u32, u32, u32) {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("four bytes"));
        (word(0), word(4), word(8))
    }

    #[test]
    fn the_header_carries_size_and_skipped_count_before_the_planes() {
        let f = frame(4, 2, 7);
        let bytes = encode(&f, 3);
        assert_eq!(bytes.len(), HEADER_BYTES + 12);
        assert_eq!(header(&bytes), (4, 2, 3));
        assert!(bytes[HEADER_BYTES..].iter().all(|&b| b == 7));
    }

    #[test]
    fn one_frame_in_transit_newest_waits_older_ones_are_counted() {
        let (mut feed, got) = recorded();
        let t = Instant::now();
        assert_eq!(feed.offer(&frame(2, 2, 1), t), Outcome::Sent);
        assert_eq!(feed.offer(&frame(2, 2, 2), t), Outcome::Held);
        assert_eq!(feed.offer(&frame(2, 2, 3), t), Outcome::Held);
        assert_eq!(feed.offer(&frame(2, 2, 4), t), Outcome::Held);
        assert_eq!(
            got.lock().expect("test lock").len(),
            1,
            "nothing more until the window takes it"
        );
        assert_eq!(feed.ack(t), Outcome::Sent);
        let sent = got.lock().expect("test lock");
        assert_eq!(sent.len(), 2);
        // The newest frame went, and the header says two were replaced.
        assert_eq!(sent[1][HEADER_BYTES], 4);
        assert_eq!(header(&sent[1]).2, 2);
    }

    #[test]
    fn an_ack_with_nothing_waiting_frees_the_next_frame() {
        let (mut feed, got) = recorded();
        let t = Instant::now();
        assert_eq!(feed.offer(&frame(2, 2, 1), t), Outcome::Sent);
        assert_eq!(feed.ack(t), Outcome::Held);
        assert_eq!(feed.offer(&frame(2, 2, 2), t), Outcome::Sent);
        assert_eq!(header(&got.lock().expect("test lock")[1]).2, 0);
    }

    #[test]
    fn a_window_that_never_acknowledges_still_gets_a_frame_a_second() {
        let (mut feed, got) = recorded();
        let t = Instant::now();
        assert_eq!(feed.offer(&frame(2, 2, 1), t), Outcome::Sent);
        assert_eq!(
            feed.offer(&frame(2, 2, 2), t + ACK_TIMEOUT / 2),
            Outcome::Held
        );
        assert_eq!(feed.offer(&frame(2, 2, 3), t + ACK_TIMEOUT), Outcome::Sent);
        let sent = got.lock().expect("test lock");
        assert_eq!(sent[1][HEADER_BYTES], 3);
        assert_eq!(header(&sent[1]).2, 1, "the held frame was skipped");
    }

    #[test]
    fn sources_are_named_as_the_page_names_them() {
        assert_eq!(Source::parse("preview"), Some(Source::Preview));
        assert_eq!(Source::parse("tile:42"), Some(Source::Participant(42)));
        assert_eq!(Source::parse("screen:7"), Some(Source::Screen(7)));
        for bad in [
            "", "tile:", "tile:-1", "tile:x", "Preview", "tiles:1", "screen:", "screen:x",
        ] {
            assert_eq!(Source::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_hub_routes_by_source_and_a_stale_detach_keeps_the_newer_canvas() {
        let hub = Hub::default();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = |tag: u8| -> FrameSink {
            let got = Arc::clone(&got);
            Box::new(move |_bytes| {
                got.lock().expect("test lock").push(tag);
                true
            })
        };
        let old = hub.attach(Source::Participant(1), sink(1));
        let new = hub.attach(Source::Participant(1), sink(2));
        hub.attach(Source::Preview, sink(3));
        hub.detach(Source::Participant(1), old);
        hub.offer(Source::Participant(1), &frame(2, 2, 0));
        hub.offer(Source::Participant(9), &frame(2, 2, 0));
        hub.offer(Source::Preview, &frame(2, 2, 0));
        assert_eq!(*got.lock().expect("test lock"), vec![2, 3]);
        hub.clear_participants();
        hub.ack(Source::Preview);
        hub.offer(Source::Participant(1), &frame(2, 2, 0));
        hub.offer(Source::Preview, &frame(2, 2, 0));
        assert_eq!(*got.lock().expect("test lock"), vec![2, 3, 3]);
        hub.detach(Source::Participant(1), new);
        assert_eq!(hub.counts(), (3, 0));
    }

    #[test]
    fn a_closed_window_is_reported() {
        let mut feed = Feed::new(Box::new(|_| false));
        assert_eq!(feed.offer(&frame(2, 2, 1), Instant::now()), Outcome::Closed);
    }
}
