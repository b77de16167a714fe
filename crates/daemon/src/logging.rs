//! Operational logs: `tracing` to stderr (captured by journald or launchd) and, when a log
//! directory is configured, to daily files there (`wardend.log.YYYY-MM-DD`), keeping the newest
//! `retention_days` files. Text or JSON. vaultrs and rustify log every failed call (expected
//! 404s and CAS conflicts included) at ERROR, so they are silenced: Warden logs from its own
//! wrappers. No secret reaches a log: secret-bearing types redact themselves in `Debug`, and
//! every line passes through [`Scrubbed`], which replaces each known secret (see
//! `warden_core::changelog::remember_secret`) before it is written, in case a server echoed
//! one into a message.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::fmt::MakeWriter;
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

/// A [`MakeWriter`] whose writers hold each event's text and write it, scrubbed of every
/// known secret, when the event is complete (the fmt layer uses one writer per event).
#[derive(Clone)]
pub struct Scrubbed<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<M> {
    type Writer = ScrubbedWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// The writer of [`Scrubbed`]: buffers, scrubs and writes on flush or drop.
pub struct ScrubbedWriter<W: std::io::Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> ScrubbedWriter<W> {
    fn write_out(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = warden_core::changelog::scrub_json(std::mem::take(&mut self.buf));
        self.inner.write_all(&text)
    }
}

impl<W: std::io::Write> std::io::Write for ScrubbedWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for ScrubbedWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_out();
    }
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
                .with_writer(Scrubbed(std::io::stderr))
                .with_target(false)
                .with_ansi(ansi);
            let file = file_writer.map(|w| fmt::layer().with_writer(Scrubbed(w)).with_ansi(false));
            registry.with(stderr).with(file).try_init()?;
        }
        LogFormat::Json => {
            let stderr = fmt::layer().json().with_writer(Scrubbed(std::io::stderr));
            let file = file_writer.map(|w| fmt::layer().json().with_writer(Scrubbed(w)));
            registry.with(stderr).with(file).try_init()?;
        }
    }
    Ok(LogGuard { _file: guard })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_are_scrubbed_of_known_secrets() {
        let secret = "log-sink-secret-Qw3rty";
        warden_core::changelog::remember_secret(
            "test:logging",
            &secrecy::SecretString::from(secret),
        );
        let sink = Sink::default();
        let make = Scrubbed({
            let s = sink.clone();
            move || s.clone()
        });
        let subscriber = tracing_subscriber::registry()
            .with(fmt::layer().with_writer(make.clone()).with_ansi(false))
            .with(fmt::layer().json().with_writer(make));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(error = %format!("jamf said {secret}"), "refused: {secret:?}");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains(secret), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 4, "{text}");
        warden_core::changelog::forget_secret("test:logging");
    }
}
