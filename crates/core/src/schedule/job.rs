//! What identifies a job and what is persisted about it: plain data. A leaf of `schedule`:
//! [`due`](super::due()) reads a [`JobState`], the [`JobTable`](super::JobTable) holds them and
//! the [`StateFile`](super::StateFile) saves them, so the timing rules do not depend on the
//! table that applies them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::JobKind;

/// Identifies one job: one kind of work for one instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    /// The instance name from the config.
    pub instance: String,
    /// The kind of job.
    pub kind: JobKind,
}

impl JobKey {
    /// A key for `instance` and `kind`.
    pub fn new(instance: impl Into<String>, kind: JobKind) -> JobKey {
        JobKey {
            instance: instance.into(),
            kind,
        }
    }
}

impl std::fmt::Display for JobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.instance, self.kind)
    }
}

/// Persisted state of one job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// When the last successful run *started*. A run only covers the slots that had passed when
    /// it started, so a slot that falls during a run still triggers the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
    /// When the last run (successful or not) *ended*; failure backoff counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<DateTime<Utc>>,
    /// The error of the last run if it failed; cleared by a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failures since the last success.
    #[serde(default)]
    pub consecutive_failures: u32,
}

/// The persisted state of every job.
pub type JobStates = BTreeMap<JobKey, JobState>;
