//! The job table: per (instance, job kind) state, no overlapping runs, backoff and parking.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::job::{JobKey, JobState, JobStates};
use super::{BackoffPolicy, Due, Schedule, due};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The run did its work.
    Success,
    /// The run failed; the message is kept in [`JobState::last_error`] (it must not contain
    /// secrets).
    Failure(String),
}

/// Proof that a run was started with [`JobTable::try_start`]; hand it back to
/// [`JobTable::finish`]. It cannot be cloned, so a run is finished exactly once.
#[derive(Debug)]
#[must_use = "a started run must be finished with JobTable::finish"]
pub struct RunToken {
    key: JobKey,
    started_at: DateTime<Utc>,
}

impl RunToken {
    /// The job this run belongs to.
    pub fn key(&self) -> &JobKey {
        &self.key
    }

    /// When the run started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }
}

/// Per-job state plus which jobs are running. Pure: time is always an argument.
#[derive(Debug, Default)]
pub struct JobTable {
    states: JobStates,
    running: BTreeMap<JobKey, DateTime<Utc>>,
    backoff: BackoffPolicy,
}

impl JobTable {
    /// A table over previously persisted `states` (see [`StateFile`](super::StateFile)).
    pub fn new(states: JobStates, backoff: BackoffPolicy) -> JobTable {
        JobTable {
            states,
            running: BTreeMap::new(),
            backoff,
        }
    }

    /// What is due for `key` (see [`due`](super::due())); [`Due::Running`] while a run is in
    /// progress.
    pub fn due(
        &self,
        key: &JobKey,
        schedule: &Schedule,
        offset: Duration,
        now: DateTime<Utc>,
    ) -> Due {
        if self.running.contains_key(key) {
            return Due::Running;
        }
        let default = JobState::default();
        let state = self.states.get(key).unwrap_or(&default);
        due(schedule, offset, state, &self.backoff, now)
    }

    /// Marks `key` as running and returns its token, or `None` if it is already running. This
    /// does not check whether the job is due, so manual triggers use it too.
    pub fn try_start(&mut self, key: JobKey, now: DateTime<Utc>) -> Option<RunToken> {
        if self.running.contains_key(&key) {
            return None;
        }
        self.running.insert(key.clone(), now);
        Some(RunToken {
            key,
            started_at: now,
        })
    }

    /// Records how the run of `token` ended at `now` and returns the job's new state.
    pub fn finish(&mut self, token: RunToken, outcome: Outcome, now: DateTime<Utc>) -> &JobState {
        self.running.remove(&token.key);
        let state = self.states.entry(token.key).or_default();
        state.last_attempt = Some(now);
        match outcome {
            Outcome::Success => {
                state.last_success = Some(token.started_at);
                state.last_error = None;
                state.consecutive_failures = 0;
            }
            Outcome::Failure(message) => {
                state.last_error = Some(message);
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            }
        }
        state
    }

    /// Whether a run of `key` is in progress, and since when.
    pub fn running_since(&self, key: &JobKey) -> Option<DateTime<Utc>> {
        self.running.get(key).copied()
    }

    /// Whether `key` is parked (too many consecutive failures; retried every `cap`).
    pub fn is_parked(&self, key: &JobKey) -> bool {
        self.states
            .get(key)
            .is_some_and(|s| s.is_parked(&self.backoff))
    }

    /// Whether any job of `instance` is parked.
    pub fn instance_parked(&self, instance: &str) -> bool {
        self.states
            .iter()
            .any(|(key, state)| key.instance == instance && state.is_parked(&self.backoff))
    }

    /// The state of `key`, if it ever ran.
    pub fn state(&self, key: &JobKey) -> Option<&JobState> {
        self.states.get(key)
    }

    /// Every job's state, for [`StateFile::save`](super::StateFile::save).
    pub fn states(&self) -> &JobStates {
        &self.states
    }

    /// The backoff policy in force.
    pub fn backoff(&self) -> &BackoffPolicy {
        &self.backoff
    }

    /// Replaces the backoff policy (on reload).
    pub fn set_backoff(&mut self, backoff: BackoffPolicy) {
        self.backoff = backoff;
    }

    /// Lets the failed jobs of `instance` run at once instead of waiting out their backoff, e.g.
    /// after `wardenctl bootstrap` stored the credentials they lacked: their failure streak is
    /// forgotten (so the instance is no longer parked); `last_error` stays until the next run
    /// ends. Running jobs are left alone.
    pub fn retry_now(&mut self, instance: &str) {
        for (key, state) in &mut self.states {
            if key.instance == instance && !self.running.contains_key(key) {
                state.consecutive_failures = 0;
            }
        }
    }

    /// Forgets the state of every instance not in `instances` (on reload, after an instance was
    /// removed from the config). Running jobs keep their running mark until finished.
    pub fn retain_instances(&mut self, instances: &[&str]) {
        self.states
            .retain(|key, _| instances.contains(&key.instance.as_str()));
    }
}
