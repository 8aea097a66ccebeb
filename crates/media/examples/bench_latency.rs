//! Benchmark: audio path latency capture -> process -> encode -> decode -> jitter buffer ->
//! playout, excluding device buffers and the network.
//!
//! The chain runs on a simulated 10 ms clock: capture frame n is complete at (n+1)*10 ms,
//! is processed, encoded, "sent" with zero network delay, pushed into the jitter buffer,
//! and the frame the jitter buffer hands out at that tick starts playing at once. The
//! algorithmic latency is found by cross-correlating what was played with what was
//! captured; the compute time of one tick is measured and added.
//! Run: cargo run --release -p huddle-media --example bench_latency

#[path = "common/cpu.rs"]
mod cpu;

use std::time::Duration;

use huddle_media::{
    AudioPacket, AudioProcessor, JitterBuffer, JitterConfig, MediaError, OpusEncoder, OpusSettings,
    ProcessingConfig, SonoraProcessor, SpeechSource, SAMPLES_PER_FRAME,
};

fn ncc(a: &[f32], b: &[f32]) -> f64 {
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        xy += f64::from(*x) * f64::from(*y);
        xx += f64::from(*x) * f64::from(*x);
        yy += f64::from(*y) * f64::from(*y);
    }
    xy / (xx * yy).sqrt().max(1e-12)
}

fn run(frame_ms: u32, min_delay_ms: u64, low_delay: bool) -> Result<(), MediaError> {
    let ticks = 1500usize;
    let mut processor = SonoraProcessor::new(ProcessingConfig::default());
    let mut enc = OpusEncoder::new(OpusSettings {
        frame_ms,
        dtx: false,
        low_delay,
        fec: !low_delay,
        ..OpusSettings::default()
    })?;
    let lookahead = enc.lookahead()?;
    let mut jb = JitterBuffer::new(JitterConfig {
        min_delay: Duration::from_millis(min_delay_ms),
        ..JitterConfig::default()
    })?;
    let mut speech = SpeechSource::new(8);
    let (mut captured, mut played) = (Vec::new(), Vec::new());
    let (mut seq, mut ts) = (0u16, 0u32);
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    for n in 0..ticks {
        let now = Duration::from_millis(10 * (n as u64 + 1));
        let mut frame = speech.next_frame(now);
        captured.extend_from_slice(&frame.samples);
        let cpu_start = cpu::thread_cpu_time();
        processor.analyze_render(&huddle_media::AudioFrame::silence(now))?;
        processor.process_capture(&mut frame)?;
        if let Some(p) = enc.push(&frame)? {
            jb.push(
                AudioPacket {
                    seq,
                    timestamp: ts,
                    payload: p.data,
                },
                now,
            );
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(p.samples as u32);
        }
        let (out, _) = jb.pull(now);
        let spent = cpu::thread_cpu_time().saturating_sub(cpu_start);
        total += spent;
        worst = worst.max(spent);
        // The frame handed out at tick n plays from (n+1)*10 ms: one frame after capture
        // frame n started, so played[k] sits 480 samples later than captured[k].
        played.extend_from_slice(&out.samples);
    }
    // Find the lag (beyond the one-frame offset) that best aligns played with captured.
    let span = 48_000 * 10;
    let start = 48_000 * 2;
    let (lag, corr) = (0..4800)
        .map(|lag| {
            (
                lag,
                ncc(
                    &captured[start..start + span],
                    &played[start + lag..start + lag + span],
                ),
            )
        })
        .fold((0, f64::MIN), |b, c| if c.1 > b.1 { c } else { b });
    let algorithmic_ms = (lag + SAMPLES_PER_FRAME) as f64 / 48.0;
    let compute_ms = total.as_secs_f64() * 1000.0 / ticks as f64;
    println!(
        "opus {frame_ms} ms frames{}, jitter buffer min {min_delay_ms} ms: algorithmic {algorithmic_ms:.1} ms \
         (correlation {corr:.2}; opus look-ahead {:.1} ms) + compute {compute_ms:.2} ms CPU/tick (worst {:.2} ms) \
         = {:.1} ms capture->playout",
        if low_delay { " (low-delay mode, no FEC)" } else { "" },
        lookahead.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0,
        algorithmic_ms + compute_ms
    );
    Ok(())
}

fn main() -> Result<(), MediaError> {
    println!("audio path latency, device buffers and network excluded");
    run(10, 10, false)?;
    run(10, 10, true)?;
    run(20, 20, false)?;
    run(20, 40, false)?;
    Ok(())
}
