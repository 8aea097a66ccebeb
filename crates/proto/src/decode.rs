//! Turning untrusted frames into messages, and messages into frames.
//!
//! Decoding goes in two steps so errors say what was wrong: first the text must be JSON (else
//! [`ProtoError::Malformed`] with line and column), then its `type` must be known (else
//! [`ProtoError::UnknownType`] / [`ProtoError::UnknownAction`]), and only then are the fields
//! checked (else [`ProtoError::InvalidMessage`] naming the field). The size limit is checked
//! before any parsing. serde_json limits nesting depth, so deep input cannot overflow the stack.

use crate::error::ProtoError;
use crate::limits::{MAX_FRAME_BYTES, MAX_SERVER_FRAME_BYTES};
use crate::message::{Action, ClientMessage, ServerMessage};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Decodes one frame sent by the app (limit [`MAX_FRAME_BYTES`]).
///
/// # Errors
/// [`ProtoError::TooLarge`], [`ProtoError::Malformed`], [`ProtoError::MissingType`],
/// [`ProtoError::UnknownType`], [`ProtoError::UnknownAction`] or
/// [`ProtoError::InvalidMessage`].
pub fn decode_client(text: &str) -> Result<ClientMessage, ProtoError> {
    let value = parse_tagged(text, ClientMessage::TYPES, MAX_FRAME_BYTES)?;
    // A request's action is a second tagged enum; name an unknown action as such rather than
    // as a generic field error.
    if value.get("type").and_then(Value::as_str) == Some("request") {
        if let Some(action) = value.get("action") {
            match action.get("type").and_then(Value::as_str) {
                Some(t) if !Action::TYPES.contains(&t) => {
                    return Err(ProtoError::UnknownAction(truncate(t)))
                }
                _ => {}
            }
        }
    }
    from_value(value)
}

/// Decodes one frame sent by the server (limit [`MAX_SERVER_FRAME_BYTES`]).
///
/// # Errors
/// As [`decode_client`], except for [`ProtoError::UnknownAction`].
pub fn decode_server(text: &str) -> Result<ServerMessage, ProtoError> {
    let value = parse_tagged(text, ServerMessage::TYPES, MAX_SERVER_FRAME_BYTES)?;
    from_value(value)
}

/// Encodes a message as one frame.
///
/// # Errors
/// [`ProtoError::Encode`], which the message types here cannot produce.
pub fn encode<T: Serialize>(message: &T) -> Result<String, ProtoError> {
    serde_json::to_string(message).map_err(|e| ProtoError::Encode(e.to_string()))
}

fn parse_tagged(text: &str, known: &[&str], max: usize) -> Result<Value, ProtoError> {
    if text.len() > max {
        return Err(ProtoError::TooLarge {
            len: text.len(),
            max,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| ProtoError::Malformed {
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
    })?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ProtoError::MissingType)?;
    if !known.contains(&kind) {
        return Err(ProtoError::UnknownType(truncate(kind)));
    }
    Ok(value)
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ProtoError> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .map(truncate)
        .unwrap_or_default();
    serde_json::from_value(value).map_err(|e| ProtoError::InvalidMessage {
        kind,
        detail: e.to_string(),
    })
}

/// Echoing an attacker's 60 KiB "type" back in an error would amplify a flood.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(matches!(
            decode_client("{\"type\":"),
            Err(ProtoError::Malformed { line: 1, .. })
        ));
        assert_eq!(decode_client("[1,2]"), Err(ProtoError::MissingType));
        assert_eq!(decode_client("{\"type\":5}"), Err(ProtoError::MissingType));
        assert_eq!(
            decode_client("{\"type\":\"dance\"}"),
            Err(ProtoError::UnknownType("dance".into()))
        );
        assert_eq!(
            decode_client(r#"{"type":"request","id":1,"action":{"type":"fly"}}"#),
            Err(ProtoError::UnknownAction("fly".into()))
        );
        match decode_client(r#"{"type":"ping","nonce":"x"}"#) {
            Err(ProtoError::InvalidMessage { kind, detail }) => {
                assert_eq!(kind, "ping");
                assert!(detail.contains("invalid type"), "{detail}");
            }
            other => panic!("expected InvalidMessage, got {other:?}"),
        }
        match decode_client(r#"{"type":"request","id":1,"action":{"type":"mute_audio"}}"#) {
            Err(ProtoError::InvalidMessage { detail, .. }) => {
                assert!(detail.contains("participant"), "{detail}");
            }
            other => panic!("expected InvalidMessage, got {other:?}"),
        }
    }

    #[test]
    fn oversize_is_refused_before_parsing() {
        let big = format!(
            "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
            "a".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            decode_client(&big),
            Err(ProtoError::TooLarge {
                max: MAX_FRAME_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            decode_client(&deep),
            Err(ProtoError::Malformed { .. })
        ));
    }

    #[test]
    fn unknown_fields_are_ignored() -> Result<(), ProtoError> {
        let msg = decode_client(r#"{"type":"ping","nonce":4,"future":true}"#)?;
        assert_eq!(msg, ClientMessage::Ping { nonce: 4 });
        Ok(())
    }

    #[test]
    fn long_unknown_types_are_truncated_in_errors() {
        let t = "x".repeat(1000);
        match decode_client(&format!("{{\"type\":\"{t}\"}}")) {
            Err(ProtoError::UnknownType(echo)) => assert_eq!(echo.len(), 64),
            other => panic!("expected UnknownType, got {other:?}"),
        }
    }
}
