//! Refused joins come back as typed errors carrying the server's code and message.

mod session_support;

use huddle_client::session;
use huddle_client::ClientError;
use huddle_proto::ErrorCode;
use session_support::{join, options, start_open, TestResult};

#[tokio::test]
async fn wrong_passcode_and_locked_session_are_typed_refusals() -> TestResult {
    let server = start_open().await?;
    let mut first = options(&server, "private", "Ann");
    first.passcode = Some("1234".into());
    let (ann, _events) = session::join(first).await?;

    let mut wrong = options(&server, "private", "Bo");
    wrong.passcode = Some("9999".into());
    match session::join(wrong).await {
        Err(ClientError::JoinRefused { code, message }) => {
            assert_eq!(code, ErrorCode::WrongPasscode);
            assert!(!message.is_empty());
        }
        other => return Err(format!("expected wrong_passcode, got {other:?}").into()),
    }
    match session::join(options(&server, "private", "Bo")).await {
        Err(ClientError::JoinRefused { code, .. }) => {
            assert_eq!(code, ErrorCode::PasscodeRequired);
        }
        other => return Err(format!("expected passcode_required, got {other:?}").into()),
    }

    let (host, _host_events) = join(&server, "locked", "Host").await?;
    host.lock_session(true).await?;
    match session::join(options(&server, "locked", "Late")).await {
        Err(ClientError::JoinRefused { code, .. }) => assert_eq!(code, ErrorCode::SessionLocked),
        other => return Err(format!("expected session_locked, got {other:?}").into()),
    }
    host.lock_session(false).await?;
    let (late, _late_events) = session::join(options(&server, "locked", "Late")).await?;
    assert_eq!(late.state().members.len(), 2);

    // An address that is no server at all is an invalid URL, not a hang.
    assert!(matches!(
        session::join(session::JoinOptions::new("ftp://x", "s", "n")).await,
        Err(ClientError::InvalidUrl { .. })
    ));
    for s in [&ann, &host, &late] {
        s.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}
