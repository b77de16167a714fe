//! The head anchor: the latest `(seq, hash)` kept outside the log file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::private_fs;

/// The latest record of a log: its `seq` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Head {
    /// `seq` of the latest record.
    pub seq: u64,
    /// `hash` of the latest record (lowercase hex SHA-256).
    pub hash: String,
}

/// Errors of a [`HeadStore`].
#[derive(Debug, thiserror::Error)]
pub enum HeadStoreError {
    /// Reading or writing the anchor failed.
    #[error("failed to {action} head anchor `{}`: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "rename", …).
        action: &'static str,
        /// The anchor file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The anchor exists but cannot be parsed.
    #[error(
        "head anchor `{}` is corrupt ({detail}); run `wardenctl log verify` and restore the anchor from a backup",
        path.display()
    )]
    Corrupt {
        /// The anchor file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A remote anchor backend (e.g. Vault) failed.
    #[error("head anchor backend failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// Where the head anchor, the latest `(seq, hash)` of the log, is kept outside the log file.
///
/// A hash chain only shows edits. Cutting the last records, or rewriting the whole file with a
/// freshly computed chain, is caught only by comparing the file with a copy of its head that
/// the attacker could not rewrite as easily.
///
/// The trait is synchronous and small on purpose: [`ChangeLog`](super::ChangeLog) calls
/// [`store`](Self::store) while holding its append lock, right after the fsync, so heads are
/// stored in `seq` order. Appends run on a blocking thread when called through
/// [`ChangeLog::append_async`](super::ChangeLog::append_async), so a store backed by a remote
/// service (Vault) may block there with `tokio::runtime::Handle::block_on`; one that must not
/// slow appends down can instead record the head in memory and publish it from a task. A
/// failing `store` does not fail the append (see [`ChangeLog::head_in_sync`](super::ChangeLog::head_in_sync)).
pub trait HeadStore: Send + Sync {
    /// Returns the stored head, or `None` if nothing was ever stored.
    fn load(&self) -> Result<Option<Head>, HeadStoreError>;

    /// Replaces the stored head. Called once per append, in `seq` order.
    fn store(&self, head: &Head) -> Result<(), HeadStoreError>;
}

impl<T: HeadStore + ?Sized> HeadStore for Arc<T> {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        (**self).load()
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        (**self).store(head)
    }
}

impl<T: HeadStore + ?Sized> HeadStore for Box<T> {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        (**self).load()
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        (**self).store(head)
    }
}

/// A head anchor in its own small JSON file (`{"seq":N,"hash":"…"}`), replaced atomically:
/// write a temporary file in the same directory, fsync it, rename it over the anchor, fsync the
/// directory. Created with mode 0600; neither the anchor nor its temporary file is ever opened
/// through a symbolic link (see [`private_fs`]).
///
/// Keep it on another file system or host than the log when possible; on the same disk it only
/// protects against careless edits, not against someone who can write both files.
#[derive(Debug, Clone)]
pub struct FileHeadStore {
    path: PathBuf,
}

impl FileHeadStore {
    /// An anchor at `path` (not created until the first store).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The anchor file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, action: &'static str) -> impl FnOnce(io::Error) -> HeadStoreError + '_ {
        move |source| HeadStoreError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

impl HeadStore for FileHeadStore {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        // an anchor is one short JSON line; anything far larger is not one
        let bytes = match private_fs::read_file(&self.path, 64 * 1024) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.io_error("read")(err)),
        };
        let head: Head = serde_json::from_slice(&bytes).map_err(|err| HeadStoreError::Corrupt {
            path: self.path.clone(),
            detail: err.to_string(),
        })?;
        if head.hash.len() != 64 || !head.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HeadStoreError::Corrupt {
                path: self.path.clone(),
                detail: "`hash` is not 64 hex digits".to_owned(),
            });
        }
        Ok(Some(head))
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        let mut bytes = serde_json::to_vec(head).map_err(|err| HeadStoreError::Corrupt {
            path: self.path.clone(),
            detail: err.to_string(),
        })?;
        bytes.push(b'\n');
        private_fs::write_atomic(&self.path, 0o600, |file| file.write_all(&bytes))
            .map_err(self.io_error("write"))
    }
}

/// Fsyncs the directory holding `path`, so a rename or a new file in it is durable.
pub(crate) fn sync_parent_dir(path: &Path) -> io::Result<()> {
    private_fs::sync_parent_dir(path)
}

/// An in-memory head anchor for tests. Clones share the same head, so a test can keep one
/// clone, hand another to a [`ChangeLog`](super::ChangeLog), and inspect or tamper with it.
#[derive(Debug, Clone, Default)]
pub struct MemoryHeadStore {
    head: Arc<Mutex<Option<Head>>>,
}

impl MemoryHeadStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current head.
    pub fn get(&self) -> Option<Head> {
        match self.head.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the head (e.g. to simulate an anchor that was never written).
    pub fn set(&self, head: Option<Head>) {
        match self.head.lock() {
            Ok(mut guard) => *guard = head,
            Err(poisoned) => *poisoned.into_inner() = head,
        }
    }
}

impl HeadStore for MemoryHeadStore {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        Ok(self.get())
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        self.set(Some(head.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_head_store_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileHeadStore::new(dir.path().join("changes.head"));
        assert_eq!(store.load().unwrap(), None);
        let head = Head {
            seq: 7,
            hash: "ab".repeat(32),
        };
        store.store(&head).unwrap();
        store.store(&head).unwrap();
        assert_eq!(store.load().unwrap(), Some(head));
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["changes.head"], "temporary file left behind");
    }

    #[test]
    fn corrupt_anchor_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileHeadStore::new(dir.path().join("changes.head"));
        fs::write(store.path(), b"{\"seq\":1,\"hash\":\"zz\"}").unwrap();
        let err = store.load().unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
