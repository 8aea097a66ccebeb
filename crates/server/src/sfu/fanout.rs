//! Who receives each published stream: for a publisher's microphone, camera or screen, the
//! subscribers whose slot carries it and which slot. The forwarding step reads one list per
//! packet (O(receivers), not O(members)); the router keeps the lists in step with the slots
//! whenever it points a slot at another source and when a member leaves.

use std::collections::HashMap;

use huddle_proto::ParticipantId;
use huddle_rtp::SlotKind;

use super::peer::PeerKey;

/// One subscriber of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receiver {
    /// Who receives it.
    pub who: ParticipantId,
    /// Through which of its slots of the stream's kind.
    pub slot: usize,
}

/// The receivers of every published stream, by publisher and kind.
#[derive(Debug, Default)]
pub struct Fanout(HashMap<(PeerKey, SlotKind), Vec<Receiver>>);

impl Fanout {
    /// Who receives `publisher`'s stream of `kind`.
    pub fn of(&self, publisher: PeerKey, kind: SlotKind) -> &[Receiver] {
        self.0.get(&(publisher, kind)).map_or(&[], Vec::as_slice)
    }

    /// Slot `receiver.slot` of `receiver.who` (in `room`) stops carrying `from` and carries
    /// `to` instead (either may be none).
    pub fn move_slot(
        &mut self,
        room: u64,
        kind: SlotKind,
        receiver: Receiver,
        from: Option<ParticipantId>,
        to: Option<ParticipantId>,
    ) {
        if let Some(from) = from {
            let key = ((room, from), kind);
            if let Some(list) = self.0.get_mut(&key) {
                list.retain(|r| *r != receiver);
                if list.is_empty() {
                    self.0.remove(&key);
                }
            }
        }
        if let Some(to) = to {
            let list = self.0.entry(((room, to), kind)).or_default();
            if !list.contains(&receiver) {
                list.push(receiver);
            }
        }
    }

    /// Forgets who receives `publisher`'s stream of `kind`, returning them (their slots are
    /// to be emptied).
    pub fn take(&mut self, publisher: PeerKey, kind: SlotKind) -> Vec<Receiver> {
        self.0.remove(&(publisher, kind)).unwrap_or_default()
    }

    /// Every list, for checks in tests.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (PeerKey, SlotKind, &[Receiver])> {
        self.0
            .iter()
            .map(|((publisher, kind), list)| (*publisher, *kind, list.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> ParticipantId {
        ParticipantId(n)
    }

    fn at(who: u64, slot: usize) -> Receiver {
        Receiver { who: p(who), slot }
    }

    #[test]
    fn slots_move_between_lists() {
        let mut fanout = Fanout::default();
        fanout.move_slot(1, SlotKind::Video, at(3, 0), None, Some(p(1)));
        fanout.move_slot(1, SlotKind::Video, at(2, 0), None, Some(p(1)));
        fanout.move_slot(1, SlotKind::Audio, at(2, 0), None, Some(p(1)));
        assert_eq!(fanout.of((1, p(1)), SlotKind::Video), [at(3, 0), at(2, 0)]);
        // Another room, another kind: other lists.
        assert!(fanout.of((2, p(1)), SlotKind::Video).is_empty());
        assert_eq!(fanout.of((1, p(1)), SlotKind::Audio), [at(2, 0)]);

        fanout.move_slot(1, SlotKind::Video, at(3, 0), Some(p(1)), Some(p(2)));
        assert_eq!(fanout.of((1, p(1)), SlotKind::Video), [at(2, 0)]);
        assert_eq!(fanout.of((1, p(2)), SlotKind::Video), [at(3, 0)]);

        assert_eq!(fanout.take((1, p(1)), SlotKind::Video), [at(2, 0)]);
        assert!(fanout.of((1, p(1)), SlotKind::Video).is_empty());
        fanout.move_slot(1, SlotKind::Video, at(3, 0), Some(p(2)), None);
        fanout.move_slot(1, SlotKind::Audio, at(2, 0), Some(p(1)), None);
        assert_eq!(fanout.iter().count(), 0, "empty lists are dropped");
    }
}
