//! Unmuting someone needs their consent: a host or manager can only ask, and the member's
//! own unmute completes it. Muting and stopping video tell the member by whom.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{Action, ServerEvent};
use huddle_room::RoomConfig;

#[test]
fn asking_does_not_unmute_and_own_unmute_completes_it() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let mut req = sim.request("Guest", None);
    req.audio_muted = true;
    let guest = sim.join_req(req)?.participant_id;
    sim.drain();

    sim.room
        .handle(sim.now, host, Action::AskUnmute { participant: guest })?;
    let events = sim.drain();
    assert_eq!(
        for_member(&events, guest),
        [ServerEvent::UnmuteRequested { by: host }]
    );
    assert!(for_member(&events, host).is_empty());
    assert!(sim.room.member(guest).is_some_and(|m| m.audio_muted));

    sim.room
        .handle(sim.now, guest, Action::SetAudio { muted: false })?;
    assert!(sim.room.member(guest).is_some_and(|m| !m.audio_muted));
    // Asking an unmuted member is pointless and refused.
    let again = sim
        .room
        .handle(sim.now, host, Action::AskUnmute { participant: guest });
    assert!(again.is_err());
    Ok(())
}

#[test]
fn a_muted_member_learns_by_whom() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let guest = sim.join_as("Guest", None)?;
    sim.room
        .handle(sim.now, guest, Action::SetTalking { talking: true })?;
    sim.drain();
    sim.room
        .handle(sim.now, host, Action::MuteAudio { participant: guest })?;
    let member = sim.room.member(guest).ok_or("guest missing")?;
    assert!(member.audio_muted && !member.talking);
    let events = sim.drain();
    assert!(for_member(&events, guest).contains(&ServerEvent::YouWereMuted { by: host }));
    // Muting again changes nothing and says nothing.
    sim.room
        .handle(sim.now, host, Action::MuteAudio { participant: guest })?;
    assert!(sim.drain().is_empty());
    Ok(())
}
