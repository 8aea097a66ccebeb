//! Screen capture on X11 against a private Xvfb per test: the monitor list, the output size,
//! the captured colours, the pacing, unknown ids, monitors that go away and a server that
//! dies. Skipped (with a message) where Xvfb is not installed.
#![cfg(target_os = "linux")]

#[path = "common/xvfb.rs"]
mod xvfb;

use std::time::{Duration, Instant};

use huddle_media::convert::rgb_to_i420;
use huddle_media::screen::x11::{list_screens, open_screen};
use huddle_media::{CaptureFormat, DeviceKind, MediaError, VideoFrame};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::rust_connection::RustConnection;
use xvfb::Xvfb;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A 1280x800 Xvfb, or `None` (with a message) where Xvfb is missing.
fn xvfb(test: &str) -> Result<Option<Xvfb>, Box<dyn std::error::Error>> {
    xvfb_with(test, 24, &[])
}

fn xvfb_with(
    test: &str,
    depth: u32,
    extra: &[&str],
) -> Result<Option<Xvfb>, Box<dyn std::error::Error>> {
    let server = Xvfb::start_with(1280, 800, depth, extra)?;
    if server.is_none() {
        eprintln!("{test}: skipped, Xvfb is not installed");
    }
    Ok(server)
}

/// Connects a second client, as another application on the desktop would be.
fn client(server: &Xvfb) -> Result<(RustConnection, xproto::Window), Box<dyn std::error::Error>> {
    let (conn, screen) = x11rb::connect(Some(server.display()))?;
    let root = conn.setup().roots[screen].root;
    Ok((conn, root))
}

/// Fills a rectangle of the root window with an RGB colour and waits until it is drawn.
fn fill(
    conn: &RustConnection,
    root: xproto::Window,
    rgb: [u8; 3],
    rect: xproto::Rectangle,
) -> TestResult {
    let pixel = u32::from(rgb[0]) << 16 | u32::from(rgb[1]) << 8 | u32::from(rgb[2]);
    let gc = conn.generate_id()?;
    conn.create_gc(gc, root, &xproto::CreateGCAux::new().foreground(pixel))?;
    conn.poly_fill_rectangle(root, gc, &[rect])?;
    conn.free_gc(gc)?;
    // A round trip: everything before it has been drawn when the answer comes.
    conn.get_input_focus()?.reply()?;
    Ok(())
}

fn rect(x: i16, y: i16, width: u16, height: u16) -> xproto::Rectangle {
    xproto::Rectangle {
        x,
        y,
        width,
        height,
    }
}

fn yuv_at(f: &VideoFrame, x: usize, y: usize) -> (u8, u8, u8) {
    let w = f.width as usize;
    let c = (y / 2) * (w / 2) + x / 2;
    (f.y()[y * w + x], f.u()[c], f.v()[c])
}

#[test]
fn the_screen_is_listed_opened_scaled_and_paced() -> TestResult {
    let Some(server) = xvfb("the_screen_is_listed_opened_scaled_and_paced")? else {
        return Ok(());
    };
    let screens = list_screens(server.display())?;
    assert_eq!(screens.len(), 1, "{screens:?}");
    let screen = &screens[0];
    assert_eq!(
        (screen.width, screen.height, screen.primary),
        (1280, 800, true)
    );
    assert!(screen.id.starts_with("x11:"), "{}", screen.id);
    assert!(screen.label.contains("1280×800"), "{}", screen.label);

    let mut cam = open_screen(server.display(), None, CaptureFormat::new(640, 400, 10))?;
    assert_eq!(cam.format(), CaptureFormat::new(640, 400, 10));
    assert_eq!(cam.info().id, screen.id);
    // The same screen by its id; a larger limit never scales up.
    let big = open_screen(
        server.display(),
        Some(&screen.id),
        CaptureFormat::new(1920, 1080, 5),
    )?;
    assert_eq!(big.format(), CaptureFormat::new(1280, 800, 5));
    drop(big);

    let start = Instant::now();
    for _ in 0..10 {
        let frame = cam.next_frame()?;
        assert_eq!((frame.width, frame.height), (640, 400));
    }
    // Ten frames at 10 fps: the first at once, then nine periods. A sanity check only.
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(850) && took <= Duration::from_secs(3),
        "10 frames took {took:?}"
    );
    Ok(())
}

