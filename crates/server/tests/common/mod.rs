//! Test harness shared by the integration tests: starting a server on 127.0.0.1:0 and a small
//! WebSocket client that speaks the protocol.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use huddle_proto::{
    decode_server, Action, ClientMessage, ErrorCode, Join, MediaEvent, Member, MemberUpdate,
    ParticipantId, RequestId, Resume, ServerEvent, ServerMessage, Welcome, PROTOCOL_VERSION,
};
use huddle_server::{AuthMode, Server, ServerConfig, ServerHandle};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Upper bound for any single wait, so a broken server fails a test instead of hanging it.
/// Not a performance assertion: healthy runs answer in milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub const SECRET: &[u8] = b"integration-test-secret-0123456789";

pub async fn start_open() -> TestResult<ServerHandle> {
    Ok(Server::start(ServerConfig::open_loopback()).await?)
}

pub async fn start_jwt() -> TestResult<ServerHandle> {
    let mut config = ServerConfig::open_loopback();
    config.auth = AuthMode::Jwt {
        secret: SECRET.to_vec(),
    };
    Ok(Server::start(config).await?)
}

pub async fn start_with(config: ServerConfig) -> TestResult<ServerHandle> {
    Ok(Server::start(config).await?)
}

pub fn join_message(session: &str, name: &str) -> Join {
    Join {
        protocol_version: PROTOCOL_VERSION,
        session_name: session.to_owned(),
        display_name: name.to_owned(),
        passcode: None,
        token: None,
        resume: None,
        audio_muted: false,
        video_on: false,
        idle_timeout_mins: None,
    }
}

/// The result of a request: `Ok` or the error's code and message.
pub type Answer = Result<(), (ErrorCode, String)>;

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for something else, in arrival order.
    pending: VecDeque<ServerMessage>,
    next_id: u64,
    next_nonce: u64,
    /// The members this client knows, from its welcome and the batches since.
    roster: BTreeMap<ParticipantId, Member>,
    /// Unless `raw`, each `members_changed` batch is read as the per-member changes it
    /// carries (`joined`, `updated`, `left`, worked out against `roster`), so tests can wait
    /// for one member's change; these wait here to be read.
    unfolded: VecDeque<ServerMessage>,
    raw: bool,
}

