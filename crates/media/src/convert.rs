//! Pixel-format conversion to I420 and scaling, for camera formats that arrive as MJPEG,
//! YUYV (YUY2), NV12 or packed RGB, and for screens that arrive as 32-bit BGRX or RGBA
//! (converted and scaled down in one pass). All functions validate their input sizes and
//! return an error rather than panic, since camera buffers come from drivers we do not control.

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
            y[r * w + x] = clamp_u8(bt601_luma(pr, pg, pb) + 16);
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
            let (cu, cv) = bt601_chroma(pr, pg, pb);
            u[cr * (w / 2) + cx] = clamp_u8(cu + 128);
            v[cr * (w / 2) + cx] = clamp_u8(cv + 128);
        }
    }
    Ok(frame)
}

/// Largest source side the packed 32-bit converters take (X11's own limit is 32767).
const MAX_SOURCE_SIDE: u32 = 32_768;

/// Largest number of source pixels averaged into one output pixel: keeps the box sums of
/// 8-bit channels within `u32` and the reciprocal rounding exact (see `recip`).
const MAX_BOX_AREA: usize = 1 << 22;

/// Where red, green and blue sit in a 4-byte pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packed32 {
    /// Bytes B, G, R, X: X11 ZPixmap on little-endian servers, Windows DIBs.
    Bgrx,
    /// Bytes R, G, B, X (or A): `image::RgbaImage`.
    Rgbx,
    /// Bytes X, R, G, B: X11 ZPixmap on big-endian servers.
    Xrgb,
}

/// 32-bit BGRX (or BGRA; the fourth byte is ignored) to I420, scaled down to
/// `out_width` x `out_height` by averaging the source pixels each output pixel covers.
///
/// Rows are `stride` bytes apart (at least `4 * width`; the last row may end right after its
/// pixels). The source may have odd sizes; the output must be even and not larger than the
/// source in either direction (this never scales up). Colours use the BT.601 limited-range
/// coefficients of [`rgb_to_i420`], and at 1:1 the result equals it.
pub fn bgrx_to_i420_scaled(
    src: &[u8],
    stride: usize,
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    packed32_to_i420_scaled(
        Packed32::Bgrx,
        src,
        stride,
        (width, height),
        (out_width, out_height),
        timestamp,
    )
}

/// 32-bit RGBA (or RGBX; alpha is ignored) to I420, scaled down like
/// [`bgrx_to_i420_scaled`].
pub fn rgba_to_i420_scaled(
    src: &[u8],
    stride: usize,
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    packed32_to_i420_scaled(
        Packed32::Rgbx,
        src,
        stride,
        (width, height),
        (out_width, out_height),
        timestamp,
    )
}

/// Any 4-byte pixel layout to I420, scaled down; see [`bgrx_to_i420_scaled`].
pub(crate) fn packed32_to_i420_scaled(
    layout: Packed32,
    src: &[u8],
    stride: usize,
    (width, height): (u32, u32),
    (out_width, out_height): (u32, u32),
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    // Constant channel offsets let the compiler specialise the inner loops per layout.
    match layout {
        Packed32::Bgrx => scale_packed::<2, 1, 0>(
            src,
            stride,
            (width, height),
            (out_width, out_height),
            timestamp,
        ),
        Packed32::Rgbx => scale_packed::<0, 1, 2>(
            src,
            stride,
            (width, height),
            (out_width, out_height),
            timestamp,
        ),
        Packed32::Xrgb => scale_packed::<1, 2, 3>(
            src,
            stride,
            (width, height),
            (out_width, out_height),
            timestamp,
        ),
    }
}

