//! Validation of what people type: session names, display names, passcodes and chat text.
//!
//! Each type can only be built through its constructor, so holding one proves the value was
//! checked. The wire carries plain strings; the server and the room turn them into these.

use crate::error::ProtoError;
use crate::limits::{
    DEFAULT_DISPLAY_NAME, MAX_CHAT_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_PASSCODE_CHARS,
    MAX_SESSION_NAME_CHARS,
};
use std::fmt;

/// A session name: 1 to 150 characters after trimming surrounding whitespace, no control
/// characters. Two names are the same session when their lowercased keys are equal; the
/// display form keeps the case the creator typed.
#[derive(Clone, Debug)]
pub struct SessionName {
    display: String,
    key: String,
}

impl SessionName {
    /// Checks `raw` and builds the name.
    ///
    /// # Errors
    /// [`ProtoError::SessionNameEmpty`], [`ProtoError::SessionNameTooLong`] or
    /// [`ProtoError::SessionNameControl`].
    pub fn parse(raw: &str) -> Result<SessionName, ProtoError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ProtoError::SessionNameEmpty);
        }
        let len = trimmed.chars().count();
        if len > MAX_SESSION_NAME_CHARS {
            return Err(ProtoError::SessionNameTooLong {
                len,
                max: MAX_SESSION_NAME_CHARS,
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ProtoError::SessionNameControl);
        }
        Ok(SessionName {
            display: trimmed.to_owned(),
            key: trimmed.to_lowercase(),
        })
    }

    /// The lowercased form that identifies the session.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The name as its creator typed it.
    #[must_use]
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl PartialEq for SessionName {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for SessionName {}

impl std::hash::Hash for SessionName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A display name: at most 200 characters (longer input is cut on a character boundary),
/// surrounding whitespace trimmed, control characters replaced by spaces, and
/// [`DEFAULT_DISPLAY_NAME`] when nothing is left. Never refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Cleans `raw` into a display name.
    #[must_use]
    pub fn new(raw: &str) -> DisplayName {
        // Control characters (newlines, escape sequences) would let one name spoof the layout
        // of a user list; a space keeps the rest readable.
        let cleaned: String = raw
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect();
        let cleaned = cleaned.trim_end();
        if cleaned.is_empty() {
            DisplayName(DEFAULT_DISPLAY_NAME.to_owned())
        } else {
            DisplayName(cleaned.to_owned())
        }
    }

    /// The cleaned name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cleaned name, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A passcode: 1 to 10 printable ASCII characters (32 to 126), compared exactly.
#[derive(Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl Passcode {
    /// Checks `raw` and builds the passcode. Whitespace is not trimmed: a space is a valid
    /// passcode character.
    ///
    /// # Errors
    /// [`ProtoError::PasscodeEmpty`], [`ProtoError::PasscodeTooLong`] or
    /// [`ProtoError::PasscodeCharacter`].
    pub fn parse(raw: &str) -> Result<Passcode, ProtoError> {
        if raw.is_empty() {
            return Err(ProtoError::PasscodeEmpty);
        }
        if !raw.bytes().all(|b| (32..=126).contains(&b)) {
            return Err(ProtoError::PasscodeCharacter);
        }
        // All bytes are ASCII here, so bytes and characters agree.
        if raw.len() > MAX_PASSCODE_CHARS {
            return Err(ProtoError::PasscodeTooLong {
                len: raw.len(),
                max: MAX_PASSCODE_CHARS,
            });
        }
        Ok(Passcode(raw.to_owned()))
    }

    /// Compares without stopping at the first differing byte.
    #[must_use]
    pub fn matches(&self, other: &Passcode) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The passcode text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// A passcode must not end up in logs through `{:?}`.
impl fmt::Debug for Passcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passcode(..)")
    }
}

/// Chat text: not empty or only whitespace, at most 4,000 characters. Kept as sent (no
/// trimming), since leading spaces or newlines may be meaningful in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatText(String);

impl ChatText {
    /// Checks `raw` and builds the text.
    ///
    /// # Errors
    /// [`ProtoError::ChatEmpty`] or [`ProtoError::ChatTooLong`].
    pub fn parse(raw: &str) -> Result<ChatText, ProtoError> {
        if raw.trim().is_empty() {
            return Err(ProtoError::ChatEmpty);
        }
        let len = raw.chars().count();
        if len > MAX_CHAT_CHARS {
            return Err(ProtoError::ChatTooLong {
                len,
                max: MAX_CHAT_CHARS,
            });
        }
        Ok(ChatText(raw.to_owned()))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_compare_case_insensitively() -> Result<(), ProtoError> {
        let a = SessionName::parse("  Weekly Sync!  ")?;
        let b = SessionName::parse("weekly SYNC!")?;
        assert_eq!(a, b);
        assert_eq!(a.key(), "weekly sync!");
        assert_eq!(a.display(), "Weekly Sync!");
        Ok(())
    }

    #[test]
    fn session_name_limits() {
        assert_eq!(SessionName::parse("   "), Err(ProtoError::SessionNameEmpty));
        assert!(SessionName::parse(&"é".repeat(150)).is_ok());
        assert_eq!(
            SessionName::parse(&"é".repeat(151)),
            Err(ProtoError::SessionNameTooLong { len: 151, max: 150 })
        );
        assert_eq!(
            SessionName::parse("a\u{0}b"),
            Err(ProtoError::SessionNameControl)
        );
    }

    #[test]
    fn display_names_are_truncated_on_char_boundaries_and_defaulted() {
        let long = "ü".repeat(250);
        let name = DisplayName::new(&long);
        assert_eq!(name.as_str().chars().count(), 200);
        assert_eq!(DisplayName::new(" \t\n ").as_str(), "Guest");
        assert_eq!(DisplayName::new("").as_str(), "Guest");
        assert_eq!(DisplayName::new("a\nb").as_str(), "a b");
        assert_eq!(DisplayName::new("<b>Ann</b>").as_str(), "<b>Ann</b>");
    }

    #[test]
    fn passcode_rules() {
        assert!(Passcode::parse(" ~abc 123").is_ok());
        assert!(Passcode::parse("0123456789").is_ok());
        assert_eq!(
            Passcode::parse("01234567890"),
            Err(ProtoError::PasscodeTooLong { len: 11, max: 10 })
        );
        assert_eq!(Passcode::parse(""), Err(ProtoError::PasscodeEmpty));
        assert_eq!(Passcode::parse("é"), Err(ProtoError::PasscodeCharacter));
        assert_eq!(Passcode::parse("a\tb"), Err(ProtoError::PasscodeCharacter));
        let p = Passcode::parse("x").expect("valid passcode");
        assert!(p.matches(&Passcode::parse("x").expect("valid passcode")));
        assert!(!p.matches(&Passcode::parse("X").expect("valid passcode")));
        assert!(!format!("{p:?}").contains('x'));
    }

    #[test]
    fn chat_text_rules() {
        assert_eq!(ChatText::parse(" \n"), Err(ProtoError::ChatEmpty));
        assert!(ChatText::parse(&"字".repeat(4000)).is_ok());
        assert_eq!(
            ChatText::parse(&"字".repeat(4001)),
            Err(ProtoError::ChatTooLong {
                len: 4001,
                max: 4000
            })
        );
    }
}
