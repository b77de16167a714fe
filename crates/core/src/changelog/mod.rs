//! The tamper-evident change log: one JSON line per change Warden makes or attempts.
//!
//! # Writing
//!
//! [`ChangeLog::append`] turns a [`ChangeEntry`] into a [`Record`] (next `seq`, current time,
//! `prev`, `mac` when the log has a [`MacKey`], `hash`, secrets redacted with
//! [`redact_secrets`]), writes the line with one
//! `write_all`, calls `File::sync_data`, and only then returns: an action may be reported done
//! only once its record is durable. It then stores the new [`Head`] in the [`HeadStore`].
//!
//! - **Concurrency.** Appends are serialized by an internal `std::sync::Mutex`; `ChangeLog` is
//!   `Send + Sync`, share it in an `Arc`. An append blocks for an fsync, so async code calls
//!   [`ChangeLog::append_async`], which runs the append on tokio's blocking pool.
//! - **Failed writes.** A failed write is rolled back by truncating to the previous length. If
//!   that, or an fsync, fails, the log refuses further appends until the daemon restarts
//!   ([`ChangeLogError::Broken`]), because the state of the file is then unknown.
//! - **Anchor failures.** If storing the head fails after the record is durable, the append
//!   still succeeds (the change *is* logged; failing would invite a duplicate retry): the error
//!   is logged with `tracing::warn!`, [`ChangeLog::head_in_sync`] turns false, and the next
//!   append stores the newer head.
//! - **Shutdown.** Nothing is buffered, so there is nothing to flush; dropping the log is enough.
//!
//! # Opening
//!
//! [`ChangeLog::open`] creates the file (mode 0600) if needed and checks the tail instead of the
//! whole file (use [`verify()`] for that): the last line must be complete and hash correctly, and
//! it must agree with the head anchor:
//!
//! - same `seq` and hash: continue;
//! - the anchor is behind (crash or anchor failure between fsync and anchor update): the chain
//!   from the anchored record to the end is checked, then the anchor catches up;
//! - the anchor is ahead, or names another hash: the file was truncated or rewritten, and open
//!   fails with [`ChangeLogError::HeadMismatch`];
//! - records but no anchor: open fails with [`ChangeLogError::HeadMissing`] unless
//!   [`ChangeLogOptions::accept_missing_head`] is set.
//!
//! **Torn tail.** A last line without a newline is a record torn by a crash mid-write. Open
//! refuses with [`ChangeLogError::TornTail`] (pointing to `wardenctl log verify`), because
//! cutting bytes off an audit log must be a deliberate decision. With
//! [`ChangeLogOptions::repair_torn_tail`] it copies the torn bytes to
//! `<log>.torn-at-<offset>`, truncates the file to the last complete line, and appends a
//! `repair` record (actor `daemon`, object kind `changelog`) naming the byte count, their
//! SHA-256 and the copy.
//!
//! **MACs.** A log opened with [`ChangeLog::open_keyed`] MACs every record with HMAC-SHA-256
//! under a key the caller keeps out of the file's reach (the daemon: in Vault only), so a record
//! appended by anyone else is detected even when it chains correctly. [`verify_with`] checks
//! them; records from before MACs were introduced are verified by hash only and counted.
//!
//! The file does not rotate; one file holds the whole chain.
//!
#![doc = include_str!("../../../../docs/changelog-format.md")]

mod error;
mod head;
mod mac;
mod open;
mod record;
mod redact;
mod segment;
mod tail;
mod verify;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use error::ChangeLogError;
pub(crate) use error::io_err;
pub use head::{FileHeadStore, Head, HeadStore, HeadStoreError, MemoryHeadStore};
pub use mac::{BadMacKey, MAC_KEY_BYTES, MacKey};
pub use record::{
    Action, Actor, ChangeEntry, GENESIS_PREV, MAX_RECORD_BYTES, ObjectKind, ObjectRef, Outcome,
    Record,
};
pub use redact::{
    MAX_KNOWN_SECRETS, MIN_KNOWN_SECRET_BYTES, REDACTED, SECRET_KEY_FRAGMENTS,
    SECRET_METADATA_SUFFIXES, ScrubWriter, forget_secret, is_secret_key, known_secret_count,
    redact_secrets, remember_secret, scrub_json, scrub_text, scrub_value,
};
pub use segment::{RecoveryPoint, segment_entry_after};
pub use tail::tail;
pub use verify::{Problem, ProblemKind, VerifyReport, verify, verify_with};

