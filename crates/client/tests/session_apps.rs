//! In-meeting apps through the client and the server: an app's channel carries messages
//! between members in one order, a late joiner (here `huddle-cli`) gets the state and the
//! recent messages, invitations arrive, an app flooding its channel is refused with
//! `rate_limited` while its member's chat goes on, and oversized data is refused clearly.

mod session_support;

use huddle_client::session::{AppEvent, ConnectionStatus, SessionEvent};
use huddle_client::ClientError;
use huddle_proto::limits::{APP_RATE_LIMIT_BURST, MAX_APP_MESSAGE_BYTES};
use huddle_proto::{AppId, ErrorCode};
use serde_json::{json, Value};
use session_support::{cli_join, join, start_open, wait_event, ChildLines, TestResult, PATIENCE};
use tokio::io::AsyncWriteExt as _;

fn board() -> TestResult<AppId> {
    Ok(AppId::parse("whiteboard")?)
}

/// The next JSON line of huddle-cli that `pick` accepts.
async fn next_line(
    lines: &mut ChildLines,
    what: &str,
    pick: impl Fn(&Value) -> bool,
) -> TestResult<Value> {
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .map_err(|_| format!("no {what} line in time"))??
            .ok_or_else(|| format!("output ended before a {what} line"))?;
        let value: Value = serde_json::from_str(&line)?;
        if pick(&value) {
            return Ok(value);
        }
    }
}

#[tokio::test]
async fn a_channel_carries_messages_state_and_invitations() -> TestResult {
    let server = start_open().await?;
    let (ann, mut ann_events) = join(&server, "apps", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "apps", "Bo").await?;
    let ann_id = ann.state().me;

    ann.app_invite(board()?, None).await?;
    let (invited, _) = wait_event(&mut bo_events, "invitation", |e| {
        matches!(e, SessionEvent::App(AppEvent::Invitation { .. }))
    })
    .await?;
    let SessionEvent::App(AppEvent::Invitation {
        app,
        from,
        from_name,
    }) = invited
    else {
        return Err("not an invitation".into());
    };
    assert_eq!((app, from, from_name.as_str()), (board()?, ann_id, "Ann"));

    ann.app_open(board()?).await?;
    bo.app_open(board()?).await?;
    wait_event(&mut bo_events, "bo's app opened", |e| {
        matches!(e, SessionEvent::App(AppEvent::Opened { .. }))
    })
    .await?;
    ann.app_send(board()?, json!({"t": "stroke", "id": "s1"}))
        .await?;
    ann.app_set_state(board()?, json!({"strokes": ["s1"]}))
        .await?;
    let (message, _) = wait_event(&mut bo_events, "bo gets the stroke", |e| {
        matches!(e, SessionEvent::App(AppEvent::Message(_)))
    })
    .await?;
    let SessionEvent::App(AppEvent::Message(message)) = message else {
        return Err("not a message".into());
    };
    assert_eq!((message.seq, message.from), (1, ann_id));
    assert_eq!(message.data, json!({"t": "stroke", "id": "s1"}));

    // huddle-cli joins late, opens the app: the state and the stroke; then it draws.
    let (_child, mut stdin, mut lines) = cli_join(&server, "apps")?;
    next_line(&mut lines, "welcome", |v| v["type"] == "welcome").await?;
    stdin.write_all(b"/app open whiteboard\n").await?;
    stdin.flush().await?;
    let opened = next_line(&mut lines, "app opened", |v| {
        v["type"] == "app" && v["event"]["kind"] == "opened"
    })
    .await?;
    assert_eq!(opened["event"]["state"], json!({"strokes": ["s1"]}));
    assert_eq!(opened["event"]["recent"][0]["data"]["id"], "s1");
    stdin
        .write_all(b"/app send whiteboard {\"t\": \"stroke\", \"id\": \"s2\"}\n")
        .await?;
    stdin.flush().await?;
    let (from_cli, _) = wait_event(
        &mut ann_events,
        "ann gets the cli's stroke",
        |e| matches!(e, SessionEvent::App(AppEvent::Message(m)) if m.seq == 2),
    )
    .await?;
    let SessionEvent::App(AppEvent::Message(m)) = from_cli else {
        return Err("not a message".into());
    };
    assert_eq!(m.data["id"], "s2");
    // The CLI sees its own message come back, in the same order as everyone.
    let echoed = next_line(&mut lines, "own message", |v| {
        v["type"] == "app" && v["event"]["kind"] == "message"
    })
    .await?;
    assert_eq!(echoed["event"]["seq"], 2);
    Ok(())
}

