//! Screens (monitors) captured for screen sharing, delivered as a [`Camera`] so that the
//! capture → encode path takes them unchanged.
//!
//! [`list_screens`] says what can be shared, [`open_screen`] opens one: every
//! [`Camera::next_frame`] call waits for the next frame's turn at the requested rate, grabs
//! the screen and converts it to I420, scaled down in the same pass to fit the requested
//! size. Backends: X11 through one x11rb connection per open screen on Linux, xcap on
//! Windows and macOS. Wayland needs the desktop portal and PipeWire, which are not done yet:
//! there the list is empty and opening says why.

#[cfg(target_os = "linux")]
mod pointer;
#[cfg(target_os = "linux")]
pub mod x11;
#[cfg(any(windows, target_os = "macos"))]
mod xcap_backend;

use std::time::{Duration, Instant};

use crate::camera::{Camera, CaptureFormat};
use crate::MediaError;

/// A screen (monitor) that can be shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenInfo {
    /// Stable id (`x11:<monitor name>` on X11): the same monitor keeps it while plugged in.
    pub id: String,
    /// Name to show a person.
    pub label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// True for the primary monitor (on X11 without a primary one set: the first listed).
    pub primary: bool,
}

/// The screens present now, primary first.
///
/// On Wayland the list is empty (sharing there is not available yet); with no display at
/// all it is an error.
pub fn list_screens() -> Result<Vec<ScreenInfo>, MediaError> {
    #[cfg(target_os = "linux")]
    {
        match display_server_from_env() {
            DisplayServer::X11(display) => x11::list_screens(&display),
            DisplayServer::Wayland => Ok(Vec::new()),
            DisplayServer::None => Err(no_display()),
        }
    }
    #[cfg(any(windows, target_os = "macos"))]
    {
        xcap_backend::list_screens()
    }
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    {
        Err(not_supported())
    }
}

/// Opens a screen for capture (None: the primary one). Frames are I420, scaled down (never
/// up) to fit within `limit.width` x `limit.height` keeping the aspect ratio (even
/// dimensions), and paced at `limit.fps` (next_frame blocks until the next frame is due,
/// like the camera does).
///
/// `format()` of the result is the actual output size and rate. Errors: `DeviceNotFound`
/// for an unknown id, `InvalidArgument` for a bad limit, `Unavailable` on Wayland or
/// without a display; a monitor that goes away while captured fails `next_frame` with
/// `DeviceUnplugged`.
pub fn open_screen(id: Option<&str>, limit: CaptureFormat) -> Result<Box<dyn Camera>, MediaError> {
    limit.validate()?;
    #[cfg(target_os = "linux")]
    {
        match display_server_from_env() {
            DisplayServer::X11(display) => x11::open_screen(&display, id, limit),
            DisplayServer::Wayland => Err(wayland_unavailable()),
            DisplayServer::None => Err(no_display()),
        }
    }
    #[cfg(any(windows, target_os = "macos"))]
    {
        xcap_backend::open_screen(id, limit)
    }
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    {
        let _ = id;
        Err(not_supported())
    }
}

/// Which display server a Linux desktop session runs, as far as screen capture cares.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DisplayServer {
    /// An X11 server at this display name (e.g. `:0`).
    X11(String),
    /// A Wayland session; its X11 display, if any, is XWayland, which shows only X clients.
    Wayland,
    /// No display at all (a server, a plain console, CI without Xvfb).
    None,
}

/// Decides the display server from `XDG_SESSION_TYPE`, `WAYLAND_DISPLAY` and `DISPLAY`
/// (empty values count as unset). A pure function so that it is testable; environment
/// variables are process-global.
#[cfg(target_os = "linux")]
pub(crate) fn display_server(
    session_type: Option<&str>,
    wayland_display: Option<&str>,
    display: Option<&str>,
) -> DisplayServer {
    fn set(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let wayland_session = set(session_type).is_some_and(|t| t.eq_ignore_ascii_case("wayland"));
    if wayland_session || set(wayland_display).is_some() {
        return DisplayServer::Wayland;
    }
    match set(display) {
        Some(d) => DisplayServer::X11(d.to_owned()),
        None => DisplayServer::None,
    }
}

#[cfg(target_os = "linux")]
fn display_server_from_env() -> DisplayServer {
    let var = |name| std::env::var(name).ok();
    display_server(
        var("XDG_SESSION_TYPE").as_deref(),
        var("WAYLAND_DISPLAY").as_deref(),
        var("DISPLAY").as_deref(),
    )
}

#[cfg(target_os = "linux")]
fn wayland_unavailable() -> MediaError {
    MediaError::Unavailable(
        "screen sharing on Wayland is not available yet (it needs the desktop portal and \
         PipeWire); log in to an X11 session to share your screen"
            .into(),
    )
}

#[cfg(target_os = "linux")]
fn no_display() -> MediaError {
    MediaError::Unavailable("no display to share (DISPLAY is not set)".into())
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn not_supported() -> MediaError {
    MediaError::Unavailable("screen sharing is not supported on this platform".into())
}

// Unused where no backend exists (neither Linux, Windows nor macOS).
#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code)
)]
/// The output size for a `width` x `height` screen under `limit`: scaled down (never up) to
/// fit within it keeping the aspect ratio, rounded down to even sizes.
pub(crate) fn fit_within(
    width: u32,
    height: u32,
    limit: CaptureFormat,
) -> Result<(u32, u32), MediaError> {
    if width < 2 || height < 2 {
        return Err(MediaError::InvalidArgument(format!(
            "a {width}x{height} screen is too small to share"
        )));
    }
    let (w, h) = (u64::from(width), u64::from(height));
    let (lw, lh) = (u64::from(limit.width), u64::from(limit.height));
    let (ow, oh) = if w <= lw && h <= lh {
        (w, h)
    } else if w * lh >= h * lw {
        // Relatively wider than the limit: the width decides.
        (lw, h * lw / w)
    } else {
        (w * lh / h, lh)
    };
    let even = |v: u64| (v & !1).max(2) as u32;
    Ok((even(ow), even(oh)))
}

