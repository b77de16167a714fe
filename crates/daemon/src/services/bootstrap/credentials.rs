//! Steps 2, 4 and 5 of the bootstrap: check the management credentials already in Vault,
//! mint the new secret once, store it with check-and-set (retrying a Vault that is down),
//! verify it, and mark it as just rotated.

use std::time::Duration;

use warden_core::clock::Stopwatch;

use secrecy::SecretString;
use serde_json::json;
use warden_core::changelog::{Action, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::jamf::{
    ApiIntegration, ApiRole, ClientCredentials, JamfError, ProbeOutcome, ProbeRead, VerifiedToken,
};
use warden_core::protocol::ErrorCode;
use warden_core::rotation::{SecretStore, WriteArea, WriteNeed, keys, next_due};
use warden_core::vault::{SecretMap, VaultError};

use crate::services::errors::kind_name;

use super::{Failure, Run, VAULT_WRITE_BUDGET, VERIFY_ATTEMPTS, fail, jamf_code, vault_code};
use crate::services::rotation::MANAGEMENT_NAME;

impl Run<'_> {
    /// Refuses (unless `force`) when the Vault path holds credentials that still get a token.
    /// Returns whether working credentials are being replaced.
    pub(super) async fn check_existing(&mut self, force: bool) -> Result<bool, Failure> {
        let path = self.vault_path();
        let existing = match self.svc.vault.read_secret(&self.inst.credentials).await {
            Ok(s) => s,
            Err(e) => {
                return Err(fail(
                    vault_code(&e),
                    format!(
                        "cannot read vault path {path} to check for existing management credentials: {e}; nothing was changed"
                    ),
                ));
            }
        };
        let Some(existing) = existing else {
            return Ok(false);
        };
        let (Some(id), Some(secret)) = (
            existing.value.get("client_id"),
            existing.value.get("client_secret"),
        ) else {
            self.notes.push(format!(
                "vault path {path} (version {}) lacked client_id or client_secret; it was replaced",
                existing.version
            ));
            return Ok(false);
        };
        let id = secrecy::ExposeSecret::expose_secret(id).to_string();
        let creds = ClientCredentials {
            client_id: id.clone(),
            client_secret: secret.clone(),
        };
        match self.client.verify_client_credentials(&creds, None).await {
            Ok(_) if force => {
                self.notes.push(format!(
                    "the management credentials at {path} (client id {id}) still worked and were replaced (--force)"
                ));
                Ok(true)
            }
            Ok(_) => Err(fail(
                ErrorCode::Conflict,
                format!(
                    "the management credentials at vault path {path} (client id {id}, version {}) still work; bootstrap is a first-time set-up and does not replace a working secret: rotate it with `wardenctl rotate {}/{MANAGEMENT_NAME}`, or rerun bootstrap with --force to replace it (e.g. after its role lost privileges); nothing was changed",
                    existing.version,
                    self.name()
                ),
            )),
            Err(JamfError::OAuth { .. } | JamfError::Unauthorized { .. }) => {
                self.notes.push(format!(
                    "the management credentials at {path} (client id {id}) no longer worked; they were replaced"
                ));
                Ok(false)
            }
            Err(e) if force => {
                self.notes.push(format!(
                    "could not check whether the management credentials at {path} still worked ({e}); replaced them (--force)"
                ));
                Ok(false)
            }
            Err(e) => Err(fail(
                jamf_code(&e),
                format!(
                    "cannot check whether the management credentials at vault path {path} (client id {id}) still work: {e}; rerun bootstrap when jamf pro answers (--force replaces them without this check); nothing was changed"
                ),
            )),
        }
    }

    /// The current Vault version of the credentials path, once the daemon's token is proven
    /// to be allowed to write it: never mint what cannot be stored.
    async fn writable_version(&self, path: &str) -> Result<u64, Failure> {
        let meta = self.svc.vault.read_metadata(&self.inst.credentials).await;
        if let Ok(meta) = &meta {
            // never mint what cannot be stored: prove the write first (as every rotation does)
            let need = WriteNeed {
                path: self.inst.credentials.clone(),
                area: WriteArea::Data,
                capabilities: vec![if meta.is_some() { "update" } else { "create" }],
            };
            if let Err(e) = self.svc.vault.prove_writes(&[need]).await {
                return Err(fail(
                    vault_code(&e),
                    format!(
                        "cannot store the management secret at vault path {path}: {e}; no secret was minted; fix the daemon's vault policy, then rerun bootstrap"
                    ),
                ));
            }
        }
        let cas = match meta {
            Ok(meta) => meta.map_or(0, |m| m.current_version),
            Err(e) => {
                return Err(fail(
                    vault_code(&e),
                    format!(
                        "cannot read the version of vault path {path}: {e}; no secret was minted; fix vault, then rerun bootstrap"
                    ),
                ));
            }
        };
        Ok(cas)
    }

    /// Mints the secret once, stores it with check-and-set, verifies it. Returns the client id,
    /// the Vault version and the verification.
    pub(super) async fn mint_store_verify(
        &mut self,
        role: &ApiRole,
        integration: &ApiIntegration,
    ) -> Result<(String, u64, VerifiedToken), Failure> {
        let path = self.vault_path();
        let cas = self.writable_version(&path).await?;
        let object = ObjectRef::named(ObjectKind::Secret, MANAGEMENT_NAME)
            .with_id(integration.client_id.clone());
        let intent = ChangeEntry::new(
            self.actor.clone(),
            object.clone(),
            Action::Rotate,
            Outcome::Started,
        )
        .instance(self.name())
        .before(json!({ "vault_path": path, "vault_version": cas }))
        .after(json!({ "client_id": integration.client_id, "integration_id": integration.id }));
        self.record(intent, "no secret was minted").await?;

        // Exactly once: a retried mint would invalidate the secret of the first.
        let minted = match self
            .client
            .generate_client_credentials(integration.id)
            .await
        {
            Ok(m) => m,
            Err(e) => {
                let unknown = matches!(e, JamfError::Transport { .. });
                let entry =
                    ChangeEntry::new(self.actor.clone(), object, Action::Rotate, Outcome::Failed)
                        .instance(self.name())
                        .error(e.to_string())
                        .error_kind(kind_name(jamf_code(&e)));
                let _ = self.svc.changes.record(entry).await;
                let hint = if unknown {
                    "jamf pro may have generated a secret that nobody has, which invalidated the client's previous one; rerun `wardenctl bootstrap --force`"
                } else {
                    "the client's previous secret still works; rerun bootstrap once the cause is fixed"
                };
                return Err(fail(
                    jamf_code(&e),
                    format!("cannot generate the management client's secret: {e}; {hint}"),
                ));
            }
        };
        let client_id = minted.client_id.clone();

        let mut data = SecretMap::new();
        data.insert("client_id", SecretString::from(client_id.clone()));
        data.insert("client_secret", minted.client_secret.clone());
        let version = match self.store(&data, cas).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(
                    instance = %self.name(),
                    client_id = %client_id,
                    vault_path = %path,
                    error = %e,
                    "THE NEW MANAGEMENT SECRET IS LOST: it was minted but vault did not store it; the client's previous secret no longer works; fix vault, then rerun wardenctl bootstrap --force"
                );
                let entry =
                    ChangeEntry::new(self.actor.clone(), object, Action::Rotate, Outcome::Failed)
                        .instance(self.name())
                        .after(json!({ "client_id": client_id, "vault_path": path }))
                        .error(format!("minted but not stored, the secret is lost: {e}"))
                        .error_kind(kind_name(vault_code(&e)));
                let _ = self.svc.changes.record(entry).await;
                return Err(fail(
                    ErrorCode::Internal,
                    format!(
                        "THE NEW SECRET IS LOST: jamf pro generated a new secret for the management client (client id {client_id}), which invalidated its previous one, but vault did not store it at {path}: {e}; fix vault, then rerun `wardenctl bootstrap {} --force`",
                        self.name()
                    ),
                ));
            }
        };
        drop(data);
        let done = ChangeEntry::new(self.actor.clone(), object, Action::Rotate, Outcome::Ok)
            .instance(self.name())
            .after(json!({ "client_id": client_id, "vault_path": path, "vault_version": version }));
        self.record(
            done,
            &format!("the new secret is stored at {path} version {version}"),
        )
        .await?;
        tracing::info!(instance = %self.name(), client_id = %client_id, vault_path = %path, vault_version = version, "stored the new management secret");

        let verified = self.verify(&minted, role, &path, version).await?;
        self.mark_rotated(version, &client_id, integration.id).await;
        Ok((client_id, version, verified))
    }

    /// Records the verified secret in the rotation marker as a finished rotation would (state
    /// `ok`, when, which version), so the rotation schedule counts from this mint instead of
    /// rotating the secret again at once as "never rotated by Warden". A failure only costs
    /// that early rotation: logged, not fatal.
    async fn mark_rotated(&mut self, version: u64, client_id: &str, jamf_id: i64) {
        let vault = &self.svc.vault;
        let path = &self.inst.credentials;
        let written = async {
            let mut custom = vault
                .read_metadata(path)
                .await?
                .map(|m| m.custom)
                .unwrap_or_default();
            let now = self.svc.lifecycle.now();
            let policy = crate::services::rotation::management_target(self.inst)
                .client
                .rotation;
            let time = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            for key in [
                keys::PENDING_SINCE,
                keys::EXPIRES_AT,
                keys::BASE_VERSION,
                keys::SLOT,
                keys::STORED_VERSION,
                keys::LAST_ERROR,
                keys::RECOVERY,
                keys::ANOMALY,
                keys::NEXT_DUE,
            ] {
                custom.remove(key);
            }
            if let Some(due) = next_due(&policy, Some(now), now) {
                custom.insert(keys::NEXT_DUE.into(), time(due));
            }
            for (key, value) in [
                (keys::STATE, "ok".to_string()),
                (keys::DAEMON, self.svc.rotation.daemon_id().to_owned()),
                (keys::ATTEMPT, "1".into()),
                (keys::VERSION, version.to_string()),
                (keys::ROTATED_AT, time(now)),
                (keys::STRATEGY, "single".into()),
                (keys::CLIENT_ID, client_id.to_string()),
                (keys::JAMF_ID, jamf_id.to_string()),
            ] {
                custom.insert(key.into(), value);
            }
            vault.write_custom_metadata(path, &custom).await
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(instance = %self.name(), error = %e, "could not record the bootstrap in the rotation marker; the rotation job will rotate the new secret once more");
            self.notes.push(format!(
                "the new secret could not be marked as just rotated ({e}); the next rotation job rotates it once more"
            ));
        }
    }

    /// Writes `data` with check-and-set `cas`, retrying while Vault is unavailable for at most
    /// [`VAULT_WRITE_BUDGET`].
    async fn store(&self, data: &SecretMap, cas: u64) -> Result<u64, VaultError> {
        let started = Stopwatch::start();
        let mut delay = Duration::from_millis(250);
        loop {
            match self
                .svc
                .vault
                .write_secret_cas(&self.inst.credentials, data, cas)
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && started.elapsed() + delay < VAULT_WRITE_BUDGET => {
                    tracing::warn!(instance = %self.name(), error = %e, retry_in_secs = delay.as_secs(), "vault did not take the new management secret; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Mints a one-shot token with the stored secret: its scope must be exactly `role`, and a
    /// read of the roles must work.
    async fn verify(
        &self,
        minted: &ClientCredentials,
        role: &ApiRole,
        path: &str,
        version: u64,
    ) -> Result<VerifiedToken, Failure> {
        let stored = format!("the new secret is stored at {path} version {version}");
        let mut attempt = 1;
        let verified = loop {
            match self
                .client
                .verify_client_credentials(minted, Some(ProbeRead::RolesPage))
                .await
            {
                Ok(v) => break v,
                Err(e @ (JamfError::OAuth { .. } | JamfError::Unauthorized { .. }))
                    if attempt < VERIFY_ATTEMPTS =>
                {
                    tracing::info!(instance = %self.name(), error = %e, attempt, "the new management secret is not accepted yet; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    return Err(fail(
                        jamf_code(&e),
                        format!(
                            "{stored}, but it could not be verified: {e}; check the management client in jamf pro, then rerun `wardenctl bootstrap {} --force`",
                            self.name()
                        ),
                    ));
                }
            }
        };
        if verified.role_ids != [role.id.clone()] {
            return Err(fail(
                ErrorCode::Internal,
                format!(
                    "{stored}, but a token minted with it has scope {:?} instead of exactly role {} ({MANAGEMENT_NAME}); check the client's roles in jamf pro, then rerun `wardenctl bootstrap {} --force`",
                    verified.role_ids,
                    role.id,
                    self.name()
                ),
            ));
        }
        match &verified.probe {
            Some(ProbeOutcome::Authorized) => Ok(verified),
            other => Err(fail(
                ErrorCode::Internal,
                format!(
                    "{stored}, but its token could not read the api roles ({other:?}); check the privileges of role {MANAGEMENT_NAME}, then rerun `wardenctl bootstrap {} --force`",
                    self.name()
                ),
            )),
        }
    }
}
