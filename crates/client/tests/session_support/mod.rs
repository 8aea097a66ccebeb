//! Shared by the `session_*` tests: a real server on 127.0.0.1:0 and helpers that wait, with a
//! generous bound so a broken build fails instead of hanging, for the client to catch up.
#![allow(dead_code)]

use std::time::Duration;

use huddle_client::session::{self, CallState, JoinOptions, Session, SessionEvent, SessionEvents};
use huddle_server::{Server, ServerConfig, ServerHandle};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Upper bound for one wait. Not a performance assertion: healthy runs take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn start_open() -> TestResult<ServerHandle> {
    Ok(Server::start(ServerConfig::open_loopback()).await?)
}

pub fn options(server: &ServerHandle, session: &str, name: &str) -> JoinOptions {
    JoinOptions::new(server.ws_url(), session, name)
}

pub async fn join(
    server: &ServerHandle,
    session: &str,
    name: &str,
) -> TestResult<(Session, SessionEvents)> {
    Ok(session::join(options(server, session, name)).await?)
}

/// Waits until `session`'s state satisfies `pred`; returns that state.
pub async fn wait_state(
    session: &Session,
    what: &str,
    pred: impl Fn(&CallState) -> bool,
) -> TestResult<CallState> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let state = session.state();
        if pred(&state) {
            return Ok(state);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("gave up waiting for: {what}; state: {state:#?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads events until one satisfies `pred`; returns it and every event read before it.
pub async fn wait_event(
    events: &mut SessionEvents,
    what: &str,
    pred: impl Fn(&SessionEvent) -> bool,
) -> TestResult<(SessionEvent, Vec<SessionEvent>)> {
    let mut before = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if pred(&event) => return Ok((event, before)),
            Ok(Some(event)) => before.push(event),
            Ok(None) => return Err(format!("events ended before: {what}; saw {before:#?}").into()),
            Err(_) => return Err(format!("gave up waiting for: {what}; saw {before:#?}").into()),
        }
    }
}

/// Everything already queued.
pub fn drain(events: &mut SessionEvents) -> Vec<SessionEvent> {
    std::iter::from_fn(|| events.try_recv()).collect()
}

/// The roster as (id, name, role) triples, for comparing clients.
pub fn roster(state: &CallState) -> Vec<(u64, String, huddle_proto::Role, bool, bool)> {
    state
        .members
        .iter()
        .map(|m| {
            (
                m.id.0,
                m.display_name.clone(),
                m.role,
                m.audio_muted,
                m.hand_raised,
            )
        })
        .collect()
}

/// Output lines of a child process.
pub type ChildLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// `huddle-cli join` into `session` as "Term", with `--json` and no devices, its standard
/// input and output piped; killed when dropped.
pub fn cli_join(
    server: &ServerHandle,
    session: &str,
) -> TestResult<(
    tokio::process::Child,
    tokio::process::ChildStdin,
    ChildLines,
)> {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle-cli"))
        .args([
            "join",
            &server.http_url(),
            session,
            "--name",
            "Term",
            "--json",
            "--camera",
            "none",
            "--microphone",
            "none",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    Ok((child, stdin, tokio::io::BufReader::new(stdout).lines()))
}
