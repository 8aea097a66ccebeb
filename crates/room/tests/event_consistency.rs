//! Random sessions on a simulated clock, delivered as a server does: roster changes folded
//! by a [`RosterBatcher`] into one `members_changed` batch per view, flushed at random
//! moments (so batches fold several steps), other events routed at once after the batch
//! before them. Whatever happens, every connected member's roster, rebuilt from its welcome
//! (hosts and managers page in the audience with `roster_page`), the batches and events sent
//! to it, and a resync when its role moves it to another view, equals the room's own state
//! as that member's view shows it; refused actions change nothing; the host and publisher
//! bookkeeping stays consistent.

mod common;

use common::{Sim, TestResult};
use huddle_proto::{
    Action, AudiencePage, ConnectionState, Member, MemberMetadata, Metadata, MetadataChange,
    ParticipantId, Reaction, Resume, ResumeKey, Role, ServerEvent, SessionInfo, Waiter, WaiterId,
};
use huddle_room::{Admission, LobbyOutcome, Room, RoomConfig, RosterBatcher, View};
use std::collections::BTreeMap;
use std::time::Duration;

/// A small deterministic generator, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 0
    }
}

/// What one client believes, built only from what it was sent.
struct Client {
    me: ParticipantId,
    view: View,
    members: Vec<Member>,
    audience_count: u64,
    session: SessionInfo,
    metadata: Metadata,
    member_metadata: BTreeMap<ParticipantId, Metadata>,
    /// Who waits in the lobby (hosts and managers are told).
    lobby: BTreeMap<WaiterId, Waiter>,
    /// Room-level roster changes that reached the client unbatched (there must be none).
    strays: Vec<String>,
}

