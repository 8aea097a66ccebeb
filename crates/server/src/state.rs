//! State shared by every handler of one server: configuration, the room registry, the token
//! verifier and the shutdown signal.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::TokenVerifier;
use crate::config::{AuthMode, ServerConfig};
use crate::gate::Gate;
use crate::outbox::ConnId;
use crate::registry::Registry;
use crate::sfu::Sfu;

/// Shared by the HTTP handlers, connections and room tasks.
#[derive(Debug)]
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<ServerConfig>,
    /// Live rooms by session key.
    pub registry: Arc<Registry>,
    /// Present in JWT mode.
    pub verifier: Option<TokenVerifier>,
    /// The media forwarding unit, when media is enabled.
    pub sfu: Option<Sfu>,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// Every connection and room task, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// Bounds on sockets that are not members yet.
    pub gate: Arc<Gate>,
    next_conn: AtomicU64,
    connections: AtomicUsize,
}

impl AppState {
    /// Builds the shared state for `config`, without media.
    pub fn new(config: ServerConfig) -> Arc<Self> {
        Self::with_media(config, None, CancellationToken::new())
    }

    /// Builds the shared state for `config` with the forwarding unit `sfu`; `shutdown` is
    /// cancelled when the server begins to shut down.
    pub fn with_media(
        config: ServerConfig,
        sfu: Option<Sfu>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let config = Arc::new(config);
        let verifier = match &config.auth {
            AuthMode::Jwt { secret } => Some(TokenVerifier::new(secret)),
            AuthMode::Open => None,
        };
        let tasks = TaskTracker::new();
        Arc::new(Self {
            gate: Gate::new(config.limits.clone()),
            registry: Arc::new(Registry::new(config.clone(), tasks.clone(), sfu.clone())),
            sfu,
            config,
            verifier,
            shutdown,
            tasks,
            next_conn: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
        })
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Open WebSocket connections.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Counts a connection for as long as the guard lives.
    pub fn connection_guard(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            state: Arc::clone(self),
        }
    }
}

/// Decrements the connection count when dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    state: Arc<AppState>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.state.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
