//! Desktop notifications while the window is in the back: a chat message that mentions me, a
//! private message to me, and someone waiting in the lobby to be let in.
//!
//! The rule lives here and only here, in Rust, because the shell sees every call event
//! whether or not the window is drawing: the call's forwarding task hands each chat message
//! to [`Notifications::chat`] and each joiner waiting in the lobby to [`Notifications::lobby_waiting`].
//! Nothing is shown while the window has the focus, for my own messages, or when the person
//! turned notifications off (`notifications` in the settings).
//!
//! Where a notification goes is a [`Sink`]: the desktop's notification service in the app
//! ([`DesktopSink`]), a queue in tests. Showing never blocks the caller, and a desktop without
//! a notification service (no daemon on the session bus) is a logged warning, not an error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use huddle_proto::{ChatMessage, ParticipantId};

/// Longest message text put in a notification; the rest is cut with an ellipsis.
const MAX_BODY: usize = 200;

/// Something worth a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A message to everyone that names me.
    Mention { from: String, text: String },
    /// A message to me alone.
    Private { from: String, text: String },
    /// Someone asks to be let in from the lobby (for hosts and managers).
    LobbyWaiting { name: String },
}

impl Alert {
    /// The notification's title and body, as plain text.
    pub fn title_and_body(&self) -> (String, String) {
        match self {
            Alert::Mention { from, text } => (format!("{from} mentioned you"), cut(text)),
            Alert::Private { from, text } => (format!("{from} (privately)"), cut(text)),
            Alert::LobbyWaiting { name } => (
                format!("{name} is waiting in the lobby"),
                "Open Huddle to let them in.".to_owned(),
            ),
        }
    }
}

/// Where notifications are shown.
pub trait Sink: Send + Sync + 'static {
    /// Shows `alert`; returns at once (the work, if any, happens in the background).
    fn show(&self, alert: Alert);
}

/// Shows nothing: the call slot's default until the app wires the desktop's service.
struct Nowhere;

impl Sink for Nowhere {
    fn show(&self, alert: Alert) {
        tracing::debug!(?alert, "no notification sink");
    }
}

/// Decides what is worth a notification and hands it to the sink.
pub struct Notifications {
    enabled: AtomicBool,
    focused: AtomicBool,
    sink: Arc<dyn Sink>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications::new(Arc::new(Nowhere))
    }
}

impl Notifications {
    /// On, with the window taken to have the focus until told otherwise.
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Notifications {
            enabled: AtomicBool::new(true),
            focused: AtomicBool::new(true),
            sink,
        }
    }

    /// The person's setting.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Whether the window has the keyboard focus (from the window's focus events).
    pub fn set_focused(&self, focused: bool) {
        self.focused.store(focused, Ordering::Relaxed);
    }

    fn wanted(&self) -> bool {
        self.enabled.load(Ordering::Relaxed) && !self.focused.load(Ordering::Relaxed)
    }

    /// A chat message new to this app. `my_name` is read only when the message could matter.
    pub fn chat(
        &self,
        message: &ChatMessage,
        me: ParticipantId,
        my_name: impl FnOnce() -> Option<String>,
    ) {
        if !self.wanted() {
            return;
        }
        if let Some(alert) = chat_alert(message, me, my_name) {
            self.sink.show(alert);
        }
    }

    /// The hook for the lobby: call it when someone starts waiting to be let in, on the app
    /// of a host or manager who may admit them.
    pub fn lobby_waiting(&self, name: &str) {
        if self.wanted() {
            self.sink.show(Alert::LobbyWaiting {
                name: name.to_owned(),
            });
        }
    }
}

/// What a chat message is worth, focus and setting aside: a private message to me, or a
/// message to everyone that [`mentions`] my display name; never my own.
pub fn chat_alert(
    message: &ChatMessage,
    me: ParticipantId,
    my_name: impl FnOnce() -> Option<String>,
) -> Option<Alert> {
    if message.from == me {
        return None;
    }
    let from = visible(&message.from_name);
    let text = visible(&message.text);
    match message.to {
        Some(to) if to == me => Some(Alert::Private { from, text }),
        Some(_) => None,
        None => my_name()
            .filter(|name| mentions(&message.text, name))
            .map(|_| Alert::Mention { from, text }),
    }
}

