//! `wardenctl bootstrap INSTANCE`: the set-up workflow of the seed's conclusion. With a Jamf Pro
//! admin account, used for this one session only, create Warden's own least-privilege
//! management role and client, mint the client's secret into Vault, verify it, and end the
//! admin's session, so the account is no longer needed by Warden.
//!
//! In order:
//! 1. The instance must be configured, and no other bootstrap of it may be running.
//! 2. Management credentials already in Vault that still get a token are not replaced unless
//!    `force` is set: bootstrap is a first-time set-up, later rotations are `wardenctl rotate`.
//!    This check uses those credentials, not the admin's.
//! 3. Log in as the admin; find or create the role [`MANAGEMENT_NAME`] with exactly
//!    [`MANAGEMENT_PRIVILEGES`] (a role with other privileges is set to exactly these), then the
//!    client of the same name (enabled, token lifetime [`TOKEN_LIFETIME`], that role only).
//! 4. Read the Vault version of the credentials path, write an intent record, mint the secret
//!    **once** (never retried: a second mint would invalidate the first), and store it with
//!    check-and-set on that version, retrying a Vault that is down for a bounded time while the
//!    secret exists only in memory. A failure here loses the secret and says so loudly.
//! 5. Verify the stored secret with a one-shot token: its scope must be exactly the role, and a
//!    read of the roles must work; mark it as just rotated in its rotation marker, so the
//!    rotation job does not rotate it again at once. Then invalidate the admin's token, drop the
//!    cached management client (the next job rebuilds it from Vault), and let the instance's
//!    jobs that failed for want of credentials run at once instead of waiting out their backoff.
//!
//! Every step that changes Jamf or Vault is recorded in the change log (client id, Vault path
//! and version; never a secret, never the admin's name or password), with the socket peer as
//! actor. The admin password and the minted secret never reach a log, an error, `Debug`, the
//! change log or the answer.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::Instance;
use warden_core::jamf::{
    ApiIntegration, ApiIntegrationRequest, ApiRole, ApiRoleRequest, ClientCredentials, Credentials,
    JamfClient, JamfError, ProbeOutcome, ProbeRead, VerifiedToken,
};
use warden_core::protocol::{
    BootstrapRequest, BootstrapResponse, ErrorCode, ObjectChange, Response,
};
use warden_core::rotation::{keys, next_due};
use warden_core::vault::{SecretMap, VaultError};

use crate::jobs::client_config;
use crate::shared::Shared;

/// Display name of Warden's management API role and of its API client.
pub const MANAGEMENT_NAME: &str = "Jamf Warden";

/// The least privileges Warden needs to manage API roles and clients and rotate their secrets
/// (`shared/jamf/API-NOTES.md` §8). With them the client can grant itself any privilege.
pub const MANAGEMENT_PRIVILEGES: [&str; 8] = [
    "Read API Roles",
    "Create API Roles",
    "Update API Roles",
    "Delete API Roles",
    "Read API Integrations",
    "Create API Integrations",
    "Update API Integrations",
    "Delete API Integrations",
];

/// Token lifetime of the management client, in seconds (Jamf's default).
pub const TOKEN_LIFETIME: i64 = 300;

/// How long a minted secret that Vault does not take yet is kept in memory and retried.
const VAULT_WRITE_BUDGET: Duration = Duration::from_secs(45);

/// Verification attempts of the stored secret (a freshly minted secret may take a moment to
/// be accepted everywhere); minting a token has no side effect, so this is safe to retry.
const VERIFY_ATTEMPTS: u32 = 5;

/// Instances with a bootstrap in progress, by daemon (tests run several in one process).
static RUNNING: Mutex<BTreeSet<(usize, String)>> = Mutex::new(BTreeSet::new());

/// Marks an instance of one daemon as being bootstrapped until dropped.
struct RunningGuard((usize, String));

