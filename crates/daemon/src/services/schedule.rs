//! The job table (what ran when, what failed, what is parked) and the file it persists to.
//! The scheduler decides from it what is due; status reports read it; a reload drops the jobs
//! of removed instances.

use std::sync::{Mutex, MutexGuard};

use warden_core::schedule::{JobTable, StateFile};

/// The job table and its state file.
pub struct Schedule {
    jobs: Mutex<JobTable>,
    state_file: StateFile,
}

impl Schedule {
    /// The table `jobs`, saved to `state_file`.
    pub fn new(jobs: JobTable, state_file: StateFile) -> Schedule {
        Schedule {
            jobs: Mutex::new(jobs),
            state_file,
        }
    }

    /// The job table. A panic elsewhere while holding it must not take the daemon down.
    pub fn table(&self) -> MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the job states; errors are logged (the next save retries).
    pub fn save(&self) {
        let states = self.table().states().clone();
        if let Err(e) = self.state_file.save(&states) {
            tracing::error!(error = %e, "cannot save job state");
        }
    }
}
