//! The [`Room`] state machine: joins, actions, disconnects, timeouts and the events they
//! produce. See the crate documentation for how a driver runs it.

use crate::apps::AppChannels;
use crate::chat::ChatLog;
use crate::error::RoomError;
use crate::grants::{grants, Grants, Permission};
use huddle_proto::limits::{
    DEFAULT_CHAT_HISTORY, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_ACTIVE, DEFAULT_RECONNECT_GRACE,
    HEARTBEAT_INTERVAL, MAX_IDLE_TIMEOUT_MINS, MAX_LOBBY, MAX_MEMBER_METADATA_BYTES,
    MAX_ROOM_METADATA_BYTES, MAX_ROSTER_PAGE, MAX_ROSTER_SEARCH_CHARS, MAX_SESSION_MEMBERS,
    WELCOME_AUDIENCE_PAGE, WELCOME_CHAT_MESSAGES,
};
use huddle_proto::{
    check_app_message, check_app_state, Action, AppId, AudiencePage, ChatMessage, ChatSeq,
    ChatText, ConnectionState, DisplayName, EndReason, LeaveReason, LobbyExit, Member,
    MemberMetadata, MemberUpdate, Metadata, MetadataChange, ParticipantId, Passcode, Resume,
    ResumeKey, Resync, Role, ServerEvent, SessionInfo, SessionName, Waiter, WaiterId, Welcome,
    PROTOCOL_VERSION,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::time::{Duration, Instant};

/// Why sending on an app's channel was refused.
const NOT_OPEN: &str = "open the app (app_open) before sending on its channel";

/// Settings of one room, chosen by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomConfig {
    /// Most members the room holds.
    pub capacity: usize,
    /// Most members that may publish (host, managers, participants); participants joining
    /// beyond it become audience.
    pub max_active: usize,
    /// How long a dropped member stays `reconnecting`.
    pub reconnect_grace: Duration,
    /// How long a host may be alone, unless the host's join asked for another value.
    pub idle_timeout: Duration,
    /// Chat messages kept for gap refill.
    pub chat_history: usize,
    /// Whether the audience may chat at first.
    pub audience_chat: bool,
    /// Tells this room's roster cursors from another's: a number the server chooses
    /// afresh for every room.
    pub instance: u64,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            capacity: MAX_SESSION_MEMBERS,
            max_active: DEFAULT_MAX_ACTIVE,
            reconnect_grace: DEFAULT_RECONNECT_GRACE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            chat_history: DEFAULT_CHAT_HISTORY,
            audience_chat: true,
            instance: 0,
        }
    }
}

/// A join, with everything already validated or verified by the server.
#[derive(Clone, Debug)]
pub struct JoinRequest {
    /// The cleaned display name.
    pub display_name: DisplayName,
    /// The passcode given, if any.
    pub passcode: Option<Passcode>,
    /// The role from a verified token, or `None` in open mode (the first joiner is host).
    pub role: Option<Role>,
    /// The token's `user_identity`, if any.
    pub identity: Option<String>,
    /// Take back this dropped member instead of joining anew.
    pub resume: Option<Resume>,
    /// A fresh secret from the server's random source; becomes the member's resume key.
    pub resume_key: ResumeKey,
    /// Join with the microphone muted.
    pub audio_muted: bool,
    /// Join with the camera on.
    pub video_on: bool,
    /// How long the session may idle with this member as its lone host.
    pub idle_timeout: Option<Duration>,
}

impl JoinRequest {
    /// A join with the given name and resume key and every option at its default: open
    /// mode, no passcode, microphone on, camera off.
    #[must_use]
    pub fn new(display_name: DisplayName, resume_key: ResumeKey) -> JoinRequest {
        JoinRequest {
            display_name,
            passcode: None,
            role: None,
            identity: None,
            resume: None,
            resume_key,
            audio_muted: false,
            video_on: false,
            idle_timeout: None,
        }
    }
}

/// What a join that was not refused led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The joiner is a member now.
    Joined(Box<JoinOutcome>),
    /// The session has a waiting room: the joiner waits in the lobby until a host or manager
    /// lets it in or turns it away; see [`Room::poll_lobby`].
    Waiting(WaiterId),
}

impl Admission {
    /// The membership, unless the join waits in the lobby.
    #[must_use]
    pub fn joined(self) -> Option<JoinOutcome> {
        match self {
            Admission::Joined(outcome) => Some(*outcome),
            Admission::Waiting(_) => None,
        }
    }
}

/// What became of someone who waited in the lobby: the driver tells their connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LobbyOutcome {
    /// Let in: send the welcome.
    Admitted {
        /// Who waited.
        waiter: WaiterId,
        /// The new membership.
        outcome: Box<JoinOutcome>,
    },
    /// Turned away: [`RoomError::Denied`] by a host or manager, [`RoomError::SessionFull`]
    /// when the waiting room was turned off with no room left for them, or
    /// [`RoomError::Ended`].
    TurnedAway {
        /// Who waited.
        waiter: WaiterId,
        /// Why.
        reason: RoomError,
    },
}

/// A successful join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinOutcome {
    /// The member's id.
    pub participant_id: ParticipantId,
    /// True when a dropped member was taken back; the server should close any connection
    /// that still serves this member.
    pub resumed: bool,
    /// What to send the joiner.
    pub welcome: Welcome,
}

/// Who an event is for. Relative to the membership when the event was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// Every member.
    Everyone,
    /// One member.
    One(ParticipantId),
    /// Every member but one.
    EveryoneExcept(ParticipantId),
    /// These members.
    Only(Vec<ParticipantId>),
}

impl Recipient {
    /// Whether `id` receives the event.
    #[must_use]
    pub fn includes(&self, id: ParticipantId) -> bool {
        match self {
            Recipient::Everyone => true,
            Recipient::One(one) => *one == id,
            Recipient::EveryoneExcept(other) => *other != id,
            Recipient::Only(ids) => ids.contains(&id),
        }
    }
}

/// The whole observable state of a room, for tests and diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSnapshot {
    /// Settings.
    pub session: SessionInfo,
    /// Members in join order.
    pub members: Vec<Member>,
    /// The chat history.
    pub chat: Vec<ChatMessage>,
    /// The room's metadata.
    pub metadata: Metadata,
    /// The metadata of every member that has any, in join order.
    pub member_metadata: Vec<MemberMetadata>,
    /// Who waits in the lobby, oldest first.
    pub lobby: Vec<Waiter>,
    /// Whether the room has ended.
    pub ended: bool,
}

#[derive(Clone, Debug)]
struct MemberState {
    public: Member,
    resume_key: ResumeKey,
    identity: Option<String>,
    idle_timeout: Option<Duration>,
    /// Set by the member or a host or manager; kept across a resume.
    metadata: Metadata,
    /// When a dropped member leaves for good.
    grace_until: Option<Instant>,
}