impl RunningGuard {
    fn acquire(shared: &Arc<Shared>, instance: &str) -> Option<RunningGuard> {
        let key = (Arc::as_ptr(shared) as usize, instance.to_string());
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(key.clone()).then(|| RunningGuard(key))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

/// Answers one bootstrap request. Runs as a tracked task, so a graceful stop of the daemon
/// waits for it (a minted secret is never abandoned half-way by a stop).
pub async fn handle(shared: &Arc<Shared>, actor: Actor, request: BootstrapRequest) -> Response {
    let shared2 = Arc::clone(shared);
    let task = shared
        .jobs_tracker
        .spawn(async move { run(&shared2, actor, request).await });
    match task.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "the bootstrap task failed");
            Response::error(
                ErrorCode::Internal,
                format!(
                    "bootstrap failed unexpectedly: {e}; check the change log and `wardenctl status`, then rerun it"
                ),
            )
        }
    }
}

async fn run(shared: &Arc<Shared>, actor: Actor, request: BootstrapRequest) -> Response {
    let BootstrapRequest {
        instance,
        username,
        password,
        force,
    } = request;
    let config = shared.config();
    let Some(inst) = config.instance(&instance).cloned() else {
        return Response::error(
            ErrorCode::NotFound,
            format!(
                "instance {instance} is not configured; add it to the configuration and reload first"
            ),
        );
    };
    if username.trim().is_empty() {
        return Response::error(ErrorCode::BadRequest, "the jamf pro user name is empty");
    }
    if secrecy::ExposeSecret::expose_secret(&password).is_empty() {
        return Response::error(ErrorCode::BadRequest, "the jamf pro password is empty");
    }
    let Some(_guard) = RunningGuard::acquire(shared, &instance) else {
        return Response::error(
            ErrorCode::Conflict,
            format!("a bootstrap of {instance} is already running; wait for it to finish"),
        );
    };
    let credentials = Credentials::User {
        username: username.trim().to_string(),
        password,
    };
    let client = match JamfClient::new(client_config(&inst), credentials) {
        Ok(c) => c,
        Err(e) => {
            return Response::error(
                ErrorCode::BadRequest,
                format!("cannot build the jamf client of {instance}: {e}"),
            );
        }
    };
    tracing::info!(instance = %instance, force, "bootstrap started");
    let mut run = Bootstrap {
        shared,
        actor,
        inst: &inst,
        client: &client,
        notes: Vec::new(),
        change_seqs: Vec::new(),
    };
    let result = run.steps(force).await;
    // End the admin's session whatever happened (a no-op if it never started).
    let closed = match client.close().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(instance = %instance, error = %e, "could not invalidate the admin's jamf pro token");
            run.notes.push(format!(
                "the admin's jamf pro session token could not be invalidated ({e}); it expires on its own"
            ));
            false
        }
    };
    match result {
        Ok(mut done) => {
            done.user_session_closed = closed;
            done.notes = run.notes;
            done.change_seqs = run.change_seqs;
            forget_cached_client(shared, &instance);
            tracing::info!(
                instance = %instance,
                role_id = %done.role_id,
                client_id = %done.client_id,
                vault_path = %done.vault_path,
                vault_version = done.vault_version,
                "bootstrap done: management client verified; the admin account is no longer needed"
            );
            Response::Bootstrapped(Box::new(done))
        }
        Err(Failure { code, message }) => {
            tracing::warn!(instance = %instance, error = %message, "bootstrap failed");
            Response::error(code, message)
        }
    }
}

/// A failed step: the answer's code and a message that says what to do.
struct Failure {
    code: ErrorCode,
    message: String,
}

fn fail(code: ErrorCode, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// The error code for a Jamf error.
fn jamf_code(e: &JamfError) -> ErrorCode {
    match e {
        JamfError::Transport { .. } | JamfError::RateLimited { .. } | JamfError::Server { .. } => {
            ErrorCode::Unavailable
        }
        // The admin's credentials or privileges, not the socket peer's: a bad request.
        JamfError::Unauthorized { .. } | JamfError::Forbidden { .. } | JamfError::OAuth { .. } => {
            ErrorCode::BadRequest
        }
        JamfError::Conflict { .. } => ErrorCode::Conflict,
        _ => ErrorCode::Internal,
    }
}

/// What to do about a Jamf error of the admin's session.
fn admin_hint(e: &JamfError) -> &'static str {
    match e {
        JamfError::Unauthorized { .. } => {
            "rerun bootstrap with the right admin user name and password"
        }
        JamfError::Forbidden { .. } => {
            "the jamf pro account lacks that privilege; use an administrator account, or one with the eight API Roles and API Integrations privileges"
        }
        e if e.is_transient() => "check that jamf pro is reachable, then rerun bootstrap",
        _ => "rerun bootstrap once the cause is fixed",
    }
}

