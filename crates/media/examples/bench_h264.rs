//! Benchmark: OpenH264 720p30 encode and decode cost on the synthetic pattern.
//! Run: cargo run --release -p huddle-media --example bench_h264

use std::time::{Duration, Instant};

use huddle_media::camera::Pattern;
use huddle_media::{H264Decoder, H264Encoder, H264Settings, MediaError};

fn main() -> Result<(), MediaError> {
    let (w, h, fps, frames) = (1280u32, 720u32, 30.0f64, 300u64);
    let pattern = Pattern::new(w, h);
    // Render ahead so the pattern generator's cost is not counted.
    let source: Vec<_> = (0..frames)
        .map(|n| pattern.render(n, Duration::from_millis(n * 33)))
        .collect::<Result<_, _>>()?;
    let mut enc = H264Encoder::new(H264Settings::default())?;
    let mut dec = H264Decoder::new()?;
    let (mut enc_time, mut dec_time, mut bytes) = (Duration::ZERO, Duration::ZERO, 0usize);
    for f in &source {
        let t = Instant::now();
        let p = enc.encode(f)?;
        enc_time += t.elapsed();
        bytes += p.data.len();
        let t = Instant::now();
        let _ = dec.decode(&p.data)?;
        dec_time += t.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / frames as f64;
    let (e, d) = (per(enc_time), per(dec_time));
    println!("openh264 {w}x{h}@{fps} 1.5 Mbit/s, {frames} frames of the synthetic pattern");
    println!(
        "  encode: {e:.2} ms/frame = {:.0}% of one core at {fps} fps",
        e * fps / 10.0
    );
    println!(
        "  decode: {d:.2} ms/frame = {:.0}% of one core at {fps} fps",
        d * fps / 10.0
    );
    println!(
        "  bitrate: {:.0} kbit/s",
        bytes as f64 * 8.0 / (frames as f64 / fps) / 1000.0
    );
    Ok(())
}
