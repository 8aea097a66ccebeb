//! Screen capture on X11 through x11rb's pure-Rust connection: one connection per open
//! screen, monitors from RandR 1.5 `GetMonitors` (the whole root window without it), pixels
//! in ZPixmap format through MIT-SHM (`shm.rs`) or, where the server lacks it, core
//! `GetImage`, converted from 32-bit BGRX (24- or 32-bit depth) to I420 while scaling.
//!
//! Each frame asks for the monitor list, the pixels and (with XFixes) the pointer's image
//! together, so noticing an unplugged, moved or resized monitor and drawing the pointer,
//! which grabs leave out, cost no extra round trip. `list_screens` and `open_screen` here
//! take the display name, so tests and benchmarks can use their own X server; the
//! crate-level functions pass `$DISPLAY`.

mod shm;

use std::time::Instant;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::cookie::Cookie;
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _, ImageFormat, ImageOrder, Window};
use x11rb::rust_connection::RustConnection;

use super::pointer::{draw_pointer, Pointer};
use super::{fit_within, Pacer, ScreenInfo};
use crate::camera::{Camera, CameraInfo, CaptureFormat};
use crate::convert::{packed32_to_i420_scaled, Packed32};
use crate::error::DeviceKind;
use crate::frame::{media_time_of, VideoFrame};
use crate::MediaError;

/// Prefix of X11 screen ids; the rest is the RandR monitor name.
const PREFIX: &str = "x11:";
/// Id of the whole root window, used when the server has no RandR 1.5 monitors.
const ROOT_ID: &str = "x11:root";

/// The screens of the X display `display` (e.g. `:0`), primary first.
pub fn list_screens(display: &str) -> Result<Vec<ScreenInfo>, MediaError> {
    let session = Session::connect(display)?;
    Ok(session.outputs()?.into_iter().map(|o| o.info).collect())
}

/// Opens a screen of the X display `display`; see [`super::open_screen`].
pub fn open_screen(
    display: &str,
    id: Option<&str>,
    limit: CaptureFormat,
) -> Result<Box<dyn Camera>, MediaError> {
    limit.validate()?;
    let session = Session::connect(display)?;
    let outputs = session.outputs()?;
    let output = match id {
        None => outputs.into_iter().next(),
        Some(id) => outputs.into_iter().find(|o| o.info.id == id),
    }
    .ok_or_else(|| MediaError::DeviceNotFound {
        kind: DeviceKind::Screen,
        id: id.map(str::to_owned),
    })?;
    let (width, height) = fit_within(
        u32::from(output.rect.width),
        u32::from(output.rect.height),
        limit,
    )?;
    tracing::debug!(
        "sharing {} ({}x{}) as {width}x{height} at {} fps",
        output.info.id,
        output.rect.width,
        output.rect.height,
        limit.fps
    );
    let len = session.stride(output.rect.width) * usize::from(output.rect.height);
    let shm = match shm::Segment::attach(&session.conn, len) {
        Ok(seg) => Some(seg),
        Err(why) => {
            tracing::debug!("screen capture without MIT-SHM: {why}");
            None
        }
    };
    Ok(Box::new(X11Screen {
        info: CameraInfo {
            id: output.info.id,
            label: output.info.label,
            synthetic: false,
        },
        format: CaptureFormat::new(width, height, limit.fps),
        pacer: Pacer::new(limit.fps),
        shm,
        limit,
        target: output.target,
        rect: output.rect,
        session,
    }))
}

/// A rectangle of the root window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x: i16,
    y: i16,
    width: u16,
    height: u16,
}

/// What a screen id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A RandR monitor, by its name atom.
    Monitor(xproto::Atom),
    /// The whole root window.
    Root,
}

struct Output {
    info: ScreenInfo,
    target: Target,
    rect: Rect,
}

/// One connection to an X server and what it said about its pixel format.
struct Session {
    conn: RustConnection,
    display: String,
    root: Window,
    layout: Packed32,
    scanline_pad: u32,
    monitors: bool,
    /// XFixes is there to give the pointer's image.
    pointer: bool,
}

