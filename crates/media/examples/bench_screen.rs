//! Benchmark: X11 screen capture of a 1920x1080 screen. Prints per-frame grab time (core
//! `GetImage`, the backend's fallback, and MIT-SHM, which it uses), BGRX → I420 conversion
//! time at 1920x1080 and 1280x720, the frame rate `open_screen` achieves at 15 fps, and the
//! H.264 encoding of the shared screen at 10 fps in screen-content mode against camera mode
//! (the baseline), for a still screen and for one where a region changes every frame.
//!
//! Starts its own `Xvfb -screen 0 1920x1080x24`; with `--use-display` it uses $DISPLAY
//! instead (whatever size that screen is).
//! `BENCH_SCREEN_BPS` sets the encoders' rate (default 2.5 Mbit/s, a share's ceiling).
//! Run: cargo run --release -p huddle-media --example bench_screen [-- FRAMES] [--use-display]

#[cfg(target_os = "linux")]
#[path = "common/cpu.rs"]
mod cpu;
#[cfg(target_os = "linux")]
#[path = "../tests/common/xvfb.rs"]
mod xvfb;

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench_screen measures the X11 backend; it runs on Linux only");
}

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    linux::run()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::{Duration, Instant};

    use huddle_media::convert::{bgrx_to_i420_scaled, psnr};
    use huddle_media::screen::x11::{list_screens, open_screen};
    use huddle_media::CaptureFormat;
    use huddle_media::{ContentMode, H264Decoder, H264Encoder, H264Settings};
    use x11rb::connection::{Connection, RequestConnection};
    use x11rb::protocol::shm::{self, ConnectionExt as _};
    use x11rb::protocol::xproto::{self, ConnectionExt as _, ImageFormat};
    use x11rb::rust_connection::RustConnection;

    use super::{cpu, xvfb::Xvfb};

    type Res<T> = Result<T, Box<dyn std::error::Error>>;

    pub fn run() -> Res<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let frames: usize = args
            .iter()
            .find_map(|a| a.parse().ok())
            .unwrap_or(60)
            .max(2);
        let use_display = args.iter().any(|a| a == "--use-display");
        let mut _server = None;
        let display = if use_display {
            std::env::var("DISPLAY").map_err(|_| "--use-display: DISPLAY is not set")?
        } else {
            let server = Xvfb::start(1920, 1080)?.ok_or("Xvfb is not installed")?;
            let display = server.display().to_owned();
            _server = Some(server);
            display
        };
        let (conn, screen) = x11rb::connect(Some(&display))?;
        let root = conn.setup().roots[screen].root;
        paint(&conn, root)?;
        let geometry = conn.get_geometry(root)?.reply()?;
        let (w, h) = (geometry.width, geometry.height);
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("X11 screen capture, display {display} ({w}x{h}), {frames} frames, {cores} cores");
        for s in list_screens(&display)? {
            println!(
                "  screen {:?}: {}x{}, {:?}",
                s.id, s.width, s.height, s.label
            );
        }

        // 1. Grabbing the pixels.
        let mut get_image = Vec::new();
        let mut image = Vec::new();
        for _ in 0..frames {
            let t = Instant::now();
            image = conn
                .get_image(ImageFormat::Z_PIXMAP, root, 0, 0, w, h, !0)?
                .reply()?
                .data;
            get_image.push(t.elapsed());
        }
        report("grab: GetImage (wall)", &mut get_image);
        match shm_grab_times(&conn, root, w, h, frames) {
            Ok(mut times) => report("grab: MIT-SHM GetImage (wall)", &mut times),
            Err(e) => println!("  grab: MIT-SHM unavailable: {e}"),
        }

        // 2. Converting the grabbed image.
        let stride = usize::from(w) * 4;
        for (ow, oh) in [(1920u32, 1080u32), (1280, 720)] {
            let (ow, oh) = (ow.min(u32::from(w)) & !1, oh.min(u32::from(h)) & !1);
            let mut cpu_times = Vec::new();
            for _ in 0..frames {
                let (out, _, cpu) = cpu::timed(|| {
                    bgrx_to_i420_scaled(&image, stride, w.into(), h.into(), ow, oh, Duration::ZERO)
                });
                out?;
                cpu_times.push(cpu);
            }
            report(
                &format!("convert BGRX {w}x{h} -> I420 {ow}x{oh} (CPU)"),
                &mut cpu_times,
            );
        }

        // 3. The whole path at 15 fps, as a call shares a screen.
        for (lw, lh) in [(1920u32, 1080u32), (1280, 720)] {
            let mut cam = open_screen(&display, None, CaptureFormat::new(lw, lh, 15))?;
            let format = cam.format();
            cam.next_frame()?;
            let (start, cpu_start) = (Instant::now(), cpu::thread_cpu_time());
            let mut per_frame = Vec::new();
            for _ in 0..frames {
                let t = Instant::now();
                cam.next_frame()?;
                per_frame.push(t.elapsed());
            }
            let wall = start.elapsed();
            let cpu = cpu::thread_cpu_time().saturating_sub(cpu_start);
            println!(
                "  open_screen limit {lw}x{lh}@15 -> {}x{}: {:.2} frames/s achieved, \
                 {:.1} ms CPU/frame ({:.0}% of one core)",
                format.width,
                format.height,
                frames as f64 / wall.as_secs_f64(),
                cpu.as_secs_f64() * 1000.0 / frames as f64,
                cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
            );
        }

        // 4. Encoding what is shared, as a call does: 1920x1080 at 10 fps, 2.5 Mbit/s.
        let mut cam = open_screen(&display, None, CaptureFormat::new(1920, 1080, 10))?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, root, &xproto::CreateGCAux::new())?;
        for changing in [false, true] {
            // The same frames for both modes: captured once, encoded twice.
            let mut shots = Vec::with_capacity(frames);
            for i in 0..frames {
                if changing {
                    // A 400x300 region redrawn each frame (typing, a scrolling page).
                    let pixel = (i as u32 * 2_654_435_761) & 0x00ff_ffff;
                    conn.change_gc(gc, &xproto::ChangeGCAux::new().foreground(pixel))?;
                    let x = (i * 37 % 1500) as i16;
                    let rect = xproto::Rectangle {
                        x,
                        y: 300,
                        width: 400,
                        height: 300,
                    };
                    conn.poly_fill_rectangle(root, gc, &[rect])?;
                    conn.get_input_focus()?.reply()?;
                }
                shots.push(cam.next_frame()?);
            }
            for mode in [ContentMode::Screen, ContentMode::Camera] {
                let mut encoder = H264Encoder::new(H264Settings {
                    bitrate_bps: std::env::var("BENCH_SCREEN_BPS")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(2_500_000),
                    fps: 10.0,
                    mode,
                    allow_frame_skip: true,
                    ..H264Settings::default()
                })?;
                let mut decoder = H264Decoder::new()?;
                let mut cpu_times = Vec::new();
                let mut bytes = 0usize;
                let mut quality = Vec::new();
                for (i, shot) in shots.iter().enumerate() {
                    let mut frame = shot.clone();
                    frame.timestamp = Duration::from_millis(100 * i as u64);
                    let (out, _, cpu) = cpu::timed(|| encoder.encode(&frame));
                    let out = out?;
                    bytes += out.data.len();
                    cpu_times.push(cpu);
                    if !out.data.is_empty() {
                        if let Some(picture) = decoder.decode(&out.data)? {
                            quality.push(psnr(&picture, shot)?);
                        }
                    }
                }
                let kbps = bytes as f64 * 8.0 / (frames as f64 / 10.0) / 1000.0;
                let mean_psnr = quality.iter().sum::<f64>() / quality.len().max(1) as f64;
                report(
                    &format!(
                        "encode 1920x1080@10, {} screen, {mode:?} mode (CPU; {kbps:.0} kbit/s, \
                         PSNR {mean_psnr:.1} dB over {} frames)",
                        if changing { "changing" } else { "still" },
                        quality.len()
                    ),
                    &mut cpu_times,
                );
            }
        }
        conn.free_gc(gc)?;
        Ok(())
    }

    /// Something other than a flat colour: bands of colour, and text over half of it.
    fn paint(conn: &RustConnection, root: xproto::Window) -> Res<()> {
        let gc = conn.generate_id()?;
        conn.create_gc(gc, root, &xproto::CreateGCAux::new())?;
        for i in 0..64u32 {
            let pixel = (i * 4) << 16 | (255 - i * 4) << 8 | (i * 37 % 256);
            conn.change_gc(gc, &xproto::ChangeGCAux::new().foreground(pixel))?;
            let band = xproto::Rectangle {
                x: (i * 30) as i16,
                y: 0,
                width: 30,
                height: 1080,
            };
            conn.poly_fill_rectangle(root, gc, &[band])?;
        }
        // Lines of text over the right half, as a shared document shows them (skipped when
        // the server has no "fixed" font).
        let font = conn.generate_id()?;
        if conn.open_font(font, b"fixed")?.check().is_ok() {
            let aux = xproto::ChangeGCAux::new()
                .foreground(0x20_2020)
                .background(0xff_ffff)
                .font(font);
            conn.change_gc(gc, &aux)?;
            let line =
                b"The quarterly figures: revenue 1,284,330 (+4.2%), costs 977,015; see table 3.";
            for row in 0..80i16 {
                conn.image_text8(root, gc, 960, 14 + row * 13, line)?;
            }
            conn.close_font(font)?;
        }
        conn.free_gc(gc)?;
        conn.get_input_focus()?.reply()?;
        Ok(())
    }

    /// The same grab through MIT-SHM: the server writes into shared memory instead of the
    /// socket. Measured to decide whether the backend should use it.
    fn shm_grab_times(
        conn: &RustConnection,
        root: xproto::Window,
        w: u16,
        h: u16,
        frames: usize,
    ) -> Res<Vec<Duration>> {
        if conn
            .extension_information(shm::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Err("no MIT-SHM extension".into());
        }
        let version = conn.shm_query_version()?.reply()?;
        if (version.major_version, version.minor_version) < (1, 2) {
            return Err("MIT-SHM older than 1.2 (no fd passing)".into());
        }
        let size = usize::from(w) * usize::from(h) * 4;
        // SAFETY: memfd_create with a NUL-terminated name; the result is checked.
        let fd = unsafe { libc::memfd_create(c"huddle-bench".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err("memfd_create failed".into());
        }
        // SAFETY: a fresh fd we own; OwnedFd closes it.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        // SAFETY: ftruncate and mmap on the memfd above, the length checked by mmap's result.
        let map = unsafe {
            if libc::ftruncate(raw, size as libc::off_t) != 0 {
                return Err("ftruncate failed".into());
            }
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err("mmap failed".into());
        }
        let seg = conn.generate_id()?;
        let dup = fd.try_clone()?;
        conn.shm_attach_fd(seg, dup, false)?.check()?;
        let mut times = Vec::new();
        let mut checksum = 0u64;
        for _ in 0..frames {
            let t = Instant::now();
            conn.shm_get_image(root, 0, 0, w, h, !0, ImageFormat::Z_PIXMAP.into(), seg, 0)?
                .reply()?;
            // SAFETY: the mapping is `size` bytes long and the server has finished writing.
            let pixels = unsafe { std::slice::from_raw_parts(map.cast::<u8>(), size) };
            checksum = checksum.wrapping_add(u64::from(pixels[size / 2]));
            times.push(t.elapsed());
        }
        conn.shm_detach(seg)?.check()?;
        // SAFETY: unmapping the mapping made above, no slice of it is alive.
        unsafe { libc::munmap(map, size) };
        std::hint::black_box(checksum);
        Ok(times)
    }

    fn report(what: &str, times: &mut [Duration]) {
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "  {what}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(1.0))
        );
    }
}
