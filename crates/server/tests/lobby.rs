//! The waiting room over real WebSockets: a joiner waits (answering pings, refused anything
//! else), a host admits it (the welcome follows on the same connection) or denies it (told,
//! then closed), a joiner giving up leaves the lobby, resumes skip it, and the session ending
//! tells whoever still waits.

mod common;

use common::{join_message, resume_join, start_open, Answer, Client, TestResult};
use huddle_proto::{
    Action, ClientMessage, ErrorCode, LobbyExit, MediaEvent, RequestId, ServerEvent, ServerMessage,
    WaiterId,
};

/// Sends a join and expects to be told to wait; returns the lobby id.
async fn knock(url: &str, session: &str, name: &str) -> TestResult<(Client, WaiterId)> {
    let mut client = Client::connect(url).await?;
    client
        .send(&ClientMessage::Join(join_message(session, name)))
        .await?;
    match client.recv().await? {
        ServerMessage::Waiting {
            waiter,
            session_name,
        } => {
            assert_eq!(session_name, session);
            Ok((client, waiter))
        }
        other => Err(format!("expected waiting, got {other:?}").into()),
    }
}

/// A request's answer that must be `ok`.
fn ok(answer: Answer) -> TestResult {
    answer.map_err(|(code, message)| format!("refused: {code:?} {message}").into())
}

async fn waiter_joined(host: &mut Client) -> TestResult<(WaiterId, String)> {
    host.event_where(|e| match e {
        ServerEvent::WaiterJoined { waiter } => Some((waiter.id, waiter.display_name.clone())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_joiner_waits_until_the_host_lets_it_in() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "standup", "Hana").await?;
    assert_eq!(
        host.request(Action::SetWaitingRoom { on: true }).await?,
        Ok(())
    );
    let (mut guest, waiter) = knock(&url, "standup", "Gus").await?;
    assert_eq!(waiter_joined(&mut host).await?, (waiter, "Gus".to_owned()));

    // While waiting: pings are answered, anything else is refused and the wait goes on.
    assert!(guest.quiet().await?.is_empty());
    guest
        .send(&ClientMessage::Request {
            id: RequestId(7),
            action: Action::RaiseHand,
        })
        .await?;
    match guest.recv().await? {
        ServerMessage::Error {
            id: Some(RequestId(7)),
            code: ErrorCode::NotJoined,
            message,
        } => assert!(message.contains("lobby"), "{message}"),
        other => return Err(format!("expected not_joined, got {other:?}").into()),
    }

    assert_eq!(host.request(Action::Admit { waiter }).await?, Ok(()));
    let welcome = match guest.recv().await? {
        ServerMessage::Welcome(welcome) => welcome,
        other => return Err(format!("expected welcome, got {other:?}").into()),
    };
    assert!(welcome.members.iter().any(|m| m.display_name == "Hana"));
    assert!(welcome.session.waiting_room);
    match guest.recv().await? {
        ServerMessage::Media {
            media: MediaEvent::Ready { .. },
        } => {}
        other => return Err(format!("expected media ready, got {other:?}").into()),
    }
    host.knows(welcome.participant_id).await?;
    let exit = host
        .event_where(|e| match e {
            ServerEvent::WaiterLeft { waiter: w, exit } if *w == waiter => Some(exit.clone()),
            _ => None,
        })
        .await;
    // The lobby change may have been read before the join; either way the member is in.
    if let Ok(exit) = exit {
        assert!(
            matches!(exit, LobbyExit::Admitted { participant, .. } if participant == welcome.participant_id)
        );
    }
    // A member now: requests work.
    assert_eq!(guest.request(Action::RaiseHand).await?, Ok(()));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_denied_joiner_is_told_and_the_connection_closes() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "closed door", "Hana").await?;
    ok(host.request(Action::SetWaitingRoom { on: true }).await?)?;
    let (mut guest, waiter) = knock(&url, "closed door", "Mallory").await?;
    waiter_joined(&mut host).await?;
    assert_eq!(host.request(Action::Deny { waiter }).await?, Ok(()));
    match guest.recv().await? {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::Denied);
            assert!(message.contains("did not let you in"), "{message}");
        }
        other => return Err(format!("expected denied, got {other:?}").into()),
    }
    assert_eq!(guest.expect_closed().await?, Some(1008));
    // Denying again: nobody waits with that id.
    match host.request(Action::Deny { waiter }).await? {
        Err((code, _)) => assert_eq!(code, ErrorCode::NotWaiting),
        Ok(()) => return Err("a second deny succeeded".into()),
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn giving_up_leaves_the_lobby_and_the_hosts_are_told() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "impatience", "Hana").await?;
    ok(host.request(Action::SetWaitingRoom { on: true }).await?)?;
    let (guest, waiter) = knock(&url, "impatience", "Ivy").await?;
    waiter_joined(&mut host).await?;
    guest.drop_connection();
    let exit = host
        .event_where(|e| match e {
            ServerEvent::WaiterLeft { waiter: w, exit } if *w == waiter => Some(exit.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(exit, LobbyExit::Left);
    match host.request(Action::Admit { waiter }).await? {
        Err((code, _)) => assert_eq!(code, ErrorCode::NotWaiting),
        Ok(()) => return Err("admitted someone who left".into()),
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_resume_skips_the_lobby() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "comeback", "Hana").await?;
    let (pat, welcome) = Client::join_open(&url, "comeback", "Pat").await?;
    ok(host.request(Action::SetWaitingRoom { on: true }).await?)?;
    pat.drop_connection();
    let (_back, again) = Client::join(&url, resume_join("comeback", &welcome)).await?;
    assert!(again.resumed);
    assert_eq!(again.participant_id, welcome.participant_id);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_session_ending_tells_whoever_waits() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "last orders", "Hana").await?;
    ok(host.request(Action::SetWaitingRoom { on: true }).await?)?;
    let (mut guest, _) = knock(&url, "last orders", "Late").await?;
    waiter_joined(&mut host).await?;
    ok(host.request(Action::End).await?)?;
    match guest.recv().await? {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::SessionEnded),
        other => return Err(format!("expected session_ended, got {other:?}").into()),
    }
    guest.expect_closed().await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn turning_the_waiting_room_off_lets_everyone_in() -> TestResult {
    let server = start_open().await?;
    let url = server.ws_url();
    let (mut host, _) = Client::join_open(&url, "open doors", "Hana").await?;
    ok(host.request(Action::SetWaitingRoom { on: true }).await?)?;
    let (mut a, _) = knock(&url, "open doors", "A").await?;
    let (mut b, _) = knock(&url, "open doors", "B").await?;
    ok(host.request(Action::SetWaitingRoom { on: false }).await?)?;
    for guest in [&mut a, &mut b] {
        match guest.recv().await? {
            ServerMessage::Welcome(welcome) => assert!(!welcome.session.waiting_room),
            other => return Err(format!("expected welcome, got {other:?}").into()),
        }
    }
    server.shutdown().await;
    Ok(())
}