#[test]
fn captured_colours_match_what_was_drawn() -> TestResult {
    let Some(server) = xvfb("captured_colours_match_what_was_drawn")? else {
        return Ok(());
    };
    check_colours(&server)
}

#[test]
fn without_mit_shm_core_get_image_captures_the_same() -> TestResult {
    let test = "without_mit_shm_core_get_image_captures_the_same";
    let Some(server) = xvfb_with(test, 24, &["-extension", "MIT-SHM"])? else {
        return Ok(());
    };
    let (conn, _) = client(&server)?;
    let shm = conn.extension_information(x11rb::protocol::shm::X11_EXTENSION_NAME)?;
    assert!(shm.is_none(), "MIT-SHM is still on");
    check_colours(&server)
}

/// Draws known colours and finds them at the same place, half scale, in the next frames.
fn check_colours(server: &Xvfb) -> TestResult {
    let (conn, root) = client(server)?;
    let mut cam = open_screen(server.display(), None, CaptureFormat::new(640, 400, 30))?;
    let orange = [255, 128, 0];
    let teal = [0, 128, 128];
    fill(&conn, root, teal, rect(0, 0, 1280, 800))?;
    fill(&conn, root, orange, rect(400, 200, 200, 160))?;
    let expect = |rgb: [u8; 3]| -> Result<(u8, u8, u8), MediaError> {
        let f = rgb_to_i420(&rgb.repeat(4), 2, 2, false, Duration::ZERO)?;
        Ok((f.y()[0], f.u()[0], f.v()[0]))
    };
    let frame = cam.next_frame()?;
    // The rectangle is at half scale: (200, 100) to (300, 180) in the frame.
    assert_eq!(yuv_at(&frame, 250, 140), expect(orange)?);
    assert_eq!(yuv_at(&frame, 202, 102), expect(orange)?);
    assert_eq!(yuv_at(&frame, 100, 300), expect(teal)?);
    assert_eq!(yuv_at(&frame, 310, 140), expect(teal)?);
    // A new drawing shows in the next frame.
    fill(&conn, root, teal, rect(400, 200, 200, 160))?;
    let frame = cam.next_frame()?;
    assert_eq!(yuv_at(&frame, 250, 140), expect(teal)?);
    Ok(())
}

#[test]
fn a_16_bit_display_is_refused_clearly() -> TestResult {
    let Some(server) = xvfb_with("a_16_bit_display_is_refused_clearly", 16, &[])? else {
        return Ok(());
    };
    let limit = CaptureFormat::new(640, 400, 10);
    match open_screen(server.display(), None, limit) {
        Err(e @ MediaError::UnsupportedFormat { .. }) => {
            assert!(e.to_string().contains("16-bit"), "{e}");
        }
        Err(e) => return Err(format!("expected UnsupportedFormat, got {e}").into()),
        Ok(_) => return Err("a 16-bit display opened".into()),
    }
    Ok(())
}

#[test]
fn unknown_screens_are_not_found() -> TestResult {
    let Some(server) = xvfb("unknown_screens_are_not_found")? else {
        return Ok(());
    };
    let limit = CaptureFormat::new(640, 400, 10);
    match open_screen(server.display(), Some("x11:NOPE-1"), limit) {
        Err(MediaError::DeviceNotFound {
            kind: DeviceKind::Screen,
            id: Some(id),
        }) => assert_eq!(id, "x11:NOPE-1"),
        Err(e) => return Err(format!("expected DeviceNotFound, got {e}").into()),
        Ok(_) => return Err("an unknown screen opened".into()),
    }
    Ok(())
}

