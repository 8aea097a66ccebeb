//! Signaling: joining a session and staying in it.
//!
//! [`join`] opens the server's WebSocket, sends `join` and waits for the `welcome`. It returns
//! a [`Session`] handle (cheap to clone) for acting in the call, and a [`SessionEvents`]
//! stream telling the UI what happened. A background task owns the socket: it sends the
//! heartbeat, routes answers to the requests that wait for them, folds every server event into
//! the [`CallState`] model, refills chat gaps, and reconnects by itself (resuming the same
//! membership) when the link drops. `docs/client.md` describes the behaviour in full.
//!
//! Media is not part of this module; a media engine will hang off the same [`Session`].

mod conn;
mod driver;
mod state;

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use huddle_proto::limits::{DEFAULT_RECONNECT_GRACE, JOIN_TIMEOUT};
use huddle_proto::{
    Action, AppId, AppMessage, AudiencePage, ChatMessage, EndReason, ErrorCode, Join, MediaEvent,
    MediaRequest, MemberMetadata, Metadata, MetadataChange, ParticipantId, Reaction, ServerEvent,
    WaiterId, PROTOCOL_VERSION,
};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::ClientError;
use crate::tls::Trust;

pub use conn::LobbyNotice;
pub use state::{Applied, CallState, MetadataChanged, Notice};

/// How long a join waits in a lobby by default.
pub const DEFAULT_LOBBY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How to join.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JoinOptions {
    /// The server: `ws(s)://host:port/v1/ws`, an `http(s)://host:port` base, or `host:port`.
    pub server: String,
    /// The session to join (created if nobody is in it).
    pub session_name: String,
    /// The name others see.
    pub display_name: String,
    /// The session's passcode (sets it when this join creates the session).
    pub passcode: Option<String>,
    /// Join token; needed unless the server runs in open mode.
    pub token: Option<String>,
    /// Join with the microphone muted.
    pub audio_muted: bool,
    /// Join with the camera on.
    pub video_on: bool,
    /// How long this member, while host, may be alone before the session ends.
    pub idle_timeout_mins: Option<u32>,
    /// Which certificates a `wss` connection trusts.
    pub trust: Trust,
    /// Time limit for connecting and joining (also for each reconnect attempt).
    pub join_timeout: Duration,
    /// How long a request waits for its answer.
    pub request_timeout: Duration,
    /// How long to keep trying to reconnect after a drop. The server keeps the membership for
    /// its own grace period (30 s by default); trying longer than that only gets a refusal.
    pub reconnect_grace: Duration,
    /// Capacity of the [`SessionEvents`] queue.
    pub event_capacity: usize,
    /// How long to wait in a session's lobby for a host to let this join in.
    pub lobby_timeout: Duration,
    /// Told when the join waits in the lobby (the session has a waiting room), so the UI can
    /// say so; [`join`] returns once a host lets it in.
    pub on_waiting: Option<mpsc::UnboundedSender<LobbyNotice>>,
}

impl JoinOptions {
    /// Options with defaults for everything but where, which session and under what name.
    pub fn new(
        server: impl Into<String>,
        session_name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into(),
            session_name: session_name.into(),
            display_name: display_name.into(),
            passcode: None,
            token: None,
            audio_muted: false,
            video_on: false,
            idle_timeout_mins: None,
            trust: Trust::Platform,
            join_timeout: JOIN_TIMEOUT,
            request_timeout: Duration::from_secs(10),
            reconnect_grace: DEFAULT_RECONNECT_GRACE,
            event_capacity: 1024,
            lobby_timeout: DEFAULT_LOBBY_TIMEOUT,
            on_waiting: None,
        }
    }

    pub(crate) fn join_message(&self) -> Join {
        Join {
            protocol_version: PROTOCOL_VERSION,
            session_name: self.session_name.clone(),
            display_name: self.display_name.clone(),
            passcode: self.passcode.clone(),
            token: self.token.clone(),
            resume: None,
            audio_muted: self.audio_muted,
            video_on: self.video_on,
            idle_timeout_mins: self.idle_timeout_mins,
        }
    }
}