use head::sync_parent_dir;
use open::{cut_torn_tail, reconcile};
use tail::complete_len;

/// Explicit, operator-requested exceptions to the safe defaults of [`ChangeLog::open`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeLogOptions {
    /// Cut a torn last line (saving it next to the log) and log the repair, instead of refusing.
    pub repair_torn_tail: bool,
    /// Accept a log with records but no head anchor, and anchor its current last record.
    pub accept_missing_head: bool,
}

/// Source of record timestamps (the one [`crate::clock::Clock`]).
pub use crate::clock::Clock;

/// An open, append-only change log. See the [module docs](self).
pub struct ChangeLog {
    path: PathBuf,
    head_store: Box<dyn HeadStore>,
    clock: Clock,
    /// Key of the per-record MAC; `None` writes records without one (tests, old tools).
    mac_key: Option<Arc<MacKey>>,
    /// Serializes appends; held across write, fsync and anchor update so that records and
    /// anchors are written in `seq` order. Never held across an `.await`.
    writer: Mutex<Writer>,
}

/// State guarded by the append lock.
struct Writer {
    file: File,
    /// Length of the file (complete records only).
    len: u64,
    /// The last record, `None` for an empty log.
    last: Option<Head>,
    /// Whether the anchor holds `last`.
    head_in_sync: bool,
    /// Set when a failed write could not be rolled back.
    broken: bool,
    /// Successful fsyncs since open.
    fsyncs: u64,
}

impl std::fmt::Debug for ChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeLog")
            .field("path", &self.path)
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

impl ChangeLog {
    /// Opens (or creates, mode 0600) the log at `path` with the safe defaults; see
    /// [`open_with`](Self::open_with).
    pub fn open(
        path: impl AsRef<Path>,
        head_store: Box<dyn HeadStore>,
    ) -> Result<Self, ChangeLogError> {
        Self::open_with(path, head_store, ChangeLogOptions::default())
    }

    /// Opens (or creates, mode 0600) the log at `path`, checks its tail against the anchor in
    /// `head_store` as described in the [module docs](self), and prepares to continue the chain.
    pub fn open_with(
        path: impl AsRef<Path>,
        head_store: Box<dyn HeadStore>,
        options: ChangeLogOptions,
    ) -> Result<Self, ChangeLogError> {
        Self::open_keyed(path, head_store, options, None)
    }

