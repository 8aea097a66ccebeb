//! Join links: `huddle://join?session=Weekly%20review&server=meet.example.org:7880` opens the
//! app on the pre-join screen with the session and server filled in. Nothing is joined from a
//! link alone: the person sees where it leads and presses Join.
//!
//! A link comes as a command-line argument: at launch (the desktop opens `huddle <url>` for
//! the scheme), or from a second launch, which hands its arguments to the running app and
//! exits (single instance). The app keeps the newest link until the pre-join screen takes it,
//! so a link that arrives during a call waits for the call to end.
//!
//! The https form of a link is the session server's page `/join?session=…` (see
//! docs/server.md), which sends a browser on to the `huddle://` form; "Copy invite link"
//! copies it for a server typed on the pre-join form ([`web_link`]).
//!
//! Links are untrusted input: anything but the exact form is refused in words, and the
//! refusal is shown instead of a filled form.

use std::sync::{Mutex, PoisonError};

use huddle_proto::SessionName;
use serde::Serialize;

use crate::error::{AppError, ErrorView};

/// The scheme the app registers.
pub const SCHEME: &str = "huddle";
/// Longest link taken (a session name is at most 150 characters; a server address 260).
pub const MAX_LINK: usize = 2048;

/// Where a join link leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JoinLink {
    pub session: String,
    /// `None`: the server hosted on this computer.
    pub server: Option<String>,
}

/// The link the pre-join screen has not taken yet, or why the last one was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkView {
    Join { link: JoinLink },
    Refused { error: ErrorView },
}

/// The command-line arguments that look like join links (the desktop passes one).
pub fn links_in(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter().map(String::as_str).filter(|a| {
        a.get(..SCHEME.len() + 1)
            .is_some_and(|p| p.eq_ignore_ascii_case("huddle:"))
    })
}

/// Reads a join link.
///
/// # Errors
/// [`AppError::InvalidLink`] saying what is wrong with it.
pub fn parse(raw: &str) -> Result<JoinLink, AppError> {
    let bad = |why: &str| AppError::InvalidLink(why.to_owned());
    let raw = raw.trim();
    if raw.len() > MAX_LINK {
        return Err(bad("the link is too long"));
    }
    if raw.chars().any(char::is_control) {
        return Err(bad("the link contains control characters"));
    }
    let (scheme, rest) = raw.split_once(':').ok_or_else(|| bad("it is not a link"))?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(bad("it is not a Huddle link"));
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !target.trim_end_matches('/').eq_ignore_ascii_case("join") {
        return Err(bad(
            "Huddle links open a session to join (huddle://join?session=…)",
        ));
    }
    let mut session = None;
    let mut server = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "session" => &mut session,
            "server" => &mut server,
            // Other parameters (a later version's) are ignored.
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(bad(&format!("the link names its {key} twice")));
        }
    }
    let session = session.ok_or_else(|| bad("the link names no session"))?;
    let session = SessionName::parse(&session)
        .map_err(|e| bad(&format!("the session name in the link is not valid: {e}")))?;
    let server = match server.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(address) => Some(server_address(address).map_err(|why| bad(&why))?),
    };
    Ok(JoinLink {
        session: session.display().to_owned(),
        server,
    })
}

/// The link that leads others to `session` on `server` (`None`: this computer's server,
/// which only works for others when it is hosted for the network).
pub fn join_link(session: &str, server: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("session", session);
    if let Some(server) = server {
        query.append_pair("server", server);
    }
    format!("{SCHEME}://join?{}", query.finish())
}

/// The https form of the link: the server's page `/join?session=…`, which sends a browser
/// on to the app (`huddle://join` with the server filled in) and shows the session to
/// someone without the app. `None` when `server` does not say where that page is: not a
/// ws/wss/http/https URL or `host:port`, or a WebSocket path other than the server's own
/// `/v1/ws` (a proxy that moved it may not serve `/join` beside it).
pub fn web_link(session: &str, server: &str) -> Option<String> {
    let server = server.trim();
    let (scheme, rest) = match server.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "wss" | "https" => ("https", rest),
            "ws" | "http" => ("http", rest),
            _ => return None,
        },
        // A bare host:port is plain WebSocket, as the client reads it.
        None => ("http", server),
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let kept_path = !server.contains("://") || scheme_keeps_path(server);
    if authority.is_empty()
        || authority.contains(['@', '<', '>', '"', '\\', '\'', '`'])
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        || (kept_path && !matches!(path, "" | "/" | "/v1/ws" | "/v1/ws/"))
    {
        return None;
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("session", session);
    Some(format!("{scheme}://{authority}/join?{}", query.finish()))
}

/// ws and wss URLs name the WebSocket path; http and https ones only the server.
fn scheme_keeps_path(server: &str) -> bool {
    server
        .get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case("ws:") || s.eq_ignore_ascii_case("wss"))
}

/// A server address as the pre-join form takes it: `host:port` or a ws(s)/http(s) URL.
fn server_address(address: &str) -> Result<String, String> {
    if address.len() > 260 {
        return Err("the server address in the link is too long".into());
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the server address in the link contains spaces".into());
    }
    if let Some((scheme, _)) = address.split_once("://") {
        if !["ws", "wss", "http", "https"].contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "the link's server uses '{scheme}', not a web or WebSocket address"
            ));
        }
    }
    if address.contains(['<', '>', '"', '\'', '`', '\\']) {
        return Err("the server address in the link is not an address".into());
    }
    Ok(address.to_owned())
}