impl MemberState {
    /// The member's metadata as listed to others, or `None` when it has none.
    fn metadata_entry(&self) -> Option<MemberMetadata> {
        (!self.metadata.is_empty()).then(|| MemberMetadata {
            participant: self.public.id,
            metadata: self.metadata.clone(),
        })
    }
}

/// One session. See the crate documentation.
#[derive(Debug)]
pub struct Room {
    name: SessionName,
    config: RoomConfig,
    passcode: Option<Passcode>,
    locked: bool,
    share_locked: bool,
    audience_chat: bool,
    spotlight: Option<ParticipantId>,
    waiting_room: bool,
    hands_first: bool,
    metadata: Metadata,
    /// Who waits in the lobby, by id (so oldest first), with the join to run when let in.
    lobby: BTreeMap<WaiterId, (Waiter, JoinRequest)>,
    next_waiter: u64,
    /// What became of those who left the lobby, for the driver.
    lobby_outcomes: VecDeque<LobbyOutcome>,
    /// Members by id; ids grow with join order, so iteration is join order.
    members: BTreeMap<ParticipantId, MemberState>,
    /// The members whose role may publish (the stage), and the audience: every member is in
    /// exactly one, kept in step with every role change, so a welcome or a page never walks
    /// the whole roster.
    stage: BTreeSet<ParticipantId>,
    audience: BTreeSet<ParticipantId>,
    host: Option<ParticipantId>,
    next_id: u64,
    chat: ChatLog,
    apps: AppChannels,
    graces: BTreeSet<(Instant, ParticipantId)>,
    idle_deadline: Option<Instant>,
    events: VecDeque<(Recipient, ServerEvent)>,
    ended: bool,
}

fn is_active(role: Role) -> bool {
    role != Role::Audience
}

impl Room {
    /// A new, empty room. It ends when its last member leaves, so the first `join` should
    /// follow at once.
    #[must_use]
    pub fn new(name: SessionName, config: RoomConfig, _now: Instant) -> Room {
        Room {
            name,
            chat: ChatLog::new(config.chat_history),
            apps: AppChannels::default(),
            audience_chat: config.audience_chat,
            config,
            passcode: None,
            locked: false,
            share_locked: false,
            spotlight: None,
            waiting_room: false,
            hands_first: false,
            metadata: Metadata::new(),
            lobby: BTreeMap::new(),
            next_waiter: 1,
            lobby_outcomes: VecDeque::new(),
            members: BTreeMap::new(),
            stage: BTreeSet::new(),
            audience: BTreeSet::new(),
            host: None,
            next_id: 1,
            graces: BTreeSet::new(),
            idle_deadline: None,
            events: VecDeque::new(),
            ended: false,
        }
    }

    // ----- queries -----

    /// The session name.
    #[must_use]
    pub fn name(&self) -> &SessionName {
        &self.name
    }

    /// Whether the room has ended; an ended room refuses everything.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Number of members, reconnecting ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is in the room.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `id` is a member. A driver closes a connection whose member is gone.
    #[must_use]
    pub fn is_member(&self, id: ParticipantId) -> bool {
        self.members.contains_key(&id)
    }

    /// The public state of one member.
    #[must_use]
    pub fn member(&self, id: ParticipantId) -> Option<&Member> {
        self.members.get(&id).map(|m| &m.public)
    }