#[tokio::test]
async fn an_app_flood_is_refused_while_chat_goes_on() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "flood", "Ann").await?;
    let (bo, mut bo_events) = join(&server, "flood", "Bo").await?;
    ann.app_open(board()?).await?;
    bo.app_open(board()?).await?;

    // Far past the burst at once: some go through, the rest are refused, none is lost
    // silently, and the connection stays.
    let app = board()?;
    let sends = (0..600).map(|i| ann.app_send(app.clone(), json!({"n": i})));
    let results = futures_util::future::join_all(sends).await;
    let mut sent = 0;
    let mut limited = 0;
    for result in results {
        match result {
            Ok(()) => sent += 1,
            Err(ClientError::Rejected {
                code: ErrorCode::RateLimited,
                ..
            }) => limited += 1,
            Err(other) => return Err(format!("unexpected refusal: {other}").into()),
        }
    }
    println!("app flood: {sent} relayed, {limited} refused with rate_limited");
    assert!(limited > 0, "nothing was limited");
    // The burst, less the token `app_open` took (plus what refilled since).
    let burst = APP_RATE_LIMIT_BURST as usize - 1;
    assert!(sent >= burst, "fewer than the burst went through: {sent}");

    // Bo got exactly what was relayed, in order.
    let mut seqs = Vec::new();
    while seqs.len() < sent {
        let (event, _) = wait_event(&mut bo_events, "relayed app messages", |e| {
            matches!(e, SessionEvent::App(AppEvent::Message(_)))
        })
        .await?;
        if let SessionEvent::App(AppEvent::Message(m)) = event {
            seqs.push(m.seq);
        }
    }
    let expected: Vec<u64> = (1..=sent as u64).collect();
    assert_eq!(seqs, expected);

    // Chat is on its own budget: it still goes through at once, and reaches Bo.
    ann.chat("still here").await?;
    wait_event(
        &mut bo_events,
        "chat after the flood",
        |e| matches!(e, SessionEvent::Chat(m) if m.text == "still here"),
    )
    .await?;
    assert_eq!(ann.status(), ConnectionStatus::Connected);
    Ok(())
}

#[tokio::test]
async fn oversized_or_misdirected_app_data_is_refused_clearly() -> TestResult {
    let server = start_open().await?;
    let (ann, _ann_events) = join(&server, "big", "Ann").await?;
    // Not open yet.
    match ann.app_send(board()?, json!(1)).await {
        Err(ClientError::Rejected {
            code: ErrorCode::InvalidState,
            message,
        }) => {
            assert!(message.contains("app_open"), "{message}");
        }
        other => return Err(format!("expected invalid_state, got {other:?}").into()),
    }
    ann.app_open(board()?).await?;
    let big = Value::String("x".repeat(MAX_APP_MESSAGE_BYTES + 1));
    match ann.app_send(board()?, big).await {
        Err(ClientError::Rejected {
            code: ErrorCode::AppDataTooLarge,
            message,
        }) => {
            assert!(message.contains("16384"), "{message}");
        }
        other => return Err(format!("expected app_data_too_large, got {other:?}").into()),
    }
    // Still fine afterwards.
    ann.app_send(board()?, json!({"ok": true})).await?;
    Ok(())
}
