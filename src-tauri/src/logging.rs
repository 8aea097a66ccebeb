//! Logging: `tracing` to stderr and to a daily file in the platform's log directory
//! (kept for a week), so a user can attach the file to a bug report.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::error::AppError;

/// Keeps the file writer alive; dropping it flushes and stops file logging.
pub struct LogHandle {
    pub dir: PathBuf,
    _guard: WorkerGuard,
}

/// Where log files go: `$XDG_STATE_HOME/huddle/logs` on Linux, the local data directory
/// elsewhere (macOS and Windows have no separate state directory).
pub fn log_dir() -> Result<PathBuf, AppError> {
    let dirs = crate::settings::project_dirs()?;
    let base = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    Ok(base.join("logs"))
}

pub fn init() -> Result<LogHandle, AppError> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| AppError::io("create", &dir, e))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("huddle")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir)
        .map_err(|e| AppError::Logging(e.to_string()))?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(file_writer))
        .try_init()
        .map_err(|e| AppError::Logging(e.to_string()))?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %dir.display(), "huddle starting");
    Ok(LogHandle { dir, _guard: guard })
}
