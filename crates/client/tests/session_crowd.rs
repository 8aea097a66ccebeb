//! `huddle-cli crowd`: many signaling-only members join one session from one process, the
//! ones past `max_active` as audience, say so in one line, and all leave when standard input
//! closes. Bad input is refused with a nonzero exit.

mod session_support;

use std::process::Stdio;

use huddle_client::session::Session;
use huddle_proto::Role;
use huddle_server::{Server, ServerConfig, ServerHandle};
use session_support::{join, wait_state, TestResult, PATIENCE};
use tokio::io::AsyncBufReadExt as _;

const CROWD: usize = 30;
const MAX_ACTIVE: usize = 5;

async fn start_small_stage() -> TestResult<ServerHandle> {
    let mut config = ServerConfig::open_loopback();
    config.max_active = MAX_ACTIVE;
    config.media.enabled = false;
    Ok(Server::start(config).await?)
}

fn crowd(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle-cli"));
    command
        .arg("crowd")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Every audience member's name, read page by page as a client would.
async fn audience_names(session: &Session) -> TestResult<Vec<String>> {
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let (page, _) = session.roster_page(after, 7, None).await?;
        names.extend(page.members.into_iter().map(|m| m.display_name));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(names),
        }
    }
}

#[tokio::test]
async fn a_crowd_fills_the_stage_then_the_audience_and_leaves_on_eof() -> TestResult {
    let server = start_small_stage().await?;
    let (host, _events) = join(&server, "crowd room", "Ann").await?;

    let mut child = crowd(&[
        &server.http_url(),
        "crowd room",
        "--members",
        &CROWD.to_string(),
        "--concurrency",
        "8",
        "--json",
    ])
    .spawn()?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();

    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await??
        .ok_or("no output")?;
    let joined: serde_json::Value = serde_json::from_str(&line)?;
    assert_eq!(joined["type"], "crowd", "{line}");
    assert_eq!(joined["joined"], CROWD, "{line}");
    assert_eq!(joined["failed"], 0, "{line}");
    assert!(
        joined["seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{line}"
    );

    // The host and four of the crowd publish; the other 26 are the audience.
    let state = wait_state(&host, "the crowd counted", |s| {
        s.stage().count() == MAX_ACTIVE && s.audience_count == (CROWD + 1 - MAX_ACTIVE) as u64
    })
    .await?;
    let stage: Vec<_> = state.stage().map(|m| m.display_name.clone()).collect();
    assert_eq!(stage[0], "Ann");
    assert!(
        stage[1..].iter().all(|n| n.starts_with("member 00")),
        "{stage:?}"
    );
    assert!(state.stage().filter(|m| m.role == Role::Host).count() == 1);

    // Every crowd name once, numbered from 0001, between the stage and the audience.
    let mut names = audience_names(&host).await?;
    assert_eq!(names.len(), CROWD + 1 - MAX_ACTIVE);
    names.extend(stage[1..].iter().cloned());
    names.sort();
    let expected: Vec<String> = (1..=CROWD).map(|i| format!("member {i:04}")).collect();
    assert_eq!(names, expected);

    // A member who joins now is audience too, and sees the same counts from there.
    let (late, _late_events) = join(&server, "crowd room", "Late").await?;
    let seen = late.state();
    assert_eq!(seen.role, Role::Audience);
    assert_eq!(seen.stage().count(), MAX_ACTIVE);
    assert_eq!(seen.audience_count, (CROWD + 2 - MAX_ACTIVE) as u64);
    late.leave().await?;

    // End of input: every crowd member leaves, and the command says so.
    drop(stdin);
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await??
        .ok_or("no leaving line")?;
    let left: serde_json::Value = serde_json::from_str(&line)?;
    assert_eq!(left["type"], "crowd_left", "{line}");
    assert_eq!(left["left"], CROWD, "{line}");
    assert_eq!(left["lost"], 0, "{line}");
    let status = tokio::time::timeout(PATIENCE, child.wait()).await??;
    assert!(status.success(), "{status}");
    wait_state(&host, "the crowd gone", |s| {
        s.members.len() == 1 && s.audience_count == 0
    })
    .await?;
    host.leave().await?;
    Ok(())
}

#[tokio::test]
async fn the_text_line_counts_joins_and_failures() -> TestResult {
    let server = start_small_stage().await?;
    let mut child = crowd(&[&server.ws_url(), "text crowd", "--members", "3"]).spawn()?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await??
        .ok_or("no output")?;
    let rest = line
        .strip_prefix("* 3 members joined in ")
        .and_then(|r| r.strip_suffix(" s (0 failed)"))
        .ok_or_else(|| format!("unexpected line: {line}"))?;
    assert!(rest.parse::<f64>().is_ok(), "{line}");
    drop(stdin);
    let status = tokio::time::timeout(PATIENCE, child.wait()).await??;
    assert!(status.success(), "{status}");
    Ok(())
}

#[tokio::test]
async fn bad_counts_and_unreachable_servers_are_refused() -> TestResult {
    for count in ["0", "5001", "many"] {
        let out = tokio::time::timeout(
            PATIENCE,
            crowd(&["127.0.0.1:9", "s", "--members", count]).output(),
        )
        .await??;
        assert!(!out.status.success(), "--members {count}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--members"), "--members {count}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }

    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let out = tokio::time::timeout(
        PATIENCE,
        crowd(&[
            &format!("127.0.0.1:{port}"),
            "s",
            "--members",
            "5",
            "--json",
        ])
        .output(),
    )
    .await??;
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let error: serde_json::Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(error["type"], "error", "{stdout}");
    let says = error["error"].as_str().unwrap_or_default();
    assert!(says.contains("cannot reach the server"), "{says}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    Ok(())
}
