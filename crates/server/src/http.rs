//! HTTP routes: the WebSocket endpoint, the health check and the join page
//! ([`crate::join_page`]).
//!
//! [`router`] returns a plain axum `Router` so later features (network tests, TURN
//! credentials) can merge their own routes into it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::{Json, Router};
use serde::Serialize;
use tracing::Instrument as _;

use crate::conn;
use crate::gate::Ticket;
use crate::state::AppState;

/// Path of the WebSocket endpoint.
pub const WS_PATH: &str = "/v1/ws";
/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/healthz";

/// Multiple of the frame limit at which the WebSocket layer stops reading a frame.
const HARD_CAP_FACTOR: usize = 16;

/// Initial read buffer and write batching threshold of each WebSocket, in bytes.
const SOCKET_BUFFER: usize = 8 * 1024;

/// Remote address of an HTTP connection, for logs; in every request's `ConnectInfo`.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The server's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(WS_PATH, get(websocket))
        .route(HEALTH_PATH, get(health))
        .route(
            crate::join_page::JOIN_PATH,
            get(crate::join_page::join_page),
        )
        .with_state(state)
}

/// Body of `GET /healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Always `ok` while the server answers.
    pub status: &'static str,
    /// Server version.
    pub version: &'static str,
    /// Wire protocol version.
    pub protocol_version: u32,
    /// `jwt` or `open`.
    pub mode: &'static str,
    /// Live rooms.
    pub rooms: usize,
    /// Connected members over all rooms.
    pub members: usize,
    /// Open WebSocket connections, joined or not.
    pub connections: usize,
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Health> {
    let counts = state.registry.counts();
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: huddle_proto::PROTOCOL_VERSION,
        mode: match state.verifier {
            Some(_) => "jwt",
            None => "open",
        },
        rooms: counts.rooms,
        members: counts.members,
        connections: state.connections(),
    })
}

async fn websocket(
    upgrade: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    Extension(ticket): Extension<Arc<Ticket>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if state.shutdown.is_cancelled() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "server is shutting down",
        )
            .into_response();
    }
    // The WebSocket layer's own cap sits well above the protocol limit so that frames a bit
    // too large are read whole and refused with a clear error instead of a reset.
    let max = state.config.max_frame_bytes.saturating_mul(HARD_CAP_FACTOR);
    let conn = state.next_conn_id();
    let span = tracing::info_span!("conn", id = conn.0, peer = %peer.0);
    let tasks = state.tasks.clone();
    // From here on the socket is bounded as one that has not joined yet.
    ticket.expect_join();
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        // Small buffers keep a 5,000-member session's memory down; they grow when a frame
        // needs more.
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| {
            // Tracked so shutdown can wait for every connection to say goodbye.
            tasks.track_future(conn::serve(socket, conn, state, ticket).instrument(span))
        })
}