impl Session {
    fn connect(display: &str) -> Result<Self, MediaError> {
        if !display_number_ok(display) {
            return Err(MediaError::Unavailable(format!(
                "cannot connect to the X display '{display}': display number out of range"
            )));
        }
        let (conn, screen_num) = x11rb::connect(Some(display)).map_err(|e| {
            MediaError::Unavailable(format!("cannot connect to the X display '{display}': {e}"))
        })?;
        let setup = conn.setup();
        let screen = setup
            .roots
            .get(screen_num)
            .ok_or_else(|| MediaError::Device {
                kind: DeviceKind::Screen,
                id: display.to_owned(),
                message: format!("the X server has no screen {screen_num}"),
            })?;
        let depth = screen.root_depth;
        let format = setup.pixmap_formats.iter().find(|f| f.depth == depth);
        let bpp = format.map_or(0, |f| f.bits_per_pixel);
        let unsupported = |what: String| MediaError::UnsupportedFormat {
            kind: DeviceKind::Screen,
            id: display.to_owned(),
            what,
        };
        if !matches!(depth, 24 | 32) || bpp != 32 {
            return Err(unsupported(format!(
                "sharing a {depth}-bit display ({bpp} bits per pixel); only 24- and 32-bit \
                 colour at 32 bits per pixel can be shared"
            )));
        }
        let scanline_pad = format.map_or(32, |f| u32::from(f.scanline_pad));
        let visual = screen
            .allowed_depths
            .iter()
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == screen.root_visual)
            .ok_or_else(|| unsupported("sharing a display without a root visual".into()))?;
        let masks = (visual.red_mask, visual.green_mask, visual.blue_mask);
        let layout = layout_of(setup.image_byte_order, masks).ok_or_else(|| {
            unsupported(format!(
                "the pixel layout with masks {:06x}/{:06x}/{:06x}",
                masks.0, masks.1, masks.2
            ))
        })?;
        let root = screen.root;
        let mut session = Session {
            conn,
            display: display.to_owned(),
            root,
            layout,
            scanline_pad: scanline_pad.max(8),
            monitors: false,
            pointer: false,
        };
        session.monitors = session.has_monitors()?;
        session.pointer = session.has_pointer_images();
        Ok(session)
    }

    /// True when the server speaks RandR 1.5 (`GetMonitors`).
    fn has_monitors(&self) -> Result<bool, MediaError> {
        let ext = self
            .conn
            .extension_information(randr::X11_EXTENSION_NAME)
            .map_err(|e| self.lost(&self.display, e))?;
        if ext.is_none() {
            return Ok(false);
        }
        let version = self
            .conn
            .randr_query_version(1, 5)
            .map_err(|e| self.lost(&self.display, e))?
            .reply()
            .map_err(|e| self.failed(&self.display, "the RandR version", e))?;
        Ok((version.major_version, version.minor_version) >= (1, 5))
    }

    /// True when the server gives the pointer's image (XFixes; a client must say which
    /// version it speaks before its first request). Without it shares show no pointer.
    fn has_pointer_images(&self) -> bool {
        let present = self
            .conn
            .extension_information(xfixes::X11_EXTENSION_NAME)
            .is_ok_and(|ext| ext.is_some());
        present
            && self
                .conn
                .xfixes_query_version(4, 0)
                .ok()
                .and_then(|cookie| cookie.reply().ok())
                .is_some_and(|v| v.major_version >= 1)
    }

    /// The screens to offer: active RandR monitors (primary first), or the root window.
    fn outputs(&self) -> Result<Vec<Output>, MediaError> {
        let monitors = if self.monitors {
            self.conn
                .randr_get_monitors(self.root, true)
                .map_err(|e| self.lost(&self.display, e))?
                .reply()
                .map_err(|e| self.failed(&self.display, "the monitor list", e))?
                .monitors
        } else {
            Vec::new()
        };
        let monitors: Vec<_> = monitors
            .into_iter()
            .filter(|m| m.width > 0 && m.height > 0)
            .collect();
        if monitors.is_empty() {
            let rect = self
                .root_rect()
                .map_err(|e| self.failed(&self.display, "the root window's size", e))?;
            return Ok(vec![Output {
                info: ScreenInfo {
                    id: ROOT_ID.into(),
                    label: format!("Screen 1 ({}×{})", rect.width, rect.height),
                    width: rect.width.into(),
                    height: rect.height.into(),
                    primary: true,
                },
                target: Target::Root,
                rect,
            }]);
        }
        // Ask for every name before reading any answer: one round trip for all.
        let cookies = monitors
            .iter()
            .map(|m| self.conn.get_atom_name(m.name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.lost(&self.display, e))?;
        let mut outputs = Vec::with_capacity(monitors.len());
        for (m, cookie) in monitors.into_iter().zip(cookies) {
            let name = cookie
                .reply()
                .map_err(|e| self.failed(&self.display, "a monitor's name", e))?
                .name;
            let name = String::from_utf8_lossy(&name).into_owned();
            outputs.push(Output {
                info: ScreenInfo {
                    id: format!("{PREFIX}{name}"),
                    label: name,
                    width: m.width.into(),
                    height: m.height.into(),
                    primary: m.primary,
                },
                target: Target::Monitor(m.name),
                rect: Rect {
                    x: m.x,
                    y: m.y,
                    width: m.width,
                    height: m.height,
                },
            });
        }
        outputs.sort_by_key(|o| !o.info.primary);
        if let Some(first) = outputs.first_mut() {
            // No primary monitor set: the first listed is the one used by default.
            first.info.primary = true;
        }
        for (n, o) in outputs.iter_mut().enumerate() {
            o.info.label = format!(
                "Screen {} – {} ({}×{})",
                n + 1,
                o.info.label,
                o.info.width,
                o.info.height
            );
        }
        Ok(outputs)
    }

    fn root_rect(&self) -> Result<Rect, ReplyError> {
        let g = self.conn.get_geometry(self.root)?.reply()?;
        Ok(Rect {
            x: 0,
            y: 0,
            width: g.width,
            height: g.height,
        })
    }

    /// Sends the request that tells where `target` is now.
    fn ask_geometry(&self, target: Target) -> Result<GeometryCookie<'_>, ConnectionError> {
        Ok(match target {
            Target::Monitor(name) => {
                GeometryCookie::Monitors(self.conn.randr_get_monitors(self.root, true)?, name)
            }
            Target::Root => GeometryCookie::Root(self.conn.get_geometry(self.root)?),
        })
    }

    /// Bytes between rows of a ZPixmap image `width` pixels wide.
    fn stride(&self, width: u16) -> usize {
        let bits = u32::from(width) * 32;
        (bits.div_ceil(self.scanline_pad) * self.scanline_pad / 8) as usize
    }

    fn lost(&self, id: &str, e: ConnectionError) -> MediaError {
        MediaError::Device {
            kind: DeviceKind::Screen,
            id: id.to_owned(),
            message: format!(
                "lost the connection to the X server on '{}': {e}",
                self.display
            ),
        }
    }

    fn failed(&self, id: &str, what: &str, e: ReplyError) -> MediaError {
        match e {
            ReplyError::ConnectionError(e) => self.lost(id, e),
            ReplyError::X11Error(e) => MediaError::Device {
                kind: DeviceKind::Screen,
                id: id.to_owned(),
                message: format!("the X server refused to give {what}: {:?}", e.error_kind),
            },
        }
    }
}

