//! Three clients in one session: everyone's state shows everyone with the right roles, the
//! states agree after each change, chat goes where it is addressed, hands go up and down.

mod session_support;

use huddle_client::session::{Notice, SessionEvent};
use huddle_proto::Role;
use session_support::{drain, join, roster, start_open, wait_event, wait_state, TestResult};

#[tokio::test]
async fn three_clients_share_one_consistent_state() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "Weekly Sync", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "weekly sync", "Bo").await?;
    let (cy, mut cy_events) = join(&server, "WEEKLY SYNC", "Cy").await?;

    let ann_state = wait_state(&ann, "Ann sees three", |s| s.members.len() == 3).await?;
    let bo_state = wait_state(&bo, "Bo sees three", |s| s.members.len() == 3).await?;
    let cy_state = cy.state();
    assert_eq!(ann_state.role, Role::Host);
    assert_eq!(bo_state.role, Role::Participant);
    assert_eq!(cy_state.role, Role::Participant);
    let names: Vec<_> = cy_state
        .members
        .iter()
        .map(|m| (m.display_name.as_str(), m.role))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Ann", Role::Host),
            ("Bo", Role::Participant),
            ("Cy", Role::Participant)
        ]
    );
    assert_eq!(roster(&ann_state), roster(&bo_state));
    assert_eq!(roster(&ann_state), roster(&cy_state));
    assert_eq!(cy_state.me, cy_state.members[2].id);

    // Bo was told that Cy joined, by name.
    wait_event(
        &mut bo_events,
        "Cy joined notice",
        |e| matches!(e, SessionEvent::Notice(Notice::Joined { name, .. }) if name == "Cy"),
    )
    .await?;

    // Hands: Cy raises, everyone sees it; the host lowers it and Cy is told by whom.
    cy.raise_hand().await?;
    let cy_id = cy_state.me;
    for session in [&ann, &bo, &cy] {
        wait_state(session, "Cy's hand up", |s| {
            s.member(cy_id).is_some_and(|m| m.hand_raised)
        })
        .await?;
    }
    ann.lower_hand(Some(cy_id)).await?;
    wait_event(&mut cy_events, "hand lowered notice", |e| {
        matches!(e, SessionEvent::Notice(Notice::YourHandLowered { by_name, .. }) if by_name == "Ann")
    })
    .await?;
    for session in [&ann, &bo, &cy] {
        wait_state(session, "Cy's hand down", |s| {
            s.member(cy_id).is_some_and(|m| !m.hand_raised)
        })
        .await?;
    }
    assert_eq!(roster(&ann.state()), roster(&bo.state()));
    assert_eq!(roster(&ann.state()), roster(&cy.state()));

    // Chat to everyone reaches everyone; a private message only its recipient (and sender).
    drain(&mut bo_events);
    ann.chat("hello all").await?;
    ann.chat_to(cy_id, "just for Cy").await?;
    ann.chat("after the secret").await?;
    let texts = |s: &huddle_client::CallState| -> Vec<String> {
        s.chat.iter().map(|m| m.text.clone()).collect()
    };
    let cy_seen = wait_state(&cy, "Cy has three messages", |s| s.chat.len() == 3).await?;
    assert_eq!(
        texts(&cy_seen),
        vec!["hello all", "just for Cy", "after the secret"]
    );
    assert_eq!(cy_seen.chat[1].to, Some(cy_id));
    let bo_seen = wait_state(&bo, "Bo has the later message", |s| {
        s.chat.iter().any(|m| m.text == "after the secret")
    })
    .await?;
    assert_eq!(texts(&bo_seen), vec!["hello all", "after the secret"]);
    let ann_seen = wait_state(&ann, "Ann has her three", |s| s.chat.len() == 3).await?;
    assert_eq!(texts(&ann_seen), texts(&cy_seen));
    // Bo's chat events carried the public messages only.
    let bo_chat: Vec<String> = drain(&mut bo_events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Chat(m) => Some(m.text),
            _ => None,
        })
        .collect();
    assert!(!bo_chat.iter().any(|t| t == "just for Cy"), "{bo_chat:?}");

    for session in [&ann, &bo, &cy] {
        session.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}
