//! The waiting room: who waits, who skips it, admitting, denying, giving up, limits, and
//! what hosts and managers are told.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::limits::MAX_LOBBY;
use huddle_proto::{Action, ErrorCode, LobbyExit, Resume, Role, ServerEvent, WaiterId};
use huddle_room::{Admission, LobbyOutcome, Recipient, RoomConfig, RoomError};

/// A session with a host and a participant, the waiting room on.
fn session() -> Result<(Sim, huddle_proto::ParticipantId), Box<dyn std::error::Error>> {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    sim.join_as("Pat", None)?;
    sim.room
        .handle(sim.now, host, Action::SetWaitingRoom { on: true })?;
    sim.drain();
    Ok((sim, host))
}

fn knock(sim: &mut Sim, name: &str, role: Option<Role>) -> Result<WaiterId, RoomError> {
    let req = sim.request(name, role);
    match sim.room.join(sim.now, req)? {
        Admission::Waiting(id) => Ok(id),
        Admission::Joined(_) => Err(RoomError::InvalidState("joined without waiting")),
    }
}

#[test]
fn joiners_wait_and_hosts_and_managers_alone_are_told() -> TestResult {
    let (mut sim, host) = session()?;
    let manager = sim.join_as("Manny", Some(Role::Manager))?;
    sim.drain();
    let before = sim.room.members().count();
    let wait = knock(&mut sim, "Wendy", None)?;
    assert_eq!(sim.room.members().count(), before, "not a member yet");
    let events = sim.drain();
    assert_eq!(events.len(), 1, "{events:?}");
    let (to, event) = &events[0];
    assert_eq!(*to, Recipient::Only(vec![host, manager]));
    assert!(
        matches!(event, ServerEvent::WaiterJoined { waiter } if waiter.id == wait && waiter.display_name == "Wendy")
    );
    // The lobby is in the welcome of a host or manager, not of anyone else.
    let req = sim.request("Manny two", Some(Role::Manager));
    let m2 = sim.join_req(req)?;
    assert_eq!(m2.welcome.lobby.len(), 1);
    sim.room
        .handle(sim.now, host, Action::Admit { waiter: wait })?;
    match sim.room.poll_lobby() {
        Some(LobbyOutcome::Admitted { outcome, .. }) => assert!(outcome.welcome.lobby.is_empty()),
        other => return Err(format!("not admitted: {other:?}").into()),
    }
    Ok(())
}

#[test]
fn the_creator_hosts_managers_and_resumes_skip_the_lobby() -> TestResult {
    let (mut sim, host) = session()?;
    let keyed = sim.request("Returning", None);
    // A resume skips it: turn the room off to join once, on again, then drop and resume.
    sim.room
        .handle(sim.now, host, Action::SetWaitingRoom { on: false })?;
    let first = sim.join_req(keyed.clone())?;
    sim.room
        .handle(sim.now, host, Action::SetWaitingRoom { on: true })?;
    sim.room.disconnect(sim.now, first.participant_id);
    let mut again = sim.request("Returning", None);
    again.resume = Some(Resume {
        participant_id: first.participant_id,
        resume_key: keyed.resume_key.clone(),
    });
    assert!(sim.join_req(again)?.resumed);
    // Tokens that make someone host or manager skip it.
    let boss = sim.request("Boss", Some(Role::Host));
    assert!(sim.join_req(boss).is_ok());
    let manager_req = sim.request("Deputy", Some(Role::Manager));
    assert!(sim.join_req(manager_req).is_ok());
    // Participants and audience wait.
    knock(&mut sim, "P", Some(Role::Participant))?;
    knock(&mut sim, "A", Some(Role::Audience))?;
    knock(&mut sim, "Open", None)?;
    assert_eq!(sim.room.lobby().count(), 3);
    Ok(())
}

