//! The `huddle-server token` command prints a token the server accepts with the right role.

mod common;

use common::TestResult;
use huddle_proto::Role;
use huddle_server::auth::unix_now;
use huddle_server::TokenVerifier;

fn run_token(args: &[&str]) -> TestResult<std::process::Output> {
    Ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_huddle-server"))
            .arg("token")
            .args(args)
            .env_remove("HUDDLE_JWT_SECRET")
            .output()?,
    )
}

#[test]
fn minted_tokens_verify_with_their_claims() -> TestResult {
    let out = run_token(&[
        "--secret",
        "cli-secret",
        "--session",
        "Board Meeting",
        "--role",
        "host",
        "--ttl",
        "2h",
        "--identity",
        "ann@example.com",
        "--session-key",
        "k1",
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    let now = unix_now();
    let verified = TokenVerifier::new(b"cli-secret").verify(&token, "board meeting", now)?;
    assert_eq!(verified.role, Role::Host);
    assert_eq!(verified.identity.as_deref(), Some("ann@example.com"));
    assert_eq!(verified.session_key.as_deref(), Some("k1"));
    let lifetime = verified.expires_at - now;
    assert!((7_100..=7_200).contains(&lifetime), "lifetime {lifetime}");

    let out = run_token(&[
        "--secret",
        "cli-secret",
        "--session",
        "x",
        "--role",
        "participant",
    ])?;
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    let verified = TokenVerifier::new(b"cli-secret").verify(&token, "x", now)?;
    assert_eq!(verified.role, Role::Participant);
    Ok(())
}

#[test]
fn bad_arguments_fail_cleanly() -> TestResult {
    for args in [
        vec!["--secret", "s", "--session", "x", "--role", "emperor"],
        vec!["--secret", "s", "--session", "x", "--ttl", "soon"],
        vec!["--secret", "", "--session", "x"],
        vec!["--session", "x"],
    ] {
        let out = run_token(&args)?;
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(out.stdout.is_empty(), "{args:?} printed a token");
    }
    Ok(())
}
