//! Opus round trip: speech keeps its shape through encode/decode, and with 10% random packet
//! loss the jitter buffer fills every gap (FEC or concealment) with no silent holes.

use std::time::Duration;

use huddle_media::jitter::FrameSource;
use huddle_media::synth::Rng;
use huddle_media::{
    AudioPacket, JitterBuffer, JitterConfig, OpusDecoder, OpusEncoder, OpusSettings, SpeechSource,
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

/// Best correlation over small lags (the codec's look-ahead delays the output).
fn best_alignment(src: &[f32], out: &[f32]) -> (usize, f64) {
    (0..800)
        .map(|lag| {
            (
                lag,
                ncc(&src[..src.len() - 800], &out[lag..lag + src.len() - 800]),
            )
        })
        .fold((0, f64::MIN), |b, c| if c.1 > b.1 { c } else { b })
}

#[test]
fn speech_round_trip_keeps_the_signal() -> Result<(), Box<dyn std::error::Error>> {
    for frame_ms in [10, 20] {
        let mut enc = OpusEncoder::new(OpusSettings {
            frame_ms,
            dtx: false,
            ..OpusSettings::default()
        })?;
        let mut dec = OpusDecoder::new()?;
        let mut speech = SpeechSource::new(5);
        let (mut src, mut out) = (Vec::new(), Vec::new());
        for i in 0..300 {
            let f = speech.next_frame(Duration::from_millis(i * 10));
            src.extend_from_slice(&f.samples);
            if let Some(p) = enc.push(&f)? {
                dec.decode(&p.data, &mut out)?;
            }
        }
        let (lag, corr) = best_alignment(&src, &out);
        println!("opus {frame_ms} ms: correlation {corr:.3} at {lag} samples delay");
        assert!(corr > 0.9, "correlation {corr:.3}");
    }
    Ok(())
}

#[test]
fn ten_percent_loss_is_concealed_without_gaps() -> Result<(), Box<dyn std::error::Error>> {
    let mut enc = OpusEncoder::new(OpusSettings {
        dtx: false,
        expected_loss_pct: 10,
        ..OpusSettings::default()
    })?;
    let mut jb = JitterBuffer::new(JitterConfig {
        min_delay: Duration::from_millis(60),
        ..JitterConfig::default()
    })?;
    let mut speech = SpeechSource::new(9);
    let mut rng = Rng::new(1234);
    let (mut src, mut out, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut seq, mut ts, mut lost) = (0u16, 0u32, 0);
    let mut now = Duration::ZERO;
    for _ in 0..1000 {
        let f = speech.next_frame(now);
        src.extend_from_slice(&f.samples);
        if let Some(p) = enc.push(&f)? {
            if rng.unit() < 0.10 {
                lost += 1;
            } else {
                jb.push(
                    AudioPacket {
                        seq,
                        timestamp: ts,
                        payload: p.data,
                    },
                    now,
                );
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(960);
        }
        let (frame, kind) = jb.pull(now);
        out.extend_from_slice(&frame.samples);
        kinds.push(kind);
        now += Duration::from_millis(10);
    }
    let stats = jb.stats();
    let started = kinds
        .iter()
        .position(|k| *k == FrameSource::Audio)
        .ok_or("never started")?;
    assert!(
        kinds[started..].iter().all(|k| *k == FrameSource::Audio),
        "output stopped after start"
    );
    assert_eq!(
        stats.fec_recovered + stats.concealed,
        lost,
        "every lost packet must be filled"
    );

    // No silent holes: wherever the source talks, the output (aligned) is not silent.
    let delay = started * 480;
    let (lag, corr) = best_alignment(&src[..src.len() - delay], &out[delay..]);
    let shift = delay + lag;
    let mut holes = 0;
    let mut talking = 0;
    for (i, chunk) in src.chunks(480).enumerate() {
        let o = &out[(i * 480 + shift).min(out.len())..((i + 1) * 480 + shift).min(out.len())];
        if o.len() < 480 {
            break;
        }
        if huddle_media::frame::rms_dbfs(chunk) > -35.0 {
            talking += 1;
            if huddle_media::frame::rms_dbfs(o) < -60.0 {
                holes += 1;
            }
        }
    }
    println!(
        "10% loss: {lost} of {} packets lost, {} recovered by FEC, {} concealed; correlation {corr:.3}; \
         {holes} silent frames in {talking} talking frames",
        seq, stats.fec_recovered, stats.concealed
    );
    assert!(lost > 20, "the loss pattern should drop about 50 packets");
    assert!(stats.fec_recovered > 0, "FEC never used");
    assert_eq!(holes, 0, "gaps in the output");
    assert!(corr > 0.6, "correlation under loss {corr:.3}");
    Ok(())
}
