//! The job table (what ran when, what failed, what is parked) and the file it persists to.
//! The scheduler decides from it what is due; status reports read it; a reload drops the jobs
//! of removed instances.

use std::sync::{Mutex, MutexGuard};

use warden_core::schedule::{JobTable, StateFile};

/// The job table and its state file.
pub struct Schedule {
    jobs: Mutex<JobTable>,
    state_file: StateFile,
    /// Held from taking the snapshot to its rename: saves from many tasks land in order, so
    /// an older snapshot never replaces a newer one.
    saving: Mutex<()>,
}

impl Schedule {
    /// The table `jobs`, saved to `state_file`.
    pub fn new(jobs: JobTable, state_file: StateFile) -> Schedule {
        Schedule {
            jobs: Mutex::new(jobs),
            state_file,
            saving: Mutex::new(()),
        }
    }

    /// The job table. A panic elsewhere while holding it must not take the daemon down.
    pub fn table(&self) -> MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the job states; errors are logged (the next save retries).
    pub fn save(&self) {
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        let states = self.table().states().clone();
        if let Err(e) = self.state_file.save(&states) {
            tracing::error!(error = %e, "cannot save job state");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use warden_core::schedule::{BackoffPolicy, JobKey, JobKind, Outcome};

    use super::*;

    /// Jobs finishing together save from many tasks at once: every save succeeds (no error
    /// logged, no temporary file left) and the file holds the latest table.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_saves_from_many_tasks_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::in_dir(dir.path());
        let schedule = Arc::new(Schedule::new(
            JobTable::new(Default::default(), BackoffPolicy::default()),
            file.clone(),
        ));
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|t| {
                let schedule = Arc::clone(&schedule);
                tokio::task::spawn_blocking(move || {
                    for _ in 0..10 {
                        {
                            let mut table = schedule.table();
                            let key = JobKey::new(format!("inst{t}"), JobKind::Drift);
                            if let Some(token) = table.try_start(key, now) {
                                table.finish(token, Outcome::Success, now);
                            }
                        }
                        schedule.save();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(file.load().unwrap().len(), 32);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["jobs.json"], "{names:?}");
    }
}
