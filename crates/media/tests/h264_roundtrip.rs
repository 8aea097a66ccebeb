//! H.264 round trip: 720p30 synthetic pattern at 1.5 Mbit/s decodes with PSNR >= 32 dB and
//! the stamped frame counter reads back exactly on every frame.

use std::time::Duration;

use huddle_media::camera::Pattern;
use huddle_media::convert::psnr;
use huddle_media::{read_stamp, H264Decoder, H264Encoder, H264Settings};

#[test]
fn hd_pattern_survives_h264_with_psnr_and_stamps() -> Result<(), Box<dyn std::error::Error>> {
    let pattern = Pattern::new(1280, 720);
    let mut enc = H264Encoder::new(H264Settings {
        bitrate_bps: 1_500_000,
        fps: 30.0,
        ..H264Settings::default()
    })?;
    let mut dec = H264Decoder::new()?;
    let frames = 90u64;
    let (mut bytes, mut sum_psnr, mut min_psnr) = (0usize, 0.0f64, f64::MAX);
    for n in 0..frames {
        let src = pattern.render(n, Duration::from_millis(5_000 + n * 33))?;
        let packet = enc.encode(&src)?;
        bytes += packet.data.len();
        let out = dec
            .decode(&packet.data)?
            .ok_or_else(|| format!("frame {n} produced no picture"))?;
        assert_eq!((out.width, out.height), (1280, 720));
        let p = psnr(&src, &out)?;
        sum_psnr += p;
        min_psnr = min_psnr.min(p);
        let stamp = read_stamp(&out).ok_or_else(|| format!("frame {n}: stamp unreadable"))?;
        assert_eq!(u64::from(stamp.counter), n, "frame counter");
        assert_eq!(u64::from(stamp.capture_ms), 5_000 + n * 33, "capture time");
    }
    let mean = sum_psnr / frames as f64;
    let kbps = bytes as f64 * 8.0 / (frames as f64 / 30.0) / 1000.0;
    println!("720p30 @1.5 Mbit/s target: {kbps:.0} kbit/s actual, PSNR mean {mean:.2} dB, min {min_psnr:.2} dB");
    assert!(mean >= 32.0, "mean PSNR {mean:.2} dB");
    assert!(min_psnr >= 30.0, "worst frame PSNR {min_psnr:.2} dB");
    assert!(
        kbps < 1_500.0 * 1.5,
        "bitrate {kbps:.0} kbit/s far above target"
    );
    Ok(())
}

#[test]
fn screen_mode_and_runtime_bitrate_change_keep_decoding() -> Result<(), Box<dyn std::error::Error>>
{
    let pattern = Pattern::new(640, 360);
    let mut enc = H264Encoder::new(H264Settings {
        bitrate_bps: 800_000,
        mode: huddle_media::ContentMode::Screen,
        ..H264Settings::default()
    })?;
    let mut dec = H264Decoder::new()?;
    let mut low_bytes = 0;
    let mut high_bytes = 0;
    for n in 0..60u64 {
        if n == 30 {
            enc.set_bitrate(150_000)?;
        }
        let src = pattern.render(n, Duration::from_millis(n * 33))?;
        let p = enc.encode(&src)?;
        if n >= 40 {
            low_bytes += p.data.len();
        } else if (10..30).contains(&n) {
            high_bytes += p.data.len();
        }
        let out = dec.decode(&p.data)?.ok_or("no picture")?;
        assert_eq!(read_stamp(&out).map(|s| u64::from(s.counter)), Some(n));
    }
    println!("screen mode: {high_bytes} bytes/20 frames at 800 kbit/s, {low_bytes} at 150 kbit/s");
    assert!(
        low_bytes < high_bytes,
        "lowering the bitrate did not shrink the stream"
    );
    Ok(())
}

#[test]
fn raising_the_bitrate_mid_stream_grows_the_stream() -> Result<(), Box<dyn std::error::Error>> {
    let pattern = Pattern::new(640, 360);
    let mut enc = H264Encoder::new(H264Settings {
        bitrate_bps: 200_000,
        ..H264Settings::default()
    })?;
    let mut dec = H264Decoder::new()?;
    let (mut low_bytes, mut high_bytes) = (0, 0);
    for n in 0..90u64 {
        if n == 30 {
            enc.set_bitrate(2_000_000)?;
        }
        let src = pattern.render(n, Duration::from_millis(n * 33))?;
        let p = enc.encode(&src)?;
        if (10..30).contains(&n) {
            low_bytes += p.data.len();
        } else if n >= 70 {
            high_bytes += p.data.len();
        }
        let out = dec.decode(&p.data)?.ok_or("no picture")?;
        assert_eq!(read_stamp(&out).map(|s| u64::from(s.counter)), Some(n));
    }
    println!("camera mode: {low_bytes} bytes/20 frames at 200 kbit/s, {high_bytes} at 2 Mbit/s");
    assert!(
        high_bytes > low_bytes * 2,
        "raising the bitrate did not grow the stream ({low_bytes} → {high_bytes})"
    );
    Ok(())
}