#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code)
)]
/// Keeps `next_frame` at the requested rate, like the synthetic camera: waits for the next
/// due time, and after a stall restarts the cadence instead of bursting to catch up.
pub(crate) struct Pacer {
    period: Duration,
    next_due: Instant,
}

impl Pacer {
    pub(crate) fn new(fps: u32) -> Self {
        Pacer {
            period: Duration::from_secs(1) / fps.max(1),
            next_due: Instant::now(),
        }
    }

    /// Sleeps until the next frame is due.
    pub(crate) fn wait(&mut self) {
        let now = Instant::now();
        if self.next_due > now {
            std::thread::sleep(self.next_due - now);
        }
        self.next_due += self.period;
        if self.next_due + self.period < Instant::now() {
            self.next_due = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_fits_the_limit_keeping_the_aspect_ratio() -> Result<(), MediaError> {
        let limit = CaptureFormat::new(1280, 720, 15);
        assert_eq!(fit_within(1920, 1080, limit)?, (1280, 720));
        assert_eq!(
            fit_within(1280, 800, CaptureFormat::new(640, 400, 10))?,
            (640, 400)
        );
        // 16:10 into 16:9: the height decides; 4:3 likewise.
        assert_eq!(fit_within(1920, 1200, limit)?, (1152, 720));
        assert_eq!(fit_within(1024, 768, limit)?, (960, 720));
        // Very wide: the width decides, and sizes stay even.
        assert_eq!(fit_within(3840, 1080, limit)?, (1280, 360));
        assert_eq!(fit_within(2561, 1081, limit)?, (1280, 540));
        // Never scaled up; odd sizes lose a pixel.
        assert_eq!(fit_within(800, 600, limit)?, (800, 600));
        assert_eq!(fit_within(1023, 767, limit)?, (960, 720));
        assert_eq!(fit_within(801, 601, limit)?, (800, 600));
        assert!(matches!(
            fit_within(1, 600, limit),
            Err(MediaError::InvalidArgument(_))
        ));
        assert!(matches!(
            fit_within(0, 0, limit),
            Err(MediaError::InvalidArgument(_))
        ));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn wayland_and_missing_displays_are_recognised() {
        use DisplayServer as D;
        assert_eq!(
            display_server(Some("x11"), None, Some(":0")),
            D::X11(":0".into())
        );
        assert_eq!(
            display_server(None, None, Some(":99")),
            D::X11(":99".into())
        );
        assert_eq!(
            display_server(Some("wayland"), None, Some(":0")),
            D::Wayland
        );
        assert_eq!(
            display_server(Some("tty"), Some("wayland-0"), Some(":1")),
            D::Wayland
        );
        assert_eq!(display_server(None, Some("wayland-0"), None), D::Wayland);
        assert_eq!(
            display_server(Some("x11"), Some(""), Some(":0")),
            D::X11(":0".into())
        );
        assert_eq!(display_server(Some("tty"), None, None), D::None);
        assert_eq!(display_server(None, None, Some("")), D::None);
    }

    #[test]
    fn bad_limits_are_invalid_arguments() {
        for limit in [
            CaptureFormat::new(0, 720, 15),
            CaptureFormat::new(1279, 720, 15),
            CaptureFormat::new(100_000, 720, 15),
            CaptureFormat::new(1280, 720, 0),
        ] {
            assert!(
                matches!(
                    open_screen(None, limit),
                    Err(MediaError::InvalidArgument(_))
                ),
                "{limit:?}"
            );
        }
    }

    #[test]
    fn the_pacer_keeps_the_rate() {
        let mut pacer = Pacer::new(50);
        let start = Instant::now();
        for _ in 0..6 {
            pacer.wait();
        }
        // The first frame is due at once, the sixth five periods (100 ms) later.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
    }
}
