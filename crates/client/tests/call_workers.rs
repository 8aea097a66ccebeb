//! Media forwarding on several workers sharing one UDP port: sessions are spread over the
//! workers, each session's media stays within it, and datagrams read by a worker that does
//! not own their connection reach the one that does, with either way of sharing the port.

mod call_support;

use std::time::Duration;

use call_support::{all_connected, eventually, join, options, Client, TestResult};
use huddle_server::sfu::PortSharing;
use huddle_server::{Server, ServerConfig};

/// Media tests measure real-time behaviour: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn two_sessions_on_two_workers(sharing: PortSharing) -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut config = ServerConfig::open_loopback();
    config.media.workers = 2;
    config.media.port_sharing = sharing;
    let server = Server::start(config).await?;
    let url = server.http_url();
    let ann = join(options(&url, "north", "Ann", 11)).await?;
    let bob = join(options(&url, "north", "Bob", 22)).await?;
    let cy = join(options(&url, "south", "Cy", 33)).await?;
    let dee = join(options(&url, "south", "Dee", 44)).await?;
    let eve = join(options(&url, "south", "Eve", 55)).await?;
    all_connected(&[&ann, &bob, &cy, &dee, &eve]).await?;

    let pairs: [(&Client, &Client); 4] = [(&ann, &bob), (&bob, &ann), (&cy, &eve), (&eve, &dee)];
    for (me, other) in pairs {
        eventually(
            &format!("{} sees 30 frames of {}", me.id, other.id),
            Duration::from_secs(20),
            || me.frames_from(other.id).len() >= 30,
        )
        .await?;
    }
    // Nothing crosses from one session to the other: members are numbered per session, and
    // the north has no third member whose video could arrive.
    for me in [&ann, &bob] {
        assert!(
            me.frames_from(eve.id).is_empty(),
            "{} got video of the south's third member",
            me.id
        );
    }

    let workers = server.media_worker_stats();
    eprintln!("{sharing}: {workers:?}");
    assert_eq!(workers.len(), 2);
    for ((i, w), members) in workers.iter().enumerate().zip([2, 3]) {
        assert_eq!(
            w.peers, members,
            "worker {i} holds one session's connections"
        );
        assert!(w.rtp_out > 100, "worker {i} forwards: {w:?}");
        assert_eq!(w.handoff_dropped, 0, "worker {i}");
    }
    if sharing == PortSharing::OneReader {
        // Only the first worker reads: everything of the second's came through it.
        let handed = workers.first().map_or(0, |w| w.handed_on);
        let second = workers.get(1).map_or(0, |w| w.rtp_in);
        assert!(
            handed >= second && second > 100,
            "worker 0 handed on {handed} datagrams for worker 1, which read {second} RTP packets"
        );
        assert_eq!(workers.get(1).map(|w| w.handed_on), Some(0));
    }
    let unrouted: u64 = workers.iter().map(|w| w.unrouted).sum();
    assert_eq!(unrouted, 0, "every datagram found its connection");
    for client in [ann, bob, cy, dee, eve] {
        client.call.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_spread_over_workers_sharing_the_port_by_reuse_port() -> TestResult {
    two_sessions_on_two_workers(PortSharing::ReusePort).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_spread_over_workers_with_one_reader() -> TestResult {
    two_sessions_on_two_workers(PortSharing::OneReader).await
}