/// Why the session is over for this client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseReason {
    /// I left.
    Left,
    /// A host or manager removed me.
    Removed {
        /// Who.
        by: ParticipantId,
    },
    /// The session ended.
    SessionEnded {
        /// Why.
        reason: EndReason,
    },
    /// The server refused to take the membership back (for example `resume_failed` after the
    /// grace period).
    ResumeRefused {
        /// The server's code.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The connection dropped and could not be re-established within the grace period.
    ConnectionLost {
        /// What went wrong last.
        detail: String,
    },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Left => f.write_str("you left"),
            CloseReason::Removed { by } => write!(f, "removed by participant {by}"),
            CloseReason::SessionEnded { reason } => match reason {
                EndReason::EndedByHost { by } => write!(f, "the host ({by}) ended the session"),
                EndReason::IdleTimeout => f.write_str("the session ended after idling"),
                EndReason::Empty => f.write_str("the session ended"),
                EndReason::ServerShutdown => f.write_str("the server shut down"),
            },
            CloseReason::ResumeRefused { code, message } => {
                write!(f, "could not rejoin ({code:?}): {message}")
            }
            CloseReason::ConnectionLost { detail } => write!(f, "connection lost: {detail}"),
        }
    }
}

/// The state of the link to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Joined and connected.
    Connected,
    /// The link dropped; trying to resume the membership.
    Reconnecting,
    /// Back, with the state rebuilt from the server's welcome.
    Reconnected,
    /// Over for good.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// What the UI hears about.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The state changed; `cause` is the server event that changed it (`None` for a rebuild,
    /// such as after reconnecting or merging a chat refill).
    StateChanged {
        /// What the server reported.
        cause: Option<ServerEvent>,
        /// The state after the change.
        state: Arc<CallState>,
    },
    /// A chat message new to this client (live, or recovered by a refill or a resume).
    Chat(ChatMessage),
    /// Something a person should be told.
    Notice(Notice),
    /// The room's or a member's metadata changed (the state already holds the new values).
    Metadata(MetadataChanged),
    /// The link changed.
    Connection(ConnectionStatus),
    /// Something for an in-meeting app: its channel opened, a message on it, an invitation.
    App(AppEvent),
}

/// What the server tells about in-meeting apps (see docs/apps.md). Never dropped silently
/// into the state: the app's instance is the only keeper of what its channel carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppEvent {
    /// This member connected to the app's channel (`app_open`).
    Opened {
        /// Which app.
        app: AppId,
        /// The latest state snapshot, if any.
        state: Option<serde_json::Value>,
        /// The channel's recent messages, oldest first.
        recent: Vec<AppMessage>,
    },
    /// A message on the channel of an app this member has open.
    Message(AppMessage),
    /// Someone invites this member to open an app.
    Invitation {
        /// Which app.
        app: AppId,
        /// Who invites.
        from: ParticipantId,
        /// Their display name.
        from_name: String,
    },
}

/// The stream of [`SessionEvent`]s. Bounded: when the consumer falls more than the capacity
/// behind, further events are dropped and counted ([`SessionEvents::dropped`]) rather than
/// holding up the connection; [`Session::state`] and [`Session::status`] always tell the
/// latest truth.
#[derive(Debug)]
pub struct SessionEvents {
    rx: mpsc::Receiver<SessionEvent>,
    dropped: Arc<AtomicU64>,
}

impl SessionEvents {
    /// The next event; `None` once the session is closed and every event was read.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<SessionEvent> {
        self.rx.try_recv().ok()
    }

    /// How many events were dropped because the queue was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl futures_util::Stream for SessionEvents {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// A handle on a joined session. Clones share the one connection; the connection leaves the
