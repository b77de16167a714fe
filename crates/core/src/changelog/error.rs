//! Errors of the change log.

use std::io;
use std::path::{Path, PathBuf};

use super::head::HeadStoreError;

/// Errors of the change log. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ChangeLogError {
    /// A new segment can only start an empty log file.
    #[error(
        "cannot start a new change-log segment in `{}`: it already holds records; move it aside first",
        path.display()
    )]
    SegmentNotEmpty {
        /// The log file.
        path: PathBuf,
    },
    /// A file operation failed.
    #[error("failed to {action} change log `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The last line has no newline (crash mid-write) and repair was not requested.
    #[error(
        "change log `{}` ends with a torn record ({bytes} bytes without a newline), left by a crash in the middle of a write; inspect it with `wardenctl log verify`, then start wardend once with `--repair-torn-tail` to cut it (the bytes are saved next to the log and the repair is logged)",
        path.display()
    )]
    TornTail {
        /// The log file.
        path: PathBuf,
        /// Length of the torn line.
        bytes: u64,
    },
    /// A record near the end does not verify.
    #[error(
        "the tail of change log `{}` is invalid ({detail}); run `wardenctl log verify` and investigate before starting wardend again",
        path.display()
    )]
    CorruptTail {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The file disagrees with the head anchor: records were cut or the file was rewritten.
    #[error(
        "change log `{}` does not match its head anchor: {detail}; run `wardenctl log verify`, investigate, and restore the log from a backup before starting wardend again",
        path.display()
    )]
    HeadMismatch {
        /// The log file.
        path: PathBuf,
        /// What disagrees.
        detail: String,
    },
    /// The file has records but the anchor store is empty.
    #[error(
        "change log `{}` has {records} record(s) but its head anchor is empty; if `wardenctl log verify` shows the log is intact, start wardend once with `--accept-missing-head` to re-anchor it",
        path.display()
    )]
    HeadMissing {
        /// The log file.
        path: PathBuf,
        /// Records in the file.
        records: u64,
    },
    /// Loading the head anchor failed.
    #[error("failed to load the change-log head anchor: {0}")]
    HeadStore(#[from] HeadStoreError),
    /// The serialized record is too big.
    #[error(
        "change-log record {seq} would be {len} bytes, over the {max}-byte limit; record less detail in `before`/`after`"
    )]
    RecordTooLarge {
        /// The seq it would have had.
        seq: u64,
        /// Its length in bytes.
        len: usize,
        /// [`MAX_RECORD_BYTES`](super::MAX_RECORD_BYTES).
        max: usize,
    },
    /// Serializing a record failed.
    #[error("failed to encode a change-log record: {0}")]
    Encode(#[source] serde_json::Error),
    /// An earlier write or fsync failed and could not be rolled back.
    #[error(
        "change log `{}` is unusable after a failed write or fsync; restart wardend so that it re-checks the tail",
        path.display()
    )]
    Broken {
        /// The log file.
        path: PathBuf,
    },
    /// A thread panicked while appending.
    #[error("a change-log append panicked; restart wardend so that it re-checks the tail")]
    Poisoned,
    /// The blocking task of [`ChangeLog::append_async`](super::ChangeLog::append_async) failed.
    #[error("the change-log append task failed: {0}")]
    Join(#[source] tokio::task::JoinError),
    /// A record read by [`tail`](super::tail()) cannot be parsed.
    #[error(
        "the record at byte {offset} of change log `{}` is invalid ({detail}); run `wardenctl log verify`",
        path.display()
    )]
    CorruptRecord {
        /// The log file.
        path: PathBuf,
        /// Byte offset of the line.
        offset: u64,
        /// Parse error.
        detail: String,
    },
}

/// Maps an I/O error on `path` to [`ChangeLogError::Io`].
pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> ChangeLogError {
    let path = path.to_owned();
    move |source| ChangeLogError::Io {
        action,
        path,
        source,
    }
}
