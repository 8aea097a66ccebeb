//! Pixel-format conversion to I420 and scaling, for camera formats that arrive as MJPEG,
//! YUYV (YUY2), NV12 or packed RGB. All functions validate their input sizes and return an
//! error rather than panic, since camera buffers come from drivers we do not control.

use std::time::Duration;

use crate::frame::{check_dimensions, i420_len, VideoFrame};
use crate::MediaError;

/// Packed YUYV 4:2:2 (Y0 U Y1 V) to I420; chroma of each row pair is averaged.
pub fn yuyv_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    check_dimensions(width, height)?;
    let (w, h) = (width as usize, height as usize);
    if src.len() < w * h * 2 {
        return Err(MediaError::invalid(
            "YUYV frame",
            format!("{w}x{h} needs {} bytes, got {}", w * h * 2, src.len()),
        ));
    }
    let mut frame = VideoFrame::black(width, height, timestamp)?;
    let (y, u, v) = frame.planes_mut();
    let stride = w * 2;
    for row in 0..h {
        let line = &src[row * stride..(row + 1) * stride];
        for (x, px) in line.chunks_exact(4).enumerate() {
            y[row * w + 2 * x] = px[0];
            y[row * w + 2 * x + 1] = px[2];
        }
    }
    for crow in 0..h / 2 {
        let a = &src[2 * crow * stride..(2 * crow + 1) * stride];
        let b = &src[(2 * crow + 1) * stride..(2 * crow + 2) * stride];
        for cx in 0..w / 2 {
            let i = cx * 4;
            u[crow * (w / 2) + cx] = avg2(a[i + 1], b[i + 1]);
            v[crow * (w / 2) + cx] = avg2(a[i + 3], b[i + 3]);
        }
    }
    Ok(frame)
}

/// NV12 (Y plane, then interleaved UV at half resolution) to I420.
pub fn nv12_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    check_dimensions(width, height)?;
    let (w, h) = (width as usize, height as usize);
    let need = w * h + w * (h / 2);
    if src.len() < need {
        return Err(MediaError::invalid(
            "NV12 frame",
            format!("{w}x{h} needs {need} bytes, got {}", src.len()),
        ));
    }
    let mut frame = VideoFrame::black(width, height, timestamp)?;
    let (y, u, v) = frame.planes_mut();
    y.copy_from_slice(&src[..w * h]);
    for (i, uv) in src[w * h..need].chunks_exact(2).enumerate() {
        u[i] = uv[0];
        v[i] = uv[1];
    }
    Ok(frame)
}

/// Packed 8-bit RGB (or BGR when `bgr`) to I420 with BT.601 limited-range coefficients.
pub fn rgb_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    bgr: bool,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    check_dimensions(width, height)?;
    let (w, h) = (width as usize, height as usize);
    if src.len() < w * h * 3 {
        return Err(MediaError::invalid(
            "RGB frame",
            format!("{w}x{h} needs {} bytes, got {}", w * h * 3, src.len()),
        ));
    }
    let mut frame = VideoFrame::black(width, height, timestamp)?;
    let (y, u, v) = frame.planes_mut();
    let pixel = |x: usize, r: usize| -> (i32, i32, i32) {
        let i = (r * w + x) * 3;
        let (a, g, c) = (src[i] as i32, src[i + 1] as i32, src[i + 2] as i32);
        if bgr {
            (c, g, a)
        } else {
            (a, g, c)
        }
    };
    for r in 0..h {
        for x in 0..w {
            let (pr, pg, pb) = pixel(x, r);
            y[r * w + x] = clamp_u8(((66 * pr + 129 * pg + 25 * pb + 128) >> 8) + 16);
        }
    }
    for cr in 0..h / 2 {
        for cx in 0..w / 2 {
            let (mut sr, mut sg, mut sb) = (0, 0, 0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (pr, pg, pb) = pixel(2 * cx + dx, 2 * cr + dy);
                sr += pr;
                sg += pg;
                sb += pb;
            }
            let (pr, pg, pb) = (sr / 4, sg / 4, sb / 4);
            u[cr * (w / 2) + cx] = clamp_u8(((-38 * pr - 74 * pg + 112 * pb + 128) >> 8) + 128);
            v[cr * (w / 2) + cx] = clamp_u8(((112 * pr - 94 * pg - 18 * pb + 128) >> 8) + 128);
        }
    }
    Ok(frame)
}

