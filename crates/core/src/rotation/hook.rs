//! Step hooks: the engine tells a [`StepHook`] when it reaches each step, so a test build of
//! the daemon can pause at a step (and be killed there) and a caller can log progress.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use super::marker::Slot;

/// The steps of a rotation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Checking Jamf and Vault; nothing changed yet.
    Preflight,
    /// Taking the lock and writing the `pending` marker.
    Intent,
    /// About to mint (`POST …/client-credentials`).
    Mint,
    /// The mint returned: the new secret exists only in memory until it is stored. This is the
    /// critical window.
    Store,
    /// Stored; about to verify the new secret.
    Verify,
    /// Verified; about to flip (alternating), record `ok` and release the lock.
    Finalize,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [
        Step::Preflight,
        Step::Intent,
        Step::Mint,
        Step::Store,
        Step::Verify,
        Step::Finalize,
    ];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::Intent => "intent",
            Step::Mint => "mint",
            Step::Store => "store",
            Step::Verify => "verify",
            Step::Finalize => "finalize",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == s)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rotation reached a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContext<'a> {
    /// Instance name.
    pub instance: &'a str,
    /// Declared client name.
    pub client: &'a str,
    /// `<vault_path>` (relative to the prefix).
    pub vault_path: &'a str,
    /// Attempt number (0 at `Preflight`, before it is known).
    pub attempt: u32,
    /// Alternating: the slot being rotated, once known.
    pub slot: Option<Slot>,
}

/// Called when the engine reaches each [`Step`]. The rotation waits for the returned future,
/// so a hook can pause it (a test-only "pause at step X" hook of the daemon). Must not fail.
pub trait StepHook: Send + Sync {
    /// `step` was reached.
    fn reached(&self, step: Step, ctx: &StepContext<'_>) -> impl Future<Output = ()> + Send;
}

/// The hook that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl StepHook for NoHook {
    async fn reached(&self, _step: Step, _ctx: &StepContext<'_>) {}
}

impl<H: StepHook> StepHook for Arc<H> {
    async fn reached(&self, step: Step, ctx: &StepContext<'_>) {
        (**self).reached(step, ctx).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip() {
        for s in Step::ALL {
            assert_eq!(Step::parse(s.as_str()), Some(s));
        }
        assert_eq!(Step::parse("nope"), None);
        assert!(Step::Mint < Step::Store);
    }
}
