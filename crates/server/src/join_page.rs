//! The https form of a join link: `GET /join?session=Weekly%20review` answers a small page
//! that sends the browser on to `huddle://join?server=<this server>&session=…` (the app opens
//! with the form filled in) and shows that link and the session's name to someone without
//! the app.
//!
//! The page loads nothing and runs no script: the redirect is a `<meta http-equiv="refresh">`,
//! the only style is inline and allowed by its hash in the page's content policy, and every
//! value in it is HTML-escaped. A request that names no valid session (or the server by no
//! valid host) gets `400` with a plain sentence.
//!
//! "This server" is the address the request was sent to (its `Host`), behind `wss://` when
//! this server serves TLS or a proxy in front of it says the request came over HTTPS
//! (`X-Forwarded-Proto: https`), else `ws://`. The link only fills the app's form; the person
//! still sees where it leads and presses Join.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use huddle_proto::SessionName;

use crate::state::AppState;

/// Path of the page.
pub const JOIN_PATH: &str = "/join";
/// Longest query taken (a session name is at most 150 characters, percent-encoded 12 bytes
/// each at worst).
pub const MAX_QUERY: usize = 2048;
/// Longest `Host` taken (a DNS name and a port).
const MAX_HOST: usize = 260;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
padding:0 1rem;color:#1d2330}h1{font-size:1.4rem}code{word-break:break-all;background:#eef1f6;\
padding:.1rem .3rem;border-radius:4px}a.open{display:inline-block;margin:.5rem 0;padding:.5rem 1rem;\
background:#2f5bd3;color:#fff;border-radius:6px;text-decoration:none}@media(prefers-color-scheme:dark)\
{body{background:#15181e;color:#e6e9ef}code{background:#262b35}}";

/// Answers `GET /join?session=…`.
pub async fn join_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let secure = state.config.tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match page(query.as_deref().unwrap_or(""), host, secure) {
        Ok(html) => html_response(html),
        Err(why) => refusal(&why),
    }
}

/// The page for `query`, or why it cannot be made (a sentence for a person).
pub fn page(query: &str, host: Option<&str>, secure: bool) -> Result<String, String> {
    let session = session_in(query)?;
    let host = host.map(str::trim).unwrap_or_default();
    if host.is_empty()
        || host.len() > MAX_HOST
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return Err("The request does not name this server by a valid host.".into());
    }
    let scheme = if secure { "wss" } else { "ws" };
    let server = format!("{scheme}://{host}{}", crate::http::WS_PATH);
    let mut link = form_urlencoded::Serializer::new(String::new());
    link.append_pair("server", &server);
    link.append_pair("session", session.display());
    let link = format!("huddle://join?{}", link.finish());
    Ok(render(session.display(), &server, &link))
}

/// The session the query names: exactly one `session`, a valid session name without
/// control characters or markup.
fn session_in(query: &str) -> Result<SessionName, String> {
    if query.len() > MAX_QUERY {
        return Err(format!(
            "The link is too long (more than {MAX_QUERY} characters)."
        ));
    }
    let mut session = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "session" && session.replace(value).is_some() {
            return Err("The link names its session twice.".into());
        }
    }
    let raw = session.ok_or("The link names no session (…/join?session=Name).")?;
    if raw.contains('\u{FFFD}') {
        return Err("The session name in the link is not valid UTF-8 text.".into());
    }
    if raw.chars().any(char::is_control) {
        return Err("The session name in the link contains control characters.".into());
    }
    if raw.contains(['<', '>']) {
        return Err("The session name in the link contains markup (angle brackets).".into());
    }
    SessionName::parse(&raw).map_err(|e| format!("The session name in the link is not valid: {e}."))
}

fn render(session: &str, server: &str, link: &str) -> String {
    let (session, server, link) = (escape(session), escape(server), escape(link));
    let mut html = String::with_capacity(2048);
    // Writing to a String cannot fail.
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<meta http-equiv=\"refresh\" content=\"0; url={link}\">\
<title>Join {session} in Huddle</title><style>{STYLE}</style></head><body>\
<h1>Join “{session}” in Huddle</h1>\
<p>Your browser should now offer to open the Huddle app, with this session and server filled in.</p>\
<p><a class=\"open\" href=\"{link}\">Open in Huddle</a></p>\
<p>Nothing happens? Install Huddle, then open this link, or paste it into Huddle’s pre-join screen:</p>\
<p><code>{link}</code></p>\
<p>Session: <strong>{session}</strong><br>Server: <code>{server}</code></p>\
</body></html>\n"
    );
    html
}

/// The content policy: nothing from anywhere, but the page's one style, by its hash.
fn content_policy() -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(hash.as_ref());
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

fn html_response(html: String) -> Response {
    let policy = HeaderValue::from_str(&content_policy())
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    respond(StatusCode::OK, html, "text/html; charset=utf-8", policy)
}

fn refusal(why: &str) -> Response {
    respond(
        StatusCode::BAD_REQUEST,
        format!("{why}\n"),
        "text/plain; charset=utf-8",
        HeaderValue::from_static("default-src 'none'"),
    )
}

/// A response that no browser sniffs, frames, caches or tells where it came from.
fn respond(
    status: StatusCode,
    body: String,
    content_type: &'static str,
    policy: HeaderValue,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, policy),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ] {
        headers.insert(name, value);
    }
    response
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_to_the_app_with_this_server_and_escapes_what_it_shows() -> Result<(), String>
    {
        let html = page(
            "session=Z%C3%BCrich+%26+%22co%22",
            Some("meet.example.org"),
            true,
        )?;
        let link = "huddle://join?server=wss%3A%2F%2Fmeet.example.org%2Fv1%2Fws&amp;session=Z%C3%BCrich+%26+%22co%22";
        assert!(
            html.contains(&format!("content=\"0; url={link}\"")),
            "{html}"
        );
        assert!(html.contains("Zürich &amp; &quot;co&quot;"), "{html}");
        assert!(!html.contains("<script"));
        assert!(content_policy().starts_with("default-src 'none'; style-src 'sha256-"));
        Ok(())
    }

    #[test]
    fn bad_requests_are_refused_in_words() {
        for (query, host, says) in [
            ("", Some("h"), "names no session"),
            ("session=", Some("h"), "not valid"),
            ("session=a&session=b", Some("h"), "twice"),
            ("session=a%0Ab", Some("h"), "control characters"),
            ("session=a%0A", Some("h"), "control characters"),
            ("session=%3Cb%3Ex", Some("h"), "markup"),
            ("session=%FF", Some("h"), "UTF-8"),
            ("session=a", None, "valid host"),
            ("session=a", Some("h\"><script>"), "valid host"),
        ] {
            match page(query, host, false) {
                Err(why) => assert!(why.contains(says), "{query}: {why}"),
                Ok(html) => panic!("{query}: {html}"),
            }
        }
        let long = format!("session={}", "a".repeat(151));
        assert!(page(&long, Some("h"), false).is_err());
        let huge = format!("session={}", "a".repeat(MAX_QUERY));
        assert!(matches!(page(&huge, Some("h"), false), Err(why) if why.contains("too long")));
    }
}
