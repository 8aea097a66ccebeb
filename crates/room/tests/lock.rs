//! A locked session refuses new joins but lets dropped members back in.

mod common;

use common::{Sim, TestResult};
use huddle_proto::{Action, ErrorCode, Resume};
use huddle_room::{RoomConfig, RoomError};

#[test]
fn locked_session_refuses_joins_until_unlocked() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    sim.room
        .handle(sim.now, host, Action::LockSession { locked: true })?;
    let refused = sim.join_as("Late", None);
    assert_eq!(refused, Err(RoomError::SessionLocked));
    assert_eq!(RoomError::SessionLocked.code(), ErrorCode::SessionLocked);
    assert_eq!(sim.room.len(), 1);
    sim.room
        .handle(sim.now, host, Action::LockSession { locked: false })?;
    sim.join_as("Late", None)?;
    assert_eq!(sim.room.len(), 2);
    Ok(())
}

#[test]
fn resume_still_works_while_locked() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let req = sim.request("Guest", None);
    let guest = sim.join_req(req)?.welcome;
    sim.room
        .handle(sim.now, host, Action::LockSession { locked: true })?;
    sim.room.disconnect(sim.now, guest.participant_id);
    let mut again = sim.request("Guest", None);
    again.resume = Some(Resume {
        participant_id: guest.participant_id,
        resume_key: guest.resume_key,
    });
    let back = sim.join_req(again)?;
    assert!(back.resumed);
    Ok(())
}
