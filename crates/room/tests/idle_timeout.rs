//! A host alone for the idle timeout ends the session; company stops the timer.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{EndReason, ServerEvent};
use huddle_room::RoomConfig;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

#[test]
fn lone_host_ends_after_the_default_forty_minutes() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    sim.drain();
    assert_eq!(sim.room.poll_timeout(), Some(sim.now + 40 * MIN));
    sim.advance(40 * MIN - Duration::from_secs(1));
    assert!(!sim.room.is_ended());
    sim.advance(Duration::from_secs(1));
    assert!(sim.room.is_ended());
    let events = sim.drain();
    assert_eq!(
        for_member(&events, host),
        [ServerEvent::SessionEnded {
            reason: EndReason::IdleTimeout
        }]
    );
    assert_eq!(sim.room.poll_timeout(), None);
    Ok(())
}

#[test]
fn the_hosts_join_can_choose_the_timeout() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let mut req = sim.request("Host", None);
    req.idle_timeout = Some(5 * MIN);
    sim.join_req(req)?;
    sim.advance(5 * MIN);
    assert!(sim.room.is_ended());
    Ok(())
}

#[test]
fn company_stops_the_timer_and_leaving_restarts_it() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    sim.join_as("Host", None)?;
    sim.advance(30 * MIN);
    let guest = sim.join_as("Guest", None)?;
    assert_eq!(sim.room.poll_timeout(), None);
    sim.advance(60 * MIN);
    assert!(!sim.room.is_ended());
    sim.room.leave(sim.now, guest);
    // A fresh 40 minutes from the moment the host is alone again.
    assert_eq!(sim.room.poll_timeout(), Some(sim.now + 40 * MIN));
    sim.advance(39 * MIN);
    assert!(!sim.room.is_ended());
    sim.advance(MIN);
    assert!(sim.room.is_ended());
    Ok(())
}

#[test]
fn a_lone_participant_is_not_timed_out() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    sim.join_as("Only", Some(huddle_proto::Role::Participant))?;
    assert_eq!(sim.room.poll_timeout(), None);
    sim.advance(120 * MIN);
    assert!(!sim.room.is_ended());
    Ok(())
}

#[test]
fn absurd_timeouts_are_clamped_not_a_crash() -> TestResult {
    let config = RoomConfig {
        reconnect_grace: Duration::MAX,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    let mut req = sim.request("Host", None);
    req.idle_timeout = Some(Duration::MAX);
    let host = sim.join_req(req)?.participant_id;
    // At most one day, however long the join asked for.
    assert_eq!(
        sim.room.poll_timeout(),
        Some(sim.now + Duration::from_secs(24 * 3600))
    );
    sim.room.disconnect(sim.now, host);
    sim.advance(Duration::from_secs(24 * 3600));
    assert!(sim.room.is_ended());
    Ok(())
}
