//! Sessions of thousands: the welcome stays small, the audience is read page by page, roster
//! changes fold into few batches, and bad page requests get clear errors.

mod common;

use common::{Sim, TestResult};
use huddle_proto::limits::{MAX_ROSTER_PAGE, WELCOME_AUDIENCE_PAGE};
use huddle_proto::{
    encode, Action, ErrorCode, LeaveReason, MemberUpdate, ParticipantId, Role, ServerEvent,
    ServerMessage,
};
use huddle_room::{RoomConfig, RoomError, RosterBatcher, View};

fn config(instance: u64) -> RoomConfig {
    RoomConfig {
        max_active: 50,
        instance,
        ..RoomConfig::default()
    }
}

/// A room of `n` members: a host, 49 participants, the rest audience (the default join
/// turns participants into audience past `max_active`).
fn crowd(n: usize, instance: u64) -> Result<(Sim, Vec<ParticipantId>), Box<dyn std::error::Error>> {
    let mut sim = Sim::new(config(instance))?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(sim.join_as(&format!("member {i:04}"), None)?);
    }
    sim.drain();
    Ok((sim, ids))
}

#[test]
fn the_welcome_of_the_5000th_member_is_small() -> TestResult {
    let (mut sim, _) = crowd(4_999, 1)?;
    let req = sim.request("the last one, with a name of some length", None);
    let outcome = sim.join_req(req)?;
    let welcome = outcome.welcome;
    assert_eq!(welcome.role, Role::Audience);
    // The stage (50) and the newcomer in full, the audience as a count and a first page.
    assert_eq!(welcome.members.len(), 51);
    assert_eq!(welcome.audience.count, 4_950);
    assert_eq!(welcome.audience.members.len(), WELCOME_AUDIENCE_PAGE);
    assert!(welcome.audience.next.is_some());
    let bytes = encode(&ServerMessage::Welcome(welcome))?.len();
    assert!(bytes <= 64 * 1024, "welcome of {bytes} bytes");
    Ok(())
}

#[test]
fn the_whole_audience_is_read_page_by_page_in_join_order() -> TestResult {
    let (sim, ids) = crowd(1_234, 7)?;
    let host = ids[0];
    let audience: Vec<ParticipantId> = ids[50..].to_vec();
    let mut read = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, _) = sim.room.roster_page(host, after.as_deref(), 100, None)?;
        assert_eq!(page.count, audience.len() as u64);
        assert!(page.members.len() <= 100);
        assert!(page.members.iter().all(|m| m.role == Role::Audience));
        read.extend(page.members.iter().map(|m| m.id));
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(read, audience);
    assert_eq!(pages, 12);
    Ok(())
}

#[test]
fn a_search_finds_audience_members_by_name_ignoring_case() -> TestResult {
    let (sim, ids) = crowd(600, 3)?;
    let (page, _) = sim.room.roster_page(ids[5], None, 500, Some("MEMBER 05"))?;
    // "member 0500" .. "member 0599", all in the audience.
    assert_eq!(page.count, 100);
    assert_eq!(page.members.len(), 100);
    assert!(page.next.is_none());
    assert!(page
        .members
        .iter()
        .all(|m| m.display_name.starts_with("member 05")));
    let (none, _) = sim.room.roster_page(ids[5], None, 10, Some("nobody"))?;
    assert_eq!((none.count, none.members.len()), (0, 0));
    Ok(())
}

#[test]
fn bad_page_requests_get_clear_errors_and_change_nothing() -> TestResult {
    let (sim, ids) = crowd(200, 11)?;
    let (other, other_ids) = crowd(200, 12)?;
    let me = ids[60];
    let before = sim.room.snapshot();
    for limit in [0, MAX_ROSTER_PAGE + 1, u32::MAX] {
        let e = sim.room.roster_page(me, None, limit, None).unwrap_err();
        assert_eq!(e, RoomError::InvalidLimit(limit));
        assert_eq!(e.code(), ErrorCode::InvalidMessage);
        assert!(e.to_string().contains("1 to 500"), "{e}");
    }
    // A cursor another session handed out.
    let (page, _) = other.room.roster_page(other_ids[0], None, 10, None)?;
    let foreign = page.next.ok_or("no cursor")?;
    let e = sim
        .room
        .roster_page(me, Some(&foreign), 10, None)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidCursor);
    for junk in [
        "",
        "x",
        "0000000000000000",
        "000000000000000b.",
        "000000000000000b.-1",
        "000000000000000b.99999999999999999999999",
        "000000000000000b.1.2",
        "💥.1",
    ] {
        let e = sim.room.roster_page(me, Some(junk), 10, None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidCursor, "{junk:?}");
    }
    let long = "a".repeat(201);
    let e = sim.room.roster_page(me, None, 10, Some(&long)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidMessage);
    // Someone who is not a member.
    let e = sim
        .room
        .roster_page(ParticipantId(9_999), None, 10, None)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotJoined);
    assert_eq!(sim.room.snapshot(), before);
    Ok(())
}