#[test]
fn a_monitor_that_goes_away_is_unplugged() -> TestResult {
    let Some(server) = xvfb("a_monitor_that_goes_away_is_unplugged")? else {
        return Ok(());
    };
    let (conn, root) = client(&server)?;
    // A second, virtual monitor over the right half, as `xrandr --setmonitor` makes.
    let name = conn.intern_atom(false, b"HUDDLE-TEST")?.reply()?.atom;
    let monitor = randr::MonitorInfo {
        name,
        primary: false,
        automatic: false,
        x: 640,
        y: 0,
        width: 640,
        height: 800,
        width_in_millimeters: 170,
        height_in_millimeters: 210,
        outputs: Vec::new(),
    };
    conn.randr_set_monitor(root, monitor)?;
    conn.get_input_focus()?.reply()?;

    let screens = list_screens(server.display())?;
    assert_eq!(screens.len(), 2, "{screens:?}");
    assert!(screens[0].primary, "{screens:?}");
    let extra = screens
        .iter()
        .find(|s| s.id == "x11:HUDDLE-TEST")
        .ok_or("the virtual monitor is not listed")?;
    assert_eq!((extra.width, extra.height), (640, 800));

    let mut cam = open_screen(
        server.display(),
        Some("x11:HUDDLE-TEST"),
        CaptureFormat::new(1280, 720, 30),
    )?;
    // 640x800 into 1280x720: the height decides.
    assert_eq!(cam.format(), CaptureFormat::new(576, 720, 30));
    let frame = cam.next_frame()?;
    assert_eq!((frame.width, frame.height), (576, 720));

    conn.randr_delete_monitor(root, name)?;
    conn.get_input_focus()?.reply()?;
    match cam.next_frame() {
        Err(MediaError::DeviceUnplugged {
            kind: DeviceKind::Screen,
            id,
        }) => assert_eq!(id, "x11:HUDDLE-TEST"),
        other => return Err(format!("expected DeviceUnplugged, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn a_dead_x_server_is_an_error_not_a_panic() -> TestResult {
    let Some(mut server) = xvfb("a_dead_x_server_is_an_error_not_a_panic")? else {
        return Ok(());
    };
    let mut cam = open_screen(server.display(), None, CaptureFormat::new(320, 200, 30))?;
    cam.next_frame()?;
    server.stop();
    let err = cam
        .next_frame()
        .err()
        .ok_or("a frame came from a stopped server")?;
    assert!(
        matches!(
            err,
            MediaError::Device {
                kind: DeviceKind::Screen,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("lost the connection"), "{err}");
    Ok(())
}

#[test]
fn the_pointer_is_drawn_into_the_share() -> TestResult {
    use x11rb::protocol::xfixes::ConnectionExt as _;
    let Some(server) = xvfb("the_pointer_is_drawn_into_the_share")? else {
        return Ok(());
    };
    let (conn, root) = client(&server)?;
    conn.xfixes_query_version(4, 0)?.reply()?;
    let teal = [0, 128, 128];
    fill(&conn, root, teal, rect(0, 0, 1280, 800))?;
    conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, 300, 200)?;
    conn.get_input_focus()?.reply()?;
    // What the server says the pointer looks like and where its image goes.
    let cursor = conn.xfixes_get_cursor_image()?.reply()?;
    assert_eq!((cursor.x, cursor.y), (300, 200));
    assert!(
        cursor.width > 0 && cursor.height > 0,
        "Xvfb has a pointer image"
    );
    let (left, top) = (300 - i32::from(cursor.xhot), 200 - i32::from(cursor.yhot));
    // The first opaque pixel of the pointer image, and its colour.
    let (i, argb) = cursor
        .cursor_image
        .iter()
        .enumerate()
        .find(|(_, p)| *p >> 24 == 0xff)
        .ok_or("the pointer has no opaque pixel")?;
    let (px, py) = (
        i as i32 % i32::from(cursor.width),
        i as i32 / i32::from(cursor.width),
    );
    let rgb = [(argb >> 16) as u8, (argb >> 8) as u8, *argb as u8];
    let expect = rgb_to_i420(&rgb.repeat(4), 2, 2, false, Duration::ZERO)?;

    let mut cam = open_screen(server.display(), None, CaptureFormat::new(1280, 800, 30))?;
    let frame = cam.next_frame()?;
    let (x, y) = ((left + px) as usize, (top + py) as usize);
    assert_eq!(
        yuv_at(&frame, x, y).0,
        expect.y()[0],
        "pointer pixel at ({x}, {y})"
    );
    // Away from the pointer the screen is as drawn.
    let background = rgb_to_i420(&teal.repeat(4), 2, 2, false, Duration::ZERO)?;
    assert_eq!(yuv_at(&frame, 900, 600).0, background.y()[0]);
    // The pointer moves with the mouse.
    conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, 900, 600)?;
    conn.get_input_focus()?.reply()?;
    let frame = cam.next_frame()?;
    assert_eq!(
        yuv_at(&frame, x, y).0,
        background.y()[0],
        "the old place is clear"
    );
    Ok(())
}
