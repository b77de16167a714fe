//! When a client's secret is due: from its cron schedule and/or `max_age`. Pure; time is an
//! argument.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::ClientRotation;

/// When the secret rotated at `last_rotated_at` is due again, or `None` if never (schedule
/// `"off"` and no `max_age`).
///
/// - Never rotated by Warden (`None`): due `now`.
/// - Otherwise the earlier of the first schedule slot strictly after the last rotation and
///   `last_rotated_at + max_age`. A slot missed while the daemon was down is therefore in the
///   past: the secret is due at once (one catch-up, not one per missed slot).
pub fn next_due(
    policy: &ClientRotation,
    last_rotated_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let Some(last) = last_rotated_at else {
        return Some(now);
    };
    // `None` only outside a rotation target, whose client has its instance's schedule
    let by_schedule = policy.schedule.as_ref().and_then(|s| s.next_after(last));
    let by_age = policy
        .max_age
        .and_then(|age| TimeDelta::from_std(age).ok())
        .and_then(|age| last.checked_add_signed(age));
    match (by_schedule, by_age) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the secret is due at `now` (see [`next_due`]).
pub fn is_due(
    policy: &ClientRotation,
    last_rotated_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    next_due(policy, last_rotated_at, now).is_some_and(|due| due <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RotationStrategy;
    use crate::schedule::Schedule;
    use chrono::TimeZone;
    use std::time::Duration;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    fn policy(schedule: &str, max_age: Option<Duration>) -> ClientRotation {
        ClientRotation {
            schedule: Some(Schedule::parse(schedule, None).unwrap()),
            max_age,
            strategy: RotationStrategy::Single,
            adopt: crate::config::AdoptPolicy::Hold,
        }
    }

    #[test]
    fn never_rotated_is_due_now() {
        let p = policy("0 4 * * SUN", None);
        assert_eq!(next_due(&p, None, at(3, 12)), Some(at(3, 12)));
        assert!(is_due(&p, None, at(3, 12)));
        let off = policy("off", None);
        assert!(is_due(&off, None, at(3, 12)));
    }

    #[test]
    fn schedule_gives_the_first_slot_after_the_last_rotation() {
        // 2026-03-01 is a Sunday
        let p = policy("0 4 * * SUN", None);
        let last = at(2, 10);
        assert_eq!(next_due(&p, Some(last), at(3, 0)), Some(at(8, 4)));
        assert!(!is_due(&p, Some(last), at(8, 3)));
        assert!(is_due(&p, Some(last), at(8, 4)));
        // the daemon was down over the slot: due once, at once
        assert!(is_due(&p, Some(last), at(20, 0)));
    }

    #[test]
    fn max_age_wins_when_earlier() {
        let p = policy("0 4 * * SUN", Some(Duration::from_secs(2 * 86_400)));
        let last = at(2, 10);
        assert_eq!(next_due(&p, Some(last), at(3, 0)), Some(at(4, 10)));
        assert!(is_due(&p, Some(last), at(4, 10)));
        assert!(!is_due(&p, Some(last), at(4, 9)));
        // schedule earlier than max_age
        let p = policy("0 4 * * SUN", Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(next_due(&p, Some(last), at(3, 0)), Some(at(8, 4)));
    }

    #[test]
    fn off_schedule_uses_max_age_or_never() {
        let last = at(2, 10);
        let p = policy("off", Some(Duration::from_secs(3600)));
        assert_eq!(next_due(&p, Some(last), at(3, 0)), Some(at(2, 11)));
        let p = policy("off", None);
        assert_eq!(next_due(&p, Some(last), at(3, 0)), None);
        assert!(!is_due(&p, Some(last), at(28, 0)));
    }
}
