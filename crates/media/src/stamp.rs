//! A frame stamp: a frame counter and a capture time written into the luma plane as large
//! black and white blocks, so that they survive lossy H.264 coding and can be read back on
//! the far side to measure loss, freezes and end-to-end video latency.
//!
//! Layout: two rows of 40 square blocks across the top of the picture. Row one holds the
//! 32-bit counter, row two the capture time in milliseconds (mod 2^32), each followed by an
//! 8-bit CRC so that a damaged stamp reads as "none" rather than as a wrong number.

use crate::frame::{i420_len, VideoFrame};

const BITS_PER_ROW: usize = 40;
const WHITE: u8 = 235;
const BLACK: u8 = 16;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Frame number since the source started.
    pub counter: u32,
    /// Capture time in milliseconds on the media clock, modulo 2^32.
    pub capture_ms: u32,
}

/// Side of one stamp block in pixels for a frame width, or `None` when the frame is too small.
fn block_size(width: u32, height: u32) -> Option<usize> {
    let b = (width as usize / BITS_PER_ROW) & !1;
    if b < 4 || height as usize <= 2 * b {
        None
    } else {
        Some(b)
    }
}

/// Height in pixels of the stamp strip at the top of a frame of this size (0 if none fits).
pub fn stamp_height(width: u32, height: u32) -> usize {
    block_size(width, height).map_or(0, |b| 2 * b)
}

fn crc8(value: u32) -> u8 {
    // CRC-8 (polynomial 0x07) over the four bytes, big-endian, with a non-zero start so that
    // an all-black or all-white strip (no stamp at all) does not pass as a valid one.
    let mut crc = 0xA5u8;
    for byte in value.to_be_bytes() {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn row_bits(value: u32) -> u64 {
    ((value as u64) << 8) | crc8(value) as u64
}

/// Writes the stamp into the frame. Returns false (and leaves the frame alone) when the frame
/// is too small to carry one (narrower than 160 pixels).
pub fn write_stamp(frame: &mut VideoFrame, stamp: Stamp) -> bool {
    let Some(b) = block_size(frame.width, frame.height) else {
        return false;
    };
    if frame.data.len() != i420_len(frame.width, frame.height) {
        return false;
    }
    let w = frame.width as usize;
    let (y, u, v) = frame.planes_mut();
    for (row, value) in [stamp.counter, stamp.capture_ms].into_iter().enumerate() {
        let bits = row_bits(value);
        for bit in 0..BITS_PER_ROW {
            let on = (bits >> (BITS_PER_ROW - 1 - bit)) & 1 == 1;
            let luma = if on { WHITE } else { BLACK };
            for py in row * b..(row + 1) * b {
                y[py * w + bit * b..py * w + (bit + 1) * b].fill(luma);
            }
            for py in row * b / 2..(row + 1) * b / 2 {
                let start = py * (w / 2) + bit * b / 2;
                u[start..start + b / 2].fill(128);
                v[start..start + b / 2].fill(128);
            }
        }
    }
    true
}

/// Reads a stamp back, or `None` when the frame carries none (or it is damaged).
pub fn read_stamp(frame: &VideoFrame) -> Option<Stamp> {
    let b = block_size(frame.width, frame.height)?;
    // Frames are plain data; one whose buffer does not match its size carries no stamp.
    if frame.data.len() != i420_len(frame.width, frame.height) {
        return None;
    }
    let w = frame.width as usize;
    let y = frame.y();
    let mut values = [0u32; 2];
    for (row, value) in values.iter_mut().enumerate() {
        let mut bits = 0u64;
        for bit in 0..BITS_PER_ROW {
            // Only the inner half of a block is read: coding artefacts gather at its edges.
            let (x0, y0) = (bit * b + b / 4, row * b + b / 4);
            let mut sum = 0u32;
            for py in y0..y0 + b / 2 {
                for px in x0..x0 + b / 2 {
                    sum += y[py * w + px] as u32;
                }
            }
            let mean = sum / (b as u32 / 2).pow(2);
            bits = (bits << 1) | u64::from(mean > (WHITE as u32 + BLACK as u32) / 2);
        }
        let v = (bits >> 8) as u32;
        if crc8(v) != (bits & 0xff) as u8 {
            return None;
        }
        *value = v;
    }
    Some(Stamp {
        counter: values[0],
        capture_ms: values[1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamp_reads_back_exactly() -> Result<(), crate::MediaError> {
        for (w, h) in [(160, 90), (640, 360), (1280, 720)] {
            let mut f = VideoFrame::black(w, h, Duration::ZERO)?;
            let s = Stamp {
                counter: 0xdead_beef,
                capture_ms: 123_456,
            };
            assert!(write_stamp(&mut f, s));
            assert_eq!(read_stamp(&f), Some(s));
        }
        Ok(())
    }

    #[test]
    fn missing_or_damaged_stamp_reads_as_none() -> Result<(), crate::MediaError> {
        let mut f = VideoFrame::black(320, 180, Duration::ZERO)?;
        assert_eq!(read_stamp(&f), None);
        write_stamp(
            &mut f,
            Stamp {
                counter: 7,
                capture_ms: 9,
            },
        );
        // Flip the last counter block: the CRC must catch it.
        let b = 8;
        let x = 31 * b;
        let old = f.y()[b / 2 * 320 + x + b / 2];
        let new = if old > 128 { BLACK } else { WHITE };
        let (y, _, _) = f.planes_mut();
        for py in 0..b {
            y[py * 320 + x..py * 320 + x + b].fill(new);
        }
        assert_eq!(read_stamp(&f), None);
        let broken = VideoFrame {
            width: 320,
            height: 180,
            data: vec![235; 10],
            timestamp: Duration::ZERO,
        };
        assert_eq!(read_stamp(&broken), None);
        let mut tiny = VideoFrame::black(100, 60, Duration::ZERO)?;
        assert!(!write_stamp(
            &mut tiny,
            Stamp {
                counter: 1,
                capture_ms: 1
            }
        ));
        Ok(())
    }
}
