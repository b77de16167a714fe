//! Reload (SIGHUP or `wardenctl reload`): validate → diff → apply.
//!
//! The new file is loaded and validated completely first; on any error the running
//! configuration stays in force and the failure is written to the log and the change log.
//! Otherwise the difference is applied: instances added, removed or changed (their Jamf clients
//! are rebuilt on next use), schedules re-planned (the scheduler is woken), admin ids and limits
//! changed. Settings that only a restart can change (socket, directories, log format, Vault
//! connection) keep their running values, and the summary says so.

use std::sync::Arc;

use serde_json::json;
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{Config, ConfigDiff};

use warden_core::protocol::ErrorCode;

use super::ServiceError;
use super::audit::Audit;
use super::changes::{Changes, ChangesError};
use super::config::LiveConfig;
use super::drift::Drift;
use super::errors::kind_name;
use super::instances::Instances;
use super::notifier::Notifier;
use super::schedule::Schedule;
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::notify;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the new configuration is invalid; the running one stays in force.\n{0}")]
    Invalid(String),
    #[error("reload aborted, the running configuration stays in force: {0}")]
    Record(#[from] ChangesError),
    #[error("reload failed: {0}")]
    Task(String),
}

impl ServiceError for ReloadError {
    fn code(&self) -> ErrorCode {
        match self {
            ReloadError::Invalid(_) => ErrorCode::BadRequest,
            ReloadError::Record(e) => e.code(),
            ReloadError::Task(_) => ErrorCode::Internal,
        }
    }
}

/// The reload service: one reload at a time (SIGHUP and `wardenctl reload`).
pub struct Reload {
    pub config: Arc<LiveConfig>,
    pub changes: Arc<Changes>,
    pub schedule: Arc<Schedule>,
    pub instances: Arc<Instances>,
    pub drift: Arc<Drift>,
    pub audit: Arc<Audit>,
    pub lifecycle: Arc<Lifecycle>,
    lock: tokio::sync::Mutex<()>,
}

