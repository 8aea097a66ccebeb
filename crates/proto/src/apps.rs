//! In-meeting apps on the wire: app ids, relayed messages and the size rules for what apps
//! send. The server relays app data without reading it; only the envelope is checked here.

use crate::error::ProtoError;
use crate::ids::ParticipantId;
use crate::limits::{MAX_APP_ID_CHARS, MAX_APP_MESSAGE_BYTES, MAX_APP_STATE_BYTES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The id of an app, as in its manifest: 1 to [`MAX_APP_ID_CHARS`] characters of `a-z`,
/// `0-9`, `.`, `_` and `-`, starting with a letter or a digit. Checked when decoded, so a
/// value of this type is always valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppId(String);

impl AppId {
    /// Checks an app id.
    ///
    /// # Errors
    /// [`ProtoError::AppId`] saying what is wrong.
    pub fn parse(raw: &str) -> Result<AppId, ProtoError> {
        let bad = |reason| ProtoError::AppId {
            id: raw.chars().take(MAX_APP_ID_CHARS).collect(),
            reason,
        };
        let Some(first) = raw.chars().next() else {
            return Err(bad("is empty"));
        };
        if raw.chars().count() > MAX_APP_ID_CHARS {
            return Err(bad("is longer than 64 characters"));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(bad("must start with a-z or 0-9"));
        }
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        if !raw.chars().all(allowed) {
            return Err(bad("may only hold a-z, 0-9, '.', '_' and '-'"));
        }
        Ok(AppId(raw.to_owned()))
    }

    /// An id this crate spells itself (examples), known to pass [`AppId::parse`].
    pub(crate) fn known_valid(id: &'static str) -> AppId {
        AppId(id.to_owned())
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AppId {
    type Error = ProtoError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        AppId::parse(&raw)
    }
}

impl From<AppId> for String {
    fn from(id: AppId) -> String {
        id.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message on an app's channel, as relayed to every member with the app open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMessage {
    /// The app.
    pub app: AppId,
    /// Position on the app's channel: one more than the message before, for everyone.
    pub seq: u64,
    /// The sender, stamped by the server.
    pub from: ParticipantId,
    /// What the app sent, unread by the server.
    pub data: Value,
}

/// The size of `value` as compact JSON, in bytes.
#[must_use]
pub fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value to a counter cannot fail; a failure would leave the count short, and
    // the frame limit still bounds what arrived.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Checks an app message's data against [`MAX_APP_MESSAGE_BYTES`].
///
/// # Errors
/// [`ProtoError::AppDataTooLarge`].
pub fn check_app_message(data: &Value) -> Result<usize, ProtoError> {
    check_size("message", data, MAX_APP_MESSAGE_BYTES)
}

/// Checks an app state against [`MAX_APP_STATE_BYTES`].
///
/// # Errors
/// [`ProtoError::AppDataTooLarge`].
pub fn check_app_state(state: &Value) -> Result<usize, ProtoError> {
    check_size("state", state, MAX_APP_STATE_BYTES)
}

fn check_size(what: &'static str, value: &Value, max: usize) -> Result<usize, ProtoError> {
    let len = json_len(value);
    if len > max {
        Err(ProtoError::AppDataTooLarge { what, len, max })
    } else {
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_manifest_rules() {
        for good in ["whiteboard", "poll", "a", "9lives", "team.agenda", "x_y-z"] {
            assert!(AppId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", ".x", "Board", "white board", "a/b", "é", "../x"] {
            assert!(
                matches!(AppId::parse(bad), Err(ProtoError::AppId { .. })),
                "{bad}"
            );
        }
        assert!(AppId::parse(&"a".repeat(64)).is_ok());
        assert!(AppId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn ids_are_checked_when_decoded() {
        let ok: Result<AppId, _> = serde_json::from_str("\"poll\"");
        assert!(ok.is_ok());
        let bad: Result<AppId, _> = serde_json::from_str("\"etc/passwd\"");
        let err = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("may only hold"), "{err}");
    }

    #[test]
    fn sizes_are_measured_as_compact_json() {
        let v = serde_json::json!({"t": "stroke", "points": [[0.5, 0.25]]});
        assert_eq!(
            json_len(&v),
            serde_json::to_string(&v).map(|s| s.len()).unwrap_or(0)
        );
        let big = Value::String("x".repeat(MAX_APP_MESSAGE_BYTES));
        assert!(matches!(
            check_app_message(&big),
            Err(ProtoError::AppDataTooLarge {
                what: "message",
                ..
            })
        ));
        assert!(check_app_state(&big).is_ok());
    }
}
