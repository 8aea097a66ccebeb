//! The https form of join links: `GET /join?session=…` on a real server answers a page that
//! sends the browser to `huddle://join` with this server and the session, and refuses bad
//! requests with a plain sentence.

mod common;

use common::{start_open, TestResult, PATIENCE};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request over a fresh connection, read to its end.
async fn get(
    server: &huddle_server::ServerHandle,
    target: &str,
    extra: &str,
) -> TestResult<Answer> {
    let mut socket = TcpStream::connect(server.local_addr()).await?;
    let host = server.local_addr().to_string();
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, socket.read_to_end(&mut raw)).await??;
    let text = String::from_utf8(raw)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of headers")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .ok_or("no status line")?
        .parse()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

#[tokio::test]
async fn the_join_page_sends_the_browser_to_the_app_with_this_server() -> TestResult {
    let server = start_open().await?;
    let addr = server.local_addr();
    let page = get(&server, "/join?session=Weekly%20review", "").await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let link = format!(
        "huddle://join?server=ws%3A%2F%2F{}%3A{}%2Fv1%2Fws&amp;session=Weekly+review",
        addr.ip(),
        addr.port()
    );
    assert!(
        page.body
            .contains(&format!("http-equiv=\"refresh\" content=\"0; url={link}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("href=\"{link}\"")));
    assert!(page.body.contains("Join “Weekly review” in Huddle"));
    assert!(!page.body.contains("<script"));

    // Behind a proxy that terminates TLS the app is sent to wss.
    let proxied = get(&server, "/join?session=a", "X-Forwarded-Proto: https\r\n").await?;
    assert_eq!(proxied.status, 200);
    assert!(
        proxied.body.contains("server=wss%3A%2F%2F"),
        "{}",
        proxied.body
    );

    // What others type is shown escaped.
    let quoted = get(&server, "/join?session=Ann%27s+%22%26%22", "").await?;
    assert_eq!(quoted.status, 200);
    assert!(
        quoted.body.contains("Ann&#39;s &quot;&amp;&quot;"),
        "{}",
        quoted.body
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_join_requests_are_refused_with_a_plain_sentence() -> TestResult {
    let server = start_open().await?;
    let long = format!("/join?session={}", "a".repeat(151));
    let huge = format!("/join?session={}", "a".repeat(3000));
    for (target, says) in [
        ("/join", "names no session"),
        ("/join?session=", "not valid"),
        ("/join?session=a&session=b", "twice"),
        ("/join?session=a%07b", "control characters"),
        ("/join?session=%3Cscript%3Ealert(1)%3C/script%3E", "markup"),
        (long.as_str(), "not valid"),
        (huge.as_str(), "too long"),
    ] {
        let answer = get(&server, target, "").await?;
        assert_eq!(answer.status, 400, "{target}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{target}"
        );
        assert!(answer.body.contains(says), "{target}: {}", answer.body);
        assert!(!answer.body.contains('<'), "{target}: {}", answer.body);
    }
    server.shutdown().await;
    Ok(())
}