/// The box filter: output pixel (ox, oy) averages source columns `xb[ox]..xb[ox + 1]` of
/// rows `oy * h / oh..(oy + 1) * h / oh`. Each source row is read once, summed into one row of
/// accumulators; the averaged RGB of an output row pair then gives luma and 2x2 chroma
/// exactly as `rgb_to_i420` computes them.
fn scale_packed<const R: usize, const G: usize, const B: usize>(
    src: &[u8],
    stride: usize,
    (width, height): (u32, u32),
    (out_width, out_height): (u32, u32),
    timestamp: Duration,
) -> Result<VideoFrame, MediaError> {
    check_dimensions(out_width, out_height)?;
    if width == 0 || height == 0 || width > MAX_SOURCE_SIDE || height > MAX_SOURCE_SIDE {
        return Err(MediaError::InvalidArgument(format!(
            "source size {width}x{height} must be non-zero and at most \
             {MAX_SOURCE_SIDE}x{MAX_SOURCE_SIDE}"
        )));
    }
    if out_width > width || out_height > height {
        return Err(MediaError::InvalidArgument(format!(
            "cannot scale {width}x{height} up to {out_width}x{out_height}"
        )));
    }
    let (w, h) = (width as usize, height as usize);
    let (ow, oh) = (out_width as usize, out_height as usize);
    // Box sizes are floor(w / ow) or one more (likewise for rows).
    let box_w = w / ow;
    let box_h = h / oh;
    if (box_w + 1) * (box_h + 1) > MAX_BOX_AREA {
        return Err(MediaError::InvalidArgument(format!(
            "scaling {w}x{h} down to {ow}x{oh} averages too many pixels per output pixel"
        )));
    }
    let row_bytes = w * 4;
    if stride < row_bytes {
        return Err(MediaError::InvalidArgument(format!(
            "stride {stride} is shorter than a row of {w} pixels ({row_bytes} bytes)"
        )));
    }
    let need = stride
        .checked_mul(h - 1)
        .and_then(|n| n.checked_add(row_bytes))
        .ok_or_else(|| MediaError::InvalidArgument(format!("stride {stride} is too large")))?;
    if src.len() < need {
        return Err(MediaError::invalid(
            "32-bit image",
            format!(
                "{w}x{h} with stride {stride} needs {need} bytes, got {}",
                src.len()
            ),
        ));
    }
    let mut frame = VideoFrame::black(out_width, out_height, timestamp)?;
    let (yp, up, vp) = frame.planes_mut();
    if ow == w && oh == h {
        packed_to_i420::<R, G, B>(src, stride, w, h, yp, up, vp);
        return Ok(frame);
    }
    let xb: Vec<usize> = (0..=ow).map(|i| i * w / ow).collect();
    let wide: Vec<bool> = xb.windows(2).map(|x| x[1] - x[0] > box_w).collect();
    let one_to_one = ow == w;
    let mut acc = vec![[0u32; 3]; ow];
    // Averaged RGB of the current pair of output rows.
    let mut pair = vec![[0u8; 3]; 2 * ow];
    for oy in 0..oh {
        let (y0, y1) = (oy * h / oh, (oy + 1) * h / oh);
        acc.fill([0; 3]);
        for sy in y0..y1 {
            let line = &src[sy * stride..sy * stride + row_bytes];
            if one_to_one {
                for (a, px) in acc.iter_mut().zip(line.chunks_exact(4)) {
                    a[0] += u32::from(px[R]);
                    a[1] += u32::from(px[G]);
                    a[2] += u32::from(px[B]);
                }
            } else {
                for (a, x) in acc.iter_mut().zip(xb.windows(2)) {
                    for px in line[x[0] * 4..x[1] * 4].chunks_exact(4) {
                        a[0] += u32::from(px[R]);
                        a[1] += u32::from(px[G]);
                        a[2] += u32::from(px[B]);
                    }
                }
            }
        }
        let rows = y1 - y0;
        let (narrow_inv, wide_inv) = (recip(rows * box_w), recip(rows * (box_w + 1)));
        let half = if oy % 2 == 0 { 0 } else { ow };
        let avg_row = &mut pair[half..half + ow];
        let luma = &mut yp[oy * ow..(oy + 1) * ow];
        for (((avg, a), &is_wide), yv) in
            avg_row.iter_mut().zip(&acc).zip(&wide).zip(luma.iter_mut())
        {
            let inv = if is_wide { wide_inv } else { narrow_inv };
            // Locals, not a read-back of `avg`: that stalls on store forwarding.
            let (r, g, b) = (div(a[0], inv), div(a[1], inv), div(a[2], inv));
            *avg = [r, g, b];
            let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
            *yv = clamp_u8(bt601_luma(r, g, b) + 16);
        }
        if oy % 2 == 1 {
            let cw = ow / 2;
            let cr = oy / 2;
            let (top, bottom) = pair.split_at(ow);
            for cx in 0..cw {
                let mut sum = [0i32; 3];
                for p in [
                    &top[2 * cx],
                    &top[2 * cx + 1],
                    &bottom[2 * cx],
                    &bottom[2 * cx + 1],
                ] {
                    for (s, c) in sum.iter_mut().zip(p) {
                        *s += i32::from(*c);
                    }
                }
                let [r, g, b] = sum.map(|s| s / 4);
                let (cu, cv) = bt601_chroma(r, g, b);
                up[cr * cw + cx] = clamp_u8(cu + 128);
                vp[cr * cw + cx] = clamp_u8(cv + 128);
            }
        }
    }
    Ok(frame)
}

