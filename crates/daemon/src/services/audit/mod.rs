//! The risk audit of instances: the live state (Warden's own objects included) through the
//! rule pack of `warden_core::audit`, the last report per instance, and the change-log records
//! of the scheduled audit (only when findings are new or resolved).
//!
//! Kept reports hold the findings before suppressions; suppressions (which live in the
//! configuration) are applied when a report is built, so a changed suppression takes effect at
//! the next `wardenctl audit --last` without a new audit.

mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use warden_core::audit::{
    self, AuditReport, Finding, InstanceAudit, InstanceInput, ReportContext, RiskCatalogue,
    SecretFacts, SinceLast,
};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{Config, Instance, RotationStrategy};
use warden_core::protocol::ErrorCode;
use warden_core::rotation::SecretState;

pub use state::AuditState;

use super::ServiceError;
use super::changes::{Changes, ChangesError};
use super::config::LiveConfig;
use super::drift::{Checked, Drift};
use super::rotation::{Rotation, targets};
use crate::runtime::lifecycle::Lifecycle;

/// Why an audit could not be made or recorded.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the built-in risk catalogue does not load: {0}; this is a bug, report it")]
    Catalogue(String),
    #[error("an audit task failed: {0}")]
    Task(String),
    #[error("the audit of {instance} failed: {message}")]
    Failed { instance: String, message: String },
    #[error(transparent)]
    Record(#[from] ChangesError),
}

impl ServiceError for AuditError {
    fn code(&self) -> ErrorCode {
        match self {
            AuditError::Catalogue(_) | AuditError::Task(_) => ErrorCode::Internal,
            AuditError::Failed { .. } => ErrorCode::Unavailable,
            AuditError::Record(e) => e.code(),
        }
    }
}

/// What the scheduled audit of one instance found, for its job summary.
pub struct ScheduledAudit {
    pub summary: audit::Summary,
    pub new: usize,
    pub resolved: usize,
}

/// A finding as the change log records it.
#[derive(Serialize)]
struct FindingRecord<'a> {
    key: String,
    rule: &'a str,
    severity: audit::Severity,
    title: &'a str,
    privileges: &'a [warden_core::audit::Name],
}

/// The change-log record of new and resolved findings (`after`).
#[derive(Serialize)]
struct AuditRecord<'a> {
    new: Vec<FindingRecord<'a>>,
    resolved: Vec<&'a String>,
    rule_pack: &'a str,
    risk_catalogue: &'a str,
}

/// The audit service.
pub struct Audit {
    config: Arc<LiveConfig>,
    drift: Arc<Drift>,
    rotation: Arc<Rotation>,
    changes: Arc<Changes>,
    lifecycle: Arc<Lifecycle>,
    state: Mutex<AuditState>,
}

impl Audit {
    pub fn new(
        config: Arc<LiveConfig>,
        drift: Arc<Drift>,
        rotation: Arc<Rotation>,
        changes: Arc<Changes>,
        lifecycle: Arc<Lifecycle>,
    ) -> Audit {
        let state = Mutex::new(AuditState::load(&config.get().daemon.state_dir));
        Audit {
            config,
            drift,
            rotation,
            changes,
            lifecycle,
            state,
        }
    }

    /// The audit state (last audits, recorded findings).
    pub fn state(&self) -> MutexGuard<'_, AuditState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Audits one instance now. Never fails: a failure is the audit's `error`.
    pub async fn audit_instance(
        &self,
        inst: &Instance,
        catalogue: &RiskCatalogue,
        config: &Config,
    ) -> InstanceAudit {
        let mut out = InstanceAudit {
            instance: inst.name.clone(),
            url: inst.url.to_string(),
            checked_at: Some(self.lifecycle.now()),
            error: None,
            catalogue: None,
            roles: 0,
            clients: 0,
            findings: Vec::new(),
            client_privileges: Vec::new(),
            since_last: None,
            trend: Vec::new(),
        };
        let checked = match self.drift.fetch_full(inst).await {
            Ok(c) => c,
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        };
        let mut report = Drift::detect(inst, &checked);
        report.hold_adopted(&checked.adopted);
        let catalogue_change = self.drift.catalogue_change(inst);
        let secrets = self.secrets(inst, &checked).await;
        let Some(full) = &checked.full else {
            out.error = Some("the full live state was not kept; audit again".to_owned());
            return out;
        };
        let input = InstanceInput {
            instance: &inst.name,
            live: full,
            desired: &inst.desired_state,
            secrets: &secrets,
            drift: &report,
            warden_owned: &checked.warden_owned,
            now: self.lifecycle.now(),
            catalogue_change: catalogue_change.as_ref(),
        };
        let (findings, client_privileges) = audit::evaluate(&input, catalogue, &config.audit);
        out.catalogue = Some(checked.catalogue);
        out.roles = full.roles.len();
        out.clients = full.clients.len();
        out.findings = findings;
        out.client_privileges = client_privileges;
        out
    }

