//! When the daemon retries an interrupted or unconfirmed rotation on its own: a pure backoff
//! over "now" (time is an input), independent of the client's rotation schedule.
//!
//! The first attempt comes [`RecoveryBackoff::initial`] after the failure was seen; each
//! failed attempt doubles the delay up to [`RecoveryBackoff::max`]. A secret whose mint answer
//! was lost, or that could not be stored, is therefore healed within seconds to minutes of the
//! cause going away, not at the next scheduled slot (days away for a weekly schedule).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The delays between recovery attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryBackoff {
    /// Delay before the first attempt (`daemon.recovery_delay`).
    pub initial: Duration,
    /// Longest delay (`daemon.recovery_max_delay`).
    pub max: Duration,
}

impl RecoveryBackoff {
    /// The delay after `failures` failed attempts: `initial · 2^failures`, at most `max` (and
    /// never less than `initial`).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max.max(self.initial))
    }

    /// When the next attempt is due, after `failures` failed attempts, seen at `now`.
    pub fn next_attempt(&self, now: DateTime<Utc>, failures: u32) -> DateTime<Utc> {
        TimeDelta::from_std(self.delay(failures))
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = RecoveryBackoff {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(300),
        };
        let delays: Vec<u64> = (0..7).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(300));
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(b.next_attempt(t0, 1), t0 + TimeDelta::seconds(60));
        // a cap below the first delay never shortens it
        let odd = RecoveryBackoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(1),
        };
        assert_eq!(odd.delay(3), Duration::from_secs(10));
        // no overflow at the far end of time
        assert_eq!(
            b.next_attempt(DateTime::<Utc>::MAX_UTC, 0),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
