//! Benchmark: OpenH264 720p30 encode and decode cost on the synthetic pattern, per encoder
//! effort. Reports thread CPU time (and wall time) per frame.
//! Run: cargo run --release -p huddle-media --example bench_h264

#[path = "common/cpu.rs"]
mod cpu;

use std::time::Duration;

use huddle_media::camera::Pattern;
use huddle_media::convert::psnr;
use huddle_media::{Effort, H264Decoder, H264Encoder, H264Settings, MediaError};

fn main() -> Result<(), MediaError> {
    let (w, h, fps, frames) = (1280u32, 720u32, 30.0f64, 300u64);
    let pattern = Pattern::new(w, h);
    // Render ahead so the pattern generator's cost is not counted.
    let source: Vec<_> = (0..frames)
        .map(|n| pattern.render(n, Duration::from_millis(n * 33)))
        .collect::<Result<_, _>>()?;
    println!("openh264 {w}x{h}@{fps} 1.5 Mbit/s, {frames} frames of the synthetic pattern");
    for effort in [Effort::Balanced, Effort::Fast] {
        let mut enc = H264Encoder::new(H264Settings {
            effort,
            ..H264Settings::default()
        })?;
        let mut dec = H264Decoder::new()?;
        let (mut bytes, mut psnr_sum) = (0usize, 0.0f64);
        let (mut enc_wall, mut enc_cpu, mut dec_wall, mut dec_cpu) = (
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
        );
        for f in &source {
            let (p, wall, cpu) = cpu::timed(|| enc.encode(f));
            let p = p?;
            enc_wall += wall;
            enc_cpu += cpu;
            bytes += p.data.len();
            let (d, wall, cpu) = cpu::timed(|| dec.decode(&p.data));
            if let Some(out) = d? {
                psnr_sum += psnr(f, &out)?;
            }
            dec_wall += wall;
            dec_cpu += cpu;
        }
        let per = |d: Duration| d.as_secs_f64() * 1000.0 / frames as f64;
        println!(
            "  effort {effort:?}: {:.0} kbit/s, mean PSNR {:.1} dB",
            bytes as f64 * 8.0 / (frames as f64 / fps) / 1000.0,
            psnr_sum / frames as f64
        );
        for (what, wall, cpu) in [("encode", enc_wall, enc_cpu), ("decode", dec_wall, dec_cpu)] {
            println!(
                "    {what}: {:.2} ms/frame CPU ({:.2} ms wall) = {:.0}% of one core at {fps} fps",
                per(cpu),
                per(wall),
                per(cpu) * fps / 10.0
            );
        }
    }
    Ok(())
}