#[test]
fn admitting_makes_a_member_and_hands_the_welcome_to_the_waiting_connection() -> TestResult {
    let (mut sim, host) = session()?;
    let wait = knock(&mut sim, "Wendy", None)?;
    sim.drain();
    sim.room
        .handle(sim.now, host, Action::Admit { waiter: wait })?;
    let events = sim.drain();
    let outcome = sim.room.poll_lobby().ok_or("no lobby outcome")?;
    let LobbyOutcome::Admitted { waiter, outcome } = outcome else {
        return Err(format!("not admitted: {outcome:?}").into());
    };
    assert_eq!(waiter, wait);
    let id = outcome.participant_id;
    assert_eq!(outcome.welcome.participant_id, id);
    assert!(outcome.welcome.members.iter().any(|m| m.id == id));
    assert!(sim.room.is_member(id));
    assert!(sim.room.lobby().next().is_none());
    assert!(for_member(&events, host).iter().any(|e| matches!(
        e,
        ServerEvent::WaiterLeft { waiter, exit: LobbyExit::Admitted { by, participant } }
            if *waiter == wait && *by == host && *participant == id
    )));
    assert!(for_member(&events, host)
        .iter()
        .any(|e| matches!(e, ServerEvent::Joined { member } if member.id == id)));
    // Admitting again: nobody waits with that id.
    let again = sim
        .room
        .handle(sim.now, host, Action::Admit { waiter: wait });
    assert_eq!(again, Err(RoomError::NotWaiting(wait)));
    assert_eq!(RoomError::NotWaiting(wait).code(), ErrorCode::NotWaiting);
    Ok(())
}

#[test]
fn denying_tells_the_joiner_and_the_hosts() -> TestResult {
    let (mut sim, host) = session()?;
    let wait = knock(&mut sim, "Mallory", None)?;
    sim.drain();
    sim.room
        .handle(sim.now, host, Action::Deny { waiter: wait })?;
    let events = sim.drain();
    assert_eq!(
        sim.room.poll_lobby(),
        Some(LobbyOutcome::TurnedAway {
            waiter: wait,
            reason: RoomError::Denied
        })
    );
    assert_eq!(RoomError::Denied.code(), ErrorCode::Denied);
    assert!(RoomError::Denied.to_string().contains("did not let you in"));
    assert!(events.iter().any(|(_, e)| matches!(
        e,
        ServerEvent::WaiterLeft { exit: LobbyExit::Denied { by }, .. } if *by == host
    )));
    assert!(!sim.room.members().any(|m| m.display_name == "Mallory"));
    Ok(())
}

#[test]
fn giving_up_leaves_the_lobby_quietly_for_the_joiner() -> TestResult {
    let (mut sim, host) = session()?;
    let wait = knock(&mut sim, "Impatient", None)?;
    sim.drain();
    sim.room.leave_lobby(wait);
    let events = sim.drain();
    assert_eq!(
        events,
        vec![(
            Recipient::Only(vec![host]),
            ServerEvent::WaiterLeft {
                waiter: wait,
                exit: LobbyExit::Left
            }
        )]
    );
    assert_eq!(sim.room.poll_lobby(), None, "nobody to tell");
    // Twice, or an unknown id: nothing.
    sim.room.leave_lobby(wait);
    sim.room.leave_lobby(WaiterId(77));
    assert!(sim.drain().is_empty());
    Ok(())
}

#[test]
fn turning_the_waiting_room_off_lets_everyone_in_as_far_as_the_session_has_room() -> TestResult {
    let mut sim = Sim::new(RoomConfig {
        capacity: 4,
        ..RoomConfig::default()
    })?;
    let host = sim.join_as("Host", None)?;
    sim.join_as("Pat", None)?;
    sim.room
        .handle(sim.now, host, Action::SetWaitingRoom { on: true })?;
    let a = knock(&mut sim, "A", None)?;
    let b = knock(&mut sim, "B", None)?;
    let c = knock(&mut sim, "C", None)?;
    sim.drain();
    // One at a time: a full session refuses the admit, and the waiter keeps waiting.
    sim.room
        .handle(sim.now, host, Action::Admit { waiter: a })?;
    sim.room
        .handle(sim.now, host, Action::Admit { waiter: b })?;
    let full = sim.room.handle(sim.now, host, Action::Admit { waiter: c });
    assert_eq!(full, Err(RoomError::SessionFull { capacity: 4 }));
    assert_eq!(sim.room.lobby().map(|w| w.id).collect::<Vec<_>>(), vec![c]);
    sim.room
        .handle(sim.now, host, Action::SetWaitingRoom { on: false })?;
    let outcomes: Vec<LobbyOutcome> = std::iter::from_fn(|| sim.room.poll_lobby()).collect();
    assert!(matches!(
        outcomes.last(),
        Some(LobbyOutcome::TurnedAway { waiter, reason: RoomError::SessionFull { .. } }) if *waiter == c
    ));
    assert!(sim.room.lobby().next().is_none());
    assert!(!sim.room.session_info().waiting_room);
    Ok(())
}

