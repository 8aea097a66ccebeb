//! The session's chat log: sequence numbers and a bounded history for gap refill.

use huddle_proto::{ChatMessage, ChatSeq, ParticipantId};
use std::collections::VecDeque;

/// Chat messages of one session, oldest first, at most `capacity` of them.
#[derive(Debug, Clone)]
pub(crate) struct ChatLog {
    entries: VecDeque<ChatMessage>,
    capacity: usize,
    last_seq: ChatSeq,
    /// Highest sequence number evicted from the history; a refill after an older seq may
    /// be incomplete.
    dropped_through: ChatSeq,
}

impl ChatLog {
    pub(crate) fn new(capacity: usize) -> ChatLog {
        ChatLog {
            entries: VecDeque::new(),
            capacity,
            last_seq: ChatSeq(0),
            dropped_through: ChatSeq(0),
        }
    }

    /// Records a message and returns it with its sequence number.
    pub(crate) fn push(
        &mut self,
        from: ParticipantId,
        from_name: String,
        to: Option<ParticipantId>,
        text: String,
    ) -> ChatMessage {
        self.last_seq = self.last_seq.next();
        let message = ChatMessage {
            seq: self.last_seq,
            from,
            from_name,
            to,
            text,
        };
        if self.capacity > 0 {
            if self.entries.len() == self.capacity {
                if let Some(old) = self.entries.pop_front() {
                    self.dropped_through = old.seq;
                }
            }
            self.entries.push_back(message.clone());
        } else {
            self.dropped_through = message.seq;
        }
        message
    }

    /// The messages `who` may see after `after`, oldest first, and whether none of them
    /// was evicted already.
    pub(crate) fn after(&self, who: ParticipantId, after: ChatSeq) -> (Vec<ChatMessage>, bool) {
        let messages = self
            .entries
            .iter()
            .filter(|m| m.seq > after && visible_to(m, who))
            .cloned()
            .collect();
        (messages, self.dropped_through <= after)
    }

    /// The last `n` messages `who` may see, oldest first.
    pub(crate) fn recent(&self, who: ParticipantId, n: usize) -> Vec<ChatMessage> {
        let mut out: Vec<ChatMessage> = self
            .entries
            .iter()
            .rev()
            .filter(|m| visible_to(m, who))
            .take(n)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &ChatMessage> {
        self.entries.iter()
    }
}

/// Public messages are for everyone; private ones only for their sender and recipient.
pub(crate) fn visible_to(message: &ChatMessage, who: ParticipantId) -> bool {
    message.to.is_none() || message.to == Some(who) || message.from == who
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_reports_gaps() {
        let (a, b, c) = (ParticipantId(1), ParticipantId(2), ParticipantId(3));
        let mut log = ChatLog::new(3);
        log.push(a, "a".into(), None, "1".into());
        log.push(a, "a".into(), Some(b), "2".into());
        log.push(a, "a".into(), None, "3".into());
        let (seen, complete) = log.after(c, ChatSeq(0));
        assert_eq!(seen.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [1, 3]);
        assert!(complete);
        log.push(b, "b".into(), None, "4".into());
        let (seen, complete) = log.after(b, ChatSeq(0));
        assert_eq!(seen.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(!complete);
        assert!(log.after(b, ChatSeq(1)).1);
        assert_eq!(
            log.recent(c, 1).iter().map(|m| m.seq.0).collect::<Vec<_>>(),
            [4]
        );
    }
}
