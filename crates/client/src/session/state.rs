//! The call as a UI shows it: who I am, the session's settings, the members in join order,
//! the chat ordered by sequence number, the room's and the members' metadata, and whether
//! the session is over.
//!
//! Pure data with no IO: [`CallState::from_welcome`] builds it, [`CallState::apply`] folds in
//! each server event and says what a person should be told ([`Notice`]) and whether a chat
//! gap needs a `chat_history` refill, and [`CallState::merge_chat`] folds the refill back in.
//! The session driver owns one and publishes snapshots of it.

use huddle_proto::{
    ChatMessage, ChatSeq, EndReason, LeaveReason, Member, Metadata, MetadataDiff, ParticipantId,
    Reaction, Role, ServerEvent, SessionInfo, Welcome,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a call view needs to draw the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallState {
    /// My participant id.
    pub me: ParticipantId,
    /// My role.
    pub role: Role,
    /// The session's settings.
    pub session: SessionInfo,
    /// Every member, me included, in join order.
    pub members: Vec<Member>,
    /// Chat addressed to me, ordered by sequence number, without duplicates.
    pub chat: Vec<ChatMessage>,
    /// The session's metadata (set by the host and managers).
    pub metadata: Metadata,
    /// Each member's metadata; members without any are not listed.
    pub member_metadata: BTreeMap<ParticipantId, Metadata>,
    /// Why the session ended, once it has.
    pub ended: Option<EndReason>,
    /// Who removed me, once someone has.
    pub removed_by: Option<ParticipantId>,
    /// Highest chat seq accounted for: everything addressed to me up to it is either in
    /// `chat` or has been asked for. `None` until the first message is seen, because a fresh
    /// join without chat cannot tell a gap from the session's earlier history.
    #[serde(skip)]
    high_water: Option<ChatSeq>,
    /// Names of members who left, so that an event naming them afterwards (a host hand-over
    /// is announced after the old host's `left`) still reads well. Bounded.
    #[serde(skip)]
    departed: BTreeMap<ParticipantId, String>,
}

/// Something a person should be told, with names resolved from the roster at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notice {
    /// Someone joined.
    Joined {
        /// Who.
        id: ParticipantId,
        /// Their name.
        name: String,
    },
    /// Someone left.
    Left {
        /// Who.
        id: ParticipantId,
        /// Their name.
        name: String,
        /// Why.
        reason: LeaveReason,
        /// The remover's name, when they were removed.
        by_name: Option<String>,
    },
    /// A host or manager muted my microphone.
    YouWereMuted {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
    },
    /// A host or manager turned my camera off.
    YourVideoStopped {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
    },
    /// A host or manager asks me to unmute.
    UnmuteRequested {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
    },
    /// A host or manager renamed me.
    YouWereRenamed {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
        /// My new name.
        name: String,
    },
    /// A host or manager lowered my hand.
    YourHandLowered {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
    },
    /// My role changed.
    YourRoleChanged {
        /// Who changed it.
        by: ParticipantId,
        /// Their name.
        by_name: String,
        /// My new role.
        role: Role,
    },
    /// A host or manager removed me; the connection closes.
    YouWereRemoved {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
    },
    /// The session ended; the connection closes.
    SessionEnded {
        /// Why.
        reason: EndReason,
        /// The host's name when the host ended it.
        by_name: Option<String>,
    },
    /// Someone reacted (not kept in the state).
    Reaction {
        /// Who.
        id: ParticipantId,
        /// Their name.
        name: String,
        /// Which reaction.
        reaction: Reaction,
    },
}

/// The room's or a member's metadata changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadataChanged {
    /// Whose metadata; `None` for the room's.
    pub participant: Option<ParticipantId>,
    /// Who changed it.
    pub by: ParticipantId,
    /// Their name.
    pub by_name: String,
    /// The keys set (with their new values) and deleted.
    pub changes: MetadataDiff,
}

/// What applying one event produced besides the new state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Something to tell the person.
    pub notice: Option<Notice>,
    /// A chat message that is new to the state.
    pub new_chat: Option<ChatMessage>,
    /// A chat gap was seen: ask for `chat_history {after_seq}` with this value.
    pub refill_after: Option<ChatSeq>,
    /// The metadata change the event carried.
    pub metadata: Option<MetadataChanged>,
}

