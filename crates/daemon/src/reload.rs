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

use crate::notify;
use crate::shared::Shared;

/// Reloads the configuration file; returns a one-paragraph summary, or why nothing changed.
pub async fn reload(shared: &Arc<Shared>, actor: Actor) -> Result<String, String> {
    let _serialized = shared.reload_lock.lock().await;
    notify::reloading();
    let path = shared.config_path.clone();
    let object = ObjectRef::named(ObjectKind::Config, path.display().to_string());
    let loaded = tokio::task::spawn_blocking(move || Config::load(&path)).await;
    let new = match loaded {
        Ok(Ok(c)) => c,
        Ok(Err(errors)) => {
            let message = errors.to_string();
            tracing::error!("reload refused, the running configuration stays in force: {message}");
            let entry = ChangeEntry::new(actor, object, Action::Reload, Outcome::Failed)
                .error(message.clone());
            let logged = shared.record(entry).await;
            notify::ready("reload refused; running the previous configuration");
            logged?;
            return Err(format!(
                "the new configuration is invalid; the running one stays in force.\n{message}"
            ));
        }
        Err(e) => {
            notify::ready("reload failed");
            return Err(format!("reload failed: {e}"));
        }
    };

    let old = shared.config();
    let diff = Config::diff(&old, &new);
    let applied = keep_restart_only_settings(&old, new, &diff);
    let summary = describe(&diff);
    let entry = ChangeEntry::new(actor, object, Action::Reload, Outcome::Ok)
        .before(json!({ "instances": old.instances.iter().map(|i| &i.name).collect::<Vec<_>>() }))
        .after(diff_json(&diff));
    // Recorded before it takes effect: nothing changes without a record.
    if let Err(e) = shared.record(entry).await {
        notify::ready("reload aborted: change log unwritable");
        return Err(e);
    }
    {
        let names: Vec<&str> = applied.instances.iter().map(|i| i.name.as_str()).collect();
        shared.jobs().retain_instances(&names);
        let mut runtime = shared.instances();
        runtime.retain(|name, _| names.contains(&name.as_str()));
        for changed in &diff.instances_changed {
            if let Some(rt) = runtime.get_mut(&changed.name) {
                // url, timeouts or credentials may have changed: rebuild the client on next use
                rt.client = None;
                rt.credentials_version = None;
                // the url or the declared clients may have changed
                rt.catalogue = None;
                rt.rotated = None;
            }
        }
        let configured = names.iter().map(|n| (*n).to_owned()).collect();
        let mut drift = shared.drift_state();
        drift.retain(&configured);
        drift.save();
        drop(drift);
        let mut audit = shared.audit_state();
        audit.retain(&configured);
        audit.save();
    }
    shared.set_config(applied);
    shared.save_job_states();
    shared.wake.notify_one();
    tracing::info!(summary = %summary, "configuration reloaded");
    notify::ready("configuration reloaded");
    Ok(summary)
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
    })
}
