//! Every action of SPEC §3 by every role: allowed ones change state and emit the right
//! events; refused ones change nothing and name the missing permission.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{
    Action, EndReason, ErrorCode, LeaveReason, Metadata, MetadataChange, ParticipantId, Reaction,
    Role, ServerEvent,
};
use huddle_proto::{LobbyExit, WaiterId};
use huddle_room::{Admission, Permission, Recipient, RoomConfig, RoomError};

/// The members every case starts with.
#[derive(Clone, Copy, Debug)]
struct Cast {
    host: ParticipantId,
    manager: ParticipantId,
    participant: ParticipantId,
    audience: ParticipantId,
    /// A participant with microphone and camera on and hand raised: the target of controls.
    target: ParticipantId,
    /// A muted participant, for asking to unmute.
    muted: ParticipantId,
    /// An audience member, for promotion.
    listener: ParticipantId,
    /// A second manager, for revoking.
    deputy: ParticipantId,
    /// Someone waiting in the lobby (the waiting room is on), for admitting and denying.
    waiter: WaiterId,
}

fn setup() -> Result<(Sim, Cast), Box<dyn std::error::Error>> {
    let mut sim = Sim::new(RoomConfig::default())?;
    let join = |sim: &mut Sim, name: &str, role: Role, muted: bool, video: bool| {
        let mut req = sim.request(name, Some(role));
        req.audio_muted = muted;
        req.video_on = video;
        sim.join_req(req).map(|o| o.participant_id)
    };
    // Actors join muted with camera off, so publishing actions are visible changes.
    let cast = Cast {
        host: join(&mut sim, "Host", Role::Host, true, false)?,
        manager: join(&mut sim, "Manager", Role::Manager, true, false)?,
        participant: join(&mut sim, "Participant", Role::Participant, true, false)?,
        audience: join(&mut sim, "Audience", Role::Audience, true, false)?,
        target: join(&mut sim, "Target", Role::Participant, false, true)?,
        muted: join(&mut sim, "Muted", Role::Participant, true, false)?,
        listener: join(&mut sim, "Listener", Role::Audience, true, false)?,
        deputy: join(&mut sim, "Deputy", Role::Manager, true, false)?,
        waiter: WaiterId(0),
    };
    let mut cast = cast;
    sim.room
        .handle(sim.now, cast.host, Action::SetWaitingRoom { on: true })?;
    let knock = sim.request("Waiter", None);
    match sim.room.join(sim.now, knock)? {
        Admission::Waiting(id) => cast.waiter = id,
        Admission::Joined(_) => return Err("the waiting room let a joiner in".into()),
    }
    sim.room.handle(sim.now, cast.target, Action::RaiseHand)?;
    sim.drain();
    Ok((sim, cast))
}

fn actor(cast: &Cast, role: Role) -> ParticipantId {
    match role {
        Role::Host => cast.host,
        Role::Manager => cast.manager,
        Role::Participant => cast.participant,
        Role::Audience => cast.audience,
    }
}

type Events = Vec<(Recipient, ServerEvent)>;
type Check = fn(&Sim, &Cast, ParticipantId, &Events) -> Result<(), String>;

struct Case {
    name: &'static str,
    action: fn(&Cast) -> Action,
    /// Whether host, manager, participant, audience may do it (the table of SPEC §3).
    allowed: [bool; 4],
    /// The permission a refusal names.
    permission: Permission,
    /// What must hold after an allowed run.
    check: Check,
}

const ALL: [bool; 4] = [true, true, true, true];
const PUBLISHERS: [bool; 4] = [true, true, true, false];
const ADMINS: [bool; 4] = [true, true, false, false];
const HOST: [bool; 4] = [true, false, false, false];
const ROLES: [Role; 4] = [Role::Host, Role::Manager, Role::Participant, Role::Audience];