/// The 1:1 case of `scale_packed`, without the box sums: two rows at a time, luma per pixel
/// and chroma from each 2x2 block. `w` and `h` are even; the slices have been checked.
fn packed_to_i420<const R: usize, const G: usize, const B: usize>(
    src: &[u8],
    stride: usize,
    w: usize,
    h: usize,
    yp: &mut [u8],
    up: &mut [u8],
    vp: &mut [u8],
) {
    let cw = w / 2;
    let luma = |p: &[u8]| -> u8 {
        let (r, g, b) = (i32::from(p[R]), i32::from(p[G]), i32::from(p[B]));
        clamp_u8(bt601_luma(r, g, b) + 16)
    };
    for cr in 0..h / 2 {
        let top = &src[2 * cr * stride..][..w * 4];
        let bottom = &src[(2 * cr + 1) * stride..][..w * 4];
        let (ytop, ybottom) = yp[2 * cr * w..(2 * cr + 2) * w].split_at_mut(w);
        let chroma = up[cr * cw..(cr + 1) * cw]
            .iter_mut()
            .zip(&mut vp[cr * cw..(cr + 1) * cw]);
        for ((((t, b), yt), yb), (u, v)) in top
            .chunks_exact(8)
            .zip(bottom.chunks_exact(8))
            .zip(ytop.chunks_exact_mut(2))
            .zip(ybottom.chunks_exact_mut(2))
            .zip(chroma)
        {
            yt[0] = luma(&t[..4]);
            yt[1] = luma(&t[4..]);
            yb[0] = luma(&b[..4]);
            yb[1] = luma(&b[4..]);
            let sum = |c: usize| -> i32 {
                i32::from(t[c]) + i32::from(t[4 + c]) + i32::from(b[c]) + i32::from(b[4 + c])
            };
            let (r, g, b) = (sum(R) / 4, sum(G) / 4, sum(B) / 4);
            let (cu, cv) = bt601_chroma(r, g, b);
            *u = clamp_u8(cu + 128);
            *v = clamp_u8(cv + 128);
        }
    }
}

/// ceil(2^32 / count): `div` by it is a rounded division by `count` for the sums the box
/// filter makes (sum <= 255 * count, count <= MAX_BOX_AREA), exact for uniform areas.
fn recip(count: usize) -> u64 {
    let count = count.max(1) as u64;
    (1u64 << 32).div_ceil(count)
}

