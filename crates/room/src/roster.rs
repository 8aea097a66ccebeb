//! Folding the room's roster changes into `members_changed` batches.
//!
//! A room emits one `joined`, `left` or `updated` per change. Sent one by one to every member,
//! 5,000 joins would be 12.5 M frames; instead a driver hands every roster event to a
//! [`RosterBatcher`] and, a few times a second, asks it for one batch per [`View`]: the
//! changes since the last batch, at most one entry per member, that the view shows. Each
//! batch is encoded once and sent to every member with that view. Recording a change costs
//! O(1); a batch costs O(members changed), not O(members).
//!
//! - [`View::Full`] (host and managers) sees every member: each member that changed comes
//!   whole in `members`, each that left in `left`. Hosts must see the audience's raised
//!   hands, and may not have paged in the member whose hand went up, so nothing there is a
//!   bare delta.
//! - [`View::Stage`] (participants and audience) sees the members who may publish: one
//!   that came onto the stage (joined as a publisher, or promoted) comes whole, one that
//!   stayed gets its changed fields (a demotion is such a change: `role: audience`, after
//!   which the receiver drops it), one that left is in `left`. Audience joins and leaves
//!   reach this view as `audience_count` only.
//!
//! An audience member in the stage view still needs its own changes (its raised hand, a new
//! name): [`Batches::own`] carries each such member itself, whole, in a small batch of its
//! own.

use std::collections::{BTreeMap, HashMap};

use huddle_proto::{
    Departure, LeaveReason, Member, MemberChange, MemberMetadata, MemberUpdate, ParticipantId,
    Role, ServerEvent,
};

use crate::room::Room;

/// What a member's roster shows, by its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    /// Every member (host, managers).
    Full,
    /// The publishing members and the audience's count (participants, audience).
    Stage,
}

impl View {
    /// The view a role gets.
    #[must_use]
    pub fn of(role: Role) -> View {
        match role {
            Role::Host | Role::Manager => View::Full,
            Role::Participant | Role::Audience => View::Stage,
        }
    }
}

/// The batches of one flush, each ready to send as `event {event}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batches {
    /// For members with [`View::Full`]; `None` when nothing changed.
    pub full: Option<ServerEvent>,
    /// For members with [`View::Stage`]; `None` when nothing they see changed.
    pub stage: Option<ServerEvent>,
    /// For audience members whose own state changed: their own changes.
    pub own: Vec<(ParticipantId, ServerEvent)>,
}

impl Batches {
    /// The batch for a view.
    #[must_use]
    pub fn for_view(&self, view: View) -> Option<&ServerEvent> {
        match view {
            View::Full => self.full.as_ref(),
            View::Stage => self.stage.as_ref(),
        }
    }
}

/// One member touched since the last flush.
#[derive(Clone, Debug, Default)]
struct Touched {
    /// Its role when the batch began; `None` when it joined within the batch.
    role_before: Option<Role>,
    /// Every field that changed, with its latest value.
    changes: MemberUpdate,
    /// Why it left, if it did.
    left: Option<LeaveReason>,
}

/// Collects roster events between flushes. See the module documentation.
#[derive(Debug, Default)]
pub struct RosterBatcher {
    /// Every member's role, as the events told it: what a batch's "before" is read from.
    roles: HashMap<ParticipantId, Role>,
    touched: BTreeMap<ParticipantId, Touched>,
    /// Whether the audience count may have moved since the last batch (someone joined, left
    /// or changed role). Not a comparison of counts: a member who joined after one audience
    /// member came and before it went was welcomed with the count in between.
    audience_moved: bool,
    /// A change hosts should see at once (an audience hand went up or down).
    urgent: bool,
}

impl RosterBatcher {
    /// A batcher for `room` as it is now; it must then see every roster event the room
    /// emits.
    #[must_use]
    pub fn new(room: &Room) -> RosterBatcher {
        RosterBatcher {
            roles: room.members().map(|m| (m.id, m.role)).collect(),
            ..RosterBatcher::default()
        }
    }