    /// Rotation facts of each declared client of `inst`: what drift fetched (rotated,
    /// adopted), completed by the rotation service's status from Vault (strategy, next due,
    /// whether the last rotation was verified); a status that cannot be read is the view's
    /// `error`.
    async fn secrets(&self, inst: &Instance, checked: &Checked) -> BTreeMap<String, SecretFacts> {
        let mut out = BTreeMap::new();
        let declared = targets(inst)
            .into_iter()
            .filter(|t| inst.desired_state.client(&t.client.name).is_some());
        for target in declared {
            let c = &target.client;
            let mut facts = SecretFacts {
                rotated_at: checked.rotated.get(&c.name).copied(),
                max_age: c.rotation.max_age.and_then(|d| Duration::from_std(d).ok()),
                adopted: checked.adopted.get(&c.name).cloned(),
                strategy: strategy_name(c.rotation.strategy).to_owned(),
                ..SecretFacts::default()
            };
            match self.rotation.status(&target).await {
                Ok(s) => {
                    facts.rotated_at = s.rotated_at.or(facts.rotated_at);
                    facts.next_due = s.next_due;
                    facts.verified = verified(&s.state);
                }
                Err(e) => facts.error = Some(e.to_string()),
            }
            out.insert(c.name.clone(), facts);
        }
        out
    }

