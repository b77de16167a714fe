//! Secret rotation: one [`RotationEngine`] over Vault, shared by the scheduled rotation job,
//! `wardenctl rotate`, `apply` and recovery; change-log records around every rotation; the
//! global rate limit; the table of interrupted rotations the daemon recovers on its own; and
//! the guard that keeps a stopping daemon from exiting between minting and storing a secret.
//!
//! Rotations are never cancelled once started: they hold a read guard of the stop guard
//! ([`Rotation::guard`]), which a stopping daemon takes for writing ([`Rotation::wait_idle`]).

mod adopt;
pub mod heal;
#[cfg(feature = "test-hooks")]
pub mod hook;
mod rate;
mod seen;
mod targets;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::jamf::JamfClient;
use warden_core::notify::EventKind;
use warden_core::protocol::ErrorCode;
use warden_core::rotation::{
    Adoption, MintedScope, PreflightFailure, RecoveryBackoff, RotationConfig, RotationEngine,
    RotationError, RotationOutcome, RotationTarget, ScopeCheck, SecretStatus, TokenScope,
};
use warden_core::vault::VaultError;

pub use adopt::AdoptChange;
pub use rate::RateLimit;
pub use seen::ClientSeen;
pub use targets::{MANAGEMENT_NAME, management_target, target, targets};

use super::ServiceError;
use super::changes::{Changes, ChangesError};
use super::config::LiveConfig;
use super::errors::kind_name;
use super::instances::{InstanceError, Instances};
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::store::Store;
use heal::{HealKey, HealTable, Healing};

#[cfg(feature = "test-hooks")]
type Hook = hook::PauseHook;
#[cfg(not(feature = "test-hooks"))]
type Hook = warden_core::rotation::NoHook;

/// The engine the daemon runs.
pub type Engine = RotationEngine<Store, Hook>;

/// Why a rotation (or recovery) did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error(transparent)]
    Record(#[from] ChangesError),
}

impl ServiceError for RotateError {
    fn code(&self) -> ErrorCode {
        match self {
            RotateError::Rotation(e) => match e {
                // another task or daemon is rotating this client
                RotationError::Locked { .. } => ErrorCode::Conflict,
                // guardrails: never rotated, whatever the desired state says
                RotationError::Foreign { .. } => ErrorCode::BadRequest,
                RotationError::NotDeclared { .. } => ErrorCode::NotFound,
                // Jamf's live state does not allow it (apply the desired state first)
                RotationError::Preflight { .. } => ErrorCode::Conflict,
                // the secret in Vault was changed out of band: an operator decides
                RotationError::OutOfBand { .. } => ErrorCode::Conflict,
                // adopted and held until a cutover (`wardenctl adopt`)
                RotationError::Adopted { .. } => ErrorCode::Conflict,
                // in a cluster: another daemon holds the instance now
                RotationError::LeaseLost { .. } => ErrorCode::Conflict,
                _ => ErrorCode::Unavailable,
            },
            RotateError::Instance(e) => e.code(),
            RotateError::Record(e) => e.code(),
        }
    }
}

impl RotateError {
    /// The engine found no such client in Jamf (nothing changed): `apply` retries this briefly
    /// right after creating the client.
    pub fn client_missing(&self) -> bool {
        matches!(
            self,
            RotateError::Rotation(RotationError::Preflight {
                failure: PreflightFailure::ClientMissing { .. },
                ..
            })
        )
    }
}

/// The rotation service.
pub struct Rotation {
    engine: Engine,
    rate: RateLimit,
    /// Rotations hold it for reading; a stopping daemon takes it for writing.
    critical: tokio::sync::RwLock<()>,
    healing: Mutex<HealTable>,
    /// Clients the rotation job leaves alone and why (adopted and held, or refused out of
    /// band), as it last saw them: `wardenctl status` shows them without reading Vault.
    holds: Mutex<std::collections::BTreeMap<HealKey, (String, DateTime<Utc>)>>,
    /// Each client's secret as last seen (for the metrics endpoint).
    seen: Mutex<seen::SeenTable>,
    /// Cancelled once start-up recovery of interrupted rotations has finished; the rotation
    /// job and the recovery job wait for it, so they never recover the same client at once.
    startup_recovery: CancellationToken,
    config: Arc<LiveConfig>,
    changes: Arc<Changes>,
    instances: Arc<Instances>,
    lifecycle: Arc<Lifecycle>,
}

