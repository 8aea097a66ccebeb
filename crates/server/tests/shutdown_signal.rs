//! The `huddle-server` binary stops on SIGTERM (what `systemctl stop` or a container runtime
//! sends) the way `ServerHandle::shutdown` does: members are told `session_ended
//! {server_shutdown}` and closed with 1001. In a file of its own: a test that spawns processes
//! lends the child, for an instant, every socket of the test process, which would keep the
//! listener of a neighbouring test open past its shutdown.
#![cfg(unix)]

mod common;

use common::{join_message, Client, TestResult, PATIENCE};
use huddle_proto::{ClientMessage, EndReason, ServerEvent, ServerMessage};
use tokio::io::AsyncBufReadExt as _;

#[tokio::test]
async fn sigterm_closes_members_with_going_away() -> TestResult {
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle-server"))
        .args(["--mode", "open", "--bind", "127.0.0.1:0", "--no-media"])
        .args(["--udp-echo-port", "0"])
        .env("HUDDLE_LOG", "info")
        .env_remove("HUDDLE_CONFIG")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stderr = server.stderr.take().ok_or("no stderr")?;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    // The log line `huddle-server listening addr=127.0.0.1:PORT ...` names the port.
    let addr = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            let line = without_colours(&line);
            if let Some(rest) = line.split("addr=").nth(1) {
                if line.contains("listening") {
                    return Ok::<_, std::io::Error>(
                        rest.split_whitespace().next().map(str::to_owned),
                    );
                }
            }
        }
        Ok(None)
    })
    .await??
    .ok_or("the server did not say where it listens")?;
    // Keep reading the log so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("ws://{addr}/v1/ws");
    let mut ann = Client::connect(&url).await?;
    ann.send(&ClientMessage::Join(join_message("one", "Ann")))
        .await?;
    assert!(matches!(ann.recv().await?, ServerMessage::Welcome(_)));

    let pid = server.id().ok_or("server already exited")?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(status.success(), "kill -TERM failed");

    let reason = ann
        .event_where(|e| match e {
            ServerEvent::SessionEnded { reason } => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(reason, EndReason::ServerShutdown);
    assert_eq!(ann.expect_closed().await?, Some(1001));
    let exit = tokio::time::timeout(PATIENCE, server.wait()).await??;
    assert!(exit.success(), "server exited with {exit}");
    Ok(())
}

/// `text` without the terminal colour sequences (`ESC [ ... m`) the log is written with.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
