//! A member that stops reading falls behind once its bounded queue fills: the room drops what
//! it would have sent instead of buffering without end, and once the member has read its
//! queue down it gets the state afresh (`resync`) and carries on, nobody else the wiser. One
//! that takes nothing for the behind limit is cut off; the others see it turn
//! `reconnecting`.

mod common;

use common::TestResult;
use huddle_proto::{
    Action, ConnectionState, DisplayName, ParticipantId, RequestId, ResumeKey, ServerEvent,
    ServerMessage, SessionName,
};
use huddle_server::driver::{JoinAnswer, JoinParams, RoomCommand};
use huddle_server::outbox::{self, ConnId, Inbox, Outgoing};
use huddle_server::registry::RoomRef;
use huddle_server::state::AppState;
use huddle_server::ServerConfig;
use std::time::Duration;
use tokio::sync::oneshot;

fn params(name: &SessionName, display: &str) -> JoinParams {
    JoinParams {
        name: name.clone(),
        display_name: DisplayName::new(display),
        passcode: None,
        token_role: None,
        identity: None,
        session_key: None,
        token_expires_at: None,
        resume: None,
        resume_key: ResumeKey(format!("key-of-{display}")),
        audio_muted: false,
        video_on: false,
        idle_timeout_mins: None,
    }
}

async fn next_message(inbox: &mut Inbox) -> TestResult<ServerMessage> {
    let item = tokio::time::timeout(common::PATIENCE, inbox.rx.recv())
        .await?
        .ok_or("outbox closed")?;
    match item {
        Outgoing::Frame(text) => Ok(huddle_proto::decode_server(text.as_str())?),
        Outgoing::Close { code, reason } => Err(format!("closed {code} {reason}").into()),
    }
}

/// A room with a reader and a sleeper, each on an outbox of eight.
async fn two_members(
    config: ServerConfig,
) -> TestResult<(
    std::sync::Arc<AppState>,
    RoomRef,
    (ParticipantId, Inbox),
    (ParticipantId, Inbox),
)> {
    let state = AppState::new(config);
    let name = SessionName::parse("slow")?;
    let room = state
        .registry
        .room_for(&name, None)
        .map_err(|e| format!("no room: {e:?}"))?;
    let mut members = Vec::new();
    for (display, conn) in [("reader", 1), ("sleeper", 2)] {
        let (outbox, inbox) = outbox::channel(ConnId(conn), 8);
        let (reply, answer) = oneshot::channel();
        room.tx
            .send(RoomCommand::Join {
                params: params(&name, display),
                outbox,
                reply,
            })
            .await?;
        let id = match answer.await?.map_err(|e| format!("{e:?}"))? {
            JoinAnswer::Member(id) => id,
            JoinAnswer::Waiting { .. } => return Err("the join waits in a lobby".into()),
        };
        members.push((id, inbox));
    }
    let sleeper = members.pop().ok_or("no sleeper")?;
    let reader = members.pop().ok_or("no reader")?;
    Ok((state, room, reader, sleeper))
}

/// The reader chats message `n` and reads its queue up to the answer; true when it saw the
/// sleeper turn `reconnecting` meanwhile.
async fn chat(
    room: &RoomRef,
    reader: &mut (ParticipantId, Inbox),
    sleeper: ParticipantId,
    n: u64,
) -> TestResult<bool> {
    room.tx
        .send(RoomCommand::Request {
            who: reader.0,
            conn: ConnId(1),
            id: RequestId(n),
            action: Action::Chat {
                to: None,
                text: format!("message {n}"),
            },
        })
        .await?;
    let mut cut = false;
    loop {
        match next_message(&mut reader.1).await? {
            ServerMessage::Ok { id } if id == RequestId(n) => return Ok(cut),
            ServerMessage::Event {
                event:
                    ServerEvent::MembersChanged {
                        updated, members, ..
                    },
            } => {
                let dropped = |c: Option<ConnectionState>| c == Some(ConnectionState::Reconnecting);
                cut |= updated
                    .iter()
                    .any(|u| u.participant == sleeper && dropped(u.changes.connection));
                cut |= members
                    .iter()
                    .any(|m| m.id == sleeper && dropped(Some(m.connection)));
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_member_that_falls_behind_is_resynced_not_cut() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.outbox_capacity = 8;
    let (state, room, mut reader, (sleeper_id, mut sleeper)) = two_members(config).await?;

    // The reader chats 40 times; the sleeper reads nothing meanwhile, so its eight slots
    // fill and the rest is dropped for it.
    for n in 0..40u64 {
        assert!(
            !chat(&room, &mut reader, sleeper_id, n).await?,
            "the sleeper was cut"
        );
    }
    assert!(
        sleeper.rx.len() <= 8,
        "queued {} for the sleeper",
        sleeper.rx.len()
    );
    assert!(!sleeper.kill.is_cancelled());

    // The sleeper wakes and reads: after what was queued comes a resync naming the newest
    // chat, from which it can ask for what it missed.
    let mut resync = None;
    for _ in 0..20 {
        if let ServerMessage::Resync(r) = next_message(&mut sleeper).await? {
            resync = Some(r);
            break;
        }
    }
    let resync = resync.ok_or("no resync after the queue drained")?;
    assert_eq!(resync.members.len(), 2);
    let last = resync.last_chat_seq.ok_or("no chat seq")?;
    assert!(last.0 >= 40, "last chat seq {last:?}");
    // From then on it is sent everything again.
    assert!(!chat(&room, &mut reader, sleeper_id, 40).await?);
    match next_message(&mut sleeper).await? {
        ServerMessage::Event {
            event: ServerEvent::Chat { message },
        } => assert_eq!(message.text, "message 40"),
        other => return Err(format!("expected the next chat, got {other:?}").into()),
    }
    assert!(!sleeper.kill.is_cancelled());
    state.registry.shutdown_all().await;
    Ok(())
}

#[tokio::test]
async fn a_member_that_takes_nothing_for_the_behind_limit_is_cut() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.outbox_capacity = 8;
    config.behind_limit = Duration::from_millis(400);
    let (state, room, mut reader, (sleeper_id, sleeper)) = two_members(config).await?;
    let mut cut_seen = false;
    for n in 0..200u64 {
        if chat(&room, &mut reader, sleeper_id, n).await? {
            cut_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cut_seen, "the sleeper was never cut");
    assert!(
        sleeper.kill.is_cancelled(),
        "the sleeper's connection was not told to close"
    );
    // What it holds is bounded by the queue, not by what the room produced.
    assert!(sleeper.rx.len() <= 8);
    state.registry.shutdown_all().await;
    Ok(())
}
