//! The task that owns the signaling socket.
//!
//! It runs until the session is over for this client: while connected it sends `ping` at the
//! welcome's interval, forwards requests from [`super::Session`] handles and routes the
//! answers back by id, applies events to the [`CallState`] and publishes snapshots, and asks
//! for `chat_history` when the model sees a gap. When the link drops without a leave, removal
//! or session end, it resumes the membership with backoff within the reconnect grace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use huddle_proto::{
    decode_server, encode, Action, AudiencePage, ChatSeq, ClientMessage, MediaEvent, MediaRequest,
    MemberMetadata, RequestId, Resume, ServerEvent, ServerMessage, Welcome,
};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::conn::{self, Endpoint, Ws};
use super::{AppEvent, CallState, CloseReason, ConnectionStatus, JoinOptions, SessionEvent};
use crate::error::ClientError;

/// Where a request's answer goes.
pub(crate) type Reply = oneshot::Sender<Result<(), ClientError>>;

/// Where a roster page goes.
pub(crate) type PageReply =
    oneshot::Sender<Result<(AudiencePage, Vec<MemberMetadata>), ClientError>>;

/// What a [`super::Session`] handle asks of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send an action and answer `reply` with the server's verdict.
    Request { action: Action, reply: Reply },
    /// Ask for a page of the audience.
    RosterPage {
        after: Option<String>,
        limit: u32,
        search: Option<String>,
        reply: PageReply,
    },
    /// Leave and close.
    Leave { reply: Reply },
    /// Drop the socket as a network failure would, and stay away for `hold` before the first
    /// reconnect attempt (tests).
    DropConnection { hold: Duration },
    /// Send a media request; dropped while the link is down (the media layer offers again
    /// after reconnecting).
    Media(MediaRequest),
}

/// Everything [`super::join`] hands the driver.
pub(crate) struct Parts {
    pub options: JoinOptions,
    pub endpoint: Endpoint,
    pub welcome: Welcome,
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<SessionEvent>,
    pub dropped: Arc<AtomicU64>,
    pub state: watch::Sender<Arc<CallState>>,
    pub status: watch::Sender<ConnectionStatus>,
    pub media: mpsc::Sender<MediaEvent>,
}

enum Pending {
    Request(Reply),
    Page(PageReply),
    Leave(Option<Reply>),
    History,
}

/// How a connected stretch ended.
enum Exit {
    Closed(CloseReason),
    Lost(String),
}

/// What handling one frame asks of the loop.
enum Flow {
    Continue,
    CloseNow,
    Lost(String),
}

/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// First wait between reconnect attempts.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

pub(crate) struct Driver {
    options: JoinOptions,
    endpoint: Endpoint,
    state: CallState,
    resume: Resume,
    heartbeat: Duration,
    commands: mpsc::Receiver<Command>,
    /// Every handle was dropped; the channel must not be polled again.
    handles_gone: bool,
    events: mpsc::Sender<SessionEvent>,
    dropped: Arc<AtomicU64>,
    state_tx: watch::Sender<Arc<CallState>>,
    status_tx: watch::Sender<ConnectionStatus>,
    media: mpsc::Sender<MediaEvent>,
    pending: HashMap<RequestId, Pending>,
    next_id: u64,
    next_nonce: u64,
    /// A `chat_history` to ask for as soon as a (re)connection is up.
    refill_on_connect: Option<ChatSeq>,
    /// How long to stay away before the next first reconnect attempt (tests only).
    hold_before_reconnect: Duration,
}

/// The welcome's heartbeat interval is untrusted input: keep it within sane bounds.
fn heartbeat_of(welcome: &Welcome) -> Duration {
    Duration::from_millis(welcome.heartbeat_interval_ms.clamp(100, 60_000))
}

impl Driver {
    pub(crate) fn new(parts: Parts) -> Self {
        let state = CallState::from_welcome(&parts.welcome);
        Self {
            resume: Resume {
                participant_id: parts.welcome.participant_id,
                resume_key: parts.welcome.resume_key.clone(),
            },
            heartbeat: heartbeat_of(&parts.welcome),
            options: parts.options,
            endpoint: parts.endpoint,
            state,
            commands: parts.commands,
            handles_gone: false,
            events: parts.events,
            dropped: parts.dropped,
            state_tx: parts.state,
            status_tx: parts.status,
            media: parts.media,
            pending: HashMap::new(),
            next_id: 1,
            next_nonce: 1,
            refill_on_connect: None,
            hold_before_reconnect: Duration::ZERO,
        }
    }