fn ensure(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

fn has(events: &Events, pred: impl Fn(&Recipient, &ServerEvent) -> bool) -> bool {
    events.iter().any(|(r, e)| pred(r, e))
}

fn member_flag(sim: &Sim, id: ParticipantId, f: fn(&huddle_proto::Member) -> bool) -> bool {
    sim.room.member(id).is_some_and(f)
}

fn updated(events: &Events, id: ParticipantId) -> bool {
    has(events, |r, e| {
        *r == Recipient::Everyone
            && matches!(e, ServerEvent::Updated { participant, .. } if *participant == id)
    })
}

fn topic() -> Metadata {
    let mut m = Metadata::new();
    m.insert(
        "topic".into(),
        serde_json::json!({"title": "Q3", "items": [1, 2]}),
    );
    m
}

fn member_metadata_set(
    sim: &Sim,
    whose: ParticipantId,
    by_whom: ParticipantId,
    events: &Events,
) -> Result<(), String> {
    ensure(
        sim.room.member_metadata_of(whose) == Some(&topic()),
        "member metadata set",
    )?;
    ensure(
        has(events, |r, e| {
            // Everyone sees a member on the stage; an audience member, the hosts, managers
            // and itself.
            let told = match sim.room.member(whose).map(|m| m.role) {
                Some(Role::Audience) => sim.room.members().all(|m| {
                    r.includes(m.id)
                        == (m.id == whose || matches!(m.role, Role::Host | Role::Manager))
                }),
                _ => *r == Recipient::Everyone,
            };
            told && matches!(e, ServerEvent::MemberMetadataUpdated { participant, by, changes }
                    if *participant == whose && *by == by_whom && changes.set == topic())
        }),
        "those who see the member told whose metadata changed, what and by whom",
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "unmute own audio",
            action: |_| Action::SetAudio { muted: false },
            allowed: PUBLISHERS,
            permission: Permission::Publish,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| !m.audio_muted), "unmuted")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "start own video",
            action: |_| Action::SetVideo { on: true },
            allowed: PUBLISHERS,
            permission: Permission::Publish,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| m.video_on), "video on")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "share own screen",
            action: |_| Action::SetSharing { on: true },
            allowed: PUBLISHERS,
            permission: Permission::ShareScreen,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| m.sharing), "sharing")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "report talking",
            action: |_| Action::SetTalking { talking: true },
            allowed: PUBLISHERS,
            permission: Permission::Publish,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| m.talking), "talking")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "chat to everyone",
            action: |_| Action::Chat {
                to: None,
                text: "hello".into(),
            },
            allowed: ALL,
            permission: Permission::Chat,
            check: |sim, _, a, ev| {
                ensure(
                    sim.room.snapshot().chat.iter().any(|m| m.from == a),
                    "in history",
                )?;
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Everyone
                            && matches!(e, ServerEvent::Chat { message } if message.from == a)
                    }),
                    "chat event to everyone",
                )
            },
        },
        Case {
            name: "chat privately",
            action: |c| Action::Chat {
                to: Some(c.target),
                text: "psst".into(),
            },
            allowed: ALL,
            permission: Permission::Chat,
            check: |_, c, a, ev| {
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Only(vec![a, c.target])
                            && matches!(e, ServerEvent::Chat { message } if message.to == Some(c.target))
                    }),
                    "private chat event to sender and recipient",
                )
            },
        },
        Case {
            name: "raise hand",
            action: |_| Action::RaiseHand,
            allowed: ALL,
            permission: Permission::Participate,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| m.hand_raised), "hand raised")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "react",
            action: |_| Action::React {
                reaction: Reaction::Clap,
            },
            allowed: ALL,
            permission: Permission::Participate,
            check: |_, _, a, ev| {
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Everyone
                            && *e
                                == ServerEvent::Reaction {
                                    participant: a,
                                    reaction: Reaction::Clap,
                                }
                    }),
                    "reaction event",
                )
            },
        },
        Case {
            name: "mute someone's audio",
            action: |c| Action::MuteAudio {
                participant: c.target,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(
                    member_flag(sim, c.target, |m| m.audio_muted),
                    "target muted",
                )?;
                ensure(updated(ev, c.target), "updated event")?;
                ensure(
                    for_member(ev, c.target).contains(&ServerEvent::YouWereMuted { by: a }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "mute everyone else",
            action: |_| Action::MuteAll,
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(
                    member_flag(sim, c.target, |m| m.audio_muted),
                    "target muted",
                )?;
                ensure(
                    for_member(ev, c.target).contains(&ServerEvent::YouWereMuted { by: a }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "stop someone's video",
            action: |c| Action::StopVideo {
                participant: c.target,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(
                    member_flag(sim, c.target, |m| !m.video_on),
                    "target video off",
                )?;
                ensure(updated(ev, c.target), "updated event")?;
                ensure(
                    for_member(ev, c.target).contains(&ServerEvent::YourVideoStopped { by: a }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "ask someone to unmute",
            action: |c| Action::AskUnmute {
                participant: c.muted,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                // Consent: the request alone does not unmute.
                ensure(member_flag(sim, c.muted, |m| m.audio_muted), "still muted")?;
                ensure(
                    ev.as_slice()
                        == [(
                            Recipient::One(c.muted),
                            ServerEvent::UnmuteRequested { by: a },
                        )],
                    "only the target is asked",
                )
            },
        },
        Case {
            name: "rename someone",
            action: |c| Action::Rename {
                participant: c.target,
                name: "Renamed".into(),
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(
                    sim.room
                        .member(c.target)
                        .is_some_and(|m| m.display_name == "Renamed"),
                    "renamed",
                )?;
                ensure(updated(ev, c.target), "updated event")?;
                ensure(
                    for_member(ev, c.target).contains(&ServerEvent::YouWereRenamed {
                        by: a,
                        name: "Renamed".into(),
                    }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "remove someone",
            action: |c| Action::Remove {
                participant: c.target,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(!sim.room.is_member(c.target), "target gone")?;
                ensure(
                    for_member(ev, c.target) == [ServerEvent::YouWereRemoved { by: a }],
                    "target told by whom, and nothing else",
                )?;
                ensure(
                    for_member(ev, c.host).contains(&ServerEvent::Left {
                        participant: c.target,
                        reason: LeaveReason::Removed { by: a },
                    }),
                    "others told",
                )
            },
        },
        Case {
            name: "remove everyone else",
            action: |_| Action::RemoveOthers,
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, _| {
                ensure(sim.room.is_member(a), "actor stays")?;
                ensure(!sim.room.is_member(c.target), "target gone")?;
                // A manager cannot remove the host; the host removes everyone.
                ensure(sim.room.len() == if a == c.host { 1 } else { 2 }, "count")
            },
        },
        Case {
            name: "lock screen sharing",
            action: |_| Action::LockSharing { locked: true },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, ev| {
                ensure(sim.room.session_info().share_locked, "locked")?;
                ensure(
                    has(
                        ev,
                        |_, e| matches!(e, ServerEvent::SessionUpdated { session } if session.share_locked),
                    ),
                    "session updated",
                )
            },
        },
        Case {
            name: "lock the session",
            action: |_| Action::LockSession { locked: true },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, ev| {
                ensure(sim.room.session_info().locked, "locked")?;
                ensure(
                    has(
                        ev,
                        |_, e| matches!(e, ServerEvent::SessionUpdated { session } if session.locked),
                    ),
                    "session updated",
                )
            },
        },
        Case {
            name: "deafen oneself",
            action: |_| Action::SetDeaf {
                participant: None,
                deaf: true,
            },
            allowed: ALL,
            permission: Permission::Participate,
            check: |sim, _, a, ev| {
                ensure(member_flag(sim, a, |m| m.deafened), "deafened")?;
                ensure(member_flag(sim, a, |m| m.audio_muted), "and muted")?;
                ensure(updated(ev, a), "updated event")
            },
        },
        Case {
            name: "deafen someone",
            action: |c| Action::SetDeaf {
                participant: Some(c.target),
                deaf: true,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(member_flag(sim, c.target, |m| m.deafened), "deafened")?;
                ensure(
                    member_flag(sim, c.target, |m| m.audio_muted),
                    "microphone muted with it",
                )?;
                ensure(updated(ev, c.target), "updated event")?;
                ensure(
                    for_member(ev, c.target)
                        .contains(&ServerEvent::YourHearingChanged { by: a, deaf: true }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "show raised hands first",
            action: |_| Action::SetHandsFirst { on: true },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, ev| {
                ensure(sim.room.session_info().hands_first, "hands first")?;
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Everyone
                            && matches!(e, ServerEvent::SessionUpdated { session } if session.hands_first)
                    }),
                    "everyone told",
                )
            },
        },
        Case {
            name: "turn the waiting room off",
            action: |_| Action::SetWaitingRoom { on: false },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, a, ev| {
                ensure(!sim.room.session_info().waiting_room, "off")?;
                ensure(sim.room.lobby().next().is_none(), "everyone waiting let in")?;
                ensure(
                    has(
                        ev,
                        |_, e| matches!(e, ServerEvent::WaiterLeft { exit: LobbyExit::Admitted { by, .. }, .. } if *by == a),
                    ),
                    "hosts told who let them in",
                )
            },
        },
        Case {
            name: "admit from the lobby",
            action: |c| Action::Admit { waiter: c.waiter },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, ev| {
                ensure(sim.room.lobby().next().is_none(), "lobby empty")?;
                ensure(
                    sim.room.members().any(|m| m.display_name == "Waiter"),
                    "a member now",
                )?;
                ensure(
                    has(
                        ev,
                        |_, e| matches!(e, ServerEvent::Joined { member } if member.display_name == "Waiter"),
                    ),
                    "everyone told of the join",
                )
            },
        },
        Case {
            name: "admit everyone from the lobby",
            action: |_| Action::AdmitAll,
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, _| {
                ensure(
                    sim.room.members().any(|m| m.display_name == "Waiter"),
                    "a member now",
                )
            },
        },
        Case {
            name: "deny from the lobby",
            action: |c| Action::Deny { waiter: c.waiter },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(sim.room.lobby().next().is_none(), "lobby empty")?;
                ensure(
                    !sim.room.members().any(|m| m.display_name == "Waiter"),
                    "not a member",
                )?;
                let admins: Vec<ParticipantId> = vec![c.host, c.manager, c.deputy];
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Only(admins.clone())
                            && matches!(e, ServerEvent::WaiterLeft { waiter, exit: LobbyExit::Denied { by } } if *waiter == c.waiter && *by == a)
                    }),
                    "hosts and managers (only) told",
                )
            },
        },
        Case {
            name: "forbid audience chat",
            action: |_| Action::SetAudienceChat { allowed: false },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, _, _| ensure(!sim.room.session_info().audience_chat, "forbidden"),
        },
        Case {
            name: "lower someone's hand",
            action: |c| Action::LowerHand {
                participant: Some(c.target),
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(member_flag(sim, c.target, |m| !m.hand_raised), "lowered")?;
                ensure(
                    for_member(ev, c.target).contains(&ServerEvent::YourHandLowered { by: a }),
                    "target told by whom",
                )
            },
        },
        Case {
            name: "set the room's metadata",
            action: |_| Action::UpdateRoomMetadata {
                change: MetadataChange::merge(topic()),
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, _, a, ev| {
                ensure(*sim.room.metadata() == topic(), "room metadata set")?;
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Everyone
                            && matches!(e, ServerEvent::RoomMetadataUpdated { by, changes }
                                if *by == a && changes.set == topic())
                    }),
                    "everyone told what changed and by whom",
                )
            },
        },
        Case {
            name: "set own metadata",
            action: |_| Action::UpdateMemberMetadata {
                participant: None,
                change: MetadataChange::merge(topic()),
            },
            allowed: ALL,
            permission: Permission::Participate,
            check: |sim, _, a, ev| member_metadata_set(sim, a, a, ev),
        },
        Case {
            name: "set someone's metadata",
            action: |c| Action::UpdateMemberMetadata {
                participant: Some(c.target),
                change: MetadataChange::merge(topic()),
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| member_metadata_set(sim, c.target, a, ev),
        },
        Case {
            name: "spotlight someone",
            action: |c| Action::Spotlight {
                participant: Some(c.target),
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, _, ev| {
                ensure(
                    sim.room.session_info().spotlight == Some(c.target),
                    "spotlit",
                )?;
                ensure(
                    has(ev, |r, e| {
                        *r == Recipient::Everyone && matches!(e, ServerEvent::SessionUpdated { .. })
                    }),
                    "session updated",
                )
            },
        },
        Case {
            name: "promote audience",
            action: |c| Action::PromoteAudience {
                participant: c.listener,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, a, ev| {
                ensure(sim.role(c.listener) == Some(Role::Participant), "promoted")?;
                ensure(
                    for_member(ev, c.listener).contains(&ServerEvent::YourRoleChanged {
                        by: a,
                        role: Role::Participant,
                    }),
                    "told by whom",
                )
            },
        },
        Case {
            name: "demote to audience",
            action: |c| Action::DemoteToAudience {
                participant: c.target,
            },
            allowed: ADMINS,
            permission: Permission::Admin,
            check: |sim, c, _, _| {
                ensure(sim.role(c.target) == Some(Role::Audience), "demoted")?;
                // A demoted member stops publishing.
                ensure(
                    member_flag(sim, c.target, |m| m.audio_muted && !m.video_on),
                    "stopped publishing",
                )
            },
        },
        Case {
            name: "make manager",
            action: |c| Action::MakeManager {
                participant: c.target,
            },
            allowed: HOST,
            permission: Permission::ManageRoles,
            check: |sim, c, _, ev| {
                ensure(sim.role(c.target) == Some(Role::Manager), "manager")?;
                ensure(updated(ev, c.target), "updated event")
            },
        },
        Case {
            name: "revoke manager",
            action: |c| Action::RevokeManager {
                participant: c.deputy,
            },
            allowed: HOST,
            permission: Permission::ManageRoles,
            check: |sim, c, _, _| ensure(sim.role(c.deputy) == Some(Role::Participant), "revoked"),
        },
        Case {
            name: "transfer host",
            action: |c| Action::TransferHost {
                participant: c.target,
            },
            allowed: HOST,
            permission: Permission::TransferHost,
            check: |sim, c, a, _| {
                ensure(sim.role(c.target) == Some(Role::Host), "new host")?;
                ensure(sim.room.host() == Some(c.target), "host tracked")?;
                ensure(
                    sim.role(a) == Some(Role::Participant),
                    "old host steps down",
                )
            },
        },
        Case {
            name: "end the session",
            action: |_| Action::End,
            allowed: HOST,
            permission: Permission::EndSession,
            check: |sim, c, a, ev| {
                ensure(sim.room.is_ended(), "ended")?;
                ensure(
                    for_member(ev, c.audience).contains(&ServerEvent::SessionEnded {
                        reason: EndReason::EndedByHost { by: a },
                    }),
                    "everyone told why",
                )
            },
        },
    ]
}

#[test]
fn every_action_by_every_role() -> TestResult {
    let mut failures = Vec::new();
    for case in cases() {
        for (i, role) in ROLES.iter().enumerate() {
            let (mut sim, cast) = setup()?;
            let who = actor(&cast, *role);
            let before = sim.room.snapshot();
            let result = sim.room.handle(sim.now, who, (case.action)(&cast));
            let events = sim.drain();
            let label = format!("{} as {}", case.name, role.as_str());
            if case.allowed[i] {
                if let Err(e) = result {
                    failures.push(format!("{label}: refused with {e}"));
                    continue;
                }
                if sim.room.snapshot() == before
                    && !events.iter().any(|(_, e)| {
                        matches!(
                            e,
                            ServerEvent::Reaction { .. } | ServerEvent::UnmuteRequested { .. }
                        )
                    })
                {
                    failures.push(format!("{label}: allowed but changed nothing"));
                }
                if let Err(what) = (case.check)(&sim, &cast, who, &events) {
                    failures.push(format!("{label}: {what}"));
                }
            } else {
                match result {
                    Err(RoomError::PermissionDenied(p)) if p == case.permission => {
                        let err = RoomError::PermissionDenied(p);
                        if err.code() != ErrorCode::PermissionDenied
                            || !err.to_string().contains(p.as_str())
                        {
                            failures.push(format!("{label}: error does not name {p}"));
                        }
                    }
                    other => failures.push(format!(
                        "{label}: expected permission_denied({}), got {other:?}",
                        case.permission
                    )),
                }
                if sim.room.snapshot() != before {
                    failures.push(format!("{label}: refused but state changed"));
                }
                if !events.is_empty() {
                    failures.push(format!("{label}: refused but emitted {events:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn every_role_sees_the_stage_and_the_audience_with_everyones_state() -> TestResult {
    let (mut sim, cast) = setup()?;
    for role in ROLES {
        let who = actor(&cast, role);
        // Resuming hands back the same welcome a fresh join gets: the whole roster.
        let key = huddle_proto::ResumeKey(format!("key-{}", who.0));
        let mut req = sim.request("again", None);
        req.resume = Some(huddle_proto::Resume {
            participant_id: who,
            resume_key: key,
        });
        let welcome = sim.join_req(req)?.welcome;
        // The stage and oneself in full, the audience as its first page (all of it here).
        let everyone = sim.room.snapshot().members;
        let stage: Vec<_> = everyone
            .iter()
            .filter(|m| m.role != Role::Audience || m.id == who)
            .cloned()
            .collect();
        assert_eq!(welcome.members, stage, "{role:?}");
        let audience: Vec<_> = everyone
            .iter()
            .filter(|m| m.role == Role::Audience)
            .cloned()
            .collect();
        assert_eq!(welcome.audience.members, audience, "{role:?}");
        assert_eq!(welcome.audience.count, audience.len() as u64);
        assert_eq!(welcome.role, role);
    }
    Ok(())
}

#[test]
fn audience_chat_follows_the_session_setting() -> TestResult {
    let (mut sim, cast) = setup()?;
    sim.room.handle(
        sim.now,
        cast.host,
        Action::SetAudienceChat { allowed: false },
    )?;
    sim.drain();
    let before = sim.room.snapshot();
    let refused = sim.room.handle(
        sim.now,
        cast.audience,
        Action::Chat {
            to: None,
            text: "hi".into(),
        },
    );
    assert_eq!(refused, Err(RoomError::PermissionDenied(Permission::Chat)));
    assert_eq!(sim.room.snapshot(), before);
    // Participants are not affected.
    sim.room.handle(
        sim.now,
        cast.participant,
        Action::Chat {
            to: None,
            text: "hi".into(),
        },
    )?;
    Ok(())
}

/// What an action aims at: nobody, or a member it is a control over, needing a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aim {
    Nobody,
    Control(ParticipantId, Permission),
}

/// Sorts every action. The match has no catch-all arm, so a new action does not compile
/// until it is sorted here (and added to `Action::examples`, which the protocol's round-trip
/// test holds to every action type).
fn aim(action: &Action) -> Aim {
    match action {
        Action::SetAudio { .. }
        | Action::SetVideo { .. }
        | Action::SetSharing { .. }
        | Action::SetTalking { .. }
        // A message to someone is not a control over them.
        | Action::Chat { .. }
        | Action::RaiseHand
        | Action::LowerHand { participant: None }
        | Action::React { .. }
        | Action::MuteAll
        | Action::RemoveOthers
        | Action::LockSharing { .. }
        | Action::LockSession { .. }
        | Action::SetAudienceChat { .. }
        | Action::Spotlight { participant: None }
        | Action::UpdateRoomMetadata { .. }
        | Action::UpdateMemberMetadata {
            participant: None, ..
        }
        | Action::SetDeaf {
            participant: None, ..
        }
        | Action::SetHandsFirst { .. }
        | Action::SetWaitingRoom { .. }
        // Someone in the lobby is not a member yet.
        | Action::Admit { .. }
        | Action::AdmitAll
        | Action::Deny { .. }
        // An invitation to someone is not a control over them.
        | Action::AppOpen { .. }
        | Action::AppClose { .. }
        | Action::AppMessage { .. }
        | Action::AppSetState { .. }
        | Action::AppInvite { .. }
        | Action::Leave
        | Action::End => Aim::Nobody,
        Action::LowerHand {
            participant: Some(p),
        }
        | Action::Spotlight {
            participant: Some(p),
        }
        | Action::UpdateMemberMetadata {
            participant: Some(p),
            ..
        }
        | Action::SetDeaf {
            participant: Some(p),
            ..
        } => Aim::Control(*p, Permission::Admin),
        Action::MuteAudio { participant: p }
        | Action::StopVideo { participant: p }
        | Action::AskUnmute { participant: p }
        | Action::Rename { participant: p, .. }
        | Action::Remove { participant: p }
        | Action::PromoteAudience { participant: p }
        | Action::DemoteToAudience { participant: p } => Aim::Control(*p, Permission::Admin),
        Action::MakeManager { participant: p } | Action::RevokeManager { participant: p } => {
            Aim::Control(*p, Permission::ManageRoles)
        }
        Action::TransferHost { participant: p } => Aim::Control(*p, Permission::TransferHost),
    }
}

/// The host with camera, share and hand up, muted or not: every control a manager might aim
/// at the host would change something in one of the two.
fn setup_with_busy_host(muted: bool) -> Result<(Sim, Cast), Box<dyn std::error::Error>> {
    let (mut sim, cast) = setup()?;
    for action in [
        Action::SetAudio { muted },
        Action::SetVideo { on: true },
        Action::SetSharing { on: true },
        Action::RaiseHand,
    ] {
        sim.room.handle(sim.now, cast.host, action)?;
    }
    sim.drain();
    Ok((sim, cast))
}

#[test]
fn managers_cannot_act_on_the_host() -> TestResult {
    let mut failures = Vec::new();
    let mut controls = 0;
    for muted in [true, false] {
        let (_, cast) = setup_with_busy_host(muted)?;
        for action in Action::examples(cast.host) {
            let (mut sim, cast) = setup_with_busy_host(muted)?;
            let host_before = sim.room.member(cast.host).cloned();
            let before = sim.room.snapshot();
            let result = sim.room.handle(sim.now, cast.manager, action.clone());
            let events = sim.drain();
            let label = format!("{action:?} by a manager, host muted: {muted}");
            match aim(&action) {
                Aim::Control(target, permission) if target == cast.host => {
                    controls += 1;
                    let refused = match permission {
                        Permission::Admin => matches!(result, Err(RoomError::InvalidTarget(_))),
                        p => result == Err(RoomError::PermissionDenied(p)),
                    };
                    if !refused {
                        failures.push(format!("{label}: not refused as expected: {result:?}"));
                    }
                    if let Err(e) = &result {
                        if permission == Permission::Admin && e.code() != ErrorCode::InvalidTarget {
                            failures.push(format!("{label}: wire code {:?}", e.code()));
                        }
                    }
                    if sim.room.snapshot() != before {
                        failures.push(format!("{label}: refused but state changed"));
                    }
                    if !events.is_empty() {
                        failures.push(format!("{label}: refused but emitted {events:?}"));
                    }
                }
                // Whatever else a manager does leaves the host as it was, `mute_all` and
                // `remove_others` included.
                _ => {
                    if sim.room.member(cast.host).cloned() != host_before {
                        failures.push(format!("{label}: the host changed ({result:?})"));
                    }
                    if for_member(&events, cast.host).iter().any(|e| {
                        matches!(
                            e,
                            ServerEvent::YouWereMuted { .. }
                                | ServerEvent::YouWereRemoved { .. }
                                | ServerEvent::YourVideoStopped { .. }
                                | ServerEvent::YourHandLowered { .. }
                                | ServerEvent::UnmuteRequested { .. }
                                | ServerEvent::YouWereRenamed { .. }
                                | ServerEvent::YourRoleChanged { .. }
                                | ServerEvent::YourHearingChanged { .. }
                        )
                    }) {
                        failures.push(format!("{label}: the host was acted on: {events:?}"));
                    }
                }
            }
        }
    }
    // Fourteen controls name a member: eleven need `admin`, three are the host's own.
    assert_eq!(controls, 2 * 14, "controls aimed at the host");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn anyone_may_rename_themselves() -> TestResult {
    let (mut sim, cast) = setup()?;
    sim.room.handle(
        sim.now,
        cast.audience,
        Action::Rename {
            participant: cast.audience,
            name: "  ".into(),
        },
    )?;
    assert_eq!(
        sim.room
            .member(cast.audience)
            .map(|m| m.display_name.as_str()),
        Some("Guest")
    );
    Ok(())
}
