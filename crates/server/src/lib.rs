//! The Huddle session server: admission (HS256 tokens or open mode), one task per room
//! driving the `huddle_room` state machine, and the WebSocket protocol of `huddle_proto`.
//!
//! It runs as the `huddle-server` binary or embedded in another program (the desktop app
//! hosts sessions this way):
//!
//! ```no_run
//! # async fn demo() -> Result<(), huddle_server::ServerError> {
//! let handle = huddle_server::Server::start(huddle_server::ServerConfig::open_loopback()).await?;
//! println!("clients connect to {}", handle.ws_url());
//! handle.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod config;
mod conn;
pub mod driver;
pub mod duration;
mod error;
pub mod gate;
pub mod http;
pub mod join_page;
pub mod listen;
pub mod nettest;
pub mod outbox;
pub mod ratelimit;
pub mod registry;
pub mod settings;
pub mod sfu;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{AuthMode, ConnectionLimits, RateLimit, ServerConfig, TlsFiles};
pub use error::ServerError;
pub use http::{Health, PeerAddr, HEALTH_PATH, WS_PATH};
/// Session tokens live in their own crate (so they can be fuzzed without the server's
/// network stack); re-exported here under their old path.
pub use huddle_auth as auth;
pub use huddle_auth::{
    mint_token, MintError, MintRequest, TokenError, TokenVerifier, VerifiedToken,
};
pub use registry::Counts;
pub use settings::{Settings, SettingsLayer};

use state::AppState;

/// Starts servers.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds, starts serving in the background and returns a handle to it.
    pub async fn start(config: ServerConfig) -> Result<ServerHandle, ServerError> {
        Self::start_with_routes(config, Router::new()).await
    }

    /// Like [`Server::start`], with extra routes merged into the server's own.
    pub async fn start_with_routes(
        config: ServerConfig,
        extra: Router,
    ) -> Result<ServerHandle, ServerError> {
        config.validate()?;
        let tls = config
            .tls
            .as_ref()
            .map(tls::load_server_config)
            .transpose()?;
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let sfu = sfu::Sfu::start(
            &config.media,
            local_addr.ip(),
            config.nettest.turn.clone(),
            shutdown.clone(),
        )?;
        let state = AppState::with_media(config, sfu, shutdown);
        let nettest_routes = nettest::start(
            &state.config.nettest,
            local_addr,
            state.verifier.clone(),
            state.shutdown.clone(),
        )
        .await?;
        let app = http::router(state.clone())
            .merge(nettest_routes)
            .merge(extra);
        let secure = tls.is_some();
        let serve_task = tokio::spawn(listen::serve(
            listener,
            tls,
            app,
            state.gate.clone(),
            state.config.limits.clone(),
            state.shutdown.clone(),
        ));
        tracing::info!(
            addr = %local_addr,
            tls = secure,
            mode = ?state.config.auth,
            "huddle-server listening"
        );
        let driver_state = state.clone();
        let task = tokio::spawn(async move {
            driver_state.shutdown.cancelled().await;
            tracing::info!("shutting down");
            // Rooms tell their members `session_ended {server_shutdown}` and close them.
            driver_state.registry.shutdown_all().await;
            driver_state.tasks.close();
            let grace = driver_state.config.shutdown_grace;
            if tokio::time::timeout(grace, driver_state.tasks.wait())
                .await
                .is_err()
            {
                tracing::warn!("some connections did not close within the shutdown grace");
            }
            match tokio::time::timeout(grace, serve_task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
                Err(_) => tracing::warn!("HTTP server did not stop within the shutdown grace"),
            }
            tracing::info!("stopped");
        });
        Ok(ServerHandle {
            local_addr,
            secure,
            state,
            task,
        })
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    secure: bool,
    state: Arc<AppState>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The WebSocket URL clients connect to.
    pub fn ws_url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!("{scheme}://{}{WS_PATH}", self.local_addr)
    }

    /// The base HTTP URL.
    pub fn http_url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The UDP address media is forwarded on, when media is enabled.
    pub fn media_addr(&self) -> Option<SocketAddr> {
        self.state.sfu.as_ref().map(sfu::Sfu::local_addr)
    }

    /// Counters of the media forwarding unit (all workers together), when media is enabled.
    pub fn media_stats(&self) -> Option<sfu::SfuCounts> {
        self.state.sfu.as_ref().map(sfu::Sfu::stats)
    }

    /// Counters of each media forwarding worker, when media is enabled.
    pub fn media_worker_stats(&self) -> Vec<sfu::SfuCounts> {
        self.state
            .sfu
            .as_ref()
            .map(sfu::Sfu::worker_stats)
            .unwrap_or_default()
    }

    /// Live rooms and members.
    pub fn counts(&self) -> Counts {
        self.state.registry.counts()
    }

    /// Begins shutdown without waiting for it (for signal handlers).
    pub fn trigger_shutdown(&self) {
        self.state.shutdown.cancel();
    }

    /// Ends every session with `server_shutdown`, closes all connections and waits until the
    /// server has stopped.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        self.wait().await;
    }

    /// Waits until the server has stopped (after [`ServerHandle::trigger_shutdown`]).
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "shutdown task failed");
        }
    }
}