/// session when [`Session::leave`] is called or the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Session {
    commands: mpsc::Sender<driver::Command>,
    state: watch::Receiver<Arc<CallState>>,
    status: watch::Receiver<ConnectionStatus>,
    request_timeout: Duration,
    media: Arc<std::sync::Mutex<Option<mpsc::Receiver<MediaEvent>>>>,
}

/// Joins a session.
///
/// # Errors
/// [`ClientError::InvalidUrl`] for an unusable server address,
/// [`ClientError::Unreachable`] / [`ClientError::Tls`] when the server cannot be reached,
/// [`ClientError::JoinRefused`] with the server's code and message when it refuses (wrong
/// passcode, locked session, token errors; `denied` when a host turned the join away from the
/// lobby), [`ClientError::Timeout`] when connecting and joining take longer than
/// [`JoinOptions::join_timeout`], or waiting in the lobby longer than
/// [`JoinOptions::lobby_timeout`].
pub async fn join(options: JoinOptions) -> Result<(Session, SessionEvents), ClientError> {
    let endpoint = conn::Endpoint::parse(&options.server)?;
    let handshake = tokio::time::timeout(
        options.join_timeout,
        conn::connect_and_join(&endpoint, &options.trust, options.join_message()),
    )
    .await
    .map_err(|_| ClientError::Timeout {
        what: format!("joining at {}", endpoint.url),
    })??;
    let (ws, welcome) = match handshake {
        conn::Handshake::Welcome(ws, welcome) => (ws, *welcome),
        conn::Handshake::Waiting(ws, notice) => {
            if let Some(tell) = &options.on_waiting {
                let _ = tell.send(notice);
            }
            tokio::time::timeout(
                options.lobby_timeout,
                conn::wait_for_admission(ws, &endpoint),
            )
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("waiting in the lobby at {}", endpoint.url),
            })??
        }
    };
    let (event_tx, event_rx) = mpsc::channel(options.event_capacity.max(1));
    let (command_tx, command_rx) = mpsc::channel(64);
    let state = Arc::new(CallState::from_welcome(&welcome));
    let (state_tx, state_rx) = watch::channel(state);
    let (status_tx, status_rx) = watch::channel(ConnectionStatus::Connected);
    let (media_tx, media_rx) = mpsc::channel(256);
    let dropped = Arc::new(AtomicU64::new(0));
    let session = Session {
        commands: command_tx,
        state: state_rx,
        status: status_rx,
        request_timeout: options.request_timeout,
        media: Arc::new(std::sync::Mutex::new(Some(media_rx))),
    };
    let driver = driver::Driver::new(driver::Parts {
        options,
        endpoint,
        welcome,
        commands: command_rx,
        events: event_tx,
        dropped: Arc::clone(&dropped),
        state: state_tx,
        status: status_tx,
        media: media_tx,
    });
    tokio::spawn(driver.run(ws));
    Ok((
        session,
        SessionEvents {
            rx: event_rx,
            dropped,
        },
    ))
}

impl Session {
    /// A snapshot of the call's state.
    #[must_use]
    pub fn state(&self) -> CallState {
        CallState::clone(&self.state.borrow())
    }

    /// The media events of this session (answers, slot assignments). The first caller
    /// takes the stream; later calls get `None`.
    #[must_use]
    pub fn take_media_events(&self) -> Option<mpsc::Receiver<MediaEvent>> {
        self.media
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Sends a media request. Fails only when the session is over; while reconnecting the
    /// request is dropped (offer again once [`Session::status`] is connected).
    ///
    /// # Errors
    /// [`ClientError::SessionClosed`] when the session has ended.
    pub async fn send_media(&self, request: MediaRequest) -> Result<(), ClientError> {
        self.send_command(driver::Command::Media(request)).await
    }

    /// Watches the call's state (a new snapshot after every change).
    #[must_use]
    pub fn state_watch(&self) -> watch::Receiver<Arc<CallState>> {
        self.state.clone()
    }

    /// Watches the link's status.
    #[must_use]
    pub fn status_watch(&self) -> watch::Receiver<ConnectionStatus> {
        self.status.clone()
    }

    /// The link's current status.
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.status.borrow().clone()
    }

