//! Host controls through the client: a mute is announced to the muted member by name and
//! shown to all, a participant's attempt at a host action gets the server's refusal, a removed
//! member is closed out and vanishes from the others' rosters, and an end reaches everyone.

mod session_support;

use huddle_client::session::{CloseReason, ConnectionStatus, Notice, SessionEvent};
use huddle_client::ClientError;
use huddle_proto::{EndReason, ErrorCode, LeaveReason};
use session_support::{join, start_open, wait_event, wait_state, TestResult};

#[tokio::test]
async fn host_mutes_removes_and_ends() -> TestResult {
    let server = start_open().await?;
    let (ann, mut ann_events) = join(&server, "controls", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "controls", "Bo").await?;
    let (cy, mut cy_events) = join(&server, "controls", "Cy").await?;
    let (ann_id, bo_id, cy_id) = (ann.state().me, bo.state().me, cy.state().me);
    wait_state(&ann, "Ann sees three", |s| s.members.len() == 3).await?;

    // Mute: Bo is told who did it; everyone's roster shows Bo muted.
    ann.mute(bo_id).await?;
    let (notice, _) = wait_event(&mut bo_events, "muted notice", |e| {
        matches!(e, SessionEvent::Notice(Notice::YouWereMuted { .. }))
    })
    .await?;
    match notice {
        SessionEvent::Notice(Notice::YouWereMuted { by, by_name }) => {
            assert_eq!(by, ann_id);
            assert_eq!(by_name, "Ann");
        }
        other => return Err(format!("unexpected {other:?}").into()),
    }
    for session in [&ann, &bo, &cy] {
        wait_state(session, "Bo shown muted", |s| {
            s.member(bo_id).is_some_and(|m| m.audio_muted)
        })
        .await?;
    }

    // A participant trying a host action gets the server's code and reason.
    match cy.mute(ann_id).await {
        Err(ClientError::Rejected { code, message }) => {
            assert_eq!(code, ErrorCode::PermissionDenied);
            assert!(message.contains("admin"), "{message}");
        }
        other => return Err(format!("expected permission_denied, got {other:?}").into()),
    }
    match cy.end().await {
        Err(ClientError::Rejected { code, message }) => {
            assert_eq!(code, ErrorCode::PermissionDenied);
            assert!(message.contains("end_session"), "{message}");
        }
        other => return Err(format!("expected permission_denied, got {other:?}").into()),
    }
    assert!(ann.state().member(ann_id).is_some_and(|m| !m.audio_muted));

    // Removal: Cy is told by whom and closed out; the others see Cy leave, removed by Ann.
    ann.remove(cy_id).await?;
    wait_event(&mut cy_events, "removed notice", |e| {
        matches!(e, SessionEvent::Notice(Notice::YouWereRemoved { by_name, .. }) if by_name == "Ann")
    })
    .await?;
    wait_event(&mut cy_events, "closed as removed", |e| {
        matches!(
            e,
            SessionEvent::Connection(ConnectionStatus::Closed {
                reason: CloseReason::Removed { by }
            }) if *by == ann_id
        )
    })
    .await?;
    assert!(matches!(
        cy.chat("still here?").await,
        Err(ClientError::SessionClosed(CloseReason::Removed { .. }))
    ));
    wait_event(&mut bo_events, "Cy left notice", |e| {
        matches!(
            e,
            SessionEvent::Notice(Notice::Left { id, reason: LeaveReason::Removed { .. }, .. })
                if *id == cy_id
        )
    })
    .await?;
    for session in [&ann, &bo] {
        wait_state(session, "Cy gone", |s| {
            s.members.len() == 2 && s.member(cy_id).is_none()
        })
        .await?;
    }

    // End: everyone sees the session ended, by whom.
    ann.end().await?;
    let ended = EndReason::EndedByHost { by: ann_id };
    for (session, events) in [(&ann, &mut ann_events), (&bo, &mut bo_events)] {
        wait_event(events, "ended notice", |e| {
            matches!(e, SessionEvent::Notice(Notice::SessionEnded { reason, by_name })
                if *reason == ended && by_name.as_deref() == Some("Ann"))
        })
        .await?;
        wait_event(events, "closed as ended", |e| {
            matches!(
                e,
                SessionEvent::Connection(ConnectionStatus::Closed {
                    reason: CloseReason::SessionEnded { .. }
                })
            )
        })
        .await?;
        assert_eq!(session.state().ended, Some(ended.clone()));
    }
    server.shutdown().await;
    Ok(())
}
