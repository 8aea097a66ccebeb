//! Which publishers fill a subscriber's slots: pure functions, so the rules can be tested
//! without connections.

use huddle_proto::{ParticipantId, VideoWant};

/// Keeps sources that stay chosen in the slot they already had (so a subscriber's decoder
/// is not reset for nothing) and puts new ones into the free slots, in order.
#[must_use]
pub fn assign(
    current: &[Option<ParticipantId>],
    chosen: &[ParticipantId],
) -> Vec<Option<ParticipantId>> {
    let mut next: Vec<Option<ParticipantId>> = current
        .iter()
        .map(|slot| slot.filter(|id| chosen.contains(id)))
        .collect();
    for id in chosen {
        if next.contains(&Some(*id)) {
            continue;
        }
        if let Some(free) = next.iter_mut().find(|slot| slot.is_none()) {
            *free = Some(*id);
        }
    }
    next
}

/// The videos to forward to `me`: what it asked for (in its order) when it asked, else every
/// other publisher with video in join order; at most `slots`.
#[must_use]
pub fn choose_videos(
    me: ParticipantId,
    wants: Option<&[VideoWant]>,
    publishing: &[ParticipantId],
    slots: usize,
) -> Vec<ParticipantId> {
    let mut out = Vec::with_capacity(slots);
    match wants {
        Some(wants) => {
            for want in wants {
                if want.participant != me
                    && publishing.contains(&want.participant)
                    && !out.contains(&want.participant)
                {
                    out.push(want.participant);
                }
                if out.len() == slots {
                    break;
                }
            }
        }
        None => out.extend(
            publishing
                .iter()
                .copied()
                .filter(|id| *id != me)
                .take(slots),
        ),
    }
    out
}

/// The loudest `slots` speakers other than `me`. `speakers` holds (who, loudness) where a
/// larger loudness is louder; ties keep the given order. Speakers already heard stay ahead of
/// a newcomer unless it is clearly louder (`hysteresis`), so slots do not flap between two
/// people at the same level.
#[must_use]
pub fn choose_audio(
    me: ParticipantId,
    speakers: &[(ParticipantId, f32)],
    current: &[Option<ParticipantId>],
    slots: usize,
    hysteresis: f32,
) -> Vec<ParticipantId> {
    let mut ranked: Vec<(ParticipantId, f32)> = speakers
        .iter()
        .filter(|(id, _)| *id != me)
        .map(|(id, loud)| {
            let bonus = if current.contains(&Some(*id)) {
                hysteresis
            } else {
                0.0
            };
            (*id, loud + bonus)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.into_iter().take(slots).map(|(id, _)| id).collect()
}

/// The screen shares to forward to `me`: those it already receives that are still shared,
/// then the others in join order; at most `slots`. A share stays put while it lasts, so a
/// later share never pushes an earlier one out of view.
#[must_use]
pub fn choose_shares(
    me: ParticipantId,
    sharing: &[ParticipantId],
    current: &[Option<ParticipantId>],
    slots: usize,
) -> Vec<ParticipantId> {
    let kept = current
        .iter()
        .flatten()
        .copied()
        .filter(|id| *id != me && sharing.contains(id));
    let mut out: Vec<ParticipantId> = kept.collect();
    for id in sharing {
        if *id != me && !out.contains(id) {
            out.push(*id);
        }
    }
    out.truncate(slots);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> ParticipantId {
        ParticipantId(n)
    }

    #[test]
    fn assignment_is_stable_and_fills_free_slots() {
        let current = vec![Some(p(1)), Some(p(2)), None];
        assert_eq!(
            assign(&current, &[p(2), p(3)]),
            vec![Some(p(3)), Some(p(2)), None]
        );
        assert_eq!(assign(&current, &[p(1), p(2)]), current);
        // More chosen than slots: the extra ones wait.
        assert_eq!(assign(&[None], &[p(5), p(6)]), vec![Some(p(5))]);
        assert_eq!(assign(&[], &[p(5)]), Vec::<Option<ParticipantId>>::new());
    }

    #[test]
    fn videos_follow_the_subscription() {
        let publishing = [p(1), p(2), p(3), p(4)];
        assert_eq!(choose_videos(p(1), None, &publishing, 2), vec![p(2), p(3)]);
        let wants = [
            VideoWant {
                participant: p(4),
                width: 320,
                height: 180,
            },
            VideoWant {
                participant: p(1),
                width: 320,
                height: 180,
            },
            VideoWant {
                participant: p(9),
                width: 320,
                height: 180,
            },
            VideoWant {
                participant: p(4),
                width: 640,
                height: 360,
            },
            VideoWant {
                participant: p(2),
                width: 320,
                height: 180,
            },
        ];
        assert_eq!(
            choose_videos(p(1), Some(&wants), &publishing, 9),
            vec![p(4), p(2)]
        );
        assert_eq!(
            choose_videos(p(1), Some(&wants), &publishing, 1),
            vec![p(4)]
        );
        assert!(choose_videos(p(1), Some(&[]), &publishing, 9).is_empty());
    }

    #[test]
    fn the_loudest_are_heard_and_slots_do_not_flap() {
        let speakers = [(p(1), 10.0), (p(2), 50.0), (p(3), 40.0), (p(4), 45.0)];
        assert_eq!(choose_audio(p(9), &speakers, &[], 2, 0.0), vec![p(2), p(4)]);
        // Never yourself.
        assert_eq!(choose_audio(p(2), &speakers, &[], 1, 0.0), vec![p(4)]);
        // p(3) is already heard: a slightly louder p(4) does not displace it.
        assert_eq!(
            choose_audio(p(9), &speakers, &[Some(p(2)), Some(p(3))], 2, 10.0),
            vec![p(2), p(3)]
        );
    }

    #[test]
    fn shares_keep_their_place_and_skip_me() {
        // Nobody shares.
        assert!(choose_shares(p(1), &[], &[None, None], 2).is_empty());
        // My own share is never sent back to me.
        assert_eq!(choose_shares(p(1), &[p(1), p(3)], &[None], 1), vec![p(3)]);
        // A share already shown stays ahead of an earlier joiner who starts sharing later.
        assert_eq!(
            choose_shares(p(9), &[p(2), p(5)], &[Some(p(5))], 1),
            vec![p(5)]
        );
        // A share that ended frees its slot.
        assert_eq!(
            choose_shares(p(9), &[p(2)], &[Some(p(5)), None], 2),
            vec![p(2)]
        );
        // No slots: nothing.
        assert!(choose_shares(p(9), &[p(2)], &[], 0).is_empty());
    }
}
