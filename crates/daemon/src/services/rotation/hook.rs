//! The test-only step hook, compiled only with the `test-hooks` feature (release builds and
//! `cargo install` never enable it; the daemon's own tests do).
//!
//! With `WARDEN_TEST_PAUSE_AT=<step>` (preflight, intent, mint, store, verify, finalize) in its
//! environment, wardend logs `test hook: paused at step <step>` when a rotation reaches that
//! step and waits there forever, so tests can SIGKILL it at that point. With
//! `WARDEN_TEST_RESUME_FILE=<path>` as well, only the first rotation reaching the step pauses,
//! and only until that file exists (tests change Vault's policy between mint and store this
//! way).

use std::sync::Arc;
use std::time::Duration;

use warden_core::rotation::{Step, StepContext, StepHook};

/// The step hook: pauses at the step named by `WARDEN_TEST_PAUSE_AT`.
#[derive(Debug, Clone, Default)]
pub struct PauseHook {
    pause_at: Option<Step>,
    /// `WARDEN_TEST_RESUME_FILE`: pause only the first rotation reaching the step, until this
    /// file exists (so a test can change Vault between two steps of one rotation).
    resume_file: Option<std::path::PathBuf>,
    paused_once: Arc<std::sync::atomic::AtomicBool>,
}

/// `WARDEN_TEST_PAUSE_AT` names no rotation step.
#[derive(Debug, thiserror::Error)]
#[error(
    "WARDEN_TEST_PAUSE_AT={0} is not a rotation step (preflight, intent, mint, store, verify, finalize)"
)]
pub struct UnknownStep(String);

/// Reads `WARDEN_TEST_PAUSE_AT`; an unknown step is an error naming it.
pub fn pause_at_from_env() -> Result<Option<Step>, UnknownStep> {
    match std::env::var("WARDEN_TEST_PAUSE_AT") {
        Ok(step) => Step::parse(&step).map(Some).ok_or(UnknownStep(step)),
        Err(_) => Ok(None),
    }
}

impl PauseHook {
    /// A hook pausing at `pause_at`, if any.
    pub fn new(pause_at: Option<Step>) -> PauseHook {
        let resume_file = pause_at
            .and_then(|_| std::env::var_os("WARDEN_TEST_RESUME_FILE"))
            .map(std::path::PathBuf::from);
        PauseHook {
            pause_at,
            resume_file,
            paused_once: Arc::default(),
        }
    }
}

impl StepHook for PauseHook {
    async fn reached(&self, step: Step, ctx: &StepContext<'_>) {
        if self.pause_at != Some(step) {
            return;
        }
        let Some(resume) = &self.resume_file else {
            tracing::warn!(
                instance = ctx.instance,
                client = ctx.client,
                "test hook: paused at step {step}"
            );
            return std::future::pending::<()>().await;
        };
        if self
            .paused_once
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        tracing::warn!(
            instance = ctx.instance,
            client = ctx.client,
            "test hook: paused at step {step} until {} exists",
            resume.display()
        );
        while !resume.exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!("test hook: resumed at step {step}");
    }
}
