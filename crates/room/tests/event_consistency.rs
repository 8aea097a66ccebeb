//! Random sessions on a simulated clock: whatever happens, every connected member's roster,
//! rebuilt from its welcome plus the events addressed to it, equals the room's own state;
//! refused actions change nothing; the host and publisher bookkeeping stays consistent.

mod common;

use common::{Sim, TestResult};
use huddle_proto::{
    Action, ConnectionState, Member, MemberMetadata, Metadata, MetadataChange, ParticipantId,
    Reaction, Resume, ResumeKey, Role, ServerEvent, SessionInfo,
};
use huddle_room::RoomConfig;
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
struct View {
    members: Vec<Member>,
    session: SessionInfo,
    metadata: Metadata,
    member_metadata: BTreeMap<ParticipantId, Metadata>,
}

impl View {
    fn apply(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::Joined { member } => self.members.push(member.clone()),
            ServerEvent::Left { participant, .. } => {
                self.members.retain(|m| m.id != *participant);
                self.member_metadata.remove(participant);
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
            ServerEvent::Updated {
                participant,
                changes,
            } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == *participant) {
                    m.apply(changes);
                }
            }
            ServerEvent::SessionUpdated { session } => self.session = session.clone(),
            _ => {}
        }
    }
}

fn random_action(rng: &mut Rng, ids: &[ParticipantId]) -> Action {
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
    match rng.below(28) {
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
        24 if rng.below(3) == 0 => Action::Leave,
        25 if rng.below(20) == 0 => Action::End,
        _ => Action::RaiseHand,
    }
}

fn run(seed: u64, steps: usize) -> TestResult {
    let config = RoomConfig {
        max_active: 4,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    let mut rng = Rng(seed);
    let mut views: BTreeMap<ParticipantId, View> = BTreeMap::new();
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
                .filter(|id| !views.contains_key(id))
                .collect();
            if !dropped.is_empty() && rng.coin() {
                let id = dropped[rng.below(dropped.len())];
                req.resume = Some(Resume {
                    participant_id: id,
                    resume_key: keys.get(&id).cloned().ok_or("no key")?,
                });
            }
            match sim.join_req(req) {
                Ok(outcome) => {
                    let w = outcome.welcome;
                    keys.insert(w.participant_id, w.resume_key.clone());
                    views.insert(
                        w.participant_id,
                        View {
                            members: w.members,
                            session: w.session,
                            metadata: w.metadata,
                            member_metadata: w
                                .member_metadata
                                .into_iter()
                                .map(|m| (m.participant, m.metadata))
                                .collect(),
                        },
                    );
                }
                Err(_) => refused = true,
            }
        } else if dice < 22 {
            let who = ids[rng.below(ids.len())];
            sim.room.disconnect(sim.now, who);
            views.remove(&who);
        } else if dice < 26 {
            sim.advance(Duration::from_secs(rng.below(40) as u64));
        } else {
            let who = ids[rng.below(ids.len())];
            let action = random_action(&mut rng, &ids);
            if sim.room.handle(sim.now, who, action.clone()).is_err() {
                refused = true;
            }
        }
        let events = sim.drain();
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
            return Ok(());
        }
        // Members gone from the room lose their connection (the driver closes it).
        views.retain(|id, _| sim.room.is_member(*id));
        for (recipient, event) in &events {
            for (id, view) in views.iter_mut() {
                if recipient.includes(*id) {
                    view.apply(event);
                }
            }
        }
        let truth: Vec<Member> = sim.room.members().cloned().collect();
        let session = sim.room.session_info();
        for (id, view) in &views {
            // A connected member's own row may lag only in its connection state, which it
            // is never told about itself.
            if sim.room.member(*id).map(|m| m.connection) == Some(ConnectionState::Reconnecting) {
                continue;
            }
            assert_eq!(
                view.members, truth,
                "seed {seed} step {step}: roster of {id}"
            );
            assert_eq!(
                view.session, session,
                "seed {seed} step {step}: session of {id}"
            );
            assert_eq!(
                view.metadata,
                *sim.room.metadata(),
                "seed {seed} step {step}: room metadata of {id}"
            );
            let members_metadata: Vec<MemberMetadata> = view
                .member_metadata
                .iter()
                .map(|(p, m)| MemberMetadata {
                    participant: *p,
                    metadata: m.clone(),
                })
                .collect();
            assert_eq!(
                members_metadata,
                sim.room.member_metadata(),
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
    Ok(())
}

#[test]
fn rosters_rebuilt_from_events_match_the_room() -> TestResult {
    for seed in 1..=200u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, 400)?;
    }
    Ok(())
}
