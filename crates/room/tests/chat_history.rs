//! Chat sequence numbers are per session and shared by public and private messages, so a
//! member can detect gaps and refill them with the messages addressed to it.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::{Action, ChatSeq, ServerEvent};
use huddle_room::RoomConfig;

fn say(
    sim: &mut Sim,
    from: huddle_proto::ParticipantId,
    to: Option<huddle_proto::ParticipantId>,
    text: &str,
) -> TestResult {
    sim.room.handle(
        sim.now,
        from,
        Action::Chat {
            to,
            text: text.into(),
        },
    )?;
    Ok(())
}

#[test]
fn seqs_are_shared_and_gaps_refill_with_what_was_addressed_to_me() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let a = sim.join_as("A", None)?;
    let b = sim.join_as("B", None)?;
    let c = sim.join_as("C", None)?;
    sim.drain();
    say(&mut sim, a, None, "one")?; // 1, everyone
    say(&mut sim, a, Some(b), "two")?; // 2, a and b only
    say(&mut sim, b, None, "three")?; // 3, everyone
    let events = sim.drain();
    let seqs_seen_by_c: Vec<u64> = for_member(&events, c)
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Chat { message } => Some(message.seq.0),
            _ => None,
        })
        .collect();
    assert_eq!(seqs_seen_by_c, [1, 3]);

    // b missed everything after 1 (say, a dropped frame): it asks for what follows.
    let (refill, complete) = sim.room.chat_history(b, ChatSeq(1))?;
    assert_eq!(refill.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [2, 3]);
    assert!(complete);
    let (refill, _) = sim.room.chat_history(c, ChatSeq(0))?;
    assert_eq!(
        refill.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["one", "three"]
    );
    Ok(())
}

#[test]
fn bounded_history_says_when_a_refill_is_incomplete() -> TestResult {
    let config = RoomConfig {
        chat_history: 5,
        ..RoomConfig::default()
    };
    let mut sim = Sim::new(config)?;
    let a = sim.join_as("A", None)?;
    for i in 0..8 {
        say(&mut sim, a, None, &format!("m{i}"))?;
    }
    let (kept, complete) = sim.room.chat_history(a, ChatSeq(0))?;
    assert_eq!(
        kept.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        [4, 5, 6, 7, 8]
    );
    assert!(!complete);
    let (kept, complete) = sim.room.chat_history(a, ChatSeq(3))?;
    assert_eq!(kept.len(), 5);
    assert!(complete);
    Ok(())
}

#[test]
fn invalid_chat_text_is_refused_and_uses_no_seq() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let a = sim.join_as("A", None)?;
    let empty = sim.room.handle(
        sim.now,
        a,
        Action::Chat {
            to: None,
            text: "  ".into(),
        },
    );
    assert_eq!(
        empty.map_err(|e| e.code()),
        Err(huddle_proto::ErrorCode::ChatEmpty)
    );
    let long = sim.room.handle(
        sim.now,
        a,
        Action::Chat {
            to: None,
            text: "x".repeat(4_001),
        },
    );
    assert_eq!(
        long.map_err(|e| e.code()),
        Err(huddle_proto::ErrorCode::ChatTooLong)
    );
    say(&mut sim, a, None, "ok")?;
    let (all, _) = sim.room.chat_history(a, ChatSeq(0))?;
    assert_eq!(all.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [1]);
    Ok(())
}