    /// Audits `selected` instances of `config` now, at most `daemon.max_concurrent_checks` at
    /// a time, in the order given.
    pub async fn audit_many(
        self: &Arc<Self>,
        config: &Arc<Config>,
        selected: Vec<usize>,
    ) -> Result<Vec<InstanceAudit>, AuditError> {
        let catalogue = Arc::new(catalogue(config)?);
        let mut tasks = tokio::task::JoinSet::new();
        for (n, index) in selected.into_iter().enumerate() {
            let (this, catalogue, config) =
                (Arc::clone(self), Arc::clone(&catalogue), Arc::clone(config));
            // a task starts only with a slot: a thousand parked audit futures cost megabytes
            let slot = self.drift.owned_slot().await;
            tasks.spawn(async move {
                let _slot = slot;
                let inst = &config.instances[index];
                (n, this.audit_instance(inst, &catalogue, &config).await)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(pair) => out.push(pair),
                Err(e) => return Err(AuditError::Task(e.to_string())),
            }
        }
        out.sort_by_key(|(n, _)| *n);
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    /// The fleet report of `instances` with the configuration's suppressions.
    pub fn report(&self, instances: Vec<InstanceAudit>) -> Result<AuditReport, AuditError> {
        let config = self.config.get();
        let catalogue = catalogue(&config)?;
        let ctx = ReportContext {
            now: self.lifecycle.now(),
            warden_version: env!("CARGO_PKG_VERSION"),
            catalogue: &catalogue,
            settings: &config.audit,
        };
        Ok(audit::build_report(&ctx, instances))
    }

    /// The last audit of `instance`, if the scheduled audit ran.
    pub fn last(&self, instance: &str) -> Option<InstanceAudit> {
        self.state().last(instance)
    }

    /// Keeps `audited` as the last audit of `instance` and notes its run in the history: the
    /// keys of the findings recorded before, and when the audit before read its live state
    /// (`None`: there was none).
    fn keep(
        &self,
        instance: &str,
        audited: InstanceAudit,
        summary: &audit::Summary,
        config: &Config,
    ) -> (BTreeSet<String>, Option<DateTime<Utc>>) {
        let mut state = self.state();
        let entry = state.instances.entry(instance.to_owned()).or_default();
        let since = entry.last.as_ref().and_then(|l| l.checked_at);
        let at = audited.checked_at.unwrap_or_else(|| self.lifecycle.now());
        entry.record_run(at, summary, config.audit.history_days);
        entry.last = Some(audited);
        (entry.recorded.clone(), since)
    }

    /// Adds what the daemon kept to `report`: each audited instance's trend over the kept
    /// history and what is new and resolved since the last scheduled audit (`last`: the
    /// report is that audit, so against the one before it, as recorded then), and for a
    /// `last` report when its data was gathered.
    pub fn annotate(&self, report: &mut AuditReport, last: bool) {
        let state = self.state();
        for inst in report.instances.iter_mut().filter(|i| i.error.is_none()) {
            let Some(kept) = state.instance(&inst.instance) else {
                continue;
            };
            inst.trend = kept.trend();
            inst.since_last = if last {
                kept.since_last.clone()
            } else {
                kept.last
                    .as_ref()
                    .and_then(|l| l.checked_at)
                    .map(|since| since_kept(inst, since, &kept.recorded))
            };
        }
        if last {
            report.gathered_at = report.instances.iter().filter_map(|i| i.checked_at).min();
        }
    }

    /// The scheduled audit of one instance: audit, keep it, and record new and resolved
    /// findings (new ones are alerted, each with its severity).
    pub async fn scheduled(&self, inst: &Instance) -> Result<ScheduledAudit, AuditError> {
        let config = self.config.get();
        let catalogue = catalogue(&config)?;
        let audited = {
            let _slot = self.drift.slot().await;
            self.audit_instance(inst, &catalogue, &config).await
        };
        if let Some(message) = &audited.error {
            return Err(AuditError::Failed {
                instance: inst.name.clone(),
                message: message.clone(),
            });
        }
        let built = self.report(vec![audited.clone()])?;
        let current: BTreeMap<String, &Finding> = built
            .findings()
            .filter(|f| f.suppressed_by.is_none())
            .map(|f| (f.key(), f))
            .collect();
        let (previous, since) = self.keep(&inst.name, audited, &built.summary, &config);
        let new: Vec<&Finding> = current
            .iter()
            .filter(|(k, _)| !previous.contains(*k))
            .map(|(_, f)| *f)
            .collect();
        let resolved: Vec<&String> = previous
            .iter()
            .filter(|k| !current.contains_key(*k))
            .collect();
        self.state()
            .instances
            .entry(inst.name.clone())
            .or_default()
            .since_last = since.map(|since| SinceLast {
            since,
            new: new.iter().map(|f| f.key()).collect(),
            resolved: resolved.iter().map(|k| (*k).clone()).collect(),
        });
        let (new_count, resolved_count) = (new.len(), resolved.len());
        if !new.is_empty() || !resolved.is_empty() {
            let after = AuditRecord {
                new: new
                    .iter()
                    .map(|f| FindingRecord {
                        key: f.key(),
                        rule: &f.rule,
                        severity: f.severity,
                        title: &f.title,
                        privileges: &f.evidence.privileges,
                    })
                    .collect(),
                resolved,
                rule_pack: &built.rule_pack,
                risk_catalogue: &built.risk_catalogue,
            };
            let entry = ChangeEntry::new(
                Actor::Schedule {
                    job: format!("audit:{}", inst.name),
                },
                ObjectRef::named(ObjectKind::Instance, &inst.name),
                Action::Audit,
                Outcome::Ok,
            )
            .instance(&inst.name)
            .after(serde_json::to_value(&after).unwrap_or_default());
            self.changes.record(entry).await?;
            self.alert(&inst.name, &new);
            let keys: BTreeSet<String> = current.keys().cloned().collect();
            let mut state = self.state();
            state
                .instances
                .entry(inst.name.clone())
                .or_default()
                .recorded = keys;
        }
        self.state().save();
        Ok(ScheduledAudit {
            summary: built.summary.clone(),
            new: new_count,
            resolved: resolved_count,
        })
    }
}

/// `inst`'s unsuppressed findings against the keys `recorded` by the audit at `since`.
fn since_kept(
    inst: &InstanceAudit,
    since: DateTime<Utc>,
    recorded: &BTreeSet<String>,
) -> SinceLast {
    let current: BTreeSet<String> = inst
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .map(Finding::key)
        .collect();
    SinceLast {
        since,
        new: current.difference(recorded).cloned().collect(),
        resolved: recorded.difference(&current).cloned().collect(),
    }
}

/// `single` or `alternating`.
fn strategy_name(s: RotationStrategy) -> &'static str {
    match s {
        RotationStrategy::Single => "single",
        RotationStrategy::Alternating => "alternating",
    }
}

/// Whether the last rotation finished verified, from the marker's state (`None`: never
/// rotated, or a state this Warden does not know).
fn verified(state: &SecretState) -> Option<bool> {
    match state {
        SecretState::Ok => Some(true),
        SecretState::Pending | SecretState::Stored => Some(false),
        SecretState::Never | SecretState::Other(_) => None,
    }
}

/// The risk catalogue of `config`: the built-in one plus `[[audit.classify]]`.
pub fn catalogue(config: &Config) -> Result<RiskCatalogue, AuditError> {
    RiskCatalogue::builtin()
        .map(|c| c.with(&config.audit.classify))
        .map_err(|e| AuditError::Catalogue(e.to_string()))
}

impl Audit {
    /// Alerts each new finding (at most 100 per audit) with its own severity; sinks keep those
    /// at or above their `min_severity`.
    fn alert(&self, instance: &str, new: &[&Finding]) {
        let n = self.changes.notifier();
        for f in new.iter().take(100) {
            let summary = format!(
                "new {} finding on {instance}: {}",
                f.severity.as_str(),
                f.title
            );
            n.emit(
                n.event(warden_core::notify::EventKind::AuditFinding, summary)
                    .instance(instance)
                    .severity(f.severity.into())
                    .details(serde_json::json!({
                        "key": f.key(),
                        "rule": f.rule,
                        "severity": f.severity,
                        "title": f.title,
                        "privileges": f.evidence.privileges,
                    })),
            );
        }
    }
}
