//! The pre-join network test: how well this computer reaches a Huddle server.
//!
//! [`run`] asks the server for its test configuration, then measures in two phases:
//! the UDP echo (round-trip time, jitter, loss up and down), the WebSocket echo and the TURN
//! checks run together; then download and upload throughput, one after the other. Every
//! stage is bounded by the overall time limit (8 s by default); a stage that fails or runs
//! out of time is reported as such and the others still run. Progress goes to an optional
//! channel; cancelling the token (or dropping the future) stops everything.
//!
//! The report's numbers become a [`Grade`] with advice sentences by the rules in [`grade`];
//! `docs/nettest.md` describes stages, figures, thresholds and measured accuracy.

pub mod grade;
mod net;
pub mod throughput;
pub mod turn;
pub mod udp;
pub mod ws;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use grade::{Figures, Grade};
pub use throughput::Throughput;
pub use turn::{TurnCheck, TurnTransport};
pub use udp::UdpStats;
pub use ws::WsStats;

use huddle_proto::ErrorCode;

use crate::error::ClientError;
use crate::tls::{self, Trust};

/// Path of the server's test configuration.
pub const CONFIG_PATH: &str = "/v1/nettest/config";

/// How to run the test.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NettestOptions {
    /// Base URL of the server: `http(s)://host:port` (a `ws(s)://` URL or a path is accepted
    /// and reduced to this).
    pub server: String,
    /// Everything ends by this long after the start.
    pub time_limit: Duration,
    /// UDP probes to send.
    pub udp_probes: u32,
    /// Time between UDP probes.
    pub udp_interval: Duration,
    /// WebSocket echoes.
    pub ws_echoes: u32,
    /// Length of each throughput window.
    pub transfer_window: Duration,
    /// Longest wait for the server's test configuration.
    pub connect_timeout: Duration,
    /// Certificates trusted for HTTPS, WSS and TURN over TLS.
    pub trust: Trust,
    /// A join token, for a server in token mode (which runs network tests only for holders
    /// of a valid one); ignored by a server in open mode.
    pub token: Option<String>,
}

impl NettestOptions {
    /// Defaults for `server`: 1,000 probes over 2 s, 1.5 s each way of throughput, 8 s in all.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            time_limit: Duration::from_secs(8),
            // 1,000 probes measure a 5 % loss within about ±1.4 points 95 % of the time.
            udp_probes: 1000,
            udp_interval: Duration::from_millis(2),
            ws_echoes: 20,
            transfer_window: Duration::from_millis(1500),
            connect_timeout: Duration::from_secs(3),
            trust: Trust::Platform,
            token: None,
        }
    }
}

/// Stages of the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Fetching the server's test configuration.
    Config,
    /// UDP echo.
    Udp,
    /// WebSocket echo.
    WebSocket,
    /// TURN allocations.
    Turn,
    /// Download throughput.
    Download,
    /// Upload throughput.
    Upload,
}

/// Progress while the test runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A stage began.
    Started {
        /// Which.
        stage: Stage,
    },
    /// A stage ended.
    Finished {
        /// Which.
        stage: Stage,
        /// It measured something.
        ok: bool,
    },
}

/// A stage's result: its figures, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome<T> {
    /// The figures.
    pub value: Option<T>,
    /// Why the stage failed.
    pub error: Option<String>,
}

impl<T> Outcome<T> {
    fn from_result(result: Result<T, String>) -> Self {
        match result {
            Ok(value) => Self {
                value: Some(value),
                error: None,
            },
            Err(error) => Self {
                value: None,
                error: Some(error),
            },
        }
    }
}

/// Which paths to the server work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reachability {
    /// The UDP echo answered.
    pub udp: bool,
    /// HTTP and the WebSocket over TCP work.
    pub tcp: bool,
    /// A TURN relay was obtained over UDP (`None`: no such TURN URL configured).
    pub turn_udp: Option<bool>,
    /// A TURN relay was obtained over TCP.
    pub turn_tcp: Option<bool>,
    /// A TURN relay was obtained over TLS.
    pub turn_tls: Option<bool>,
}