impl Reload {
    pub fn new(
        config: Arc<LiveConfig>,
        changes: Arc<Changes>,
        schedule: Arc<Schedule>,
        instances: Arc<Instances>,
        drift: Arc<Drift>,
        audit: Arc<Audit>,
        lifecycle: Arc<Lifecycle>,
    ) -> Reload {
        Reload {
            config,
            changes,
            schedule,
            instances,
            drift,
            audit,
            lifecycle,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Reloads the configuration file; returns a one-paragraph summary, or why nothing
    /// changed.
    pub async fn reload(&self, actor: Actor) -> Result<String, ReloadError> {
        let _serialized = self.lock.lock().await;
        notify::reloading();
        let path = self.config.path().to_path_buf();
        let object = ObjectRef::named(ObjectKind::Config, path.display().to_string());
        let loaded = tokio::task::spawn_blocking(move || Config::load(&path)).await;
        let new = match loaded {
            Ok(Ok(c)) => c,
            Ok(Err(errors)) => return Err(self.refuse(actor, object, errors.to_string()).await),
            Err(e) => {
                notify::ready("reload failed");
                return Err(ReloadError::Task(e.to_string()));
            }
        };

        let old = self.config.get();
        let diff = Config::diff(&old, &new);
        // Sinks are built (their secrets read) before anything is recorded or changed.
        let sinks = if diff.notify_changed {
            match Notifier::prepare(&new.notify, &new.changelog_forward) {
                Ok(p) => Some(p),
                Err(e) => return Err(self.refuse(actor, object, e.to_string()).await),
            }
        } else {
            None
        };
        let applied = keep_restart_only_settings(&old, new, &diff);
        let mut summary = describe(&diff);
        // Warnings (e.g. a privilege the shipped catalogue lacks) do not refuse the reload; the
        // operator who asked for it sees them in the answer.
        for warning in &applied.warnings {
            tracing::warn!("{warning}");
            summary.push_str("\nwarning: ");
            summary.push_str(warning);
        }
        let entry = ChangeEntry::new(actor, object, Action::Reload, Outcome::Ok)
            .before(
                json!({ "instances": old.instances.iter().map(|i| &i.name).collect::<Vec<_>>() }),
            )
            .after(diff_json(&diff));
        // Recorded before it takes effect: nothing changes without a record.
        if let Err(e) = self.changes.record(entry).await {
            notify::ready("reload aborted: change log unwritable");
            return Err(e.into());
        }
        if let Some(prepared) = sinks {
            let changed = self.changes.notifier().install(prepared);
            tracing::info!(sinks = ?changed, "notification sinks reloaded");
        }
        self.forget_what_changed(&applied, &diff);
        self.config.set(applied);
        self.schedule.save();
        self.lifecycle.wake.notify_one();
        tracing::info!(summary = %summary, "configuration reloaded");
        notify::ready("configuration reloaded");
        Ok(summary)
    }

    /// Refuses a reload: logs and records why; the running configuration stays in force.
    async fn refuse(&self, actor: Actor, object: ObjectRef, message: String) -> ReloadError {
        tracing::error!("reload refused, the running configuration stays in force: {message}");
        let entry = ChangeEntry::new(actor, object, Action::Reload, Outcome::Failed)
            .error(message.clone())
            .error_kind(kind_name(ErrorCode::BadRequest));
        let logged = self.changes.record(entry).await;
        notify::ready("reload refused; running the previous configuration");
        match logged {
            Ok(_) => ReloadError::Invalid(message),
            Err(e) => e.into(),
        }
    }

    /// Drops the jobs, run-time state and kept reports of instances no longer configured, and
    /// what may have changed of changed ones.
    fn forget_what_changed(&self, applied: &Config, diff: &ConfigDiff) {
        let names: Vec<&str> = applied.instances.iter().map(|i| i.name.as_str()).collect();
        self.schedule.table().retain_instances(&names);
        let changed: Vec<String> = diff
            .instances_changed
            .iter()
            .map(|c| c.name.clone())
            .collect();
        self.instances.reconfigure(&names, &changed);
        let configured = names.iter().map(|n| (*n).to_owned()).collect();
        let mut drift = self.drift.state();
        drift.retain(&configured);
        drift.save();
        drop(drift);
        let mut audit = self.audit.state();
        audit.retain(&configured);
        audit.save();
    }
}

/// The new configuration with the running values of settings that need a restart.
fn keep_restart_only_settings(old: &Config, mut new: Config, diff: &ConfigDiff) -> Config {
    if diff.needs_restart() {
        let d = &old.daemon;
        new.daemon.socket = d.socket.clone();
        new.daemon.socket_group = d.socket_group.clone();
        new.daemon.socket_mode = d.socket_mode;
        new.daemon.state_dir = d.state_dir.clone();
        new.daemon.log_dir = d.log_dir.clone();
        new.daemon.log_format = d.log_format;
        new.daemon.log_retention_days = d.log_retention_days;
        new.daemon.changelog = d.changelog.clone();
    }
    if diff.vault_changed {
        new.vault = old.vault.clone();
    }
    new
}

/// A human summary of a diff.
pub fn describe(diff: &ConfigDiff) -> String {
    if diff.is_empty() {
        return "no changes".into();
    }
    let mut parts = Vec::new();
    if !diff.instances_added.is_empty() {
        parts.push(format!(
            "instances added: {}",
            diff.instances_added.join(", ")
        ));
    }
    if !diff.instances_removed.is_empty() {
        parts.push(format!(
            "instances removed: {}",
            diff.instances_removed.join(", ")
        ));
    }
    if diff.audit_changed {
        parts.push("audit settings changed".to_owned());
    }
    if diff.notify_changed {
        parts.push("notification sinks or change-log forwarding changed".to_owned());
    }
    for c in &diff.instances_changed {
        parts.push(format!(
            "instance {} changed: {}",
            c.name,
            c.fields.join(", ")
        ));
    }
    if !diff.daemon_reloaded.is_empty() {
        parts.push(format!(
            "daemon settings applied: {}",
            diff.daemon_reloaded.join(", ")
        ));
    }
    if diff.needs_restart() {
        parts.push(format!(
            "needs a restart to take effect (running values kept): {}",
            diff.restart_required.join(", ")
        ));
    }
    if diff.vault_changed {
        parts.push(
            "vault settings changed: restart wardend to reconnect (running values kept)".into(),
        );
    }
    parts.join("; ")
}

fn diff_json(diff: &ConfigDiff) -> serde_json::Value {
    json!({
        "instances_added": diff.instances_added,
        "instances_removed": diff.instances_removed,
        "instances_changed": diff.instances_changed.iter().map(|c| json!({"name": c.name, "fields": c.fields})).collect::<Vec<_>>(),
        "daemon_reloaded": diff.daemon_reloaded,
        "restart_required": diff.restart_required,
        "vault_changed": diff.vault_changed,
        "audit_changed": diff.audit_changed,
        "notify_changed": diff.notify_changed,
    })
}
