//! Time as an input: the one place in the crate that reads the machine's clocks.
//!
//! Two kinds of time, for two purposes:
//!
//! - **"Now" on the calendar** ([`Clock`]): when a token expires, when a schedule fires, the
//!   timestamp of a record. Everything that decides something by the time of day takes a
//!   [`Clock`] (the daemon passes [`system()`], tests a [`ManualClock`] they move by hand), so a
//!   test can let a token expire or a schedule come due without sleeping.
//! - **Elapsed time** ([`Stopwatch`], [`instant()`]): how long a request took, how much of a
//!   retry budget or timeout is used, how long a benchmark ran. These read the monotonic clock:
//!   a wall clock can jump (NTP steps it, an operator sets it), and a jump must not cut a
//!   timeout short, stretch it without end or give a negative latency. They decide nothing
//!   that a test needs to move, so they stay real time.
//!
//! `clippy.toml` bans `Instant::now`, `SystemTime::now` and `Utc::now` everywhere else.
#![allow(clippy::disallowed_methods)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

/// The source of "now" (the daemon passes [`system()`]; tests a [`ManualClock`] or [`fixed`]).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The real clock: the system's UTC time.
pub fn system() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that always says `at`.
pub fn fixed(at: DateTime<Utc>) -> Clock {
    Arc::new(move || at)
}

/// The time from `from` to `to`, zero if `to` is not later.
pub fn until(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// `at` plus `by`, saturating at the end of chrono's range.
pub fn add(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A clock that stands still until moved: [`advance`](Self::advance) or [`set`](Self::set).
/// Clones share the same time; [`clock`](Self::clock) hands it out as a [`Clock`].
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock standing at the system's current time (for tests that talk to servers whose
    /// own clock starts from the real time, e.g. the Jamf simulator).
    pub fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    /// Moves it forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = add(*now, by);
    }

    /// Sets it to `at` (may move it back).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    /// This clock as a [`Clock`].
    pub fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // a poisoned lock only means a panic elsewhere; the time in it is still valid
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The monotonic clock's current reading, for code that keeps [`Instant`]s (e.g. to compare
/// spans measured on several tasks). See the [module docs](self) for when to use it.
pub fn instant() -> Instant {
    Instant::now()
}

/// Measures elapsed time on the monotonic clock (latencies, retry budgets, timeouts,
/// benchmarks). See the [module docs](self) for why these are not on a [`Clock`].
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    started: Instant,
}

impl Stopwatch {
    /// Starts measuring now.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// Time since [`start`](Self::start).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// When it was started.
    pub fn started_at(&self) -> Instant {
        self.started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let manual = ManualClock::new(start);
        let clock = manual.clock();
        assert_eq!(clock(), start);
        manual.advance(Duration::from_millis(1500));
        assert_eq!(clock(), start + TimeDelta::milliseconds(1500));
        manual.set(start);
        assert_eq!(manual.clone().now(), start);
        assert_eq!(fixed(start)(), start);
    }

    #[test]
    fn until_and_add_saturate() {
        let t = DateTime::from_timestamp(1_000, 0).unwrap();
        assert_eq!(
            until(t, add(t, Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(until(add(t, Duration::from_secs(5)), t), Duration::ZERO);
        assert_eq!(add(t, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn stopwatch_is_monotonic() {
        let sw = Stopwatch::start();
        let first = sw.elapsed();
        assert!(sw.elapsed() >= first);
        assert!(instant() >= sw.started_at());
    }
}