    pub(crate) async fn run(mut self, ws: Ws) {
        self.emit(SessionEvent::Connection(ConnectionStatus::Connected));
        let mut ws = ws;
        loop {
            let reason = match self.connected(ws).await {
                Exit::Closed(reason) => reason,
                Exit::Lost(detail) => {
                    tracing::info!("signaling connection lost: {detail}");
                    self.fail_pending(&|| ClientError::ConnectionLost(detail.clone()));
                    match self.reconnect(detail).await {
                        Ok(new_ws) => {
                            ws = new_ws;
                            continue;
                        }
                        Err(reason) => reason,
                    }
                }
            };
            self.finish(reason);
            return;
        }
    }

    async fn connected(&mut self, mut ws: Ws) -> Exit {
        let heartbeat = self.heartbeat;
        // The server drops a connection after three missed pings; hold the server to the same.
        let silence = (heartbeat * 3).max(Duration::from_secs(1));
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut closing: Option<CloseReason> = None;
        let mut leave_deadline: Option<Instant> = None;
        if let Some(after) = self.refill_on_connect.take() {
            if let Err(e) = self.send_history(&mut ws, after).await {
                return Exit::Lost(e);
            }
        }
        loop {
            let silent_at = last_heard + silence;
            let leave_at = leave_deadline.unwrap_or(silent_at);
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        last_heard = Instant::now();
                        match self.on_text(&mut ws, text.as_str(), &mut closing).await {
                            Flow::Continue => {}
                            Flow::CloseNow => {
                                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                                return Exit::Closed(closing.unwrap_or(CloseReason::Left));
                            }
                            Flow::Lost(e) => return Exit::Lost(e),
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map_or_else(
                            || "the server closed the connection".to_owned(),
                            |f| format!("the server closed the connection ({}): {}", u16::from(f.code), f.reason),
                        );
                        return ended_or_lost(closing, why);
                    }
                    // Pings, pongs and stray binary frames still prove the link is alive.
                    Some(Ok(_)) => last_heard = Instant::now(),
                    Some(Err(e)) => return ended_or_lost(closing, format!("connection error: {e}")),
                    None => return ended_or_lost(closing, "the connection closed".to_owned()),
                },
                command = self.commands.recv(), if !self.handles_gone => match command {
                    None => {
                        // Every handle is gone: nobody can use the session any more.
                        self.handles_gone = true;
                        if closing.is_none() {
                            if let Err(e) = self.start_leave(&mut ws, None).await {
                                tracing::debug!("leave not sent: {e}");
                                return Exit::Closed(CloseReason::Left);
                            }
                            closing = Some(CloseReason::Left);
                            leave_deadline = Some(Instant::now() + self.options.request_timeout);
                        }
                    }
                    Some(Command::Request { action, reply }) => {
                        if let Some(reason) = &closing {
                            let _ = reply.send(Err(ClientError::SessionClosed(reason.clone())));
                            continue;
                        }
                        let id = self.next_request_id();
                        match send(&mut ws, &ClientMessage::Request { id, action }).await {
                            Ok(()) => {
                                self.pending.insert(id, Pending::Request(reply));
                            }
                            Err(e) => {
                                let _ = reply.send(Err(ClientError::ConnectionLost(e.clone())));
                                return Exit::Lost(e);
                            }
                        }
                    }
                    Some(Command::RosterPage { after, limit, search, reply }) => {
                        if let Some(reason) = &closing {
                            let _ = reply.send(Err(ClientError::SessionClosed(reason.clone())));
                            continue;
                        }
                        let id = self.next_request_id();
                        match send(&mut ws, &ClientMessage::RosterPage { id, after, limit, search }).await {
                            Ok(()) => {
                                self.pending.insert(id, Pending::Page(reply));
                            }
                            Err(e) => {
                                let _ = reply.send(Err(ClientError::ConnectionLost(e.clone())));
                                return Exit::Lost(e);
                            }
                        }
                    }
                    Some(Command::Leave { reply }) => {
                        if closing.is_some() {
                            let _ = reply.send(Ok(()));
                            continue;
                        }
                        if let Err(e) = self.start_leave(&mut ws, Some(reply)).await {
                            tracing::debug!("leave not sent: {e}");
                            return Exit::Closed(CloseReason::Left);
                        }
                        closing = Some(CloseReason::Left);
                        leave_deadline = Some(Instant::now() + self.options.request_timeout);
                    }
                    Some(Command::Media(media)) => {
                        if closing.is_none() {
                            if let Err(e) = send(&mut ws, &ClientMessage::Media { media }).await {
                                return Exit::Lost(e);
                            }
                        }
                    }
                    // Returning drops `ws` without a close frame, as a failed network would.
                    Some(Command::DropConnection { hold }) => {
                        self.hold_before_reconnect = hold;
                        return Exit::Lost("connection dropped on request".to_owned());
                    }
                },
                _ = ping.tick() => {
                    let nonce = self.next_nonce;
                    self.next_nonce += 1;
                    if let Err(e) = send(&mut ws, &ClientMessage::Ping { nonce }).await {
                        return ended_or_lost(closing, e);
                    }
                }
                () = tokio::time::sleep_until(silent_at) => {
                    return ended_or_lost(closing, "the server went silent".to_owned());
                }
                () = tokio::time::sleep_until(leave_at), if leave_deadline.is_some() => {
                    // The server did not confirm the leave in time; close from this side.
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return Exit::Closed(closing.unwrap_or(CloseReason::Left));
                }
            }
        }
    }

    async fn start_leave(&mut self, ws: &mut Ws, reply: Option<Reply>) -> Result<(), String> {
        let id = self.next_request_id();
        send(
            ws,
            &ClientMessage::Request {
                id,
                action: Action::Leave,
            },
        )
        .await?;
        self.pending.insert(id, Pending::Leave(reply));
        Ok(())
    }

    async fn on_text(
        &mut self,
        ws: &mut Ws,
        text: &str,
        closing: &mut Option<CloseReason>,
    ) -> Flow {
        let message = match decode_server(text) {
            Ok(message) => message,
            Err(e) => {
                // A frame this version cannot read is skipped, never fatal.
                tracing::warn!("unreadable server frame ignored: {e}");
                return Flow::Continue;
            }
        };
        match message {
            // A member is past the lobby: a stray `waiting` means nothing now.
            ServerMessage::Welcome(_)
            | ServerMessage::Waiting { .. }
            | ServerMessage::Pong { .. } => Flow::Continue,
            ServerMessage::Ok { id } => match self.pending.remove(&id) {
                Some(Pending::Request(reply)) => {
                    let _ = reply.send(Ok(()));
                    Flow::Continue
                }
                Some(Pending::Leave(reply)) => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(()));
                    }
                    Flow::CloseNow
                }
                Some(Pending::History | Pending::Page(_)) | None => Flow::Continue,
            },
            ServerMessage::Error {
                id: Some(id),
                code,
                message,
            } => match self.pending.remove(&id) {
                Some(Pending::Request(reply)) => {
                    let _ = reply.send(Err(ClientError::Rejected { code, message }));
                    Flow::Continue
                }
                Some(Pending::Page(reply)) => {
                    let _ = reply.send(Err(ClientError::Rejected { code, message }));
                    Flow::Continue
                }
                // A refused leave (the session ended meanwhile) still ends our part.
                Some(Pending::Leave(reply)) => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(()));
                    }
                    Flow::CloseNow
                }
                Some(Pending::History) | None => Flow::Continue,
            },
            ServerMessage::Error {
                id: None,
                code,
                message,
            } => {
                tracing::warn!("server error on the connection ({code:?}): {message}");
                Flow::Continue
            }
            ServerMessage::Event { event } => {
                // App traffic changes nothing in the call's state: straight to its consumer.
                let event = match event {
                    ServerEvent::AppOpened { app, state, recent } => {
                        self.emit(SessionEvent::App(AppEvent::Opened { app, state, recent }));
                        return Flow::Continue;
                    }
                    ServerEvent::AppMessage { message } => {
                        self.emit(SessionEvent::App(AppEvent::Message(message)));
                        return Flow::Continue;
                    }
                    ServerEvent::AppInvitation {
                        app,
                        from,
                        from_name,
                    } => {
                        self.emit(SessionEvent::App(AppEvent::Invitation {
                            app,
                            from,
                            from_name,
                        }));
                        return Flow::Continue;
                    }
                    other => other,
                };
                let applied = self.state.apply(&event);
                match &event {
                    ServerEvent::YouWereRemoved { by } => {
                        *closing = Some(CloseReason::Removed { by: *by });
                    }
                    ServerEvent::SessionEnded { reason } => {
                        *closing = Some(CloseReason::SessionEnded {
                            reason: reason.clone(),
                        });
                    }
                    _ => {}
                }
                self.publish(Some(event));
                if let Some(message) = applied.new_chat {
                    self.emit(SessionEvent::Chat(message));
                }
                for notice in applied.notices {
                    self.emit(SessionEvent::Notice(notice));
                }
                if let Some(change) = applied.metadata {
                    self.emit(SessionEvent::Metadata(change));
                }
                if let Some(after) = applied.refill_after {
                    if let Err(e) = self.send_history(ws, after).await {
                        return Flow::Lost(e);
                    }
                }
                Flow::Continue
            }
            ServerMessage::Media { media } => {
                // Media events are few (answers, slot changes); a consumer that stopped
                // reading loses them rather than stalling the heartbeat.
                if self.media.try_send(media).is_err() {
                    tracing::debug!("media event dropped: nobody is reading them");
                }
                Flow::Continue
            }
            ServerMessage::RosterPage {
                id,
                page,
                member_metadata,
            } => {
                if let Some(Pending::Page(reply)) = self.pending.remove(&id) {
                    let _ = reply.send(Ok((page, member_metadata)));
                }
                Flow::Continue
            }
            ServerMessage::Resync(resync) => {
                tracing::info!("fell behind the session; its state came afresh");
                let refill = self.state.resync(&resync);
                self.publish(None);
                if let Some(after) = refill {
                    if let Err(e) = self.send_history(ws, after).await {
                        return Flow::Lost(e);
                    }
                }
                Flow::Continue
            }
            ServerMessage::ChatHistory { id, messages, .. } => {
                self.pending.remove(&id);
                let added = self.state.merge_chat(&messages);
                if !added.is_empty() {
                    self.publish(None);
                    for message in added {
                        self.emit(SessionEvent::Chat(message));
                    }
                }
                Flow::Continue
            }
        }
    }

    async fn send_history(&mut self, ws: &mut Ws, after_seq: ChatSeq) -> Result<(), String> {
        let id = self.next_request_id();
        send(ws, &ClientMessage::ChatHistory { id, after_seq }).await?;
        self.pending.insert(id, Pending::History);
        Ok(())
    }

    async fn reconnect(&mut self, detail: String) -> Result<Ws, CloseReason> {
        self.set_status(ConnectionStatus::Reconnecting);
        let deadline = Instant::now() + self.options.reconnect_grace;
        let mut backoff = FIRST_BACKOFF;
        let mut last = detail;
        let hold = std::mem::take(&mut self.hold_before_reconnect);
        if !hold.is_zero() {
            if let Some(reason) = self.wait_away((Instant::now() + hold).min(deadline)).await {
                return Err(reason);
            }
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(CloseReason::ConnectionLost {
                    detail: format!("could not reconnect within the grace period: {last}"),
                });
            }
            let mut join = self.options.join_message();
            join.resume = Some(self.resume.clone());
            // Owned copies: the attempt runs while the command channel is polled mutably.
            let endpoint = self.endpoint.clone();
            let trust = self.options.trust.clone();
            let limit = self.options.join_timeout.min(deadline - now);
            let attempt = tokio::time::timeout(limit, async move {
                conn::connect_and_join(&endpoint, &trust, join).await
            });
            tokio::pin!(attempt);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut attempt => break outcome,
                    command = self.commands.recv(), if !self.handles_gone => {
                        if let Some(reason) = self.while_reconnecting(command) {
                            return Err(reason);
                        }
                    }
                }
            };
            match outcome {
                Ok(Ok(conn::Handshake::Welcome(ws, welcome))) => {
                    self.resumed(&welcome);
                    return Ok(ws);
                }
                // A resume never waits in the lobby; a server that says so is wrong.
                Ok(Ok(conn::Handshake::Waiting(..))) => {
                    last = "the server put a resume in its lobby".to_owned();
                }
                Ok(Err(ClientError::JoinRefused { code, message })) => {
                    return Err(CloseReason::ResumeRefused { code, message });
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "a reconnect attempt timed out".to_owned(),
            }
            tracing::debug!("reconnect attempt failed: {last}");
            if let Some(reason) = self
                .wait_away((Instant::now() + backoff).min(deadline))
                .await
            {
                return Err(reason);
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Waits until `wake` while disconnected, still answering commands.
    async fn wait_away(&mut self, wake: Instant) -> Option<CloseReason> {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(wake) => return None,
                command = self.commands.recv(), if !self.handles_gone => {
                    if let Some(reason) = self.while_reconnecting(command) {
                        return Some(reason);
                    }
                }
            }
        }
    }

    /// Commands while the link is down: requests fail fast, a leave stops trying (the server
    /// lets the membership go when its grace runs out).
    fn while_reconnecting(&mut self, command: Option<Command>) -> Option<CloseReason> {
        match command {
            None => {
                self.handles_gone = true;
                Some(CloseReason::Left)
            }
            Some(Command::Request { reply, .. }) => {
                let _ = reply.send(Err(ClientError::Reconnecting));
                None
            }
            Some(Command::RosterPage { reply, .. }) => {
                let _ = reply.send(Err(ClientError::Reconnecting));
                None
            }
            Some(Command::Leave { reply }) => {
                let _ = reply.send(Ok(()));
                Some(CloseReason::Left)
            }
            Some(Command::DropConnection { .. } | Command::Media(_)) => None,
        }
    }

    fn resumed(&mut self, welcome: &Welcome) {
        let had = self.state.last_chat_seq();
        let before: std::collections::HashSet<ChatSeq> =
            self.state.chat.iter().map(|m| m.seq).collect();
        self.state = self.state.resumed(welcome);
        self.resume = Resume {
            participant_id: welcome.participant_id,
            resume_key: welcome.resume_key.clone(),
        };
        self.heartbeat = heartbeat_of(welcome);
        // The protocol asks for a refill after every resume, from the highest seq held.
        self.refill_on_connect = Some(had.unwrap_or_default());
        self.publish(None);
        let recovered: Vec<_> = self
            .state
            .chat
            .iter()
            .filter(|m| !before.contains(&m.seq))
            .cloned()
            .collect();
        for message in recovered {
            self.emit(SessionEvent::Chat(message));
        }
        self.set_status(ConnectionStatus::Reconnected);
    }

    fn finish(&mut self, reason: CloseReason) {
        self.fail_pending(&|| ClientError::SessionClosed(reason.clone()));
        self.set_status(ConnectionStatus::Closed { reason });
    }

    fn fail_pending(&mut self, error: &dyn Fn() -> ClientError) {
        for (_, pending) in self.pending.drain() {
            match pending {
                Pending::Request(reply) => {
                    let _ = reply.send(Err(error()));
                }
                Pending::Page(reply) => {
                    let _ = reply.send(Err(error()));
                }
                Pending::Leave(Some(reply)) => {
                    let _ = reply.send(Ok(()));
                }
                Pending::Leave(None) | Pending::History => {}
            }
        }
    }

    fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    fn publish(&mut self, cause: Option<ServerEvent>) {
        let snapshot = Arc::new(self.state.clone());
        self.state_tx.send_replace(Arc::clone(&snapshot));
        self.emit(SessionEvent::StateChanged {
            cause,
            state: snapshot,
        });
    }

    fn set_status(&mut self, status: ConnectionStatus) {
        self.status_tx.send_replace(status.clone());
        self.emit(SessionEvent::Connection(status));
    }

    fn emit(&self, event: SessionEvent) {
        // Never wait for the UI: a stalled consumer must not stall the heartbeat.
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn ended_or_lost(closing: Option<CloseReason>, detail: String) -> Exit {
    match closing {
        Some(reason) => Exit::Closed(reason),
        None => Exit::Lost(detail),
    }
}

/// Longest one write may take. A socket that takes nothing for a heartbeat interval is as
/// good as lost, and the driver's heartbeat must not freeze behind a stalled write: the write
/// gives up and the link is resumed like any other lost one.
const SEND_TIMEOUT: std::time::Duration = huddle_proto::limits::HEARTBEAT_INTERVAL;

async fn send(ws: &mut Ws, message: &ClientMessage) -> Result<(), String> {
    let text = encode(message).map_err(|e| e.to_string())?;
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::text(text))).await {
        Ok(sent) => sent.map_err(|e| format!("send failed: {e}")),
        Err(_) => Err(format!(
            "send stalled for {} s: the connection takes no data",
            SEND_TIMEOUT.as_secs()
        )),
    }
}
