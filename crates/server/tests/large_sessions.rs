//! A session with an audience, over real WebSockets: the welcome and pages as the protocol
//! says, batches that carry the audience as a count, and an audience flooding hand raises
//! that gets rate limited without disturbing anyone else.

mod common;

use common::{start_with, Client, TestResult};
use huddle_proto::{Action, ClientMessage, ErrorCode, RequestId, Role, ServerEvent, ServerMessage};
use huddle_server::ServerConfig;

fn config(max_active: usize) -> ServerConfig {
    let mut config = ServerConfig::open_loopback();
    config.max_active = max_active;
    config
}

/// Sends a `roster_page` and waits for its answer (other messages stay buffered).
async fn page(
    client: &mut Client,
    id: u64,
    after: Option<String>,
    limit: u32,
    search: Option<&str>,
) -> TestResult<ServerMessage> {
    client
        .send(&ClientMessage::RosterPage {
            id: RequestId(id),
            after,
            limit,
            search: search.map(str::to_owned),
        })
        .await?;
    loop {
        let message = client.recv().await?;
        if matches!(
            message,
            ServerMessage::RosterPage { .. } | ServerMessage::Error { id: Some(_), .. }
        ) {
            return Ok(message);
        }
    }
}

#[tokio::test]
async fn the_audience_is_a_count_and_pages_and_joins_reach_it_as_a_count() -> TestResult {
    let server = start_with(config(3)).await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "webinar", "Host").await?;
    let mut crowd = Vec::new();
    for i in 0..12 {
        crowd.push(Client::join_open(&url, "webinar", &format!("fan {i:02}")).await?);
    }
    // Two more publishers fit on the stage; the other ten are audience.
    let (_, welcome) = crowd.last().ok_or("nobody")?;
    assert_eq!(welcome.role, Role::Audience);
    assert_eq!(welcome.members.len(), 4, "the stage and the newcomer");
    assert_eq!(welcome.audience.count, 10);
    let stage_member = &mut crowd[0].0;
    stage_member.raw();
    // The joins so far may all be folded into one batch; wait until it has come.
    stage_member
        .event_where(|e| {
            matches!(
                e,
                ServerEvent::MembersChanged {
                    audience_count: 10,
                    ..
                }
            )
            .then_some(())
        })
        .await?;
    // A participant hears of an audience join only as a count.
    let (_late, _) = Client::join_open(&url, "webinar", "late fan").await?;
    let count = stage_member
        .event_where(|e| match e {
            ServerEvent::MembersChanged {
                members,
                audience_count,
                ..
            } if members.is_empty() => Some(*audience_count),
            _ => None,
        })
        .await?;
    assert_eq!(count, 11);
    // Pages of 4 walk the audience in join order; a search finds one name.
    let mut names = Vec::new();
    let mut after = None;
    for id in 1..10 {
        let ServerMessage::RosterPage { page: p, .. } = page(&mut host, id, after, 4, None).await?
        else {
            return Err("a page was refused".into());
        };
        assert_eq!(p.count, 11);
        names.extend(p.members.iter().map(|m| m.display_name.clone()));
        match p.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(names.len(), 11);
    assert_eq!(names.first().map(String::as_str), Some("fan 02"));
    assert_eq!(names.last().map(String::as_str), Some("late fan"));
    let ServerMessage::RosterPage { page: found, .. } =
        page(&mut host, 20, None, 10, Some("FAN 07")).await?
    else {
        return Err("the search was refused".into());
    };
    assert_eq!(found.count, 1);
    assert_eq!(found.members[0].display_name, "fan 07");
    // Absurd requests get clear errors, and the connection carries on.
    let refused = page(&mut host, 21, None, 0, None).await?;
    assert!(
        matches!(&refused, ServerMessage::Error { id: Some(RequestId(21)), code: ErrorCode::InvalidMessage, message } if message.contains("1 to 500")),
        "{refused:?}"
    );
    let refused = page(
        &mut host,
        22,
        Some("0123456789abcdef.3".to_owned()),
        5,
        None,
    )
    .await?;
    assert!(
        matches!(
            refused,
            ServerMessage::Error {
                id: Some(RequestId(22)),
                code: ErrorCode::InvalidCursor,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(host.request(Action::RaiseHand).await?, Ok(()));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_audience_flooding_hands_is_rate_limited_and_nobody_else_notices() -> TestResult {
    let server = start_with(config(3)).await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "flood", "Host").await?;
    let (mut speaker, _) = Client::join_open(&url, "flood", "Speaker").await?;
    let (mut listener, _) = Client::join_open(&url, "flood", "Listener").await?;
    let mut fans = Vec::new();
    for i in 0..20 {
        fans.push(
            Client::join_open(&url, "flood", &format!("fan {i}"))
                .await?
                .0,
        );
    }
    // Every fan sends 120 hand raises and lowers as fast as it can: far past the rate limit
    // of 20 a second with bursts of 50.
    let mut limited = 0;
    for fan in &mut fans {
        for n in 0..120u64 {
            let action = if n % 2 == 0 {
                Action::RaiseHand
            } else {
                Action::LowerHand { participant: None }
            };
            fan.send(&ClientMessage::Request {
                id: RequestId(1_000 + n),
                action,
            })
            .await?;
        }
    }
    // Meanwhile the stage carries on: a chat reaches the listener, a request is answered.
    assert_eq!(
        speaker
            .request(Action::Chat {
                to: None,
                text: "still here".into()
            })
            .await?,
        Ok(())
    );
    let text = listener
        .event_where(|e| match e {
            ServerEvent::Chat { message } => Some(message.text.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(text, "still here");
    // Each fan was told it was rate limited, with the request's id (the limiter answers at
    // once, before the room's answers to what it let through).
    for fan in &mut fans {
        loop {
            if let ServerMessage::Error {
                id: Some(RequestId(id)),
                code: ErrorCode::RateLimited,
                ..
            } = fan.recv().await?
            {
                assert!((1_000..1_120).contains(&id), "{id}");
                limited += 1;
                break;
            }
        }
    }
    assert_eq!(limited, 20);
    // Once the limiter has refilled a little, each fan is still a member that is answered.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for fan in &mut fans {
        assert_eq!(fan.request(Action::RaiseHand).await?, Ok(()));
    }
    // And the host, who sees every audience hand, is not cut by the flood either.
    assert_eq!(host.request(Action::MuteAll).await?, Ok(()));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_member_whose_view_changes_hears_the_batch_then_gets_the_new_view() -> TestResult {
    let server = start_with(config(3)).await?;
    let url = server.ws_url();
    let (mut ann, _) = Client::join_open(&url, "handover", "Ann").await?;
    let (mut bob, w_bob) = Client::join_open(&url, "handover", "Bob").await?;
    ann.knows(w_bob.participant_id).await?;
    bob.raw();
    // Ann leaves: Bob becomes host, which moves him from the stage view to seeing everyone.
    assert_eq!(ann.request(Action::Leave).await?, Ok(()));
    let left = bob
        .event_where(|e| match e {
            ServerEvent::MembersChanged { left, .. } if !left.is_empty() => {
                Some(left.iter().map(|d| d.participant).collect::<Vec<_>>())
            }
            _ => None,
        })
        .await?;
    assert_eq!(left.len(), 1, "Bob hears that Ann left");
    loop {
        if let ServerMessage::Resync(resync) = bob.recv().await? {
            assert_eq!(resync.role, Role::Host);
            assert_eq!(resync.members.len(), 1);
            break;
        }
    }
    server.shutdown().await;
    Ok(())
}
