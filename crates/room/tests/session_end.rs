//! The session ends when the last member leaves, or when the host ends it for everyone.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{Action, EndReason, ServerEvent};
use huddle_room::{RoomConfig, RoomError};

#[test]
fn last_one_leaving_ends_the_session() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let a = sim.join_as("A", None)?;
    let b = sim.join_as("B", None)?;
    sim.room.leave(sim.now, a);
    assert!(!sim.room.is_ended());
    sim.room.handle(sim.now, b, Action::Leave)?;
    assert!(sim.room.is_ended());
    assert!(sim.room.is_empty());
    let late = sim.join_as("C", None);
    assert_eq!(late, Err(RoomError::Ended));
    Ok(())
}

#[test]
fn host_ending_tells_everyone_why() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let guests = [sim.join_as("A", None)?, sim.join_as("B", None)?];
    sim.drain();
    sim.room.handle(sim.now, host, Action::End)?;
    let events = sim.drain();
    for guest in guests {
        assert_eq!(
            for_member(&events, guest),
            [ServerEvent::SessionEnded {
                reason: EndReason::EndedByHost { by: host }
            }]
        );
    }
    assert!(sim.room.is_ended());
    assert_eq!(
        sim.room.handle(sim.now, guests[0], Action::RaiseHand),
        Err(RoomError::Ended)
    );
    assert_eq!(sim.room.poll_timeout(), None);
    Ok(())
}