/// A pending answer to "where is the screen now".
enum GeometryCookie<'c> {
    Monitors(
        Cookie<'c, RustConnection, randr::GetMonitorsReply>,
        xproto::Atom,
    ),
    Root(Cookie<'c, RustConnection, xproto::GetGeometryReply>),
}

impl GeometryCookie<'_> {
    /// The screen's rectangle now; `None` once the monitor is gone.
    fn reply(self) -> Result<Option<Rect>, ReplyError> {
        Ok(match self {
            GeometryCookie::Monitors(cookie, name) => cookie
                .reply()?
                .monitors
                .into_iter()
                .find(|m| m.name == name && m.width > 0 && m.height > 0)
                .map(|m| Rect {
                    x: m.x,
                    y: m.y,
                    width: m.width,
                    height: m.height,
                }),
            GeometryCookie::Root(cookie) => {
                let g = cookie.reply()?;
                Some(Rect {
                    x: 0,
                    y: 0,
                    width: g.width,
                    height: g.height,
                })
            }
        })
    }
}

/// False for display numbers x11rb 0.14 would overflow on (it adds 6000, the X11 TCP port
/// base, to a `u16`, which panics in debug builds): `DISPLAY` comes from outside.
fn display_number_ok(display: &str) -> bool {
    let after_colon = display.rsplit_once(':').map_or("", |(_, n)| n);
    let number = after_colon.split('.').next().unwrap_or("");
    match number.parse::<u32>() {
        Ok(n) => n <= u32::from(u16::MAX - 6000),
        // Not a number: x11rb's own parser reports it.
        Err(_) => true,
    }
}

