//! The daemon's side of secret rotation: one [`RotationEngine`] over Vault, shared by the
//! scheduled rotation job, `wardenctl rotate` and the start-up recovery pass; change-log
//! records around every rotation; the global rate limit; and the test-only step hook.
//!
//! Rotations are never cancelled once started: they hold a read guard of
//! [`Shared::critical`](crate::shared::Shared), which a stopping daemon takes for writing, so it
//! never exits between generating a secret and storing it, even on a second stop signal.
//!
//! The test-only hook: with `WARDEN_TEST_PAUSE_AT=<step>` (preflight, intent, mint, store,
//! verify, finalize) in its environment, wardend logs `test hook: paused at step <step>` when a
//! rotation reaches that step and waits there forever, so tests can SIGKILL it at that point.
//! With `WARDEN_TEST_RESUME_FILE=<path>` as well, only the first rotation reaching the step
//! pauses, and only until that file exists (tests change Vault's policy between mint and
//! store this way).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{ClientRotation, DesiredClient, Instance, RotationStrategy};
use warden_core::jamf::JamfClient;
use warden_core::protocol::ErrorCode;
use warden_core::rotation::{
    PreflightFailure, RotationConfig, RotationEngine, RotationError, RotationOutcome,
    RotationTarget, Step, StepContext, StepHook,
};
use warden_core::vault::Vault;

use crate::shared::Shared;

/// The engine the daemon runs.
pub type Engine = RotationEngine<Arc<Vault>, DaemonHook>;

/// Display name of Warden's own management role and client (made by `wardenctl bootstrap`).
pub const MANAGEMENT_NAME: &str = "Jamf Warden";

/// The step hook: pauses at the step named by `WARDEN_TEST_PAUSE_AT` (tests only).
#[derive(Debug, Clone, Default)]
pub struct DaemonHook {
    pause_at: Option<Step>,
    /// `WARDEN_TEST_RESUME_FILE`: pause only the first rotation reaching the step, until this
    /// file exists (so a test can change Vault between two steps of one rotation).
    resume_file: Option<std::path::PathBuf>,
    paused_once: Arc<std::sync::atomic::AtomicBool>,
}

impl DaemonHook {
    /// A hook pausing at `pause_at`, if any.
    pub fn new(pause_at: Option<Step>) -> DaemonHook {
        let resume_file = pause_at
            .and_then(|_| std::env::var_os("WARDEN_TEST_RESUME_FILE"))
            .map(std::path::PathBuf::from);
        DaemonHook {
            pause_at,
            resume_file,
            paused_once: Arc::default(),
        }
    }
}

impl StepHook for DaemonHook {
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

/// This daemon's id: host name and a hash of its state directory, stable across restarts of the
/// same daemon, distinct for two daemons on one host. Path-safe (`[A-Za-z0-9._-]`).
pub fn daemon_id(state_dir: &std::path::Path) -> String {
    let host: String = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = Sha256::digest(state_dir.display().to_string().as_bytes());
    format!("{host}-{}", hex_prefix(&digest))
}

/// Builds the daemon's engine; locks and markers carry `daemon_id`, so this daemon's own stale
/// locks are taken over at once after a restart.
pub fn engine(
    vault: Arc<Vault>,
    daemon_id: &str,
    clock: crate::Clock,
    store_retry_budget: Duration,
    pause_at: Option<Step>,
) -> Engine {
    let mut config = RotationConfig::new(daemon_id, clock);
    config.store_retry_budget = store_retry_budget;
    RotationEngine::new(vault, config).with_hook(DaemonHook::new(pause_at))
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The target for Warden's own management client of `inst`: declared implicitly, rotated on
/// the instance's rotation schedule, stored at the instance's `credentials` path.
pub fn management_target(inst: &Instance) -> RotationTarget {
    RotationTarget::new(
        inst.name.clone(),
        &inst.schedules.rotation,
        DesiredClient {
            name: MANAGEMENT_NAME.into(),
            roles: vec![MANAGEMENT_NAME.into()],
            enabled: true,
            token_lifetime: 300,
            owner: "jamf-warden".into(),
            purpose: "Jamf Warden's own management client".into(),
            vault_path: Some(inst.credentials.clone()),
            rotation: ClientRotation {
                schedule: None,
                max_age: None,
                strategy: RotationStrategy::Single,
            },
            source: std::path::Path::new("").into(),
        },
    )
}

/// The rotation target called `client` on `inst`: a declared client, or the management client;
/// `None` when `client` is not declared (Warden rotates only declared clients).
pub fn target(inst: &Instance, client: &str) -> Option<RotationTarget> {
    if client == MANAGEMENT_NAME && inst.desired_state.client(client).is_none() {
        return Some(management_target(inst));
    }
    RotationTarget::declared(
        &inst.name,
        &inst.schedules.rotation,
        &inst.desired_state,
        client,
    )
    .ok()
}

/// Every rotation target of `inst`: its declared clients, then the management client (last, so
/// a job rotates other clients with the credentials it started with).
pub fn targets(inst: &Instance) -> Vec<RotationTarget> {
    let mut out: Vec<RotationTarget> = inst
        .desired_state
        .clients
        .iter()
        .map(|c| RotationTarget::new(inst.name.clone(), &inst.schedules.rotation, c.clone()))
        .collect();
    if inst.desired_state.client(MANAGEMENT_NAME).is_none() {
        out.push(management_target(inst));
    }
    out
}

/// Why [`run_one`] failed: what to tell people, and the protocol error code it answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub code: ErrorCode,
    pub message: String,
    /// The engine found no such client in Jamf (nothing changed): `apply` retries this briefly
    /// right after creating the client.
    pub client_missing: bool,
}

impl RunFailure {
    /// A failure answered with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> RunFailure {
        RunFailure {
            code,
            message: message.into(),
            client_missing: false,
        }
    }

