//! The UDP echo stage: about a thousand small probes paced over two seconds to the server's
//! echo port, giving round-trip time, jitter and loss split into the way up and the way down.
//!
//! Each reply carries how many probes of this run the server had received when it answered,
//! so "the probe never arrived" and "the reply never came back" can be told apart.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::net::AbortOnDrop;

/// Size of a probe and of its reply.
pub const PROBE_LEN: usize = 32;
const MAGIC: [u8; 4] = *b"HNT1";
const KIND_PROBE: u8 = 1;
const KIND_REPLY: u8 = 2;

/// What the UDP echo stage measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UdpStats {
    /// Probes sent.
    pub sent: u32,
    /// Replies received.
    pub received: u32,
    /// Median round-trip time, ms.
    pub rtt_ms: f64,
    /// Smallest round-trip time, ms.
    pub rtt_min_ms: f64,
    /// 95th percentile round-trip time, ms.
    pub rtt_p95_ms: f64,
    /// Mean absolute difference between consecutive round-trip times, ms (the quantity the
    /// RFC 3550 interarrival jitter estimator tracks).
    pub jitter_ms: f64,
    /// Probes without a reply, percent of those sent.
    pub loss_pct: f64,
    /// Probes that did not reach the server, percent.
    pub loss_up_pct: f64,
    /// Replies that did not reach the client, percent of those the server sent.
    pub loss_down_pct: f64,
}

/// One reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Probe sequence number.
    pub seq: u32,
    /// Round-trip time.
    pub rtt: Duration,
    /// Probes of this run the server had received when it answered.
    pub server_count: u32,
}

/// Statistics from the replies to `sent` probes; `None` when nothing came back.
pub fn summarize(sent: u32, samples: &[Sample]) -> Option<UdpStats> {
    if samples.is_empty() || sent == 0 {
        return None;
    }
    let mut by_seq = samples.to_vec();
    by_seq.sort_by_key(|s| s.seq);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut rtts: Vec<f64> = by_seq.iter().map(|s| ms(s.rtt)).collect();
    let jitter = if by_seq.len() > 1 {
        by_seq
            .windows(2)
            .map(|w| (ms(w[1].rtt) - ms(w[0].rtt)).abs())
            .sum::<f64>()
            / (by_seq.len() - 1) as f64
    } else {
        0.0
    };
    rtts.sort_by(f64::total_cmp);
    let pick = |q: f64| rtts[((rtts.len() - 1) as f64 * q).round() as usize];
    let received = by_seq.len() as u32;
    // The reply with the highest count says how many probes up to its own had arrived.
    // `samples` is not empty (checked above), so neither is `by_seq`.
    let last = by_seq.iter().max_by_key(|s| (s.server_count, s.seq))?;
    let reached = f64::from(last.server_count.max(1));
    let up_window = f64::from(last.seq) + 1.0;
    let replies_in_window = by_seq.iter().filter(|s| s.seq <= last.seq).count() as f64;
    let pct = |lost: f64, of: f64| (100.0 * lost / of).clamp(0.0, 100.0);
    Some(UdpStats {
        sent,
        received,
        rtt_ms: pick(0.5),
        rtt_min_ms: rtts[0],
        rtt_p95_ms: pick(0.95),
        jitter_ms: jitter,
        loss_pct: pct(f64::from(sent) - f64::from(received), f64::from(sent)),
        loss_up_pct: pct(up_window - reached, up_window),
        loss_down_pct: pct(reached - replies_in_window, reached),
    })
}

fn encode_probe(run: u64, seq: u32, sent_us: u64) -> [u8; PROBE_LEN] {
    let mut out = [0u8; PROBE_LEN];
    out[..4].copy_from_slice(&MAGIC);
    out[4] = KIND_PROBE;
    out[8..16].copy_from_slice(&run.to_be_bytes());
    out[16..20].copy_from_slice(&seq.to_be_bytes());
    out[20..28].copy_from_slice(&sent_us.to_be_bytes());
    out
}

/// (seq, send time in µs, server count) of a reply to `run`, or `None` for anything else.
fn parse_reply(packet: &[u8], run: u64) -> Option<(u32, u64, u32)> {
    if packet.len() != PROBE_LEN || packet[..4] != MAGIC || packet[4] != KIND_REPLY {
        return None;
    }
    let be64 = |r: std::ops::Range<usize>| packet.get(r)?.try_into().ok().map(u64::from_be_bytes);
    let be32 = |r: std::ops::Range<usize>| packet.get(r)?.try_into().ok().map(u32::from_be_bytes);
    if be64(8..16)? != run {
        return None;
    }
    Some((be32(16..20)?, be64(20..28)?, be32(28..32)?))
}

/// How the stage is paced.
#[derive(Debug, Clone, Copy)]
pub struct UdpPlan {
    /// Probes to send.
    pub probes: u32,
    /// Time between probes.
    pub interval: Duration,
    /// Longest wait for late replies after the last probe.
    pub drain: Duration,
}