/// Which bytes of a 32-bit ZPixmap pixel hold red, green and blue, from the visual's masks
/// and the server's image byte order; `None` for layouts the converter does not know.
fn layout_of(order: ImageOrder, (red, green, blue): (u32, u32, u32)) -> Option<Packed32> {
    let byte = |mask: u32| -> Option<usize> {
        let k = match mask {
            0xff => 0,
            0xff00 => 1,
            0xff_0000 => 2,
            0xff00_0000 => 3,
            _ => return None,
        };
        Some(if order == ImageOrder::LSB_FIRST {
            k
        } else {
            3 - k
        })
    };
    match (byte(red)?, byte(green)?, byte(blue)?) {
        (2, 1, 0) => Some(Packed32::Bgrx),
        (0, 1, 2) => Some(Packed32::Rgbx),
        (1, 2, 3) => Some(Packed32::Xrgb),
        _ => None,
    }
}

/// An open X11 screen.
struct X11Screen {
    session: Session,
    info: CameraInfo,
    format: CaptureFormat,
    pacer: Pacer,
    target: Target,
    /// Where the screen was last seen.
    rect: Rect,
    /// The size and rate asked for; `format` is what fits the screen within it.
    limit: CaptureFormat,
    /// MIT-SHM memory for grabs, when the server offers it.
    shm: Option<shm::Segment>,
}

/// A frame, or the X server's error for the grab.
type Grabbed = Result<VideoFrame, ReplyError>;

