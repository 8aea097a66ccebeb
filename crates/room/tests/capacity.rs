//! Capacity and the number of publishing members: beyond the first the session is full;
//! beyond the second, joiners take part as audience.

mod common;

use common::{Sim, TestResult};
use huddle_proto::{Action, Role};
use huddle_room::{RoomConfig, RoomError};

#[test]
fn joiners_beyond_the_active_limit_become_audience() -> TestResult {
    let config = RoomConfig {
        max_active: 3,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    let host = sim.join_as("Host", None)?;
    let p1 = sim.join_as("P1", None)?;
    let p2 = sim.join_as("P2", None)?;
    let late = sim.join_as("Late", None)?;
    assert_eq!(sim.role(p1), Some(Role::Participant));
    assert_eq!(sim.role(p2), Some(Role::Participant));
    assert_eq!(sim.role(late), Some(Role::Audience));
    // The audience joins muted with camera off whatever it asked for.
    let member = sim.room.member(late).ok_or("late joiner missing")?;
    assert!(member.audio_muted && !member.video_on);

    // No room to promote until someone publishing leaves.
    let refused = sim
        .room
        .handle(sim.now, host, Action::PromoteAudience { participant: late });
    assert_eq!(refused, Err(RoomError::ActiveLimitReached { max: 3 }));
    sim.room.leave(sim.now, p2);
    sim.room
        .handle(sim.now, host, Action::PromoteAudience { participant: late })?;
    assert_eq!(sim.role(late), Some(Role::Participant));
    Ok(())
}

#[test]
fn a_full_session_refuses_joins() -> TestResult {
    let config = RoomConfig {
        capacity: 2,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    sim.join_as("A", None)?;
    let b = sim.join_as("B", None)?;
    assert_eq!(
        sim.join_as("C", None),
        Err(RoomError::SessionFull { capacity: 2 })
    );
    sim.room.leave(sim.now, b);
    sim.join_as("C", None)?;
    Ok(())
}

#[test]
fn default_capacity_is_five_thousand() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    for i in 0..5_000 {
        sim.join_as(&format!("m{i}"), None)?;
    }
    sim.drain();
    assert_eq!(sim.room.len(), 5_000);
    assert!(matches!(
        sim.join_as("one too many", None),
        Err(RoomError::SessionFull { capacity: 5_000 })
    ));
    let audience = sim
        .room
        .members()
        .filter(|m| m.role == Role::Audience)
        .count();
    assert_eq!(audience, 5_000 - RoomConfig::default().max_active);
    Ok(())
}