    fn of(e: &RotationError) -> RunFailure {
        let code = match e {
            // another task or daemon is rotating this client
            RotationError::Locked { .. } => ErrorCode::Conflict,
            // guardrails: never rotated, whatever the desired state says
            RotationError::Foreign { .. } => ErrorCode::BadRequest,
            RotationError::NotDeclared { .. } => ErrorCode::NotFound,
            // Jamf's live state does not allow it (apply the desired state first)
            RotationError::Preflight { .. } => ErrorCode::Conflict,
            _ => ErrorCode::Unavailable,
        };
        let mut failure = RunFailure::new(code, e.to_string());
        failure.client_missing = matches!(
            e,
            RotationError::Preflight {
                failure: PreflightFailure::ClientMissing { .. },
                ..
            }
        );
        failure
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Rotates (`recover_only = false`) or finishes an interrupted rotation of (`true`) one target,
/// with change-log records: `started` before anything changes, then `ok` or `failed`.
/// A failure to write the `started` record stops the rotation before it begins.
pub async fn run_one(
    shared: &Arc<Shared>,
    jamf: &JamfClient,
    target: &RotationTarget,
    actor: Actor,
    recover_only: bool,
) -> Result<Option<(RotationOutcome, u64)>, RunFailure> {
    let internal = |message: String| RunFailure::new(ErrorCode::Internal, message);
    let _critical = shared.critical.read().await;
    let mut slot = None;
    if !recover_only {
        slot = shared
            .rotation_rate
            .acquire(shared.config().daemon.max_rotations_per_minute)
            .await;
        let started = ChangeEntry::new(
            actor.clone(),
            ObjectRef::named(ObjectKind::Secret, &target.client.name),
            Action::Rotate,
            Outcome::Started,
        )
        .instance(&target.instance)
        .after(json!({ "vault_path": target.client.vault_path, "strategy": target.client.rotation.strategy }));
        shared.record(started).await.map_err(internal)?;
    }
    let result = if recover_only {
        shared.rotation.recover(jamf, target).await
    } else {
        shared.rotation.rotate(jamf, target).await.map(Some)
    };
    match result {
        Ok(Some(outcome)) => {
            let record = shared
                .record(outcome.change_entry(actor))
                .await
                .map_err(internal)?;
            shared.note_rotated(&target.instance, &target.client.name);
            crate::heal::done(shared, target);
            tracing::info!(
                instance = %target.instance,
                client = %target.client.name,
                version = outcome.version,
                "secret rotated and verified"
            );
            Ok(Some((outcome, record.seq)))
        }
        Ok(None) => {
            crate::heal::done(shared, target);
            Ok(None)
        }
        Err(e) => {
            // the daemon recovers what this left unfinished on its own, with backoff
            let unfinished = e.needs_recovery()
                || recover_only
                || shared
                    .rotation
                    .status(target)
                    .await
                    .is_ok_and(|s| matches!(s.state.as_str(), "pending" | "stored"));
            if unfinished {
                crate::heal::schedule(shared, &target.instance, &target.client.name);
            }
            if !e.secret_changed()
                && let Some(at) = slot
            {
                // nothing was minted: the attempt does not count against the rate limit, so a
                // drifted instance cannot starve healthy ones
                shared.rotation_rate.release(at).await;
            }
            let failure = RunFailure::of(&e);
            let _ = shared.record(e.change_entry(actor, target)).await;
            tracing::error!(instance = %target.instance, client = %target.client.name, error = %failure, "rotation failed");
            Err(failure)
        }
    }
}

/// At most N rotations per minute over all instances.
#[derive(Debug, Default)]
pub struct RateLimit {
    recent: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    /// Gives back a slot taken by [`acquire`](Self::acquire) for an attempt that minted nothing.
    pub async fn release(&self, at: Instant) {
        let mut recent = self.recent.lock().await;
        if let Some(i) = recent.iter().position(|t| *t == at) {
            recent.remove(i);
        }
    }

    /// Waits for a slot under `per_minute` (0 means no limit); returns the slot's time stamp.
    pub async fn acquire(&self, per_minute: u32) -> Option<Instant> {
        if per_minute == 0 {
            return None;
        }
        loop {
            let wait = {
                let mut recent = self.recent.lock().await;
                let now = Instant::now();
                while recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    recent.pop_front();
                }
                if recent.len() < per_minute as usize {
                    recent.push_back(now);
                    return Some(now);
                }
                recent
                    .front()
                    .map(|t| Duration::from_secs(60).saturating_sub(now.duration_since(*t)))
                    .unwrap_or(Duration::from_millis(100))
            };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn released_slots_do_not_count() {
        let rl = RateLimit::default();
        let a = rl.acquire(2).await.expect("a slot");
        let _b = rl.acquire(2).await.expect("a slot");
        assert_eq!(rl.recent.lock().await.len(), 2);
        rl.release(a).await;
        assert_eq!(rl.recent.lock().await.len(), 1);
        // a third acquire fits again without waiting for the minute to pass
        assert!(rl.acquire(2).await.is_some());
        assert_eq!(rl.recent.lock().await.len(), 2);
        assert!(rl.acquire(0).await.is_none(), "0 means no limit");
    }

    #[test]
    fn daemon_id_is_stable_path_safe_and_per_state_dir() {
        let a = daemon_id(std::path::Path::new("/var/lib/jamf-warden"));
        assert_eq!(a, daemon_id(std::path::Path::new("/var/lib/jamf-warden")));
        assert_ne!(a, daemon_id(std::path::Path::new("/var/lib/other")));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{a}"
        );
    }
}
