//! CPU time of the calling thread, for benchmarks on machines shared with other work: wall
//! time there measures the neighbours as much as the code.

use std::time::Duration;

/// CPU time this thread has used so far.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and CPU time of one closure call.
#[allow(dead_code)] // Not every benchmark needs it.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (w, c) = (std::time::Instant::now(), thread_cpu_time());
    let out = f();
    (out, w.elapsed(), thread_cpu_time().saturating_sub(c))
}
