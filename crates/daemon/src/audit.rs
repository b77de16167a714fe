//! The risk audit of instances: the live state (Warden's own objects included) through the
//! rule pack of `warden_core::audit`, the last report per instance, and the change-log records
//! of the scheduled audit (only when findings are new or resolved).
//!
//! Kept reports hold the findings before suppressions; suppressions (which live in the
//! configuration) are applied when a report is built, so a changed suppression takes effect at
//! the next `wardenctl audit --last` without a new audit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use warden_core::audit::{
    self, AuditReport, InstanceAudit, InstanceInput, ReportContext, RiskCatalogue, SecretFacts,
};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{Config, Instance};
use warden_core::drift;

use crate::drift::fetch_full;
use crate::shared::Shared;

/// File of [`AuditState`] in the state directory.
const STATE_FILE: &str = "audit-state.json";

/// The risk catalogue of `config`: the built-in one plus `[[audit.classify]]`.
pub fn catalogue(config: &Config) -> Result<RiskCatalogue, String> {
    RiskCatalogue::builtin()
        .map(|c| c.with(&config.audit.classify))
        .map_err(|e| format!("internal: {e}"))
}

/// Audits one instance now. Never fails: a failure is the audit's `error`.
pub async fn audit_instance(
    shared: &Arc<Shared>,
    inst: &Instance,
    catalogue: &RiskCatalogue,
    config: &Config,
) -> InstanceAudit {
    let mut out = InstanceAudit {
        instance: inst.name.clone(),
        url: inst.url.to_string(),
        checked_at: Some(shared.now()),
        error: None,
        catalogue: None,
        roles: 0,
        clients: 0,
        findings: Vec::new(),
        client_privileges: Vec::new(),
    };
    let checked = match fetch_full(shared, inst).await {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let report = drift::detect(
        &inst.desired_state,
        &checked.live,
        &|name: &str| checked.rotated.contains_key(name),
        inst.prune,
    );
    let secrets: BTreeMap<String, SecretFacts> = inst
        .desired_state
        .clients
        .iter()
        .map(|c| {
            let facts = SecretFacts {
                rotated_at: checked.rotated.get(&c.name).copied(),
                max_age: c.rotation.max_age.and_then(|d| Duration::from_std(d).ok()),
            };
            (c.name.clone(), facts)
        })
        .collect();
    let Some(full) = &checked.full else {
        out.error = Some("internal: the full live state was not kept".to_owned());
        return out;
    };
    let input = InstanceInput {
        instance: &inst.name,
        live: full,
        desired: &inst.desired_state,
        secrets: &secrets,
        drift: &report,
        warden_owned: &checked.warden_owned,
        now: shared.now(),
    };
    let (findings, client_privileges) = audit::evaluate(&input, catalogue, &config.audit);
    out.catalogue = Some(checked.catalogue);
    out.roles = full.roles.len();
    out.clients = full.clients.len();
    out.findings = findings;
    out.client_privileges = client_privileges;
    out
}

/// Audits `instances` now, at most `daemon.max_concurrent_checks` at a time, in the order given.
pub async fn audit_many(
    shared: &Arc<Shared>,
    config: &Arc<Config>,
    selected: Vec<usize>,
) -> Result<Vec<InstanceAudit>, String> {
    let catalogue = Arc::new(catalogue(config)?);
    let mut tasks = tokio::task::JoinSet::new();
    for (n, index) in selected.into_iter().enumerate() {
        let (shared, catalogue, config) = (
            Arc::clone(shared),
            Arc::clone(&catalogue),
            Arc::clone(config),
        );
        // a task starts only with a slot: a thousand parked audit futures cost megabytes
        let slot = Arc::clone(&shared.check_slots).acquire_owned().await;
        tasks.spawn(async move {
            let _slot = slot;
            let inst = &config.instances[index];
            (n, audit_instance(&shared, inst, &catalogue, &config).await)
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(pair) => out.push(pair),
            Err(e) => return Err(format!("an audit task failed: {e}")),
        }
    }
    out.sort_by_key(|(n, _)| *n);
    Ok(out.into_iter().map(|(_, a)| a).collect())
}

/// The fleet report of `instances` with the configuration's suppressions.
pub fn report(shared: &Shared, instances: Vec<InstanceAudit>) -> Result<AuditReport, String> {
    let config = shared.config();
    let catalogue = catalogue(&config)?;
    let ctx = ReportContext {
        now: shared.now(),
        warden_version: env!("CARGO_PKG_VERSION"),
        catalogue: &catalogue,
        settings: &config.audit,
    };
    Ok(audit::build_report(&ctx, instances))
}

/// The last audit of each instance and the findings the scheduled audit last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AuditState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    instances: BTreeMap<String, InstanceState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct InstanceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<InstanceAudit>,
    /// Keys of the unsuppressed findings last recorded.
    #[serde(default)]
    recorded: BTreeSet<String>,
}

impl AuditState {
    /// Loads the state from `state_dir`; a missing or unreadable file starts empty (logged).
    pub fn load(state_dir: &Path) -> AuditState {
        let path = state_dir.join(STATE_FILE);
        let mut state: AuditState = crate::state_json::load(&path, "audit state");
        state.path = Some(path);
        state
    }

    /// The last audit of `instance`.
    pub fn last(&self, instance: &str) -> Option<InstanceAudit> {
        self.instances.get(instance)?.last.clone()
    }

    /// Forgets instances no longer configured.
    pub fn retain(&mut self, configured: &BTreeSet<String>) {
        self.instances.retain(|name, _| configured.contains(name));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::state_json::save(path, self, "audit state");
        }
    }
}