/// Everything the test found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The server's base URL.
    pub server: String,
    /// How long the test took, ms.
    pub duration_ms: f64,
    /// UDP echo.
    pub udp: Outcome<UdpStats>,
    /// WebSocket echo.
    pub websocket: Outcome<WsStats>,
    /// Download throughput.
    pub download: Outcome<Throughput>,
    /// Upload throughput.
    pub upload: Outcome<Throughput>,
    /// One check per TURN URL the server handed out.
    pub turn: Vec<TurnCheck>,
    /// Which paths work.
    pub reachability: Reachability,
    /// Good, fair or poor.
    pub grade: Grade,
    /// Plain sentences, worst problem first.
    pub advice: Vec<String>,
}

/// The server's `GET /v1/nettest/config` answer.
#[derive(Debug, Clone, Deserialize)]
struct ServerConfig {
    udp_port: u16,
    ws_path: String,
    download_path: String,
    upload_path: String,
    max_download_bytes: u64,
    max_upload_bytes: u64,
    turn: Option<TurnOffer>,
    /// Token mode: what the other endpoints need as `?grant=`.
    #[serde(default)]
    grant: Option<String>,
}

impl ServerConfig {
    /// `path` (which may carry a query already) with the grant, if the server gave one.
    fn granted(&self, path: &str) -> String {
        match &self.grant {
            None => path.to_owned(),
            Some(grant) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                // Digits, a dot and hex: nothing to escape.
                format!("{path}{sep}grant={grant}")
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct TurnOffer {
    urls: Vec<String>,
    username: String,
    credential: String,
}

/// The parts of the server URL the stages need.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Base {
    secure: bool,
    host: String,
    port: u16,
}

impl Base {
    fn parse(url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (secure, rest) = match url.split_once("://") {
            Some(("http" | "ws", rest)) => (false, rest),
            Some(("https" | "wss", rest)) => (true, rest),
            Some(_) => return Err(invalid("the scheme must be http, https, ws or wss")),
            None => return Err(invalid("expected e.g. https://meet.example.com")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(invalid("user information is not supported"));
        }
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| invalid("bad port"))?,
                None => default_port,
            };
            (format!("[{host}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (host.to_owned(), p.parse().map_err(|_| invalid("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(invalid("no host"));
        }
        Ok(Self { secure, host, port })
    }

    fn http(&self, path: &str) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}:{}{path}", self.host, self.port)
    }

    fn ws(&self, path: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!("{scheme}://{}:{}{path}", self.host, self.port)
    }
}

fn emit(progress: &Option<mpsc::Sender<Progress>>, event: Progress) {
    if let Some(tx) = progress {
        // A slow or closed listener must never hold the test up.
        let _ = tx.try_send(event);
    }
}

/// Runs the whole test. Fails only when nothing can be measured (bad URL, server
/// unreachable, cancelled); a failing stage is written into the report instead.
pub async fn run(
    options: &NettestOptions,
    progress: Option<mpsc::Sender<Progress>>,
    cancel: CancellationToken,
) -> Result<Report, ClientError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(ClientError::Cancelled),
        report = run_inner(options, progress) => report,
    }
}

