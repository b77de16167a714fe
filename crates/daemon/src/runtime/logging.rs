//! Operational logs: `tracing` to stderr (captured by journald or launchd) and, when a log
//! directory is configured, to daily files there (`wardend.log.YYYY-MM-DD`), keeping the newest
//! `retention_days` files. Text or JSON. vaultrs and rustify log every failed call (expected
//! 404s and CAS conflicts included) at ERROR, so they are silenced: Warden logs from its own
//! wrappers. No secret reaches a log: secret-bearing types redact themselves in `Debug`, and
//! every line passes through [`Scrubbed`], which replaces each known secret (see
//! `warden_core::changelog::remember_secret`) before it is written, in case a server echoed
//! one into a message.
//!
//! Log files are 0640 in a 0750 directory, readable by the service's group (log shippers) and
//! by nobody else. The directory is created 0750; an existing one must pass
//! [`check_private_dir`](warden_core::private_fs::check_private_dir) (owned by wardend's user,
//! not writable by group or others: refused otherwise), and access for others is removed
//! (`o-rwx`, logged). Existing `wardend.log*` files wider than 0640 are narrowed to 0640
//! (logged); a link or anything but a regular file among them is refused. tracing-appender
//! creates the daily files with the process umask, so [`init`] sets the umask to include
//! `0027`: every file wardend creates without an explicit mode is at most 0640.

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

/// The daily log files are `wardend.log.YYYY-MM-DD`.
const LOG_FILE_PREFIX: &str = "wardend.log";

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
    let mut notes = Vec::new();
    let file_writer = match dir {
        Some(dir) => {
            restrict_umask();
            notes = prepare_dir(dir)?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix(LOG_FILE_PREFIX)
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
    for note in notes {
        tracing::warn!("{note}");
    }
    Ok(LogGuard { _file: guard })
}

/// Adds `0027` to the process umask: files created without an explicit mode (the daily log
/// files of tracing-appender) get at most 0640, directories at most 0750.
pub fn restrict_umask() {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(0o027));
    umask(old | Mode::from_bits_truncate(0o027));
}

/// Creates the log directory 0750 or checks an existing one, and narrows it and the existing
/// log files to 0750/0640. Returns what was narrowed, for the log.
fn prepare_dir(dir: &Path) -> anyhow::Result<Vec<String>> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut notes = Vec::new();
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create log directory {}: {e}", dir.display()))?;
    }
    warden_core::private_fs::check_private_dir(dir, "log directory")?;
    let narrow = |path: &Path, max: u32, notes: &mut Vec<String>| -> anyhow::Result<()> {
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        if mode & !max != 0 {
            let narrowed = mode & max;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(narrowed)).map_err(
                |e| anyhow::anyhow!("cannot narrow the mode of {}: {e}", path.display()),
            )?;
            notes.push(format!(
                "narrowed {} from mode {mode:04o} to {narrowed:04o}: logs are for wardend's \
                 user and group only",
                path.display()
            ));
        }
        Ok(())
    };
    narrow(dir, 0o750, &mut notes)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot list log directory {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(LOG_FILE_PREFIX)
        {
            continue;
        }
        let path = entry.path();
        let kind = std::fs::symlink_metadata(&path)?.file_type();
        if kind.is_symlink() {
            return Err(warden_core::private_fs::symlink_refused(&path).into());
        }
        if !kind.is_file() {
            anyhow::bail!(
                "{} is not a regular file; move it out of the log directory",
                path.display()
            );
        }
        narrow(&path, 0o640, &mut notes)?;
    }
    Ok(notes)
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
