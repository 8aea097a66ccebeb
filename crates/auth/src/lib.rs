//! Session tokens: HS256 JWT verification for joins, and minting for the server's `token`
//! command.
//!
//! Verification is done in explicit steps so that each way a token can be wrong gets its own
//! error code on the wire: the header is read first (to single out `alg: none` and foreign
//! algorithms before any key is used), then the HMAC is checked, then each claim. A header or
//! payload that names one key twice is refused outright: JSON parsers disagree on which of the
//! two wins, so such a token could mean one thing to its issuer and another here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use huddle_proto::{Claims, ErrorCode, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Map, Value};

/// Upper bound on the length of a token, far above anything the claims can need; longer input
/// is refused before any decoding work is spent on it.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Session name from `tpc`, lowercased.
    pub session: String,
    /// Role from `role_type`.
    pub role: Role,
    /// `user_identity`, if present.
    pub identity: Option<String>,
    /// `session_key`, if present.
    pub session_key: Option<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Why a token was refused; each variant has its own stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The server runs in JWT mode and the join carried no token.
    #[error("this server requires a token to join")]
    Missing,
    /// Not three base64url parts with JSON header and payload.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header says `alg: none`.
    #[error("unsigned tokens (alg: none) are not accepted")]
    AlgNone,
    /// The header names an algorithm other than HS256.
    #[error("token algorithm {0} is not accepted; only HS256 is")]
    AlgNotAllowed(String),
    /// The HMAC does not match the server's secret.
    #[error("the token signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `iat` or `nbf` lies in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The payload names a claim twice.
    #[error("the token claim `{0}` appears more than once")]
    DuplicateClaim(String),
    /// `tpc` names another session.
    #[error("the token is for another session")]
    WrongSession,
    /// A required claim is absent.
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim is present but has the wrong type.
    #[error("the token claim `{0}` is invalid")]
    InvalidClaim(&'static str),
    /// `role_type` names no known role.
    #[error("the token's role_type {0} is not a known role")]
    UnknownRole(u64),
}

impl TokenError {
    /// Code sent in `error {code}`.
    pub fn wire_code(&self) -> ErrorCode {
        match self {
            TokenError::Missing => ErrorCode::TokenRequired,
            TokenError::Malformed => ErrorCode::TokenInvalid,
            TokenError::AlgNone => ErrorCode::TokenUnsigned,
            TokenError::AlgNotAllowed(_) => ErrorCode::TokenWrongAlgorithm,
            TokenError::BadSignature => ErrorCode::TokenBadSignature,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::MissingClaim(_) => ErrorCode::TokenMissingClaim,
            TokenError::NotYetValid
            | TokenError::InvalidClaim(_)
            | TokenError::DuplicateClaim(_) => ErrorCode::TokenInvalid,
            TokenError::WrongSession => ErrorCode::TokenWrongSession,
            TokenError::UnknownRole(_) => ErrorCode::TokenUnknownRole,
        }
    }

    /// A finer-grained reason than [`TokenError::wire_code`], used in logs.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => "missing",
            TokenError::Malformed => "malformed",
            TokenError::AlgNone => "alg_none",
            TokenError::AlgNotAllowed(_) => "alg_not_allowed",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongSession => "wrong_session",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::DuplicateClaim(_) => "duplicate_claim",
            TokenError::UnknownRole(_) => "unknown_role",
        }
    }
}

/// Checks tokens against one HS256 secret.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never print it.
        f.write_str("TokenVerifier { .. }")
    }
}

