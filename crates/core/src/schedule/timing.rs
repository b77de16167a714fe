//! What is due now, computed from the schedule, persisted state and `now`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::job::JobState;
use super::{JobKind, Schedule};

/// The answer to "what should the scheduler do with this job?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The schedule is `"off"`: the job only runs when triggered by hand.
    Off,
    /// Start the job now.
    Now(DueReason),
    /// Nothing to do until the given time; wake up then and ask again.
    At(DateTime<Utc>, WaitReason),
    /// A run is in progress; never start a second one (only reported by
    /// [`JobTable::due`](super::JobTable::due)).
    Running,
}

/// Why a job is due now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueReason {
    /// The job has never succeeded (it is new, or every attempt failed).
    NeverSucceeded,
    /// This slot (jitter included) has passed since the last success. If the daemon was down
    /// over several slots, this is the first of them and the job runs once, not once per slot.
    Slot(DateTime<Utc>),
}

/// Why a job is not due yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// The next slot (jitter included) has not come yet.
    Slot,
    /// The job is due but failed recently; the retry waits for the backoff delay.
    Backoff,
}

/// Delays between retries of a failing job, and when it counts as parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Delay after the first failure; it doubles with every further consecutive failure.
    pub base: Duration,
    /// Longest delay; also the retry interval of a parked job.
    pub cap: Duration,
    /// After this many consecutive failures the job is parked: shown as such and retried every
    /// `cap` until it succeeds.
    pub park_after: u32,
}

impl Default for BackoffPolicy {
    /// One minute, doubling up to one hour; parked after five consecutive failures.
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(3600),
            park_after: 5,
        }
    }
}

impl BackoffPolicy {
    /// The delay before the next attempt after `consecutive_failures` failures in a row:
    /// zero for none, `min(base * 2^(n-1), cap)` otherwise, and `cap` once parked.
    pub fn delay(&self, consecutive_failures: u32) -> Duration {
        if consecutive_failures == 0 {
            return Duration::ZERO;
        }
        if self.is_parked(consecutive_failures) {
            return self.cap;
        }
        let factor = 1u32
            .checked_shl(consecutive_failures - 1)
            .unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// Whether `consecutive_failures` failures in a row park the job.
    pub fn is_parked(&self, consecutive_failures: u32) -> bool {
        consecutive_failures >= self.park_after.max(1)
    }
}

// Next to the policy it asks; the plain type lives in `job`.
impl JobState {
    /// Whether the job is parked under `policy` (too many consecutive failures).
    pub fn is_parked(&self, policy: &BackoffPolicy) -> bool {
        policy.is_parked(self.consecutive_failures)
    }
}

/// A deterministic offset in `[0, jitter)` for one (instance, job kind), added to every slot of
/// that job so that many instances on the same schedule spread out. It depends only on the names
/// (SHA-256, millisecond resolution), so tests and restarts agree. A zero `jitter` gives zero.
pub fn jitter_offset(instance: &str, kind: JobKind, jitter: Duration) -> Duration {
    let range = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
    if range == 0 {
        return Duration::ZERO;
    }
    let mut hasher = Sha256::new();
    hasher.update(instance.as_bytes());
    hasher.update([0]);
    hasher.update(kind.as_str().as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Duration::from_millis(u64::from_be_bytes(first) % range)
}

/// The first slot of `schedule`, shifted by `offset`, strictly after `after`.
pub fn next_slot(
    schedule: &Schedule,
    offset: Duration,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let offset = TimeDelta::from_std(offset).ok()?;
    let slot = schedule.next_after(after.checked_sub_signed(offset)?)?;
    slot.checked_add_signed(offset)
}

/// What is due for one job, from its schedule, its jitter `offset`, its persisted `state` and
/// `now`.
///
/// - `"off"` → [`Due::Off`].
/// - Never succeeded → due immediately ([`DueReason::NeverSucceeded`]): a new client's secret or
///   a new instance's drift should not wait for the next slot, which may be a week away.
/// - Otherwise the first slot after the last success: due if it is `<= now` (after downtime this
///   is one catch-up run, whatever the number of missed slots), else [`Due::At`] that slot.
/// - After failures, a due job waits until `state.last_attempt + backoff.delay(failures)`.
pub fn due(
    schedule: &Schedule,
    offset: Duration,
    state: &JobState,
    backoff: &BackoffPolicy,
    now: DateTime<Utc>,
) -> Due {
    if schedule.is_off() {
        return Due::Off;
    }
    let by_schedule = match state.last_success {
        None => Due::Now(DueReason::NeverSucceeded),
        Some(last) => match next_slot(schedule, offset, last) {
            None => return Due::Off,
            Some(slot) if slot <= now => Due::Now(DueReason::Slot(slot)),
            Some(slot) => Due::At(slot, WaitReason::Slot),
        },
    };
    let retry_at = match (state.consecutive_failures, state.last_attempt) {
        (0, _) | (_, None) => None,
        (failures, Some(last_attempt)) => TimeDelta::from_std(backoff.delay(failures))
            .ok()
            .and_then(|delay| last_attempt.checked_add_signed(delay)),
    };
    match (by_schedule, retry_at) {
        (Due::Now(_), Some(retry)) if retry > now => Due::At(retry, WaitReason::Backoff),
        (Due::At(slot, _), Some(retry)) if retry > slot => Due::At(retry, WaitReason::Backoff),
        (due, _) => due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_then_caps() {
        let policy = BackoffPolicy {
            park_after: 100,
            ..BackoffPolicy::default()
        };
        let mins: Vec<u64> = (0..9).map(|n| policy.delay(n).as_secs() / 60).collect();
        assert_eq!(mins, [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(policy.delay(99), policy.cap);
    }

    #[test]
    fn parked_jobs_retry_at_the_cap() {
        let policy = BackoffPolicy::default();
        assert!(!policy.is_parked(4));
        assert!(policy.is_parked(5));
        assert_eq!(policy.delay(5), policy.cap);
        assert_eq!(policy.delay(u32::MAX), policy.cap);
    }
}
