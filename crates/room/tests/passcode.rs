//! The first joiner's passcode protects the session; a missing or wrong one is refused with
//! its own error.

mod common;

use common::{Sim, TestResult};
use huddle_proto::ErrorCode;
use huddle_room::{RoomConfig, RoomError};

#[test]
fn passcode_set_by_the_creator_is_required() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let req = Sim::with_passcode(sim.request("Host", None), "s3cret")?;
    sim.join_req(req)?;
    assert!(sim.room.session_info().passcode_protected);

    let none = sim.join_as("A", None);
    assert_eq!(none, Err(RoomError::PasscodeRequired));
    let wrong = Sim::with_passcode(sim.request("A", None), "S3CRET")?;
    let wrong = sim.join_req(wrong);
    assert_eq!(
        wrong.as_ref().err().map(RoomError::code),
        Some(ErrorCode::WrongPasscode)
    );
    assert_eq!(sim.room.len(), 1);

    let right = Sim::with_passcode(sim.request("A", None), "s3cret")?;
    sim.join_req(right)?;
    assert_eq!(sim.room.len(), 2);
    Ok(())
}

#[test]
fn without_a_creator_passcode_a_later_one_is_ignored() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    sim.join_as("Host", None)?;
    let req = Sim::with_passcode(sim.request("A", None), "x")?;
    sim.join_req(req)?;
    assert!(!sim.room.session_info().passcode_protected);
    sim.join_as("B", None)?;
    Ok(())
}
