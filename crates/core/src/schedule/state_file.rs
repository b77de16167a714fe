//! `state_dir/jobs.json`: persisted job state, written atomically.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{JobKey, JobKind, JobState, JobStates};
use crate::private_fs;

/// The largest job state file read (a state of ten thousand instances is a few MiB).
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// The on-disk format version this build reads and writes.
const STATE_VERSION: u32 = 1;

/// An error loading or saving the job state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but could not be read.
    #[error(
        "cannot read job state `{}`: {source}; check that wardend can read the state directory",
        path.display()
    )]
    Read {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not valid job state.
    #[error(
        "job state `{}` is corrupt: {source}; restore it from a backup, or move it aside to \
         start afresh (every job then counts as never run and runs once at start)",
        path.display()
    )]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// The file was written by a newer wardend.
    #[error(
        "job state `{}` has version {found} but this wardend reads version {STATE_VERSION}; \
         run a wardend that supports it, or move the file aside to start afresh",
        path.display()
    )]
    UnsupportedVersion {
        /// The state file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
    },
    /// The file could not be written.
    #[error(
        "cannot write job state `{}`: {source}; check free space and that wardend can write \
         the state directory",
        path.display()
    )]
    Write {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// The JSON document: `{"version": 1, "jobs": {"<instance>": {"rotation": {...}, ...}}}`.
/// Unknown fields are ignored so that the format can grow.
#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    #[serde(default)]
    jobs: BTreeMap<String, BTreeMap<JobKind, JobState>>,
}

/// The job state file, normally `state_dir/jobs.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The file name inside the state directory.
    pub const FILE_NAME: &'static str = "jobs.json";

    /// The state file inside `state_dir`.
    pub fn in_dir(state_dir: &Path) -> StateFile {
        StateFile {
            path: state_dir.join(Self::FILE_NAME),
        }
    }

    /// A state file at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the state. A missing file is an empty state (first start); an unreadable or
    /// corrupt file is an error, never silently ignored.
    pub fn load(&self) -> Result<JobStates, StateError> {
        let bytes = match private_fs::read_file(&self.path, MAX_STATE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(JobStates::new()),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let doc: Document =
            serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        if doc.version != STATE_VERSION {
            return Err(StateError::UnsupportedVersion {
                path: self.path.clone(),
                found: doc.version,
            });
        }
        let mut states = JobStates::new();
        for (instance, kinds) in doc.jobs {
            for (kind, state) in kinds {
                states.insert(JobKey::new(instance.clone(), kind), state);
            }
        }
        Ok(states)
    }

    /// Saves the state atomically: write a temporary file next to it, fsync it, rename it over
    /// the old one, then fsync the directory, so a crash leaves either the old or the new state.
    pub fn save(&self, states: &JobStates) -> Result<(), StateError> {
        let mut doc = Document {
            version: STATE_VERSION,
            jobs: BTreeMap::new(),
        };
        for (key, state) in states {
            doc.jobs
                .entry(key.instance.clone())
                .or_default()
                .insert(key.kind, state.clone());
        }
        let write_err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let mut text =
            serde_json::to_string_pretty(&doc).map_err(|e| write_err(io::Error::other(e)))?;
        text.push('\n');
        // a job's last error may quote a server's answer: no known secret is written
        let text = crate::changelog::scrub_json(text.into_bytes());
        // Never through a symbolic link; a unique temporary file per save (concurrent saves
        // never share one); a failed write removes its temporary file.
        private_fs::write_atomic(&self.path, 0o600, |file| file.write_all(&text)).map_err(write_err)
    }
}