impl Client {
    fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        Client {
            ws,
            pending: VecDeque::new(),
            next_id: 1,
            next_nonce: 1,
            roster: BTreeMap::new(),
            unfolded: VecDeque::new(),
            raw: false,
        }
    }

    /// Reads `members_changed` batches as they come instead of as per-member changes.
    pub fn raw(&mut self) {
        self.raw = true;
    }

    /// The members this client knows now (from its welcome and the batches read so far).
    pub fn roster(&self) -> Vec<Member> {
        self.roster.values().cloned().collect()
    }

    fn know(&mut self, members: &[Member]) {
        for m in members {
            self.roster.insert(m.id, m.clone());
        }
    }

    /// The per-member changes one batch carries, applied to the roster.
    fn unfold(&mut self, event: ServerEvent) -> Vec<ServerEvent> {
        let ServerEvent::MembersChanged {
            members,
            updated,
            left,
            ..
        } = event
        else {
            return vec![event];
        };
        let mut out = Vec::new();
        for m in members {
            match self.roster.insert(m.id, m.clone()) {
                None => out.push(ServerEvent::Joined { member: m }),
                Some(old) => {
                    let changes = diff(&old, &m);
                    if !changes.is_empty() {
                        out.push(ServerEvent::Updated {
                            participant: m.id,
                            changes,
                        });
                    }
                }
            }
        }
        for change in updated {
            if let Some(m) = self.roster.get_mut(&change.participant) {
                m.apply(&change.changes);
            }
            out.push(ServerEvent::Updated {
                participant: change.participant,
                changes: change.changes,
            });
        }
        for d in left {
            self.roster.remove(&d.participant);
            out.push(ServerEvent::Left {
                participant: d.participant,
                reason: d.reason,
            });
        }
        out
    }

    pub async fn connect(url: &str) -> TestResult<Client> {
        let (ws, _) =
            tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url)).await??;
        Ok(Client::over(ws))
    }

    /// Connects from the loopback address `source` (any of 127.0.0.0/8), so that tests can
    /// play several addresses.
    pub async fn connect_from(url: &str, source: std::net::IpAddr) -> TestResult<Client> {
        let port = url
            .rsplit(':')
            .next()
            .and_then(|rest| rest.split('/').next())
            .ok_or("no port in the URL")?
            .parse::<u16>()?;
        let stream = connect_tcp_from(source, ([127, 0, 0, 1], port).into()).await?;
        let (ws, _) = tokio::time::timeout(
            PATIENCE,
            tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
        )
        .await??;
        Ok(Client::over(ws))
    }

    /// Connects and joins; returns the welcome.
    pub async fn join(url: &str, join: Join) -> TestResult<(Client, Welcome)> {
        let mut client = Client::connect(url).await?;
        client.send(&ClientMessage::Join(join)).await?;
        match client.recv().await? {
            ServerMessage::Welcome(welcome) => {
                client.know(&welcome.members);
                client.know(&welcome.audience.members);
                // A server that forwards media says how to reach it right after the welcome.
                match client.recv().await? {
                    ServerMessage::Media {
                        media: MediaEvent::Ready { .. },
                    } => {}
                    other => return Err(format!("expected media ready, got {other:?}").into()),
                }
                Ok((client, welcome))
            }
            other => Err(format!("expected welcome, got {other:?}").into()),
        }
    }

    /// Connects and joins an open-mode server.
    pub async fn join_open(url: &str, session: &str, name: &str) -> TestResult<(Client, Welcome)> {
        Client::join(url, join_message(session, name)).await
    }

    /// Connects, joins, and expects a refusal; returns its code and message.
    pub async fn join_refused(url: &str, join: Join) -> TestResult<(ErrorCode, String)> {
        let mut client = Client::connect(url).await?;
        client.send(&ClientMessage::Join(join)).await?;
        match client.recv().await? {
            ServerMessage::Error { code, message, .. } => {
                client.expect_closed().await?;
                Ok((code, message))
            }
            other => Err(format!("expected an error, got {other:?}").into()),
        }
    }

    pub async fn send(&mut self, message: &ClientMessage) -> TestResult {
        let text = serde_json::to_string(message)?;
        self.send_raw(text).await
    }

    pub async fn send_raw(&mut self, text: String) -> TestResult {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    pub async fn send_frame(&mut self, frame: Message) -> TestResult {
        self.ws.send(frame).await?;
        Ok(())
    }

    /// Next message from the server (buffered ones first).
    pub async fn recv(&mut self) -> TestResult<ServerMessage> {
        if let Some(message) = self.pending.pop_front() {
            return Ok(message);
        }
        self.read().await
    }

    async fn read(&mut self) -> TestResult<ServerMessage> {
        if let Some(message) = self.unfolded.pop_front() {
            return Ok(message);
        }
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .map_err(|_| "no message from the server in time")?
                .ok_or("connection closed")??;
            match frame {
                Message::Text(text) => {
                    let message = decode_server(text.as_str())?;
                    match message {
                        ServerMessage::Event { event } if !self.raw => {
                            for event in self.unfold(event) {
                                self.unfolded.push_back(ServerMessage::Event { event });
                            }
                            if let Some(message) = self.unfolded.pop_front() {
                                return Ok(message);
                            }
                        }
                        ServerMessage::Resync(resync) => {
                            self.roster.clear();
                            self.know(&resync.members);
                            self.know(&resync.audience.members);
                            return Ok(ServerMessage::Resync(resync));
                        }
                        other => return Ok(other),
                    }
                }
                Message::Close(frame) => return Err(format!("closed by server: {frame:?}").into()),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                Message::Binary(_) => return Err("server sent a binary frame".into()),
            }
        }
    }

    /// Sends a request and waits for its answer; other messages stay buffered.
    pub async fn request(&mut self, action: Action) -> TestResult<Answer> {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.send(&ClientMessage::Request { id, action }).await?;
        loop {
            match self.read().await? {
                ServerMessage::Ok { id: got } if got == id => return Ok(Ok(())),
                ServerMessage::Error {
                    id: Some(got),
                    code,
                    message,
                } if got == id => return Ok(Err((code, message))),
                other => self.pending.push_back(other),
            }
        }
    }

    /// Next event, skipping nothing: any non-event message is an error.
    pub async fn event(&mut self) -> TestResult<ServerEvent> {
        match self.recv().await? {
            ServerMessage::Event { event } => Ok(event),
            other => Err(format!("expected an event, got {other:?}").into()),
        }
    }

    /// Waits until this client has heard of member `id` (roster changes come in batches: a
    /// member who joins and acts within one batch arrives with the acts folded in, so a test
    /// that wants to see each act waits for the member first). Events before are dropped.
    pub async fn knows(&mut self, id: ParticipantId) -> TestResult {
        if self.roster.contains_key(&id) {
            return Ok(());
        }
        self.event_where(|e| {
            matches!(e, ServerEvent::Joined { member } if member.id == id).then_some(())
        })
        .await
    }

    /// Reads events until one matches `pick`; returns it. Events before it are dropped.
    pub async fn event_where<T>(
        &mut self,
        mut pick: impl FnMut(&ServerEvent) -> Option<T>,
    ) -> TestResult<T> {
        loop {
            if let ServerMessage::Event { event } = self.recv().await? {
                if let Some(found) = pick(&event) {
                    return Ok(found);
                }
            }
        }
    }

    /// Proves the connection is alive and that nothing arrived in the meantime: a ping must be
    /// answered by its pong with no other message before it. Returns what arrived if anything.
    pub async fn quiet(&mut self) -> TestResult<Vec<ServerMessage>> {
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        self.send(&ClientMessage::Ping { nonce }).await?;
        let mut unexpected: Vec<ServerMessage> = self.pending.drain(..).collect();
        loop {
            match self.read().await? {
                ServerMessage::Pong { nonce: got } if got == nonce => return Ok(unexpected),
                other => unexpected.push(other),
            }
        }
    }

    /// Waits until the server closes the connection; returns the close code if one was sent.
    pub async fn expect_closed(&mut self) -> TestResult<Option<u16>> {
        self.expect_closed_within(PATIENCE).await
    }

    /// [`Client::expect_closed`] with another patience.
    pub async fn expect_closed_within(&mut self, within: Duration) -> TestResult<Option<u16>> {
        loop {
            match tokio::time::timeout(within, self.ws.next())
                .await
                .map_err(|_| "connection not closed in time")?
            {
                None => return Ok(None),
                Some(Err(_)) => return Ok(None),
                Some(Ok(Message::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(Message::Text(text))) => {
                    self.pending.push_back(decode_server(text.as_str())?);
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Messages buffered so far.
    pub fn take_pending(&mut self) -> Vec<ServerMessage> {
        self.pending.drain(..).collect()
    }

    /// Drops the TCP connection without a close handshake, like a lost network.
    pub fn drop_connection(self) {
        drop(self.ws);
    }
}

pub fn resume_join(session: &str, welcome: &Welcome) -> Join {
    Join {
        resume: Some(Resume {
            participant_id: welcome.participant_id,
            resume_key: welcome.resume_key.clone(),
        }),
        ..join_message(session, "again")
    }
}

/// `GET /healthz` as JSON, over a raw HTTP/1.1 request (no HTTP client dependency needed).
pub async fn health(handle: &ServerHandle) -> TestResult<serde_json::Value> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = TcpStream::connect(handle.local_addr()).await?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        handle.local_addr()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response)).await??;
    let text = String::from_utf8(response)?;
    if !text.starts_with("HTTP/1.1 200") {
        return Err(format!("health answered {text}").into());
    }
    let body = text.split("\r\n\r\n").nth(1).ok_or("no body")?;
    Ok(serde_json::from_str(body)?)
}

/// Waits until `done` holds, checking every 10 ms for at most [`PATIENCE`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) -> TestResult {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("timed out waiting until {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// A TCP connection to `server` from the loopback address `source`.
pub async fn connect_tcp_from(
    source: std::net::IpAddr,
    server: std::net::SocketAddr,
) -> TestResult<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    Ok(tokio::time::timeout(PATIENCE, socket.connect(server)).await??)
}

