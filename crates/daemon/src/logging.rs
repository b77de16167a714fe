//! Operational logs: `tracing` to stderr (captured by journald or launchd) and, when a log
//! directory is configured, to daily files there (`wardend.log.YYYY-MM-DD`), keeping the newest
//! `retention_days` files. Text or JSON. vaultrs and rustify log every failed call (expected
//! 404s and CAS conflicts included) at ERROR, so they are silenced: Warden logs from its own
//! wrappers. No secret reaches a log: secret-bearing types redact themselves in `Debug`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Keeps the file writer flushing; drop it last, at exit.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// The filter: the configured level for Warden, vaultrs/rustify off, `RUST_LOG` wins if set.
pub fn filter(level: &str) -> EnvFilter {
    if let Ok(env) = std::env::var("RUST_LOG")
        && let Ok(f) = EnvFilter::try_new(env)
    {
        return f;
    }
    EnvFilter::new(format!(
        "{level},vaultrs=off,rustify=off,hyper=warn,reqwest=warn"
    ))
}

/// Log lines queued for the log file's writer thread.
const LOG_QUEUE_LINES: usize = 16 * 1024;

/// Installs the global subscriber. `dir = None` logs to stderr only.
pub fn init(
    level: &str,
    format: LogFormat,
    dir: Option<&Path>,
    retention_days: usize,
) -> anyhow::Result<LogGuard> {
    let mut guard = None;
    let file_writer = match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("cannot create log directory {}: {e}", dir.display())
            })?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("wardend.log")
                .max_log_files(retention_days.max(1))
                .build(dir)
                .map_err(|e| anyhow::anyhow!("cannot open log files in {}: {e}", dir.display()))?;
            // 16k queued lines (the default 128k preallocates 4 MiB); when the disk cannot
            // keep up, lines beyond that are dropped rather than blocking the daemon
            let (nb, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(LOG_QUEUE_LINES)
                .finish(appender);
            guard = Some(g);
            Some(nb)
        }
        None => None,
    };
    let registry = tracing_subscriber::registry().with(filter(level));
    // Colours only for a person at a terminal: journald and log collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match format {
        LogFormat::Text => {
            let stderr = fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(ansi);
            let file = file_writer.map(|w| fmt::layer().with_writer(w).with_ansi(false));
            registry.with(stderr).with(file).try_init()?;
        }
        LogFormat::Json => {
            let stderr = fmt::layer().json().with_writer(std::io::stderr);
            let file = file_writer.map(|w| fmt::layer().json().with_writer(w));
            registry.with(stderr).with(file).try_init()?;
        }
    }
    Ok(LogGuard { _file: guard })
}
