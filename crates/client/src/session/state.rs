//! The call as a UI shows it: who I am, the session's settings, the members in join order,
//! the chat ordered by sequence number, the room's and the members' metadata, and whether
//! the session is over.
//!
//! Pure data with no IO: [`CallState::from_welcome`] builds it, [`CallState::apply`] folds in
//! each server event and says what a person should be told ([`Notice`]) and whether a chat
//! gap needs a `chat_history` refill, and [`CallState::merge_chat`] folds the refill back in.
//! The session driver owns one and publishes snapshots of it.

use huddle_proto::{
    AudiencePage, ChatMessage, ChatSeq, EndReason, LeaveReason, Member, MemberMetadata, Metadata,
    MetadataDiff, ParticipantId, Reaction, Resync, Role, ServerEvent, SessionInfo, Waiter,
    WaiterId, Welcome,
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
    /// The members I see, me included, in join order: the publishing members (host,
    /// managers, participants) and me; a host or manager also holds the audience members it
    /// has heard of (the welcome's first page, and every one that joined or changed since).
    pub members: Vec<Member>,
    /// How many audience members the session has.
    pub audience_count: u64,
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
    /// Who waits in the lobby, oldest first (known to hosts and managers only).
    pub lobby: Vec<Waiter>,
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
    /// A host or manager deafened me or let me hear again.
    YourHearingChanged {
        /// Who.
        by: ParticipantId,
        /// Their name.
        by_name: String,
        /// Deafened now.
        deaf: bool,
    },
    /// Someone came into the lobby and waits to be let in (hosts and managers are told).
    WaiterJoined {
        /// The lobby's id for them.
        waiter: WaiterId,
        /// Their name.
        name: String,
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
    /// What to tell the person, in order.
    pub notices: Vec<Notice>,
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
        let mut state = CallState {
            me: welcome.participant_id,
            role: welcome.role,
            session: welcome.session.clone(),
            members: Vec::new(),
            audience_count: 0,
            chat: Vec::new(),
            metadata: welcome.metadata.clone(),
            member_metadata: BTreeMap::new(),
            ended: None,
            removed_by: None,
            lobby: welcome.lobby.clone(),
            high_water: None,
            departed: BTreeMap::new(),
        };
        state.set_roster(
            &welcome.members,
            &welcome.audience,
            &welcome.member_metadata,
        );
        state.merge_chat(&welcome.chat);
        state
    }

    /// Replaces the roster with one the server sent whole (a welcome or a resync).
    fn set_roster(
        &mut self,
        members: &[Member],
        audience: &AudiencePage,
        metadata: &[MemberMetadata],
    ) {
        let mut all = members.to_vec();
        if self.sees_everyone() {
            all.extend(audience.members.iter().cloned());
        }
        all.sort_by_key(|m| m.join_order);
        all.dedup_by_key(|m| m.id);
        self.member_metadata = metadata
            .iter()
            .filter(|m| !m.metadata.is_empty())
            .filter(|m| all.iter().any(|k| k.id == m.participant))
            .map(|m| (m.participant, m.metadata.clone()))
            .collect();
        self.members = all;
        self.audience_count = audience.count;
    }

    /// Takes a resync (I fell behind and missed messages): the roster, settings and
    /// metadata afresh. Returns the chat seq to refill after when the resync says there is
    /// newer chat than I hold.
    pub fn resync(&mut self, resync: &Resync) -> Option<ChatSeq> {
        self.role = resync.role;
        self.session = resync.session.clone();
        self.metadata = resync.metadata.clone();
        self.lobby.clone_from(&resync.lobby);
        self.set_roster(&resync.members, &resync.audience, &resync.member_metadata);
        match (resync.last_chat_seq, self.high_water) {
            (Some(theirs), Some(mine)) if theirs > mine => Some(mine),
            (Some(_), None) => Some(ChatSeq(0)),
            _ => None,
        }
    }

    /// Whether my role sees every member's changes (host and manager), not only the
    /// publishing members'.
    #[must_use]
    pub fn sees_everyone(&self) -> bool {
        matches!(self.role, Role::Host | Role::Manager)
    }

    /// The members on the stage (whose role may publish), in join order.
    pub fn stage(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.role != Role::Audience)
    }

    /// The members on the stage and me (also when I am audience), in join order: who a
    /// user list shows in full, with the audience as its count.
    pub fn stage_and_me(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| m.role != Role::Audience || m.id == self.me)
    }

    /// Audience members I know with a raised hand, in join order (hosts and managers hear
    /// of every audience hand; others know none).
    pub fn audience_hands(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| m.role == Role::Audience && m.hand_raised && m.id != self.me)
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
            ServerEvent::MembersChanged {
                members,
                updated,
                left,
                member_metadata,
                audience_count,
            } => {
                for member in members {
                    self.upsert(member, &mut out);
                    // A member that comes whole comes with its metadata, if it has any.
                    self.member_metadata.remove(&member.id);
                }
                for m in member_metadata {
                    if !m.metadata.is_empty() {
                        self.member_metadata
                            .insert(m.participant, m.metadata.clone());
                    }
                }
                for change in updated {
                    self.update(change.participant, &change.changes);
                }
                for departure in left {
                    self.remove(departure.participant, &departure.reason, &mut out);
                }
                self.audience_count = *audience_count;
            }
            ServerEvent::Joined { member } => self.upsert(member, &mut out),
            ServerEvent::Left {
                participant,
                reason,
            } => self.remove(*participant, reason, &mut out),
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
            } => self.update(*participant, changes),
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
                out.notices.push(Notice::Reaction {
                    id: *participant,
                    name: self.name_of(*participant),
                    reaction: *reaction,
                });
            }
            ServerEvent::YouWereMuted { by } => {
                self.set_mine(|m| m.audio_muted = true);
                out.notices.push(Notice::YouWereMuted {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YourVideoStopped { by } => {
                self.set_mine(|m| m.video_on = false);
                out.notices.push(Notice::YourVideoStopped {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::UnmuteRequested { by } => {
                out.notices.push(Notice::UnmuteRequested {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YouWereRenamed { by, name } => {
                self.set_mine(|m| m.display_name.clone_from(name));
                out.notices.push(Notice::YouWereRenamed {
                    by: *by,
                    by_name: self.name_of(*by),
                    name: name.clone(),
                });
            }
            ServerEvent::YourHandLowered { by } => {
                self.set_mine(|m| m.hand_raised = false);
                out.notices.push(Notice::YourHandLowered {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YourRoleChanged { by, role } => {
                self.role = *role;
                self.set_mine(|m| m.role = *role);
                if !self.sees_everyone() {
                    // Only hosts and managers see the lobby (a resync brings it to a new one).
                    self.lobby.clear();
                }
                out.notices.push(Notice::YourRoleChanged {
                    by: *by,
                    by_name: self.name_of(*by),
                    role: *role,
                });
            }
            ServerEvent::YouWereRemoved { by } => {
                self.removed_by = Some(*by);
                out.notices.push(Notice::YouWereRemoved {
                    by: *by,
                    by_name: self.name_of(*by),
                });
            }
            ServerEvent::YourHearingChanged { by, deaf } => {
                out.notices.push(Notice::YourHearingChanged {
                    by: *by,
                    by_name: self.name_of(*by),
                    deaf: *deaf,
                });
            }
            ServerEvent::WaiterJoined { waiter } => {
                if !self.lobby.iter().any(|w| w.id == waiter.id) {
                    self.lobby.push(waiter.clone());
                }
                out.notices.push(Notice::WaiterJoined {
                    waiter: waiter.id,
                    name: waiter.display_name.clone(),
                });
            }
            ServerEvent::WaiterLeft { waiter, .. } => {
                self.lobby.retain(|w| w.id != *waiter);
            }
            // Not the state's business: the session hands these to the apps as they come.
            ServerEvent::AppOpened { .. }
            | ServerEvent::AppMessage { .. }
            | ServerEvent::AppInvitation { .. } => {}
            ServerEvent::SessionEnded { reason } => {
                let by_name = match reason {
                    EndReason::EndedByHost { by } => Some(self.name_of(*by)),
                    _ => None,
                };
                self.ended = Some(reason.clone());
                out.notices.push(Notice::SessionEnded {
                    reason: reason.clone(),
                    by_name,
                });
            }
        }
        out
    }

    /// A member whose whole state came: added, or replaced when known. A person hears of
    /// members who come onto the stage; audience members come and go without a notice.
    fn upsert(&mut self, member: &Member, out: &mut Applied) {
        match self.members.iter_mut().find(|m| m.id == member.id) {
            Some(known) => {
                let was_audience = known.role == Role::Audience;
                known.clone_from(member);
                if was_audience && member.role != Role::Audience && member.id != self.me {
                    out.notices.push(Notice::Joined {
                        id: member.id,
                        name: member.display_name.clone(),
                    });
                }
            }
            None => {
                if member.role != Role::Audience {
                    out.notices.push(Notice::Joined {
                        id: member.id,
                        name: member.display_name.clone(),
                    });
                }
                let at = self
                    .members
                    .partition_point(|m| m.join_order <= member.join_order);
                self.members.insert(at, member.clone());
            }
        }
        if member.id == self.me {
            self.role = member.role;
        }
    }

    /// A member's changed fields. A member who moved to the audience leaves the list of
    /// whoever only sees the stage (its later changes will not be sent to them).
    fn update(&mut self, id: ParticipantId, changes: &huddle_proto::MemberUpdate) {
        if id == self.me {
            if let Some(role) = changes.role {
                self.role = role;
            }
        }
        let sees_everyone = self.sees_everyone();
        if let Some(at) = self.members.iter().position(|m| m.id == id) {
            if let Some(m) = self.members.get_mut(at) {
                m.apply(changes);
            }
            if changes.role == Some(Role::Audience) && id != self.me && !sees_everyone {
                self.members.remove(at);
                self.member_metadata.remove(&id);
            }
        }
    }

    fn remove(&mut self, id: ParticipantId, reason: &LeaveReason, out: &mut Applied) {
        let known = self.member(id).map(|m| m.role);
        if known.is_some_and(|role| role != Role::Audience) {
            let by_name = match reason {
                LeaveReason::Removed { by } => Some(self.name_of(*by)),
                _ => None,
            };
            out.notices.push(Notice::Left {
                id,
                name: self.name_of(id),
                reason: reason.clone(),
                by_name,
            });
        }
        if let Some(at) = self.members.iter().position(|m| m.id == id) {
            let gone = self.members.remove(at);
            self.departed.insert(gone.id, gone.display_name);
            if self.departed.len() > DEPARTED_NAMES {
                // Ids grow with join order: forget the earliest first.
                self.departed.pop_first();
            }
        }
        self.member_metadata.remove(&id);
        if self.session.spotlight == Some(id) {
            self.session.spotlight = None;
        }
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
            deafened: false,
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
            protocol_version: 2,
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
                waiting_room: false,
                hands_first: false,
            },
            // Out of order on purpose: the state sorts by join order.
            members: vec![
                member(2, "Bo", Role::Participant),
                member(1, "Ann", Role::Host),
            ],
            audience: AudiencePage {
                count: 3,
                members: vec![member(7, "Fan", Role::Audience)],
                next: Some("c.7".into()),
            },
            chat,
            metadata: Metadata::new(),
            member_metadata: Vec::new(),
            lobby: Vec::new(),
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

    fn batch(
        members: Vec<Member>,
        updated: Vec<(u64, MemberUpdate)>,
        left: Vec<(u64, LeaveReason)>,
        audience_count: u64,
    ) -> ServerEvent {
        ServerEvent::MembersChanged {
            members,
            updated: updated
                .into_iter()
                .map(|(id, changes)| huddle_proto::MemberChange {
                    participant: ParticipantId(id),
                    changes,
                })
                .collect(),
            left: left
                .into_iter()
                .map(|(id, reason)| huddle_proto::Departure {
                    participant: ParticipantId(id),
                    reason,
                })
                .collect(),
            member_metadata: Vec::new(),
            audience_count,
        }
    }

    #[test]
    fn roster_follows_batches_in_join_order() {
        let mut state = CallState::from_welcome(&welcome(Vec::new()));
        assert_eq!(state.members[0].id, ParticipantId(1));
        // A participant keeps the stage, not the welcome's audience page.
        assert_eq!(state.members.len(), 2);
        assert_eq!(state.audience_count, 3);
        let applied = state.apply(&batch(
            vec![
                member(3, "Cy", Role::Participant),
                member(8, "Fan 2", Role::Audience),
            ],
            vec![],
            vec![],
            4,
        ));
        assert_eq!(applied.notices.len(), 1, "{:?}", applied.notices);
        assert!(matches!(applied.notices[0], Notice::Joined { ref name, .. } if name == "Cy"));
        assert_eq!(state.audience_count, 4);
        state.apply(&batch(
            vec![],
            vec![(
                3,
                MemberUpdate {
                    hand_raised: Some(true),
                    display_name: Some("Cyd".into()),
                    ..MemberUpdate::default()
                },
            )],
            vec![],
            4,
        ));
        let cy = state.member(ParticipantId(3)).ok_or("Cy missing");
        assert!(matches!(cy, Ok(m) if m.hand_raised && m.display_name == "Cyd"));

        let applied = state.apply(&batch(
            vec![],
            vec![],
            vec![(
                3,
                LeaveReason::Removed {
                    by: ParticipantId(1),
                },
            )],
            4,
        ));
        assert_eq!(
            applied.notices,
            vec![Notice::Left {
                id: ParticipantId(3),
                name: "Cyd".into(),
                reason: LeaveReason::Removed {
                    by: ParticipantId(1)
                },
                by_name: Some("Ann".into()),
            }]
        );
        assert_eq!(
            state.members.len(),
            3,
            "Ann, Bo and the audience member Fan 2"
        );

        // The host leaves; the hand-over that follows still names them.
        state.apply(&batch(vec![], vec![], vec![(1, LeaveReason::Left)], 4));
        let applied = state.apply(&ServerEvent::YourRoleChanged {
            by: ParticipantId(1),
            role: Role::Host,
        });
        assert!(matches!(
            applied.notices.first(),
            Some(Notice::YourRoleChanged { ref by_name, .. }) if by_name == "Ann"
        ));
    }

    #[test]
    fn a_member_moved_to_the_audience_leaves_a_participants_list_but_not_a_hosts() {
        let demoted = |role: Role| {
            let mut w = welcome(Vec::new());
            w.role = role;
            w.members.push(member(5, "Di", Role::Participant));
            let mut state = CallState::from_welcome(&w);
            state.apply(&batch(
                vec![],
                vec![(
                    5,
                    MemberUpdate {
                        role: Some(Role::Audience),
                        audio_muted: Some(true),
                        ..MemberUpdate::default()
                    },
                )],
                vec![],
                4,
            ));
            state
        };
        let participant = demoted(Role::Participant);
        assert!(participant.member(ParticipantId(5)).is_none());
        assert!(participant.member(ParticipantId(7)).is_none());
        // A host keeps every member it knows, the welcome's audience page included.
        let host = demoted(Role::Host);
        assert_eq!(
            host.member(ParticipantId(5)).map(|m| m.role),
            Some(Role::Audience)
        );
        assert!(host.member(ParticipantId(7)).is_some());
        // An update for someone never seen is ignored, not invented.
        let mut host = host;
        host.apply(&batch(
            vec![],
            vec![(
                99,
                MemberUpdate {
                    hand_raised: Some(true),
                    ..MemberUpdate::default()
                },
            )],
            vec![],
            4,
        ));
        assert!(host.member(ParticipantId(99)).is_none());
    }

    #[test]
    fn a_resync_replaces_the_roster_and_asks_for_missed_chat() {
        let mut state = CallState::from_welcome(&welcome(vec![chat(1, "a")]));
        let resync = Resync {
            role: Role::Audience,
            session: state.session.clone(),
            members: vec![
                member(1, "Ann", Role::Host),
                member(2, "Bo", Role::Audience),
            ],
            audience: AudiencePage {
                count: 40,
                members: vec![member(2, "Bo", Role::Audience)],
                next: None,
            },
            metadata: Metadata::new(),
            member_metadata: Vec::new(),
            last_chat_seq: Some(ChatSeq(5)),
            lobby: Vec::new(),
        };
        assert_eq!(state.resync(&resync), Some(ChatSeq(1)));
        assert_eq!(state.role, Role::Audience);
        assert_eq!(state.audience_count, 40);
        assert_eq!(state.members.len(), 2);
        // Nothing newer than held: no refill.
        let mut quiet = resync.clone();
        quiet.last_chat_seq = Some(ChatSeq(1));
        assert_eq!(state.resync(&quiet), None);
    }

    #[test]
    fn personal_events_update_me_and_name_the_actor() {
        let mut state = CallState::from_welcome(&welcome(Vec::new()));
        let applied = state.apply(&ServerEvent::YouWereMuted {
            by: ParticipantId(1),
        });
        assert_eq!(
            applied.notices,
            vec![Notice::YouWereMuted {
                by: ParticipantId(1),
                by_name: "Ann".into()
            }]
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
