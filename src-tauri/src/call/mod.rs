//! The call the app is in, if any: the signaling session of `huddle-client` and the task that
//! forwards its events to the window over one `tauri::ipc::Channel`.
//!
//! Joining replaces any earlier call (it is left first). The forwarding task coalesces bursts
//! of state changes into one snapshot, so a window that falls behind sees the latest roster
//! rather than a queue of old ones; chat, notices and link changes are sent as they come.
//! The last event on the channel says why the call is over.

pub mod view;

use std::sync::Arc;
use std::time::Duration;

use huddle_client::session::{self, JoinOptions, Notice, Session, SessionEvent, SessionEvents};
use huddle_client::ClientError;
use tokio::sync::Mutex;

use crate::error::AppError;
use view::{CallEvent, JoinRequest, JoinedView, TileSize};

/// How long leaving may take when the app closes, so a dead server cannot hold the exit up.
const LEAVE_ON_EXIT: Duration = Duration::from_secs(2);

/// Where the forwarding task sends events: the window's channel, or a test's queue.
pub trait EventSink: Send + 'static {
    /// False once nobody listens any more.
    fn send(&self, event: CallEvent) -> bool;
}

impl EventSink for tauri::ipc::Channel<CallEvent> {
    fn send(&self, event: CallEvent) -> bool {
        tauri::ipc::Channel::send(self, event).is_ok()
    }
}

struct Active {
    session: Session,
    /// The sizes the window draws each participant's video at, for the media layer to pick
    /// fitting layers from.
    tile_sizes: Arc<std::sync::Mutex<Vec<TileSize>>>,
}

/// The app's call slot.
#[derive(Default)]
pub struct Call {
    active: Mutex<Option<Active>>,
}

impl Call {
    /// Joins, replacing (leaving) any call the app is in. `embedded` is the hosted server's
    /// address, used when the request names no server.
    pub async fn join(
        &self,
        request: JoinRequest,
        embedded: Option<String>,
        sink: impl EventSink,
    ) -> Result<JoinedView, AppError> {
        let server = if request.server.trim().is_empty() {
            embedded.ok_or_else(|| {
                AppError::Call("not hosting on this computer; enter a server to join".into())
            })?
        } else {
            request.server.trim().to_owned()
        };
        let mut slot = self.active.lock().await;
        if let Some(old) = slot.take() {
            let _ = old.session.leave().await;
        }
        let mut options = JoinOptions::new(server, request.session_name, request.display_name);
        options.passcode = request.passcode.filter(|p| !p.is_empty());
        options.audio_muted = request.audio_muted;
        options.video_on = request.video_on;
        let (session, events) = session::join(options).await.map_err(join_error)?;
        let state = session.state();
        let joined = JoinedView {
            state: view::snapshot(&state, &session.status()),
            chat: state.chat.iter().map(view::chat).collect(),
        };
        tauri::async_runtime::spawn(forward(session.clone(), events, sink));
        *slot = Some(Active {
            session,
            tile_sizes: Arc::default(),
        });
        Ok(joined)
    }

    /// A handle on the current call.
    pub async fn session(&self) -> Result<Session, AppError> {
        self.active
            .lock()
            .await
            .as_ref()
            .map(|a| a.session.clone())
            .ok_or(AppError::NotInCall)
    }

    /// Leaves the call, if there is one.
    pub async fn leave(&self) -> Result<(), AppError> {
        let active = self.active.lock().await.take();
        match active {
            Some(a) => a.session.leave().await.map_err(request_error),
            None => Ok(()),
        }
    }

    /// Ends the session for everyone (host only; the server checks).
    pub async fn end_for_all(&self) -> Result<(), AppError> {
        let session = self.session().await?;
        session.end().await.map_err(request_error)?;
        self.active.lock().await.take();
        Ok(())
    }

    pub async fn set_tile_sizes(&self, sizes: Vec<TileSize>) -> Result<(), AppError> {
        let slot = self.active.lock().await;
        let active = slot.as_ref().ok_or(AppError::NotInCall)?;
        tracing::debug!(?sizes, "tile sizes");
        *active
            .tile_sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sizes;
        Ok(())
    }

    /// Leaves quickly when the app closes.
    pub async fn leave_on_exit(&self) {
        if tokio::time::timeout(LEAVE_ON_EXIT, self.leave())
            .await
            .is_err()
        {
            tracing::warn!("leaving the call took too long; closing anyway");
        }
    }
}

fn join_error(e: ClientError) -> AppError {
    match e {
        ClientError::JoinRefused { message, .. } => AppError::JoinRefused(message),
        other => AppError::Call(other.to_string()),
    }
}

/// A request's failure as the person should read it: a refusal is the server's own words
/// (it names the missing permission).
pub fn request_error(e: ClientError) -> AppError {
    match e {
        ClientError::Rejected { message, .. } => AppError::Refused(message),
        ClientError::Reconnecting => AppError::Reconnecting,
        ClientError::SessionClosed(_) => AppError::NotInCall,
        other => AppError::Call(other.to_string()),
    }
}