/// What builds the rotation service.
pub struct RotationDeps {
    pub vault: Store,
    pub daemon_id: String,
    /// In a cluster, the lease every rotation must hold (`None`: alone).
    pub lease: Option<Arc<dyn warden_core::rotation::LeaseGuard>>,
    pub config: Arc<LiveConfig>,
    pub changes: Arc<Changes>,
    pub instances: Arc<Instances>,
    pub lifecycle: Arc<Lifecycle>,
    #[cfg(feature = "test-hooks")]
    pub pause_at: Option<warden_core::rotation::Step>,
}

impl Rotation {
    /// The service; locks and markers carry `daemon_id`, so this daemon's own stale locks are
    /// taken over at once after a restart.
    pub fn new(deps: RotationDeps) -> Rotation {
        let mut rc = RotationConfig::new(&deps.daemon_id, Arc::clone(deps.lifecycle.clock()));
        rc.store_retry_budget = deps.config.get().daemon.store_retry_budget;
        rc.lease = deps.lease;
        #[cfg(feature = "test-hooks")]
        let hook = hook::PauseHook::new(deps.pause_at);
        #[cfg(not(feature = "test-hooks"))]
        let hook = warden_core::rotation::NoHook;
        Rotation {
            engine: RotationEngine::new(deps.vault, rc).with_hook(hook),
            rate: RateLimit::default(),
            critical: tokio::sync::RwLock::new(()),
            healing: Mutex::new(HealTable::default()),
            holds: Mutex::new(std::collections::BTreeMap::new()),
            seen: Mutex::new(seen::SeenTable::default()),
            startup_recovery: CancellationToken::new(),
            config: deps.config,
            changes: deps.changes,
            instances: deps.instances,
            lifecycle: deps.lifecycle,
        }
    }

    /// This daemon's id, as its locks and markers carry it.
    pub fn daemon_id(&self) -> &str {
        &self.engine.config().daemon_id
    }

    /// The rotation state of `target` in Vault.
    pub async fn status(&self, target: &RotationTarget) -> Result<SecretStatus, VaultError> {
        self.engine.status(target).await
    }

    /// What a token of the secret stored for `target` covers (`known`: the last answer, reused
    /// without a token request while the stored version is the same).
    pub async fn token_scope(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        known: Option<&TokenScope>,
    ) -> Result<ScopeCheck, RotationError> {
        self.engine.token_scope(jamf, target, known).await
    }

    /// The full Vault path (prefix included) consumers read for `target`.
    pub fn full_path(&self, target: &RotationTarget) -> String {
        use warden_core::rotation::SecretStore;
        self.engine.store().full_path(target.vault_path())
    }

    /// A read guard a stopping daemon waits for: hold it while a change must not be cut off.
    pub async fn guard(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.critical.read().await
    }

