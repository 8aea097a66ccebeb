//! MIT-SHM grabs: the X server writes a screen's pixels into a memfd we share with it
//! (passed over the socket, MIT-SHM 1.2) instead of sending them through the socket. For a
//! 1920x1080 screen under Xvfb that is about 1 ms instead of 16 ms per frame
//! (`examples/bench_screen.rs`). Servers without it (or remote ones, which cannot map our
//! memory) fall back to core `GetImage`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::cookie::Cookie;
use x11rb::errors::ConnectionError;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ImageFormat, Window};
use x11rb::rust_connection::RustConnection;

/// Shared memory attached to the X server as one segment.
pub(super) struct Segment {
    seg: shm::Seg,
    map: NonNull<u8>,
    len: usize,
}

impl Segment {
    /// A `len`-byte segment attached to the server behind `conn`, or why there is none.
    pub(super) fn attach(conn: &RustConnection, len: usize) -> Result<Segment, String> {
        if len == 0 {
            return Err("an empty segment".into());
        }
        let present = conn
            .extension_information(shm::X11_EXTENSION_NAME)
            .map_err(|e| e.to_string())?;
        if present.is_none() {
            return Err("the X server has no MIT-SHM".into());
        }
        let version = conn
            .shm_query_version()
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        if (version.major_version, version.minor_version) < (1, 2) {
            return Err("MIT-SHM is older than 1.2 (no fd passing)".into());
        }
        let fd = memfd(len)?;
        // SAFETY: a fresh shared read-only mapping of `len` bytes of a memfd that is `len`
        // bytes long; the result is checked before use and unmapped only in `drop`.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        let map = NonNull::new(map.cast::<u8>()).ok_or("mmap returned null")?;
        let mut segment = Segment { seg: 0, map, len };
        // From here on `segment` unmaps the memory whatever happens.
        segment.seg = conn.generate_id().map_err(|e| e.to_string())?;
        // The server maps the memfd itself; our copy of the fd closes once it is sent.
        conn.shm_attach_fd(segment.seg, fd, false)
            .map_err(|e| e.to_string())?
            .check()
            .map_err(|e| e.to_string())?;
        Ok(segment)
    }

    /// Size in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Asks for `width` x `height` pixels of `root` at (`x`, `y`) in ZPixmap format, written
    /// into the segment; read them with `pixels` once the reply has come.
    pub(super) fn request<'c>(
        &self,
        conn: &'c RustConnection,
        root: Window,
        (x, y, width, height): (i16, i16, u16, u16),
    ) -> Result<Cookie<'c, RustConnection, shm::GetImageReply>, ConnectionError> {
        conn.shm_get_image(
            root,
            x,
            y,
            width,
            height,
            !0,
            ImageFormat::Z_PIXMAP.into(),
            self.seg,
            0,
        )
    }

    /// The first `len` bytes of the segment (at most all of it).
    ///
    /// Call only after the reply to `request`: the server writes into the memory while it
    /// handles a request, and `&mut self` keeps a new request from being made while the
    /// slice is borrowed.
    pub(super) fn pixels(&mut self, len: usize) -> &[u8] {
        // SAFETY: the mapping is `self.len` bytes long and stays mapped while `self` lives;
        // no grab into it is in progress (see above).
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), len.min(self.len)) }
    }

    /// Detaches the segment from the server (best effort: the connection may be gone).
    pub(super) fn detach(&self, conn: &RustConnection) {
        if let Ok(cookie) = conn.shm_detach(self.seg) {
            cookie.ignore_error();
        }
        let _ = conn.flush();
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `attach`; no slice of it outlives `self`.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.len) };
    }
}

/// An anonymous memory file of `len` bytes.
fn memfd(len: usize) -> Result<OwnedFd, String> {
    // SAFETY: memfd_create with a NUL-terminated name; the result is checked.
    let raw = unsafe { libc::memfd_create(c"huddle-screen".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let size = libc::off_t::try_from(len).map_err(|_| "segment too large")?;
    // SAFETY: ftruncate on the descriptor we own; the result is checked.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
        return Err(format!("ftruncate: {}", std::io::Error::last_os_error()));
    }
    Ok(fd)
}