/// The newest link the pre-join screen has not taken.
#[derive(Default)]
pub struct PendingLink(Mutex<Option<LinkView>>);

impl PendingLink {
    /// Keeps what `raw` says (a link, or why it is refused), replacing an older one.
    pub fn offer(&self, raw: &str) {
        let view = match parse(raw) {
            Ok(link) => LinkView::Join { link },
            Err(e) => {
                tracing::warn!(error = %e, "join link refused");
                LinkView::Refused { error: e.view() }
            }
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(view);
    }

    /// Hands the link over once.
    pub fn take(&self) -> Option<LinkView> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(session: &str, server: Option<&str>) -> JoinLink {
        JoinLink {
            session: session.into(),
            server: server.map(Into::into),
        }
    }

    #[test]
    fn a_join_link_names_the_session_and_maybe_the_server() {
        assert_eq!(
            parse("huddle://join?session=Weekly%20review&server=meet.example.org:7880").ok(),
            Some(join("Weekly review", Some("meet.example.org:7880")))
        );
        assert_eq!(
            parse("HUDDLE://join/?session=Standup").ok(),
            Some(join("Standup", None))
        );
        assert_eq!(
            parse("huddle:join?session=Z%C3%BCrich+team&server=wss://m.example.org/v1/ws&later=1")
                .ok(),
            Some(join("Zürich team", Some("wss://m.example.org/v1/ws")))
        );
    }

    #[test]
    fn anything_else_is_refused_in_words() {
        for (link, says) in [
            ("https://join?session=x", "not a Huddle link"),
            ("javascript:alert(1)", "not a Huddle link"),
            ("huddle://admin?session=x", "open a session to join"),
            ("huddle://join", "names no session"),
            ("huddle://join?session=", "not valid"),
            ("huddle://join?session=a&session=b", "twice"),
            ("huddle://join?session=a%0Ab", "not valid"),
            (
                "huddle://join?session=a&server=file:///etc/passwd",
                "'file'",
            ),
            (
                "huddle://join?session=a&server=%3Cscript%3E",
                "not an address",
            ),
            ("huddle://join?session=a&server=a%20b", "spaces"),
            ("huddle://join?session=a\u{7}", "control characters"),
        ] {
            match parse(link) {
                Err(AppError::InvalidLink(why)) => assert!(why.contains(says), "{link}: {why}"),
                other => panic!("{link}: {other:?}"),
            }
        }
        let huge = format!("huddle://join?session={}", "a".repeat(MAX_LINK));
        assert!(
            matches!(parse(&huge), Err(AppError::InvalidLink(why)) if why.contains("too long"))
        );
        let long_name = format!("huddle://join?session={}", "a".repeat(151));
        assert!(parse(&long_name).is_err());
    }

    #[test]
    fn an_invite_link_reads_back_as_what_it_names() {
        for (session, server) in [
            ("Weekly review", Some("meet.example.org:7880")),
            ("Zürich & co = 100%", Some("ws://192.168.1.20:7880/v1/ws")),
            ("Standup", None),
        ] {
            let link = join_link(session, server);
            assert_eq!(parse(&link).ok(), Some(join(session, server)), "{link}");
        }
    }

    #[test]
    fn the_web_link_is_the_servers_join_page() {
        for (server, web) in [
            (
                "wss://meet.example.org/v1/ws",
                Some("https://meet.example.org/join?session=Weekly+review"),
            ),
            (
                "WSS://meet.example.org:8443",
                Some("https://meet.example.org:8443/join?session=Weekly+review"),
            ),
            (
                "https://meet.example.org/anything",
                Some("https://meet.example.org/join?session=Weekly+review"),
            ),
            (
                "ws://192.168.1.20:7880/v1/ws",
                Some("http://192.168.1.20:7880/join?session=Weekly+review"),
            ),
            (
                "[::1]:7880",
                Some("http://[::1]:7880/join?session=Weekly+review"),
            ),
            ("wss://m.example.org/huddle/ws", None),
            ("ftp://m.example.org", None),
            ("wss://", None),
            ("wss://a b", None),
        ] {
            assert_eq!(
                web_link("Weekly review", server).as_deref(),
                web,
                "{server}"
            );
        }
    }

    #[test]
    fn only_link_arguments_are_links_and_the_newest_wins() {
        let args: Vec<String> = [
            "huddle",
            "--flag",
            "huddle://join?session=a",
            "HUDDLE:join?session=b",
            "hud",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            links_in(&args).collect::<Vec<_>>(),
            ["huddle://join?session=a", "HUDDLE:join?session=b"]
        );
        let pending = PendingLink::default();
        pending.offer("huddle://join?session=a");
        pending.offer("huddle://join?session=b");
        assert_eq!(
            pending.take(),
            Some(LinkView::Join {
                link: join("b", None)
            })
        );
        assert_eq!(pending.take(), None);
        pending.offer("huddle://nope");
        assert!(
            matches!(pending.take(), Some(LinkView::Refused { error }) if error.kind == crate::error::ErrorKind::InvalidLink)
        );
    }

    #[test]
    fn generated_types_are_current() -> Result<(), Box<dyn std::error::Error>> {
        use ts_rs::TS;
        let cfg = crate::generated::config();
        crate::generated::check(
            "links.ts",
            "src-tauri/src/links.rs",
            &[r#"import type { ErrorView } from "./error";"#],
            &[JoinLink::decl(&cfg), LinkView::decl(&cfg)],
        )
    }
}
