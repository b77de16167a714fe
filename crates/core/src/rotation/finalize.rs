//! Step 6, and what a run records when the mint or the verification fails.

use std::collections::BTreeMap;

use super::error::{RotationError, VerifyFailure};
use super::hook::StepHook;
use super::marker::{SecretState, Slot, fmt_time, keys, set};
use super::outcome::{RotationAction, RotationOutcome};
use super::persist::{Patch, clear_progress, store_secret, update_marker};
use super::policy::next_due;
use super::scope::MintedScope;
use super::store::{SecretStore, current_version};
use super::verify::{Verified, credentials_from};
use crate::config::RotationStrategy;
use crate::jamf::{ApiIntegration, JamfError};
use crate::vault::{SecretMap, VaultError};

use super::flow::Run;

impl<S: SecretStore, H: StepHook> Run<'_, S, H> {
    /// Alternating: flips `<vault_path>` to the verified slot's credentials. Then records
    /// `state=ok`, `rotated_at`, `next_due` and `version`, and builds the outcome.
    pub(crate) async fn finalize(
        &mut self,
        slot: Option<Slot>,
        version: u64,
        map: &SecretMap,
        verified: Verified,
        action: RotationAction,
        recovery: Option<super::outcome::Recovery>,
    ) -> Result<RotationOutcome, RotationError> {
        let engine = self.engine;
        let store = &engine.store;
        let main = self.target.vault_path();
        let retry = engine.config.retry();
        let not_finalized =
            |path: &str, version: u64, source: VaultError| RotationError::NotFinalized {
                client: self.target.client.name.clone(),
                vault_path: store.full_path(path),
                version,
                source,
            };
        let main_version = match slot {
            None => version,
            Some(_) => {
                // The flip: `<vault_path>` now holds the verified slot's credentials.
                let cas = match current_version(store, main).await {
                    Ok(v) => v,
                    Err(e) => return Err(not_finalized(&self.write_path(slot), version, e)),
                };
                store_secret(store, &retry, main, map, cas, &mut self.anomalies)
                    .await
                    .map_err(|f| not_finalized(&self.write_path(slot), version, f.source))?
            }
        };
        let now = engine.now();
        let due = next_due(&self.target.client.rotation, Some(now), now);
        let client = self.slot_client(slot).clone();
        let strategy = self.target.client.rotation.strategy;
        let mut patch = clear_progress();
        patch.extend([
            (keys::STATE, Some(SecretState::Ok.as_str().to_string())),
            (keys::DAEMON, Some(engine.config.daemon_id.clone())),
            (keys::ATTEMPT, Some(self.attempt.to_string())),
            (keys::VERSION, Some(main_version.to_string())),
            (keys::ROTATED_AT, Some(fmt_time(now))),
            (keys::NEXT_DUE, due.map(fmt_time)),
            (keys::STRATEGY, Some(strategy_str(strategy).to_string())),
            (keys::CLIENT_ID, Some(client.client_id.clone())),
            (keys::JAMF_ID, Some(client.id.to_string())),
            (keys::RECOVERY, recovery.as_ref().map(ToString::to_string)),
            // preflight proved the live roles are the declared ones: the secret covers them
            (
                keys::SCOPE_ROLES,
                Some(MintedScope::of(&self.target.client.roles).encode()),
            ),
            (
                keys::ANOMALY,
                self.anomalies.last().map(ToString::to_string),
            ),
        ]);
        if let Some(slot) = slot {
            patch.push((keys::CURRENT, Some(slot.as_str().to_string())));
            patch.push((slot.version_key(), Some(version.to_string())));
        }
        update_marker(store, Some(&retry), main, &patch)
            .await
            .map_err(|f| not_finalized(main, main_version, f.source))?;
        Ok(RotationOutcome {
            instance: self.target.instance.as_str().into(),
            client: self.target.client.name.clone(),
            action,
            strategy,
            jamf_client: client.display_name.clone(),
            jamf_id: client.id,
            client_id: client.client_id.clone(),
            vault_path: store.full_path(main),
            version: main_version,
            slot,
            slot_version: slot.map(|_| version),
            rotated_at: now,
            next_due: due,
            attempt: self.attempt,
            recovery,
            anomalies: self.anomalies.clone(),
            token_invalidated: verified.token_invalidated,
            alternate_created: self.alternate_created,
        })
    }

    /// Records a failed verification (`state=stored`, the error, the marker no longer stops
    /// other daemons) and builds the error.
    pub(crate) async fn verify_failed(
        &self,
        path: &str,
        version: u64,
        failure: VerifyFailure,
    ) -> RotationError {
        let engine = self.engine;
        let store = &engine.store;
        let patch: Patch = vec![
            (keys::STATE, Some(SecretState::Stored.as_str().to_string())),
            (keys::STORED_VERSION, Some(version.to_string())),
            (
                keys::LAST_ERROR,
                Some(format!("verification failed: {failure}")),
            ),
            (keys::EXPIRES_AT, Some(fmt_time(engine.now()))),
        ];
        if let Err(f) = update_marker(store, None, self.target.vault_path(), &patch).await {
            tracing::warn!(error = %f.source, "could not record the failed verification in the marker");
        }
        RotationError::VerifyFailed {
            client: self.target.client.name.clone(),
            vault_path: store.full_path(path),
            version,
            failure,
        }
    }

    /// The mint failed (never retried). If the old secret at `path` still works, nothing was
    /// minted: the marker is put back as it was. Otherwise the marker stays `pending` (but no
    /// longer stops other daemons) and recovery rotates again.
    pub(crate) async fn mint_failed(
        &self,
        err: JamfError,
        path: &str,
        client: &ApiIntegration,
        before: &BTreeMap<String, String>,
    ) -> RotationError {
        let engine = self.engine;
        let store = &engine.store;
        let old = match store.read_secret(path).await {
            Ok(Some(v)) => credentials_from(&v.value, &client.client_id).ok(),
            _ => None,
        };
        let works = match &old {
            None => None,
            Some(creds) => match self.jamf.verify_client_credentials(creds, None).await {
                Ok(_) => Some(true),
                Err(JamfError::OAuth { .. }) => Some(false),
                Err(_) => None,
            },
        };
        drop(old);
        let note = format!("mint failed at {}: {err}", fmt_time(engine.now()));
        let main = self.target.vault_path();
        let written = if works == Some(true) {
            let mut restored = before.clone();
            set(&mut restored, keys::LAST_ERROR, note);
            store.write_custom_metadata(main, &restored).await
        } else {
            let patch: Patch = vec![
                (keys::LAST_ERROR, Some(note)),
                (keys::EXPIRES_AT, Some(fmt_time(engine.now()))),
            ];
            update_marker(store, None, main, &patch)
                .await
                .map(|_| ())
                .map_err(|f| f.source)
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not record the failed mint in the marker");
        }
        RotationError::MintFailed {
            instance: self.target.instance.as_str().into(),
            client: self.target.client.name.clone(),
            source: Box::new(err),
            old_secret_works: works,
        }
    }
}

/// `single` / `alternating`.
pub(crate) fn strategy_str(s: RotationStrategy) -> &'static str {
    match s {
        RotationStrategy::Single => "single",
        RotationStrategy::Alternating => "alternating",
    }
}
