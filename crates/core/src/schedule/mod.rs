//! Time-as-input scheduling.
//!
//! The daemon never relies on a cron trigger firing. Instead, for every (instance, job kind) it
//! keeps a persisted [`JobState`] and asks, whenever it wakes up, what is [`due`] given the
//! [`Schedule`], that state, a deterministic jitter offset and `now`. Everything here is pure: no
//! clock reads, no sleeping, no tokio. The daemon supplies `now` and sleeps until the returned
//! deadline.
//!
//! - [`Schedule`]: a parsed 5-field crontab expression, `@daily`-style alias or `"off"`, in an
//!   optional IANA time zone, with DST handled as documented on [`Schedule`].
//! - [`due`]: catch-up after downtime (one run, not one per missed slot), never-run jobs, backoff.
//! - [`jitter_offset`]: a stable per-(instance, job) offset so that many instances spread out.
//! - [`JobTable`]: no overlapping runs, failure backoff and parking, per key.
//! - [`StateFile`]: `state_dir/jobs.json`, written atomically.

mod expr;
mod job;
mod state_file;
mod table;
mod timing;

pub use expr::{Schedule, ScheduleError};
pub use job::{JobKey, JobState, JobStates};
pub use state_file::{StateError, StateFile};
pub use table::{JobTable, Outcome, RunToken};
pub use timing::{BackoffPolicy, Due, DueReason, WaitReason, due, jitter_offset, next_slot};

use serde::{Deserialize, Serialize};

/// The kinds of scheduled job the daemon runs for every instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Rotate the secrets of the instance's managed API clients into Vault.
    Rotation,
    /// Compare the declared roles and clients with the live ones.
    Drift,
    /// Flag risky roles and clients.
    Audit,
}

impl JobKind {
    /// Every job kind, in a stable order.
    pub const ALL: [JobKind; 3] = [JobKind::Rotation, JobKind::Drift, JobKind::Audit];

    /// The lowercase name used in config files, state files and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Rotation => "rotation",
            JobKind::Drift => "drift",
            JobKind::Audit => "audit",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
