//! Token admission over real joins: every way a token can be wrong is refused with its own
//! error, and good tokens give the role they name.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{join_message, start_jwt, Client, TestResult, SECRET};
use huddle_proto::{ErrorCode, Role};
use huddle_server::auth::unix_now;
use huddle_server::{mint_token, MintRequest};
use std::time::Duration;

fn request(session: &str, role: Role, now: u64, ttl: u64) -> MintRequest {
    MintRequest {
        session: session.to_owned(),
        role,
        ttl: Duration::from_secs(ttl),
        identity: None,
        session_key: None,
        now_unix: now,
    }
}

fn token(session: &str, role: Role, now: u64, ttl: u64, secret: &[u8]) -> TestResult<String> {
    Ok(mint_token(secret, &request(session, role, now, ttl))?)
}

/// A token with any header and claims, signed with HS256 over whatever the header says.
fn forged(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    secret: &[u8],
) -> TestResult<String> {
    forged_text(&header.to_string(), &claims.to_string(), secret)
}

/// Like [`forged`], with header and payload exactly as written (JSON values cannot hold a
/// key twice).
fn forged_text(header: &str, payload: &str, secret: &[u8]) -> TestResult<String> {
    let head = URL_SAFE_NO_PAD.encode(header);
    let body = URL_SAFE_NO_PAD.encode(payload);
    let signing = format!("{head}.{body}");
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    let signature =
        jsonwebtoken::crypto::sign(signing.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)?;
    Ok(format!("{signing}.{signature}"))
}

fn claims(session: &str) -> serde_json::Value {
    let now = unix_now();
    serde_json::json!({"tpc": session, "role_type": 0, "iat": now, "exp": now + 600})
}

async fn refused(
    url: &str,
    session: &str,
    token: Option<String>,
) -> TestResult<(ErrorCode, String)> {
    let join = huddle_proto::Join {
        token,
        ..join_message(session, "mallory")
    };
    Client::join_refused(url, join).await
}

