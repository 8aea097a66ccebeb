//! Download and upload throughput over HTTP(S), as a call's media would see TCP-friendly
//! bandwidth. Each direction runs for a short window; the rate is taken over the part of the
//! window after the start-up burst (slow start, the shaper's bucket, socket buffers), so it
//! reflects the sustained rate.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// What one direction measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Sustained rate, kbit/s.
    pub kbps: f64,
    /// Bytes moved in the whole window.
    pub bytes: u64,
    /// Length of the whole window, ms.
    pub duration_ms: f64,
    /// True when the transfer ended at the server's size cap before the window did, so the
    /// link may be faster than reported.
    pub capped: bool,
}

/// Part of the window left out as start-up burst.
const WARMUP_FRACTION: f64 = 0.25;

/// Sustained rate in kbit/s from `(ms since start, bytes so far)` points.
pub fn steady_kbps(points: &[(f64, u64)]) -> Option<f64> {
    let &(end_ms, end_bytes) = points.last()?;
    let from = points
        .iter()
        .find(|(ms, _)| *ms >= end_ms * WARMUP_FRACTION)
        .copied()
        .unwrap_or((0.0, 0));
    let (span_ms, span_bytes) = if end_ms - from.0 >= 50.0 {
        (end_ms - from.0, end_bytes.saturating_sub(from.1))
    } else {
        // Too short to leave anything out (a fast link finished at once).
        (end_ms, end_bytes)
    };
    if span_ms <= 0.0 {
        return None;
    }
    Some(span_bytes as f64 * 8.0 / span_ms)
}

/// Downloads from `url` for `window` (or until `deadline`).
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    window: Duration,
    deadline: Instant,
) -> Result<Throughput, String> {
    let end = (Instant::now() + window).min(deadline);
    let mut response = tokio::time::timeout_at(end, client.get(url).send())
        .await
        .map_err(|_| "the download did not start in time".to_owned())?
        .map_err(|e| format!("download request failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("download refused: HTTP {}", response.status()));
    }
    let mut start: Option<Instant> = None;
    let mut bytes = 0u64;
    let mut points = Vec::new();
    let mut finished = false;
    loop {
        match tokio::time::timeout_at(end, response.chunk()).await {
            Err(_) => break,
            Ok(Ok(Some(chunk))) => {
                let now = Instant::now();
                let first = *start.get_or_insert(now);
                bytes += chunk.len() as u64;
                points.push((now.duration_since(first).as_secs_f64() * 1000.0, bytes));
            }
            Ok(Ok(None)) => {
                finished = true;
                break;
            }
            Ok(Err(e)) => return Err(format!("download failed: {e}")),
        }
    }
    let kbps = steady_kbps(&points).ok_or_else(|| "no data was downloaded".to_owned())?;
    Ok(Throughput {
        kbps,
        bytes,
        duration_ms: points.last().map(|p| p.0).unwrap_or(0.0),
        capped: finished,
    })
}

/// What the server says about an upload.
#[derive(Debug, Deserialize)]
struct UploadReport {
    bytes: u64,
    duration_ms: f64,
    checkpoints: Vec<(f64, u64)>,
    capped: bool,
}

/// Chunk of zeros the upload body repeats.
static CHUNK: [u8; 16 * 1024] = [0; 16 * 1024];

/// Uploads to `url` for `window` (at most `max_bytes`), and takes the rate from the server's
/// own timing of what arrived.
pub async fn upload(
    client: &reqwest::Client,
    url: &str,
    window: Duration,
    max_bytes: u64,
    deadline: Instant,
) -> Result<Throughput, String> {
    let stop = (Instant::now() + window).min(deadline);
    let body = futures_util::stream::unfold(0u64, move |sent| async move {
        if Instant::now() >= stop || sent >= max_bytes {
            return None;
        }
        let chunk: &'static [u8] = &CHUNK;
        Some((Ok::<_, std::io::Error>(chunk), sent + chunk.len() as u64))
    });
    let request = client
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let response = tokio::time::timeout_at(deadline, request)
        .await
        .map_err(|_| "the upload did not finish in time".to_owned())?
        .map_err(|e| format!("upload failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("upload refused: HTTP {}", response.status()));
    }
    let report: UploadReport = tokio::time::timeout_at(deadline, response.json())
        .await
        .map_err(|_| "the upload report did not arrive in time".to_owned())?
        .map_err(|e| format!("unreadable upload report: {e}"))?;
    let kbps = steady_kbps(&report.checkpoints)
        .ok_or_else(|| "the server received no upload data".to_owned())?;
    Ok(Throughput {
        kbps,
        bytes: report.bytes,
        duration_ms: report.duration_ms,
        capped: report.capped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_out_the_burst() {
        // 100 kB at once, then 250 kB/s (2 Mbit/s) for two seconds.
        let mut points = vec![(1.0, 100_000)];
        for i in 1..=20u64 {
            points.push((i as f64 * 100.0, 100_000 + i * 25_000));
        }
        let kbps = steady_kbps(&points).expect("points");
        assert!((kbps - 2000.0).abs() < 1.0, "{kbps}");
        assert!(steady_kbps(&[]).is_none());
    }
}
