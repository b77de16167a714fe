//! Steps 2 to 6 under the lock: decide what to do from the marker, then mint, store and verify,
//! or (recovery) verify what an interrupted rotation stored.

use std::collections::BTreeMap;

use super::engine::{Mode, RotationEngine};
use super::error::RotationError;
use super::hook::{Step, StepHook};
use super::marker::{Marker, SecretState, Slot, fmt_time, keys};
use super::outcome::{Anomaly, Recovery, RotationAction, RotationOutcome};
use super::persist::{Patch, store_secret, update_marker};
use super::preflight::{Prepared, before_mint};
use super::store::{SecretStore, current_version};
use super::target::RotationTarget;
use super::verify::{credentials_from, secret_map, verify};
use crate::config::RotationStrategy;
use crate::jamf::{ApiIntegration, JamfClient};

/// What to do under the lock.
enum Plan {
    /// Mint a new secret (a fresh rotation, or a recovery that must rotate again).
    Mint { recovery: Option<Recovery> },
    /// Verify what an interrupted rotation stored; mint only if it is rejected.
    Verify { recovery: Recovery },
}

/// One run holding the lock.
pub(crate) struct Run<'a, S, H> {
    pub engine: &'a RotationEngine<S, H>,
    pub jamf: &'a JamfClient,
    pub target: &'a RotationTarget,
    pub prep: Prepared,
    pub attempt: u32,
    /// The lease's fencing counter this run holds the instance under (`None`: alone).
    pub fence: Option<u64>,
    pub anomalies: Vec<Anomaly>,
    pub alternate_created: bool,
}

impl<S: SecretStore, H: StepHook> RotationEngine<S, H> {
    /// Everything after the lock was taken. The caller releases the lock.
    pub(crate) async fn locked(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        prep: Prepared,
        mode: Mode,
        attempt: u32,
        fence: Option<u64>,
    ) -> Result<Option<RotationOutcome>, RotationError> {
        let name = &target.client.name;
        let custom = self
            .store
            .read_metadata(target.vault_path())
            .await
            .map_err(|e| before_mint(name, e))?
            .map(|m| m.custom)
            .unwrap_or_default();
        let marker = Marker::parse(&custom);
        let now = self.now();
        if let Some((holder, since)) = marker.held_by_other(&self.config.daemon_id, now, fence) {
            return Err(RotationError::Locked {
                client: name.clone(),
                holder,
                since,
                expires_at: marker.expires_at.unwrap_or(now),
            });
        }
        let mut run = Run {
            engine: self,
            jamf,
            target,
            prep,
            attempt,
            fence,
            anomalies: Vec::new(),
            alternate_created: false,
        };
        let slot = match target.client.rotation.strategy {
            RotationStrategy::Single => None,
            RotationStrategy::Alternating => {
                run.ensure_alternate().await?;
                Some(run.choose_slot(&marker).await?)
            }
        };
        let path = run.write_path(slot);
        let plan = match run.recovery_plan(&marker, &path).await? {
            Some(plan) => plan,
            None if mode == Mode::Recover => return Ok(None),
            None => {
                if mode == Mode::Rotate {
                    run.check_out_of_band(slot, &path).await?;
                }
                Plan::Mint { recovery: None }
            }
        };
        let outcome = match plan {
            Plan::Mint { recovery } => run.mint(slot, &path, recovery, &custom).await?,
            Plan::Verify { recovery } => match run.verify_stored(slot, &path, recovery).await? {
                Ok(outcome) => outcome,
                Err(again) => {
                    tracing::warn!(reason = %again, "the stored secret does not work; rotating again");
                    run.mint(slot, &path, Some(again), &custom).await?
                }
            },
        };
        Ok(Some(outcome))
    }
}