    /// [`open_with`](Self::open_with), and every record appended (including a repair record)
    /// carries a MAC under `mac_key`. Opening checks only the tail's hashes; check the MACs of
    /// the whole file with [`verify_with`] and [`mac_key`](Self::mac_key).
    pub fn open_keyed(
        path: impl AsRef<Path>,
        head_store: Box<dyn HeadStore>,
        options: ChangeLogOptions,
        mac_key: Option<Arc<MacKey>>,
    ) -> Result<Self, ChangeLogError> {
        let path = path.as_ref().to_owned();
        let created = !path.exists();
        // never through a symbolic link: a link planted here would have wardend append to
        // (and later truncate) whatever file it points at
        let mut file = crate::private_fs::open(
            crate::private_fs::open_options()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600),
            &path,
        )
        .map_err(io_err("open", &path))?;
        if created {
            sync_parent_dir(&path).map_err(io_err("fsync the directory of", &path))?;
        }
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        let end = complete_len(&mut file, len).map_err(io_err("read", &path))?;
        let mut repair = None;
        if end < len {
            if !options.repair_torn_tail {
                return Err(ChangeLogError::TornTail {
                    path,
                    bytes: len - end,
                });
            }
            repair = Some(cut_torn_tail(&mut file, &path, end, len)?);
        }
        let anchor = head_store.load()?;
        let last = reconcile(&mut file, &path, end, anchor.as_ref(), options)?;
        let mut head_in_sync = anchor == last;
        if let (false, Some(last)) = (head_in_sync, &last) {
            head_in_sync = store_head(head_store.as_ref(), last);
        }
        let log = Self {
            path,
            head_store,
            clock: crate::clock::system(),
            mac_key,
            writer: Mutex::new(Writer {
                file,
                len: end,
                last,
                head_in_sync,
                broken: false,
                fsyncs: 0,
            }),
        };
        if let Some(after) = repair {
            let name = log
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
            let object = ObjectRef {
                kind: ObjectKind::Changelog,
                name,
                id: None,
            };
            let entry =
                ChangeEntry::new(Actor::Daemon, object, Action::Repair, Outcome::Ok).after(after);
            log.append(entry)?;
        }
        Ok(log)
    }

    /// Replaces the clock used for record timestamps (the daemon passes its own clock; tests
    /// pass a fixed one). Defaults to [`crate::clock::system`].
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key records are MAC'd with, if any (to verify the file with [`verify_with`]).
    pub fn mac_key(&self) -> Option<&MacKey> {
        self.mac_key.as_deref()
    }

    /// The last record's `seq` and `hash`, `None` while the log is empty.
    pub fn head(&self) -> Option<Head> {
        self.lock().ok().and_then(|writer| writer.last.clone())
    }

    /// Whether the head anchor holds the last record (false after an anchor-store failure,
    /// until an append or a restart stores it).
    pub fn head_in_sync(&self) -> bool {
        self.lock().is_ok_and(|writer| writer.head_in_sync)
    }

    /// Successful fsyncs of the log file since open (one per append).
    pub fn fsyncs(&self) -> u64 {
        self.lock().map_or(0, |writer| writer.fsyncs)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Writer>, ChangeLogError> {
        self.writer.lock().map_err(|_| ChangeLogError::Poisoned)
    }

    /// Appends `entry`, fsyncs, updates the anchor, and returns the record as written.
    /// Blocks for the fsync; from async code use [`append_async`](Self::append_async).
    pub fn append(&self, entry: ChangeEntry) -> Result<Record, ChangeLogError> {
        let mut writer = self.lock()?;
        if writer.broken {
            return Err(ChangeLogError::Broken {
                path: self.path.clone(),
            });
        }
        let seq = writer.last.as_ref().map_or(1, |last| last.seq + 1);
        let prev = writer
            .last
            .as_ref()
            .map_or_else(|| GENESIS_PREV.to_owned(), |last| last.hash.clone());
        let (record, line) =
            Record::seal(seq, (self.clock)(), prev, entry, self.mac_key.as_deref())
                .map_err(ChangeLogError::Encode)?;
        if line.len() > MAX_RECORD_BYTES {
            return Err(ChangeLogError::RecordTooLarge {
                seq,
                len: line.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        if let Err(source) = writer.file.write_all(&line) {
            let len = writer.len;
            if writer
                .file
                .set_len(len)
                .and_then(|()| writer.file.sync_data())
                .is_err()
            {
                writer.broken = true;
            }
            return Err(io_err("write", &self.path)(source));
        }
        if let Err(source) = writer.file.sync_data() {
            // After a failed fsync the page cache state is unknown: stop writing.
            writer.broken = true;
            return Err(io_err("fsync", &self.path)(source));
        }
        writer.fsyncs += 1;
        writer.len += line.len() as u64;
        let head = Head {
            seq,
            hash: record.hash.clone(),
        };
        writer.head_in_sync = store_head(self.head_store.as_ref(), &head);
        writer.last = Some(head);
        tracing::debug!(seq, action = ?record.action, outcome = ?record.outcome, "change logged");
        Ok(record)
    }

    /// [`append`](Self::append) on tokio's blocking pool, for async callers.
    pub async fn append_async(
        self: &Arc<Self>,
        entry: ChangeEntry,
    ) -> Result<Record, ChangeLogError> {
        let log = Arc::clone(self);
        tokio::task::spawn_blocking(move || log.append(entry))
            .await
            .map_err(ChangeLogError::Join)?
    }
}

/// Stores `head`, logging (not returning) a failure; returns whether it was stored.
fn store_head(store: &dyn HeadStore, head: &Head) -> bool {
    match store.store(head) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(seq = head.seq, error = %err, "failed to store the change-log head anchor; will retry on the next append");
            false
        }
    }
}
