//! Room and member metadata: merge, delete and replace; limits and bad keys refused with
//! nothing changed; kept across a resume and handed over in `welcome`.

mod common;

use common::{Sim, TestResult};
use huddle_proto::limits::{MAX_MEMBER_METADATA_BYTES, MAX_METADATA_KEYS, MAX_ROOM_METADATA_BYTES};
use huddle_proto::{
    Action, ErrorCode, MemberMetadata, Metadata, MetadataChange, ParticipantId, Resume, Role,
    ServerEvent,
};
use huddle_room::{Recipient, RoomConfig, RoomError};
use serde_json::{json, Value};

fn obj(v: Value) -> Metadata {
    match v {
        Value::Object(m) => m,
        _ => Metadata::new(),
    }
}

fn room_change(change: MetadataChange) -> Action {
    Action::UpdateRoomMetadata { change }
}

fn own_change(change: MetadataChange) -> Action {
    Action::UpdateMemberMetadata {
        participant: None,
        change,
    }
}

#[test]
fn room_metadata_merges_deletes_and_replaces() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    sim.drain();
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::merge(obj(
            json!({"foo": "bar", "baz": true}),
        ))),
    )?;
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::merge(obj(json!({"baz": false, "t": 10})))),
    )?;
    assert_eq!(
        *sim.room.metadata(),
        obj(json!({"foo": "bar", "baz": false, "t": 10}))
    );
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::delete(vec!["foo".into()])),
    )?;
    assert_eq!(*sim.room.metadata(), obj(json!({"baz": false, "t": 10})));
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::replace(obj(json!({"only": 1})))),
    )?;
    assert_eq!(*sim.room.metadata(), obj(json!({"only": 1})));

    // Each change is one event for everyone, carrying only what changed.
    let events = sim.drain();
    let diffs: Vec<_> = events
        .iter()
        .filter_map(|(r, e)| match e {
            ServerEvent::RoomMetadataUpdated { by, changes } if *r == Recipient::Everyone => {
                assert_eq!(*by, host);
                Some(changes.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(diffs.len(), 4, "{events:?}");
    assert_eq!(diffs[1].set, obj(json!({"baz": false, "t": 10})));
    assert_eq!(diffs[2].deleted, vec!["foo".to_owned()]);
    assert_eq!(diffs[3].set, obj(json!({"only": 1})));
    assert_eq!(diffs[3].deleted, vec!["baz".to_owned(), "t".to_owned()]);

    // A change that changes nothing tells nobody.
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::merge(obj(json!({"only": 1})))),
    )?;
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::delete(vec!["missing".into()])),
    )?;
    assert!(sim.drain().is_empty());
    Ok(())
}

#[test]
fn refused_changes_change_nothing() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let ann = sim.join_as("Ann", Some(Role::Participant))?;
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::merge(obj(json!({"keep": "me"})))),
    )?;
    sim.room.handle(
        sim.now,
        ann,
        own_change(MetadataChange::merge(obj(json!({"keep": "me"})))),
    )?;
    sim.drain();
    let before = sim.room.snapshot();
    let too_big = obj(json!({"blob": "x".repeat(MAX_ROOM_METADATA_BYTES)}));
    let member_too_big = obj(json!({"blob": "x".repeat(MAX_MEMBER_METADATA_BYTES)}));
    let too_many: Metadata = (0..MAX_METADATA_KEYS)
        .map(|i| (format!("k{i}"), Value::from(i)))
        .collect();
    let cases = [
        (
            host,
            room_change(MetadataChange::merge(too_big.clone())),
            ErrorCode::MetadataTooLarge,
        ),
        // One key is already there, so one more than the limit.
        (
            host,
            room_change(MetadataChange::merge(too_many.clone())),
            ErrorCode::MetadataTooLarge,
        ),
        (
            ann,
            own_change(MetadataChange::merge(member_too_big)),
            ErrorCode::MetadataTooLarge,
        ),
        (
            ann,
            own_change(MetadataChange::merge(too_many)),
            ErrorCode::MetadataTooLarge,
        ),
        (
            host,
            room_change(MetadataChange::merge(obj(json!({"": 1})))),
            ErrorCode::InvalidMetadata,
        ),
        (
            ann,
            own_change(MetadataChange::delete(vec!["k".repeat(65)])),
            ErrorCode::InvalidMetadata,
        ),
        (
            ann,
            own_change(MetadataChange {
                set: obj(json!({"a": 1})),
                delete: vec!["a".into()],
                replace: false,
            }),
            ErrorCode::InvalidMetadata,
        ),
        (
            ann,
            room_change(MetadataChange::merge(obj(json!({"a": 1})))),
            ErrorCode::PermissionDenied,
        ),
        (
            ann,
            Action::UpdateMemberMetadata {
                participant: Some(host),
                change: MetadataChange::merge(obj(json!({"a": 1}))),
            },
            ErrorCode::PermissionDenied,
        ),
        (
            host,
            Action::UpdateMemberMetadata {
                participant: Some(ParticipantId(99)),
                change: MetadataChange::merge(obj(json!({"a": 1}))),
            },
            ErrorCode::NotFound,
        ),
    ];
    for (who, action, code) in cases {
        let result = sim.room.handle(sim.now, who, action.clone());
        assert_eq!(result.map_err(|e| e.code()), Err(code), "{action:?}");
        assert_eq!(sim.room.snapshot(), before, "{action:?}");
        assert!(sim.drain().is_empty(), "{action:?}");
    }
    // Replacing makes room for what merging could not add.
    let half = obj(json!({"blob": "x".repeat(MAX_ROOM_METADATA_BYTES / 2)}));
    sim.room
        .handle(sim.now, host, room_change(MetadataChange::replace(half)))?;
    Ok(())
}