/// Runs the stage against `addr`, ending by `deadline`.
pub async fn run(
    addr: SocketAddr,
    plan: UdpPlan,
    run_id: u64,
    deadline: Instant,
) -> Result<UdpStats, String> {
    let local: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    // Connected, so the kernel reports "port unreachable" and filters other senders.
    socket
        .connect(addr)
        .await
        .map_err(|e| format!("cannot address {addr} over UDP: {e}"))?;
    let socket = Arc::new(socket);
    let start = Instant::now();
    let sent_count = Arc::new(AtomicU32::new(0));
    // Aborted when this future is dropped (cancelled), so no probe outlives the test.
    let mut sender = {
        let socket = socket.clone();
        let sent_count = sent_count.clone();
        AbortOnDrop(tokio::spawn(async move {
            for seq in 0..plan.probes {
                let at = start + plan.interval * seq;
                if at >= deadline {
                    break;
                }
                tokio::time::sleep_until(at).await;
                let now_us = start.elapsed().as_micros() as u64;
                // A send error (e.g. an ICMP error reported on this socket) loses this probe
                // only; it counts as sent so it shows as loss.
                let _ = socket.send(&encode_probe(run_id, seq, now_us)).await;
                sent_count.fetch_add(1, Ordering::Relaxed);
            }
        }))
    };
    let mut samples: Vec<Sample> = Vec::with_capacity(plan.probes as usize);
    let mut seen = vec![false; plan.probes as usize];
    let mut refused = false;
    let mut buf = [0u8; 64];
    let mut sending = true;
    let mut drain_until = deadline;
    loop {
        if !sending && samples.len() as u32 >= sent_count.load(Ordering::Relaxed) {
            break;
        }
        tokio::select! {
            finished = &mut sender.0, if sending => {
                sending = false;
                finished.map_err(|e| format!("probe sender failed: {e}"))?;
                let max_rtt = samples.iter().map(|s| s.rtt).max().unwrap_or_default();
                let drain = plan.drain.min(Duration::from_millis(300) + max_rtt * 2);
                drain_until = (Instant::now() + drain).min(deadline);
            }
            _ = tokio::time::sleep_until(drain_until) => {
                // Late replies after this count as lost; the overall deadline also ends
                // sending.
                sender.0.abort();
                break;
            }
            received = socket.recv(&mut buf) => {
                let now = start.elapsed();
                match received {
                    Ok(len) => {
                        let Some((seq, sent_us, count)) = parse_reply(&buf[..len], run_id) else {
                            continue;
                        };
                        let Some(slot) = seen.get_mut(seq as usize) else { continue };
                        if *slot {
                            continue;
                        }
                        *slot = true;
                        let rtt = now.saturating_sub(Duration::from_micros(sent_us));
                        samples.push(Sample { seq, rtt, server_count: count });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused = true,
                    Err(e) => return Err(format!("UDP receive failed: {e}")),
                }
            }
        }
    }
    let sent = sent_count.load(Ordering::Relaxed).max(samples.len() as u32);
    summarize(sent, &samples).ok_or_else(|| {
        if refused {
            format!(
                "nothing answers on UDP port {} (port unreachable)",
                addr.port()
            )
        } else {
            format!("no reply to {sent} UDP probes to {addr}: UDP may be blocked on this network")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u32, rtt_ms: u64, server_count: u32) -> Sample {
        Sample {
            seq,
            rtt: Duration::from_millis(rtt_ms),
            server_count,
        }
    }

    #[test]
    fn splits_loss_up_and_down() {
        // 100 probes; the server got 90 of them (every tenth lost on the way up) and 9 of
        // its 90 replies were lost on the way down.
        let mut samples = Vec::new();
        let mut count = 0;
        for seq in 0..100u32 {
            if seq % 10 == 3 {
                continue;
            }
            count += 1;
            if count % 10 == 5 {
                continue;
            }
            samples.push(sample(seq, 20, count));
        }
        let stats = summarize(100, &samples).expect("replies");
        assert_eq!(stats.received, 81);
        assert!((stats.loss_pct - 19.0).abs() < 1e-9);
        assert!((stats.loss_up_pct - 10.0).abs() < 1e-9, "{stats:?}");
        assert!((stats.loss_down_pct - 10.0).abs() < 1e-9, "{stats:?}");
        assert_eq!(stats.jitter_ms, 0.0);
    }

    #[test]
    fn jitter_and_percentiles() {
        let samples: Vec<Sample> = (0..10)
            .map(|i| sample(i, if i % 2 == 0 { 10 } else { 30 }, i + 1))
            .collect();
        let stats = summarize(10, &samples).expect("replies");
        assert!((stats.jitter_ms - 20.0).abs() < 1e-9);
        assert_eq!(stats.rtt_min_ms, 10.0);
        assert_eq!(stats.rtt_p95_ms, 30.0);
        assert!(summarize(10, &[]).is_none());
    }

    #[test]
    fn ignores_foreign_packets() {
        let mut reply = encode_probe(5, 1, 2);
        assert!(parse_reply(&reply, 5).is_none());
        reply[4] = KIND_REPLY;
        assert_eq!(parse_reply(&reply, 5), Some((1, 2, 0)));
        assert!(parse_reply(&reply, 6).is_none());
        assert!(parse_reply(&reply[..20], 5).is_none());
    }
}