/// Whether `text` names `name` as a whole word: case-insensitive, with or without a leading
/// `@`, a name of several words matching with any run of spaces between them. The characters
/// on either side must not be letters, digits or `_` ("@Ann," and "Ann's" name Ann, "Anna"
/// and "Joanne" do not). Invisible formatting characters (bidi controls, zero-width spaces)
/// are ignored on both sides, so they can neither hide a mention nor make one up; markup is
/// just characters (`<b>Ann</b>` names Ann, as the text would read).
pub fn mentions(text: &str, name: &str) -> bool {
    let name = fold(name);
    if name.is_empty() {
        return false;
    }
    let text = fold(text);
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(&name)) {
        let start = from + found;
        let end = start + name.len();
        let before = text.get(..start).and_then(|t| t.chars().next_back());
        let after = text.get(end..).and_then(|t| t.chars().next());
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return true;
        }
        // On to the next character boundary after this start.
        from = start
            + text
                .get(start..)
                .and_then(|t| t.chars().next())
                .map_or(1, char::len_utf8);
    }
    false
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters that change how text is shown without being seen: bidi controls, zero-width
/// spaces and joiners, the soft hyphen, the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Lower case, invisible characters out, every run of white space one space, trimmed.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().filter(|c| !invisible(*c)) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if std::mem::take(&mut space) {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Text as it goes into a notification: without invisible or control characters (a bidi
/// override must not turn the app's words around them), white space as single spaces.
fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !invisible(*c)) {
        if c.is_whitespace() || c.is_control() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_BODY) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// The desktop's notification service, through tauri-plugin-notification. A click on a
/// notification brings the window forward (the plugin reports it where the platform does).
pub struct DesktopSink {
    app: tauri::AppHandle,
}

impl DesktopSink {
    pub fn new(app: tauri::AppHandle) -> Self {
        DesktopSink { app }
    }
}

impl Sink for DesktopSink {
    fn show(&self, alert: Alert) {
        let app = self.app.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let (title, body) = alert.title_and_body();
            let Some(body) = service_body(body) else {
                return;
            };
            use tauri_plugin_notification::NotificationExt;
            if let Err(e) = app.notification().builder().title(title).body(body).show() {
                tracing::warn!(error = %e, "cannot show a notification");
            }
        });
    }
}