/// The state of one bootstrap run.
struct Bootstrap<'a> {
    shared: &'a Arc<Shared>,
    actor: Actor,
    inst: &'a Instance,
    client: &'a JamfClient,
    notes: Vec<String>,
    change_seqs: Vec<u64>,
}

impl Bootstrap<'_> {
    fn name(&self) -> &str {
        &self.inst.name
    }

    /// `mount/prefix/path` of the instance's management credentials.
    fn vault_path(&self) -> String {
        let settings = self.shared.vault.settings();
        format!(
            "{}/{}",
            settings.kv_mount.trim_matches('/'),
            settings.full_path(&self.inst.credentials)
        )
    }

    async fn steps(&mut self, force: bool) -> Result<BootstrapResponse, Failure> {
        let replaced_working = self.check_existing(force).await?;
        if let Err(e) = self.client.authenticate().await {
            return Err(fail(
                jamf_code(&e),
                format!(
                    "cannot log in to {} as the admin user: {e}; {}; nothing was changed",
                    self.name(),
                    admin_hint(&e)
                ),
            ));
        }
        let (role, role_change) = self.ensure_role().await?;
        let (integration, client_change) = self.ensure_client().await?;
        let (client_id, vault_version, verified) =
            self.mint_store_verify(&role, &integration).await?;
        Ok(BootstrapResponse {
            instance: self.name().to_string(),
            role_name: role.display_name.clone(),
            role_id: role.id.clone(),
            role: role_change,
            privileges: MANAGEMENT_PRIVILEGES
                .iter()
                .map(|p| p.to_string())
                .collect(),
            client_name: integration.display_name.clone(),
            integration_id: integration.id,
            client: client_change,
            client_id,
            vault_path: self.vault_path(),
            vault_version,
            verified_scope: verified.role_ids,
            token_lifetime_seconds: verified.expires_in.as_secs(),
            replaced_working,
            user_session_closed: false,
            notes: Vec::new(),
            change_seqs: Vec::new(),
        })
    }

    /// Refuses (unless `force`) when the Vault path holds credentials that still get a token.
    /// Returns whether working credentials are being replaced.
    async fn check_existing(&mut self, force: bool) -> Result<bool, Failure> {
        let path = self.vault_path();
        let existing = match self.shared.vault.read_secret(&self.inst.credentials).await {
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

    /// Finds or creates the management role with exactly the eight privileges.
    async fn ensure_role(&mut self) -> Result<(ApiRole, ObjectChange), Failure> {
        let wanted = ApiRoleRequest {
            display_name: MANAGEMENT_NAME.to_string(),
            privileges: MANAGEMENT_PRIVILEGES
                .iter()
                .map(|p| p.to_string())
                .collect(),
        };
        let found = self
            .client
            .find_role_by_name(MANAGEMENT_NAME)
            .await
            .map_err(|e| {
                self.jamf_failure(
                    "cannot look up the management role",
                    &e,
                    "nothing was changed",
                )
            })?;
        match found {
            None => {
                let role = self.client.create_role(&wanted).await.map_err(|e| {
                    let hint = if matches!(e, JamfError::Transport { .. }) {
                        "the role may or may not exist now; rerun bootstrap, it finds the role by name"
                    } else {
                        "nothing was changed"
                    };
                    self.jamf_failure("cannot create the management role", &e, hint)
                })?;
                let entry = self
                    .entry(
                        ObjectKind::Role,
                        Some(&role.id),
                        Action::Create,
                        Outcome::Ok,
                    )
                    .after(json!({ "privileges": wanted.privileges }));
                self.record(entry, "the management role was created")
                    .await?;
                tracing::info!(instance = %self.name(), role_id = %role.id, "created the management role");
                Ok((role, ObjectChange::Created))
            }
            Some(role) if role.same_privileges(&wanted.privileges) => {
                Ok((role, ObjectChange::Unchanged))
            }
            Some(role) => {
                let before = role.privileges.clone();
                let updated = self
                    .client
                    .update_role(&role.id, &wanted)
                    .await
                    .map_err(|e| {
                        self.jamf_failure(
                            "cannot set the privileges of the management role",
                            &e,
                            "rerun bootstrap",
                        )
                    })?;
                let entry = self
                    .entry(
                        ObjectKind::Role,
                        Some(&updated.id),
                        Action::Update,
                        Outcome::Ok,
                    )
                    .before(json!({ "privileges": before }))
                    .after(json!({ "privileges": wanted.privileges }));
                self.record(entry, "the management role was updated")
                    .await?;
                let wanted_set = wanted.privilege_set();
                let extra: Vec<&str> = role
                    .privilege_set()
                    .difference(&wanted_set)
                    .copied()
                    .collect();
                let missing: Vec<&str> = wanted_set
                    .difference(&role.privilege_set())
                    .copied()
                    .collect();
                self.notes.push(format!(
                    "role {MANAGEMENT_NAME} (id {}) existed with other privileges (removed: {}; added: {}); it now has exactly the eight",
                    updated.id,
                    list_or_none(&extra),
                    list_or_none(&missing)
                ));
                tracing::info!(instance = %self.name(), role_id = %updated.id, "reset the privileges of the management role");
                Ok((updated, ObjectChange::Updated))
            }
        }
    }

    /// Finds or creates the management client: enabled, the management role only, lifetime
    /// [`TOKEN_LIFETIME`].
    async fn ensure_client(&mut self) -> Result<(ApiIntegration, ObjectChange), Failure> {
        let wanted = ApiIntegrationRequest {
            authorization_scopes: vec![MANAGEMENT_NAME.to_string()],
            display_name: MANAGEMENT_NAME.to_string(),
            enabled: Some(true),
            access_token_lifetime_seconds: Some(TOKEN_LIFETIME),
        };
        let found = self
            .client
            .find_integration_by_name(MANAGEMENT_NAME)
            .await
            .map_err(|e| {
                self.jamf_failure(
                    "cannot look up the management client",
                    &e,
                    "rerun bootstrap",
                )
            })?;
        match found {
            None => {
                let created = self.client.create_integration(&wanted).await.map_err(|e| {
                    let hint = if matches!(e, JamfError::Transport { .. }) {
                        "the client may or may not exist now; rerun bootstrap, it finds the client by name"
                    } else {
                        "rerun bootstrap"
                    };
                    self.jamf_failure("cannot create the management client", &e, hint)
                })?;
                let entry = self
                    .entry(
                        ObjectKind::Client,
                        Some(&created.client_id),
                        Action::Create,
                        Outcome::Ok,
                    )
                    .after(json!({
                        "integration_id": created.id,
                        "client_id": created.client_id,
                        "roles": created.authorization_scopes,
                        "enabled": created.enabled,
                        "access_token_lifetime_seconds": created.access_token_lifetime_seconds,
                    }));
                self.record(entry, "the management client was created")
                    .await?;
                tracing::info!(instance = %self.name(), client_id = %created.client_id, "created the management client");
                Ok((created, ObjectChange::Created))
            }
            Some(existing)
                if existing.enabled
                    && existing.scope_set() == BTreeSet::from([MANAGEMENT_NAME])
                    && existing
                        .access_token_lifetime_seconds
                        .unwrap_or(TOKEN_LIFETIME)
                        == TOKEN_LIFETIME =>
            {
                Ok((existing, ObjectChange::Unchanged))
            }
            Some(existing) => {
                let updated = self
                    .client
                    .update_integration(existing.id, &wanted)
                    .await
                    .map_err(|e| {
                        self.jamf_failure(
                            "cannot update the management client",
                            &e,
                            "rerun bootstrap",
                        )
                    })?;
                let entry = self
                    .entry(
                        ObjectKind::Client,
                        Some(&updated.client_id),
                        Action::Update,
                        Outcome::Ok,
                    )
                    .before(json!({
                        "roles": existing.authorization_scopes,
                        "enabled": existing.enabled,
                        "access_token_lifetime_seconds": existing.access_token_lifetime_seconds,
                    }))
                    .after(json!({
                        "roles": updated.authorization_scopes,
                        "enabled": updated.enabled,
                        "access_token_lifetime_seconds": updated.access_token_lifetime_seconds,
                    }));
                self.record(entry, "the management client was updated")
                    .await?;
                self.notes.push(format!(
                    "client {MANAGEMENT_NAME} (id {}) existed with other settings (roles {:?}, enabled {}, token lifetime {:?}); it is now enabled with role {MANAGEMENT_NAME} only and a {TOKEN_LIFETIME} s token lifetime",
                    existing.id,
                    existing.authorization_scopes,
                    existing.enabled,
                    existing.access_token_lifetime_seconds
                ));
                tracing::info!(instance = %self.name(), client_id = %updated.client_id, "updated the management client");
                Ok((updated, ObjectChange::Updated))
            }
        }
    }

    /// Mints the secret once, stores it with check-and-set, verifies it. Returns the client id,
    /// the Vault version and the verification.
    async fn mint_store_verify(
        &mut self,
        role: &ApiRole,
        integration: &ApiIntegration,
    ) -> Result<(String, u64, VerifiedToken), Failure> {
        let path = self.vault_path();
        let cas = match self
            .shared
            .vault
            .read_metadata(&self.inst.credentials)
            .await
        {
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
                        .error(e.to_string());
                let _ = self.shared.record(entry).await;
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
                        .error(format!("minted but not stored, the secret is lost: {e}"));
                let _ = self.shared.record(entry).await;
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
        let vault = &self.shared.vault;
        let path = &self.inst.credentials;
        let written = async {
            let mut custom = vault
                .read_metadata(path)
                .await?
                .map(|m| m.custom)
                .unwrap_or_default();
            let now = self.shared.now();
            let policy = crate::rotation::management_target(self.inst)
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
                (
                    keys::DAEMON,
                    self.shared.rotation.config().daemon_id.clone(),
                ),
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
        let started = Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            match self
                .shared
                .vault
                .write_secret_cas(&self.inst.credentials, data, cas)
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && started.elapsed() + delay < VAULT_WRITE_BUDGET => {
                    tracing::warn!(instance = %self.name(), error = %e, retry_in = ?delay, "vault did not take the new management secret; retrying");
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

    fn entry(
        &self,
        kind: ObjectKind,
        id: Option<&str>,
        action: Action,
        outcome: Outcome,
    ) -> ChangeEntry {
        let mut object = ObjectRef::named(kind, MANAGEMENT_NAME);
        if let Some(id) = id {
            object = object.with_id(id);
        }
        ChangeEntry::new(self.actor.clone(), object, action, outcome).instance(self.name())
    }

    /// Appends to the change log; a failure stops the bootstrap, saying what was done.
    async fn record(&mut self, entry: ChangeEntry, done_so_far: &str) -> Result<(), Failure> {
        match self.shared.record(entry).await {
            Ok(record) => {
                self.change_seqs.push(record.seq);
                Ok(())
            }
            Err(e) => Err(fail(
                ErrorCode::Internal,
                format!(
                    "{done_so_far}, but bootstrap stopped: {e}; fix the change log (`wardenctl log verify`), then rerun bootstrap"
                ),
            )),
        }
    }

    fn jamf_failure(&self, what: &str, e: &JamfError, then: &str) -> Failure {
        fail(
            jamf_code(e),
            format!("{what} on {}: {e}; {}; {then}", self.name(), admin_hint(e)),
        )
    }
}

/// The error code for a Vault error.
fn vault_code(e: &VaultError) -> ErrorCode {
    match e {
        VaultError::Unavailable { .. } => ErrorCode::Unavailable,
        VaultError::CasConflict { .. } => ErrorCode::Conflict,
        _ => ErrorCode::Internal,
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Drops the instance's cached management client, so the next job builds it from the new
/// credentials in Vault, and lets jobs that failed for want of them run at once.
fn forget_cached_client(shared: &Shared, instance: &str) {
    if let Some(rt) = shared.instances().get_mut(instance) {
        rt.client = None;
        rt.credentials_version = None;
    }
    shared.jobs().retry_now(instance);
    shared.wake.notify_one();
}
