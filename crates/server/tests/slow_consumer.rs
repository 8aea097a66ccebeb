//! A member that stops reading is cut off once its bounded queue fills, instead of the room
//! buffering for it without end; the others see it turn `reconnecting` and carry on.

mod common;

use common::TestResult;
use huddle_proto::{
    Action, ConnectionState, DisplayName, ParticipantId, RequestId, ResumeKey, ServerEvent,
    ServerMessage, SessionName,
};
use huddle_server::driver::{JoinParams, RoomCommand};
use huddle_server::outbox::{self, ConnId, Inbox, Outgoing};
use huddle_server::state::AppState;
use huddle_server::ServerConfig;
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

#[tokio::test]
async fn a_member_that_stops_reading_is_cut() -> TestResult {
    let mut config = ServerConfig::open_loopback();
    config.outbox_capacity = 8;
    let state = AppState::new(config);
    let name = SessionName::parse("slow")?;
    let room = state
        .registry
        .room_for(&name, None)
        .map_err(|e| format!("no room: {e:?}"))?;

    let join = |display: &'static str, conn: u64| {
        let (outbox, inbox) = outbox::channel(ConnId(conn), 8);
        let (reply, answer) = oneshot::channel();
        let command = RoomCommand::Join {
            params: params(&name, display),
            outbox,
            reply,
        };
        (command, inbox, answer)
    };
    let (command, mut reader, answer) = join("reader", 1);
    room.tx.send(command).await?;
    let reader_id: ParticipantId = answer.await?.map_err(|e| format!("{e:?}"))?;
    let (command, sleeper, answer) = join("sleeper", 2);
    room.tx.send(command).await?;
    let sleeper_id: ParticipantId = answer.await?.map_err(|e| format!("{e:?}"))?;

    // The reader chats; the sleeper reads nothing, so its eight slots fill and it is cut.
    let mut cut_seen = false;
    for n in 0..40u64 {
        room.tx
            .send(RoomCommand::Request {
                who: reader_id,
                conn: ConnId(1),
                id: RequestId(n),
                action: Action::Chat {
                    to: None,
                    text: format!("message {n}"),
                },
            })
            .await?;
        // The reader keeps up with its own queue and watches for the sleeper's drop.
        loop {
            match next_message(&mut reader).await? {
                ServerMessage::Ok { id } if id == RequestId(n) => break,
                ServerMessage::Event {
                    event:
                        ServerEvent::Updated {
                            participant,
                            changes,
                        },
                } if participant == sleeper_id => {
                    assert_eq!(changes.connection, Some(ConnectionState::Reconnecting));
                    cut_seen = true;
                }
                _ => {}
            }
        }
        if cut_seen {
            break;
        }
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