/// Whether the server closes `stream` within `within`: reads (dropping what arrives) until
/// the end of the stream or an error.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 1024];
    let end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, end).await.is_ok()
}

/// A self-signed certificate for `localhost`, written to PEM files in a directory of its own
/// that goes away with it.
pub struct TestCert {
    pub files: huddle_server::TlsFiles,
    pub der: rustls_pki_types::CertificateDer<'static>,
    dir: std::path::PathBuf,
}

impl TestCert {
    pub fn new(name: &str) -> TestResult<TestCert> {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        let dir = std::env::temp_dir().join(format!("huddle-server-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let files = huddle_server::TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, certified.cert.pem())?;
        std::fs::write(&files.key, certified.signing_key.serialize_pem())?;
        Ok(TestCert {
            files,
            der: certified.cert.der().clone(),
            dir,
        })
    }

    /// Connects to `server` over WSS, trusting this certificate, and joins `session`; returns
    /// the first message.
    pub async fn join(
        &self,
        server: &ServerHandle,
        session: &str,
        name: &str,
    ) -> TestResult<ServerMessage> {
        use tokio_rustls::rustls;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone())?;
        let client_config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client_config));
        let tcp = TcpStream::connect(server.local_addr()).await?;
        let tls = tokio::time::timeout(
            PATIENCE,
            connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp),
        )
        .await??;
        let url = format!("wss://localhost:{}/v1/ws", server.local_addr().port());
        let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await?;
        let join = ClientMessage::Join(join_message(session, name));
        ws.send(Message::text(serde_json::to_string(&join)?))
            .await?;
        let reply = tokio::time::timeout(PATIENCE, ws.next())
            .await?
            .ok_or("closed")??;
        Ok(decode_server(reply.to_text()?)?)
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        // A leftover scratch directory is harmless.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The fields of `new` that differ from `old`.
pub fn diff(old: &Member, new: &Member) -> MemberUpdate {
    fn field<T: PartialEq + Clone>(old: &T, new: &T) -> Option<T> {
        (old != new).then(|| new.clone())
    }
    MemberUpdate {
        display_name: field(&old.display_name, &new.display_name),
        role: field(&old.role, &new.role),
        audio_muted: field(&old.audio_muted, &new.audio_muted),
        video_on: field(&old.video_on, &new.video_on),
        sharing: field(&old.sharing, &new.sharing),
        talking: field(&old.talking, &new.talking),
        hand_raised: field(&old.hand_raised, &new.hand_raised),
        deafened: field(&old.deafened, &new.deafened),
        connection: field(&old.connection, &new.connection),
    }
}
