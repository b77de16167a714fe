//! Self-healing of interrupted or unconfirmed rotations: every client whose rotation did not
//! finish (a mint whose answer was lost, a secret that could not be stored, a stored secret not
//! yet verified, a recovery that failed) is recovered by the daemon itself after
//! `daemon.recovery_delay`, then with exponential backoff up to `daemon.recovery_max_delay`,
//! independent of the client's rotation schedule.
//!
//! This is the table of clients waiting for recovery (pure, time passed in). The rotation
//! service keeps it; the recovery job (`jobs/recovery.rs`) takes what is due at each scheduler
//! tick, by the daemon's clock, so a test that advances the clock advances recovery too. An
//! entry is added when a rotation or recovery fails and leaves an unfinished marker, or when
//! start-up finds one; it is removed when a recovery finishes (or finds nothing left to do),
//! or when the client is no longer configured.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use warden_core::rotation::RecoveryBackoff;

/// `(instance, client)`.
pub type HealKey = (String, String);

/// One client waiting for recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healing {
    /// Failed recovery attempts so far.
    pub failures: u32,
    /// When the next attempt is due.
    pub next_at: DateTime<Utc>,
    /// Whether an attempt is running now.
    pub running: bool,
    /// The last failure, for `wardenctl status`.
    pub last_error: Option<String>,
    /// When the unfinished rotation was first seen, then when an attempt last failed.
    pub last_attempt: DateTime<Utc>,
}

/// The clients waiting for recovery.
#[derive(Debug, Default)]
pub struct HealTable {
    entries: BTreeMap<HealKey, Healing>,
}

impl HealTable {
    /// Notes that `key`'s rotation is unfinished, seen at `now`: the first attempt is due
    /// after the initial delay. An entry already waiting keeps its time and failure count.
    /// Returns whether the entry is new.
    pub fn schedule(
        &mut self,
        key: HealKey,
        now: DateTime<Utc>,
        backoff: &RecoveryBackoff,
    ) -> bool {
        if self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(
            key,
            Healing {
                failures: 0,
                next_at: backoff.next_attempt(now, 0),
                running: false,
                last_error: None,
                last_attempt: now,
            },
        );
        true
    }

    /// Takes every entry due at `now` that is not running, marking it running.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<HealKey> {
        let mut due = Vec::new();
        for (key, h) in &mut self.entries {
            if !h.running && h.next_at <= now {
                h.running = true;
                due.push(key.clone());
            }
        }
        due
    }

    /// The earliest attempt still to start.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.entries
            .values()
            .filter(|h| !h.running)
            .map(|h| h.next_at)
            .min()
    }

    /// An attempt failed at `now`: back off.
    pub fn failed(
        &mut self,
        key: &HealKey,
        now: DateTime<Utc>,
        backoff: &RecoveryBackoff,
        error: String,
    ) {
        if let Some(h) = self.entries.get_mut(key) {
            h.failures = h.failures.saturating_add(1);
            h.next_at = backoff.next_attempt(now, h.failures);
            h.running = false;
            h.last_error = Some(error);
            h.last_attempt = now;
        }
    }

    /// Nothing is left to recover for `key`.
    pub fn done(&mut self, key: &HealKey) {
        self.entries.remove(key);
    }

    /// Clients waiting for recovery, with their state.
    pub fn get(&self, key: &HealKey) -> Option<&Healing> {
        self.entries.get(key)
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&HealKey, &Healing)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use std::time::Duration;

    #[test]
    fn entries_back_off_and_are_taken_once() {
        let b = RecoveryBackoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(40),
        };
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let key = ("alpha".to_string(), "c".to_string());
        let mut t = HealTable::default();
        assert!(t.schedule(key.clone(), t0, &b));
        // seen again later: keeps its first time
        assert!(!t.schedule(key.clone(), t0 + TimeDelta::seconds(5), &b));
        assert_eq!(t.next_due(), Some(t0 + TimeDelta::seconds(10)));
        assert!(t.take_due(t0 + TimeDelta::seconds(9)).is_empty());
        assert_eq!(t.take_due(t0 + TimeDelta::seconds(10)), vec![key.clone()]);
        // running: not taken again, not a future wake-up
        assert!(t.take_due(t0 + TimeDelta::seconds(100)).is_empty());
        assert_eq!(t.next_due(), None);
        let t1 = t0 + TimeDelta::seconds(10);
        t.failed(&key, t1, &b, "vault down".into());
        assert_eq!(t.next_due(), Some(t1 + TimeDelta::seconds(20)));
        for _ in 0..5 {
            t.failed(&key, t1, &b, "vault down".into());
        }
        assert_eq!(t.next_due(), Some(t1 + TimeDelta::seconds(40)), "capped");
        assert_eq!(t.get(&key).unwrap().failures, 6);
        t.done(&key);
        assert_eq!(t.next_due(), None);
        assert_eq!(t.entries().count(), 0);
    }
}
