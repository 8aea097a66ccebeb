//! A private message reaches only its sender and recipient, now and in any refill.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{Action, ChatSeq, ParticipantId, ServerEvent};
use huddle_room::{RoomConfig, RoomError};

#[test]
fn private_chat_is_delivered_only_to_its_two_ends() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let a = sim.join_as("A", None)?;
    let b = sim.join_as("B", None)?;
    let c = sim.join_as("C", None)?;
    sim.drain();
    sim.room.handle(
        sim.now,
        a,
        Action::Chat {
            to: Some(b),
            text: "secret".into(),
        },
    )?;
    let events = sim.drain();
    let is_chat = |e: &ServerEvent| matches!(e, ServerEvent::Chat { .. });
    assert_eq!(
        for_member(&events, a).iter().filter(|e| is_chat(e)).count(),
        1
    );
    assert_eq!(
        for_member(&events, b).iter().filter(|e| is_chat(e)).count(),
        1
    );
    assert!(for_member(&events, c).is_empty());
    assert!(sim.room.chat_history(c, ChatSeq(0))?.0.is_empty());
    assert_eq!(sim.room.chat_history(b, ChatSeq(0))?.0.len(), 1);

    // A later joiner sees no private message in its welcome either.
    let req = sim.request("D", None);
    let welcome = sim.join_req(req)?.welcome;
    assert!(welcome.chat.is_empty());
    Ok(())
}

#[test]
fn private_chat_to_nobody_or_oneself_is_refused() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let a = sim.join_as("A", None)?;
    let ghost = ParticipantId(99);
    let err = sim.room.handle(
        sim.now,
        a,
        Action::Chat {
            to: Some(ghost),
            text: "hi".into(),
        },
    );
    assert_eq!(err, Err(RoomError::NotFound(ghost)));
    let err = sim.room.handle(
        sim.now,
        a,
        Action::Chat {
            to: Some(a),
            text: "hi".into(),
        },
    );
    assert!(matches!(err, Err(RoomError::InvalidTarget(_))));
    assert!(sim.room.snapshot().chat.is_empty());
    Ok(())
}
