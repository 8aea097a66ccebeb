//! Benchmark: Opus encode and decode cost per 20 ms frame of speech (48 kHz mono, FEC on).
//! Run: cargo run --release -p huddle-media --example bench_opus

#[path = "common/cpu.rs"]
mod cpu;

use std::time::Duration;

use huddle_media::{MediaError, OpusDecoder, OpusEncoder, OpusSettings, SpeechSource};

fn main() -> Result<(), MediaError> {
    let mut enc = OpusEncoder::new(OpusSettings {
        dtx: false,
        ..OpusSettings::default()
    })?;
    let mut dec = OpusDecoder::new()?;
    let mut speech = SpeechSource::new(3);
    let frames: Vec<_> = (0..6000)
        .map(|i| speech.next_frame(Duration::from_millis(i * 10)))
        .collect();
    let (mut enc_t, mut dec_t, mut plc_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut packets, mut out) = (0u32, Vec::with_capacity(960));
    for f in &frames {
        let (p, _, c) = cpu::timed(|| enc.push(f));
        enc_t += c;
        if let Some(p) = p? {
            packets += 1;
            out.clear();
            let (r, _, c) = cpu::timed(|| dec.decode(&p.data, &mut out));
            r?;
            dec_t += c;
            out.clear();
            let (r, _, c) = cpu::timed(|| dec.conceal(960, &mut out));
            r?;
            plc_t += c;
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(packets);
    println!("opus 48 kHz mono 32 kbit/s 20 ms frames with in-band FEC, {packets} frames of synthetic speech");
    println!("  encode:  {:.1} us CPU per 20 ms frame", us(enc_t));
    println!("  decode:  {:.1} us CPU per 20 ms frame", us(dec_t));
    println!("  conceal: {:.1} us CPU per 20 ms frame", us(plc_t));
    Ok(())
}
