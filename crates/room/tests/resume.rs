//! A dropped member is `reconnecting` for the grace period; resuming within it restores the
//! same identity, role and state, after it the member is gone.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{
    Action, ConnectionState, LeaveReason, MemberUpdate, ParticipantId, Resume, ResumeKey, Role,
    ServerEvent, Welcome,
};
use huddle_room::{RoomConfig, RoomError};
use std::time::Duration;

fn resume_req(sim: &mut Sim, welcome: &Welcome) -> huddle_room::JoinRequest {
    let mut req = sim.request("ignored on resume", None);
    req.resume = Some(Resume {
        participant_id: welcome.participant_id,
        resume_key: welcome.resume_key.clone(),
    });
    req
}

fn setup() -> Result<(Sim, ParticipantId, Welcome), Box<dyn std::error::Error>> {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", None)?;
    let req = sim.request("Manager", Some(Role::Manager));
    let welcome = sim.join_req(req)?.welcome;
    let me = welcome.participant_id;
    sim.room
        .handle(sim.now, me, Action::SetVideo { on: true })?;
    sim.room.handle(sim.now, me, Action::RaiseHand)?;
    sim.room.handle(
        sim.now,
        me,
        Action::Chat {
            to: Some(host),
            text: "private".into(),
        },
    )?;
    sim.drain();
    Ok((sim, host, welcome))
}

#[test]
fn resume_within_grace_keeps_identity_role_and_state() -> TestResult {
    let (mut sim, host, welcome) = setup()?;
    let me = welcome.participant_id;
    let before = sim.room.member(me).cloned().ok_or("missing")?;

    sim.room.disconnect(sim.now, me);
    let events = sim.drain();
    assert_eq!(
        for_member(&events, host),
        [ServerEvent::Updated {
            participant: me,
            changes: MemberUpdate {
                connection: Some(ConnectionState::Reconnecting),
                ..MemberUpdate::default()
            }
        }]
    );
    sim.advance(Duration::from_secs(29));
    assert!(sim.room.is_member(me));

    let req = resume_req(&mut sim, &welcome);
    let back = sim.join_req(req)?;
    assert!(back.resumed && back.welcome.resumed);
    assert_eq!(back.participant_id, me);
    assert_eq!(back.welcome.role, Role::Manager);
    assert_eq!(sim.room.member(me), Some(&before));
    // The private chat is handed back.
    assert_eq!(back.welcome.chat.len(), 1);
    // The key rotates: the old one no longer works.
    assert_ne!(back.welcome.resume_key, welcome.resume_key);
    let events = sim.drain();
    assert!(for_member(&events, host).contains(&ServerEvent::Updated {
        participant: me,
        changes: MemberUpdate {
            connection: Some(ConnectionState::Present),
            ..MemberUpdate::default()
        }
    }));
    // The grace timer is gone: nothing happens when it would have fired.
    sim.advance(Duration::from_secs(60));
    assert!(sim.room.is_member(me));
    Ok(())
}

#[test]
fn after_the_grace_the_member_is_gone_and_resume_fails() -> TestResult {
    let (mut sim, host, welcome) = setup()?;
    let me = welcome.participant_id;
    sim.room.disconnect(sim.now, me);
    assert_eq!(
        sim.room.poll_timeout(),
        Some(sim.now + Duration::from_secs(30))
    );
    sim.drain();
    sim.advance(Duration::from_secs(30));
    assert!(!sim.room.is_member(me));
    let events = sim.drain();
    assert!(for_member(&events, host).contains(&ServerEvent::Left {
        participant: me,
        reason: LeaveReason::ConnectionLost
    }));
    let req = resume_req(&mut sim, &welcome);
    assert_eq!(sim.join_req(req), Err(RoomError::ResumeFailed));
    Ok(())
}

#[test]
fn a_wrong_key_fails_and_changes_nothing() -> TestResult {
    let (mut sim, _, welcome) = setup()?;
    sim.room.disconnect(sim.now, welcome.participant_id);
    let before = sim.room.snapshot();
    let mut req = resume_req(&mut sim, &welcome);
    req.resume = Some(Resume {
        participant_id: welcome.participant_id,
        resume_key: ResumeKey("guess".into()),
    });
    assert_eq!(sim.join_req(req), Err(RoomError::ResumeFailed));
    assert_eq!(sim.room.snapshot(), before);
    Ok(())
}
