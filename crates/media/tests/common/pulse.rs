//! Bringing up the PulseAudio test environment; shared by every crate's tests on real audio
//! (included by path).

use std::path::PathBuf;
use std::process::Command;

/// Runs `tests/env/start-pulse.sh` (idempotent) so that cpal's default devices are the
/// PulseAudio null sink and its monitor. Fails with the script's message when audio cannot
/// be brought up, instead of letting a test hang on a missing device.
pub fn ensure_pulse() -> Result<(), String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/env/start-pulse.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "real audio is unavailable: start-pulse.sh failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
