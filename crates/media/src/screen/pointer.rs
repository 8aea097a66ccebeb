//! The mouse pointer drawn into a shared screen's frames: X11 grabs leave it out, and the
//! people watching a share follow what the presenter points at.

use crate::convert::{bt601_chroma, bt601_luma};
use crate::frame::VideoFrame;

/// A pointer image in premultiplied ARGB (as XFixes gives it), `width` x `height`, whose
/// top-left corner is at (`left`, `top`) in the pixels of the captured rectangle.
pub(crate) struct Pointer<'a> {
    pub left: i32,
    pub top: i32,
    pub width: u32,
    pub height: u32,
    pub argb: &'a [u32],
}

/// Draws `pointer` over `frame`, an I420 picture of a `source_width` x `source_height`
/// capture scaled to the frame's size: each frame pixel under the pointer takes the pointer
/// pixel at its centre (nearest), blended by its alpha; chroma is blended at the even pixels.
/// A pointer outside the frame, empty, or with too few pixels changes nothing.
pub(crate) fn draw_pointer(
    frame: &mut VideoFrame,
    source_width: u32,
    source_height: u32,
    pointer: &Pointer<'_>,
) {
    let (pw, ph) = (i64::from(pointer.width), i64::from(pointer.height));
    let needed = usize::try_from(pw * ph).unwrap_or(usize::MAX);
    if pw == 0 || ph == 0 || pointer.argb.len() < needed || source_width == 0 || source_height == 0
    {
        return;
    }
    let (fw, fh) = (i64::from(frame.width), i64::from(frame.height));
    let (sw, sh) = (i64::from(source_width), i64::from(source_height));
    let (left, top) = (i64::from(pointer.left), i64::from(pointer.top));
    // The frame pixels the pointer covers, clipped to the frame.
    let x0 = (left * fw).div_euclid(sw).max(0);
    let y0 = (top * fh).div_euclid(sh).max(0);
    let x1 = ((left + pw) * fw + sw - 1).div_euclid(sw).min(fw);
    let y1 = ((top + ph) * fh + sh - 1).div_euclid(sh).min(fh);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let stride = frame.width as usize;
    let (y_plane, u_plane, v_plane) = frame.planes_mut();
    for fy in y0..y1 {
        // The source pixel at the centre of this frame pixel, in pointer coordinates.
        let py = (2 * fy + 1) * sh / (2 * fh) - top;
        if !(0..ph).contains(&py) {
            continue;
        }
        for fx in x0..x1 {
            let px = (2 * fx + 1) * sw / (2 * fw) - left;
            if !(0..pw).contains(&px) {
                continue;
            }
            let argb = pointer.argb[(py * pw + px) as usize];
            let a = (argb >> 24) as i32;
            if a == 0 {
                continue;
            }
            let (r, g, b) = (
                ((argb >> 16) & 0xff) as i32,
                ((argb >> 8) & 0xff) as i32,
                (argb & 0xff) as i32,
            );
            let keep = 255 - a;
            // Premultiplied colour: its luma offset scales with alpha too.
            let over_y = bt601_luma(r, g, b) + 16 * a / 255;
            let at = fy as usize * stride + fx as usize;
            y_plane[at] = blend(y_plane[at], keep, over_y);
            if fx % 2 == 0 && fy % 2 == 0 {
                let c = (fy as usize / 2) * (stride / 2) + fx as usize / 2;
                let (cu, cv) = bt601_chroma(r, g, b);
                let (over_u, over_v) = (cu + 128 * a / 255, cv + 128 * a / 255);
                u_plane[c] = blend(u_plane[c], keep, over_u);
                v_plane[c] = blend(v_plane[c], keep, over_v);
            }
        }
    }
}

fn blend(under: u8, keep: i32, over: i32) -> u8 {
    (i32::from(under) * keep / 255 + over).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn grey(width: u32, height: u32, luma: u8) -> VideoFrame {
        let mut f = VideoFrame::black(width, height, Duration::ZERO).expect("frame");
        f.planes_mut().0.fill(luma);
        f
    }

    fn luma(f: &VideoFrame, x: usize, y: usize) -> u8 {
        f.y()[y * f.width as usize + x]
    }

    #[test]
    fn an_opaque_pointer_covers_its_pixels_at_scale() {
        // A 4x4 white pointer at (10, 10) of a 40x40 capture shown at 20x20.
        let white = vec![0xffff_ffff_u32; 16];
        let mut f = grey(20, 20, 16);
        let p = Pointer {
            left: 10,
            top: 10,
            width: 4,
            height: 4,
            argb: &white,
        };
        draw_pointer(&mut f, 40, 40, &p);
        for (x, y) in [(5, 5), (6, 6), (5, 6)] {
            assert_eq!(luma(&f, x, y), 235, "({x}, {y})");
        }
        for (x, y) in [(4, 5), (7, 5), (5, 7), (0, 0), (19, 19)] {
            assert_eq!(luma(&f, x, y), 16, "({x}, {y})");
        }
        // White has neutral chroma.
        assert_eq!(f.u()[3 * 10 + 3], 128);
    }

    #[test]
    fn alpha_blends_and_transparent_pixels_leave_the_picture() {
        // Premultiplied half-transparent black over mid grey: half as bright.
        let half_black = vec![0x8000_0000_u32, 0x0000_0000];
        let mut f = grey(4, 2, 200);
        let p = Pointer {
            left: 0,
            top: 0,
            width: 2,
            height: 1,
            argb: &half_black,
        };
        draw_pointer(&mut f, 4, 2, &p);
        let y = luma(&f, 0, 0);
        assert!((105..=110).contains(&y), "{y}");
        assert_eq!(luma(&f, 1, 0), 200, "a fully transparent pixel");
        assert_eq!(luma(&f, 0, 1), 200, "below the pointer");
    }

    #[test]
    fn pointers_at_or_over_the_edges_are_clipped_and_bad_ones_ignored() {
        let white = vec![0xffff_ffff_u32; 64];
        let before = grey(16, 16, 16);
        for (left, top) in [
            (-4, -4),
            (12, 12),
            (-100, 5),
            (5, 400),
            (i32::MIN / 2, i32::MAX / 2),
        ] {
            let mut f = before.clone();
            let p = Pointer {
                left,
                top,
                width: 8,
                height: 8,
                argb: &white,
            };
            draw_pointer(&mut f, 16, 16, &p);
            if (left, top) == (-4, -4) {
                assert_eq!(luma(&f, 0, 0), 235);
                assert_eq!(luma(&f, 4, 4), 16);
            }
            if (left, top) == (12, 12) {
                assert_eq!(luma(&f, 15, 15), 235);
                assert_eq!(luma(&f, 11, 11), 16);
            }
        }
        // Too few pixels for its size, or no size: nothing drawn, no panic.
        for (w, h) in [(9, 9), (0, 8), (8, 0)] {
            let mut f = before.clone();
            let p = Pointer {
                left: 2,
                top: 2,
                width: w,
                height: h,
                argb: &white,
            };
            draw_pointer(&mut f, 16, 16, &p);
            assert_eq!(f.y(), before.y());
        }
        let mut f = before.clone();
        let p = Pointer {
            left: 2,
            top: 2,
            width: 8,
            height: 8,
            argb: &white,
        };
        draw_pointer(&mut f, 0, 16, &p);
        assert_eq!(f.y(), before.y());
    }
}