#[test]
fn admit_all_takes_everyone_oldest_first() -> TestResult {
    let (mut sim, host) = session()?;
    let ids: Vec<WaiterId> = (0..5)
        .map(|i| knock(&mut sim, &format!("W{i}"), None))
        .collect::<Result<_, _>>()?;
    sim.room.handle(sim.now, host, Action::AdmitAll)?;
    let admitted: Vec<WaiterId> = std::iter::from_fn(|| sim.room.poll_lobby())
        .filter_map(|o| match o {
            LobbyOutcome::Admitted { waiter, .. } => Some(waiter),
            LobbyOutcome::TurnedAway { .. } => None,
        })
        .collect();
    assert_eq!(admitted, ids);
    assert!(
        sim.room.session_info().waiting_room,
        "still on for later joiners"
    );
    Ok(())
}

#[test]
fn the_lobby_is_bounded_and_a_locked_session_takes_nobody_into_it() -> TestResult {
    let (mut sim, host) = session()?;
    for i in 0..MAX_LOBBY {
        knock(&mut sim, &format!("W{i}"), None)?;
    }
    let over = sim.request("One too many", None);
    assert_eq!(
        sim.room.join(sim.now, over).err(),
        Some(RoomError::LobbyFull { max: MAX_LOBBY })
    );
    assert_eq!(RoomError::LobbyFull { max: 1 }.code(), ErrorCode::LobbyFull);
    sim.room
        .handle(sim.now, host, Action::LockSession { locked: true })?;
    sim.room.handle(sim.now, host, Action::AdmitAll)?;
    let locked = sim.request("Locked out", None);
    assert_eq!(
        sim.room.join(sim.now, locked).err(),
        Some(RoomError::SessionLocked)
    );
    Ok(())
}

#[test]
fn a_session_ending_turns_the_lobby_away() -> TestResult {
    let (mut sim, host) = session()?;
    let wait = knock(&mut sim, "Too late", None)?;
    sim.room.handle(sim.now, host, Action::End)?;
    assert_eq!(
        sim.room.poll_lobby(),
        Some(LobbyOutcome::TurnedAway {
            waiter: wait,
            reason: RoomError::Ended
        })
    );
    Ok(())
}

#[test]
fn a_new_manager_learns_the_lobby_from_its_resync() -> TestResult {
    let (mut sim, host) = session()?;
    let pat = sim
        .room
        .members()
        .find(|m| m.display_name == "Pat")
        .map(|m| m.id);
    let pat = pat.ok_or("no Pat")?;
    knock(&mut sim, "Wendy", None)?;
    assert!(sim.room.resync(pat).ok_or("no resync")?.lobby.is_empty());
    sim.room
        .handle(sim.now, host, Action::MakeManager { participant: pat })?;
    assert_eq!(sim.room.resync(pat).ok_or("no resync")?.lobby.len(), 1);
    Ok(())
}

#[test]
fn deafening_mutes_and_only_admins_do_it_to_others() -> TestResult {
    let (mut sim, host) = session()?;
    let pat = sim
        .room
        .members()
        .find(|m| m.display_name == "Pat")
        .map(|m| m.id)
        .ok_or("no Pat")?;
    sim.room
        .handle(sim.now, pat, Action::SetAudio { muted: false })?;
    sim.room.handle(
        sim.now,
        pat,
        Action::SetDeaf {
            participant: None,
            deaf: true,
        },
    )?;
    let me = sim.room.member(pat).ok_or("gone")?;
    assert!(me.deafened && me.audio_muted);
    // Hearing again leaves the microphone muted: unmuting is the member's own choice.
    sim.room.handle(
        sim.now,
        host,
        Action::SetDeaf {
            participant: Some(pat),
            deaf: false,
        },
    )?;
    let me = sim.room.member(pat).ok_or("gone")?;
    assert!(!me.deafened && me.audio_muted);
    let events = sim.drain();
    assert!(
        for_member(&events, pat).contains(&ServerEvent::YourHearingChanged {
            by: host,
            deaf: false
        })
    );
    // A participant may not deafen the host.
    let refused = sim.room.handle(
        sim.now,
        pat,
        Action::SetDeaf {
            participant: Some(host),
            deaf: true,
        },
    );
    assert!(matches!(refused, Err(RoomError::PermissionDenied(_))));
    Ok(())
}
