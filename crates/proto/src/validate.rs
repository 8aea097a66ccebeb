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
/// bidirectional controls and invisible characters removed (the list is in
/// `docs/protocol.md` §2.1),
/// control characters and line or paragraph separators replaced by spaces, surrounding
/// whitespace trimmed, and [`DEFAULT_DISPLAY_NAME`] when nothing is left. Never refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Cleans `raw` into a display name.
    #[must_use]
    pub fn new(raw: &str) -> DisplayName {
        // Control characters and line separators (newlines, escape sequences) would let one
        // name spoof the layout of a user list; a space keeps the rest readable. The limit
        // counts what is left, so hidden characters cannot push visible ones out.
        let cleaned: String = raw
            .chars()
            .filter(|&c| !is_hidden_in_names(c))
            .map(|c| {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                    ' '
                } else {
                    c
                }
            })
            .skip_while(|c| c.is_whitespace())
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

/// Whether display names drop `c`: a bidirectional control, which could reorder the text
/// shown after the name ("\u{202e}" turns "Ann raised a hand" around), or an invisible
/// character that no name needs, which makes two names that look alike differ ("Ann" and
/// "Ann\u{200b}"). Variation selectors stay (emoji presentation, CJK ideograph variants), as
/// do Mongolian free variation selectors and the Arabic number signs, which are visible.
fn is_hidden_in_names(c: char) -> bool {
    matches!(
        c,
        // Bidirectional controls: marks, embeddings, overrides, isolates.
        '\u{061C}' // ARABIC LETTER MARK
            | '\u{200E}' // LEFT-TO-RIGHT MARK
            | '\u{200F}' // RIGHT-TO-LEFT MARK
            | '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
            | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
            // Zero-width and other invisible characters.
            | '\u{00AD}' // SOFT HYPHEN
            | '\u{034F}' // COMBINING GRAPHEME JOINER
            | '\u{180E}' // MONGOLIAN VOWEL SEPARATOR
            | '\u{200B}'..='\u{200D}' // ZERO WIDTH SPACE, NON-JOINER, JOINER
            | '\u{2060}'..='\u{2064}' // WORD JOINER, the invisible operators
            | '\u{206A}'..='\u{206F}' // deprecated: symmetric swapping, shaping, digit shapes
            | '\u{3164}' // HANGUL FILLER
            | '\u{FEFF}' // ZERO WIDTH NO-BREAK SPACE (byte order mark)
            | '\u{FFA0}' // HALFWIDTH HANGUL FILLER
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation anchor, separator, terminator
            | '\u{1D173}'..='\u{1D17A}' // musical symbol begin/end beam, tie, slur, phrase
            | '\u{E0001}' // LANGUAGE TAG
            | '\u{E0020}'..='\u{E007F}' // tag characters
    )
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
    fn display_names_lose_bidi_controls_and_invisible_characters() {
        assert_eq!(DisplayName::new("Ann\u{200b}").as_str(), "Ann");
        assert_eq!(
            DisplayName::new("\u{feff}A\u{00ad}n\u{2060}n").as_str(),
            "Ann"
        );
        assert_eq!(DisplayName::new("Ann\u{e0041}\u{e007f}").as_str(), "Ann");
        // An override cannot reverse what is shown after the name.
        assert_eq!(DisplayName::new("\u{202e}evil").as_str(), "evil");
        assert_eq!(
            DisplayName::new("\u{2067}Bo\u{2069}\u{200f}\u{061c}").as_str(),
            "Bo"
        );
        // Removing them can expose whitespace, which is trimmed as usual.
        assert_eq!(DisplayName::new("\u{200b} Ann \u{200d}").as_str(), "Ann");
        // Line and paragraph separators break a list's layout like newlines do.
        assert_eq!(DisplayName::new("a\u{2028}b\u{2029}c").as_str(), "a b c");
        // A control character at the start no longer leaves a leading space.
        assert_eq!(DisplayName::new("\u{1b}Ann").as_str(), "Ann");
    }

    #[test]
    fn display_names_of_only_invisible_characters_are_empty() {
        for raw in [
            "\u{200b}",
            "\u{202e}\u{202c}",
            " \u{200b}\u{200c}\u{200d}\u{2060}\u{feff} ",
            "\u{3164}\u{ffa0}",
            "\u{00ad}\u{180e}\u{061c}\u{200e}",
        ] {
            assert_eq!(DisplayName::new(raw).as_str(), "Guest", "{raw:?}");
        }
    }

    #[test]
    fn display_names_in_other_scripts_are_kept() {
        for name in [
            "Zoë",
            "مريم",
            "李雷",
            "Ἀθηνᾶ",
            "Сергей",
            "אורי כהן",
            "Nguyễn Thị Minh Khai",
            "❤\u{fe0f} Ann",
            "Zoe\u{308}",
        ] {
            assert_eq!(DisplayName::new(name).as_str(), name, "{name:?}");
        }
        // The joiners go even where a script or an emoji uses them: the text stays readable,
        // in the form without the ligature (a Sinhala conjunct, an emoji in its pieces).
        assert_eq!(DisplayName::new("ශ්\u{200d}රී").as_str(), "ශ්රී");
        assert_eq!(
            DisplayName::new("\u{1f469}\u{200d}\u{1f4bb} Ann").as_str(),
            "\u{1f469}\u{1f4bb} Ann"
        );
    }

    #[test]
    fn display_name_limit_counts_visible_characters() {
        let padded = format!("{}{}", "\u{200b}".repeat(500), "a".repeat(250));
        assert_eq!(DisplayName::new(&padded).as_str(), "a".repeat(200));
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
