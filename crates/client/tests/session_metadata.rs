//! Metadata through the client: the host's room metadata and a member's own reach every
//! client's state with one `SessionEvent::Metadata` naming who changed what, a participant is
//! refused on the room's, over-limit values get `metadata_too_large`, a reconnect keeps it
//! all, and `huddle-cli join` sets and deletes it with `/meta` and `/unmeta`, reporting
//! changes as JSON lines.

mod session_support;

use std::time::Duration;

use huddle_client::session::{ConnectionStatus, SessionEvent};
use huddle_client::ClientError;
use huddle_proto::limits::MAX_MEMBER_METADATA_BYTES;
use huddle_proto::{ErrorCode, Metadata, MetadataChange};
use serde_json::{json, Value};
use session_support::{
    cli_join, join, start_open, wait_event, wait_state, ChildLines, TestResult, PATIENCE,
};
use tokio::io::AsyncWriteExt as _;

fn obj(v: Value) -> Metadata {
    match v {
        Value::Object(m) => m,
        _ => Metadata::new(),
    }
}

#[tokio::test]
async fn metadata_reaches_every_state_and_survives_a_reconnect() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "meta", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "meta", "Bo").await?;
    let (ann_id, bo_id) = (ann.state().me, bo.state().me);

    ann.set_room_metadata(obj(json!({"topic": "Q3", "agenda": [1, 2]})))
        .await?;
    let (event, _) = wait_event(
        &mut bo_events,
        "room metadata event",
        |e| matches!(e, SessionEvent::Metadata(c) if c.participant.is_none()),
    )
    .await?;
    let SessionEvent::Metadata(change) = event else {
        return Err("not a metadata event".into());
    };
    assert_eq!((change.by, change.by_name.as_str()), (ann_id, "Ann"));
    assert_eq!(
        change.changes.set,
        obj(json!({"topic": "Q3", "agenda": [1, 2]}))
    );
    assert_eq!(bo.state().metadata, change.changes.set);

    // A participant may not change the room's, but may change its own.
    match bo.set_room_metadata(obj(json!({"topic": "mine"}))).await {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::PermissionDenied),
        other => return Err(format!("expected permission_denied, got {other:?}").into()),
    }
    bo.set_member_metadata(None, obj(json!({"status": "away"})))
        .await?;
    wait_state(&ann, "Ann sees Bo's metadata", |s| {
        s.metadata_of(bo_id) == Some(&obj(json!({"status": "away"})))
    })
    .await?;
    let too_big = obj(json!({"blob": "x".repeat(MAX_MEMBER_METADATA_BYTES)}));
    match bo.set_member_metadata(None, too_big).await {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::MetadataTooLarge),
        other => return Err(format!("expected metadata_too_large, got {other:?}").into()),
    }
    ann.delete_room_metadata(vec!["agenda".into()]).await?;
    wait_state(&bo, "Bo sees the key deleted", |s| {
        s.metadata == obj(json!({"topic": "Q3"}))
    })
    .await?;
    ann.update_member_metadata(
        Some(bo_id),
        MetadataChange::replace(obj(json!({"team": "blue"}))),
    )
    .await?;
    wait_state(&bo, "the host replaced Bo's metadata", |s| {
        s.metadata_of(bo_id) == Some(&obj(json!({"team": "blue"})))
    })
    .await?;

    // After a reconnect the state comes back whole from the welcome.
    bo.debug_drop_connection(Duration::from_millis(100)).await;
    wait_event(&mut bo_events, "reconnected", |e| {
        matches!(e, SessionEvent::Connection(ConnectionStatus::Reconnected))
    })
    .await?;
    let state = bo.state();
    assert_eq!(state.metadata, obj(json!({"topic": "Q3"})));
    assert_eq!(
        state.metadata_of(bo_id),
        Some(&obj(json!({"team": "blue"})))
    );
    bo.leave().await?;
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}

/// The next JSON line of type `kind` (any type when `kind` is empty).
async fn next_line(lines: &mut ChildLines, kind: &str) -> TestResult<Value> {
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await??
            .ok_or_else(|| format!("output ended before a {kind} line"))?;
        let value: Value = serde_json::from_str(&line)?;
        if kind.is_empty() || value["type"] == kind {
            return Ok(value);
        }
    }
}

#[tokio::test]
async fn cli_sets_and_deletes_metadata_and_reports_it_as_json() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "cli meta", "Ann").await?;
    let (mut child, mut stdin, mut lines) = cli_join(&server, "cli meta")?;
    next_line(&mut lines, "welcome").await?;

    stdin
        .write_all(b"/meta me status={\"away\": true}\n/meta room topic=\"Q3\"\n/meta me x=oops\n")
        .await?;
    stdin.flush().await?;
    // The three lines answer in any order: Term's own metadata is set, the room's is refused
    // (Term is not the host), and a value that is not JSON never leaves the terminal.
    let (mut changes, mut errors) = (Vec::new(), Vec::new());
    while changes.is_empty() || errors.len() < 2 {
        let value = next_line(&mut lines, "").await?;
        if value["type"] == "metadata" {
            changes.push(value);
        } else if value["type"] == "error" {
            errors.push(value);
        }
    }
    assert_eq!(changes[0]["change"]["by_name"], "Term");
    assert_eq!(
        changes[0]["change"]["changes"]["set"]["status"]["away"],
        true
    );
    let says = |what: &str| {
        errors
            .iter()
            .any(|e| e["error"].as_str().is_some_and(|text| text.contains(what)))
    };
    assert!(says("admin") && says("not JSON"), "{errors:?}");
    wait_state(&ann, "Ann sees Term's metadata", |s| {
        s.member_metadata
            .values()
            .any(|m| m.get("status").is_some())
    })
    .await?;

    ann.set_room_metadata(obj(json!({"topic": "from Ann"})))
        .await?;
    let change = next_line(&mut lines, "metadata").await?;
    assert_eq!(change["change"]["participant"], Value::Null);
    assert_eq!(change["change"]["changes"]["set"]["topic"], "from Ann");

    stdin.write_all(b"/unmeta me status\n").await?;
    stdin.flush().await?;
    let change = next_line(&mut lines, "metadata").await?;
    assert_eq!(change["change"]["changes"]["deleted"], json!(["status"]));
    wait_state(&ann, "Term's metadata is gone", |s| {
        s.member_metadata.is_empty()
    })
    .await?;

    drop(stdin);
    let status = tokio::time::timeout(PATIENCE, child.wait()).await??;
    assert!(status.success(), "{status}");
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}
