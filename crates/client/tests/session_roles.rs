//! Role changes and renames through the client: a host transfer and a rename are told to the
//! member concerned by name, and every member's state agrees on the result.

mod session_support;

use huddle_client::session::{Notice, SessionEvent};
use huddle_proto::Role;
use session_support::{join, roster, start_open, wait_event, wait_state, TestResult};

#[tokio::test]
async fn host_transfer_and_rename_reach_everyone() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "roles", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "roles", "Bo").await?;
    let (ann_id, bo_id) = (ann.state().me, bo.state().me);
    wait_state(&ann, "Ann sees Bo", |s| s.members.len() == 2).await?;

    ann.rename(bo_id, "Robert").await?;
    wait_event(&mut bo_events, "renamed notice", |e| {
        matches!(e, SessionEvent::Notice(Notice::YouWereRenamed { by_name, name, .. })
            if by_name == "Ann" && name == "Robert")
    })
    .await?;

    ann.transfer_host(bo_id).await?;
    wait_event(&mut bo_events, "role notice", |e| {
        matches!(e, SessionEvent::Notice(Notice::YourRoleChanged { by, role: Role::Host, .. })
            if *by == ann_id)
    })
    .await?;
    let bo_state = wait_state(&bo, "Bo is host", |s| s.role == Role::Host).await?;
    let ann_state = wait_state(&ann, "Ann is participant", |s| {
        s.role == Role::Participant
            && s.member(bo_id)
                .is_some_and(|m| m.role == Role::Host && m.display_name == "Robert")
    })
    .await?;
    assert_eq!(roster(&ann_state), roster(&bo_state));

    // The old host lost the powers that went with the role.
    assert!(matches!(
        ann.end().await,
        Err(huddle_client::ClientError::Rejected {
            code: huddle_proto::ErrorCode::PermissionDenied,
            ..
        })
    ));
    bo.end().await?;
    server.shutdown().await;
    Ok(())
}
