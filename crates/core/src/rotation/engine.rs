//! [`RotationEngine`]: configuration, the in-process guard, the lock around each run, and the
//! public entry points [`rotate`](RotationEngine::rotate) and
//! [`recover`](RotationEngine::recover).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tracing::Instrument;

use super::error::RotationError;
use super::hook::{NoHook, Step, StepContext, StepHook};
use super::lock::{self, LockError};
use super::marker::{Marker, Slot};
use super::outcome::RotationOutcome;
use super::persist::RetryBudget;
use super::preflight::{before_mint, preflight};
use super::status::{SecretStatus, secret_status};
use super::store::SecretStore;
use super::target::RotationTarget;
use crate::jamf::{AppType, JamfClient};
use crate::vault::VaultError;

pub use crate::clock::Clock;

/// Settings of a [`RotationEngine`].
#[derive(Clone)]
pub struct RotationConfig {
    /// This daemon's id, written into locks and markers. Keep it stable across restarts of the
    /// same daemon (e.g. host name + state directory): a lock or marker left by the same id is
    /// taken over at once, one left by another id only once it expires.
    pub daemon_id: String,
    /// "Now".
    pub clock: Clock,
    /// How long writes after the mint (the new secret, then the marker) are retried while
    /// the secret exists only in memory (default 5 minutes).
    pub store_retry_budget: Duration,
    /// First pause between those retries, doubled each time (default 250 ms).
    pub store_retry_initial_delay: Duration,
    /// Longest pause between those retries (default 15 s).
    pub store_retry_max_delay: Duration,
    /// How long a lock and a pending marker stop other daemons (default 15 minutes; never less
    /// than twice the retry budget plus 2 minutes, so it cannot expire during a rotation).
    pub lock_ttl: Duration,
    /// In a cluster: the instance lease this daemon must hold to rotate (checked before the
    /// intent and again right before the mint; its fencing counter goes into the marker and
    /// the lock). `None`: the daemon works alone.
    pub lease: Option<Arc<dyn LeaseGuard>>,
}

/// The instance lease a clustered daemon must hold to rotate ([`crate::cluster`]).
pub trait LeaseGuard: Send + Sync {
    /// The fencing counter under which this daemon holds `instance`, confirmed in Vault now;
    /// `Err` says why it may not write for it (the lease moved, the heartbeat lapsed, Vault
    /// refused).
    fn fence<'a>(
        &'a self,
        instance: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, LeaseRefused>> + Send + 'a>>;
}

/// Why a clustered daemon may not write for an instance now (the lease moved, the heartbeat
/// lapsed, Vault could not confirm it), as the cluster layer said it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LeaseRefused(pub String);

impl RotationConfig {
    /// The defaults listed on each field.
    pub fn new(daemon_id: impl Into<String>, clock: Clock) -> RotationConfig {
        RotationConfig {
            daemon_id: daemon_id.into(),
            clock,
            store_retry_budget: Duration::from_secs(300),
            store_retry_initial_delay: Duration::from_millis(250),
            store_retry_max_delay: Duration::from_secs(15),
            lock_ttl: Duration::from_secs(900),
            lease: None,
        }
    }

    /// The lock lifetime actually used (see [`RotationConfig::lock_ttl`]).
    pub fn effective_lock_ttl(&self) -> Duration {
        self.lock_ttl
            .max(self.store_retry_budget * 2 + Duration::from_secs(120))
    }

    pub(crate) fn retry(&self) -> RetryBudget {
        RetryBudget {
            budget: self.store_retry_budget,
            initial_delay: self.store_retry_initial_delay,
            max_delay: self
                .store_retry_max_delay
                .max(self.store_retry_initial_delay),
        }
    }
}

impl std::fmt::Debug for RotationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationConfig")
            .field("daemon_id", &self.daemon_id)
            .field("store_retry_budget", &self.store_retry_budget)
            .field("store_retry_initial_delay", &self.store_retry_initial_delay)
            .field("store_retry_max_delay", &self.store_retry_max_delay)
            .field("lock_ttl", &self.lock_ttl)
            .field("lease", &self.lease.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether a run was asked to rotate, or only to finish an interrupted rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Rotate,
    /// Rotate without the out-of-band check (`wardenctl rotate --accept-out-of-band`).
    RotateAcceptingOutOfBand,
    Recover,
}