/// Forwards the session's events until the call is over or the window stops listening.
async fn forward(session: Session, mut events: SessionEvents, sink: impl EventSink) {
    // The remover's or host's name, from the notice that precedes the close.
    let mut closer: Option<String> = None;
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while let Some(more) = events.try_recv() {
            batch.push(more);
        }
        // Only the latest state of a burst is worth drawing; it goes out before the next
        // non-state event so the window never shows a notice ahead of its cause.
        let mut pending = None;
        for event in batch {
            let out = match event {
                SessionEvent::StateChanged { state, .. } => {
                    pending = Some(state);
                    continue;
                }
                SessionEvent::Chat(message) => CallEvent::Chat {
                    message: view::chat(&message),
                },
                SessionEvent::Notice(notice) => {
                    match &notice {
                        Notice::YouWereRemoved { by_name, .. } => closer = Some(by_name.clone()),
                        Notice::SessionEnded {
                            by_name: Some(by_name),
                            ..
                        } => closer = Some(by_name.clone()),
                        _ => {}
                    }
                    match view::notice(&notice) {
                        Some(notice) => CallEvent::Notice { notice },
                        None => continue,
                    }
                }
                SessionEvent::Connection(status) => match status {
                    session::ConnectionStatus::Closed { reason } => CallEvent::Closed {
                        reason: view::close_reason(&reason, closer.clone()),
                    },
                    other => CallEvent::Link {
                        link: view::link(&other),
                    },
                },
                _ => continue,
            };
            if let Some(state) = pending.take() {
                if !sink.send(CallEvent::State {
                    state: view::snapshot(&state, &session.status()),
                }) {
                    return;
                }
            }
            let closed = matches!(out, CallEvent::Closed { .. });
            if !sink.send(out) || closed {
                return;
            }
        }
        if let Some(state) = pending.take() {
            if !sink.send(CallEvent::State {
                state: view::snapshot(&state, &session.status()),
            }) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Queue(mpsc::Sender<CallEvent>);
    impl EventSink for Queue {
        fn send(&self, event: CallEvent) -> bool {
            self.0.send(event).is_ok()
        }
    }

    async fn server() -> Result<huddle_server::ServerHandle, Box<dyn std::error::Error>> {
        let mut config = huddle_server::ServerConfig::open_loopback();
        config.bind = ([127, 0, 0, 1], 0).into();
        Ok(huddle_server::Server::start(config).await?)
    }

    fn request(name: &str) -> JoinRequest {
        JoinRequest {
            server: String::new(),
            session_name: "Weekly".into(),
            display_name: name.into(),
            passcode: None,
            audio_muted: false,
            video_on: true,
        }
    }

    fn next(rx: &mpsc::Receiver<CallEvent>, what: impl Fn(&CallEvent) -> bool) -> CallEvent {
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(e) if what(&e) => return e,
                Ok(_) => continue,
                Err(e) => panic!("no matching event: {e}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_host_mutes_a_guest_and_ends_the_session() -> Result<(), Box<dyn std::error::Error>> {
        let server = server().await?;
        let (host_tx, host_rx) = mpsc::channel();
        let (guest_tx, guest_rx) = mpsc::channel();
        let host = Call::default();
        let guest = Call::default();
        let joined = host
            .join(request("Ann"), Some(server.ws_url()), Queue(host_tx))
            .await?;
        assert_eq!(joined.state.role, view::RoleView::Host);
        let guest_joined = guest
            .join(request("Bo"), Some(server.ws_url()), Queue(guest_tx))
            .await?;
        assert_eq!(guest_joined.state.members.len(), 2);
        let bo = guest_joined.state.me;

        // The guest may not mute anyone; the refusal is the server's own words.
        let refused = guest
            .session()
            .await?
            .mute(huddle_proto::ParticipantId(joined.state.me))
            .await
            .map_err(request_error);
        assert!(
            matches!(refused, Err(AppError::Refused(ref m)) if !m.is_empty()),
            "{refused:?}"
        );

        host.session()
            .await?
            .mute(huddle_proto::ParticipantId(bo))
            .await
            .map_err(request_error)?;
        next(
            &guest_rx,
            |e| matches!(e, CallEvent::Notice { notice: view::NoticeView::YouWereMuted { by } } if by == "Ann"),
        );
        next(
            &host_rx,
            |e| matches!(e, CallEvent::State { state } if state.members.iter().any(|m| m.id == bo && m.audio_muted)),
        );

        host.end_for_all().await?;
        let closed = next(&guest_rx, |e| matches!(e, CallEvent::Closed { .. }));
        assert_eq!(
            closed,
            CallEvent::Closed {
                reason: view::EndView::EndedByHost {
                    by: Some("Ann".into())
                }
            }
        );
        assert!(matches!(host.session().await, Err(AppError::NotInCall)));
        server.shutdown().await;
        Ok(())
    }

    #[tokio::test]
    async fn joining_without_a_server_or_hosting_is_a_clear_error() {
        let call = Call::default();
        let (tx, _rx) = mpsc::channel();
        let err = call.join(request("Ann"), None, Queue(tx)).await;
        assert!(
            matches!(err, Err(AppError::Call(ref m)) if m.contains("enter a server")),
            "{err:?}"
        );
        assert!(matches!(call.leave().await, Ok(())));
    }
}