async fn run_inner(
    options: &NettestOptions,
    progress: Option<mpsc::Sender<Progress>>,
) -> Result<Report, ClientError> {
    let started = Instant::now();
    let deadline = started + options.time_limit;
    let base = Base::parse(&options.server)?;
    let tls_config = tls::client_config(&options.trust, &[])?;
    let http_tls = tls::client_config(&options.trust, &[b"http/1.1"])?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*http_tls).clone())
        .connect_timeout(options.connect_timeout)
        .no_proxy()
        .build()
        .map_err(|e| ClientError::Tls(e.to_string()))?;

    emit(
        &progress,
        Progress::Started {
            stage: Stage::Config,
        },
    );
    let config_url = base.http(CONFIG_PATH);
    let config_deadline = (Instant::now() + options.connect_timeout).min(deadline);
    let config = fetch_config(
        &client,
        &config_url,
        options.token.as_deref(),
        config_deadline,
    )
    .await;
    emit(
        &progress,
        Progress::Finished {
            stage: Stage::Config,
            ok: config.is_ok(),
        },
    );
    let config = config?;

    // Phase 1: the echoes and TURN together; all of them are light, and together they fit
    // the UDP stage's two seconds.
    let udp_addr = net::resolve(&base.host, config.udp_port).await;
    let mut run_id = [0u8; 8];
    getrandom::fill(&mut run_id).map_err(|e| ClientError::Random(e.to_string()))?;
    let plan = udp::UdpPlan {
        probes: options.udp_probes,
        interval: options.udp_interval,
        drain: Duration::from_millis(800),
    };
    let udp_stage = async {
        emit(&progress, Progress::Started { stage: Stage::Udp });
        let result = match udp_addr {
            Ok(addr) => udp::run(addr, plan, u64::from_be_bytes(run_id), deadline).await,
            Err(e) => Err(e),
        };
        emit(
            &progress,
            Progress::Finished {
                stage: Stage::Udp,
                ok: result.is_ok(),
            },
        );
        result
    };
    let phase1_end =
        (Instant::now() + options.udp_interval * options.udp_probes + Duration::from_millis(800))
            .min(deadline);
    let ws_stage = async {
        emit(
            &progress,
            Progress::Started {
                stage: Stage::WebSocket,
            },
        );
        let tls = base.secure.then_some(&tls_config);
        let result = ws::run(
            &base.ws(&config.granted(&config.ws_path)),
            &base.host,
            base.port,
            tls,
            options.ws_echoes,
            phase1_end,
        )
        .await;
        emit(
            &progress,
            Progress::Finished {
                stage: Stage::WebSocket,
                ok: result.is_ok(),
            },
        );
        result
    };
    let turn_stage = async {
        let Some(offer) = &config.turn else {
            return Vec::new();
        };
        emit(&progress, Progress::Started { stage: Stage::Turn });
        let credential = turn::Credential {
            username: offer.username.clone(),
            password: offer.credential.clone(),
        };
        let checks = futures_util::future::join_all(
            offer
                .urls
                .iter()
                .map(|url| turn::check(url, &credential, &tls_config, phase1_end)),
        )
        .await;
        emit(
            &progress,
            Progress::Finished {
                stage: Stage::Turn,
                ok: checks.iter().any(|c| c.ok),
            },
        );
        checks
    };
    let (udp_result, ws_result, turn_checks) = tokio::join!(udp_stage, ws_stage, turn_stage);

    // Phase 2: throughput, one direction at a time so they do not share the link.
    emit(
        &progress,
        Progress::Started {
            stage: Stage::Download,
        },
    );
    let download_url = base.http(&config.granted(&format!(
        "{}?bytes={}",
        config.download_path, config.max_download_bytes
    )));
    let download =
        throughput::download(&client, &download_url, options.transfer_window, deadline).await;
    emit(
        &progress,
        Progress::Finished {
            stage: Stage::Download,
            ok: download.is_ok(),
        },
    );
    emit(
        &progress,
        Progress::Started {
            stage: Stage::Upload,
        },
    );
    let upload = if Instant::now() + Duration::from_millis(200) >= deadline {
        Err("skipped: the time limit was reached".to_owned())
    } else {
        throughput::upload(
            &client,
            &base.http(&config.granted(&config.upload_path)),
            options.transfer_window,
            config.max_upload_bytes,
            deadline,
        )
        .await
    };
    emit(
        &progress,
        Progress::Finished {
            stage: Stage::Upload,
            ok: upload.is_ok(),
        },
    );

    let turn_of = |t: TurnTransport| {
        let mut checks = turn_checks
            .iter()
            .filter(|c| c.transport == Some(t))
            .peekable();
        checks.peek()?;
        Some(checks.any(|c| c.ok))
    };
    let reachability = Reachability {
        udp: udp_result.is_ok(),
        // The configuration came over HTTP, so TCP works; the WebSocket says whether
        // long-lived connections do too.
        tcp: ws_result.is_ok(),
        turn_udp: turn_of(TurnTransport::Udp),
        turn_tcp: turn_of(TurnTransport::Tcp),
        turn_tls: turn_of(TurnTransport::Tls),
    };
    let figures = Figures {
        rtt_ms: udp_result
            .as_ref()
            .ok()
            .map(|u| u.rtt_ms)
            .or_else(|| ws_result.as_ref().ok().map(|w| w.rtt_ms)),
        jitter_ms: udp_result.as_ref().ok().map(|u| u.jitter_ms),
        loss_pct: udp_result.as_ref().ok().map(|u| u.loss_pct),
        download_kbps: download.as_ref().ok().map(|t| t.kbps),
        upload_kbps: upload.as_ref().ok().map(|t| t.kbps),
        udp_ok: udp_result.is_ok(),
        turn_ok: (!turn_checks.is_empty()).then(|| turn_checks.iter().any(|c| c.ok)),
    };
    let (grade, advice) = grade::grade(&figures);
    Ok(Report {
        server: base.http(""),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        udp: Outcome::from_result(udp_result),
        websocket: Outcome::from_result(ws_result),
        download: Outcome::from_result(download),
        upload: Outcome::from_result(upload),
        turn: turn_checks,
        reachability,
        grade,
        advice,
    })
}

