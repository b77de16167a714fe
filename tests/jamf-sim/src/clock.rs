//! The simulator's clock: the one place it reads the machine's time.
//!
//! Each instance's clock is this wall-clock time plus an offset that tests move forward with
//! [`SimInstance::advance_clock`](crate::SimInstance::advance_clock) (or `POST
//! /__sim/clock/advance`), so tokens and lag windows expire without sleeping. The simulator
//! does not depend on `warden-core` (it stands in for Jamf Pro, not for Warden), so it keeps
//! its own small copy of the rule `warden_core::clock` sets: nothing else calls `now()`.
#![allow(clippy::disallowed_methods)]

/// The system's UTC time in epoch milliseconds.
pub(crate) fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