/// The secret rotation engine. See the [module docs](super) for the protocol.
///
/// One engine per daemon; share it (`Arc`) between tasks. Two concurrent runs for the same
/// client on one engine: the second gets [`RotationError::Locked`] without touching Vault.
pub struct RotationEngine<S, H = NoHook> {
    pub(crate) store: S,
    pub(crate) hook: H,
    pub(crate) config: RotationConfig,
    active: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl<S: std::fmt::Debug, H> std::fmt::Debug for RotationEngine<S, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationEngine")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: SecretStore> RotationEngine<S, NoHook> {
    /// An engine without a step hook.
    pub fn new(store: S, config: RotationConfig) -> RotationEngine<S, NoHook> {
        RotationEngine {
            store,
            hook: NoHook,
            config,
            active: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<S: SecretStore, H: StepHook> RotationEngine<S, H> {
    /// The same engine with a step hook.
    pub fn with_hook<H2: StepHook>(self, hook: H2) -> RotationEngine<S, H2> {
        RotationEngine {
            store: self.store,
            hook,
            config: self.config,
            active: self.active,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &RotationConfig {
        &self.config
    }

    /// Rotates `target`'s secret: preflight, intent (lock + `pending` marker), mint (once,
    /// never retried), store (check-and-set, retried within the budget), verify, finalize.
    ///
    /// An interrupted earlier rotation is recovered first, as [`recover`](Self::recover)
    /// would: a rotation whose new secret was already stored is verified and counts as this
    /// rotation (nothing minted, [`RotationAction::Verified`](super::RotationAction)).
    ///
    /// Before a fresh mint, the secret about to be replaced must still get a token (the
    /// out-of-band check): [`RotationError::OutOfBand`] otherwise, nothing minted.
    pub async fn rotate(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
    ) -> Result<RotationOutcome, RotationError> {
        self.rotate_with(jamf, target, false).await
    }

    /// [`rotate`](Self::rotate); with `accept_out_of_band`, without the out-of-band check
    /// (the operator accepted that the secret in Vault was changed outside Warden).
    pub async fn rotate_with(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        accept_out_of_band: bool,
    ) -> Result<RotationOutcome, RotationError> {
        let mode = if accept_out_of_band {
            Mode::RotateAcceptingOutOfBand
        } else {
            Mode::Rotate
        };
        let outcome = self.run(jamf, target, mode).await?;
        outcome.ok_or_else(|| RotationError::Vault {
            client: target.client.name.clone(),
            source: VaultError::Decode {
                path: self.store.full_path(target.vault_path()),
                detail: "the rotation ended without an outcome".into(),
            },
        })
    }

    /// Finishes an interrupted rotation of `target`, if any (call it at start-up and before
    /// each rotation; [`rotate`](Self::rotate) does it itself):
    /// - `pending` and no newer version: a secret may have been minted and lost, and nobody can
    ///   hold it: rotate again, with the reason in [`RotationOutcome::recovery`];
    /// - `pending` with a newer version, or `stored`: verify that version (no mint) and
    ///   finalize; if Jamf rejects it, rotate again;
    /// - otherwise: `Ok(None)`, having only read the marker.
    pub async fn recover(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
    ) -> Result<Option<RotationOutcome>, RotationError> {
        let name = &target.client.name;
        let meta = self
            .store
            .read_metadata(target.vault_path())
            .await
            .map_err(|e| before_mint(name, e))?;
        let marker = Marker::parse(&meta.map(|m| m.custom).unwrap_or_default());
        if !marker.is_unfinished() {
            return Ok(None);
        }
        tracing::info!(
            instance = %target.instance,
            client = %name,
            state = %marker.state,
            "recovering an interrupted rotation"
        );
        self.run(jamf, target, Mode::Recover).await
    }

    /// The secret's status for `wardenctl secrets` (reads Vault only).
    pub async fn status(&self, target: &RotationTarget) -> Result<SecretStatus, VaultError> {
        secret_status(&self.store, target, self.now()).await
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.config.clock)()
    }

    pub(crate) fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        TimeDelta::from_std(self.config.effective_lock_ttl())
            .ok()
            .and_then(|ttl| now.checked_add_signed(ttl))
            .unwrap_or(now)
    }

    pub(crate) async fn step(
        &self,
        step: Step,
        target: &RotationTarget,
        attempt: u32,
        slot: Option<Slot>,
    ) {
        tracing::debug!(step = %step, attempt, slot = slot.map(tracing::field::display), "rotation step");
        let ctx = StepContext {
            instance: &target.instance,
            client: &target.client.name,
            vault_path: target.vault_path(),
            attempt,
            slot,
        };
        self.hook.reached(step, &ctx).await;
    }

    async fn run(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        mode: Mode,
    ) -> Result<Option<RotationOutcome>, RotationError> {
        let span = tracing::info_span!(
            "rotation",
            instance = %target.instance,
            client = %target.client.name,
            daemon = %self.config.daemon_id,
        );
        async move {
            let _guard = self.guard(target)?;
            let name = &target.client.name;
            self.step(Step::Preflight, target, 0, None).await;
            let prep = preflight(&self.store, jamf, target).await?;
            let now = self.now();
            // an adopted client held until its cutover: its consumers hold a secret Warden
            // never saw. A client without any secret in Jamf (`appType` `NONE`, e.g. just
            // created by `apply`) has no consumer to break: its first secret is minted.
            if mode != Mode::Recover
                && !prep.marker.is_unfinished()
                && prep.primary.app_type != AppType::None
            {
                let status = secret_status(&self.store, target, now)
                    .await
                    .map_err(|e| before_mint(name, e))?;
                if let Some(adoption) = status.adoption {
                    return Err(RotationError::Adopted {
                        instance: target.instance.as_str().into(),
                        client: name.clone(),
                        reason: adoption.reason().to_owned(),
                    });
                }
            }
            let attempt = if prep.marker.is_unfinished() {
                prep.marker.attempt.saturating_add(1)
            } else {
                1
            };
            self.step(Step::Intent, target, attempt, None).await;
            let fence = self.lease_fence(target).await?;
            if let Some((holder, since)) =
                prep.marker
                    .held_by_other(&self.config.daemon_id, now, fence)
            {
                return Err(RotationError::Locked {
                    client: name.clone(),
                    holder,
                    since,
                    expires_at: prep.marker.expires_at.unwrap_or(now),
                });
            }
            let held = lock::acquire(
                &self.store,
                &target.lock_path(),
                &self.config.daemon_id,
                attempt,
                now,
                self.expiry(now),
                fence,
            )
            .await
            .map_err(|e| match e {
                LockError::Held {
                    holder,
                    since,
                    expires_at,
                } => RotationError::Locked {
                    client: name.clone(),
                    holder,
                    since,
                    expires_at,
                },
                LockError::Store(e) => before_mint(name, e),
            })?;
            let result = self.locked(jamf, target, prep, mode, attempt, fence).await;
            if let Err(e) = lock::release(&self.store, &held, self.now()).await {
                tracing::warn!(error = %e, "could not release the rotation lock; it expires on its own");
            }
            match &result {
                Ok(Some(o)) => tracing::info!(
                    action = ?o.action,
                    client_id = %o.client_id,
                    vault_path = %o.vault_path,
                    version = o.version,
                    slot = o.slot.map(tracing::field::display),
                    "rotation finished"
                ),
                Ok(None) => {}
                Err(e) if e.secret_changed() => tracing::error!(error = %e, "rotation failed"),
                Err(e) => tracing::warn!(error = %e, "rotation failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The fencing counter of `target`'s instance lease, confirmed now; `None` when alone.
    pub(crate) async fn lease_fence(
        &self,
        target: &RotationTarget,
    ) -> Result<Option<u64>, RotationError> {
        let Some(lease) = &self.config.lease else {
            return Ok(None);
        };
        lease
            .fence(&target.instance)
            .await
            .map(Some)
            .map_err(|refused| RotationError::LeaseLost {
                instance: target.instance.as_str().into(),
                client: target.client.name.clone(),
                reason: refused.to_string(),
            })
    }

    /// Marks `target` as running in this engine, or says it already is.
    fn guard(&self, target: &RotationTarget) -> Result<ActiveGuard<'_>, RotationError> {
        let key = target.lock_path();
        let now = self.now();
        let mut active = match self.active.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(since) = active.get(&key) {
            return Err(RotationError::Locked {
                client: target.client.name.clone(),
                holder: self.config.daemon_id.clone(),
                since: *since,
                expires_at: self.expiry(*since),
            });
        }
        active.insert(key.clone(), now);
        Ok(ActiveGuard {
            active: &self.active,
            key,
        })
    }
}

struct ActiveGuard<'a> {
    active: &'a Mutex<BTreeMap<String, DateTime<Utc>>>,
    key: String,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        let mut active = match self.active.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        active.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::MemoryStore;

    fn assert_send<T: Send>(_: &T) {}

    /// The daemon spawns rotations: their futures must be `Send` for every store and hook.
    #[allow(dead_code)]
    fn rotation_futures_are_send<S: SecretStore, H: StepHook>(
        engine: &RotationEngine<S, H>,
        jamf: &JamfClient,
        target: &RotationTarget,
    ) {
        assert_send(&engine.rotate(jamf, target));
        assert_send(&engine.recover(jamf, target));
        assert_send(&engine.status(target));
    }

    #[test]
    fn lock_ttl_outlasts_the_retry_budget() {
        let mut c = RotationConfig::new("d", crate::clock::fixed(DateTime::<Utc>::UNIX_EPOCH));
        assert_eq!(c.effective_lock_ttl(), Duration::from_secs(900));
        c.store_retry_budget = Duration::from_secs(600);
        assert_eq!(c.effective_lock_ttl(), Duration::from_secs(1320));
        let engine = RotationEngine::new(MemoryStore::new(), c);
        assert_eq!(
            engine.expiry(DateTime::<Utc>::UNIX_EPOCH),
            DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1320)
        );
        let dbg = format!("{engine:?}");
        assert!(dbg.contains("daemon_id: \"d\""), "{dbg}");
    }
}
