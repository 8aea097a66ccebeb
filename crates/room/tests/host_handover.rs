//! A host who leaves without transferring hands the role on: to the longest-present manager,
//! else the longest-present participant.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{Action, LeaveReason, Role, ServerEvent};
use huddle_room::RoomConfig;

#[test]
fn host_leaving_promotes_the_longest_present_manager() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let participant = sim.join_as("P", Some(Role::Participant))?;
    let first_manager = sim.join_as("M1", Some(Role::Manager))?;
    let second_manager = sim.join_as("M2", Some(Role::Manager))?;
    sim.drain();
    sim.room.handle(sim.now, host, Action::Leave)?;
    assert_eq!(sim.room.host(), Some(first_manager));
    assert_eq!(sim.role(first_manager), Some(Role::Host));
    assert_eq!(sim.role(second_manager), Some(Role::Manager));
    assert_eq!(sim.role(participant), Some(Role::Participant));
    let events = sim.drain();
    assert!(
        for_member(&events, first_manager).contains(&ServerEvent::YourRoleChanged {
            by: host,
            role: Role::Host
        })
    );
    assert!(
        for_member(&events, participant).contains(&ServerEvent::Left {
            participant: host,
            reason: LeaveReason::Left
        })
    );
    Ok(())
}

#[test]
fn without_managers_the_longest_present_participant_becomes_host() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let audience = sim.join_as("A", Some(Role::Audience))?;
    let first = sim.join_as("P1", None)?;
    let second = sim.join_as("P2", None)?;
    sim.room.leave(sim.now, host);
    assert_eq!(sim.room.host(), Some(first));
    assert_eq!(sim.role(second), Some(Role::Participant));
    assert_eq!(sim.role(audience), Some(Role::Audience));
    Ok(())
}

#[test]
fn a_removed_or_timed_out_host_is_replaced_too() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let next = sim.join_as("P", None)?;
    sim.room.disconnect(sim.now, host);
    sim.advance(RoomConfig::default().reconnect_grace);
    assert!(!sim.room.is_member(host));
    assert_eq!(sim.room.host(), Some(next));
    Ok(())
}

#[test]
fn several_host_claims_make_the_later_ones_managers() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let first = sim.join_as("H1", Some(Role::Host))?;
    let second = sim.join_as("H2", Some(Role::Host))?;
    assert_eq!(sim.role(first), Some(Role::Host));
    assert_eq!(sim.role(second), Some(Role::Manager));
    Ok(())
}

#[test]
fn in_open_mode_the_first_joiner_is_host() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let first = sim.join_as("A", None)?;
    let second = sim.join_as("B", None)?;
    assert_eq!(sim.role(first), Some(Role::Host));
    assert_eq!(sim.role(second), Some(Role::Participant));
    Ok(())
}
