//! In-meeting apps: a channel per app reaches only the members with it open, in one order;
//! late joiners get the state and recent messages; the audience receives but cannot send;
//! invitations reach whom they name; bad input changes nothing.

mod common;

use common::{for_member, Sim, TestResult};
use huddle_proto::limits::{MAX_APP_MESSAGE_BYTES, MAX_APP_STATE_BYTES};
use huddle_proto::{Action, AppId, ErrorCode, ParticipantId, Role, ServerEvent};
use huddle_room::{Permission, RoomConfig, RoomError};
use serde_json::{json, Value};

fn board() -> Result<AppId, huddle_proto::ProtoError> {
    AppId::parse("whiteboard")
}

fn open(sim: &mut Sim, who: ParticipantId) -> TestResult {
    sim.room
        .handle(sim.now, who, Action::AppOpen { app: board()? })?;
    Ok(())
}

fn send(sim: &mut Sim, who: ParticipantId, data: Value) -> Result<(), RoomError> {
    let app = board().map_err(RoomError::Proto)?;
    sim.room
        .handle(sim.now, who, Action::AppMessage { app, data })
}

/// The app messages `id` received, as (seq, from, data).
fn messages(
    events: &[(huddle_room::Recipient, ServerEvent)],
    id: ParticipantId,
) -> Vec<(u64, u64, Value)> {
    for_member(events, id)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::AppMessage { message } => {
                Some((message.seq, message.from.0, message.data))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn messages_reach_every_open_instance_in_one_order() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let bo = sim.join_as("Bo", None)?;
    let cy = sim.join_as("Cy", None)?;
    open(&mut sim, host)?;
    open(&mut sim, bo)?;
    sim.drain();
    send(&mut sim, host, json!({"t": "stroke", "id": "a"}))?;
    send(&mut sim, bo, json!({"t": "stroke", "id": "b"}))?;
    let events = sim.drain();
    let expected = vec![
        (1, host.0, json!({"t": "stroke", "id": "a"})),
        (2, bo.0, json!({"t": "stroke", "id": "b"})),
    ];
    // The sender's own message comes back too, so every instance sees one order.
    assert_eq!(messages(&events, host), expected);
    assert_eq!(messages(&events, bo), expected);
    // Cy has not opened the app: nothing.
    assert!(for_member(&events, cy).is_empty());
    Ok(())
}

#[test]
fn a_late_joiner_gets_the_state_and_the_recent_messages() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    open(&mut sim, host)?;
    send(&mut sim, host, json!({"t": "stroke", "id": "a"}))?;
    sim.room.handle(
        sim.now,
        host,
        Action::AppSetState {
            app: board()?,
            state: json!({"strokes": ["a"]}),
        },
    )?;
    send(&mut sim, host, json!({"t": "stroke", "id": "b"}))?;
    let late = sim.join_as("Late", None)?;
    sim.drain();
    open(&mut sim, late)?;
    let events = sim.drain();
    let opened = for_member(&events, late);
    let Some(ServerEvent::AppOpened { app, state, recent }) = opened.first() else {
        return Err(format!("expected app_opened, got {opened:?}").into());
    };
    assert_eq!(app, &board()?);
    assert_eq!(state, &Some(json!({"strokes": ["a"]})));
    let seqs: Vec<u64> = recent.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    // Only the opener is told.
    assert_eq!(for_member(&events, host), Vec::<ServerEvent>::new());
    Ok(())
}

#[test]
fn the_audience_receives_but_cannot_send() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let viewer = sim.join_as("Viewer", Some(Role::Audience))?;
    open(&mut sim, host)?;
    open(&mut sim, viewer)?;
    sim.drain();
    assert_eq!(
        send(&mut sim, viewer, json!(1)),
        Err(RoomError::PermissionDenied(Permission::AppSend))
    );
    let refused = sim.room.handle(
        sim.now,
        viewer,
        Action::AppInvite {
            app: board()?,
            to: None,
        },
    );
    assert_eq!(
        refused,
        Err(RoomError::PermissionDenied(Permission::AppSend))
    );
    assert!(sim.drain().is_empty());
    send(&mut sim, host, json!("hello"))?;
    let events = sim.drain();
    assert_eq!(messages(&events, viewer), vec![(1, host.0, json!("hello"))]);
    Ok(())
}

#[test]
fn sending_needs_the_app_open_and_data_within_limits() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let refused = send(&mut sim, host, json!(1));
    assert!(
        matches!(refused, Err(RoomError::InvalidState(_))),
        "{refused:?}"
    );
    open(&mut sim, host)?;
    sim.drain();
    let big = Value::String("x".repeat(MAX_APP_MESSAGE_BYTES));
    let refused = send(&mut sim, host, big);
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err(ErrorCode::AppDataTooLarge)
    );
    let big_state = Value::String("x".repeat(MAX_APP_STATE_BYTES));
    let refused = sim.room.handle(
        sim.now,
        host,
        Action::AppSetState {
            app: board()?,
            state: big_state,
        },
    );
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err(ErrorCode::AppDataTooLarge)
    );
    // Nothing was relayed and no sequence number was used.
    assert!(sim.drain().is_empty());
    send(&mut sim, host, json!(1))?;
    assert_eq!(messages(&sim.drain(), host), vec![(1, host.0, json!(1))]);
    // Closed: no more delivery, and no more sending.
    sim.room
        .handle(sim.now, host, Action::AppClose { app: board()? })?;
    assert!(matches!(
        send(&mut sim, host, json!(2)),
        Err(RoomError::InvalidState(_))
    ));
    Ok(())
}

#[test]
fn invitations_reach_whom_they_name() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let bo = sim.join_as("Bo", None)?;
    let cy = sim.join_as("Cy", None)?;
    sim.drain();
    sim.room.handle(
        sim.now,
        host,
        Action::AppInvite {
            app: board()?,
            to: Some(vec![bo]),
        },
    )?;
    let events = sim.drain();
    let invited = |id| {
        for_member(&events, id)
            .iter()
            .any(|e| matches!(e, ServerEvent::AppInvitation { from, from_name, .. } if *from == host && from_name == "Host"))
    };
    assert!(invited(bo) && !invited(cy) && !invited(host));
    sim.room.handle(
        sim.now,
        bo,
        Action::AppInvite {
            app: board()?,
            to: None,
        },
    )?;
    let events = sim.drain();
    let count = |id| {
        for_member(&events, id)
            .iter()
            .filter(|e| matches!(e, ServerEvent::AppInvitation { .. }))
            .count()
    };
    assert_eq!((count(host), count(bo), count(cy)), (1, 0, 1));
    // Unknown members, oneself and an empty list are refused, and nobody is told anything.
    for to in [vec![ParticipantId(99)], vec![host], vec![]] {
        let refused = sim.room.handle(
            sim.now,
            host,
            Action::AppInvite {
                app: board()?,
                to: Some(to.clone()),
            },
        );
        assert!(refused.is_err(), "{to:?}");
    }
    assert!(sim.drain().is_empty());
    Ok(())
}

#[test]
fn leaving_closes_a_members_apps() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let bo = sim.join_as("Bo", None)?;
    open(&mut sim, host)?;
    open(&mut sim, bo)?;
    sim.room.leave(sim.now, bo);
    sim.drain();
    send(&mut sim, host, json!(1))?;
    let events = sim.drain();
    assert_eq!(messages(&events, host).len(), 1);
    assert!(messages(&events, bo).is_empty());
    Ok(())
}
