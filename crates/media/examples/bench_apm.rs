//! Benchmark: audio processing cost per 10 ms frame (AEC3 + NS + AGC2 + HPF via sonora,
//! plus voice activity), with far-end speech and an echo of it in the capture.
//! Run: cargo run --release -p huddle-media --example bench_apm

#[path = "common/cpu.rs"]
mod cpu;

use std::time::Duration;

use huddle_media::{
    AudioFrame, AudioProcessor, MediaError, ProcessingConfig, SonoraProcessor, SpeechSource,
};

fn main() -> Result<(), MediaError> {
    let frames = 3000;
    let mut far = SpeechSource::new(1);
    let mut near = SpeechSource::new(2);
    let far_frames: Vec<AudioFrame> = (0..frames)
        .map(|_| far.next_frame(Duration::ZERO))
        .collect();
    for (name, config) in [
        (
            "all stages (AEC, NS, AGC, HPF)",
            ProcessingConfig::default(),
        ),
        (
            "NS + AGC only",
            ProcessingConfig {
                echo_cancellation: false,
                ..ProcessingConfig::default()
            },
        ),
    ] {
        let mut p = SonoraProcessor::new(config);
        let (mut render_t, mut capture_t) = (Duration::ZERO, Duration::ZERO);
        for i in 0..frames {
            let (r, _, c) = cpu::timed(|| p.analyze_render(&far_frames[i]));
            r?;
            render_t += c;
            // Echo: the far end 60 ms later at -10 dB, plus the near-end talker.
            let mut cap = near.next_frame(Duration::ZERO);
            if i >= 6 {
                for (c, e) in cap.samples.iter_mut().zip(&far_frames[i - 6].samples) {
                    *c += 0.3 * e;
                }
            }
            let (r, _, c) = cpu::timed(|| p.process_capture(&mut cap));
            r?;
            capture_t += c;
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6 / frames as f64;
        let total = us(render_t) + us(capture_t);
        println!(
            "{name}: render {:.1} us + capture {:.1} us = {total:.1} us CPU per 10 ms frame ({:.1}% of one core)",
            us(render_t),
            us(capture_t),
            total / 100.0
        );
    }
    Ok(())
}