/// What a silent (black-holed or firewalled) address looks like from here.
const NO_ANSWER: &str = "no answer in time (a firewall may be dropping the traffic)";

async fn fetch_config(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    deadline: Instant,
) -> Result<ServerConfig, ClientError> {
    let unreachable = |reason: String| ClientError::Unreachable {
        url: url.to_owned(),
        reason,
    };
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = tokio::time::timeout_at(deadline, request.send())
        .await
        .map_err(|_| unreachable(NO_ANSWER.to_owned()))?
        .map_err(|e| {
            if e.is_timeout() {
                unreachable(NO_ANSWER.to_owned())
            } else if tls_failure(&e) {
                ClientError::TlsHandshake {
                    url: url.to_owned(),
                    reason: describe_reqwest(&e),
                }
            } else {
                unreachable(describe_reqwest(&e))
            }
        })?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        // Token mode: the server says why in the protocol's words (`token_required`,
        // `token_expired`…).
        #[derive(Deserialize)]
        struct Refusal {
            code: ErrorCode,
            message: String,
        }
        let text = tokio::time::timeout_at(deadline, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return Err(match serde_json::from_str::<Refusal>(&text) {
            Ok(refusal) => ClientError::Rejected {
                code: refusal.code,
                message: refusal.message,
            },
            Err(_) => ClientError::Rejected {
                code: ErrorCode::TokenRequired,
                message: "the server runs network tests only for holders of a join token"
                    .to_owned(),
            },
        });
    }
    if !response.status().is_success() {
        return Err(ClientError::BadAnswer {
            url: url.to_owned(),
            reason: format!(
                "HTTP {} (is this a Huddle server with network tests enabled?)",
                response.status()
            ),
        });
    }
    let text = tokio::time::timeout_at(deadline, response.text())
        .await
        .map_err(|_| unreachable("the answer did not arrive in time".to_owned()))?
        .map_err(|e| unreachable(describe_reqwest(&e)))?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadAnswer {
        url: url.to_owned(),
        reason: format!("not a network-test configuration: {e}"),
    })
}

/// Whether a request failed at the TLS handshake: the server was reached but no secure
/// connection could be made (an untrusted certificate, or no TLS on the other side). The TLS
/// library's error sits somewhere in the chain of causes, possibly inside `io::Error`s,
/// whose `source` skips what they wrap.
fn tls_failure(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() {
            return true;
        }
        source = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    false
}

/// reqwest's error with its causes, which carry the useful part ("connection refused").
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() -> Result<(), ClientError> {
        let b = Base::parse("ws://127.0.0.1:7880/v1/ws")?;
        assert_eq!(b.http("/x"), "http://127.0.0.1:7880/x");
        let b = Base::parse("https://meet.example.com")?;
        assert_eq!(b.ws("/y"), "wss://meet.example.com:443/y");
        let b = Base::parse("http://[::1]:9000")?;
        assert_eq!(b.http(""), "http://[::1]:9000");
        for bad in [
            "meet.example.com",
            "ftp://x",
            "http://",
            "http://x:99999",
            "http://u@x",
        ] {
            assert!(Base::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