/// Asks the session bus for the notification service (the plugin does not say when a
/// notification went nowhere) and escapes the body for a service that reads markup in it.
/// `None`: there is no service; said once in the log per notification left unshown.
#[cfg(target_os = "linux")]
fn service_body(body: String) -> Option<String> {
    match notify_rust::get_capabilities() {
        Ok(caps) if caps.iter().any(|c| c == "body-markup") => Some(escape_markup(&body)),
        Ok(_) => Some(body),
        Err(e) => {
            tracing::warn!(error = %e, "no notification service on the session bus; the notification is not shown");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn service_body(body: String) -> Option<String> {
    Some(body)
}

/// The Desktop Notifications Specification's body markup is a little XML: `&`, `<` and `>`
/// written as entities show as themselves.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_mention_is_my_whole_name_as_a_word_in_any_case() {
        for (text, name) in [
            ("@Ann can you share?", "Ann"),
            ("thanks ann", "Ann"),
            ("ANN, over to you", "Ann"),
            ("Ann's slide", "Ann"),
            ("(@ann)", "Ann"),
            ("question for @Ann  Lee please", "Ann Lee"),
            ("ann\tlee?", "Ann Lee"),
            ("<b>Ann</b>", "Ann"),
            ("Zoë, are you there", "zoë"),
            ("ÅSA!", "Åsa"),
            ("hi Dr. Who", " Dr. Who "),
            ("ping A\u{200B}nn", "Ann"),
            ("ping \u{202E}Ann\u{202C}", "Ann"),
            ("Annie or Ann", "Ann"),
        ] {
            assert!(mentions(text, name), "{text:?} should name {name:?}");
        }
    }

    #[test]
    fn a_longer_word_or_an_empty_name_is_not_a_mention() {
        for (text, name) in [
            ("Anna is here", "Ann"),
            ("Joanne is here", "Ann"),
            ("ann_lee", "Ann"),
            ("Ann2 joined", "Ann"),
            ("Ann is here", "Ann Lee"),
            ("annlee", "Ann Lee"),
            ("anything", ""),
            ("anything", " \u{200B} "),
            ("", "Ann"),
        ] {
            assert!(!mentions(text, name), "{text:?} should not name {name:?}");
        }
    }

    fn message(from: u64, to: Option<u64>, text: &str) -> ChatMessage {
        ChatMessage {
            seq: huddle_proto::ChatSeq(1),
            from: ParticipantId(from),
            from_name: "Bo".into(),
            to: to.map(ParticipantId),
            text: text.into(),
        }
    }

    const ME: ParticipantId = ParticipantId(7);
    fn ann() -> Option<String> {
        Some("Ann".into())
    }

    #[test]
    fn mentions_and_private_messages_to_me_are_alerts_my_own_never() {
        assert_eq!(
            chat_alert(&message(2, None, "over to @ann"), ME, ann),
            Some(Alert::Mention {
                from: "Bo".into(),
                text: "over to @ann".into()
            })
        );
        assert_eq!(
            chat_alert(&message(2, Some(7), "just you"), ME, ann),
            Some(Alert::Private {
                from: "Bo".into(),
                text: "just you".into()
            })
        );
        assert_eq!(chat_alert(&message(2, None, "hello all"), ME, ann), None);
        assert_eq!(chat_alert(&message(7, None, "I am Ann"), ME, ann), None);
        assert_eq!(chat_alert(&message(7, Some(7), "note"), ME, ann), None);
        // A private message to someone else (a host sees none, but the rule does not care).
        assert_eq!(chat_alert(&message(2, Some(3), "Ann?"), ME, ann), None);
        // Without a name of mine (not in the roster yet), only private messages count.
        assert_eq!(chat_alert(&message(2, None, "Ann?"), ME, || None), None);
    }

    #[test]
    fn notification_text_is_plain_and_bounded() {
        let alert = chat_alert(
            &message(2, Some(7), "\u{202E}evil\u{202C}\nline two <i>x</i>"),
            ME,
            ann,
        );
        let Some(alert) = alert else {
            panic!("a private message is an alert");
        };
        let (title, body) = alert.title_and_body();
        assert_eq!(title, "Bo (privately)");
        assert_eq!(body, "evil line two <i>x</i>");
        assert_eq!(escape_markup(&body), "evil line two &lt;i&gt;x&lt;/i&gt;");
        let long = Alert::Mention {
            from: "Bo".into(),
            text: "é".repeat(500),
        };
        assert_eq!(long.title_and_body().1.chars().count(), MAX_BODY + 1);
    }

    #[derive(Default)]
    struct Fake(Mutex<Vec<Alert>>);
    impl Sink for Fake {
        fn show(&self, alert: Alert) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(alert);
        }
    }
    impl Fake {
        fn taken(&self) -> Vec<Alert> {
            std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
        }
    }

    #[test]
    fn alerts_reach_the_sink_only_while_unfocused_and_enabled() {
        let fake = Arc::new(Fake::default());
        let notifications = Notifications::new(Arc::clone(&fake) as Arc<dyn Sink>);
        let mention = message(2, None, "@Ann look");
        // Focused at the start.
        notifications.chat(&mention, ME, ann);
        notifications.lobby_waiting("Cy");
        assert_eq!(fake.taken(), []);

        notifications.set_focused(false);
        notifications.chat(&mention, ME, ann);
        notifications.chat(&message(2, None, "nothing for me"), ME, ann);
        notifications.lobby_waiting("Cy");
        assert_eq!(
            fake.taken(),
            [
                Alert::Mention {
                    from: "Bo".into(),
                    text: "@Ann look".into()
                },
                Alert::LobbyWaiting { name: "Cy".into() }
            ]
        );

        notifications.set_enabled(false);
        notifications.chat(&mention, ME, ann);
        notifications.lobby_waiting("Cy");
        assert_eq!(fake.taken(), []);

        // The name is not even looked up while nothing could be shown.
        notifications.set_enabled(true);
        notifications.set_focused(true);
        notifications.chat(&mention, ME, || panic!("the name was read while focused"));
    }
}