#[test]
fn joins_and_leaves_of_the_audience_reach_the_stage_view_as_a_count() -> TestResult {
    let (mut sim, ids) = crowd(60, 1)?;
    let mut batcher = RosterBatcher::new(&sim.room);
    let mut joined = Vec::new();
    for i in 0..40 {
        joined.push(sim.join_as(&format!("late {i}"), None)?);
    }
    for id in joined.iter().take(15) {
        sim.room.leave(sim.now, *id);
    }
    // One of the first joiners comes and goes within the batch: nobody hears of it.
    for (_, event) in sim.drain() {
        assert!(batcher.record(&event), "{event:?}");
    }
    let batches = batcher.flush(&sim.room);
    let Some(ServerEvent::MembersChanged {
        members,
        updated,
        left,
        audience_count,
        ..
    }) = batches.stage.clone()
    else {
        return Err(format!("no stage batch: {batches:?}").into());
    };
    assert!(members.is_empty() && updated.is_empty() && left.is_empty());
    assert_eq!(audience_count, 10 + 25);
    assert_eq!(audience_count, sim.room.audience_count() as u64);
    // Hosts see every member who is still there, whole; those who came and went, not at all.
    let Some(ServerEvent::MembersChanged { members, left, .. }) = batches.full else {
        return Err("no full batch".into());
    };
    assert_eq!(
        members.iter().map(|m| m.id).collect::<Vec<_>>(),
        joined[15..].to_vec()
    );
    assert!(left.is_empty());
    // Nothing waits any more; a flush with nothing new sends nothing.
    assert!(batcher.is_empty());
    assert_eq!(batcher.flush(&sim.room), huddle_room::Batches::default());
    assert_eq!(ids.len(), 60);
    Ok(())
}

#[test]
fn updates_within_a_batch_are_folded_into_one_entry_with_the_latest_values() -> TestResult {
    let (mut sim, ids) = crowd(10, 1)?;
    let mut batcher = RosterBatcher::new(&sim.room);
    let talker = ids[3];
    for talking in [true, false, true, false, true] {
        sim.room
            .handle(sim.now, talker, Action::SetTalking { talking })?;
    }
    sim.room
        .handle(sim.now, talker, Action::SetAudio { muted: true })?;
    sim.room.leave(sim.now, ids[4]);
    for (_, event) in sim.drain() {
        batcher.record(&event);
    }
    let batches = batcher.flush(&sim.room);
    let Some(ServerEvent::MembersChanged { updated, left, .. }) = batches.for_view(View::Stage)
    else {
        return Err("no stage batch".into());
    };
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(updated[0].participant, talker);
    assert_eq!(
        updated[0].changes,
        MemberUpdate {
            talking: Some(true),
            audio_muted: Some(true),
            ..MemberUpdate::default()
        },
        "the latest value of each field, once"
    );
    let now = sim.room.member(talker).ok_or("talker gone")?;
    assert!(now.talking && now.audio_muted);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].participant, ids[4]);
    assert_eq!(left[0].reason, LeaveReason::Left);
    Ok(())
}

#[test]
fn an_audience_hand_is_urgent_and_reaches_hosts_and_the_member_only() -> TestResult {
    let (mut sim, ids) = crowd(80, 1)?;
    let mut batcher = RosterBatcher::new(&sim.room);
    let fan = ids[70];
    sim.room.handle(sim.now, fan, Action::RaiseHand)?;
    for (_, event) in sim.drain() {
        batcher.record(&event);
    }
    assert!(batcher.is_urgent());
    let batches = batcher.flush(&sim.room);
    assert!(
        batches.stage.is_none(),
        "the stage view does not see audience hands"
    );
    let Some(ServerEvent::MembersChanged { members, .. }) = batches.full else {
        return Err("no full batch".into());
    };
    assert_eq!(members.len(), 1);
    assert!(members[0].hand_raised && members[0].id == fan);
    assert_eq!(batches.own.len(), 1);
    assert_eq!(batches.own[0].0, fan);
    // A stage member's hand is not urgent: it rides the next batch.
    sim.room.handle(sim.now, ids[2], Action::RaiseHand)?;
    for (_, event) in sim.drain() {
        batcher.record(&event);
    }
    assert!(!batcher.is_urgent());
    Ok(())
}

#[test]
fn a_promotion_brings_the_member_onto_the_stage_whole_and_a_demotion_says_audience() -> TestResult {
    let (mut sim, ids) = crowd(60, 1)?;
    let host = ids[0];
    let mut batcher = RosterBatcher::new(&sim.room);
    let fan = ids[55];
    sim.room.handle(
        sim.now,
        host,
        Action::DemoteToAudience {
            participant: ids[1],
        },
    )?;
    sim.room
        .handle(sim.now, host, Action::PromoteAudience { participant: fan })?;
    for (_, event) in sim.drain() {
        batcher.record(&event);
    }
    let batches = batcher.flush(&sim.room);
    let Some(ServerEvent::MembersChanged {
        members,
        updated,
        audience_count,
        ..
    }) = batches.stage
    else {
        return Err("no stage batch".into());
    };
    assert_eq!(members.iter().map(|m| m.id).collect::<Vec<_>>(), vec![fan]);
    assert_eq!(members[0].role, Role::Participant);
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].participant, ids[1]);
    assert_eq!(updated[0].changes.role, Some(Role::Audience));
    assert_eq!(audience_count, 10);
    Ok(())
}