impl<S: SecretStore, H: StepHook> Run<'_, S, H> {
    pub(crate) fn name(&self) -> &str {
        &self.target.client.name
    }

    /// Where the new secret is written: `<vault_path>`, or the slot's path.
    pub(crate) fn write_path(&self, slot: Option<Slot>) -> String {
        match slot {
            None => self.target.vault_path().to_string(),
            Some(slot) => self.target.slot_path(slot),
        }
    }

    pub(crate) async fn step(&self, step: Step, slot: Option<Slot>) {
        self.engine
            .step(step, self.target, self.attempt, slot)
            .await;
    }

    /// Recovery's decision from the marker; `None` when there is nothing to recover.
    async fn recovery_plan(
        &self,
        marker: &Marker,
        path: &str,
    ) -> Result<Option<Plan>, RotationError> {
        let store = &self.engine.store;
        let plan = match marker.state {
            SecretState::Pending => {
                let current = current_version(store, path)
                    .await
                    .map_err(|e| before_mint(self.name(), e))?;
                match marker.base_version {
                    Some(base) if current > base => Plan::Verify {
                        recovery: Recovery::PendingWithNewerVersion {
                            daemon: marker.daemon.clone(),
                            version: current,
                        },
                    },
                    _ => Plan::Mint {
                        recovery: Some(Recovery::PendingWithoutNewerVersion {
                            daemon: marker.daemon.clone(),
                            since: marker.pending_since,
                            attempt: marker.attempt,
                        }),
                    },
                }
            }
            SecretState::Stored => Plan::Verify {
                recovery: Recovery::StoredUnverified {
                    version: marker.stored_version.unwrap_or_default(),
                },
            },
            _ => return Ok(None),
        };
        Ok(Some(plan))
    }

    /// Verifies the latest version at `path`. `Ok(Err(reason))`: it is bad, rotate again.
    async fn verify_stored(
        &mut self,
        slot: Option<Slot>,
        path: &str,
        recovery: Recovery,
    ) -> Result<Result<RotationOutcome, Recovery>, RotationError> {
        self.step(Step::Verify, slot).await;
        let store = &self.engine.store;
        let stored = store
            .read_secret(path)
            .await
            .map_err(|e| before_mint(self.name(), e))?;
        let Some(stored) = stored else {
            return Ok(Err(Recovery::StoredSecretRejected {
                version: 0,
                reason: "nothing is stored there".into(),
            }));
        };
        let version = stored.version;
        let recovery = match recovery {
            Recovery::StoredUnverified { .. } => Recovery::StoredUnverified { version },
            other => other,
        };
        let client_id = self.slot_client(slot).client_id.clone();
        let rejected = |reason: String| Ok(Err(Recovery::StoredSecretRejected { version, reason }));
        let creds = match credentials_from(&stored.value, &client_id) {
            Ok(c) => c,
            Err(f) => return rejected(f.to_string()),
        };
        match verify(self.jamf, &creds, &self.prep.expected).await {
            Ok(verified) => {
                self.step(Step::Finalize, slot).await;
                let outcome = self
                    .finalize(
                        slot,
                        version,
                        &stored.value,
                        verified,
                        RotationAction::Verified,
                        Some(recovery),
                    )
                    .await?;
                Ok(Ok(outcome))
            }
            Err(f) if f.secret_is_bad() => rejected(f.to_string()),
            Err(failure) => Err(self.verify_failed(path, version, failure).await),
        }
    }

    /// Intent marker, mint (once), store (retried), verify, finalize.
    async fn mint(
        &mut self,
        slot: Option<Slot>,
        path: &str,
        recovery: Option<Recovery>,
        before: &BTreeMap<String, String>,
    ) -> Result<RotationOutcome, RotationError> {
        let engine = self.engine;
        let store = &engine.store;
        let main = self.target.vault_path();
        let base = current_version(store, path)
            .await
            .map_err(|e| before_mint(self.name(), e))?;
        let now = engine.now();
        let pending: Patch = vec![
            (keys::STATE, Some(SecretState::Pending.as_str().into())),
            (keys::DAEMON, Some(engine.config.daemon_id.clone())),
            (keys::FENCE, self.fence.map(|f| f.to_string())),
            (keys::ATTEMPT, Some(self.attempt.to_string())),
            (keys::PENDING_SINCE, Some(fmt_time(now))),
            (keys::EXPIRES_AT, Some(fmt_time(engine.expiry(now)))),
            (keys::BASE_VERSION, Some(base.to_string())),
            (keys::SLOT, slot.map(|s| s.as_str().to_string())),
            (keys::STORED_VERSION, None),
        ];
        update_marker(store, None, main, &pending)
            .await
            .map_err(|f| before_mint(self.name(), f.source))?;

        self.step(Step::Mint, slot).await;
        // the last look before Jamf invalidates the current secret: a daemon paused past its
        // lease (or cut off from Vault) stops here, before anything changed in Jamf
        if self.fence.is_some() {
            let now_fence = engine.lease_fence(self.target).await?;
            if now_fence != self.fence {
                return Err(RotationError::LeaseLost {
                    instance: self.target.instance.as_str().into(),
                    client: self.name().to_owned(),
                    reason: format!(
                        "the lease's fencing counter moved from {} to {}",
                        self.fence.unwrap_or(0),
                        now_fence.unwrap_or(0)
                    ),
                });
            }
        }
        let client = self.slot_client(slot).clone();
        let creds = match self.jamf.generate_client_credentials(client.id).await {
            Ok(creds) => creds,
            Err(err) => return Err(self.mint_failed(err, path, &client, before).await),
        };

        self.step(Step::Store, slot).await;
        let map = secret_map(&creds, &self.prep.jamf_url);
        let retry = engine.config.retry();
        let version = match store_secret(store, &retry, path, &map, base, &mut self.anomalies).await
        {
            Ok(v) => v,
            Err(f) => {
                let note = format!("secret lost at {}: {}", fmt_time(engine.now()), f.source);
                let patch: Patch = vec![(keys::LAST_ERROR, Some(note))];
                if update_marker(store, None, main, &patch).await.is_err() {
                    tracing::debug!("could not note the lost secret in the marker");
                }
                return Err(RotationError::SecretLost {
                    instance: self.target.instance.as_str().into(),
                    client: self.name().to_string(),
                    vault_path: store.full_path(path),
                    attempts: f.attempts,
                    elapsed: f.elapsed,
                    source: Box::new(f.source),
                });
            }
        };
        let stored: Patch = vec![
            (keys::STATE, Some(SecretState::Stored.as_str().into())),
            (keys::STORED_VERSION, Some(version.to_string())),
        ];
        update_marker(store, Some(&retry), main, &stored)
            .await
            .map_err(|f| RotationError::NotFinalized {
                client: self.name().to_string(),
                vault_path: store.full_path(path),
                version,
                source: f.source,
            })?;

        self.step(Step::Verify, slot).await;
        match verify(self.jamf, &creds, &self.prep.expected).await {
            Ok(verified) => {
                self.step(Step::Finalize, slot).await;
                self.finalize(
                    slot,
                    version,
                    &map,
                    verified,
                    RotationAction::Rotated,
                    recovery,
                )
                .await
            }
            Err(failure) => Err(self.verify_failed(path, version, failure).await),
        }
        // `creds` and `map` are dropped here: their secrets are zeroized.
    }

    /// The Jamf client of a slot (the declared one for `single`).
    pub(crate) fn slot_client(&self, slot: Option<Slot>) -> &ApiIntegration {
        match (slot, &self.prep.alternate) {
            (Some(Slot::B), Some(alt)) => alt,
            _ => &self.prep.primary,
        }
    }
}