/// 8-bit grey to I420 (neutral chroma).
pub fn gray_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    check_dimensions(width, height)?;
    let (w, h) = (width as usize, height as usize);
    if src.len() < w * h {
        return Err(MediaError::invalid(
            "grey frame",
            format!("{w}x{h} needs {} bytes, got {}", w * h, src.len()),
        ));
    }
    let mut frame = VideoFrame::black(width, height, timestamp)?;
    let (y, _, _) = frame.planes_mut();
    // Full-range grey to limited-range luma.
    for (d, s) in y.iter_mut().zip(&src[..w * h]) {
        *d = (16 + (*s as u32 * 219 + 127) / 255) as u8;
    }
    Ok(frame)
}

/// Decodes one MJPEG (JPEG) image to I420. An odd-sized image loses its last row/column.
pub fn mjpeg_to_i420(src: &[u8], timestamp: Duration) -> Result<VideoFrame, MediaError> {
    let mut decoder = jpeg_decoder::Decoder::new(src);
    let pixels = decoder
        .decode()
        .map_err(|e| MediaError::invalid("MJPEG frame", e.to_string()))?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::invalid("MJPEG frame", "no image header"))?;
    let (iw, ih) = (info.width as usize, info.height as usize);
    let (w, h) = (iw & !1, ih & !1);
    let crop = |bpp: usize| -> Vec<u8> {
        let mut out = Vec::with_capacity(w * h * bpp);
        for r in 0..h {
            out.extend_from_slice(&pixels[r * iw * bpp..(r * iw + w) * bpp]);
        }
        out
    };
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            rgb_to_i420(&crop(3), w as u32, h as u32, false, timestamp)
        }
        jpeg_decoder::PixelFormat::L8 => gray_to_i420(&crop(1), w as u32, h as u32, timestamp),
        other => Err(MediaError::invalid(
            "MJPEG frame",
            format!("unsupported JPEG pixel format {other:?}"),
        )),
    }
}

/// Scales an I420 frame to a new size with bilinear filtering (a copy when sizes match).
pub fn scale_i420(src: &VideoFrame, width: u32, height: u32) -> Result<VideoFrame, MediaError> {
    check_dimensions(width, height)?;
    if src.data.len() != i420_len(src.width, src.height) {
        return Err(MediaError::invalid(
            "I420 frame",
            "buffer size does not match its size",
        ));
    }
    if src.width == width && src.height == height {
        return Ok(src.clone());
    }
    let mut out = VideoFrame::black(width, height, src.timestamp)?;
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dw, dh) = (width as usize, height as usize);
    let (y, u, v) = out.planes_mut();
    scale_plane(src.y(), sw, sh, y, dw, dh);
    scale_plane(src.u(), sw / 2, sh / 2, u, dw / 2, dh / 2);
    scale_plane(src.v(), sw / 2, sh / 2, v, dw / 2, dh / 2);
    Ok(out)
}

fn scale_plane(src: &[u8], sw: usize, sh: usize, dst: &mut [u8], dw: usize, dh: usize) {
    // 16.16 fixed point, sampling pixel centres so that edges do not shift.
    let step_x = ((sw as u64) << 16) / dw as u64;
    let step_y = ((sh as u64) << 16) / dh as u64;
    for dy in 0..dh {
        let fy = ((dy as u64 * step_y) + step_y / 2).saturating_sub(1 << 15);
        let y0 = ((fy >> 16) as usize).min(sh - 1);
        let y1 = (y0 + 1).min(sh - 1);
        let wy = (fy & 0xffff) as u32;
        for dx in 0..dw {
            let fx = ((dx as u64 * step_x) + step_x / 2).saturating_sub(1 << 15);
            let x0 = ((fx >> 16) as usize).min(sw - 1);
            let x1 = (x0 + 1).min(sw - 1);
            let wx = (fx & 0xffff) as u32;
            let top = src[y0 * sw + x0] as u32 * (65536 - wx) + src[y0 * sw + x1] as u32 * wx;
            let bot = src[y1 * sw + x0] as u32 * (65536 - wx) + src[y1 * sw + x1] as u32 * wx;
            let val =
                ((top as u64 >> 8) * (65536 - wy) as u64 + (bot as u64 >> 8) * wy as u64) >> 24;
            dst[dy * dw + dx] = val.min(255) as u8;
        }
    }
}

fn avg2(a: u8, b: u8) -> u8 {
    (a as u16 + b as u16).div_ceil(2) as u8
}

fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Peak signal-to-noise ratio in dB between two frames of the same size, over all planes.
pub fn psnr(a: &VideoFrame, b: &VideoFrame) -> Result<f64, MediaError> {
    if a.width != b.width || a.height != b.height || a.data.len() != b.data.len() {
        return Err(MediaError::InvalidArgument(
            "PSNR needs two frames of the same size".into(),
        ));
    }
    let sse: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum();
    let mse = sse / a.data.len() as f64;
    Ok(if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_image(w: usize, h: usize) -> Vec<u8> {
        let mut img = Vec::with_capacity(w * h * 3);
        for r in 0..h {
            for x in 0..w {
                img.extend_from_slice(&[(x * 255 / w) as u8, (r * 255 / h) as u8, 128]);
            }
        }
        img
    }

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma() -> Result<(), MediaError> {
        // 2x2: row 0 = Y 10,20 U 100 V 200; row 1 = Y 30,40 U 110 V 210.
        let src = [10, 100, 20, 200, 30, 110, 40, 210];
        let f = yuyv_to_i420(&src, 2, 2, Duration::ZERO)?;
        assert_eq!(f.y(), &[10, 20, 30, 40]);
        assert_eq!(f.u(), &[105]);
        assert_eq!(f.v(), &[205]);
        assert!(yuyv_to_i420(&src[..7], 2, 2, Duration::ZERO).is_err());
        Ok(())
    }

    #[test]
    fn nv12_deinterleaves_chroma() -> Result<(), MediaError> {
        let mut src = vec![50u8; 4 * 2];
        src.extend_from_slice(&[1, 2, 3, 4]);
        let f = nv12_to_i420(&src, 4, 2, Duration::ZERO)?;
        assert_eq!(f.u(), &[1, 3]);
        assert_eq!(f.v(), &[2, 4]);
        assert!(nv12_to_i420(&src[..10], 4, 2, Duration::ZERO).is_err());
        Ok(())
    }

    #[test]
    fn rgb_primaries_map_to_bt601_values() -> Result<(), MediaError> {
        let white = [255u8; 12];
        let f = rgb_to_i420(&white, 2, 2, false, Duration::ZERO)?;
        assert_eq!(f.y()[0], 235);
        assert_eq!(f.u()[0], 128);
        let red = [255, 0, 0].repeat(4);
        let f = rgb_to_i420(&red, 2, 2, false, Duration::ZERO)?;
        assert_eq!((f.y()[0], f.u()[0], f.v()[0]), (82, 90, 240));
        let blue_as_bgr = [255, 0, 0].repeat(4);
        let f = rgb_to_i420(&blue_as_bgr, 2, 2, true, Duration::ZERO)?;
        assert_eq!((f.y()[0], f.u()[0], f.v()[0]), (41, 240, 110));
        Ok(())
    }

    #[test]
    fn mjpeg_decodes_to_the_same_picture_as_rgb() -> Result<(), Box<dyn std::error::Error>> {
        let (w, h) = (64usize, 48usize);
        let rgb = rgb_image(w, h);
        let mut jpeg = Vec::new();
        let enc = jpeg_encoder::Encoder::new(&mut jpeg, 95);
        enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)?;
        let from_jpeg = mjpeg_to_i420(&jpeg, Duration::ZERO)?;
        let direct = rgb_to_i420(&rgb, w as u32, h as u32, false, Duration::ZERO)?;
        assert_eq!((from_jpeg.width, from_jpeg.height), (64, 48));
        let p = psnr(&from_jpeg, &direct)?;
        assert!(p > 35.0, "PSNR {p}");
        assert!(mjpeg_to_i420(&jpeg[..jpeg.len() / 3], Duration::ZERO).is_err());
        assert!(mjpeg_to_i420(b"not a jpeg", Duration::ZERO).is_err());
        Ok(())
    }

    #[test]
    fn scaling_preserves_flat_areas_and_gradients() -> Result<(), MediaError> {
        let rgb = rgb_image(64, 48);
        let src = rgb_to_i420(&rgb, 64, 48, false, Duration::ZERO)?;
        let down = scale_i420(&src, 32, 24)?;
        let back = scale_i420(&down, 64, 48)?;
        assert!(psnr(&src, &back)? > 35.0);
        let flat = VideoFrame::black(40, 30, Duration::ZERO)?;
        let scaled = scale_i420(&flat, 26, 14)?;
        assert!(scaled.y().iter().all(|&p| p == 16));
        assert!(scaled.u().iter().all(|&p| p == 128));
        Ok(())
    }
}
