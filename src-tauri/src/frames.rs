//! Video frames on their way to the window: the wire format a tile's canvas decodes, and the
//! credit that keeps at most one frame per tile in transit.
//!
//! A frame travels over a Tauri channel (an `eval` plus a fetch of ~350 kB for 640×360), and
//! the webview acknowledges it when it arrives. Until then newer frames replace each other
//! in a one-frame waiting slot, so when the window falls behind frames are dropped here,
//! before any copy, and never queue up inside the webview (which, without this, grew by
//! hundreds of megabytes in a 4-tile call and delivered 2 frames/s per tile). The count of
//! frames dropped that way travels in the next frame's header, so the page can report every
//! frame it did not draw.

use std::sync::Arc;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

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
            into.lock().unwrap().push(bytes);
            true
        }));
        (feed, got)
    }

    fn header(bytes: &[u8]) -> (u32, u32, u32) {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
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
            got.lock().unwrap().len(),
            1,
            "nothing more until the window takes it"
        );
        assert_eq!(feed.ack(t), Outcome::Sent);
        let sent = got.lock().unwrap();
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
        assert_eq!(header(&got.lock().unwrap()[1]).2, 0);
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
        let sent = got.lock().unwrap();
        assert_eq!(sent[1][HEADER_BYTES], 3);
        assert_eq!(header(&sent[1]).2, 1, "the held frame was skipped");
    }

    #[test]
    fn a_closed_window_is_reported() {
        let mut feed = Feed::new(Box::new(|_| false));
        assert_eq!(feed.offer(&frame(2, 2, 1), Instant::now()), Outcome::Closed);
    }
}