#[tokio::test]
async fn missing_token_is_refused() -> TestResult {
    let server = start_jwt().await?;
    let (code, _) = refused(&server.ws_url(), "s", None).await?;
    assert_eq!(code, ErrorCode::TokenRequired);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn expired_token_is_refused() -> TestResult {
    let server = start_jwt().await?;
    let old = unix_now() - 3 * 3_600;
    let expired = token("standup", Role::Host, old, 3_600, SECRET)?;
    let (code, _) = refused(&server.ws_url(), "standup", Some(expired)).await?;
    assert_eq!(code, ErrorCode::TokenExpired);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wrong_secret_is_refused() -> TestResult {
    let server = start_jwt().await?;
    let bad = token("standup", Role::Host, unix_now(), 600, b"some-other-secret")?;
    let (code, _) = refused(&server.ws_url(), "standup", Some(bad)).await?;
    assert_eq!(code, ErrorCode::TokenBadSignature);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn alg_none_is_refused() -> TestResult {
    let server = start_jwt().await?;
    let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims("standup").to_string());
    let unsigned = format!("{head}.{body}.");
    let (code, message) = refused(&server.ws_url(), "standup", Some(unsigned)).await?;
    assert_eq!(code, ErrorCode::TokenUnsigned);
    assert!(message.contains("alg: none"), "{message}");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn other_algorithms_are_refused() -> TestResult {
    let server = start_jwt().await?;
    for alg in ["HS384", "HS512", "RS256", "ES256"] {
        // Signed with the right secret, so only the algorithm is wrong.
        let header = serde_json::json!({"alg": alg, "typ": "JWT"});
        let t = forged(&header, &claims("standup"), SECRET)?;
        let (code, message) = refused(&server.ws_url(), "standup", Some(t)).await?;
        assert_eq!(code, ErrorCode::TokenWrongAlgorithm, "{alg}");
        assert!(message.contains(alg), "{alg}: {message}");
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wrong_session_is_refused() -> TestResult {
    let server = start_jwt().await?;
    let t = token("standup", Role::Host, unix_now(), 600, SECRET)?;
    let (code, _) = refused(&server.ws_url(), "retro", Some(t)).await?;
    assert_eq!(code, ErrorCode::TokenWrongSession);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn missing_claims_are_refused_by_name() -> TestResult {
    let server = start_jwt().await?;
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    for claim in ["tpc", "role_type", "iat", "exp"] {
        let mut c = claims("standup");
        c.as_object_mut()
            .ok_or("claims are an object")?
            .remove(claim);
        let t = forged(&header, &c, SECRET)?;
        let (code, message) = refused(&server.ws_url(), "standup", Some(t)).await?;
        assert_eq!(code, ErrorCode::TokenMissingClaim, "{claim}");
        assert!(message.contains(claim), "{claim}: {message}");
    }
    let mut c = claims("standup");
    c["role_type"] = serde_json::json!(42);
    let t = forged(&header, &c, SECRET)?;
    let (code, _) = refused(&server.ws_url(), "standup", Some(t)).await?;
    assert_eq!(code, ErrorCode::TokenUnknownRole);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn garbage_is_refused() -> TestResult {
    let server = start_jwt().await?;
    // Longer than any token may be, within the frame limit before join.
    let long = "x".repeat(huddle_server::auth::MAX_TOKEN_LEN + 1);
    for junk in [
        "",
        "garbage",
        "a.b.c",
        "....",
        "bm90IGpzb24.e30.c2ln",
        long.as_str(),
    ] {
        let (code, message) = refused(&server.ws_url(), "standup", Some(junk.to_owned())).await?;
        assert_eq!(code, ErrorCode::TokenInvalid, "{junk:.20}");
        assert!(message.contains("well-formed"), "{message}");
    }
    // A join too large to be read before join is refused as such.
    let huge = "x".repeat(20_000);
    let (code, _) = refused(&server.ws_url(), "standup", Some(huge)).await?;
    assert_eq!(code, ErrorCode::MessageTooLarge);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn good_tokens_give_their_roles() -> TestResult {
    let server = start_jwt().await?;
    let url = server.ws_url();
    let now = unix_now();
    // The session name is compared case-insensitively.
    let host = token("Team Standup", Role::Host, now, 600, SECRET)?;
    let (_host_client, welcome) =
        Client::join(&url, join_with("team standup", "ada", host)).await?;
    assert_eq!(welcome.role, Role::Host);

    let participant = token("team standup", Role::Participant, now, 600, SECRET)?;
    let (_p, welcome) = Client::join(&url, join_with("TEAM STANDUP", "bob", participant)).await?;
    assert_eq!(welcome.role, Role::Participant);
    assert_eq!(welcome.members.len(), 2);
    server.shutdown().await;
    Ok(())
}

fn keyed(session: &str, role: Role, key: Option<&str>) -> TestResult<String> {
    let request = MintRequest {
        session_key: key.map(str::to_owned),
        ..request(session, role, unix_now(), 600)
    };
    Ok(mint_token(SECRET, &request)?)
}

fn join_with(session: &str, name: &str, token: String) -> huddle_proto::Join {
    huddle_proto::Join {
        token: Some(token),
        ..join_message(session, name)
    }
}

#[tokio::test]
async fn not_before_is_honoured() -> TestResult {
    let server = start_jwt().await?;
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let mut later = claims("standup");
    // Past the 30 s leeway.
    later["nbf"] = serde_json::json!(unix_now() + 120);
    let t = forged(&header, &later, SECRET)?;
    let (code, message) = refused(&server.ws_url(), "standup", Some(t)).await?;
    assert_eq!(code, ErrorCode::TokenInvalid);
    assert!(message.contains("not valid yet"), "{message}");
    // Within the leeway, and in the past, it admits.
    for nbf in [unix_now() + 10, unix_now() - 60] {
        let mut c = claims("standup");
        c["nbf"] = serde_json::json!(nbf);
        let t = forged(&header, &c, SECRET)?;
        Client::join(&server.ws_url(), join_with("standup", "ann", t)).await?;
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn repeated_claims_are_refused() -> TestResult {
    let server = start_jwt().await?;
    let now = unix_now();
    // A participant token with a second `role_type` appended: a parser that keeps the last
    // value reads a host token.
    let payload = format!(
        r#"{{"tpc":"standup","role_type":0,"iat":{now},"exp":{},"role_type":1}}"#,
        now + 600
    );
    let t = forged_text(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, SECRET)?;
    let (code, message) = refused(&server.ws_url(), "standup", Some(t)).await?;
    assert_eq!(code, ErrorCode::TokenInvalid);
    assert!(message.contains("role_type"), "{message}");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_session_key_binds_tokens_to_one_instance() -> TestResult {
    let server = start_jwt().await?;
    let url = server.ws_url();
    let host_token = keyed("standup", Role::Host, Some("monday"))?;
    let (mut host, _) = Client::join(&url, join_with("standup", "ann", host_token.clone())).await?;
    // The instance admits tokens with its key, and only those.
    let (_bob, welcome) = Client::join(
        &url,
        join_with(
            "standup",
            "bob",
            keyed("standup", Role::Participant, Some("monday"))?,
        ),
    )
    .await?;
    assert_eq!(welcome.members.len(), 2);
    for other in [Some("tuesday"), None] {
        let t = keyed("standup", Role::Participant, other)?;
        let (code, message) = refused(&url, "standup", Some(t)).await?;
        assert_eq!(code, ErrorCode::TokenWrongSession, "{other:?}");
        assert!(message.contains("session_key"), "{message}");
    }
    // Once the instance has ended, its key admits nobody: not even the host's own token.
    host.request(huddle_proto::Action::End)
        .await?
        .map_err(|e| e.1)?;
    common::eventually("the room ends", || server.counts().rooms == 0).await?;
    let (code, message) = refused(&url, "standup", Some(host_token)).await?;
    assert_eq!(code, ErrorCode::SessionEnded);
    assert!(message.contains("ended"), "{message}");
    // A new key starts a new instance; a token without a key joins a keyless one.
    let (mut tuesday, welcome) = Client::join(
        &url,
        join_with(
            "standup",
            "ann",
            keyed("standup", Role::Host, Some("tuesday"))?,
        ),
    )
    .await?;
    assert_eq!(welcome.role, Role::Host);
    tuesday
        .request(huddle_proto::Action::Leave)
        .await?
        .map_err(|e| e.1)?;
    let (_keyless, welcome) = Client::join(
        &url,
        join_with("retro", "ann", keyed("retro", Role::Host, None)?),
    )
    .await?;
    assert_eq!(welcome.role, Role::Host);
    server.shutdown().await;
    Ok(())
}