    /// Waits until no rotation (or other guarded change) is in progress, and keeps new ones
    /// from starting while the returned guard lives.
    pub async fn wait_idle(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        match self.critical.try_write() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::warn!(
                    "waiting for the rotation in progress to finish: a minted secret is never abandoned before it is stored (SIGKILL leaves it to start-up recovery)"
                );
                self.critical.write().await
            }
        }
    }

    /// Start-up recovery has finished (or was given up).
    pub fn startup_recovery_done(&self) -> tokio_util::sync::DropGuard {
        self.startup_recovery.clone().drop_guard()
    }

    /// Whether start-up recovery has finished.
    pub fn startup_recovered(&self) -> bool {
        self.startup_recovery.is_cancelled()
    }

    /// Resolves once start-up recovery has finished.
    pub async fn wait_startup_recovery(&self) {
        self.startup_recovery.cancelled().await
    }

    /// Rotates `target` (or, with `recover_only`, finishes its interrupted rotation) with the
    /// instance's management client, which is rebuilt afterwards when it was the one rotated.
    pub async fn rotate_managed(
        &self,
        target: &RotationTarget,
        actor: Actor,
        recover_only: bool,
    ) -> Result<Option<(RotationOutcome, u64)>, RotateError> {
        self.rotate_managed_with(target, actor, recover_only, false)
            .await
    }

    /// [`rotate_managed`](Self::rotate_managed); `accept_out_of_band` skips the out-of-band
    /// check once (`wardenctl rotate --accept-out-of-band`), recorded in the change log.
    pub async fn rotate_managed_with(
        &self,
        target: &RotationTarget,
        actor: Actor,
        recover_only: bool,
        accept_out_of_band: bool,
    ) -> Result<Option<(RotationOutcome, u64)>, RotateError> {
        let jamf = self.instances.management_client(&target.instance).await?;
        let mut result = self
            .run_one_with(&jamf, target, actor, recover_only, accept_out_of_band)
            .await;
        let own = target.client.name == MANAGEMENT_NAME;
        if own
            && !recover_only
            && matches!(&result, Err(RotateError::Rotation(e)) if e.needs_recovery())
        {
            // Warden's own secret changed in Jamf but did not reach Vault: its old secret no
            // longer works, and only the token it holds now can still mint a new one. Recover
            // at once with that token instead of after `recovery_delay`: once the token
            // expires, nothing could (a person would have to rerun bootstrap).
            tracing::warn!(
                instance = %target.instance,
                "the management client's own rotation did not finish; recovering it now, while its token lives"
            );
            if let Ok(recovered) = self.run_one(&jamf, target, Actor::Daemon, true).await {
                result = Ok(recovered);
            }
        }
        if own && matches!(result, Ok(Some(_))) {
            // switch to the new management secret at once; after a failure the cached client
            // is kept: its token outlives the secret it came from, and recovery needs it
            self.instances.forget_client(&target.instance);
            let _ = self.instances.management_client(&target.instance).await;
        }
        result
    }

    /// Rotates (`recover_only = false`) or finishes an interrupted rotation of (`true`) one
    /// target, with change-log records: `started` before anything changes, then `ok` or
    /// `failed`. A failure to write the `started` record stops the rotation before it begins.
    pub async fn run_one(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        actor: Actor,
        recover_only: bool,
    ) -> Result<Option<(RotationOutcome, u64)>, RotateError> {
        self.run_one_with(jamf, target, actor, recover_only, false)
            .await
    }

    async fn run_one_with(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        actor: Actor,
        recover_only: bool,
        accept_out_of_band: bool,
    ) -> Result<Option<(RotationOutcome, u64)>, RotateError> {
        let _critical = self.guard().await;
        let mut slot = None;
        if !recover_only {
            slot = self
                .rate
                .acquire(self.config.get().daemon.max_rotations_per_minute)
                .await;
            let started = ChangeEntry::new(
                actor.clone(),
                ObjectRef::named(ObjectKind::Secret, &target.client.name),
                Action::Rotate,
                Outcome::Started,
            )
            .instance(&target.instance)
            .after(json!({
                "vault_path": target.client.vault_path,
                "strategy": target.client.rotation.strategy,
                "accept_out_of_band": accept_out_of_band,
            }));
            self.changes.record(started).await?;
        }
        let result = if recover_only {
            self.engine.recover(jamf, target).await
        } else {
            self.engine
                .rotate_with(jamf, target, accept_out_of_band)
                .await
                .map(Some)
        };
        match result {
            Ok(Some(outcome)) => {
                let mut entry = outcome.change_entry(actor);
                if accept_out_of_band && let Some(after) = entry.after.as_object_mut() {
                    after.insert("accept_out_of_band".into(), json!(true));
                }
                let record = self.changes.record(entry).await?;
                self.instances
                    .note_rotated(&target.instance, &target.client.name);
                // preflight proved the live roles are the declared ones: the new secret's scope
                self.instances.note_scope(
                    &target.instance,
                    &target.client.name,
                    MintedScope::of(&target.client.roles),
                );
                self.recovery_done(&key_of(target));
                let counted = if recover_only { "recovered" } else { "ok" };
                self.note_outcome(target, counted, Some(outcome.rotated_at))
                    .await;
                tracing::info!(
                    instance = %target.instance,
                    client = %target.client.name,
                    version = outcome.version,
                    "secret rotated and verified"
                );
                Ok(Some((outcome, record.seq)))
            }
            Ok(None) => {
                self.recovery_done(&key_of(target));
                Ok(None)
            }
            Err(e) => {
                // the daemon recovers what this left unfinished on its own, with backoff
                let unfinished = e.needs_recovery()
                    || recover_only
                    || self
                        .engine
                        .status(target)
                        .await
                        .is_ok_and(|s| matches!(s.state.as_str(), "pending" | "stored"));
                if unfinished {
                    self.schedule_recovery(&target.instance, &target.client.name);
                }
                if !e.secret_changed()
                    && let Some(at) = slot
                {
                    // nothing was minted: the attempt does not count against the rate limit,
                    // so a drifted instance cannot starve healthy ones
                    self.rate.release(at).await;
                }
                let entry = e.change_entry(actor, target);
                let out_of_band = matches!(e, RotationError::OutOfBand { .. });
                let failure = RotateError::Rotation(e);
                let entry = entry.error_kind(kind_name(failure.code()));
                let _ = self.changes.record(entry).await;
                // a request the guardrails refuse (a foreign, undeclared or adopted client) is
                // the requester's to fix, not an alert
                let refused_request =
                    matches!(failure.code(), ErrorCode::BadRequest | ErrorCode::NotFound)
                        || matches!(
                            failure,
                            RotateError::Rotation(RotationError::Adopted { .. })
                        );
                if out_of_band {
                    self.hold_refused(target);
                } else if !refused_request {
                    self.alert(EventKind::RotationFailed, target, &failure);
                }
                self.note_outcome(target, "failed", None).await;
                tracing::error!(instance = %target.instance, client = %target.client.name, error = %failure, "rotation failed");
                Err(failure)
            }
        }
    }

    /// Alerts `kind` about `target` (never with a secret or a client id).
    fn alert(&self, kind: EventKind, target: &RotationTarget, error: &dyn std::fmt::Display) {
        let n = self.changes.notifier();
        let summary = match kind {
            EventKind::RotationRefused => format!(
                "rotation of {} refused: its secret in vault was changed out of band; see `wardenctl secrets`",
                target.client.name
            ),
            _ => format!("rotation of {} failed: {error}", target.client.name),
        };
        n.emit(
            n.event(kind, summary)
                .instance(&target.instance)
                .details(json!({
                    "client": target.client.name,
                    "vault_path": target.client.vault_path,
                    "error": error.to_string(),
                })),
        );
    }

    /// Notes that `target`'s rotation was refused out of band; alerts the first time.
    fn hold_refused(&self, target: &RotationTarget) {
        let why = "refused: changed out of band (see `wardenctl secrets`)";
        let newly = {
            let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
            let was = holds
                .get(&key_of(target))
                .is_some_and(|(w, _)| w.starts_with("refused"));
            holds.insert(key_of(target), (why.into(), self.lifecycle.now()));
            !was
        };
        if newly {
            self.alert(EventKind::RotationRefused, target, &why);
        }
    }

    fn seen(&self) -> MutexGuard<'_, seen::SeenTable> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a finished rotation (`ok`, `recovered` or `failed`) and notes the client's new
    /// state, read back from Vault (its next due time moved, or a refusal was recorded).
    async fn note_outcome(
        &self,
        target: &RotationTarget,
        outcome: &'static str,
        rotated_at: Option<DateTime<Utc>>,
    ) {
        self.lifecycle
            .metrics()
            .rotation(&target.instance, &target.client.name, outcome);
        self.seen()
            .outcome(key_of(target), outcome != "failed", rotated_at);
        if let Ok(status) = self.engine.status(target).await {
            self.seen().status(key_of(target), &status);
        }
    }

    /// Every managed client's secret as the service last saw it, by (instance, client).
    pub fn clients_seen(&self) -> Vec<(HealKey, ClientSeen)> {
        self.seen().all()
    }

    /// Notes why the rotation job leaves `target` alone (`None`: it does not), and the
    /// client's state for the metrics endpoint; alerts a new out-of-band refusal.
    pub fn note_hold(&self, target: &RotationTarget, status: &SecretStatus) {
        self.seen().status(key_of(target), status);
        if status.refused.is_some() {
            return self.hold_refused(target);
        }
        let why = match (&status.refused, &status.adoption) {
            (Some(_), _) => Some("refused: changed out of band (see `wardenctl secrets`)".into()),
            (None, Some(a)) => Some(
                match a {
                    Adoption::Held { .. } => "adopted, held until cutover",
                    Adoption::CutoverAt { .. } => "adopted, cutover scheduled",
                    Adoption::AwaitingSwitch { .. } => {
                        "adopted, twin cut over; waiting for the owner's --switched"
                    }
                }
                .to_owned(),
            ),
            (None, None) => None,
        };
        let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        match why {
            Some(why) => holds.insert(key_of(target), (why, self.lifecycle.now())),
            None => holds.remove(&key_of(target)),
        };
    }

    /// The clients of `instance` the rotation job leaves alone, with why and when it last saw
    /// it so.
    pub fn holds(&self, instance: &str) -> Vec<(String, String, DateTime<Utc>)> {
        let holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        holds
            .iter()
            .filter(|((i, _), _)| i == instance)
            .map(|((_, c), (why, at))| (c.clone(), why.clone(), *at))
            .collect()
    }

    fn healing(&self) -> MutexGuard<'_, HealTable> {
        self.healing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured recovery backoff.
    fn backoff(&self) -> RecoveryBackoff {
        let config = self.config.get();
        RecoveryBackoff {
            initial: config.daemon.recovery_delay,
            max: config.daemon.recovery_max_delay,
        }
    }

    /// Notes that the rotation of `client` on `instance` is unfinished: the daemon recovers it
    /// on its own after `daemon.recovery_delay`, then with backoff.
    pub fn schedule_recovery(&self, instance: &str, client: &str) {
        let (now, backoff) = (self.lifecycle.now(), self.backoff());
        let key = (instance.to_string(), client.to_string());
        let next = backoff.next_attempt(now, 0);
        if self.healing().schedule(key, now, &backoff) {
            tracing::info!(
                instance,
                client,
                next_attempt = %next,
                "an interrupted rotation will be recovered by the daemon"
            );
            self.lifecycle.wake.notify_one();
        }
    }

    /// Nothing is left to recover for `key`.
    pub fn recovery_done(&self, key: &HealKey) {
        self.healing().done(key);
    }

    /// Takes every recovery due at `now`, marking it running.
    pub fn take_due_recoveries(&self, now: DateTime<Utc>) -> Vec<HealKey> {
        self.healing().take_due(now)
    }

    /// The earliest recovery attempt still to start.
    pub fn next_recovery(&self) -> Option<DateTime<Utc>> {
        self.healing().next_due()
    }

    /// A recovery attempt for `key` failed: back off; answers when the next one is due.
    pub fn recovery_failed(&self, key: &HealKey, error: String) -> Option<DateTime<Utc>> {
        let (now, backoff) = (self.lifecycle.now(), self.backoff());
        let mut table = self.healing();
        table.failed(key, now, &backoff, error);
        table.get(key).map(|h| h.next_at)
    }

    /// Whether a recovery attempt for `client` of `instance` is running now.
    pub fn recovery_running(&self, instance: &str, client: &str) -> bool {
        self.healing()
            .get(&(instance.to_string(), client.to_string()))
            .is_some_and(|h| h.running)
    }

    /// The clients of `instance` waiting for recovery, with their state.
    pub fn recoveries(&self, instance: &str) -> Vec<(String, Healing)> {
        self.healing()
            .entries()
            .filter(|((i, _), _)| i == instance)
            .map(|((_, c), h)| (c.clone(), h.clone()))
            .collect()
    }

    /// `recovering, next attempt in 25s` (or `recovering now`) for a client, if it waits.
    pub fn describe_recovery(&self, instance: &str, client: &str) -> Option<String> {
        let table = self.healing();
        let h = table.get(&(instance.to_string(), client.to_string()))?;
        if h.running {
            return Some("recovering now".into());
        }
        let wait: Duration = (h.next_at - self.lifecycle.now())
            .to_std()
            .unwrap_or_default();
        Some(format!(
            "recovering, next attempt in {}",
            warden_core::rotation::fmt_age(wait)
        ))
    }
}

fn key_of(target: &RotationTarget) -> HealKey {
    (target.instance.clone(), target.client.name.clone())
}