fn div(sum: u32, inv: u64) -> u8 {
    ((u64::from(sum) * inv + (1 << 31)) >> 32).min(255) as u8
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

/// BT.601 limited-range luma of an RGB pixel, without its +16 offset (the pointer blend
/// scales the offset with alpha).
#[inline]
pub(crate) fn bt601_luma(r: i32, g: i32, b: i32) -> i32 {
    (66 * r + 129 * g + 25 * b + 128) >> 8
}

/// BT.601 limited-range chroma (U, V) of an RGB pixel, without their +128 offsets.
#[inline]
pub(crate) fn bt601_chroma(r: i32, g: i32, b: i32) -> (i32, i32) {
    (
        (-38 * r - 74 * g + 112 * b + 128) >> 8,
        (112 * r - 94 * g - 18 * b + 128) >> 8,
    )
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

    /// A BGRX image of `w` x `h` with `pad` spare bytes after each row, filled by `f(x, y)`
    /// giving (r, g, b); the spare bytes hold junk so that reading them would show.
    fn bgrx_image(
        w: usize,
        h: usize,
        pad: usize,
        f: impl Fn(usize, usize) -> [u8; 3],
    ) -> (Vec<u8>, usize) {
        let stride = w * 4 + pad;
        let mut img = vec![0xEE; stride * h];
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = f(x, y);
                img[y * stride + x * 4..][..4].copy_from_slice(&[b, g, r, 0x55]);
            }
        }
        (img, stride)
    }

    fn yuv_at(f: &VideoFrame, x: usize, y: usize) -> (u8, u8, u8) {
        let w = f.width as usize;
        let c = (y / 2) * (w / 2) + x / 2;
        (f.y()[y * w + x], f.u()[c], f.v()[c])
    }

    #[test]
    fn bgrx_known_colours_map_to_bt601_values() -> Result<(), MediaError> {
        for (rgb, yuv) in [
            ([255, 255, 255], (235, 128, 128)),
            ([0, 0, 0], (16, 128, 128)),
            ([255, 0, 0], (82, 90, 240)),
            ([0, 255, 0], (144, 54, 34)),
            ([0, 0, 255], (41, 240, 110)),
        ] {
            // 1:1, 2:1 and an uneven 3:2 with an odd source.
            for (w, h, ow, oh) in [(4, 4, 4, 4), (8, 4, 4, 2), (9, 7, 6, 4)] {
                let (img, stride) = bgrx_image(w, h, 0, |_, _| rgb);
                let f = bgrx_to_i420_scaled(&img, stride, w as u32, h as u32, ow, oh, SEC)?;
                assert_eq!((f.width, f.height, f.timestamp), (ow, oh, SEC));
                assert!(f.y().iter().all(|&y| y == yuv.0), "{rgb:?} {w}x{h}");
                assert!(f.u().iter().all(|&u| u == yuv.1), "{rgb:?} {w}x{h}");
                assert!(f.v().iter().all(|&v| v == yuv.2), "{rgb:?} {w}x{h}");
            }
        }
        Ok(())
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn bgrx_at_one_to_one_equals_rgb_conversion() -> Result<(), MediaError> {
        let (w, h) = (64usize, 48usize);
        let rgb = rgb_image(w, h);
        let px = |x: usize, y: usize| -> [u8; 3] {
            let i = (y * w + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        let (img, stride) = bgrx_image(w, h, 12, px);
        let direct = rgb_to_i420(&rgb, w as u32, h as u32, false, SEC)?;
        let packed = bgrx_to_i420_scaled(&img, stride, w as u32, h as u32, 64, 48, SEC)?;
        assert_eq!(packed, direct);
        // RGBA is the same picture with its bytes in another order.
        let mut rgba = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = px(x, y);
                rgba.extend_from_slice(&[r, g, b, 0]);
            }
        }
        assert_eq!(
            rgba_to_i420_scaled(&rgba, w * 4, 64, 48, 64, 48, SEC)?,
            direct
        );
        Ok(())
    }

    #[test]
    fn downscaling_averages_each_box() -> Result<(), MediaError> {
        // Each 2x2 block holds greys 0, 50, 100 and 250: their mean 100 is luma 102.
        let greys = [[0u8, 50], [100, 250]];
        let (img, stride) = bgrx_image(8, 4, 4, |x, y| [greys[y % 2][x % 2]; 3]);
        let f = bgrx_to_i420_scaled(&img, stride, 8, 4, 4, 2, SEC)?;
        assert!(f.y().iter().all(|&y| y == 102), "{:?}", f.y());
        assert!(f.u().iter().chain(f.v()).all(|&c| c == 128));
        // Left half red, right half blue, scaled 3:2 from an odd width: the halves stay
        // apart and pure.
        let (img, stride) = bgrx_image(
            15,
            9,
            0,
            |x, _| if x < 6 { [255, 0, 0] } else { [0, 0, 255] },
        );
        let f = bgrx_to_i420_scaled(&img, stride, 15, 9, 10, 6, SEC)?;
        assert_eq!(yuv_at(&f, 0, 0), (82, 90, 240));
        assert_eq!(yuv_at(&f, 9, 5), (41, 240, 110));
        Ok(())
    }

    #[test]
    fn scaled_gradients_stay_close_to_scaled_i420() -> Result<(), MediaError> {
        let (w, h) = (96usize, 72usize);
        let rgb = rgb_image(w, h);
        let (img, stride) = bgrx_image(w, h, 0, |x, y| {
            let i = (y * w + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        });
        let boxed = bgrx_to_i420_scaled(&img, stride, 96, 72, 64, 48, SEC)?;
        let bilinear = scale_i420(&rgb_to_i420(&rgb, 96, 72, false, SEC)?, 64, 48)?;
        assert!(psnr(&boxed, &bilinear)? > 35.0);
        Ok(())
    }

    #[test]
    fn bad_packed_input_is_an_error() {
        let (img, stride) = bgrx_image(8, 4, 4, |_, _| [1, 2, 3]);
        let ok = |r: Result<VideoFrame, MediaError>| r.is_ok();
        // The last row may end right after its pixels.
        assert!(ok(bgrx_to_i420_scaled(
            &img[..img.len() - 4],
            stride,
            8,
            4,
            8,
            4,
            SEC
        )));
        assert!(matches!(
            bgrx_to_i420_scaled(&img[..img.len() - 5], stride, 8, 4, 8, 4, SEC),
            Err(MediaError::InvalidData { .. })
        ));
        let invalid_argument =
            |r: Result<VideoFrame, MediaError>| matches!(r, Err(MediaError::InvalidArgument(_)));
        // Stride shorter than a row, scaling up, odd or zero output, zero or huge source.
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, 31, 8, 4, 8, 4, SEC
        )));
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, stride, 8, 4, 10, 4, SEC
        )));
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, stride, 8, 4, 7, 4, SEC
        )));
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, stride, 8, 4, 0, 0, SEC
        )));
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, stride, 0, 4, 2, 2, SEC
        )));
        assert!(invalid_argument(bgrx_to_i420_scaled(
            &img, stride, 40_000, 4, 2, 2, SEC
        )));
        assert!(invalid_argument(rgba_to_i420_scaled(
            &img, stride, 30_000, 30_000, 2, 2, SEC
        )));
    }

    #[test]
    fn packed_conversion_never_panics() {
        let buf: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in [0, 1, 15, 16, 63, 64, 200, 4096] {
            for stride in [0, 3, 4, 8, 12, 17, 40, usize::MAX / 2, usize::MAX] {
                for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 5), (10, 4), (u32::MAX, 2)] {
                    for (ow, oh) in [(0, 0), (2, 2), (2, 4), (4, 2), (10, 4), (3, 3)] {
                        let _ = bgrx_to_i420_scaled(&buf[..len], stride, w, h, ow, oh, SEC);
                        let _ = rgba_to_i420_scaled(&buf[..len], stride, w, h, ow, oh, SEC);
                    }
                }
            }
        }
    }
}