/// The scheduled audit of one instance: audit, keep it, and record new and resolved findings.
/// `Ok` carries a one-line summary.
pub async fn scheduled(shared: &Arc<Shared>, inst: &Instance) -> Result<String, String> {
    let config = shared.config();
    let catalogue = catalogue(&config)?;
    let audited = {
        let _slot = shared.check_slots.acquire().await;
        audit_instance(shared, inst, &catalogue, &config).await
    };
    if let Some(e) = &audited.error {
        return Err(e.clone());
    }
    let built = report(shared, vec![audited.clone()])?;
    let current: BTreeMap<String, &audit::Finding> = built
        .findings()
        .filter(|f| f.suppressed_by.is_none())
        .map(|f| (f.key(), f))
        .collect();
    let previous = {
        let mut state = shared.audit_state();
        let entry = state.instances.entry(inst.name.clone()).or_default();
        entry.last = Some(audited);
        entry.recorded.clone()
    };
    let new: Vec<&&audit::Finding> = current
        .iter()
        .filter(|(k, _)| !previous.contains(*k))
        .map(|(_, f)| f)
        .collect();
    let resolved: Vec<&String> = previous
        .iter()
        .filter(|k| !current.contains_key(*k))
        .collect();
    if !new.is_empty() || !resolved.is_empty() {
        let entry = ChangeEntry::new(
            Actor::Schedule {
                job: format!("audit:{}", inst.name),
            },
            ObjectRef::named(ObjectKind::Instance, &inst.name),
            Action::Audit,
            Outcome::Ok,
        )
        .instance(&inst.name)
        .after(json!({
            "new": new.iter().map(|f| json!({
                "key": f.key(),
                "rule": f.rule,
                "severity": f.severity,
                "title": f.title,
                "privileges": f.evidence.privileges,
            })).collect::<Vec<_>>(),
            "resolved": resolved,
            "rule_pack": built.rule_pack,
            "risk_catalogue": built.risk_catalogue,
        }));
        shared.record(entry).await?;
        let mut state = shared.audit_state();
        let entry = state.instances.entry(inst.name.clone()).or_default();
        entry.recorded = current.keys().cloned().collect();
    }
    shared.audit_state().save();
    let s = &built.summary;
    Ok(format!(
        "audit: {} finding(s) ({} critical, {} high, {} medium, {} low, {} suppressed); {} new, {} resolved",
        s.total(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.suppressed,
        new.len(),
        resolved.len()
    ))
}