impl TokenVerifier {
    /// A verifier for tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: DecodingKey::from_secret(secret),
        }
    }

    /// Verifies `token` for a join to `session` at `now_unix` (seconds since the epoch).
    pub fn verify(
        &self,
        token: &str,
        session: &str,
        now_unix: u64,
    ) -> Result<VerifiedToken, TokenError> {
        let verified = self.verify_any_session(token, now_unix)?;
        if verified.session != session.to_lowercase() {
            return Err(TokenError::WrongSession);
        }
        Ok(verified)
    }

    /// Verifies `token` at `now_unix` as a join token for whichever session it names: for
    /// the server's services that come before a join (the network test), where holding a
    /// valid token is what counts.
    pub fn verify_any_session(
        &self,
        token: &str,
        now_unix: u64,
    ) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };

        let header = decode_json_object(header_b64).and_then(|(header, duplicate)| {
            // Two `alg`s could steer the algorithm check; no header needs a key twice.
            duplicate.map_or(Ok(header), |_| Err(TokenError::Malformed))
        })?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(TokenError::Malformed),
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgNone);
        }
        if alg != "HS256" {
            return Err(TokenError::AlgNotAllowed(truncate(alg, 16)));
        }

        let signed_len = header_b64.len() + 1 + payload_b64.len();
        let signed = token.get(..signed_len).ok_or(TokenError::Malformed)?;
        let valid = jsonwebtoken::crypto::verify(
            signature_b64,
            signed.as_bytes(),
            &self.key,
            Algorithm::HS256,
        )
        .map_err(|_| TokenError::Malformed)?;
        if !valid {
            return Err(TokenError::BadSignature);
        }

        let (claims, duplicate) = decode_json_object(payload_b64)?;
        if let Some(name) = duplicate {
            return Err(TokenError::DuplicateClaim(truncate(&name, 32)));
        }
        let exp = unsigned_claim(&claims, "exp")?;
        let iat = unsigned_claim(&claims, "iat")?;
        let nbf = match claims.get("nbf") {
            None | Some(Value::Null) => None,
            Some(_) => Some(unsigned_claim(&claims, "nbf")?),
        };
        let tpc = match claims.get("tpc") {
            None | Some(Value::Null) => return Err(TokenError::MissingClaim("tpc")),
            Some(Value::String(tpc)) if !tpc.is_empty() => tpc,
            Some(_) => return Err(TokenError::InvalidClaim("tpc")),
        };
        let role_type = unsigned_claim(&claims, "role_type")?;
        let role = u8::try_from(role_type)
            .ok()
            .and_then(|r| Role::from_role_type(r).ok())
            .ok_or(TokenError::UnknownRole(role_type))?;
        let identity = optional_string_claim(&claims, "user_identity")?;
        let session_key = optional_string_claim(&claims, "session_key")?;

        if exp.saturating_add(LEEWAY_SECS) <= now_unix {
            return Err(TokenError::Expired);
        }
        if iat > now_unix.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::NotYetValid);
        }
        if nbf.is_some_and(|nbf| nbf > now_unix.saturating_add(LEEWAY_SECS)) {
            return Err(TokenError::NotYetValid);
        }
        Ok(VerifiedToken {
            session: tpc.to_lowercase(),
            role,
            identity,
            session_key,
            expires_at: exp,
        })
    }
}

/// What the `token` command needs to mint a token.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// Session the token admits to.
    pub session: String,
    /// Role granted.
    pub role: Role,
    /// Lifetime from `now_unix`.
    pub ttl: std::time::Duration,
    /// Optional `user_identity`.
    pub identity: Option<String>,
    /// Optional `session_key`.
    pub session_key: Option<String>,
    /// Issue time, seconds since the epoch.
    pub now_unix: u64,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// An empty secret would sign tokens anyone can forge.
    #[error("the secret is empty")]
    EmptySecret,
    /// A token must name the session it admits to.
    #[error("the session name is empty")]
    EmptySession,
    /// The signing library refused.
    #[error("{0}")]
    Sign(String),
}

/// Signs an HS256 token with `secret`.
pub fn mint_token(secret: &[u8], request: &MintRequest) -> Result<String, MintError> {
    if secret.is_empty() {
        return Err(MintError::EmptySecret);
    }
    if request.session.is_empty() {
        return Err(MintError::EmptySession);
    }
    let claims = Claims {
        tpc: request.session.clone(),
        role_type: request.role.role_type(),
        iat: request.now_unix,
        exp: request.now_unix.saturating_add(request.ttl.as_secs()),
        nbf: None,
        user_identity: request.identity.clone(),
        session_key: request.session_key.clone(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| MintError::Sign(e.to_string()))
}

/// Seconds since the Unix epoch by the system clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 is a broken machine; treating it as the epoch makes every token
        // look unexpired rather than crashing, and `iat` checks still bound the damage.
        .unwrap_or(0)
}

