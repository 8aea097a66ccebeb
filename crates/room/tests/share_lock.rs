//! Locking screen sharing to host and managers stops a participant's share and refuses new
//! ones, naming the missing permission; demotion stops publishing.

mod common;

use common::{Sim, TestResult};
use huddle_proto::{Action, Role};
use huddle_room::{Permission, RoomConfig, RoomError};

#[test]
fn lock_stops_and_refuses_participant_shares() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let guest = sim.join_as("Guest", None)?;
    sim.room
        .handle(sim.now, guest, Action::SetSharing { on: true })?;
    sim.room
        .handle(sim.now, host, Action::SetSharing { on: true })?;
    sim.room
        .handle(sim.now, host, Action::LockSharing { locked: true })?;
    assert!(sim.room.member(guest).is_some_and(|m| !m.sharing));
    assert!(sim.room.member(host).is_some_and(|m| m.sharing));
    let refused = sim
        .room
        .handle(sim.now, guest, Action::SetSharing { on: true });
    assert_eq!(
        refused,
        Err(RoomError::PermissionDenied(Permission::ShareScreen))
    );
    sim.room
        .handle(sim.now, host, Action::LockSharing { locked: false })?;
    sim.room
        .handle(sim.now, guest, Action::SetSharing { on: true })?;
    Ok(())
}

#[test]
fn demotion_stops_publishing_and_promotion_allows_it_again() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let mut req = sim.request("Guest", None);
    req.video_on = true;
    let guest = sim.join_req(req)?.participant_id;
    sim.room
        .handle(sim.now, guest, Action::SetSharing { on: true })?;
    sim.room.handle(
        sim.now,
        host,
        Action::DemoteToAudience { participant: guest },
    )?;
    let m = sim.room.member(guest).ok_or("guest missing")?;
    assert_eq!(m.role, Role::Audience);
    assert!(m.audio_muted && !m.video_on && !m.sharing);
    assert_eq!(
        sim.room
            .handle(sim.now, guest, Action::SetAudio { muted: false }),
        Err(RoomError::PermissionDenied(Permission::Publish))
    );
    sim.room.handle(
        sim.now,
        host,
        Action::PromoteAudience { participant: guest },
    )?;
    sim.room
        .handle(sim.now, guest, Action::SetAudio { muted: false })?;
    Ok(())
}
