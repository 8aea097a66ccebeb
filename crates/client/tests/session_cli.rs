//! `huddle-cli join`: lines on standard input become chat to everyone (or, after a slash,
//! commands), the session's events come out as JSON lines, and end of input leaves the
//! session cleanly.

mod session_support;

use huddle_client::session::{Notice, SessionEvent};
use huddle_proto::LeaveReason;
use session_support::{cli_join, join, start_open, wait_event, wait_state, TestResult, PATIENCE};
use tokio::io::AsyncWriteExt as _;

#[tokio::test]
async fn cli_chats_from_stdin_and_leaves_on_eof() -> TestResult {
    let server = start_open().await?;
    let (ann, mut ann_events) = join(&server, "cli room", "Ann").await?;
    let (mut child, mut stdin, mut lines) = cli_join(&server, "cli room")?;

    // The first line is the welcome, as JSON, naming the session's members.
    let first = tokio::time::timeout(PATIENCE, lines.next_line())
        .await??
        .ok_or("no output")?;
    let welcome: serde_json::Value = serde_json::from_str(&first)?;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(
        welcome["state"]["members"].as_array().map(Vec::len),
        Some(2)
    );

    ann.chat("hi terminal").await?;
    // The chat reaches the command as a JSON line.
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await??
            .ok_or("output ended before the chat")?;
        let value: serde_json::Value = serde_json::from_str(&line)?;
        if value["type"] == "chat" {
            assert_eq!(value["message"]["text"], "hi terminal");
            break;
        }
    }

    stdin.write_all(b"hello from the terminal\n").await?;
    stdin.flush().await?;
    wait_state(&ann, "Ann has the terminal's line", |s| {
        s.chat
            .iter()
            .any(|m| m.text == "hello from the terminal" && m.from_name == "Term")
    })
    .await?;

    // Lines starting with a slash are commands: raising a hand works, a host action is
    // refused by the server in its words, and a mistyped command says why.
    stdin.write_all(b"/hand up\n/mute 1\n/dance\n").await?;
    stdin.flush().await?;
    wait_state(&ann, "Term's hand is up", |s| {
        s.members
            .iter()
            .any(|m| m.display_name == "Term" && m.hand_raised)
    })
    .await?;
    let mut errors = Vec::new();
    while errors.len() < 2 {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await??
            .ok_or("output ended before the errors")?;
        let value: serde_json::Value = serde_json::from_str(&line)?;
        if value["type"] == "error" {
            errors.push(value["error"].as_str().unwrap_or("").to_owned());
        }
    }
    assert!(errors[0].contains("refused"), "{errors:?}");
    assert!(errors[1].contains("unknown command /dance"), "{errors:?}");

    drop(stdin);
    wait_event(&mut ann_events, "Term left", |e| {
        matches!(e, SessionEvent::Notice(Notice::Left { name, reason: LeaveReason::Left, .. }) if name == "Term")
    })
    .await?;
    let status = tokio::time::timeout(PATIENCE, child.wait()).await??;
    assert!(status.success(), "{status}");
    ann.leave().await?;
    server.shutdown().await;
    Ok(())
}