/// Decodes one base64url JSON object, with the first of its keys that appears twice, if any.
fn decode_json_object(part: &str) -> Result<(Map<String, Value>, Option<String>), TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)?;
    match serde_json::from_slice::<Value>(&bytes) {
        // Valid JSON is valid UTF-8, so the text is there to scan.
        Ok(Value::Object(map)) => {
            let text = std::str::from_utf8(&bytes).map_err(|_| TokenError::Malformed)?;
            Ok((map, repeated_key(text)))
        }
        _ => Err(TokenError::Malformed),
    }
}

/// The first key that appears twice at the top level of `json`, a valid JSON object, as
/// decoded (so `"role_type"` and `"role\u005ftype"` are the same key). `serde_json` keeps the
/// last of two and says nothing, hence this scan of the text.
fn repeated_key(json: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let mut depth = 0usize;
    let mut chars = json.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' => {
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end?;
                while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
                // In the top-level object a string is a key exactly when a colon follows.
                let is_key = depth == 1 && chars.peek().is_some_and(|(_, c)| *c == ':');
                if is_key {
                    let key: String = serde_json::from_str(json.get(start..=end)?).ok()?;
                    if !seen.insert(key.clone()) {
                        return Some(key);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn unsigned_claim(claims: &Map<String, Value>, name: &'static str) -> Result<u64, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(TokenError::MissingClaim(name)),
        Some(Value::Number(n)) => n.as_u64().ok_or(TokenError::InvalidClaim(name)),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

fn optional_string_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &[u8] = b"unit-test-secret-unit-test-secret";

    fn mint(session: &str, role: Role, now: u64) -> Result<String, MintError> {
        mint_token(
            SECRET,
            &MintRequest {
                session: session.to_owned(),
                role,
                ttl: Duration::from_secs(3_600),
                identity: Some("u-1".to_owned()),
                session_key: None,
                now_unix: now,
            },
        )
    }

    #[test]
    fn minted_token_verifies_case_insensitively() -> Result<(), Box<dyn std::error::Error>> {
        let now = 1_700_000_000;
        let token = mint("Weekly Sync", Role::Host, now)?;
        let verified = TokenVerifier::new(SECRET).verify(&token, "weekly SYNC", now + 10)?;
        assert_eq!(verified.role, Role::Host);
        assert_eq!(verified.session, "weekly sync");
        assert_eq!(verified.identity.as_deref(), Some("u-1"));
        Ok(())
    }

    #[test]
    fn expiry_and_session_are_checked() -> Result<(), Box<dyn std::error::Error>> {
        let now = 1_700_000_000;
        let token = mint("a", Role::Participant, now)?;
        let verifier = TokenVerifier::new(SECRET);
        assert_eq!(
            verifier.verify(&token, "a", now + 3_600 + LEEWAY_SECS),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verifier.verify(&token, "b", now),
            Err(TokenError::WrongSession)
        );
        assert_eq!(
            TokenVerifier::new(b"other").verify(&token, "a", now),
            Err(TokenError::BadSignature)
        );
        Ok(())
    }

    /// A token with this header and payload text, exactly as written, signed with HS256.
    fn signed(header: &str, payload: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let signing = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key = EncodingKey::from_secret(SECRET);
        let signature = jsonwebtoken::crypto::sign(signing.as_bytes(), &key, Algorithm::HS256)?;
        Ok(format!("{signing}.{signature}"))
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn not_before_is_honoured_with_the_leeway() -> Result<(), Box<dyn std::error::Error>> {
        let now = 1_700_000_000;
        let verifier = TokenVerifier::new(SECRET);
        let with_nbf = |nbf: &str| {
            signed(
                HS256,
                &format!(
                    r#"{{"tpc":"a","role_type":0,"iat":{now},"exp":{},"nbf":{nbf}}}"#,
                    now + 600
                ),
            )
        };
        let later = with_nbf(&(now + 120).to_string())?;
        assert_eq!(
            verifier.verify(&later, "a", now),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(TokenError::NotYetValid.wire_code(), ErrorCode::TokenInvalid);
        // Valid from its `nbf`, and up to the leeway before it.
        assert!(verifier.verify(&later, "a", now + 120).is_ok());
        assert!(verifier
            .verify(&later, "a", now + 120 - LEEWAY_SECS)
            .is_ok());
        assert_eq!(
            verifier.verify(&later, "a", now + 120 - LEEWAY_SECS - 1),
            Err(TokenError::NotYetValid)
        );
        assert!(verifier
            .verify(&with_nbf(&now.to_string())?, "a", now)
            .is_ok());
        assert!(verifier.verify(&with_nbf("null")?, "a", now).is_ok());
        for bad in ["\"soon\"", "-5", "1.5"] {
            assert_eq!(
                verifier.verify(&with_nbf(bad)?, "a", now),
                Err(TokenError::InvalidClaim("nbf")),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn repeated_claims_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let now = 1_700_000_000;
        let exp = now + 600;
        let verifier = TokenVerifier::new(SECRET);
        for (payload, claim) in [
            // A participant token that a last-wins parser reads as a host token.
            (
                format!(r#"{{"tpc":"a","role_type":0,"iat":{now},"exp":{exp},"role_type":1}}"#),
                "role_type",
            ),
            // The same key spelled with an escape.
            (
                format!(
                    r#"{{"tpc":"a","role_type":0,"iat":{now},"exp":{exp},"role\u005ftype":1}}"#
                ),
                "role_type",
            ),
            (
                format!(r#"{{ "tpc" : "a", "tpc" : "b", "role_type":0,"iat":{now},"exp":{exp}}}"#),
                "tpc",
            ),
            (
                format!(r#"{{"tpc":"a","role_type":0,"iat":{now},"exp":{exp},"x":1,"x":2}}"#),
                "x",
            ),
        ] {
            let token = signed(HS256, &payload)?;
            let refused = verifier.verify(&token, "a", now);
            assert_eq!(
                refused,
                Err(TokenError::DuplicateClaim(claim.to_owned())),
                "{payload}"
            );
            assert_eq!(
                refused.err().map(|e| e.wire_code()),
                Some(ErrorCode::TokenInvalid)
            );
        }
        // Keys repeated inside a nested value, or a key's name used as a value, are no repeat.
        let nested = format!(
            r#"{{"tpc":"role_type","ext":{{"k":1,"k":2}},"list":[{{"tpc":1}}],"role_type":0,"iat":{now},"exp":{exp}}}"#
        );
        assert!(verifier
            .verify(&signed(HS256, &nested)?, "role_type", now)
            .is_ok());
        // A header naming `alg` twice is not a JWT.
        let two_algs = signed(
            r#"{"alg":"none","alg":"HS256"}"#,
            &format!(r#"{{"tpc":"a","role_type":0,"iat":{now},"exp":{exp}}}"#),
        )?;
        assert_eq!(
            verifier.verify(&two_algs, "a", now),
            Err(TokenError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn repeated_key_scan() {
        assert_eq!(repeated_key(r#"{}"#), None);
        assert_eq!(repeated_key(r#"{"a":"\"a\":","b":{"a":1}}"#), None);
        assert_eq!(repeated_key(r#"{"a\\":1,"a\\":2}"#), Some("a\\".to_owned()));
        assert_eq!(
            repeated_key("{\"é\":1,\n\t\"\\u00e9\" :2}"),
            Some("é".to_owned())
        );
    }

    #[test]
    fn garbage_never_panics() {
        let verifier = TokenVerifier::new(SECRET);
        for bad in ["", ".", "..", "a.b.c", "a.b.c.d", "é.é.é", "eyJ.eyJ.x"] {
            assert_eq!(
                verifier.verify(bad, "a", 0),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
    }
}
