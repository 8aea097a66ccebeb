//! Joining a session with a waiting room through the client: the join says it waits, the
//! host sees the lobby in its state, admitting returns the join, denying refuses it in words.

mod session_support;

use huddle_client::session::{self, LobbyNotice};
use huddle_client::ClientError;
use huddle_proto::ErrorCode;
use session_support::{join, options, start_open, wait_state, TestResult, PATIENCE};

#[tokio::test]
async fn a_join_waits_in_the_lobby_until_the_host_lets_it_in() -> TestResult {
    let server = start_open().await?;
    let (host, _events) = join(&server, "lobby", "Hana").await?;
    host.set_waiting_room(true).await?;
    wait_state(&host, "waiting room on", |s| s.session.waiting_room).await?;

    let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
    let mut guest_options = options(&server, "lobby", "Gus");
    guest_options.on_waiting = Some(tell);
    let guest = tokio::spawn(session::join(guest_options));
    let notice: LobbyNotice = tokio::time::timeout(PATIENCE, told.recv())
        .await?
        .ok_or("never told to wait")?;
    assert_eq!(notice.session_name, "lobby");
    let state = wait_state(&host, "Gus in the lobby", |s| {
        s.lobby.iter().any(|w| w.display_name == "Gus")
    })
    .await?;
    assert_eq!(state.lobby.first().map(|w| w.id), Some(notice.waiter));
    assert!(
        !guest.is_finished(),
        "the join returned before anyone let it in"
    );

    host.admit(notice.waiter).await?;
    let (guest, _guest_events) = tokio::time::timeout(PATIENCE, guest).await???;
    let me = guest.state();
    assert!(me.members.iter().any(|m| m.display_name == "Hana"));
    wait_state(&host, "Gus a member, the lobby empty", |s| {
        s.lobby.is_empty() && s.members.iter().any(|m| m.display_name == "Gus")
    })
    .await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_denied_join_is_refused_in_words() -> TestResult {
    let server = start_open().await?;
    let (host, _events) = join(&server, "no entry", "Hana").await?;
    host.set_waiting_room(true).await?;
    let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
    let mut guest_options = options(&server, "no entry", "Mallory");
    guest_options.on_waiting = Some(tell);
    let guest = tokio::spawn(session::join(guest_options));
    let notice = tokio::time::timeout(PATIENCE, told.recv())
        .await?
        .ok_or("never told to wait")?;
    host.deny(notice.waiter).await?;
    match tokio::time::timeout(PATIENCE, guest).await?? {
        Err(ClientError::JoinRefused { code, message }) => {
            assert_eq!(code, ErrorCode::Denied);
            assert!(message.contains("did not let you in"), "{message}");
        }
        Err(other) => return Err(format!("refused otherwise: {other}").into()),
        Ok(_) => return Err("a denied join got in".into()),
    }
    server.shutdown().await;
    Ok(())
}