    /// Takes a room event. Returns `false`, and records nothing, for events that are not
    /// roster changes (the driver routes those itself).
    pub fn record(&mut self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::Joined { member } => {
                self.roles.insert(member.id, member.role);
                self.touched.entry(member.id).or_default();
                self.audience_moved |= member.role == Role::Audience;
            }
            ServerEvent::Updated {
                participant,
                changes,
            } => {
                let before = self.roles.get(participant).copied();
                self.touch(*participant, before).changes.merge(changes);
                if let Some(role) = changes.role {
                    self.roles.insert(*participant, role);
                    self.audience_moved |= role == Role::Audience || before == Some(Role::Audience);
                }
                let audience = self.roles.get(participant) == Some(&Role::Audience)
                    || before == Some(Role::Audience);
                if audience && changes.hand_raised.is_some() {
                    self.urgent = true;
                }
            }
            ServerEvent::Left {
                participant,
                reason,
            } => {
                let before = self.roles.remove(participant);
                self.audience_moved |= before == Some(Role::Audience);
                self.touch(*participant, before).left = Some(reason.clone());
            }
            _ => return false,
        }
        true
    }

    /// The member's entry in this batch; `before` is its role as the batch began, kept from
    /// the first touch.
    fn touch(&mut self, id: ParticipantId, before: Option<Role>) -> &mut Touched {
        self.touched.entry(id).or_insert_with(|| Touched {
            role_before: before,
            ..Touched::default()
        })
    }

    /// Whether anything waits to be sent.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// Whether a waiting change should go out without waiting for the batch interval.
    #[must_use]
    pub fn is_urgent(&self) -> bool {
        self.urgent
    }

    /// The batches for everything recorded since the last flush, read against the room as
    /// it is now, and starts a new batch.
    #[must_use]
    pub fn flush(&mut self, room: &Room) -> Batches {
        let touched = std::mem::take(&mut self.touched);
        self.urgent = false;
        let count_changed = std::mem::take(&mut self.audience_moved);
        if touched.is_empty() && !count_changed {
            return Batches::default();
        }
        let count = u64::try_from(room.audience_count()).unwrap_or(u64::MAX);

        let mut full = Entries::default();
        let mut stage = Entries::default();
        let mut own = Vec::new();
        for (id, t) in touched {
            let now = room.member(id);
            let was_member = t.role_before.is_some();
            // Full view: every member, whole.
            match (was_member, now, &t.left) {
                (_, Some(m), _) => full.members.push(m.clone()),
                (true, None, Some(reason)) => full.left.push(departure(id, reason)),
                _ => {}
            }
            // Stage view: publishers only.
            let was_on_stage = t.role_before.is_some_and(|r| r != Role::Audience);
            let on_stage = now.is_some_and(|m| m.role != Role::Audience);
            match (was_on_stage, on_stage) {
                (false, true) => stage.members.extend(now.cloned()),
                (true, true) => stage.update(id, &t.changes),
                (true, false) => match (now, &t.left) {
                    // Moved to the audience: the role change tells the receiver to drop it.
                    (Some(_), _) => stage.update(id, &t.changes),
                    (None, Some(reason)) => stage.left.push(departure(id, reason)),
                    (None, None) => {}
                },
                (false, false) => {
                    // An audience member (or one who came and went within the batch): only
                    // itself hears of its changes, and whole, since it may have joined within
                    // this batch, after its welcome was made.
                    if let Some(m) = now {
                        if !t.changes.is_empty() && View::of(m.role) == View::Stage {
                            let entries = Entries {
                                members: vec![m.clone()],
                                ..Entries::default()
                            };
                            own.push((id, entries.into_event(room, count)));
                        }
                    }
                }
            }
        }
        Batches {
            full: full.into_batch(room, count, count_changed),
            stage: stage.into_batch(room, count, count_changed),
            own,
        }
    }
}

#[derive(Default)]
struct Entries {
    members: Vec<Member>,
    updated: Vec<MemberChange>,
    left: Vec<Departure>,
}

impl Entries {
    fn update(&mut self, id: ParticipantId, changes: &MemberUpdate) {
        if !changes.is_empty() {
            self.updated.push(MemberChange {
                participant: id,
                changes: changes.clone(),
            });
        }
    }

    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.updated.is_empty() && self.left.is_empty()
    }

    fn into_batch(
        self,
        room: &Room,
        audience_count: u64,
        count_changed: bool,
    ) -> Option<ServerEvent> {
        (count_changed || !self.is_empty()).then(|| self.into_event(room, audience_count))
    }

    fn into_event(self, room: &Room, audience_count: u64) -> ServerEvent {
        let member_metadata = self
            .members
            .iter()
            .filter_map(|m| {
                room.member_metadata_of(m.id)
                    .filter(|meta| !meta.is_empty())
                    .map(|meta| MemberMetadata {
                        participant: m.id,
                        metadata: meta.clone(),
                    })
            })
            .collect();
        ServerEvent::MembersChanged {
            members: self.members,
            updated: self.updated,
            left: self.left,
            member_metadata,
            audience_count,
        }
    }
}

fn departure(participant: ParticipantId, reason: &LeaveReason) -> Departure {
    Departure {
        participant,
        reason: reason.clone(),
    }
}