/// A grab on its way: through shared memory or through the socket.
enum PendingImage<'c> {
    Shm(Cookie<'c, RustConnection, x11rb::protocol::shm::GetImageReply>),
    Core(Cookie<'c, RustConnection, xproto::GetImageReply>),
}

impl X11Screen {
    fn unplugged(&self) -> MediaError {
        MediaError::DeviceUnplugged {
            kind: DeviceKind::Screen,
            id: self.info.id.clone(),
        }
    }

    /// Grabs the screen where it is now. Tries once more when it moved between asking for
    /// its geometry and its pixels, and goes on without MIT-SHM when the server refuses it.
    fn grab(&mut self) -> Result<VideoFrame, MediaError> {
        let mut retried = false;
        loop {
            let rect = self.rect;
            let Some((now, image)) = self.grab_at(rect)? else {
                return Err(self.unplugged());
            };
            self.rect = now;
            match image {
                Ok(frame) => return Ok(frame),
                Err(ReplyError::X11Error(_)) if now != rect && !retried => retried = true,
                Err(ReplyError::X11Error(e)) if self.shm.is_some() => {
                    tracing::debug!("MIT-SHM grab failed ({:?}), using GetImage", e.error_kind);
                    self.drop_shm();
                }
                Err(e) => return Err(self.session.failed(&self.info.id, "the screen's pixels", e)),
            }
        }
    }

    /// One grab of `rect`, asking for the screen's geometry in the same round trip: `None`
    /// when the screen is gone, else where it is now and the frame (or the X error).
    fn grab_at(&mut self, rect: Rect) -> Result<Option<(Rect, Grabbed)>, MediaError> {
        let session = &self.session;
        let id = self.info.id.as_str();
        let taken = media_time_of(Instant::now());
        let stride = session.stride(rect.width);
        let len = stride * usize::from(rect.height);
        let geometry = session
            .ask_geometry(self.target)
            .map_err(|e| session.lost(id, e))?;
        let pending = match &self.shm {
            Some(seg) if len <= seg.len() => seg
                .request(
                    &session.conn,
                    session.root,
                    (rect.x, rect.y, rect.width, rect.height),
                )
                .map(PendingImage::Shm),
            _ => session
                .conn
                .get_image(
                    ImageFormat::Z_PIXMAP,
                    session.root,
                    rect.x,
                    rect.y,
                    rect.width,
                    rect.height,
                    !0,
                )
                .map(PendingImage::Core),
        }
        .map_err(|e| session.lost(id, e))?;
        let pointer = if session.pointer {
            Some(
                session
                    .conn
                    .xfixes_get_cursor_image()
                    .map_err(|e| session.lost(id, e))?,
            )
        } else {
            None
        };
        let Some(now) = geometry
            .reply()
            .map_err(|e| session.failed(id, "where the screen is", e))?
        else {
            return Ok(None);
        };
        // After a resolution change the output follows: the same limit, the new shape.
        let (width, height) = (u32::from(rect.width), u32::from(rect.height));
        let (out_width, out_height) = fit_within(width, height, self.limit)?;
        self.format = CaptureFormat::new(out_width, out_height, self.limit.fps);
        let convert = |pixels: &[u8]| {
            packed32_to_i420_scaled(
                session.layout,
                pixels,
                stride,
                (width, height),
                (out_width, out_height),
                taken,
            )
        };
        let mut image = match pending {
            PendingImage::Shm(cookie) => match (cookie.reply(), self.shm.as_mut()) {
                (Ok(_), Some(seg)) => Ok(convert(seg.pixels(len))?),
                (Ok(_), None) => return Err(MediaError::Stopped("screen's shared memory")),
                (Err(e), _) => Err(e),
            },
            PendingImage::Core(cookie) => match cookie.reply() {
                Ok(image) => Ok(convert(&image.data)?),
                Err(e) => Err(e),
            },
        };
        match (pointer.map(Cookie::reply), &mut image) {
            (Some(Ok(cursor)), Ok(frame)) => {
                let at = |pos: i16, hot: u16, origin: i16| {
                    i32::from(pos) - i32::from(hot) - i32::from(origin)
                };
                let shape = Pointer {
                    left: at(cursor.x, cursor.xhot, rect.x),
                    top: at(cursor.y, cursor.yhot, rect.y),
                    width: cursor.width.into(),
                    height: cursor.height.into(),
                    argb: &cursor.cursor_image,
                };
                draw_pointer(frame, width, height, &shape);
            }
            // The share goes on without a pointer.
            (Some(Err(e)), _) => tracing::debug!("pointer image: {e}"),
            _ => {}
        }
        Ok(Some((now, image)))
    }

    fn drop_shm(&mut self) {
        if let Some(seg) = self.shm.take() {
            seg.detach(&self.session.conn);
        }
    }
}

impl Drop for X11Screen {
    fn drop(&mut self) {
        self.drop_shm();
    }
}

impl Camera for X11Screen {
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn format(&self) -> CaptureFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, MediaError> {
        self.pacer.wait();
        self.grab()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_layouts_follow_masks_and_byte_order() {
        let rgb = (0xff_0000, 0xff00, 0xff);
        assert_eq!(layout_of(ImageOrder::LSB_FIRST, rgb), Some(Packed32::Bgrx));
        assert_eq!(layout_of(ImageOrder::MSB_FIRST, rgb), Some(Packed32::Xrgb));
        assert_eq!(
            layout_of(ImageOrder::LSB_FIRST, (0xff, 0xff00, 0xff_0000)),
            Some(Packed32::Rgbx)
        );
        // 10-bit colour and 16-bit (565) layouts are refused.
        assert_eq!(
            layout_of(ImageOrder::LSB_FIRST, (0x3ff0_0000, 0xffc00, 0x3ff)),
            None
        );
        assert_eq!(
            layout_of(ImageOrder::LSB_FIRST, (0xf800, 0x7e0, 0x1f)),
            None
        );
    }

    #[test]
    fn unreachable_displays_are_an_error() {
        // A display number nobody uses, one past what x11rb can take, and nonsense: errors
        // without a panic.
        for display in [":59000", ":65000", "host:70000.0", "::", "nonsense"] {
            assert!(
                matches!(list_screens(display), Err(MediaError::Unavailable(_))),
                "{display}"
            );
        }
        assert!(display_number_ok(":0") && display_number_ok("localhost:10.0"));
        assert!(!display_number_ok(":59536") && !display_number_ok("unix:65535.1"));
    }
}