    /// Sends `request {id, action}` and waits for the matching answer.
    ///
    /// While reconnecting, requests fail at once with [`ClientError::Reconnecting`] rather
    /// than queue: a queued "mute" delivered many seconds later would surprise everyone.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] with the server's code and message (e.g. `permission_denied`
    /// naming the missing permission), [`ClientError::Reconnecting`],
    /// [`ClientError::ConnectionLost`] when the link dropped before the answer,
    /// [`ClientError::Timeout`], or [`ClientError::SessionClosed`].
    pub async fn request(&self, action: Action) -> Result<(), ClientError> {
        if action == Action::Leave {
            return self.leave().await;
        }
        let (reply, answer) = oneshot::channel();
        self.send_command(driver::Command::Request { action, reply })
            .await?;
        self.await_answer(answer, "request").await
    }

    /// Leaves the session and closes the connection. Leaving a session that is already
    /// closed succeeds.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] when the server does not confirm in time (the connection is
    /// closed anyway).
    pub async fn leave(&self) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(driver::Command::Leave { reply })
            .await
            .is_err()
        {
            return Ok(());
        }
        match self.await_answer(answer, "leave").await {
            Err(ClientError::SessionClosed(_)) => Ok(()),
            other => other,
        }
    }

    /// Drops the socket without leaving, as a network failure would, and waits `hold`
    /// before the first reconnect attempt, so that tests can exercise reconnecting.
    #[doc(hidden)]
    pub async fn debug_drop_connection(&self, hold: Duration) {
        let _ = self
            .commands
            .send(driver::Command::DropConnection { hold })
            .await;
    }

    async fn send_command(&self, command: driver::Command) -> Result<(), ClientError> {
        if self.commands.send(command).await.is_err() {
            return Err(ClientError::SessionClosed(self.closed_reason()));
        }
        Ok(())
    }

    /// One page of the audience, in join order: members after the cursor `after` (the
    /// `next` of the page before; `None` for the first page), at most `limit` (1 to 500),
    /// whose name contains `search` ignoring case. With the metadata of the page's members.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] with `invalid_cursor` or `invalid_message` for a bad cursor
    /// or limit, [`ClientError::Timeout`], [`ClientError::Reconnecting`],
    /// [`ClientError::SessionClosed`].
    pub async fn roster_page(
        &self,
        after: Option<String>,
        limit: u32,
        search: Option<String>,
    ) -> Result<(AudiencePage, Vec<MemberMetadata>), ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send_command(driver::Command::RosterPage {
            after,
            limit,
            search,
            reply,
        })
        .await?;
        self.await_answer(answer, "roster page").await
    }

    async fn await_answer<T>(
        &self,
        answer: oneshot::Receiver<Result<T, ClientError>>,
        what: &str,
    ) -> Result<T, ClientError> {
        match tokio::time::timeout(self.request_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::SessionClosed(self.closed_reason())),
            Err(_) => Err(ClientError::Timeout {
                what: what.to_owned(),
            }),
        }
    }

    fn closed_reason(&self) -> CloseReason {
        match self.status() {
            ConnectionStatus::Closed { reason } => reason,
            _ => CloseReason::ConnectionLost {
                detail: "the connection task stopped".to_owned(),
            },
        }
    }

    /// Chat to everyone.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn chat(&self, text: impl Into<String>) -> Result<(), ClientError> {
        self.request(Action::Chat {
            to: None,
            text: text.into(),
        })
        .await
    }

    /// Chat privately to one member.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn chat_to(
        &self,
        to: ParticipantId,
        text: impl Into<String>,
    ) -> Result<(), ClientError> {
        self.request(Action::Chat {
            to: Some(to),
            text: text.into(),
        })
        .await
    }

    /// Raise my hand.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn raise_hand(&self) -> Result<(), ClientError> {
        self.request(Action::RaiseHand).await
    }

    /// Lower my hand, or (host, manager) someone else's.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn lower_hand(&self, participant: Option<ParticipantId>) -> Result<(), ClientError> {
        self.request(Action::LowerHand { participant }).await
    }

    /// React for everyone to see.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn react(&self, reaction: Reaction) -> Result<(), ClientError> {
        self.request(Action::React { reaction }).await
    }

    /// Mute or unmute my microphone.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_audio_muted(&self, muted: bool) -> Result<(), ClientError> {
        self.request(Action::SetAudio { muted }).await
    }

    /// Turn my camera on or off.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_video(&self, on: bool) -> Result<(), ClientError> {
        self.request(Action::SetVideo { on }).await
    }

    /// Tell everyone I share my screen, or stopped (the server refuses while screen share is
    /// locked to hosts and managers).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_sharing(&self, on: bool) -> Result<(), ClientError> {
        self.request(Action::SetSharing { on }).await
    }

    /// Mute someone (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn mute(&self, participant: ParticipantId) -> Result<(), ClientError> {
        self.request(Action::MuteAudio { participant }).await
    }

    /// Turn someone's camera off (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn stop_video(&self, participant: ParticipantId) -> Result<(), ClientError> {
        self.request(Action::StopVideo { participant }).await
    }

    /// Ask someone to unmute (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn ask_unmute(&self, participant: ParticipantId) -> Result<(), ClientError> {
        self.request(Action::AskUnmute { participant }).await
    }

    /// Rename someone (host, manager) or myself.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn rename(
        &self,
        participant: ParticipantId,
        name: impl Into<String>,
    ) -> Result<(), ClientError> {
        self.request(Action::Rename {
            participant,
            name: name.into(),
        })
        .await
    }

    /// Remove someone (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn remove(&self, participant: ParticipantId) -> Result<(), ClientError> {
        self.request(Action::Remove { participant }).await
    }

    /// Hand the host role to someone (host).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn transfer_host(&self, participant: ParticipantId) -> Result<(), ClientError> {
        self.request(Action::TransferHost { participant }).await
    }

    /// Lock or unlock the session against new joins (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn lock_session(&self, locked: bool) -> Result<(), ClientError> {
        self.request(Action::LockSession { locked }).await
    }

    /// Stop or start hearing the session: myself (`None`; anyone) or someone else (host,
    /// manager). Deafening also mutes the member's microphone; the server forwards no audio
    /// to a deafened member.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_deaf(
        &self,
        participant: Option<ParticipantId>,
        deaf: bool,
    ) -> Result<(), ClientError> {
        self.request(Action::SetDeaf { participant, deaf }).await
    }

    /// Turn the waiting room on or off (host, manager); off lets everyone waiting in.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_waiting_room(&self, on: bool) -> Result<(), ClientError> {
        self.request(Action::SetWaitingRoom { on }).await
    }

    /// Let someone in from the lobby (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`]; `not_waiting` for someone no longer there, `session_full`.
    pub async fn admit(&self, waiter: WaiterId) -> Result<(), ClientError> {
        self.request(Action::Admit { waiter }).await
    }

    /// Let everyone in from the lobby, as many as the session holds (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn admit_all(&self) -> Result<(), ClientError> {
        self.request(Action::AdmitAll).await
    }

    /// Turn someone in the lobby away (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`]; `not_waiting` for someone no longer there.
    pub async fn deny(&self, waiter: WaiterId) -> Result<(), ClientError> {
        self.request(Action::Deny { waiter }).await
    }

    /// Connect to an app's channel; an [`AppEvent::Opened`] with its state follows.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn app_open(&self, app: AppId) -> Result<(), ClientError> {
        self.request(Action::AppOpen { app }).await
    }

    /// Leave an app's channel.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn app_close(&self, app: AppId) -> Result<(), ClientError> {
        self.request(Action::AppClose { app }).await
    }

    /// Send a message on an app's channel (the app open; not for the audience).
    ///
    /// # Errors
    /// As [`Session::request`]; `app_data_too_large`, `rate_limited` among the refusals.
    pub async fn app_send(&self, app: AppId, data: serde_json::Value) -> Result<(), ClientError> {
        self.request(Action::AppMessage { app, data }).await
    }

    /// Store an app's state snapshot for members who connect later.
    ///
    /// # Errors
    /// As [`Session::app_send`].
    pub async fn app_set_state(
        &self,
        app: AppId,
        state: serde_json::Value,
    ) -> Result<(), ClientError> {
        self.request(Action::AppSetState { app, state }).await
    }

    /// Invite members (`None`: everyone else) to open an app.
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn app_invite(
        &self,
        app: AppId,
        to: Option<Vec<ParticipantId>>,
    ) -> Result<(), ClientError> {
        self.request(Action::AppInvite { app, to }).await
    }

    /// Show raised hands first in everyone's grid, or not (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn set_hands_first(&self, on: bool) -> Result<(), ClientError> {
        self.request(Action::SetHandsFirst { on }).await
    }

    /// Spotlight someone for everyone, or clear it (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn spotlight(&self, participant: Option<ParticipantId>) -> Result<(), ClientError> {
        self.request(Action::Spotlight { participant }).await
    }

    /// Set keys of the session's metadata, keeping the others (host, manager).
    ///
    /// # Errors
    /// As [`Session::request`]; `invalid_metadata` for a bad key, `metadata_too_large` over
    /// the limits.
    pub async fn set_room_metadata(&self, set: Metadata) -> Result<(), ClientError> {
        self.update_room_metadata(MetadataChange::merge(set)).await
    }

    /// Delete keys of the session's metadata (host, manager).
    ///
    /// # Errors
    /// As [`Session::set_room_metadata`].
    pub async fn delete_room_metadata(&self, keys: Vec<String>) -> Result<(), ClientError> {
        self.update_room_metadata(MetadataChange::delete(keys))
            .await
    }

    /// Change the session's metadata: set, delete or replace (host, manager).
    ///
    /// # Errors
    /// As [`Session::set_room_metadata`].
    pub async fn update_room_metadata(&self, change: MetadataChange) -> Result<(), ClientError> {
        self.request(Action::UpdateRoomMetadata { change }).await
    }

    /// Set keys of my metadata (`participant` `None`) or, as host or manager, someone
    /// else's, keeping the other keys.
    ///
    /// # Errors
    /// As [`Session::set_room_metadata`].
    pub async fn set_member_metadata(
        &self,
        participant: Option<ParticipantId>,
        set: Metadata,
    ) -> Result<(), ClientError> {
        self.update_member_metadata(participant, MetadataChange::merge(set))
            .await
    }

    /// Delete keys of my metadata or, as host or manager, someone else's.
    ///
    /// # Errors
    /// As [`Session::set_room_metadata`].
    pub async fn delete_member_metadata(
        &self,
        participant: Option<ParticipantId>,
        keys: Vec<String>,
    ) -> Result<(), ClientError> {
        self.update_member_metadata(participant, MetadataChange::delete(keys))
            .await
    }

    /// Change my metadata or, as host or manager, someone else's: set, delete or replace.
    ///
    /// # Errors
    /// As [`Session::set_room_metadata`].
    pub async fn update_member_metadata(
        &self,
        participant: Option<ParticipantId>,
        change: MetadataChange,
    ) -> Result<(), ClientError> {
        self.request(Action::UpdateMemberMetadata {
            participant,
            change,
        })
        .await
    }

    /// End the session for everyone (host).
    ///
    /// # Errors
    /// As [`Session::request`].
    pub async fn end(&self) -> Result<(), ClientError> {
        match self.request(Action::End).await {
            // The server may close before its `ok` reaches us; the end itself is the answer.
            Err(ClientError::SessionClosed(CloseReason::SessionEnded { .. })) => Ok(()),
            other => other,
        }
    }
}
