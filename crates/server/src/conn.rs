//! One WebSocket connection: framing, limits, heartbeats, the join handshake, and relaying
//! between the socket and the member's room task.
//!
//! Everything a client sends is untrusted: frames are size-limited by the WebSocket layer,
//! rate-limited here, decoded by `huddle_proto::decode_client` and answered with a clear
//! `error` when wrong. Nothing a client sends can affect another connection except through
//! the room's rules.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures_util::SinkExt as _;
use huddle_proto::{
    decode_client, ClientMessage, DisplayName, ErrorCode, Join, MediaEvent, MediaRequest,
    ParticipantId, Passcode, RequestId, ResumeKey, ServerMessage, SessionName, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use crate::auth::{unix_now, TokenError};
use crate::driver::{JoinAnswer, JoinParams, JoinRefusal, RoomCommand};
use crate::gate::Ticket;
use crate::outbox::{self, ConnId, Inbox, Outbox, Outgoing};
use crate::ratelimit::{ConnectionLimiter, Verdict};
use crate::registry::{NoRoom, RoomRef};
use crate::state::AppState;

/// Close code for refused joins, protocol violations and flooding.
const CLOSE_POLICY: u16 = huddle_proto::limits::CLOSE_POLICY_VIOLATION;
/// Close code for binary frames.
const CLOSE_UNSUPPORTED: u16 = 1003;
/// Close code for frames over the size limit.
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code when the server goes away.
const CLOSE_GOING_AWAY: u16 = 1001;

/// Joins attempted against a room that ended in the meantime before giving up.
const JOIN_ATTEMPTS: usize = 3;

/// Most queued frames written with one flush.
const WRITE_BATCH: usize = 64;

/// Longest a single frame write may take before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one upgraded WebSocket until it closes. `ticket` is its place at the gate, held as
/// long as the socket is open.
pub async fn serve(mut socket: WebSocket, conn: ConnId, state: Arc<AppState>, ticket: Arc<Ticket>) {
    let _guard = state.connection_guard();

    let mut limiter = ConnectionLimiter::new(state.config.rate_limit, std::time::Instant::now());
    let Some(join) = wait_for_join(&mut socket, &state, &mut limiter, &ticket).await else {
        return;
    };
    // What it sends next is a member's traffic, bounded by the frame limit and rate.
    ticket.joined();
    let params = match admit(&join, &state) {
        Ok(params) => params,
        Err((code, message)) => {
            tracing::info!(%code, %message, "join refused");
            refuse(&mut socket, None, code, message, CLOSE_POLICY).await;
            return;
        }
    };
    let (outbox, inbox) = outbox::channel(conn, state.config.outbox_capacity);
    let mut joined = None;
    for _ in 0..JOIN_ATTEMPTS {
        let room = match state
            .registry
            .room_for(&params.name, params.session_key.as_deref())
        {
            Ok(room) => room,
            Err(why) => {
                let (code, message, close_code) = no_room(&why);
                tracing::info!(%code, %message, "join refused");
                refuse(&mut socket, None, code, message, close_code).await;
                return;
            }
        };
        let (reply, answer) = oneshot::channel();
        let command = RoomCommand::Join {
            params: params.clone(),
            outbox: outbox.clone(),
            reply,
        };
        if room.tx.send(command).await.is_err() {
            continue;
        }
        match answer.await {
            Ok(Ok(JoinAnswer::Member(who))) => {
                joined = Some((room, who));
                break;
            }
            Ok(Ok(JoinAnswer::Waiting {
                waiter,
                session_name,
                admission,
            })) => {
                tracing::info!(session = %params.name.key(), %waiter, "waiting in the lobby");
                let waited = Lobby {
                    waiter,
                    session_name,
                    admission,
                };
                match wait_in_lobby(&mut socket, &state, &mut limiter, waited).await {
                    Some(who) => {
                        joined = Some((room, who));
                        break;
                    }
                    None => {
                        // Gave up, or was turned away (then the room forgot it already).
                        let _ = room.tx.send(RoomCommand::LeaveLobby { waiter }).await;
                        return;
                    }
                }
            }
            Ok(Err(JoinRefusal::Refused { code, message })) => {
                tracing::info!(%code, %message, "join refused by room");
                refuse(&mut socket, None, code, message, CLOSE_POLICY).await;
                return;
            }
            // The room ended between lookup and join: try again with a fresh one.
            Ok(Err(JoinRefusal::Ended)) | Err(_) => continue,
        }
    }
    let Some((room, who)) = joined else {
        refuse(
            &mut socket,
            None,
            ErrorCode::Internal,
            "the session could not be joined, try again".to_owned(),
            outbox::CLOSE_NORMAL,
        )
        .await;
        return;
    };
    tracing::info!(session = %params.name.key(), participant = %who, "joined");
    let link = Link {
        conn,
        who,
        room: &room,
        outbox: &outbox,
    };
    let end = relay(&mut socket, &state, &link, inbox, &mut limiter).await;
    tracing::info!(participant = %who, ?end, "connection closed");
    // The room ignores this when it already let the member go or a resume took its place.
    let _ = room.tx.send(RoomCommand::Disconnected { who, conn }).await;
}

/// What one frame read from the socket holds: a text frame (`Some`), a control frame
/// (`None`; tungstenite answers pings itself), or the end of the connection (`Err`), after
/// telling the peer why when it was at fault (a frame over `limit`, a binary frame).
async fn read_text(
    socket: &mut WebSocket,
    frame: Option<Result<Message, axum::Error>>,
    limit: usize,
) -> Result<Option<Utf8Bytes>, End> {
    match frame {
        Some(Ok(Message::Text(text))) if text.len() > limit => {
            frame_too_big(socket, limit).await;
            Err(End::TooBig)
        }
        Some(Ok(Message::Text(text))) => Ok(Some(text)),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
        Some(Ok(Message::Binary(_))) => {
            refuse(
                socket,
                None,
                ErrorCode::BinaryFrame,
                "binary frames are not part of the protocol".to_owned(),
                CLOSE_UNSUPPORTED,
            )
            .await;
            Err(End::Binary)
        }
        Some(Ok(Message::Close(_))) | None => Err(End::ClientClosed),
        Some(Err(e)) => Err(if read_error(socket, &e, limit).await {
            End::TooBig
        } else {
            End::ReadError
        }),
    }
}

/// A place in a session's lobby.
struct Lobby {
    waiter: huddle_proto::WaiterId,
    session_name: String,
    admission: oneshot::Receiver<Result<ParticipantId, JoinRefusal>>,
}

/// Tells the joiner it waits, then waits for a host or manager to let it in (the member's
/// id) or turn it away, answering `ping` meanwhile. `None` when it was turned away, gave up,
/// fell silent past the heartbeat timeout, or the server is shutting down; the socket is
/// closed then, with the reason.
async fn wait_in_lobby(
    socket: &mut WebSocket,
    state: &AppState,
    limiter: &mut ConnectionLimiter,
    lobby: Lobby,
) -> Option<ParticipantId> {
    let Lobby {
        waiter,
        session_name,
        mut admission,
    } = lobby;
    let told = send_message(
        socket,
        &ServerMessage::Waiting {
            waiter,
            session_name,
        },
    )
    .await;
    if told.is_err() {
        return None;
    }
    let timeout = state.config.heartbeat_timeout;
    let limit = state.config.limits.max_prejoin_frame_bytes;
    let mut silence_deadline = Instant::now() + timeout;
    loop {
        tokio::select! {
            answer = &mut admission => {
                return match answer {
                    Ok(Ok(who)) => Some(who),
                    Ok(Err(JoinRefusal::Refused { code, message })) => {
                        tracing::info!(%code, %message, "turned away from the lobby");
                        refuse(socket, None, code, message, CLOSE_POLICY).await;
                        None
                    }
                    Ok(Err(JoinRefusal::Ended)) | Err(_) => {
                        refuse(
                            socket,
                            None,
                            ErrorCode::SessionEnded,
                            "the session ended while you waited".to_owned(),
                            outbox::CLOSE_NORMAL,
                        )
                        .await;
                        None
                    }
                };
            }
            _ = state.shutdown.cancelled() => {
                refuse_shutting_down(socket).await;
                return None;
            }
            _ = sleep_until(silence_deadline) => {
                refuse(
                    socket,
                    None,
                    ErrorCode::HeartbeatTimeout,
                    format!("nothing received for {} ms", timeout.as_millis()),
                    CLOSE_POLICY,
                )
                .await;
                return None;
            }
            frame = socket.recv() => {
                silence_deadline = Instant::now() + timeout;
                let text = match read_text(socket, frame, limit).await {
                    Ok(Some(text)) => text,
                    Ok(None) => {
                        if state.config.limits.rate_limit_control_frames
                            && limiter.check(std::time::Instant::now()) == Verdict::Close
                        {
                            close_for_flooding(socket).await;
                            return None;
                        }
                        continue;
                    }
                    Err(_) => return None,
                };
                if limiter.check(std::time::Instant::now()) != Verdict::Allow {
                    close_for_flooding(socket).await;
                    return None;
                }
                let answer = match decode_client(&text) {
                    Ok(ClientMessage::Ping { nonce }) => ServerMessage::Pong { nonce },
                    Ok(
                        ClientMessage::Request { id, .. }
                        | ClientMessage::ChatHistory { id, .. }
                        | ClientMessage::RosterPage { id, .. },
                    ) => ServerMessage::error(
                        Some(id),
                        ErrorCode::NotJoined,
                        "waiting in the lobby: nothing but ping until a host lets you in",
                    ),
                    Ok(ClientMessage::Join(_)) => ServerMessage::error(
                        None,
                        ErrorCode::AlreadyJoined,
                        "this connection already waits in the lobby",
                    ),
                    Ok(ClientMessage::Media { .. }) => ServerMessage::error(
                        None,
                        ErrorCode::NotJoined,
                        "waiting in the lobby: media starts once a host lets you in",
                    ),
                    Err(e) => ServerMessage::error(None, e.code(), e.to_string()),
                };
                if send_message(socket, &answer).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// How a joined connection ended, for the log.
#[derive(Debug)]
enum End {
    RoomClosed,
    ClientClosed,
    Flooding,
    Binary,
    TooBig,
    ReadError,
    WriteFailed,
    HeartbeatTimeout,
    TooSlow,
    RoomGone,
}

/// Waits for the first message, which must be `join`.
async fn wait_for_join(
    socket: &mut WebSocket,
    state: &AppState,
    limiter: &mut ConnectionLimiter,
    ticket: &Ticket,
) -> Option<Join> {
    let deadline = Instant::now() + state.config.join_timeout;
    let limit = state.config.limits.max_prejoin_frame_bytes;
    loop {
        let frame = tokio::select! {
            _ = sleep_until(deadline) => {
                refuse(
                    socket,
                    None,
                    ErrorCode::JoinTimeout,
                    format!("no join within {} ms", state.config.join_timeout.as_millis()),
                    CLOSE_POLICY,
                )
                .await;
                return None;
            }
            _ = state.shutdown.cancelled() => {
                refuse_shutting_down(socket).await;
                return None;
            }
            _ = ticket.evicted().cancelled() => {
                // A newer connection needed the place; this one had not joined.
                close(socket, outbox::CLOSE_TOO_SLOW, "server busy, try again").await;
                return None;
            }
            frame = socket.recv() => frame,
        };
        let text = match read_text(socket, frame, limit).await {
            Ok(Some(text)) => text,
            Ok(None) if !state.config.limits.rate_limit_control_frames => continue,
            Ok(None) => {
                if limiter.check(std::time::Instant::now()) == Verdict::Allow {
                    continue;
                }
                refuse(
                    socket,
                    None,
                    ErrorCode::RateLimited,
                    "too many ping frames before join".to_owned(),
                    CLOSE_POLICY,
                )
                .await;
                return None;
            }
            Err(_) => return None,
        };
        if limiter.check(std::time::Instant::now()) != Verdict::Allow {
            refuse(
                socket,
                None,
                ErrorCode::RateLimited,
                "too many messages before join".to_owned(),
                CLOSE_POLICY,
            )
            .await;
            return None;
        }
        match decode_client(&text) {
            Ok(ClientMessage::Join(join)) => return Some(join),
            Ok(ClientMessage::Ping { nonce }) => {
                if send_message(socket, &ServerMessage::Pong { nonce })
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            Ok(ClientMessage::Media { .. }) => {
                refuse(
                    socket,
                    None,
                    ErrorCode::NotJoined,
                    "the first message must be join".to_owned(),
                    CLOSE_POLICY,
                )
                .await;
                return None;
            }
            Ok(
                ClientMessage::Request { id, .. }
                | ClientMessage::ChatHistory { id, .. }
                | ClientMessage::RosterPage { id, .. },
            ) => {
                refuse(
                    socket,
                    Some(id),
                    ErrorCode::NotJoined,
                    "the first message must be join".to_owned(),
                    CLOSE_POLICY,
                )
                .await;
                return None;
            }
            Err(e) => {
                refuse(socket, None, e.code(), e.to_string(), CLOSE_POLICY).await;
                return None;
            }
        }
    }
}

/// Refuses a connection that has not joined (yet) because the server is shutting down.
async fn refuse_shutting_down(socket: &mut WebSocket) {
    let (code, message, close_code) = no_room(&NoRoom::ShuttingDown);
    refuse(socket, None, code, message, close_code).await;
}

/// The refusal of a join that got no room: code, message and close code.
fn no_room(why: &NoRoom) -> (ErrorCode, String, u16) {
    match why {
        NoRoom::ShuttingDown => (
            ErrorCode::SessionEnded,
            "the server is shutting down".to_owned(),
            CLOSE_GOING_AWAY,
        ),
        NoRoom::OtherInstance => (
            ErrorCode::TokenWrongSession,
            "the token is for another instance of this session (its session_key differs)"
                .to_owned(),
            CLOSE_POLICY,
        ),
        NoRoom::InstanceEnded => (
            ErrorCode::SessionEnded,
            "the session instance this token was issued for has ended".to_owned(),
            CLOSE_POLICY,
        ),
        NoRoom::TooManyRooms(max) => (
            ErrorCode::SessionFull,
            format!("this server holds as many sessions as it may ({max}); try again later"),
            CLOSE_POLICY,
        ),
    }
}

/// Checks a join against the protocol version, input rules and the admission mode.
fn admit(join: &Join, state: &AppState) -> Result<JoinParams, (ErrorCode, String)> {
    if join.protocol_version != PROTOCOL_VERSION {
        return Err((
            ErrorCode::UnsupportedVersion,
            format!(
                "protocol version {} is not supported; this server speaks version {PROTOCOL_VERSION} \
                 only (supported: [{PROTOCOL_VERSION}]); update the app",
                join.protocol_version
            ),
        ));
    }
    let name = SessionName::parse(&join.session_name).map_err(|e| (e.code(), e.to_string()))?;
    let passcode = join
        .passcode
        .as_deref()
        .map(Passcode::parse)
        .transpose()
        .map_err(|e| (e.code(), e.to_string()))?;
    let (role, identity, session_key, expires_at) = match &state.verifier {
        None => (None, None, None, None),
        Some(verifier) => {
            let token = join.token.as_deref().ok_or(TokenError::Missing);
            let verified = token
                .and_then(|token| verifier.verify(token, name.key(), unix_now()))
                .map_err(|e| {
                    tracing::info!(reason = e.reason(), "token refused");
                    (e.wire_code(), e.to_string())
                })?;
            (
                Some(verified.role),
                verified.identity,
                verified.session_key,
                Some(verified.expires_at),
            )
        }
    };
    let resume_key = new_resume_key().map_err(|e| (ErrorCode::Internal, e))?;
    Ok(JoinParams {
        name,
        display_name: DisplayName::new(&join.display_name),
        passcode,
        token_role: role,
        identity,
        session_key,
        token_expires_at: expires_at,
        resume: join.resume.clone(),
        resume_key,
        audio_muted: join.audio_muted,
        video_on: join.video_on,
        idle_timeout_mins: join.idle_timeout_mins,
    })
}

/// 256 random bits, base64url: unguessable, and safe in JSON and logs' absence.
fn new_resume_key() -> Result<ResumeKey, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("random source failed: {e}"))?;
    Ok(ResumeKey(URL_SAFE_NO_PAD.encode(bytes)))
}

/// Relays between a joined member's socket and its room until either side ends.
/// A joined connection: who it is and where its messages go.
struct Link<'a> {
    conn: ConnId,
    who: ParticipantId,
    room: &'a RoomRef,
    outbox: &'a Outbox,
}

async fn relay(
    socket: &mut WebSocket,
    state: &AppState,
    link: &Link<'_>,
    mut inbox: Inbox,
    limiter: &mut ConnectionLimiter,
) -> End {
    let Link {
        conn, who, room, ..
    } = *link;
    let timeout = state.config.heartbeat_timeout;
    let mut silence_deadline = Instant::now() + timeout;
    loop {
        tokio::select! {
            biased;
            _ = inbox.kill.cancelled() => {
                close(socket, outbox::CLOSE_TOO_SLOW, "too slow").await;
                return End::TooSlow;
            }
            out = inbox.rx.recv() => match out {
                Some(Outgoing::Frame(text)) => {
                    let mut close_after = None;
                    let sent = tokio::select! {
                        sent = write_batch(socket, text, &mut inbox.rx, &mut close_after) => sent,
                        _ = inbox.kill.cancelled() => Err(()),
                    };
                    if sent.is_err() {
                        return End::WriteFailed;
                    }
                    if let Some((code, reason)) = close_after {
                        close(socket, code, reason).await;
                        return End::RoomClosed;
                    }
                }
                Some(Outgoing::Close { code, reason }) => {
                    close(socket, code, reason).await;
                    return End::RoomClosed;
                }
                None => {
                    close(socket, outbox::CLOSE_NORMAL, "").await;
                    return End::RoomClosed;
                }
            },
            _ = sleep_until(silence_deadline) => {
                let _ = send_message(
                    socket,
                    &ServerMessage::error(
                        None,
                        ErrorCode::HeartbeatTimeout,
                        format!("nothing received for {} ms", timeout.as_millis()),
                    ),
                )
                .await;
                close(socket, CLOSE_POLICY, "heartbeat timeout").await;
                return End::HeartbeatTimeout;
            }
            frame = socket.recv() => {
                silence_deadline = Instant::now() + timeout;
                let text = match read_text(socket, frame, state.config.max_frame_bytes).await {
                    Ok(Some(text)) => text,
                    Err(end) => return end,
                    Ok(None) => {
                        // Counted like messages (when configured so); tungstenite answers
                        // pings itself, so an allowed or limited one needs nothing more.
                        if state.config.limits.rate_limit_control_frames
                            && limiter.check(std::time::Instant::now()) == Verdict::Close
                        {
                            return close_for_flooding(socket).await;
                        }
                        continue;
                    }
                };
                // Decoded first (the frame is size-bounded) so that app requests are
                // counted on their own budget.
                let decoded = decode_client(&text);
                let app_request = matches!(
                    &decoded,
                    Ok(ClientMessage::Request { action, .. }) if action.is_app()
                );
                let now = std::time::Instant::now();
                let verdict = if app_request {
                    limiter.check_app(now)
                } else {
                    limiter.check(now)
                };
                match verdict {
                    Verdict::Allow => {}
                    Verdict::Limited => {
                        // The refused request's id goes back with the error, so its sender
                        // stops waiting for an answer to it.
                        let id = match &decoded {
                            Ok(ClientMessage::Request { id, .. }) => Some(*id),
                            _ => request_id_hint(&text),
                        };
                        let limited = ServerMessage::error(
                            id,
                            ErrorCode::RateLimited,
                            if app_request {
                                "slow down: too many app messages"
                            } else {
                                "slow down: too many messages"
                            },
                        );
                        if send_message(socket, &limited).await.is_err() {
                            return End::WriteFailed;
                        }
                        continue;
                    }
                    Verdict::Close => return close_for_flooding(socket).await,
                }
                let command = match decoded {
                    Ok(ClientMessage::Ping { nonce }) => {
                        if send_message(socket, &ServerMessage::Pong { nonce }).await.is_err() {
                            return End::WriteFailed;
                        }
                        continue;
                    }
                    Ok(ClientMessage::Join(_)) => {
                        let again = ServerMessage::error(
                            None,
                            ErrorCode::AlreadyJoined,
                            "this connection has already joined",
                        );
                        if send_message(socket, &again).await.is_err() {
                            return End::WriteFailed;
                        }
                        continue;
                    }
                    Ok(ClientMessage::Request { id, action }) => {
                        RoomCommand::Request { who, conn, id, action }
                    }
                    Ok(ClientMessage::ChatHistory { id, after_seq }) => {
                        RoomCommand::ChatHistory { who, conn, id, after_seq }
                    }
                    Ok(ClientMessage::RosterPage { id, after, limit, search }) => {
                        RoomCommand::RosterPage { who, conn, id, after, limit, search }
                    }
                    Ok(ClientMessage::Media { media }) => {
                        if let Some(answer) = media_request(state, link, media) {
                            if send_message(socket, &answer).await.is_err() {
                                return End::WriteFailed;
                            }
                        }
                        continue;
                    }
                    Err(e) => {
                        let id = request_id_hint(&text);
                        let bad = ServerMessage::error(id, e.code(), e.to_string());
                        if send_message(socket, &bad).await.is_err() {
                            return End::WriteFailed;
                        }
                        continue;
                    }
                };
                if room.tx.send(command).await.is_err() {
                    close(socket, CLOSE_GOING_AWAY, "session gone").await;
                    return End::RoomGone;
                }
            }
        }
    }
}

/// Hands a media request to the forwarding unit; returns an immediate answer when the request
/// is refused here.
fn media_request(state: &AppState, link: &Link<'_>, media: MediaRequest) -> Option<ServerMessage> {
    if let Err(message) = media.check() {
        return Some(ServerMessage::error(
            None,
            ErrorCode::InvalidMessage,
            message,
        ));
    }
    let Some(sfu) = &state.sfu else {
        return Some(ServerMessage::Media {
            media: MediaEvent::Failed {
                message: "this server does not forward media".to_owned(),
            },
        });
    };
    match media {
        MediaRequest::Offer { sdp } => {
            if !sfu.offer(link.room.generation, link.who, sdp, link.outbox.clone()) {
                return Some(ServerMessage::Media {
                    media: MediaEvent::Failed {
                        message: "the media server is busy, try again".to_owned(),
                    },
                });
            }
        }
        MediaRequest::Subscribe { videos } => {
            sfu.subscribe(link.room.generation, link.who, videos);
        }
    }
    None
}

/// Best-effort `id` of an undecodable request, so its error can still be matched to it.
fn request_id_hint(text: &str) -> Option<RequestId> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("id")?.as_u64().map(RequestId)
}

/// Closes a member's connection that kept flooding past the rate limit.
async fn close_for_flooding(socket: &mut WebSocket) -> End {
    refuse(
        socket,
        None,
        ErrorCode::RateLimited,
        "closed for flooding".to_owned(),
        CLOSE_POLICY,
    )
    .await;
    End::Flooding
}

/// Sends `error` and closes.
async fn refuse(
    socket: &mut WebSocket,
    id: Option<RequestId>,
    code: ErrorCode,
    message: String,
    close_code: u16,
) {
    if send_message(socket, &ServerMessage::error(id, code, message))
        .await
        .is_ok()
    {
        close(socket, close_code, code.as_str()).await;
    }
}

/// Handles a read error; returns true when it was an oversized frame (`limit` is the limit
/// that applies).
async fn read_error(socket: &mut WebSocket, error: &axum::Error, limit: usize) -> bool {
    let text = error.to_string();
    // Frames beyond the WebSocket layer's hard cap surface as capacity errors, and so do
    // sockets that send more than their budget before join (`listen::Budgeted`). The socket
    // is still writable, but the rest of the frame is unread, so the peer may see a reset
    // rather than the close; frames between the protocol limit and the cap are refused
    // cleanly in `frame_too_big` instead.
    let too_big = text.contains("too long") || text.contains("Space limit exceeded");
    if too_big {
        frame_too_big(socket, limit).await;
    }
    tracing::debug!(error = %text, "read failed");
    too_big
}

async fn frame_too_big(socket: &mut WebSocket, limit: usize) {
    refuse(
        socket,
        None,
        ErrorCode::MessageTooLarge,
        format!("frames are limited to {limit} bytes"),
        CLOSE_TOO_BIG,
    )
    .await;
}

async fn send_message(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), ()> {
    let text = serde_json::to_string(message).map_err(|_| ())?;
    write(socket, Message::Text(Utf8Bytes::from(text))).await
}

/// Writes `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames) with a
/// single flush: under load one system call then carries many frames. A queued close ends
/// the batch and is reported through `close_after`.
async fn write_batch(
    socket: &mut WebSocket,
    first: Utf8Bytes,
    queue: &mut mpsc::Receiver<Outgoing>,
    close_after: &mut Option<(u16, &'static str)>,
) -> Result<(), ()> {
    let batch = async {
        socket.feed(Message::Text(first)).await?;
        for _ in 1..WRITE_BATCH {
            match queue.try_recv() {
                Ok(Outgoing::Frame(text)) => socket.feed(Message::Text(text)).await?,
                Ok(Outgoing::Close { code, reason }) => {
                    *close_after = Some((code, reason));
                    break;
                }
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, batch).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn write(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = write(socket, Message::Close(Some(frame))).await;
}