    /// Every member in join order.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values().map(|m| &m.public)
    }

    /// The token identity a member joined with.
    #[must_use]
    pub fn identity(&self, id: ParticipantId) -> Option<&str> {
        self.members.get(&id).and_then(|m| m.identity.as_deref())
    }

    /// The current host.
    #[must_use]
    pub fn host(&self) -> Option<ParticipantId> {
        self.host
    }

    /// The settings every member sees.
    #[must_use]
    pub fn session_info(&self) -> SessionInfo {
        SessionInfo {
            name: self.name.display().to_owned(),
            locked: self.locked,
            share_locked: self.share_locked,
            spotlight: self.spotlight,
            passcode_protected: self.passcode.is_some(),
            audience_chat: self.audience_chat,
            max_active: u32::try_from(self.config.max_active).unwrap_or(u32::MAX),
            capacity: u32::try_from(self.config.capacity).unwrap_or(u32::MAX),
            waiting_room: self.waiting_room,
            hands_first: self.hands_first,
        }
    }

    /// Who waits in the lobby, oldest first.
    pub fn lobby(&self) -> impl Iterator<Item = &Waiter> {
        self.lobby.values().map(|(w, _)| w)
    }

    /// The next lobby outcome to tell a waiting connection about.
    pub fn poll_lobby(&mut self) -> Option<LobbyOutcome> {
        self.lobby_outcomes.pop_front()
    }

    /// Someone waiting in the lobby gave up (their connection closed). Unknown ids are
    /// ignored.
    pub fn leave_lobby(&mut self, waiter: WaiterId) {
        if self.lobby.remove(&waiter).is_some() {
            self.emit(
                Recipient::Only(self.admins()),
                ServerEvent::WaiterLeft {
                    waiter,
                    exit: LobbyExit::Left,
                },
            );
        }
    }

    /// The whole observable state.
    #[must_use]
    pub fn snapshot(&self) -> RoomSnapshot {
        RoomSnapshot {
            session: self.session_info(),
            members: self.members().cloned().collect(),
            chat: self.chat.all().cloned().collect(),
            metadata: self.metadata.clone(),
            member_metadata: self.member_metadata(),
            lobby: self.lobby().cloned().collect(),
            ended: self.ended,
        }
    }

    /// The room's metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata of one member (empty when it set none).
    #[must_use]
    pub fn member_metadata_of(&self, id: ParticipantId) -> Option<&Metadata> {
        self.members.get(&id).map(|m| &m.metadata)
    }

    /// The metadata of every member that has any, in join order.
    #[must_use]
    pub fn member_metadata(&self) -> Vec<MemberMetadata> {
        self.members
            .values()
            .filter_map(MemberState::metadata_entry)
            .collect()
    }

    /// The grants `id` holds now.
    #[must_use]
    pub fn grants_of(&self, id: ParticipantId) -> Option<Grants> {
        self.members
            .get(&id)
            .map(|m| grants(m.public.role, self.share_locked, self.audience_chat))
    }

    /// The chat messages addressed to `who` after `after_seq`, and whether the bounded
    /// history still held all of them.
    ///
    /// # Errors
    /// [`RoomError::Ended`] or [`RoomError::NotJoined`].
    pub fn chat_history(
        &self,
        who: ParticipantId,
        after_seq: ChatSeq,
    ) -> Result<(Vec<ChatMessage>, bool), RoomError> {
        self.live()?;
        if !self.members.contains_key(&who) {
            return Err(RoomError::NotJoined(who));
        }
        Ok(self.chat.after(who, after_seq))
    }

    // ----- driver interface -----

    /// The next event to deliver.
    pub fn poll_event(&mut self) -> Option<(Recipient, ServerEvent)> {
        self.events.pop_front()
    }

    /// When [`Room::handle_timeout`] should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let grace = self.graces.first().map(|(at, _)| *at);
        match (grace, self.idle_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Applies every deadline that has passed: dropped members whose grace ran out leave
    /// with `connection_lost`; a host alone past the idle timeout ends the session.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        while let Some(&(at, id)) = self.graces.first() {
            if at > now {
                break;
            }
            self.graces.remove(&(at, id));
            self.remove_member(now, id, LeaveReason::ConnectionLost);
            if self.ended {
                return;
            }
        }
        if self.idle_deadline.is_some_and(|at| at <= now) {
            self.end(EndReason::IdleTimeout);
        }
    }

    /// Admits a new member, takes back a dropped one when `request.resume` is set, or, while
    /// the waiting room is on, puts the joiner in the lobby. The session's creator, joins
    /// whose token makes them host or manager, and resumes never wait.
    ///
    /// # Errors
    /// [`RoomError::Ended`], [`RoomError::ResumeFailed`], [`RoomError::SessionLocked`],
    /// [`RoomError::SessionFull`], [`RoomError::PasscodeRequired`],
    /// [`RoomError::WrongPasscode`], [`RoomError::LobbyFull`].
    pub fn join(&mut self, now: Instant, request: JoinRequest) -> Result<Admission, RoomError> {
        self.live()?;
        if let Some(resume) = &request.resume {
            return self
                .resume(
                    resume.participant_id,
                    &resume.resume_key,
                    request.resume_key,
                )
                .map(|outcome| Admission::Joined(Box::new(outcome)));
        }
        let creating = self.members.is_empty() && self.next_id == 1;
        if self.locked {
            return Err(RoomError::SessionLocked);
        }
        if self.members.len() >= self.config.capacity {
            return Err(RoomError::SessionFull {
                capacity: self.config.capacity,
            });
        }
        match (&self.passcode, &request.passcode) {
            (None, _) => {}
            (Some(_), None) => return Err(RoomError::PasscodeRequired),
            (Some(expected), Some(given)) => {
                if !expected.matches(given) {
                    return Err(RoomError::WrongPasscode);
                }
            }
        }
        if creating {
            self.passcode.clone_from(&request.passcode);
        }
        let trusted = matches!(request.role, Some(Role::Host | Role::Manager));
        if self.waiting_room && !creating && !trusted {
            if self.lobby.len() >= MAX_LOBBY {
                return Err(RoomError::LobbyFull { max: MAX_LOBBY });
            }
            let id = WaiterId(self.next_waiter);
            self.next_waiter += 1;
            let waiter = Waiter {
                id,
                display_name: request.display_name.as_str().to_owned(),
            };
            self.lobby.insert(id, (waiter.clone(), request));
            self.emit(
                Recipient::Only(self.admins()),
                ServerEvent::WaiterJoined { waiter },
            );
            return Ok(Admission::Waiting(id));
        }
        Ok(Admission::Joined(Box::new(self.admit_member(now, request))))
    }

    /// Makes a member of a join already checked against lock, capacity and passcode.
    fn admit_member(&mut self, now: Instant, request: JoinRequest) -> JoinOutcome {
        let role = match request.role {
            None | Some(Role::Host) if self.host.is_none() => Role::Host,
            Some(Role::Host) => Role::Manager,
            Some(Role::Manager) => Role::Manager,
            Some(Role::Audience) => Role::Audience,
            None | Some(Role::Participant) => {
                if self.stage.len() >= self.config.max_active {
                    Role::Audience
                } else {
                    Role::Participant
                }
            }
        };
        let id = ParticipantId(self.next_id);
        self.next_id += 1;
        let publishing = is_active(role);
        let public = Member {
            id,
            display_name: request.display_name.into_string(),
            role,
            audio_muted: request.audio_muted || !publishing,
            video_on: request.video_on && publishing,
            sharing: false,
            talking: false,
            hand_raised: false,
            deafened: false,
            connection: ConnectionState::Present,
            join_order: id.0,
        };
        self.members.insert(
            id,
            MemberState {
                public: public.clone(),
                resume_key: request.resume_key,
                identity: request.identity,
                idle_timeout: request.idle_timeout,
                metadata: Metadata::new(),
                grace_until: None,
            },
        );
        if role == Role::Host {
            self.host = Some(id);
        }
        if publishing {
            self.stage.insert(id);
        } else {
            self.audience.insert(id);
        }
        self.emit(
            Recipient::EveryoneExcept(id),
            ServerEvent::Joined { member: public },
        );
        self.update_idle(now);
        let welcome = self.welcome(id, false, WELCOME_CHAT_MESSAGES);
        JoinOutcome {
            participant_id: id,
            resumed: false,
            welcome,
        }
    }

    /// Lets one waiter in, by host or manager `by`; false when the session is full (they
    /// keep waiting).
    fn admit_waiter(&mut self, now: Instant, by: ParticipantId, waiter: WaiterId) -> bool {
        if self.members.len() >= self.config.capacity {
            return false;
        }
        let Some((_, request)) = self.lobby.remove(&waiter) else {
            return false;
        };
        let outcome = self.admit_member(now, request);
        self.emit(
            Recipient::Only(self.admins()),
            ServerEvent::WaiterLeft {
                waiter,
                exit: LobbyExit::Admitted {
                    by,
                    participant: outcome.participant_id,
                },
            },
        );
        self.lobby_outcomes.push_back(LobbyOutcome::Admitted {
            waiter,
            outcome: Box::new(outcome),
        });
        true
    }

    /// Lets in everyone waiting, oldest first, as long as the session has room.
    fn admit_all(&mut self, now: Instant, by: ParticipantId) {
        let waiting: Vec<WaiterId> = self.lobby.keys().copied().collect();
        for waiter in waiting {
            if !self.admit_waiter(now, by, waiter) {
                break;
            }
        }
    }

    /// Turns a waiter away.
    fn turn_away(&mut self, waiter: WaiterId, exit: LobbyExit, reason: RoomError) {
        if self.lobby.remove(&waiter).is_none() {
            return;
        }
        self.emit(
            Recipient::Only(self.admins()),
            ServerEvent::WaiterLeft { waiter, exit },
        );
        self.lobby_outcomes
            .push_back(LobbyOutcome::TurnedAway { waiter, reason });
    }

    /// The hosts and managers: who sees the lobby and the audience's metadata.
    fn admins(&self) -> Vec<ParticipantId> {
        self.stage
            .iter()
            .copied()
            .filter(|id| {
                self.members
                    .get(id)
                    .is_some_and(|m| matches!(m.public.role, Role::Host | Role::Manager))
            })
            .collect()
    }

    /// The connection of `who` dropped without `leave`: the member turns `reconnecting` and
    /// leaves with `connection_lost` unless resumed within the grace period. Unknown or
    /// already reconnecting members are ignored.
    pub fn disconnect(&mut self, now: Instant, who: ParticipantId) {
        if self.ended {
            return;
        }
        let until = later(now, self.config.reconnect_grace);
        let Some(member) = self.members.get_mut(&who) else {
            return;
        };
        if member.grace_until.is_some() {
            return;
        }
        member.grace_until = Some(until);
        member.public.connection = ConnectionState::Reconnecting;
        self.graces.insert((until, who));
        self.emit(
            Recipient::EveryoneExcept(who),
            ServerEvent::Updated {
                participant: who,
                changes: MemberUpdate {
                    connection: Some(ConnectionState::Reconnecting),
                    ..MemberUpdate::default()
                },
            },
        );
    }

    /// `who` leaves. Unknown members are ignored.
    pub fn leave(&mut self, now: Instant, who: ParticipantId) {
        if self.ended {
            return;
        }
        self.remove_member(now, who, LeaveReason::Left);
    }

    /// Ends the session for everyone with `reason` (for example when the server shuts
    /// down).
    pub fn shut_down(&mut self, reason: EndReason) {
        if !self.ended {
            self.end(reason);
        }
    }

    /// Runs one action of member `who`. Either it applies completely and queues its events,
    /// or it returns an error and changes nothing.
    ///
    /// # Errors
    /// [`RoomError::PermissionDenied`] naming the missing permission, [`RoomError::NotFound`]
    /// for an unknown target, [`RoomError::InvalidTarget`], [`RoomError::InvalidState`],
    /// [`RoomError::ActiveLimitReached`], [`RoomError::NotJoined`], [`RoomError::Ended`],
    /// or [`RoomError::Proto`] for invalid chat text or a metadata change that is invalid or
    /// over its limit.
    pub fn handle(
        &mut self,
        now: Instant,
        who: ParticipantId,
        action: Action,
    ) -> Result<(), RoomError> {
        self.live()?;
        let actor = self
            .members
            .get(&who)
            .ok_or(RoomError::NotJoined(who))?
            .public
            .role;
        match action {
            Action::SetAudio { muted } => {
                if !muted {
                    self.require(who, Permission::Publish)?;
                }
                self.change(who, |m, u| {
                    set(&mut m.audio_muted, muted, &mut u.audio_muted)
                });
            }
            Action::SetVideo { on } => {
                if on {
                    self.require(who, Permission::Publish)?;
                }
                self.change(who, |m, u| set(&mut m.video_on, on, &mut u.video_on));
            }
            Action::SetSharing { on } => {
                if on {
                    self.require(who, Permission::ShareScreen)?;
                }
                self.change(who, |m, u| set(&mut m.sharing, on, &mut u.sharing));
            }
            Action::SetTalking { talking } => {
                if talking {
                    self.require(who, Permission::Publish)?;
                }
                self.change(who, |m, u| set(&mut m.talking, talking, &mut u.talking));
            }
            Action::Chat { to, text } => {
                self.require(who, Permission::Chat)?;
                let text = ChatText::parse(&text)?;
                if let Some(to) = to {
                    self.target(to)?;
                    if to == who {
                        return Err(RoomError::InvalidTarget("cannot chat privately to oneself"));
                    }
                }
                let from_name = self.name_of(who);
                let message = self.chat.push(who, from_name, to, text.into_string());
                let recipient = match to {
                    None => Recipient::Everyone,
                    Some(to) => Recipient::Only(vec![who, to]),
                };
                self.emit(recipient, ServerEvent::Chat { message });
            }
            Action::AppOpen { app } => {
                let opened = self.apps.open(who, &app)?;
                self.emit(
                    Recipient::One(who),
                    ServerEvent::AppOpened {
                        app,
                        state: opened.state,
                        recent: opened.recent,
                    },
                );
            }
            Action::AppClose { app } => {
                self.apps.close(who, &app);
            }
            Action::AppMessage { app, data } => {
                self.require(who, Permission::AppSend)?;
                check_app_message(&data)?;
                self.require_open(who, &app)?;
                let (message, to) = self
                    .apps
                    .send(who, &app, data)
                    .ok_or(RoomError::InvalidState(NOT_OPEN))?;
                self.emit(Recipient::Only(to), ServerEvent::AppMessage { message });
            }
            Action::AppSetState { app, state } => {
                self.require(who, Permission::AppSend)?;
                check_app_state(&state)?;
                self.require_open(who, &app)?;
                if !self.apps.set_state(&app, state) {
                    return Err(RoomError::InvalidState(NOT_OPEN));
                }
            }
            Action::AppInvite { app, to } => {
                self.require(who, Permission::AppSend)?;
                let recipient = match to {
                    None => Recipient::EveryoneExcept(who),
                    Some(to) => {
                        let mut invited = BTreeSet::new();
                        for id in to {
                            if id == who {
                                return Err(RoomError::InvalidTarget("cannot invite oneself"));
                            }
                            self.target(id)?;
                            invited.insert(id);
                        }
                        if invited.is_empty() {
                            return Err(RoomError::InvalidTarget(
                                "invite someone: `to` is empty (leave it out for everyone)",
                            ));
                        }
                        Recipient::Only(invited.into_iter().collect())
                    }
                };
                let from_name = self.name_of(who);
                self.emit(
                    recipient,
                    ServerEvent::AppInvitation {
                        app,
                        from: who,
                        from_name,
                    },
                );
            }
            Action::RaiseHand => {
                self.require(who, Permission::Participate)?;
                self.change(who, |m, u| {
                    set(&mut m.hand_raised, true, &mut u.hand_raised)
                });
            }
            Action::LowerHand { participant } => match participant {
                None => {
                    self.require(who, Permission::Participate)?;
                    self.change(who, |m, u| {
                        set(&mut m.hand_raised, false, &mut u.hand_raised)
                    });
                }
                Some(target) if target == who => {
                    self.require(who, Permission::Participate)?;
                    self.change(who, |m, u| {
                        set(&mut m.hand_raised, false, &mut u.hand_raised)
                    });
                }
                Some(target) => {
                    self.require(who, Permission::Admin)?;
                    self.target_over(actor, target)?;
                    if self.change(target, |m, u| {
                        set(&mut m.hand_raised, false, &mut u.hand_raised);
                    }) {
                        self.emit(
                            Recipient::One(target),
                            ServerEvent::YourHandLowered { by: who },
                        );
                    }
                }
            },
            Action::React { reaction } => {
                self.require(who, Permission::Participate)?;
                self.emit(
                    Recipient::Everyone,
                    ServerEvent::Reaction {
                        participant: who,
                        reaction,
                    },
                );
            }
            Action::MuteAudio { participant } => {
                self.require(who, Permission::Admin)?;
                self.target_over(actor, participant)?;
                self.mute(who, participant);
            }
            Action::MuteAll => {
                self.require(who, Permission::Admin)?;
                let targets: Vec<ParticipantId> = self
                    .members
                    .values()
                    .filter(|m| {
                        m.public.id != who
                            && !m.public.audio_muted
                            && !(actor != Role::Host && m.public.role == Role::Host)
                    })
                    .map(|m| m.public.id)
                    .collect();
                for target in targets {
                    self.mute(who, target);
                }
            }
            Action::StopVideo { participant } => {
                self.require(who, Permission::Admin)?;
                self.target_over(actor, participant)?;
                if self.change(participant, |m, u| {
                    set(&mut m.video_on, false, &mut u.video_on)
                }) && participant != who
                {
                    self.emit(
                        Recipient::One(participant),
                        ServerEvent::YourVideoStopped { by: who },
                    );
                }
            }
            Action::AskUnmute { participant } => {
                self.require(who, Permission::Admin)?;
                let target = self.target_over(actor, participant)?;
                if participant == who {
                    return Err(RoomError::InvalidTarget("cannot ask oneself to unmute"));
                }
                if !is_active(target.role) {
                    return Err(RoomError::InvalidState(
                        "audience members cannot unmute; promote them first",
                    ));
                }
                if !target.audio_muted {
                    return Err(RoomError::InvalidState("the participant is not muted"));
                }
                self.emit(
                    Recipient::One(participant),
                    ServerEvent::UnmuteRequested { by: who },
                );
            }
            Action::Rename { participant, name } => {
                if participant != who {
                    self.require(who, Permission::Admin)?;
                    self.target_over(actor, participant)?;
                }
                let name = DisplayName::new(&name).into_string();
                let changed = self.change(participant, |m, u| {
                    if m.display_name != name {
                        m.display_name.clone_from(&name);
                        u.display_name = Some(name.clone());
                    }
                });
                if changed && participant != who {
                    self.emit(
                        Recipient::One(participant),
                        ServerEvent::YouWereRenamed { by: who, name },
                    );
                }
            }
            Action::Remove { participant } => {
                self.require(who, Permission::Admin)?;
                self.target_over(actor, participant)?;
                if participant == who {
                    return Err(RoomError::InvalidTarget("use leave to leave the session"));
                }
                self.remove_by(now, who, participant);
            }
            Action::RemoveOthers => {
                self.require(who, Permission::Admin)?;
                let targets: Vec<ParticipantId> = self
                    .members
                    .values()
                    .filter(|m| {
                        m.public.id != who && !(actor != Role::Host && m.public.role == Role::Host)
                    })
                    .map(|m| m.public.id)
                    .collect();
                for target in targets {
                    self.remove_by(now, who, target);
                }
            }
            Action::LockSharing { locked } => {
                self.require(who, Permission::Admin)?;
                if self.share_locked != locked {
                    self.share_locked = locked;
                    self.reconcile_sharing();
                    self.session_changed();
                }
            }
            Action::LockSession { locked } => {
                self.require(who, Permission::Admin)?;
                self.set_flag(|room| &mut room.locked, locked);
            }
            Action::SetAudienceChat { allowed } => {
                self.require(who, Permission::Admin)?;
                self.set_flag(|room| &mut room.audience_chat, allowed);
            }
            Action::Spotlight { participant } => {
                self.require(who, Permission::Admin)?;
                if let Some(target) = participant {
                    self.target_over(actor, target)?;
                }
                if self.spotlight != participant {
                    self.spotlight = participant;
                    self.session_changed();
                }
            }
            Action::UpdateRoomMetadata { change } => {
                self.require(who, Permission::Admin)?;
                let (next, changes) = change.apply(&self.metadata, MAX_ROOM_METADATA_BYTES)?;
                if !changes.is_empty() {
                    self.metadata = next;
                    self.emit(
                        Recipient::Everyone,
                        ServerEvent::RoomMetadataUpdated { by: who, changes },
                    );
                }
            }
            Action::UpdateMemberMetadata {
                participant,
                change,
            } => {
                let target = participant.unwrap_or(who);
                if target == who {
                    self.require(who, Permission::Participate)?;
                } else {
                    self.require(who, Permission::Admin)?;
                    self.target_over(actor, target)?;
                }
                self.change_member_metadata(who, target, &change)?;
            }
            Action::PromoteAudience { participant } => {
                self.require(who, Permission::Admin)?;
                let target = self.target_over(actor, participant)?;
                if target.role != Role::Audience {
                    return Err(RoomError::InvalidState(
                        "only audience members can be promoted",
                    ));
                }
                if self.stage.len() >= self.config.max_active {
                    return Err(RoomError::ActiveLimitReached {
                        max: self.config.max_active,
                    });
                }
                self.set_role(who, participant, Role::Participant);
            }
            Action::DemoteToAudience { participant } => {
                self.require(who, Permission::Admin)?;
                let target = self.target_over(actor, participant)?;
                if target.role != Role::Participant {
                    return Err(RoomError::InvalidState(
                        "only participants can be demoted to audience",
                    ));
                }
                self.set_role(who, participant, Role::Audience);
            }
            Action::MakeManager { participant } => {
                self.require(who, Permission::ManageRoles)?;
                let target = self.target(participant)?;
                if target.role != Role::Participant {
                    return Err(RoomError::InvalidState(
                        "only participants can be made managers",
                    ));
                }
                self.set_role(who, participant, Role::Manager);
            }
            Action::RevokeManager { participant } => {
                self.require(who, Permission::ManageRoles)?;
                let target = self.target(participant)?;
                if target.role != Role::Manager {
                    return Err(RoomError::InvalidState("the participant is not a manager"));
                }
                self.set_role(who, participant, Role::Participant);
            }
            Action::TransferHost { participant } => {
                self.require(who, Permission::TransferHost)?;
                self.target(participant)?;
                if participant == who {
                    return Err(RoomError::InvalidTarget("already the host"));
                }
                self.set_role(who, who, Role::Participant);
                self.set_role(who, participant, Role::Host);
                self.update_idle(now);
            }
            Action::SetDeaf { participant, deaf } => {
                let target = participant.unwrap_or(who);
                if target == who {
                    self.require(who, Permission::Participate)?;
                } else {
                    self.require(who, Permission::Admin)?;
                    self.target_over(actor, target)?;
                }
                let changed = self.change(target, |m, u| {
                    set(&mut m.deafened, deaf, &mut u.deafened);
                    if deaf {
                        // Someone who cannot hear the others should not be heard by them.
                        set(&mut m.audio_muted, true, &mut u.audio_muted);
                        set(&mut m.talking, false, &mut u.talking);
                    }
                });
                if changed && target != who {
                    self.emit(
                        Recipient::One(target),
                        ServerEvent::YourHearingChanged { by: who, deaf },
                    );
                }
            }
            Action::SetHandsFirst { on } => {
                self.require(who, Permission::Admin)?;
                self.set_flag(|room| &mut room.hands_first, on);
            }
            Action::SetWaitingRoom { on } => {
                self.require(who, Permission::Admin)?;
                if self.set_flag(|room| &mut room.waiting_room, on) && !on {
                    self.admit_all(now, who);
                    // Those the session has no room for are told, not left waiting for a
                    // lobby that no longer exists.
                    let left: Vec<WaiterId> = self.lobby.keys().copied().collect();
                    for waiter in left {
                        self.turn_away(
                            waiter,
                            LobbyExit::Denied { by: who },
                            RoomError::SessionFull {
                                capacity: self.config.capacity,
                            },
                        );
                    }
                }
            }
            Action::Admit { waiter } => {
                self.require(who, Permission::Admin)?;
                if !self.lobby.contains_key(&waiter) {
                    return Err(RoomError::NotWaiting(waiter));
                }
                if !self.admit_waiter(now, who, waiter) {
                    return Err(RoomError::SessionFull {
                        capacity: self.config.capacity,
                    });
                }
            }
            Action::AdmitAll => {
                self.require(who, Permission::Admin)?;
                self.admit_all(now, who);
            }
            Action::Deny { waiter } => {
                self.require(who, Permission::Admin)?;
                if !self.lobby.contains_key(&waiter) {
                    return Err(RoomError::NotWaiting(waiter));
                }
                self.turn_away(waiter, LobbyExit::Denied { by: who }, RoomError::Denied);
            }
            Action::Leave => self.remove_member(now, who, LeaveReason::Left),
            Action::End => {
                self.require(who, Permission::EndSession)?;
                self.end(EndReason::EndedByHost { by: who });
            }
        }
        Ok(())
    }

    // ----- internals -----

    fn live(&self) -> Result<(), RoomError> {
        if self.ended {
            Err(RoomError::Ended)
        } else {
            Ok(())
        }
    }

    /// The one permission check: does `who`'s role, under the current settings, grant
    /// `permission`?
    fn require(&self, who: ParticipantId, permission: Permission) -> Result<(), RoomError> {
        match self.grants_of(who) {
            Some(g) if g.allows(permission) => Ok(()),
            Some(_) => Err(RoomError::PermissionDenied(permission)),
            None => Err(RoomError::NotJoined(who)),
        }
    }

    fn require_open(&self, who: ParticipantId, app: &AppId) -> Result<(), RoomError> {
        if self.apps.is_open(who, app) {
            Ok(())
        } else {
            Err(RoomError::InvalidState(NOT_OPEN))
        }
    }

    fn target(&self, id: ParticipantId) -> Result<&Member, RoomError> {
        self.member(id).ok_or(RoomError::NotFound(id))
    }

    /// The target of an `admin` control over a member: it must exist, and only the host
    /// may aim one at the host. Every admin action naming a member goes through here, before
    /// any check of the target's state, so a manager aiming at the host always gets
    /// `invalid_target`.
    fn target_over(&self, actor: Role, id: ParticipantId) -> Result<&Member, RoomError> {
        let target = self.target(id)?;
        if target.role == Role::Host && actor != Role::Host {
            return Err(RoomError::InvalidTarget(
                "only the host can do this to the host",
            ));
        }
        Ok(target)
    }

    fn name_of(&self, id: ParticipantId) -> String {
        self.member(id)
            .map(|m| m.display_name.clone())
            .unwrap_or_default()
    }

    fn emit(&mut self, recipient: Recipient, event: ServerEvent) {
        self.events.push_back((recipient, event));
    }

    /// Applies `f` to a member's public state and tells everyone what changed. Returns
    /// whether anything did.
    fn change(
        &mut self,
        id: ParticipantId,
        f: impl FnOnce(&mut Member, &mut MemberUpdate),
    ) -> bool {
        let Some(member) = self.members.get_mut(&id) else {
            return false;
        };
        let mut update = MemberUpdate::default();
        f(&mut member.public, &mut update);
        if update.is_empty() {
            return false;
        }
        self.emit(
            Recipient::Everyone,
            ServerEvent::Updated {
                participant: id,
                changes: update,
            },
        );
        true
    }

    /// Applies a metadata change to member `target` and tells everyone, or changes nothing
    /// when it is refused.
    fn change_member_metadata(
        &mut self,
        by: ParticipantId,
        target: ParticipantId,
        change: &MetadataChange,
    ) -> Result<(), RoomError> {
        let member = self
            .members
            .get_mut(&target)
            .ok_or(RoomError::NotFound(target))?;
        let (next, changes) = change.apply(&member.metadata, MAX_MEMBER_METADATA_BYTES)?;
        if !changes.is_empty() {
            member.metadata = next;
            // An audience member is seen whole only by hosts and managers (and itself).
            let recipient = if member.public.role == Role::Audience {
                let mut seers = self.admins();
                seers.push(target);
                Recipient::Only(seers)
            } else {
                Recipient::Everyone
            };
            self.emit(
                recipient,
                ServerEvent::MemberMetadataUpdated {
                    participant: target,
                    by,
                    changes,
                },
            );
        }
        Ok(())
    }

    fn mute(&mut self, by: ParticipantId, target: ParticipantId) {
        let changed = self.change(target, |m, u| {
            set(&mut m.audio_muted, true, &mut u.audio_muted);
            set(&mut m.talking, false, &mut u.talking);
        });
        if changed && target != by {
            self.emit(Recipient::One(target), ServerEvent::YouWereMuted { by });
        }
    }

    /// Sets one of the session's switches and tells everyone; false when it already was so.
    fn set_flag(&mut self, flag: fn(&mut Room) -> &mut bool, value: bool) -> bool {
        let field = flag(self);
        if *field == value {
            return false;
        }
        *field = value;
        self.session_changed();
        true
    }

    fn session_changed(&mut self) {
        let session = self.session_info();
        self.emit(Recipient::Everyone, ServerEvent::SessionUpdated { session });
    }

    /// Stops the screen share of everyone who may no longer share.
    fn reconcile_sharing(&mut self) {
        let (share_locked, audience_chat) = (self.share_locked, self.audience_chat);
        let stop: Vec<ParticipantId> = self
            .members
            .values()
            .filter(|m| {
                m.public.sharing && !grants(m.public.role, share_locked, audience_chat).share_screen
            })
            .map(|m| m.public.id)
            .collect();
        for id in stop {
            self.change(id, |m, u| set(&mut m.sharing, false, &mut u.sharing));
        }
    }

    /// Changes a role, keeps the host and active counts in step, stops publishing a role
    /// no longer allows, and tells everyone (and the member, who learns by whom).
    fn set_role(&mut self, by: ParticipantId, id: ParticipantId, role: Role) {
        let Some(member) = self.members.get(&id) else {
            return;
        };
        let old = member.public.role;
        if old == role {
            return;
        }
        if is_active(old) {
            self.stage.remove(&id);
        } else {
            self.audience.remove(&id);
        }
        if is_active(role) {
            self.stage.insert(id);
        } else {
            self.audience.insert(id);
        }
        if old == Role::Host && self.host == Some(id) {
            self.host = None;
        }
        if role == Role::Host {
            self.host = Some(id);
        }
        let g = grants(role, self.share_locked, self.audience_chat);
        self.change(id, |m, u| {
            m.role = role;
            u.role = Some(role);
            if !g.publish {
                set(&mut m.audio_muted, true, &mut u.audio_muted);
                set(&mut m.video_on, false, &mut u.video_on);
                set(&mut m.talking, false, &mut u.talking);
            }
            if !g.share_screen {
                set(&mut m.sharing, false, &mut u.sharing);
            }
        });
        if by != id {
            self.emit(
                Recipient::One(id),
                ServerEvent::YourRoleChanged { by, role },
            );
        }
    }

    fn remove_by(&mut self, now: Instant, by: ParticipantId, target: ParticipantId) {
        self.emit(Recipient::One(target), ServerEvent::YouWereRemoved { by });
        self.remove_member(now, target, LeaveReason::Removed { by });
    }

    /// Takes a member out, then repairs what depended on it: spotlight, host, idle timer,
    /// and the room itself when it was the last one.
    fn remove_member(&mut self, now: Instant, id: ParticipantId, reason: LeaveReason) {
        let Some(state) = self.members.remove(&id) else {
            return;
        };
        if let Some(until) = state.grace_until {
            self.graces.remove(&(until, id));
        }
        self.stage.remove(&id);
        self.audience.remove(&id);
        self.apps.leave(id);
        if self.members.is_empty() {
            // Nobody is left to tell.
            self.end(EndReason::Empty);
            return;
        }
        self.emit(
            Recipient::EveryoneExcept(id),
            ServerEvent::Left {
                participant: id,
                reason,
            },
        );
        if self.spotlight == Some(id) {
            self.spotlight = None;
            self.session_changed();
        }
        if self.host == Some(id) {
            self.host = None;
            self.hand_over(id);
        }
        self.update_idle(now);
    }

    /// Gives the host role of a departed host to the longest-present manager, else the
    /// longest-present participant, else the longest-present audience member, so the room
    /// always has someone who can run it.
    fn hand_over(&mut self, old_host: ParticipantId) {
        let pick = |role: Role| {
            self.stage
                .iter()
                .filter_map(|id| self.members.get(id))
                .find(|m| m.public.role == role)
                .map(|m| m.public.id)
        };
        let next = pick(Role::Manager)
            .or_else(|| pick(Role::Participant))
            .or_else(|| self.audience.first().copied());
        if let Some(next) = next {
            self.set_role(old_host, next, Role::Host);
        }
    }

    /// Arms the idle timer while the host is alone, disarms it otherwise.
    fn update_idle(&mut self, now: Instant) {
        let alone_host = match (self.members.len(), self.host) {
            (1, Some(host)) => self.members.get(&host),
            _ => None,
        };
        match alone_host {
            Some(host) => {
                if self.idle_deadline.is_none() {
                    // A join may ask for any number of minutes; past the maximum it gets the
                    // maximum.
                    let max = Duration::from_secs(u64::from(MAX_IDLE_TIMEOUT_MINS) * 60);
                    let timeout = host
                        .idle_timeout
                        .map_or(self.config.idle_timeout, |t| t.min(max));
                    self.idle_deadline = Some(later(now, timeout));
                }
            }
            None => self.idle_deadline = None,
        }
    }

    fn end(&mut self, reason: EndReason) {
        if !self.members.is_empty() {
            self.emit(Recipient::Everyone, ServerEvent::SessionEnded { reason });
        }
        for waiter in std::mem::take(&mut self.lobby).into_keys() {
            self.lobby_outcomes.push_back(LobbyOutcome::TurnedAway {
                waiter,
                reason: RoomError::Ended,
            });
        }
        self.members.clear();
        self.stage.clear();
        self.audience.clear();
        self.graces.clear();
        self.host = None;
        self.idle_deadline = None;
        self.ended = true;
    }

    fn resume(
        &mut self,
        id: ParticipantId,
        key: &ResumeKey,
        new_key: ResumeKey,
    ) -> Result<JoinOutcome, RoomError> {
        let member = self.members.get_mut(&id).ok_or(RoomError::ResumeFailed)?;
        if !member.resume_key.matches(key) {
            return Err(RoomError::ResumeFailed);
        }
        member.resume_key = new_key;
        if let Some(until) = member.grace_until.take() {
            member.public.connection = ConnectionState::Present;
            self.graces.remove(&(until, id));
            self.emit(
                Recipient::EveryoneExcept(id),
                ServerEvent::Updated {
                    participant: id,
                    changes: MemberUpdate {
                        connection: Some(ConnectionState::Present),
                        ..MemberUpdate::default()
                    },
                },
            );
        }
        let welcome = self.welcome(id, true, usize::MAX);
        Ok(JoinOutcome {
            participant_id: id,
            resumed: true,
            welcome,
        })
    }

    #[allow(
        clippy::expect_used,
        reason = "called only right after the member was inserted or found"
    )]
    fn welcome(&self, id: ParticipantId, resumed: bool, chat: usize) -> Welcome {
        let (role, resume_key) = self
            .members
            .get(&id)
            .map(|m| (m.public.role, m.resume_key.clone()))
            .expect("welcome is built right after the member was inserted or found");
        let view = self.view_of(id);
        let lobby = self.lobby_for(role);
        Welcome {
            protocol_version: PROTOCOL_VERSION,
            participant_id: id,
            role,
            resume_key,
            resumed,
            session: self.session_info(),
            members: view.members,
            audience: view.audience,
            chat: self.chat.recent(id, chat),
            metadata: self.metadata.clone(),
            member_metadata: view.member_metadata,
            lobby,
            heartbeat_interval_ms: u64::try_from(HEARTBEAT_INTERVAL.as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// The roster as member `id` starts from: the stage and `id` itself in full, the
    /// audience as its count and first page, and the metadata of everyone listed. Costs the
    /// stage plus one page, whatever the audience's size.
    fn view_of(&self, id: ParticipantId) -> RosterView {
        let mut listed: Vec<ParticipantId> = self.stage.iter().copied().collect();
        if let Err(at) = listed.binary_search(&id) {
            if self.members.contains_key(&id) {
                listed.insert(at, id);
            }
        }
        let members: Vec<Member> = listed
            .iter()
            .filter_map(|id| self.members.get(id))
            .map(|m| m.public.clone())
            .collect();
        let (audience, page_metadata) = self.audience_page(None, WELCOME_AUDIENCE_PAGE, None);
        let mut member_metadata = self.metadata_of(&listed);
        member_metadata.extend(page_metadata);
        member_metadata.sort_by_key(|m| m.participant);
        member_metadata.dedup_by_key(|m| m.participant);
        RosterView {
            members,
            audience,
            member_metadata,
        }
    }

    fn metadata_of(&self, ids: &[ParticipantId]) -> Vec<MemberMetadata> {
        ids.iter()
            .filter_map(|id| self.members.get(id))
            .filter_map(MemberState::metadata_entry)
            .collect()
    }

    /// Audience members after `after`, at most `limit`, matching `search` (already
    /// lowercased) when given; with the page's metadata.
    fn audience_page(
        &self,
        after: Option<ParticipantId>,
        limit: usize,
        search: Option<&str>,
    ) -> (AudiencePage, Vec<MemberMetadata>) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let in_audience = |id: &ParticipantId| self.members.get(id);
        let (mut page, count) = match search {
            // The whole audience's count is at hand; the page reads only what it holds.
            None => {
                let page: Vec<&MemberState> = self
                    .audience
                    .range((start, Bound::Unbounded))
                    .filter_map(in_audience)
                    .take(limit.saturating_add(1))
                    .collect();
                (page, self.audience.len())
            }
            // A search has to read every name to count the matches: one pass for both.
            Some(needle) => {
                let mut page = Vec::new();
                let mut count = 0;
                for m in self.audience.iter().filter_map(in_audience) {
                    if !m.public.display_name.to_lowercase().contains(needle) {
                        continue;
                    }
                    count += 1;
                    let past_cursor = after.is_none_or(|after| m.public.id > after);
                    if past_cursor && page.len() <= limit {
                        page.push(m);
                    }
                }
                (page, count)
            }
        };
        let more = page.len() > limit;
        page.truncate(limit);
        let next = more
            .then(|| {
                page.last()
                    .map(|m| cursor(self.config.instance, m.public.id))
            })
            .flatten();
        let ids: Vec<ParticipantId> = page.iter().map(|m| m.public.id).collect();
        let page = AudiencePage {
            count: u64::try_from(count).unwrap_or(u64::MAX),
            members: page.iter().map(|m| m.public.clone()).collect(),
            next,
        };
        (page, self.metadata_of(&ids))
    }

    /// One page of the audience for member `who` (`roster_page`): members after the cursor
    /// `after`, at most `limit`, whose name contains `search` ignoring case.
    ///
    /// # Errors
    /// [`RoomError::Ended`], [`RoomError::NotJoined`], [`RoomError::InvalidCursor`] for a
    /// cursor this room did not hand out, [`RoomError::InvalidLimit`] for a limit outside
    /// 1 to [`MAX_ROSTER_PAGE`], [`RoomError::InvalidSearch`] for a search longer than
    /// [`MAX_ROSTER_SEARCH_CHARS`].
    pub fn roster_page(
        &self,
        who: ParticipantId,
        after: Option<&str>,
        limit: u32,
        search: Option<&str>,
    ) -> Result<(AudiencePage, Vec<MemberMetadata>), RoomError> {
        self.live()?;
        if !self.members.contains_key(&who) {
            return Err(RoomError::NotJoined(who));
        }
        if limit == 0 || limit > MAX_ROSTER_PAGE {
            return Err(RoomError::InvalidLimit(limit));
        }
        let after = after
            .map(|c| parse_cursor(self.config.instance, c).ok_or(RoomError::InvalidCursor))
            .transpose()?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_ROSTER_SEARCH_CHARS) {
            return Err(RoomError::InvalidSearch);
        }
        let needle = search.map(str::to_lowercase);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.audience_page(after, limit, needle.as_deref()))
    }

    /// The state afresh for member `who`, who fell behind: see [`Resync`].
    #[must_use]
    pub fn resync(&self, who: ParticipantId) -> Option<Resync> {
        let member = self.members.get(&who)?;
        let view = self.view_of(who);
        Some(Resync {
            role: member.public.role,
            session: self.session_info(),
            members: view.members,
            audience: view.audience,
            metadata: self.metadata.clone(),
            member_metadata: view.member_metadata,
            last_chat_seq: self.chat.recent(who, 1).last().map(|m| m.seq),
            lobby: self.lobby_for(member.public.role),
        })
    }

    /// The lobby as a member of `role` sees it: whole for hosts and managers, empty for
    /// others.
    fn lobby_for(&self, role: Role) -> Vec<Waiter> {
        if matches!(role, Role::Host | Role::Manager) {
            self.lobby().cloned().collect()
        } else {
            Vec::new()
        }
    }

    /// How many audience members the room has.
    #[must_use]
    pub fn audience_count(&self) -> usize {
        self.audience.len()
    }
}

/// What a member's roster starts from (welcome and resync).
struct RosterView {
    members: Vec<Member>,
    audience: AudiencePage,
    member_metadata: Vec<MemberMetadata>,
}

/// A `roster_page` cursor: the room's instance and the last member of the page.
fn cursor(instance: u64, last: ParticipantId) -> String {
    format!("{instance:016x}.{}", last.0)
}

/// The member a cursor of this room points after, or `None` for anything else.
fn parse_cursor(instance: u64, text: &str) -> Option<ParticipantId> {
    let (room, id) = text.split_once('.')?;
    if room.len() != 16 || u64::from_str_radix(room, 16).ok()? != instance {
        return None;
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().map(ParticipantId)
}

/// `now + d`, saturating far in the future instead of overflowing on absurd durations.
fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d.min(CENTURY)).unwrap_or(now)
}

/// Sets a flag and records it in the update when it changes.
fn set(field: &mut bool, value: bool, update: &mut Option<bool>) {
    if *field != value {
        *field = value;
        *update = Some(value);
    }
}