#[test]
fn errors_say_what_is_wrong() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let err = sim
        .room
        .handle(
            sim.now,
            host,
            room_change(MetadataChange::merge(obj(json!({"a\u{1}": 1})))),
        )
        .err()
        .ok_or("control character accepted")?;
    assert!(matches!(err, RoomError::Proto(_)));
    assert!(err.to_string().contains("control character"), "{err}");
    let err = sim
        .room
        .handle(
            sim.now,
            host,
            room_change(MetadataChange::merge(obj(
                json!({"a": "x".repeat(MAX_ROOM_METADATA_BYTES)}),
            ))),
        )
        .err()
        .ok_or("oversize accepted")?;
    assert!(err.to_string().contains("8192"), "{err}");
    Ok(())
}

#[test]
fn welcome_and_resume_carry_metadata() -> TestResult {
    let mut sim = Sim::new(RoomConfig::default())?;
    let host = sim.join_as("Host", Some(Role::Host))?;
    let req = sim.request("Ann", Some(Role::Participant));
    let ann_key = req.resume_key.clone();
    let ann = sim.join_req(req)?.participant_id;
    let _quiet = sim.join_as("Quiet", Some(Role::Audience))?;
    sim.room.handle(
        sim.now,
        host,
        room_change(MetadataChange::merge(obj(json!({"topic": "Q3"})))),
    )?;
    sim.room.handle(
        sim.now,
        ann,
        own_change(MetadataChange::merge(obj(json!({"status": "away"})))),
    )?;
    sim.room.handle(
        sim.now,
        host,
        Action::UpdateMemberMetadata {
            participant: Some(ann),
            change: MetadataChange::merge(obj(json!({"team": "blue"}))),
        },
    )?;

    // A newcomer learns all of it; members without metadata are not listed.
    let late = sim.request("Late", Some(Role::Participant));
    let welcome = sim.join_req(late)?.welcome;
    assert_eq!(welcome.metadata, obj(json!({"topic": "Q3"})));
    assert_eq!(
        welcome.member_metadata,
        vec![MemberMetadata {
            participant: ann,
            metadata: obj(json!({"status": "away", "team": "blue"})),
        }]
    );

    // A dropped member keeps its metadata and gets everything back on resume.
    sim.room.disconnect(sim.now, ann);
    let mut again = sim.request("Ann", None);
    again.resume = Some(Resume {
        participant_id: ann,
        resume_key: ann_key,
    });
    let resumed = sim.join_req(again)?.welcome;
    assert!(resumed.resumed);
    assert_eq!(resumed.metadata, welcome.metadata);
    assert_eq!(resumed.member_metadata, welcome.member_metadata);

    // A member who leaves takes its metadata along.
    sim.room.leave(sim.now, ann);
    assert!(sim.room.member_metadata().is_empty());
    Ok(())
}
