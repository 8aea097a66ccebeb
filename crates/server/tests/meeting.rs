//! An end-to-end meeting over real WebSockets: join, chat (everyone and private), hands, host
//! mutes / renames / removes, host transfer, lock, and end.

mod common;

use common::{health, join_message, start_open, Client, TestResult, PATIENCE};
use huddle_proto::{
    Action, EndReason, ErrorCode, LeaveReason, ParticipantId, Role, ServerEvent, ServerMessage,
};

fn chat_text(event: &ServerEvent) -> Option<(String, Option<ParticipantId>)> {
    match event {
        ServerEvent::Chat { message } => Some((message.text.clone(), message.to)),
        _ => None,
    }
}

#[tokio::test]
async fn a_whole_meeting() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();

    // Join: the first is host, the others participants, and everyone sees the roster grow.
    let (mut ann, w_ann) = Client::join_open(&url, "Weekly Sync", "Ann").await?;
    let (mut bob, w_bob) = Client::join_open(&url, "weekly sync", "Bob").await?;
    let (mut cat, w_cat) = Client::join_open(&url, "WEEKLY SYNC", "Cat").await?;
    let (ann_id, bob_id, cat_id) = (
        w_ann.participant_id,
        w_bob.participant_id,
        w_cat.participant_id,
    );
    assert_eq!(w_ann.role, Role::Host);
    assert_eq!(w_bob.role, Role::Participant);
    assert_eq!(w_cat.role, Role::Participant);
    assert_eq!(w_cat.members.len(), 3);
    assert_eq!(w_cat.session.name, "Weekly Sync");
    let joined = |e: &ServerEvent| match e {
        ServerEvent::Joined { member } => Some(member.id),
        _ => None,
    };
    assert_eq!(ann.event_where(joined).await?, bob_id);
    assert_eq!(ann.event_where(joined).await?, cat_id);
    assert_eq!(bob.event_where(joined).await?, cat_id);
    assert_eq!(health(&server).await?["members"], 3);

    // Chat to everyone reaches everyone, with increasing sequence numbers.
    assert_eq!(
        bob.request(Action::Chat {
            to: None,
            text: "hi all".into()
        })
        .await?,
        Ok(())
    );
    for client in [&mut ann, &mut bob, &mut cat] {
        assert_eq!(
            client.event_where(chat_text).await?,
            ("hi all".to_owned(), None)
        );
    }

    // A private message reaches only its sender and recipient.
    assert_eq!(
        cat.request(Action::Chat {
            to: Some(ann_id),
            text: "psst".into()
        })
        .await?,
        Ok(())
    );
    assert_eq!(
        ann.event_where(chat_text).await?,
        ("psst".to_owned(), Some(ann_id))
    );
    assert_eq!(
        cat.event_where(chat_text).await?,
        ("psst".to_owned(), Some(ann_id))
    );
    assert!(
        bob.quiet().await?.is_empty(),
        "bob must not see the private message"
    );

    // Hands: Cat raises, everyone sees it; the host lowers it and Cat is told by whom.
    assert_eq!(cat.request(Action::RaiseHand).await?, Ok(()));
    for client in [&mut ann, &mut bob, &mut cat] {
        let raised = client
            .event_where(|e| match e {
                ServerEvent::Updated {
                    participant,
                    changes,
                } if *participant == cat_id => changes.hand_raised,
                _ => None,
            })
            .await?;
        assert!(raised);
    }
    assert_eq!(
        ann.request(Action::LowerHand {
            participant: Some(cat_id)
        })
        .await?,
        Ok(())
    );
    let by = cat
        .event_where(|e| match e {
            ServerEvent::YourHandLowered { by } => Some(*by),
            _ => None,
        })
        .await?;
    assert_eq!(by, ann_id);

    // A participant may not mute others; the error names the missing permission.
    match bob
        .request(Action::MuteAudio {
            participant: cat_id,
        })
        .await?
    {
        Err((ErrorCode::PermissionDenied, message)) => {
            assert!(message.contains("permission"), "{message}");
        }
        other => return Err(format!("participant mute was not refused: {other:?}").into()),
    }

    // The host mutes Bob: Bob is told by whom, the others see his state change.
    assert_eq!(
        ann.request(Action::MuteAudio {
            participant: bob_id
        })
        .await?,
        Ok(())
    );
    let by = bob
        .event_where(|e| match e {
            ServerEvent::YouWereMuted { by } => Some(*by),
            _ => None,
        })
        .await?;
    assert_eq!(by, ann_id);
    let muted = cat
        .event_where(|e| match e {
            ServerEvent::Updated {
                participant,
                changes,
            } if *participant == bob_id => changes.audio_muted,
            _ => None,
        })
        .await?;
    assert!(muted);

    // The host renames Cat.
    assert_eq!(
        ann.request(Action::Rename {
            participant: cat_id,
            name: "Catherine".into()
        })
        .await?,
        Ok(())
    );
    let name = cat
        .event_where(|e| match e {
            ServerEvent::YouWereRenamed { name, .. } => Some(name.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(name, "Catherine");

    // Host transfer: Bob becomes host, Ann a participant who can no longer end the session.
    assert_eq!(
        ann.request(Action::TransferHost {
            participant: bob_id
        })
        .await?,
        Ok(())
    );
    let role = bob
        .event_where(|e| match e {
            ServerEvent::YourRoleChanged { role, .. } => Some(*role),
            _ => None,
        })
        .await?;
    assert_eq!(role, Role::Host);
    match ann.request(Action::End).await? {
        Err((ErrorCode::PermissionDenied, _)) => {}
        other => return Err(format!("former host could end the session: {other:?}").into()),
    }

    // Lock: a fourth person cannot join.
    assert_eq!(
        bob.request(Action::LockSession { locked: true }).await?,
        Ok(())
    );
    let (code, _) = Client::join_refused(&url, join_message("weekly sync", "Dan")).await?;
    assert_eq!(code, ErrorCode::SessionLocked);

    // Remove: Cat is told and disconnected; the others see why she left.
    assert_eq!(
        bob.request(Action::Remove {
            participant: cat_id
        })
        .await?,
        Ok(())
    );
    let by = cat
        .event_where(|e| match e {
            ServerEvent::YouWereRemoved { by } => Some(*by),
            _ => None,
        })
        .await?;
    assert_eq!(by, bob_id);
    assert_eq!(cat.expect_closed().await?, Some(1000));
    let reason = ann
        .event_where(|e| match e {
            ServerEvent::Left {
                participant,
                reason,
            } if *participant == cat_id => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(reason, LeaveReason::Removed { by: bob_id });

    // End: everyone left is told why, and disconnected.
    assert_eq!(bob.request(Action::End).await?, Ok(()));
    for client in [&mut ann, &mut bob] {
        let reason = client
            .event_where(|e| match e {
                ServerEvent::SessionEnded { reason } => Some(reason.clone()),
                _ => None,
            })
            .await?;
        assert_eq!(reason, EndReason::EndedByHost { by: bob_id });
        assert_eq!(client.expect_closed().await?, Some(1000));
    }

    // The room is gone; a new join creates a fresh session with a new host.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&server).await?["rooms"] != 0 {
        if tokio::time::Instant::now() > deadline {
            return Err("room not dropped after it ended".into());
        }
        tokio::task::yield_now().await;
    }
    let (_eve, w_eve) = Client::join_open(&url, "weekly sync", "Eve").await?;
    assert_eq!(w_eve.role, Role::Host);
    assert_eq!(w_eve.members.len(), 1);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn leave_closes_only_the_leaver() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut ann, _) = Client::join_open(&url, "s", "Ann").await?;
    let (mut bob, w_bob) = Client::join_open(&url, "s", "Bob").await?;
    // Ann hears of Bob first (one who joins and leaves within a batch is never mentioned).
    ann.knows(w_bob.participant_id).await?;
    assert_eq!(bob.request(Action::Leave).await?, Ok(()));
    assert_eq!(bob.expect_closed().await?, Some(1000));
    let reason = ann
        .event_where(|e| match e {
            ServerEvent::Left {
                participant,
                reason,
            } if *participant == w_bob.participant_id => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(reason, LeaveReason::Left);
    let rest = ann.quiet().await?;
    assert!(
        rest.iter().all(|m| !matches!(
            m,
            ServerMessage::Event {
                event: ServerEvent::Left { .. }
            }
        )),
        "{rest:?}"
    );
    server.shutdown().await;
    Ok(())
}