/// Shown when an event names someone the client never knew.
const UNKNOWN_NAME: &str = "someone";

/// How many departed members' names are remembered.
const DEPARTED_NAMES: usize = 256;

impl CallState {
    /// The state a welcome describes.
    #[must_use]
    pub fn from_welcome(welcome: &Welcome) -> Self {
        let mut members = welcome.members.clone();
        members.sort_by_key(|m| m.join_order);
        let mut state = CallState {
            me: welcome.participant_id,
            role: welcome.role,
            session: welcome.session.clone(),
            members,
            chat: Vec::new(),
            metadata: welcome.metadata.clone(),
            member_metadata: welcome
                .member_metadata
                .iter()
                .filter(|m| !m.metadata.is_empty())
                .map(|m| (m.participant, m.metadata.clone()))
                .collect(),
            ended: None,
            removed_by: None,
            high_water: None,
            departed: BTreeMap::new(),
        };
        state.merge_chat(&welcome.chat);
        state
    }

    /// The state after a resume: the new welcome is the truth for members and settings,
    /// and the chat I already had is kept alongside what the welcome carries.
    #[must_use]
    pub fn resumed(&self, welcome: &Welcome) -> Self {
        let mut state = CallState::from_welcome(welcome);
        state.merge_chat(&self.chat);
        state.high_water = state.high_water.max(self.high_water);
        state.departed.clone_from(&self.departed);
        state
    }

