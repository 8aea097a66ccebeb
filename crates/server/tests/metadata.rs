//! Room and member metadata over real WebSockets: who may change what, that everyone hears
//! one event naming what changed and who changed it, that over-limit changes are refused
//! whole, and that `welcome` carries it (also on resume).

mod common;

use common::{resume_join, start_open, Client, TestResult};
use huddle_proto::limits::MAX_MEMBER_METADATA_BYTES;
use huddle_proto::{
    Action, ErrorCode, MemberMetadata, Metadata, MetadataChange, MetadataDiff, ParticipantId,
    ServerEvent,
};
use serde_json::{json, Value};

fn obj(v: Value) -> Metadata {
    match v {
        Value::Object(m) => m,
        _ => Metadata::new(),
    }
}

fn room_metadata(by: ParticipantId) -> impl FnMut(&ServerEvent) -> Option<MetadataDiff> {
    move |e| match e {
        ServerEvent::RoomMetadataUpdated { by: got, changes } if *got == by => {
            Some(changes.clone())
        }
        _ => None,
    }
}

fn member_metadata(
    whose: ParticipantId,
) -> impl FnMut(&ServerEvent) -> Option<(ParticipantId, MetadataDiff)> {
    move |e| match e {
        ServerEvent::MemberMetadataUpdated {
            participant,
            by,
            changes,
        } if *participant == whose => Some((*by, changes.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn host_sets_room_metadata_and_everyone_sees_it() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, w_host) = Client::join_open(&url, "meta", "Host").await?;
    let (mut ann, _) = Client::join_open(&url, "meta", "Ann").await?;
    let host_id = w_host.participant_id;

    let topic = obj(json!({"topic": "Q3 review", "agenda": ["a", "b"]}));
    let set = Action::UpdateRoomMetadata {
        change: MetadataChange::merge(topic.clone()),
    };
    assert_eq!(host.request(set).await?, Ok(()));
    for client in [&mut host, &mut ann] {
        let changes = client.event_where(room_metadata(host_id)).await?;
        assert_eq!(changes.set, topic);
        assert!(changes.deleted.is_empty());
    }
    let delete = Action::UpdateRoomMetadata {
        change: MetadataChange::delete(vec!["agenda".into()]),
    };
    assert_eq!(host.request(delete).await?, Ok(()));
    let changes = ann.event_where(room_metadata(host_id)).await?;
    assert_eq!(changes.deleted, vec!["agenda".to_owned()]);

    // A newcomer gets the result in its welcome.
    let (_late, welcome) = Client::join_open(&url, "meta", "Late").await?;
    assert_eq!(welcome.metadata, obj(json!({"topic": "Q3 review"})));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_participant_may_change_only_its_own_metadata() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, w_host) = Client::join_open(&url, "own", "Host").await?;
    let (mut ann, w_ann) = Client::join_open(&url, "own", "Ann").await?;
    let ann_id = w_ann.participant_id;
    let value = obj(json!({"status": "away"}));

    let room = Action::UpdateRoomMetadata {
        change: MetadataChange::merge(value.clone()),
    };
    match ann.request(room).await? {
        Err((ErrorCode::PermissionDenied, message)) => {
            assert!(message.contains("admin"), "{message}");
        }
        other => return Err(format!("room metadata by a participant: {other:?}").into()),
    }
    let others = Action::UpdateMemberMetadata {
        participant: Some(w_host.participant_id),
        change: MetadataChange::merge(value.clone()),
    };
    assert_eq!(
        ann.request(others).await?.map_err(|(code, _)| code),
        Err(ErrorCode::PermissionDenied)
    );
    // Nothing was announced for the refusals.
    assert!(host.quiet().await?.iter().all(|m| !matches!(
        m,
        huddle_proto::ServerMessage::Event {
            event: ServerEvent::RoomMetadataUpdated { .. }
                | ServerEvent::MemberMetadataUpdated { .. }
        }
    )));

    let own = Action::UpdateMemberMetadata {
        participant: None,
        change: MetadataChange::merge(value.clone()),
    };
    assert_eq!(ann.request(own).await?, Ok(()));
    let (by, changes) = host.event_where(member_metadata(ann_id)).await?;
    assert_eq!(by, ann_id);
    assert_eq!(changes.set, value);

    // The host may change Ann's, and Ann hears who did.
    let by_host = Action::UpdateMemberMetadata {
        participant: Some(ann_id),
        change: MetadataChange::merge(obj(json!({"team": "blue"}))),
    };
    assert_eq!(host.request(by_host).await?, Ok(()));
    let (by, _) = ann
        .event_where(|e| match e {
            ServerEvent::MemberMetadataUpdated {
                participant, by, ..
            } if *participant == ann_id && *by != ann_id => Some((*by, ())),
            _ => None,
        })
        .await?;
    assert_eq!(by, w_host.participant_id);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn over_limit_and_bad_keys_are_refused_and_change_nothing() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "limits", "Host").await?;
    let (mut ann, _) = Client::join_open(&url, "limits", "Ann").await?;
    let big = Action::UpdateMemberMetadata {
        participant: None,
        change: MetadataChange::merge(obj(json!({"blob": "x".repeat(MAX_MEMBER_METADATA_BYTES)}))),
    };
    match ann.request(big).await? {
        Err((ErrorCode::MetadataTooLarge, message)) => {
            assert!(message.contains("1024"), "{message}");
        }
        other => return Err(format!("oversize metadata: {other:?}").into()),
    }
    let bad_key = Action::UpdateRoomMetadata {
        change: MetadataChange::merge(obj(json!({"": 1}))),
    };
    assert_eq!(
        host.request(bad_key).await?.map_err(|(code, _)| code),
        Err(ErrorCode::InvalidMetadata)
    );
    // Metadata that is not an object is not a metadata change at all.
    host.send_raw(
        r#"{"type":"request","id":900,"action":{"type":"update_room_metadata","set":[1]}}"#
            .to_owned(),
    )
    .await?;
    loop {
        match host.recv().await? {
            huddle_proto::ServerMessage::Error { code, .. } => {
                assert_eq!(code, ErrorCode::InvalidMessage);
                break;
            }
            huddle_proto::ServerMessage::Event {
                event: ServerEvent::Joined { .. },
            } => {}
            other => return Err(format!("non-object metadata: {other:?}").into()),
        }
    }
    assert!(
        ann.quiet().await?.is_empty(),
        "refusals told nobody anything"
    );
    let (_late, welcome) = Client::join_open(&url, "limits", "Late").await?;
    assert!(welcome.metadata.is_empty() && welcome.member_metadata.is_empty());
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn resume_keeps_metadata() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "keep", "Host").await?;
    let (mut ann, w_ann) = Client::join_open(&url, "keep", "Ann").await?;
    let room = Action::UpdateRoomMetadata {
        change: MetadataChange::merge(obj(json!({"topic": "Q3"}))),
    };
    assert_eq!(host.request(room).await?, Ok(()));
    let own = Action::UpdateMemberMetadata {
        participant: None,
        change: MetadataChange::merge(obj(json!({"status": "away"}))),
    };
    assert_eq!(ann.request(own).await?, Ok(()));
    ann.drop_connection();
    let (_ann, again) = Client::join(&url, resume_join("keep", &w_ann)).await?;
    assert!(again.resumed);
    assert_eq!(again.metadata, obj(json!({"topic": "Q3"})));
    assert_eq!(
        again.member_metadata,
        vec![MemberMetadata {
            participant: w_ann.participant_id,
            metadata: obj(json!({"status": "away"})),
        }]
    );
    drop(host.take_pending());
    server.shutdown().await;
    Ok(())
}