impl Client {
    /// A client starting from a roster sent whole (welcome or resync); hosts and managers
    /// then page in the whole audience, a few at a time.
    #[allow(clippy::too_many_arguments)]
    fn start(
        room: &Room,
        me: ParticipantId,
        role: Role,
        members: Vec<Member>,
        audience: &AudiencePage,
        session: SessionInfo,
        metadata: Metadata,
        member_metadata: Vec<MemberMetadata>,
        lobby: Vec<Waiter>,
    ) -> Result<Client, Box<dyn std::error::Error>> {
        let mut client = Client {
            me,
            view: View::of(role),
            members,
            audience_count: audience.count,
            session,
            metadata,
            member_metadata: BTreeMap::new(),
            lobby: lobby.into_iter().map(|w| (w.id, w)).collect(),
            strays: Vec::new(),
        };
        // The audience page's metadata belongs to members a stage view does not keep.
        for m in member_metadata {
            if client.members.iter().any(|k| k.id == m.participant) || client.view == View::Full {
                client.member_metadata.insert(m.participant, m.metadata);
            }
        }
        if client.view == View::Full {
            let mut after: Option<String> = None;
            loop {
                let (page, metadata) = room.roster_page(me, after.as_deref(), 2, None)?;
                for m in page.members {
                    client.upsert(m);
                }
                for m in metadata {
                    client.member_metadata.insert(m.participant, m.metadata);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(client)
    }

    fn upsert(&mut self, member: Member) {
        match self.members.iter_mut().find(|m| m.id == member.id) {
            Some(known) => *known = member,
            None => {
                let at = self
                    .members
                    .partition_point(|m| m.join_order <= member.join_order);
                self.members.insert(at, member);
            }
        }
    }

    fn apply(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::MembersChanged {
                members,
                updated,
                left,
                member_metadata,
                audience_count,
            } => {
                for m in members {
                    self.member_metadata.remove(&m.id);
                    self.upsert(m.clone());
                }
                for m in member_metadata {
                    self.member_metadata
                        .insert(m.participant, m.metadata.clone());
                }
                for change in updated {
                    if let Some(at) = self.members.iter().position(|m| m.id == change.participant) {
                        self.members[at].apply(&change.changes);
                        if change.changes.role == Some(Role::Audience)
                            && change.participant != self.me
                            && self.view == View::Stage
                        {
                            self.members.remove(at);
                            self.member_metadata.remove(&change.participant);
                        }
                    }
                }
                for d in left {
                    self.members.retain(|m| m.id != d.participant);
                    self.member_metadata.remove(&d.participant);
                }
                self.audience_count = *audience_count;
            }
            ServerEvent::Joined { .. } | ServerEvent::Left { .. } | ServerEvent::Updated { .. } => {
                self.strays.push(format!("{event:?}"));
            }
            ServerEvent::RoomMetadataUpdated { changes, .. } => {
                changes.apply_to(&mut self.metadata);
            }
            ServerEvent::MemberMetadataUpdated {
                participant,
                changes,
                ..
            } => {
                changes.apply_to_member(&mut self.member_metadata, *participant);
            }
            ServerEvent::SessionUpdated { session } => self.session = session.clone(),
            ServerEvent::WaiterJoined { waiter } => {
                self.lobby.insert(waiter.id, waiter.clone());
            }
            ServerEvent::WaiterLeft { waiter, .. } => {
                self.lobby.remove(waiter);
            }
            _ => {}
        }
    }
}

/// The server's side of delivery: the batcher, and every connected member's client.
struct Delivery {
    batcher: RosterBatcher,
    clients: BTreeMap<ParticipantId, Client>,
    batches_sent: usize,
}

impl Delivery {
    /// Sends the waiting batch for each view; a member whose view changed is resynced.
    fn flush(&mut self, room: &Room) -> TestResult {
        let batches = self.batcher.flush(room);
        if batches.full.is_some() || batches.stage.is_some() {
            self.batches_sent += 1;
        }
        let mut resynced = Vec::new();
        for (id, client) in self.clients.iter_mut() {
            let Some(member) = room.member(*id) else {
                continue;
            };
            let view = View::of(member.role);
            // The batch its roster was built for first (it hears who left), then the resync.
            if let Some(batch) = batches.for_view(client.view) {
                client.apply(batch);
            }
            if view != client.view {
                let r = room.resync(*id).ok_or("no resync for a member")?;
                *client = Client::start(
                    room,
                    *id,
                    r.role,
                    r.members,
                    &r.audience,
                    r.session,
                    r.metadata,
                    r.member_metadata,
                    r.lobby,
                )?;
                resynced.push(*id);
            }
        }
        for (id, event) in &batches.own {
            if resynced.contains(id) {
                continue;
            }
            if let Some(client) = self.clients.get_mut(id) {
                client.apply(event);
            }
        }
        Ok(())
    }
}

fn random_action(rng: &mut Rng, ids: &[ParticipantId], waiting: &[WaiterId]) -> Action {
    let waiter = if waiting.is_empty() || rng.below(10) == 0 {
        WaiterId(999)
    } else {
        waiting[rng.below(waiting.len())]
    };
    // Mostly real members, sometimes someone who does not exist.
    let pick = |rng: &mut Rng| {
        if rng.below(10) == 0 {
            ParticipantId(999)
        } else {
            ids.get(rng.below(ids.len()))
                .copied()
                .unwrap_or(ParticipantId(999))
        }
    };
    let participant = pick(rng);
    let metadata_change = |rng: &mut Rng| {
        let key = format!("k{}", rng.below(4));
        match rng.below(3) {
            0 => MetadataChange::delete(vec![key]),
            1 => MetadataChange::replace(Metadata::from_iter([(key, rng.below(3).into())])),
            _ => MetadataChange::merge(Metadata::from_iter([(key, rng.below(3).into())])),
        }
    };
    match rng.below(34) {
        0 => Action::SetAudio { muted: rng.coin() },
        1 => Action::SetVideo { on: rng.coin() },
        2 => Action::SetSharing { on: rng.coin() },
        3 => Action::SetTalking {
            talking: rng.coin(),
        },
        4 => Action::Chat {
            to: rng.coin().then_some(participant),
            text: "hello".into(),
        },
        5 => Action::RaiseHand,
        6 => Action::LowerHand {
            participant: rng.coin().then_some(participant),
        },
        7 => Action::React {
            reaction: Reaction::Heart,
        },
        8 => Action::MuteAudio { participant },
        9 => Action::MuteAll,
        10 => Action::StopVideo { participant },
        11 => Action::AskUnmute { participant },
        12 => Action::Rename {
            participant,
            name: format!("name {}", rng.below(5)),
        },
        13 => Action::Remove { participant },
        14 if rng.below(4) == 0 => Action::RemoveOthers,
        15 => Action::LockSharing { locked: rng.coin() },
        16 => Action::LockSession {
            locked: rng.below(4) == 0,
        },
        17 => Action::SetAudienceChat {
            allowed: rng.coin(),
        },
        18 => Action::Spotlight {
            participant: rng.coin().then_some(participant),
        },
        19 => Action::PromoteAudience { participant },
        20 => Action::DemoteToAudience { participant },
        21 => Action::MakeManager { participant },
        22 => Action::RevokeManager { participant },
        23 => Action::TransferHost { participant },
        26 => Action::UpdateRoomMetadata {
            change: metadata_change(rng),
        },
        27 => Action::UpdateMemberMetadata {
            participant: rng.coin().then_some(participant),
            change: metadata_change(rng),
        },
        28 => Action::SetDeaf {
            participant: rng.coin().then_some(participant),
            deaf: rng.coin(),
        },
        29 => Action::SetWaitingRoom { on: rng.coin() },
        30 => Action::Admit { waiter },
        31 if rng.below(3) == 0 => Action::AdmitAll,
        32 => Action::Deny { waiter },
        33 => Action::SetHandsFirst { on: rng.coin() },
        24 if rng.below(3) == 0 => Action::Leave,
        25 if rng.below(20) == 0 => Action::End,
        _ => Action::RaiseHand,
    }
}

/// A member's connection starting from its welcome.
fn connect(
    room: &Room,
    net: &mut Delivery,
    keys: &mut BTreeMap<ParticipantId, ResumeKey>,
    w: huddle_proto::Welcome,
) -> TestResult {
    keys.insert(w.participant_id, w.resume_key.clone());
    let client = Client::start(
        room,
        w.participant_id,
        w.role,
        w.members,
        &w.audience,
        w.session,
        w.metadata,
        w.member_metadata,
        w.lobby,
    )?;
    net.clients.insert(w.participant_id, client);
    Ok(())
}

/// One random session; returns how many batches went out.
fn run(seed: u64, steps: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let config = RoomConfig {
        max_active: 4,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    let mut rng = Rng(seed);
    let mut net = Delivery {
        batcher: RosterBatcher::new(&sim.room),
        clients: BTreeMap::new(),
        batches_sent: 0,
    };
    let mut keys: BTreeMap<ParticipantId, ResumeKey> = BTreeMap::new();
    let roles = [
        None,
        Some(Role::Host),
        Some(Role::Manager),
        Some(Role::Participant),
        Some(Role::Audience),
    ];

    for step in 0..steps {
        let ids: Vec<ParticipantId> = sim.room.members().map(|m| m.id).collect();
        let before = sim.room.snapshot();
        // The first steps fill the room so that there is someone to act on.
        let dice = if step < 6 { 0 } else { rng.below(100) };
        let mut refused = false;
        if ids.is_empty() || dice < 15 {
            let role = roles[rng.below(roles.len())];
            let mut req = sim.request("someone", role);
            // Resume someone who is reconnecting (or was), sometimes.
            let dropped: Vec<ParticipantId> = keys
                .keys()
                .copied()
                .filter(|id| !net.clients.contains_key(id))
                .collect();
            if !dropped.is_empty() && rng.coin() {
                let id = dropped[rng.below(dropped.len())];
                req.resume = Some(Resume {
                    participant_id: id,
                    resume_key: keys.get(&id).cloned().ok_or("no key")?,
                });
            }
            match sim.room.join(sim.now, req) {
                Ok(Admission::Joined(outcome)) => {
                    connect(&sim.room, &mut net, &mut keys, outcome.welcome)?;
                }
                // Its connection waits; the lobby outcome below connects it once let in.
                Ok(Admission::Waiting(_)) => {}
                Err(_) => refused = true,
            }
        } else if dice < 22 {
            let who = ids[rng.below(ids.len())];
            sim.room.disconnect(sim.now, who);
            net.clients.remove(&who);
        } else if dice < 26 {
            sim.advance(Duration::from_secs(rng.below(40) as u64));
        } else {
            let who = ids[rng.below(ids.len())];
            let waiting: Vec<WaiterId> = sim.room.lobby().map(|w| w.id).collect();
            let action = random_action(&mut rng, &ids, &waiting);
            if sim.room.handle(sim.now, who, action.clone()).is_err() {
                refused = true;
            }
        }
        let events = sim.drain();
        // Those let in from the lobby connect with their welcome before the step's events
        // go out, as the server links them before it delivers.
        while let Some(outcome) = sim.room.poll_lobby() {
            if let LobbyOutcome::Admitted { outcome, .. } = outcome {
                connect(&sim.room, &mut net, &mut keys, outcome.welcome)?;
            }
        }
        if refused {
            assert_eq!(
                sim.room.snapshot(),
                before,
                "seed {seed} step {step}: refusal changed state"
            );
            assert!(
                events.is_empty(),
                "seed {seed} step {step}: refusal emitted {events:?}"
            );
        }
        if sim.room.is_ended() {
            return Ok(net.batches_sent);
        }
        // Members gone from the room lose their connection (the driver closes it).
        net.clients.retain(|id, _| sim.room.is_member(*id));
        for (recipient, event) in &events {
            if net.batcher.record(event) {
                continue;
            }
            if !matches!(
                event,
                ServerEvent::Chat { .. } | ServerEvent::Reaction { .. }
            ) {
                net.flush(&sim.room)?;
            }
            for (id, client) in net.clients.iter_mut() {
                if recipient.includes(*id) {
                    client.apply(event);
                }
            }
        }
        let truth: Vec<Member> = sim.room.members().cloned().collect();
        // The batch interval may not have passed: then nothing is checked this step, and the
        // next batch folds this step's changes with the next ones.
        if rng.below(3) == 0 {
            continue;
        }
        net.flush(&sim.room)?;
        let session = sim.room.session_info();
        for (id, client) in &net.clients {
            // A connected member's own row may lag only in its connection state, which it
            // is never told about itself.
            if sim.room.member(*id).map(|m| m.connection) == Some(ConnectionState::Reconnecting) {
                continue;
            }
            let seen: Vec<Member> = match client.view {
                View::Full => truth.clone(),
                View::Stage => truth
                    .iter()
                    .filter(|m| m.role != Role::Audience || m.id == *id)
                    .cloned()
                    .collect(),
            };
            assert!(
                client.strays.is_empty(),
                "seed {seed} step {step}: {id} was sent {:?}",
                client.strays
            );
            assert_eq!(
                client.members, seen,
                "seed {seed} step {step}: roster of {id} ({:?})",
                client.view
            );
            assert_eq!(
                client.audience_count,
                sim.room.audience_count() as u64,
                "seed {seed} step {step}: audience count of {id}"
            );
            assert_eq!(
                client.session, session,
                "seed {seed} step {step}: session of {id}"
            );
            assert_eq!(
                client.metadata,
                *sim.room.metadata(),
                "seed {seed} step {step}: room metadata of {id}"
            );
            let lobby: Vec<Waiter> = match client.view {
                View::Full => sim.room.lobby().cloned().collect(),
                View::Stage => Vec::new(),
            };
            assert_eq!(
                client.lobby.values().cloned().collect::<Vec<_>>(),
                lobby,
                "seed {seed} step {step}: lobby of {id}"
            );
            let members_metadata: Vec<MemberMetadata> = client
                .member_metadata
                .iter()
                .map(|(p, m)| MemberMetadata {
                    participant: *p,
                    metadata: m.clone(),
                })
                .collect();
            let expected: Vec<MemberMetadata> = sim
                .room
                .member_metadata()
                .into_iter()
                .filter(|m| seen.iter().any(|s| s.id == m.participant))
                .collect();
            assert_eq!(
                members_metadata, expected,
                "seed {seed} step {step}: member metadata of {id}"
            );
        }
        // Bookkeeping: at most one host, and the room knows which.
        let hosts: Vec<ParticipantId> = truth
            .iter()
            .filter(|m| m.role == Role::Host)
            .map(|m| m.id)
            .collect();
        assert!(hosts.len() <= 1, "seed {seed} step {step}: hosts {hosts:?}");
        assert_eq!(
            sim.room.host(),
            hosts.first().copied(),
            "seed {seed} step {step}"
        );
        // Audience never publishes.
        for m in &truth {
            if m.role == Role::Audience {
                assert!(
                    m.audio_muted && !m.video_on && !m.sharing && !m.talking,
                    "seed {seed} step {step}: {m:?}"
                );
            }
        }
        if let Some(spot) = session.spotlight {
            assert!(
                sim.room.is_member(spot),
                "seed {seed} step {step}: spotlight on a ghost"
            );
        }
    }
    Ok(net.batches_sent)
}

#[test]
fn rosters_rebuilt_from_batches_and_pages_match_the_room() -> TestResult {
    let mut batches = 0;
    for seed in 1..=200u64 {
        batches += run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, 400)?;
    }
    assert!(
        batches > 10_000,
        "too few batches to mean anything: {batches}"
    );
    Ok(())
}
