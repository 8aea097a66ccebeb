//! One task per room: it owns the `huddle_room::Room` state machine and does all of its IO.
//!
//! The task feeds the room the commands that connections send it and the deadlines the room
//! asks for (`poll_timeout`), then drains `poll_event` and routes each event to its
//! recipients' outboxes, serializing it once. Connections are reached only through bounded
//! outboxes and never awaited, so one slow member cannot stall a room; it is cut off
//! instead. Later media forwarding state for the room belongs in [`RoomTask`] as well.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use huddle_proto::{
    Action, ChatSeq, DisplayName, EndReason, ErrorCode, ParticipantId, Passcode, RequestId, Resume,
    ResumeKey, Role, ServerEvent, ServerMessage, SessionName,
};
use huddle_room::{JoinRequest, Recipient, Room, RoomConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::config::ServerConfig;
use crate::outbox::{ConnId, Outbox, Outgoing, PushError, CLOSE_GOING_AWAY, CLOSE_NORMAL};
use crate::registry::Registry;
use crate::sfu::{Publish, Sfu};

/// A join after the connection checked version, input and token.
#[derive(Debug, Clone)]
pub struct JoinParams {
    /// The session.
    pub name: SessionName,
    /// Cleaned display name.
    pub display_name: DisplayName,
    /// Passcode given.
    pub passcode: Option<Passcode>,
    /// Role from a verified token; `None` in open mode.
    pub token_role: Option<Role>,
    /// `user_identity` from the token.
    pub identity: Option<String>,
    /// `session_key` from the token.
    pub session_key: Option<String>,
    /// `exp` of the token, seconds since the Unix epoch.
    pub token_expires_at: Option<u64>,
    /// Resume a dropped member.
    pub resume: Option<Resume>,
    /// Fresh random resume key for this membership.
    pub resume_key: ResumeKey,
    /// Join muted.
    pub audio_muted: bool,
    /// Join with camera on.
    pub video_on: bool,
    /// Requested idle timeout in minutes.
    pub idle_timeout_mins: Option<u32>,
}

/// Why a join did not produce a member.
#[derive(Debug, Clone)]
pub enum JoinRefusal {
    /// The room refused it; tell the client.
    Refused {
        /// Wire code.
        code: ErrorCode,
        /// Detail.
        message: String,
    },
    /// The room ended before the join was handled; retry with a new room.
    Ended,
}

/// What connections ask of a room task.
#[derive(Debug)]
pub enum RoomCommand {
    /// Join (or resume) with this connection's outbox.
    Join {
        /// The checked join.
        params: JoinParams,
        /// Where the member's messages go.
        outbox: Outbox,
        /// The participant id, or why not.
        reply: oneshot::Sender<Result<ParticipantId, JoinRefusal>>,
    },
    /// A member's request.
    Request {
        /// The member.
        who: ParticipantId,
        /// The connection it came from.
        conn: ConnId,
        /// Request id to answer.
        id: RequestId,
        /// What to do.
        action: Action,
    },
    /// A member asks for missed chat.
    ChatHistory {
        /// The member.
        who: ParticipantId,
        /// The connection it came from.
        conn: ConnId,
        /// Request id to answer.
        id: RequestId,
        /// Messages after this one.
        after_seq: ChatSeq,
    },
    /// A member's connection ended.
    Disconnected {
        /// The member.
        who: ParticipantId,
        /// The connection that ended.
        conn: ConnId,
    },
    /// End the session with `server_shutdown`.
    Shutdown,
}

/// The task that owns one room.
pub struct RoomTask {
    name: SessionName,
    generation: u64,
    commands: mpsc::Receiver<RoomCommand>,
    registry: Arc<Registry>,
    members_gauge: Arc<AtomicUsize>,
    room: Room,
    links: HashMap<ParticipantId, Outbox>,
    heartbeat_ms: u64,
    sfu: Option<Sfu>,
    /// The server is shutting down: connections close with 1001, not 1000.
    shutting_down: bool,
    /// The latest `exp` of the tokens that joined: how long a session key of this room must
    /// stay refused after it ends.
    latest_token_exp: Option<u64>,
}

impl RoomTask {
    /// A task for a new room; nothing runs until [`RoomTask::run`] is spawned.
    pub fn new(
        name: SessionName,
        generation: u64,
        commands: mpsc::Receiver<RoomCommand>,
        registry: Arc<Registry>,
        members_gauge: Arc<AtomicUsize>,
        config: Arc<ServerConfig>,
        sfu: Option<Sfu>,
    ) -> Self {
        let room_config = RoomConfig {
            reconnect_grace: config.reconnect_grace,
            ..RoomConfig::default()
        };
        let room = Room::new(name.clone(), room_config, Instant::now().into_std());
        Self {
            name,
            generation,
            commands,
            registry,
            members_gauge,
            room,
            links: HashMap::new(),
            heartbeat_ms: u64::try_from(config.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
            sfu,
            shutting_down: false,
            latest_token_exp: None,
        }
    }

    /// Runs until the room ends.
    pub async fn run(mut self) {
        loop {
            let deadline = self.room.poll_timeout().map(Instant::from_std);
            let command = tokio::select! {
                command = self.commands.recv() => command,
                _ = sleep_until(deadline) => {
                    self.room.handle_timeout(Instant::now().into_std());
                    self.flush();
                    if self.room.is_ended() {
                        break;
                    }
                    continue;
                }
            };
            let Some(command) = command else {
                // Every sender is gone: the registry forgot this room and no connection
                // is left. Nothing can reach it any more.
                break;
            };
            let shutdown = matches!(command, RoomCommand::Shutdown);
            self.apply(command);
            self.flush();
            // A room nobody managed to join (every join refused) is over too.
            if self.room.is_ended() || shutdown || (self.room.is_empty() && self.links.is_empty()) {
                break;
            }
        }
        self.finish();
    }

    fn apply(&mut self, command: RoomCommand) {
        let now = Instant::now().into_std();
        match command {
            RoomCommand::Join {
                params,
                outbox,
                reply,
            } => self.join(now, params, outbox, reply),
            RoomCommand::Request {
                who,
                conn,
                id,
                action,
            } => {
                if !self.is_current(who, conn) {
                    return;
                }
                let answer = match self.room.handle(now, who, action) {
                    Ok(()) => ServerMessage::Ok { id },
                    Err(e) => ServerMessage::error(Some(id), e.code(), e.to_string()),
                };
                self.send_to(who, &answer);
            }
            RoomCommand::ChatHistory {
                who,
                conn,
                id,
                after_seq,
            } => {
                if !self.is_current(who, conn) {
                    return;
                }
                let answer = match self.room.chat_history(who, after_seq) {
                    Ok((messages, complete)) => ServerMessage::ChatHistory {
                        id,
                        messages,
                        complete,
                    },
                    Err(e) => ServerMessage::error(Some(id), e.code(), e.to_string()),
                };
                self.send_to(who, &answer);
            }
            RoomCommand::Disconnected { who, conn } => {
                if self.is_current(who, conn) {
                    self.links.remove(&who);
                    self.room.disconnect(now, who);
                }
            }
            RoomCommand::Shutdown => {
                self.shutting_down = true;
                self.room.shut_down(EndReason::ServerShutdown);
            }
        }
    }

    fn join(
        &mut self,
        now: std::time::Instant,
        params: JoinParams,
        outbox: Outbox,
        reply: oneshot::Sender<Result<ParticipantId, JoinRefusal>>,
    ) {
        if self.room.is_ended() {
            let _ = reply.send(Err(JoinRefusal::Ended));
            return;
        }
        let token_expires_at = params.token_expires_at;
        let request = JoinRequest {
            display_name: params.display_name,
            passcode: params.passcode,
            role: params.token_role,
            identity: params.identity,
            resume: params.resume,
            resume_key: params.resume_key,
            audio_muted: params.audio_muted,
            video_on: params.video_on,
            idle_timeout: params
                .idle_timeout_mins
                .map(|mins| std::time::Duration::from_secs(u64::from(mins) * 60)),
        };
        match self.room.join(now, request) {
            Ok(outcome) => {
                self.latest_token_exp = self.latest_token_exp.max(token_expires_at);
                let who = outcome.participant_id;
                let mut welcome = outcome.welcome;
                // The room knows the protocol default; the server may be configured otherwise.
                welcome.heartbeat_interval_ms = self.heartbeat_ms;
                if let (Some(sfu), Some(me)) =
                    (&self.sfu, welcome.members.iter().find(|m| m.id == who))
                {
                    sfu.publishing(self.generation, who, Publish::of(me));
                }
                let welcome = encode(&ServerMessage::Welcome(welcome));
                // A fresh outbox has room for the welcome; if the connection is already
                // gone the member simply turns `reconnecting` below.
                let mut delivered = outbox.push(Outgoing::Frame(welcome)).is_ok();
                if let Some(sfu) = &self.sfu {
                    let ready = encode(&ServerMessage::Media {
                        media: sfu.ready(who),
                    });
                    delivered &= outbox.push(Outgoing::Frame(ready)).is_ok();
                }
                if let Some(old) = self.links.insert(who, outbox) {
                    // A resume took the member over from a connection that may still be
                    // open (the client noticed the drop before the server did).
                    old.close(CLOSE_NORMAL, "resumed on another connection");
                }
                if reply.send(Ok(who)).is_err() || !delivered {
                    self.links.remove(&who);
                    self.room.disconnect(now, who);
                }
            }
            Err(e) => {
                let _ = reply.send(Err(JoinRefusal::Refused {
                    code: e.code(),
                    message: e.to_string(),
                }));
            }
        }
    }

    fn is_current(&self, who: ParticipantId, conn: ConnId) -> bool {
        self.links.get(&who).is_some_and(|link| link.conn == conn)
    }

    fn send_to(&mut self, who: ParticipantId, message: &ServerMessage) {
        let frame = encode(message);
        if let Some(link) = self.links.get(&who) {
            if let Err(PushError::Full | PushError::Closed) = link.push(Outgoing::Frame(frame)) {
                self.cut(who);
            }
        }
    }

    /// Delivers every queued event, cuts members that cannot keep up, and closes the
    /// connections of members the room no longer has.
    fn flush(&mut self) {
        let mut laggards = Vec::new();
        loop {
            while let Some((recipient, event)) = self.room.poll_event() {
                self.tell_media(&event);
                self.route(&recipient, event, &mut laggards);
            }
            if laggards.is_empty() {
                break;
            }
            // Cutting a member makes the room emit `reconnecting` to the others; deliver
            // that too. Each member is cut at most once, so this ends.
            for who in laggards.drain(..) {
                self.cut(who);
            }
        }
        let gone: Vec<ParticipantId> = self
            .links
            .keys()
            .copied()
            .filter(|id| !self.room.is_member(*id))
            .collect();
        for who in gone {
            if let Some(link) = self.links.remove(&who) {
                let (code, reason) = if self.shutting_down {
                    (CLOSE_GOING_AWAY, "server shutting down")
                } else if self.room.is_ended() {
                    (CLOSE_NORMAL, "session ended")
                } else {
                    (CLOSE_NORMAL, "left the session")
                };
                link.close(code, reason);
            }
        }
        self.members_gauge
            .store(self.links.len(), Ordering::Relaxed);
    }

    /// Keeps the forwarding unit in step with the room: who may be heard and seen, who left.
    fn tell_media(&self, event: &ServerEvent) {
        let Some(sfu) = &self.sfu else {
            return;
        };
        match event {
            ServerEvent::Joined { member } => {
                sfu.publishing(self.generation, member.id, Publish::of(member));
            }
            ServerEvent::Updated {
                participant,
                changes,
            } => {
                let change = Publish {
                    audio: changes.audio_muted.map(|muted| !muted),
                    video: changes.video_on,
                    screen: changes.sharing,
                };
                if change != Publish::default() {
                    sfu.publishing(self.generation, *participant, change);
                }
            }
            ServerEvent::Left { participant, .. } => sfu.left(self.generation, *participant),
            _ => {}
        }
    }

    fn route(&self, recipient: &Recipient, event: ServerEvent, laggards: &mut Vec<ParticipantId>) {
        let frame = encode(&ServerMessage::Event { event });
        let mut deliver = |who: ParticipantId, link: &Outbox| {
            if link.push(Outgoing::Frame(frame.clone())).is_err() && !laggards.contains(&who) {
                laggards.push(who);
            }
        };
        match recipient {
            Recipient::One(who) => {
                if let Some(link) = self.links.get(who) {
                    deliver(*who, link);
                }
            }
            Recipient::Only(list) => {
                for who in list {
                    if let Some(link) = self.links.get(who) {
                        deliver(*who, link);
                    }
                }
            }
            other => {
                for (who, link) in &self.links {
                    if other.includes(*who) {
                        deliver(*who, link);
                    }
                }
            }
        }
    }

    /// Disconnects a member whose connection cannot take more messages.
    fn cut(&mut self, who: ParticipantId) {
        if let Some(link) = self.links.remove(&who) {
            tracing::info!(session = %self.name.key(), participant = %who, "member too slow, disconnecting");
            link.kill();
            self.room.disconnect(Instant::now().into_std(), who);
        }
    }

    fn finish(mut self) {
        self.registry
            .forget(self.name.key(), self.generation, self.latest_token_exp);
        if let Some(sfu) = &self.sfu {
            sfu.room_ended(self.generation);
        }
        self.commands.close();
        // Joins that raced the end are told to retry with a new room.
        while let Ok(command) = self.commands.try_recv() {
            if let RoomCommand::Join { reply, .. } = command {
                let _ = reply.send(Err(JoinRefusal::Ended));
            }
        }
        let code = if self.shutting_down {
            CLOSE_GOING_AWAY
        } else {
            CLOSE_NORMAL
        };
        for (_, link) in self.links.drain() {
            link.close(code, "session ended");
        }
        self.members_gauge.store(0, Ordering::Relaxed);
        tracing::info!(session = %self.name.key(), generation = self.generation, "room ended");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[allow(
    clippy::expect_used,
    reason = "protocol messages have no maps with non-string keys nor fallible serializers"
)]
fn encode(message: &ServerMessage) -> Utf8Bytes {
    // The message types serialize infallibly (no maps with non-string keys, no custom
    // serializers that can fail); a failure here would be a bug in the protocol crate.
    Utf8Bytes::from(serde_json::to_string(message).expect("protocol messages always serialize"))
}
