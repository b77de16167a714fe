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
use std::time::Duration;

use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::Instance;
use warden_core::jamf::{Credentials, JamfClient, JamfError};
use warden_core::protocol::{BootstrapRequest, BootstrapResponse, ErrorCode};
use warden_core::vault::VaultError;

use super::ServiceError;
use super::changes::Changes;
use super::instances::{Instances, client_config};
use super::rotation::{MANAGEMENT_NAME, Rotation};
use super::schedule::Schedule;
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::store::Store;

mod credentials;
mod objects;

/// The least privileges Warden needs (`shared/jamf/API-NOTES.md` §8), defined once in core.
pub use warden_core::management::MANAGEMENT_PRIVILEGES;

/// Token lifetime of the management client, in seconds (Jamf's default).
pub const TOKEN_LIFETIME: i64 = warden_core::management::MANAGEMENT_TOKEN_LIFETIME as i64;

/// How long a minted secret that Vault does not take yet is kept in memory and retried.
const VAULT_WRITE_BUDGET: Duration = Duration::from_secs(45);

/// Verification attempts of the stored secret (a freshly minted secret may take a moment to
/// be accepted everywhere); minting a token has no side effect, so this is safe to retry.
const VERIFY_ATTEMPTS: u32 = 5;

/// The bootstrap service: at most one bootstrap per instance at a time.
pub struct Bootstrap {
    vault: Store,
    changes: Arc<Changes>,
    instances: Arc<Instances>,
    schedule: Arc<Schedule>,
    rotation: Arc<Rotation>,
    lifecycle: Arc<Lifecycle>,
    config: Arc<super::config::LiveConfig>,
    /// Instances with a bootstrap in progress.
    running: Mutex<BTreeSet<String>>,
}

/// Marks an instance as being bootstrapped until dropped.
struct RunningGuard<'a> {
    running: &'a Mutex<BTreeSet<String>>,
    instance: String,
}

impl<'a> RunningGuard<'a> {
    fn acquire(running: &'a Mutex<BTreeSet<String>>, instance: &str) -> Option<Self> {
        let mut set = running.lock().unwrap_or_else(PoisonError::into_inner);
        set.insert(instance.to_string()).then(|| RunningGuard {
            running,
            instance: instance.to_string(),
        })
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.instance);
    }
}

/// What builds the bootstrap service.
pub struct BootstrapDeps {
    pub vault: Store,
    pub changes: Arc<Changes>,
    pub instances: Arc<Instances>,
    pub schedule: Arc<Schedule>,
    pub rotation: Arc<Rotation>,
    pub lifecycle: Arc<Lifecycle>,
    pub config: Arc<super::config::LiveConfig>,
}

impl Bootstrap {
    pub fn new(d: BootstrapDeps) -> Bootstrap {
        Bootstrap {
            vault: d.vault,
            changes: d.changes,
            instances: d.instances,
            schedule: d.schedule,
            rotation: d.rotation,
            lifecycle: d.lifecycle,
            config: d.config,
            running: Mutex::new(BTreeSet::new()),
        }
    }

    /// Bootstraps one instance (see the module docs).
    pub async fn run(
        &self,
        actor: Actor,
        request: BootstrapRequest,
    ) -> Result<Box<BootstrapResponse>, Failure> {
        let BootstrapRequest {
            instance,
            username,
            password,
            force,
        } = request;
        let config = self.config.get();
        let Some(inst) = config.instance(&instance).cloned() else {
            return Err(fail(
                ErrorCode::NotFound,
                format!(
                    "instance {instance} is not configured; add it to the configuration and reload first"
                ),
            ));
        };
        if username.trim().is_empty() {
            return Err(fail(
                ErrorCode::BadRequest,
                "the jamf pro user name is empty",
            ));
        }
        if secrecy::ExposeSecret::expose_secret(&password).is_empty() {
            return Err(fail(
                ErrorCode::BadRequest,
                "the jamf pro password is empty",
            ));
        }
        let Some(_guard) = RunningGuard::acquire(&self.running, &instance) else {
            return Err(fail(
                ErrorCode::Conflict,
                format!("a bootstrap of {instance} is already running; wait for it to finish"),
            ));
        };
        let credentials = Credentials::User {
            username: username.trim().to_string(),
            password,
        };
        let client =
            JamfClient::new(client_config(&inst, &self.lifecycle), credentials).map_err(|e| {
                fail(
                    ErrorCode::BadRequest,
                    format!("cannot build the jamf client of {instance}: {e}"),
                )
            })?;
        tracing::info!(instance = %instance, force, "bootstrap started");
        let mut run = Run {
            svc: self,
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
                self.forget_cached_client(&instance);
                tracing::info!(
                    instance = %instance,
                    role_id = %done.role_id,
                    client_id = %done.client_id,
                    vault_path = %done.vault_path,
                    vault_version = done.vault_version,
                    "bootstrap done: management client verified; the admin account is no longer needed"
                );
                Ok(Box::new(done))
            }
            Err(failure) => {
                tracing::warn!(instance = %instance, error = %failure.message, "bootstrap failed");
                Err(failure)
            }
        }
    }

    /// Drops the instance's cached management client, so the next job builds it from the new
    /// credentials in Vault, and lets jobs that failed for want of them run at once.
    fn forget_cached_client(&self, instance: &str) {
        self.instances.forget_client(instance);
        self.schedule.table().retry_now(instance);
        self.lifecycle.wake.notify_one();
    }
}

/// A failed bootstrap: the answer's code and a message that says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    code: ErrorCode,
    message: String,
}

impl ServiceError for Failure {
    fn code(&self) -> ErrorCode {
        self.code
    }
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
struct Run<'a> {
    svc: &'a Bootstrap,
    actor: Actor,
    inst: &'a Instance,
    client: &'a JamfClient,
    notes: Vec<String>,
    change_seqs: Vec<u64>,
}

impl Run<'_> {
    fn name(&self) -> &str {
        &self.inst.name
    }

    /// `mount/prefix/path` of the instance's management credentials.
    fn vault_path(&self) -> String {
        let settings = self.svc.vault.settings();
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
        match self.svc.changes.record(entry).await {
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