    /// The member with this id.
    #[must_use]
    pub fn member(&self, id: ParticipantId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// My own member entry.
    #[must_use]
    pub fn myself(&self) -> Option<&Member> {
        self.member(self.me)
    }

    /// The metadata of one member (`None` when it has none).
    #[must_use]
    pub fn metadata_of(&self, id: ParticipantId) -> Option<&Metadata> {
        self.member_metadata.get(&id)
    }

    /// The highest chat seq held, if any.
    #[must_use]
    pub fn last_chat_seq(&self) -> Option<ChatSeq> {
        self.chat.last().map(|m| m.seq)
    }

    /// Whether the call is over for me (ended or removed).
    #[must_use]
    pub fn is_over(&self) -> bool {
        self.ended.is_some() || self.removed_by.is_some()
    }

    fn name_of(&self, id: ParticipantId) -> String {
        match (self.member(id), self.departed.get(&id)) {
            (Some(m), _) => m.display_name.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => UNKNOWN_NAME.to_owned(),
        }
    }

    /// Inserts messages not held yet, keeping seq order; returns the ones that were new.
    pub fn merge_chat(&mut self, messages: &[ChatMessage]) -> Vec<ChatMessage> {
        let mut added = Vec::new();
        for message in messages {
            match self.chat.binary_search_by_key(&message.seq, |m| m.seq) {
                Ok(_) => {}
                Err(at) => {
                    self.chat.insert(at, message.clone());
                    added.push(message.clone());
                }
            }
        }
        if let Some(last) = self.last_chat_seq() {
            self.high_water = Some(self.high_water.map_or(last, |h| h.max(last)));
        }
        added
    }

    /// Folds one server event into the state.
    pub fn apply(&mut self, event: &ServerEvent) -> Applied {
        let mut out = Applied::default();
        match event {
            ServerEvent::Joined { member } => {
                out.notice = Some(Notice::Joined {
                    id: member.id,
                    name: member.display_name.clone(),
                });
                // A joined event for a known id (should not happen) replaces the entry rather
                // than duplicating it.
                self.members.retain(|m| m.id != member.id);
                let at = self
                    .members
                    .partition_point(|m| m.join_order <= member.join_order);
                self.members.insert(at, member.clone());
            }
            ServerEvent::Left {
                participant,
                reason,
            } => {
                let by_name = match reason {
                    LeaveReason::Removed { by } => Some(self.name_of(*by)),
                    _ => None,
                };
                out.notice = Some(Notice::Left {
                    id: *participant,
                    name: self.name_of(*participant),
                    reason: reason.clone(),
                    by_name,
                });
                if let Some(at) = self.members.iter().position(|m| m.id == *participant) {
                    let gone = self.members.remove(at);
                    self.departed.insert(gone.id, gone.display_name);
                    if self.departed.len() > DEPARTED_NAMES {
                        // Ids grow with join order: forget the earliest first.
                        self.departed.pop_first();
                    }
                }
                self.member_metadata.remove(participant);
                if self.session.spotlight == Some(*participant) {
                    self.session.spotlight = None;
                }
            }
            ServerEvent::RoomMetadataUpdated { by, changes } => {
                changes.apply_to(&mut self.metadata);
                out.metadata = Some(self.metadata_changed(None, *by, changes));
            }
            ServerEvent::MemberMetadataUpdated {
                participant,
                by,
                changes,
            } => {
                changes.apply_to_member(&mut self.member_metadata, *participant);
                out.metadata = Some(self.metadata_changed(Some(*participant), *by, changes));
            }
            ServerEvent::Updated {
                participant,
                changes,
            } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == *participant) {
                    m.apply(changes);
                }
                if *participant == self.me {
                    if let Some(role) = changes.role {
                        self.role = role;
                    }
                }
            }
            ServerEvent::SessionUpdated { session } => self.session = session.clone(),
            ServerEvent::Chat { message } => {
                let expected = self.high_water.map(ChatSeq::next);
                if let (Some(expected), Some(high)) = (expected, self.high_water) {
                    if message.seq > expected {
                        out.refill_after = Some(high);
                    }
                }
                out.new_chat = self.merge_chat(std::slice::from_ref(message)).pop();
            }
            ServerEvent::Reaction {
                participant,
                reaction,
            } => {
                out.notice = Some(Notice::Reaction {
                    id: *participant,
                    name: self.name_of(*participant),
                    reaction: *reaction,
                });
            }
            ServerEvent::YouWereMuted { by } => {
                self.set_mine(|m| m.audio_muted = true);
                out.notice = Some(Notice::YouWereMuted {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YourVideoStopped { by } => {
                self.set_mine(|m| m.video_on = false);
                out.notice = Some(Notice::YourVideoStopped {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::UnmuteRequested { by } => {
                out.notice = Some(Notice::UnmuteRequested {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YouWereRenamed { by, name } => {
                self.set_mine(|m| m.display_name.clone_from(name));
                out.notice = Some(Notice::YouWereRenamed {
                    by: *by,
                    by_name: self.name_of(*by),
                    name: name.clone(),
                });
            }
            ServerEvent::YourHandLowered { by } => {
                self.set_mine(|m| m.hand_raised = false);
                out.notice = Some(Notice::YourHandLowered {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YourRoleChanged { by, role } => {
                self.role = *role;
                self.set_mine(|m| m.role = *role);
                out.notice = Some(Notice::YourRoleChanged {
                    by: *by,
                    by_name: self.name_of(*by),
                    role: *role,
                });
            }
            ServerEvent::YouWereRemoved { by } => {
                self.removed_by = Some(*by);
                out.notice = Some(Notice::YouWereRemoved {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::SessionEnded { reason } => {
                let by_name = match reason {
                    EndReason::EndedByHost { by } => Some(self.name_of(*by)),
                    _ => None,
                };
                self.ended = Some(reason.clone());
                out.notice = Some(Notice::SessionEnded {
                    reason: reason.clone(),
                    by_name,
                });
            }
        }
        out
    }

    fn metadata_changed(
        &self,
        participant: Option<ParticipantId>,
        by: ParticipantId,
        changes: &MetadataDiff,
    ) -> MetadataChanged {
        MetadataChanged {
            participant,
            by,
            by_name: self.name_of(by),
            changes: changes.clone(),
        }
    }

    // The personal events (muted, renamed...) also arrive as `updated` for everyone; applying
    // them to my entry as well keeps the state right whichever comes first.
    fn set_mine(&mut self, change: impl FnOnce(&mut Member)) {
        let me = self.me;
        if let Some(m) = self.members.iter_mut().find(|m| m.id == me) {
            change(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_proto::{ConnectionState, MemberUpdate, ResumeKey};

    fn member(id: u64, name: &str, role: Role) -> Member {
        Member {
            id: ParticipantId(id),
            display_name: name.to_owned(),
            role,
            audio_muted: false,
            video_on: false,
            sharing: false,
            talking: false,
            hand_raised: false,
            connection: ConnectionState::Present,
            join_order: id,
        }
    }

    fn chat(seq: u64, text: &str) -> ChatMessage {
        ChatMessage {
            seq: ChatSeq(seq),
            from: ParticipantId(1),
            from_name: "Ann".into(),
            to: None,
            text: text.into(),
        }
    }

    fn welcome(chat: Vec<ChatMessage>) -> Welcome {
        Welcome {
            protocol_version: 1,
            participant_id: ParticipantId(2),
            role: Role::Participant,
            resume_key: ResumeKey("k".into()),
            resumed: false,
            session: SessionInfo {
                name: "S".into(),
                locked: false,
                share_locked: false,
                spotlight: None,
                passcode_protected: false,
                audience_chat: true,
                max_active: 1000,
                capacity: 5000,
            },
            // Out of order on purpose: the state sorts by join order.
            members: vec![
                member(2, "Bo", Role::Participant),
                member(1, "Ann", Role::Host),
            ],
            chat,
            metadata: Metadata::new(),
            member_metadata: Vec::new(),
            heartbeat_interval_ms: 5000,
        }
    }

    fn seqs(state: &CallState) -> Vec<u64> {
        state.chat.iter().map(|m| m.seq.0).collect()
    }

    #[test]
    fn chat_gap_asks_for_a_refill_and_the_refill_merges() {
        let mut state = CallState::from_welcome(&welcome(vec![chat(1, "a"), chat(2, "b")]));
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(3, "c"),
        });
        assert_eq!(applied.refill_after, None);
        assert_eq!(applied.new_chat.map(|m| m.seq), Some(ChatSeq(3)));

        // 4 and 5 went missing.
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(6, "f"),
        });
        assert_eq!(applied.refill_after, Some(ChatSeq(3)));
        assert_eq!(seqs(&state), vec![1, 2, 3, 6]);

        // The next message is contiguous again: no second refill for the same gap.
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(7, "g"),
        });
        assert_eq!(applied.refill_after, None);

        // The refill answer overlaps what is held; only the missing ones are added.
        let added = state.merge_chat(&[chat(4, "d"), chat(6, "f"), chat(7, "g")]);
        assert_eq!(added.iter().map(|m| m.seq.0).collect::<Vec<_>>(), vec![4]);
        assert_eq!(seqs(&state), vec![1, 2, 3, 4, 6, 7]);

        // A duplicate delivery changes nothing.
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(7, "g"),
        });
        assert_eq!(applied.new_chat, None);
        assert_eq!(seqs(&state), vec![1, 2, 3, 4, 6, 7]);
    }

    #[test]
    fn first_message_after_an_empty_welcome_is_no_gap() {
        let mut state = CallState::from_welcome(&welcome(Vec::new()));
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(40, "x"),
        });
        assert_eq!(applied.refill_after, None);
        let applied = state.apply(&ServerEvent::Chat {
            message: chat(42, "y"),
        });
        assert_eq!(applied.refill_after, Some(ChatSeq(40)));
    }

    #[test]
    fn roster_follows_events_in_join_order() {
        let mut state = CallState::from_welcome(&welcome(Vec::new()));
        assert_eq!(state.members[0].id, ParticipantId(1));
        let applied = state.apply(&ServerEvent::Joined {
            member: member(3, "Cy", Role::Participant),
        });
        assert!(matches!(applied.notice, Some(Notice::Joined { ref name, .. }) if name == "Cy"));
        state.apply(&ServerEvent::Updated {
            participant: ParticipantId(3),
            changes: MemberUpdate {
                hand_raised: Some(true),
                display_name: Some("Cyd".into()),
                ..MemberUpdate::default()
            },
        });
        let cy = state.member(ParticipantId(3)).ok_or("Cy missing");
        assert!(matches!(cy, Ok(m) if m.hand_raised && m.display_name == "Cyd"));

        let applied = state.apply(&ServerEvent::Left {
            participant: ParticipantId(3),
            reason: LeaveReason::Removed {
                by: ParticipantId(1),
            },
        });
        assert_eq!(
            applied.notice,
            Some(Notice::Left {
                id: ParticipantId(3),
                name: "Cyd".into(),
                reason: LeaveReason::Removed {
                    by: ParticipantId(1)
                },
                by_name: Some("Ann".into()),
            })
        );
        assert_eq!(state.members.len(), 2);

        // The host leaves; the hand-over that follows still names them.
        state.apply(&ServerEvent::Left {
            participant: ParticipantId(1),
            reason: LeaveReason::Left,
        });
        let applied = state.apply(&ServerEvent::YourRoleChanged {
            by: ParticipantId(1),
            role: Role::Host,
        });
        assert!(matches!(
            applied.notice,
            Some(Notice::YourRoleChanged { ref by_name, .. }) if by_name == "Ann"
        ));
    }

    #[test]
    fn personal_events_update_me_and_name_the_actor() {
        let mut state = CallState::from_welcome(&welcome(Vec::new()));
        let applied = state.apply(&ServerEvent::YouWereMuted {
            by: ParticipantId(1),
        });
        assert_eq!(
            applied.notice,
            Some(Notice::YouWereMuted {
                by: ParticipantId(1),
                by_name: "Ann".into()
            })
        );
        assert!(state.myself().is_some_and(|m| m.audio_muted));

        state.apply(&ServerEvent::YourRoleChanged {
            by: ParticipantId(1),
            role: Role::Manager,
        });
        assert_eq!(state.role, Role::Manager);

        state.apply(&ServerEvent::SessionEnded {
            reason: EndReason::EndedByHost {
                by: ParticipantId(1),
            },
        });
        assert!(state.is_over());
        assert_eq!(
            state.ended,
            Some(EndReason::EndedByHost {
                by: ParticipantId(1)
            })
        );
    }

    #[test]
    fn resume_keeps_old_chat_and_takes_the_new_roster() {
        let old = CallState::from_welcome(&welcome(vec![chat(1, "a"), chat(2, "b")]));
        let mut w = welcome(vec![chat(2, "b"), chat(5, "e")]);
        w.resumed = true;
        w.members.push(member(4, "Di", Role::Participant));
        let state = old.resumed(&w);
        assert_eq!(seqs(&state), vec![1, 2, 5]);
        assert_eq!(state.members.len(), 3);
    }

    #[test]
    fn metadata_follows_the_events_and_the_welcome() {
        let mut w = welcome(Vec::new());
        w.metadata.insert("topic".into(), "Q3".into());
        w.member_metadata.push(huddle_proto::MemberMetadata {
            participant: ParticipantId(1),
            metadata: Metadata::from_iter([("status".to_owned(), "away".into())]),
        });
        let mut state = CallState::from_welcome(&w);
        assert_eq!(state.metadata.get("topic"), Some(&"Q3".into()));
        assert!(state.metadata_of(ParticipantId(1)).is_some());

        let applied = state.apply(&ServerEvent::RoomMetadataUpdated {
            by: ParticipantId(1),
            changes: MetadataDiff {
                set: Metadata::from_iter([("agenda".to_owned(), vec![1, 2].into())]),
                deleted: vec!["topic".into()],
            },
        });
        assert_eq!(
            state.metadata,
            Metadata::from_iter([("agenda".to_owned(), vec![1, 2].into())])
        );
        let changed = applied
            .metadata
            .as_ref()
            .map(|m| (m.participant, m.by_name.as_str()));
        assert_eq!(changed, Some((None, "Ann")));

        let applied = state.apply(&ServerEvent::MemberMetadataUpdated {
            participant: ParticipantId(2),
            by: ParticipantId(2),
            changes: MetadataDiff {
                set: Metadata::from_iter([("hat".to_owned(), true.into())]),
                deleted: Vec::new(),
            },
        });
        assert_eq!(
            applied.metadata.map(|m| m.participant),
            Some(Some(ParticipantId(2)))
        );
        assert_eq!(
            state.metadata_of(ParticipantId(2)),
            Some(&Metadata::from_iter([("hat".to_owned(), true.into())]))
        );
        // Deleting the last key forgets the member's entry; leaving forgets it too.
        state.apply(&ServerEvent::MemberMetadataUpdated {
            participant: ParticipantId(2),
            by: ParticipantId(1),
            changes: MetadataDiff {
                set: Metadata::new(),
                deleted: vec!["hat".into()],
            },
        });
        assert_eq!(state.metadata_of(ParticipantId(2)), None);
        state.apply(&ServerEvent::Left {
            participant: ParticipantId(1),
            reason: LeaveReason::Left,
        });
        assert!(state.member_metadata.is_empty());
    }
}
