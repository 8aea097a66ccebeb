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
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use huddle_proto::limits::ROSTER_BATCH_INTERVAL;
use huddle_proto::{
    Action, ChatSeq, DisplayName, EndReason, ErrorCode, ParticipantId, Passcode, RequestId, Resume,
    ResumeKey, Role, ServerEvent, ServerMessage, SessionName, WaiterId,
};
use huddle_room::{
    Admission, JoinOutcome, JoinRequest, LobbyOutcome, Recipient, Room, RoomConfig, RosterBatcher,
    View,
};
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

/// What a join that was not refused led to, for the connection.
#[derive(Debug)]
pub enum JoinAnswer {
    /// A member now.
    Member(ParticipantId),
    /// Waiting in the lobby: the connection tells the joiner and waits for `admission`
    /// (the member's id once let in, or why not). Dropped unanswered only when the room
    /// task is gone.
    Waiting {
        /// The lobby's id for the joiner.
        waiter: WaiterId,
        /// The session's name, for the joiner.
        session_name: String,
        /// The outcome.
        admission: oneshot::Receiver<Result<ParticipantId, JoinRefusal>>,
    },
}

/// A connection waiting in the lobby.
#[derive(Debug)]
struct Waiting {
    outbox: Outbox,
    reply: oneshot::Sender<Result<ParticipantId, JoinRefusal>>,
    token_expires_at: Option<u64>,
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
        /// The participant id or a place in the lobby, or why not.
        reply: oneshot::Sender<Result<JoinAnswer, JoinRefusal>>,
    },
    /// Someone waiting in the lobby gave up (the connection closed).
    LeaveLobby {
        /// Who.
        waiter: WaiterId,
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
    /// A member asks for a page of the audience.
    RosterPage {
        /// The member.
        who: ParticipantId,
        /// The connection it came from.
        conn: ConnId,
        /// Request id to answer.
        id: RequestId,
        /// The cursor of the page before, if any.
        after: Option<String>,
        /// Most members in the page.
        limit: u32,
        /// Only names containing this.
        search: Option<String>,
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
    /// Roster changes waiting for the next batch.
    batcher: RosterBatcher,
    /// When the last batch went out.
    last_batch: Instant,
    /// The view each connected member's roster was built for; a member whose role moves it
    /// to the other view gets that view's batch, then a resync.
    views: HashMap<ParticipantId, View>,
    /// Members whose outbox was full, since when: they get nothing until their queue has
    /// drained, then a resync; past `behind_limit` they are cut.
    behind: HashMap<ParticipantId, Instant>,
    /// How long a member may stay behind before it is cut (it can still resume).
    behind_limit: Duration,
    /// When members that fell behind are next looked at.
    next_behind_check: Instant,
    /// Connections waiting in the lobby.
    waiters: HashMap<WaiterId, Waiting>,
}

/// How often members that fell behind are looked at.
const BEHIND_CHECK: Duration = Duration::from_millis(100);

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
            capacity: config.session_capacity,
            max_active: config.max_active,
            idle_timeout: config.idle_timeout,
            instance: instance_id(generation),
            ..RoomConfig::default()
        };
        let room = Room::new(name.clone(), room_config, Instant::now().into_std());
        let batcher = RosterBatcher::new(&room);
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
            batcher,
            // The first change goes out at once.
            last_batch: Instant::now()
                .checked_sub(ROSTER_BATCH_INTERVAL)
                .unwrap_or_else(Instant::now),
            views: HashMap::new(),
            behind: HashMap::new(),
            behind_limit: config.behind_limit,
            next_behind_check: Instant::now(),
            waiters: HashMap::new(),
        }
    }

    /// The next moment the task must wake without a command: a room deadline, the batch
    /// interval's end while changes wait, or a look at members that fell behind.
    fn deadline(&self) -> Option<Instant> {
        let room = self.room.poll_timeout().map(Instant::from_std);
        let batch = (!self.batcher.is_empty()).then(|| self.last_batch + ROSTER_BATCH_INTERVAL);
        let behind = (!self.behind.is_empty()).then_some(self.next_behind_check);
        [room, batch, behind].into_iter().flatten().min()
    }

    /// Runs until the room ends.
    pub async fn run(mut self) {
        loop {
            let deadline = self.deadline();
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
            RoomCommand::LeaveLobby { waiter } => {
                self.waiters.remove(&waiter);
                self.room.leave_lobby(waiter);
            }
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
            RoomCommand::RosterPage {
                who,
                conn,
                id,
                after,
                limit,
                search,
            } => {
                if !self.is_current(who, conn) {
                    return;
                }
                let answer =
                    match self
                        .room
                        .roster_page(who, after.as_deref(), limit, search.as_deref())
                    {
                        Ok((page, member_metadata)) => ServerMessage::RosterPage {
                            id,
                            page,
                            member_metadata,
                        },
                        Err(e) => ServerMessage::error(Some(id), e.code(), e.to_string()),
                    };
                self.send_to(who, &answer);
            }
            RoomCommand::Disconnected { who, conn } => {
                if self.is_current(who, conn) {
                    self.unlink(who);
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
        reply: oneshot::Sender<Result<JoinAnswer, JoinRefusal>>,
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
            Ok(Admission::Joined(outcome)) => {
                let who = outcome.participant_id;
                let delivered = self.link_member(*outcome, outbox, token_expires_at);
                if reply.send(Ok(JoinAnswer::Member(who))).is_err() || !delivered {
                    self.unlink(who);
                    self.room.disconnect(now, who);
                }
            }
            Ok(Admission::Waiting(waiter)) => {
                let (tx, admission) = oneshot::channel();
                let answer = JoinAnswer::Waiting {
                    waiter,
                    session_name: self.name.display().to_owned(),
                    admission,
                };
                if reply.send(Ok(answer)).is_err() {
                    // The connection closed already.
                    self.room.leave_lobby(waiter);
                    return;
                }
                self.waiters.insert(
                    waiter,
                    Waiting {
                        outbox,
                        reply: tx,
                        token_expires_at,
                    },
                );
            }
            Err(e) => {
                let _ = reply.send(Err(JoinRefusal::Refused {
                    code: e.code(),
                    message: e.to_string(),
                }));
            }
        }
    }

    /// Makes a new or resumed member reachable: its welcome and media offer queued, its
    /// outbox linked. False when the connection could not take them (it is gone).
    fn link_member(
        &mut self,
        outcome: JoinOutcome,
        outbox: Outbox,
        token_expires_at: Option<u64>,
    ) -> bool {
        self.latest_token_exp = self.latest_token_exp.max(token_expires_at);
        let who = outcome.participant_id;
        let mut welcome = outcome.welcome;
        // The room knows the protocol default; the server may be configured otherwise.
        welcome.heartbeat_interval_ms = self.heartbeat_ms;
        if let (Some(sfu), Some(me)) = (&self.sfu, welcome.members.iter().find(|m| m.id == who)) {
            sfu.publishing(self.generation, who, Publish::of(me));
        }
        let welcome = encode(&ServerMessage::Welcome(welcome));
        // A fresh outbox has room for the welcome; if the connection is already gone the
        // member simply turns `reconnecting`.
        let mut delivered = outbox.push(Outgoing::Frame(welcome)).is_ok();
        if let Some(sfu) = &self.sfu {
            let ready = encode(&ServerMessage::Media {
                media: sfu.ready(who),
            });
            delivered &= outbox.push(Outgoing::Frame(ready)).is_ok();
        }
        if let Some(old) = self.links.insert(who, outbox) {
            // A resume took the member over from a connection that may still be open (the
            // client noticed the drop before the server did).
            old.close(CLOSE_NORMAL, "resumed on another connection");
        }
        self.behind.remove(&who);
        if let Some(me) = self.room.member(who) {
            self.views.insert(who, View::of(me.role));
        }
        delivered
    }

    /// Tells the connections that waited in the lobby what became of them: the admitted are
    /// linked (before the events that follow are delivered, so they miss none), the others
    /// refused.
    fn settle_lobby(&mut self) {
        while let Some(outcome) = self.room.poll_lobby() {
            match outcome {
                LobbyOutcome::Admitted { waiter, outcome } => {
                    let Some(waiting) = self.waiters.remove(&waiter) else {
                        continue;
                    };
                    let who = outcome.participant_id;
                    let delivered =
                        self.link_member(*outcome, waiting.outbox, waiting.token_expires_at);
                    if waiting.reply.send(Ok(who)).is_err() || !delivered {
                        self.unlink(who);
                        self.room.disconnect(Instant::now().into_std(), who);
                    }
                }
                LobbyOutcome::TurnedAway { waiter, reason } => {
                    if let Some(waiting) = self.waiters.remove(&waiter) {
                        let _ = waiting.reply.send(Err(JoinRefusal::Refused {
                            code: reason.code(),
                            message: reason.to_string(),
                        }));
                    }
                }
            }
        }
    }

    fn is_current(&self, who: ParticipantId, conn: ConnId) -> bool {
        self.links.get(&who).is_some_and(|link| link.conn == conn)
    }

    /// Forgets a member's connection.
    fn unlink(&mut self, who: ParticipantId) -> Option<Outbox> {
        self.views.remove(&who);
        self.behind.remove(&who);
        self.links.remove(&who)
    }

    /// An answer to one member's request. It is queued even while the member is behind
    /// (an answer is not part of what a resync restores); a full queue leaves it behind.
    fn send_to(&mut self, who: ParticipantId, message: &ServerMessage) {
        let frame = encode(message);
        if let Some(link) = self.links.get(&who) {
            if queue_full(link.push(Outgoing::Frame(frame))) {
                self.fall_behind(who);
            }
        }
    }

    fn fall_behind(&mut self, who: ParticipantId) {
        if self.links.contains_key(&who) {
            if self.behind.is_empty() {
                // Look again a check's time after the first one fell behind.
                self.next_behind_check = Instant::now() + BEHIND_CHECK;
            }
            self.behind.entry(who).or_insert_with(Instant::now);
        }
    }

    /// Delivers every queued event: roster changes into the batcher (sent when the batch
    /// interval has passed, or at once when urgent), everything else routed at once after
    /// the roster changes before it. Then brings members that fell behind up to date or cuts
    /// those that cannot keep up, and closes the connections of members the room no longer
    /// has.
    fn flush(&mut self) {
        // Who left: their connections close below. Only these are looked at, so a command
        // costs what it changed, not the session's size.
        let mut departed = Vec::new();
        loop {
            self.settle_lobby();
            while let Some((recipient, event)) = self.room.poll_event() {
                self.tell_media(&event);
                if let ServerEvent::Left { participant, .. } = &event {
                    departed.push(*participant);
                }
                if self.batcher.record(&event) {
                    continue;
                }
                if !matches!(
                    event,
                    ServerEvent::Chat { .. } | ServerEvent::Reaction { .. }
                ) {
                    // Keep the order the room applied things in: a role change before
                    // `your_role_changed`, a join before a spotlight on the joiner.
                    self.send_batches();
                }
                self.route(&recipient, event);
            }
            let now = Instant::now();
            if !self.batcher.is_empty()
                && (self.batcher.is_urgent() || now >= self.last_batch + ROSTER_BATCH_INTERVAL)
            {
                self.send_batches();
            }
            let cut = self.catch_up(now);
            if cut.is_empty() {
                break;
            }
            // Cutting a member makes the room emit `reconnecting` to the others; deliver
            // that too. Each member is cut at most once, so this ends.
            for who in cut {
                self.cut(who);
            }
        }
        let gone: Vec<ParticipantId> = if self.room.is_ended() {
            self.links.keys().copied().collect()
        } else {
            departed
                .into_iter()
                .filter(|id| !self.room.is_member(*id))
                .collect()
        };
        for who in gone {
            if let Some(link) = self.unlink(who) {
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

    /// Sends the waiting roster changes: one batch per view, encoded once, to every member
    /// with that view; a member whose view changed gets its old view's batch, then a resync.
    fn send_batches(&mut self) {
        // Called before every ordered event: with nothing waiting it does nothing, and does
        // not restart the batch interval.
        if self.batcher.is_empty() {
            return;
        }
        let batches = self.batcher.flush(&self.room);
        self.last_batch = Instant::now();
        if batches.full.is_none() && batches.stage.is_none() && batches.own.is_empty() {
            return;
        }
        let frame = |event: Option<&ServerEvent>| {
            event.map(|e| encode(&ServerMessage::Event { event: e.clone() }))
        };
        let for_full = frame(batches.for_view(View::Full));
        let for_stage = frame(batches.for_view(View::Stage));
        let mut fell_behind = Vec::new();
        let mut moved = Vec::new();
        for (who, link) in &self.links {
            if self.behind.contains_key(who) {
                continue;
            }
            let Some(member) = self.room.member(*who) else {
                continue;
            };
            let view = View::of(member.role);
            // A member whose role moved it to the other view gets the batch its roster was
            // built for (so it hears who left, who came) and then a resync for the new one.
            let built_for = self.views.get(who).copied().unwrap_or(view);
            if built_for != view {
                moved.push((*who, view));
            }
            let frame = match built_for {
                View::Full => &for_full,
                View::Stage => &for_stage,
            };
            if let Some(frame) = frame {
                if queue_full(link.push(Outgoing::Frame(frame.clone()))) {
                    fell_behind.push(*who);
                }
            }
        }
        for (who, event) in batches.own {
            if self.behind.contains_key(&who) || moved.iter().any(|(id, _)| *id == who) {
                continue;
            }
            if let Some(link) = self.links.get(&who) {
                if queue_full(link.push(Outgoing::Frame(encode(&ServerMessage::Event { event })))) {
                    fell_behind.push(who);
                }
            }
        }
        for (who, view) in moved {
            self.views.insert(who, view);
            if !self.resync(who) {
                fell_behind.push(who);
            }
        }
        for who in fell_behind {
            self.fall_behind(who);
        }
    }

    /// Sends member `who` its state afresh. False when its queue had no room. (A closed
    /// connection is not behind: its `Disconnected` is on its way.)
    fn resync(&mut self, who: ParticipantId) -> bool {
        let Some(link) = self.links.get(&who) else {
            return true;
        };
        if link.is_closed() {
            return true;
        }
        let Some(resync) = self.room.resync(who) else {
            return true;
        };
        !queue_full(link.push(Outgoing::Frame(encode(&ServerMessage::Resync(resync)))))
    }

    /// Members that fell behind, looked at every [`BEHIND_CHECK`] (not on every command: a
    /// resync is the size of a welcome): a resync for each whose queue has drained to half,
    /// and the list of those behind for longer than the limit, to cut.
    fn catch_up(&mut self, now: Instant) -> Vec<ParticipantId> {
        if self.behind.is_empty() || now < self.next_behind_check {
            return Vec::new();
        }
        self.next_behind_check = now + BEHIND_CHECK;
        let mut cut = Vec::new();
        let mut drained = Vec::new();
        for (who, since) in &self.behind {
            match self.links.get(who) {
                Some(link) if link.free() * 2 >= link.max() => drained.push(*who),
                Some(_) if now.duration_since(*since) >= self.behind_limit => cut.push(*who),
                Some(_) => {}
                None => drained.push(*who),
            }
        }
        for who in drained {
            self.behind.remove(&who);
            if let Some(member) = self.room.member(who) {
                self.views.insert(who, View::of(member.role));
            }
            if !self.resync(who) {
                self.fall_behind(who);
            }
        }
        cut
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
                    deaf: changes.deafened,
                };
                if change != Publish::default() {
                    sfu.publishing(self.generation, *participant, change);
                }
            }
            ServerEvent::Left { participant, .. } => sfu.left(self.generation, *participant),
            _ => {}
        }
    }

    /// Sends one event that is not a roster change to its recipients, encoded once.
    fn route(&mut self, recipient: &Recipient, event: ServerEvent) {
        let frame = encode(&ServerMessage::Event { event });
        let mut fell_behind = Vec::new();
        let mut deliver = |who: ParticipantId, link: &Outbox| {
            if self.behind.contains_key(&who) {
                return;
            }
            if queue_full(link.push(Outgoing::Frame(frame.clone()))) {
                fell_behind.push(who);
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
        for who in fell_behind {
            self.fall_behind(who);
        }
    }

    /// Disconnects a member whose connection has taken nothing for the behind limit.
    fn cut(&mut self, who: ParticipantId) {
        if let Some(link) = self.unlink(who) {
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
        for (_, waiting) in self.waiters.drain() {
            let _ = waiting.reply.send(Err(JoinRefusal::Refused {
                code: ErrorCode::SessionEnded,
                message: "the session ended while you waited".to_owned(),
            }));
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

/// A number telling this room's roster cursors from those of every other room, including
/// rooms of earlier runs of this server (whose generations started from 1 too).
fn instance_id(generation: u64) -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        // Without randomness a cursor from an earlier run could be taken for this room's,
        // which only returns a page of the wrong place; nothing is exposed.
        Err(_) => generation,
    }
}

/// Whether a push failed because the member's queue is full (it fell behind), rather than
/// because its connection is gone.
fn queue_full(pushed: Result<(), PushError>) -> bool {
    matches!(pushed, Err(PushError::Full))
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
