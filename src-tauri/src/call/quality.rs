//! Connection quality per member, as this app sees it: for others, the share of their video
//! frames and audio packets that did not arrive intact over the last window (what we get
//! from them, which reflects their link and ours); for me, the state of my media link and
//! the bandwidth the congestion controller finds for what I send.

use std::collections::HashMap;

use huddle_client::call::{MediaState, Reception};

use super::view::QualityView;

/// Fewer samples than this in a window say nothing.
const MIN_SAMPLES: u64 = 5;
/// Share lost below which a stream is good, and below which it is fair.
const GOOD_LOSS: f64 = 0.02;
const FAIR_LOSS: f64 = 0.10;
/// My send estimate (bit/s) from which my link is good, and fair.
const GOOD_ESTIMATE: f64 = 300_000.0;
const FAIR_ESTIMATE: f64 = 100_000.0;

/// The grade of one stream over a window, if it carried enough to tell.
pub fn grade(received: u64, lost: u64) -> Option<QualityView> {
    let total = received + lost;
    if total < MIN_SAMPLES {
        return None;
    }
    let loss = lost as f64 / total as f64;
    Some(if loss < GOOD_LOSS {
        QualityView::Good
    } else if loss < FAIR_LOSS {
        QualityView::Fair
    } else {
        QualityView::Poor
    })
}

/// My own link's grade.
pub fn own(state: &MediaState, estimate_bps: f64) -> Option<QualityView> {
    match state {
        MediaState::Connected if estimate_bps >= GOOD_ESTIMATE => Some(QualityView::Good),
        MediaState::Connected if estimate_bps >= FAIR_ESTIMATE => Some(QualityView::Fair),
        MediaState::Connected | MediaState::Reconnecting => Some(QualityView::Poor),
        _ => None,
    }
}

/// Turns cumulative reception counts into per-window grades.
#[derive(Default)]
pub struct Tracker {
    /// (video, slot, member) → counts at the previous sample.
    last: HashMap<(bool, usize, u64), (u64, u64)>,
}

impl Tracker {
    /// Each member's worst stream over the window since the previous sample. A stream seen
    /// for the first time only sets its baseline.
    pub fn sample(&mut self, now: &[Reception]) -> HashMap<u64, QualityView> {
        let mut grades: HashMap<u64, QualityView> = HashMap::new();
        let mut next = HashMap::new();
        for r in now {
            let key = (r.video, r.slot, r.participant.0);
            if let Some(&(received, lost)) = self.last.get(&key) {
                let window = grade(
                    r.received.saturating_sub(received),
                    r.lost.saturating_sub(lost),
                );
                if let Some(g) = window {
                    let worst = grades.entry(r.participant.0).or_insert(g);
                    *worst = (*worst).max(g);
                }
            }
            next.insert(key, (r.received, r.lost));
        }
        self.last = next;
        grades
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_proto::ParticipantId;

    fn reception(id: u64, video: bool, received: u64, lost: u64) -> Reception {
        Reception {
            participant: ParticipantId(id),
            video,
            slot: 0,
            received,
            lost,
        }
    }

    #[test]
    fn loss_sets_the_grade_and_too_little_says_nothing() {
        assert_eq!(grade(100, 1), Some(QualityView::Good));
        assert_eq!(grade(95, 5), Some(QualityView::Fair));
        assert_eq!(grade(80, 20), Some(QualityView::Poor));
        assert_eq!(grade(3, 1), None);
    }

    #[test]
    fn a_window_counts_only_what_changed_and_the_worst_stream_wins() {
        let mut t = Tracker::default();
        assert!(t
            .sample(&[reception(2, true, 100, 0), reception(2, false, 500, 0)])
            .is_empty());
        // Video fine, audio lost 20 of 100 in this window.
        let g = t.sample(&[reception(2, true, 130, 0), reception(2, false, 580, 20)]);
        assert_eq!(g.get(&2), Some(&QualityView::Poor));
        // Next window clean again: the old losses do not count.
        let g = t.sample(&[reception(2, true, 160, 0), reception(2, false, 680, 20)]);
        assert_eq!(g.get(&2), Some(&QualityView::Good));
    }

    #[test]
    fn a_slot_given_to_someone_else_starts_a_new_baseline() {
        let mut t = Tracker::default();
        t.sample(&[reception(2, true, 100, 0)]);
        let g = t.sample(&[reception(3, true, 10, 9)]);
        assert!(g.is_empty(), "member 3's first sample is only a baseline");
    }

    #[test]
    fn my_own_link_follows_its_state_and_estimate() {
        assert_eq!(
            own(&MediaState::Connected, 1_500_000.0),
            Some(QualityView::Good)
        );
        assert_eq!(
            own(&MediaState::Connected, 150_000.0),
            Some(QualityView::Fair)
        );
        assert_eq!(
            own(&MediaState::Connected, 50_000.0),
            Some(QualityView::Poor)
        );
        assert_eq!(own(&MediaState::Reconnecting, 1e6), Some(QualityView::Poor));
        assert_eq!(own(&MediaState::Connecting, 1e6), None);
    }
}
