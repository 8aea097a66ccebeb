//! Test support: network namespaces joined by veth pairs, the real server started inside
//! one, fault injection (nftables random drop, tbf rate limits) and a userspace delay relay.
//! Everything created here is removed by Drop guards, also when a test fails.
#![allow(dead_code)] // Each test file uses a different part.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use std::time::Instant as StdInstant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails with a clear message when not root: namespace tests must not pass silently.
pub fn require_root() -> Result<(), BoxError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("this test creates network namespaces and needs root (run as root)".into());
    }
    Ok(())
}

/// Runs a command, failing with its output when it fails.
pub fn sh(args: &[&str]) -> Result<(), BoxError> {
    let out = Command::new(args[0]).args(&args[1..]).output()?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace with a veth pair to the root namespace: host side `.1`, namespace side `.2`
/// of 10.201.N.0/24.
pub struct Netns {
    pub name: String,
    pub host_if: String,
    pub ns_if: String,
    pub host_ip: Ipv4Addr,
    pub ns_ip: Ipv4Addr,
}

impl Netns {
    pub fn new() -> Result<Self, BoxError> {
        require_root()?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = (std::process::id() % 1000) * 10 + n;
        let subnet = (std::process::id().wrapping_mul(7) + n * 13) % 250 + 1;
        let ns = Self {
            name: format!("hnt{id}"),
            host_if: format!("hnt{id}h"),
            ns_if: format!("hnt{id}n"),
            host_ip: Ipv4Addr::new(10, 201, subnet as u8, 1),
            ns_ip: Ipv4Addr::new(10, 201, subnet as u8, 2),
        };
        // Leftovers of a crashed earlier run with the same name would make `add` fail.
        let _ = sh(&["ip", "netns", "del", &ns.name]);
        sh(&["ip", "netns", "add", &ns.name])?;
        // From here on Drop cleans up.
        sh(&[
            "ip",
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns.ns_if,
        ])?;
        sh(&["ip", "link", "set", &ns.ns_if, "netns", &ns.name])?;
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.host_ip),
            "dev",
            &ns.host_if,
        ])?;
        sh(&["ip", "link", "set", &ns.host_if, "up"])?;
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.ns_ip),
            "dev",
            &ns.ns_if,
        ])?;
        ns.exec(&["ip", "link", "set", &ns.ns_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Result<(), BoxError> {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        sh(&full)
    }

    /// Adds a base chain `name` on `hook` with `policy` to the namespace's fault table
    /// (creating the table the first time).
    fn fault_chain(&self, name: &str, hook: &str, policy: &str) -> Result<(), BoxError> {
        self.exec(&["nft", "add", "table", "inet", "hntfault"])?;
        self.exec(&[
            "nft",
            "add",
            "chain",
            "inet",
            "hntfault",
            name,
            &format!("{{ type filter hook {hook} priority 0 ; policy {policy} ; }}"),
        ])
    }

    /// Adds a rule to a fault chain.
    fn fault_rule(&self, chain: &str, rule: &[&str]) -> Result<(), BoxError> {
        let mut args = vec!["nft", "add", "rule", "inet", "hntfault", chain];
        args.extend_from_slice(rule);
        self.exec(&args)
    }

    /// Drops `pct` percent of packets arriving in the namespace (the way up to the server).
    pub fn drop_incoming(&self, pct: u32) -> Result<(), BoxError> {
        self.fault_chain("in", "input", "accept")?;
        let pct = pct.to_string();
        self.fault_rule("in", &["numgen", "random", "mod", "100", "<", &pct, "drop"])
    }

    /// Drops `pct` percent of packets in each direction at the namespace (up and down).
    pub fn drop_both(&self, pct: u32) -> Result<(), BoxError> {
        self.drop_incoming(pct)?;
        self.fault_chain("out", "output", "accept")?;
        let pct = pct.to_string();
        self.fault_rule(
            "out",
            &["numgen", "random", "mod", "100", "<", &pct, "drop"],
        )
    }

    /// Drops everything arriving in the namespace: a black hole.
    pub fn drop_all_incoming(&self) -> Result<(), BoxError> {
        self.fault_chain("in", "input", "drop")
    }

    /// Cuts the namespace off in both directions (a black hole), until [`Netns::heal`].
    pub fn cut(&self) -> Result<(), BoxError> {
        self.fault_chain("in", "input", "drop")?;
        self.fault_chain("out", "output", "drop")
    }

    /// Removes every fault rule.
    pub fn heal(&self) -> Result<(), BoxError> {
        self.exec(&["nft", "delete", "table", "inet", "hntfault"])
    }

    /// Drops UDP arriving in the namespace.
    pub fn drop_udp_incoming(&self) -> Result<(), BoxError> {
        self.fault_chain("in", "input", "accept")?;
        self.fault_rule("in", &["meta", "l4proto", "udp", "drop"])
    }

    /// Limits the namespace's sending side (downloads from the server) to `rate`.
    pub fn limit_ns_egress(&self, rate: &str) -> Result<(), BoxError> {
        self.exec(&[
            "tc",
            "qdisc",
            "add",
            "dev",
            &self.ns_if,
            "root",
            "tbf",
            "rate",
            rate,
            "burst",
            "32kbit",
            "latency",
            "50ms",
        ])
    }

    /// Limits the root namespace's sending side towards the namespace (uploads) to `rate`.
    pub fn limit_host_egress(&self, rate: &str) -> Result<(), BoxError> {
        sh(&[
            "tc",
            "qdisc",
            "add",
            "dev",
            &self.host_if,
            "root",
            "tbf",
            "rate",
            rate,
            "burst",
            "32kbit",
            "latency",
            "50ms",
        ])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its veth end, which deletes the peer and the
        // qdiscs and nftables rules with them.
        let _ = sh(&["ip", "netns", "del", &self.name]);
        let _ = sh(&["ip", "link", "del", &self.host_if]);
    }
}

/// The real server, running on its own thread inside a namespace.
pub struct ServerInNs {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerInNs {
    pub fn start(ns: &Netns, config: huddle_server::ServerConfig) -> Result<Self, BoxError> {
        let path = format!("/var/run/netns/{}", ns.name);
        let (tx, rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let entered = (|| -> Result<tokio::runtime::Runtime, String> {
                let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
                use std::os::fd::AsRawFd as _;
                // SAFETY: a valid namespace fd; setns only changes this thread's namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc != 0 {
                    return Err(format!("setns: {}", std::io::Error::last_os_error()));
                }
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
            })();
            let runtime = match entered {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                match huddle_server::Server::start(config).await {
                    Ok(handle) => {
                        let _ = tx.send(Ok(handle.http_url()));
                        let _ = stop_rx.await;
                        handle.shutdown().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let url = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| format!("server thread: {e}"))??;
        Ok(Self {
            url,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for ServerInNs {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An open-mode server configuration bound to `ip`.
pub fn server_config(ip: IpAddr) -> huddle_server::ServerConfig {
    let mut config = huddle_server::ServerConfig::open_loopback();
    config.bind = SocketAddr::new(ip, 0);
    config
}

/// A relay that delays every packet and every TCP segment by `delay` each way. It listens on
/// `listen_ip` with the same port numbers as `target` uses for TCP and UDP, so the URL and the
/// UDP port the server announces both work through it.
pub async fn start_delay_relay(
    listen_ip: IpAddr,
    target: SocketAddr,
    udp_port: u16,
    delay: Duration,
) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
    let tcp = TcpListener::bind(SocketAddr::new(listen_ip, target.port())).await?;
    let udp = UdpSocket::bind(SocketAddr::new(listen_ip, udp_port)).await?;
    let udp_target = SocketAddr::new(target.ip(), udp_port);
    let tcp_task = tokio::spawn(async move {
        while let Ok((client, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(delayed_pipe(cr, sw, delay));
                tokio::spawn(delayed_pipe(sr, cw, delay));
            });
        }
    });
    let udp_task = tokio::spawn(async move {
        let udp = std::sync::Arc::new(udp);
        // One upstream socket per client, created on its first packet.
        let mut upstreams: std::collections::HashMap<
            SocketAddr,
            mpsc::UnboundedSender<(Instant, Vec<u8>)>,
        > = std::collections::HashMap::new();
        let mut buf = vec![0u8; 65536];
        while let Ok((len, from)) = udp.recv_from(&mut buf).await {
            let due = Instant::now() + delay;
            let tx = match upstreams.get(&from) {
                Some(tx) => tx.clone(),
                None => {
                    let Ok(up) = UdpSocket::bind(SocketAddr::new(target.ip(), 0)).await else {
                        continue;
                    };
                    if up.connect(udp_target).await.is_err() {
                        continue;
                    }
                    let up = std::sync::Arc::new(up);
                    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
                    let sender = up.clone();
                    tokio::spawn(async move {
                        while let Some((due, packet)) = rx.recv().await {
                            tokio::time::sleep_until(due).await;
                            let _ = sender.send(&packet).await;
                        }
                    });
                    let back = udp.clone();
                    tokio::spawn(async move {
                        let (btx, mut brx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
                        tokio::spawn(async move {
                            while let Some((due, packet)) = brx.recv().await {
                                tokio::time::sleep_until(due).await;
                                let _ = back.send_to(&packet, from).await;
                            }
                        });
                        let mut buf = vec![0u8; 65536];
                        while let Ok(len) = up.recv(&mut buf).await {
                            if btx
                                .send((Instant::now() + delay, buf[..len].to_vec()))
                                .is_err()
                            {
                                break;
                            }
                        }
                    });
                    upstreams.insert(from, tx.clone());
                    tx
                }
            };
            let _ = tx.send((due, buf[..len].to_vec()));
        }
    });
    Ok(vec![tcp_task, udp_task])
}

async fn delayed_pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, data)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&data).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 65536];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Runs the test against `url` with default options and prints the report.
pub async fn nettest(
    url: &str,
) -> Result<huddle_client::nettest::Report, huddle_client::ClientError> {
    let options = huddle_client::nettest::NettestOptions::new(url);
    let report =
        huddle_client::nettest::run(&options, None, tokio_util::sync::CancellationToken::new())
            .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(report)
}

/// |measured - expected| / expected, as a fraction.
pub fn rel_err(measured: f64, expected: f64) -> f64 {
    (measured - expected).abs() / expected
}

pub const SECRET: &str = "coturn-shared-secret-for-tests";

/// coturn with its own configuration in a temporary directory; stopped and removed on drop.
pub struct Coturn {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    pub tls_port: u16,
    pub cert_der: Vec<u8>,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both TCP and UDP on loopback.
pub fn free_port() -> Result<u16, BoxError> {
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

/// Starts coturn on loopback with the shared secret [`SECRET`]. It relays to loopback peers
/// too (the media server under test listens there).
pub fn start_coturn() -> Result<Coturn, BoxError> {
    if Command::new("turnserver").arg("--help").output().is_err() {
        return Err("coturn (turnserver) is not installed: apt-get install coturn".into());
    }
    let dir = std::env::temp_dir().join(format!("huddle-coturn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem())?;
    let port = free_port()?;
    let tls_port = free_port()?;
    let relay_base = 40000 + (std::process::id() % 200) as u16 * 100;
    let conf = format!(
        "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\ntls-listening-port={tls_port}\n\
         min-port={relay_base}\nmax-port={}\nuse-auth-secret\nstatic-auth-secret={SECRET}\n\
         realm=huddle.test\nallow-loopback-peers\ncert={}\npkey={}\nno-cli\nno-dtls\nno-tlsv1\nno-tlsv1_1\n\
         log-file=stdout\nsimple-log\npidfile={}\nuserdb={}\n",
        relay_base + 99,
        dir.join("cert.pem").display(),
        dir.join("key.pem").display(),
        dir.join("turnserver.pid").display(),
        dir.join("turndb").display(),
    );
    std::fs::write(dir.join("turnserver.conf"), conf)?;
    let child = Command::new("turnserver")
        .arg("-c")
        .arg(dir.join("turnserver.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let coturn = Coturn {
        child,
        dir,
        port,
        tls_port,
        cert_der: cert.cert.der().to_vec(),
    };
    // Ready when both listeners accept.
    let started = StdInstant::now();
    loop {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok();
        if ok {
            return Ok(coturn);
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("coturn did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
