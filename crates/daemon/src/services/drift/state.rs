//! The drift state kept in the state directory: the last report per instance and the
//! fingerprint of the drift the scheduled check last recorded, so a restart does not record
//! the same drift again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_core::drift::InstanceDrift;

/// File of [`DriftState`] in the state directory.
const STATE_FILE: &str = "drift-state.json";

/// The last report per instance and the fingerprint the scheduled check last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DriftState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    instances: BTreeMap<String, InstanceState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct InstanceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<InstanceDrift>,
    /// Fingerprint of the drift last recorded in the change log; `None`: no drift recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recorded: Option<String>,
    /// Fingerprint of the desired state a person last applied (`wardenctl apply`): the only
    /// one `remediation = "auto"` applies by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved: Option<String>,
}

/// What the scheduled check records about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Drift where there was none.
    Appeared,
    /// Other drift than recorded.
    Changed,
    /// No drift where some was recorded.
    Resolved,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Appeared => "appeared",
            Transition::Changed => "changed",
            Transition::Resolved => "resolved",
        }
    }
}

impl DriftState {
    /// Loads the state from `state_dir`; a missing or unreadable file starts empty (logged).
    pub fn load(state_dir: &Path) -> DriftState {
        let path = state_dir.join(STATE_FILE);
        let mut state: DriftState = crate::runtime::state_json::load(&path, "drift state");
        state.path = Some(path);
        state
    }

    /// The last report of `instance`.
    pub fn last(&self, instance: &str) -> Option<InstanceDrift> {
        self.instances.get(instance)?.last.clone()
    }

    /// Keeps `report` as its instance's last one.
    pub fn keep(&mut self, report: InstanceDrift) {
        let entry = self.instances.entry(report.instance.clone()).or_default();
        entry.last = Some(report);
    }

    /// What the scheduled check must record about `report` (a failed check records nothing).
    pub fn transition(&self, report: &InstanceDrift) -> Option<Transition> {
        if report.error.is_some() {
            return None;
        }
        let recorded = self
            .instances
            .get(&report.instance)
            .and_then(|s| s.recorded.as_deref());
        match (recorded, report.has_drift()) {
            (None, true) => Some(Transition::Appeared),
            (Some(fp), true) if fp != report.fingerprint() => Some(Transition::Changed),
            (Some(_), false) => Some(Transition::Resolved),
            _ => None,
        }
    }

    /// Notes that the change log now holds `report`'s drift (or its absence).
    pub fn recorded(&mut self, report: &InstanceDrift) {
        let entry = self.instances.entry(report.instance.clone()).or_default();
        entry.recorded = report.has_drift().then(|| report.fingerprint());
    }

    /// Notes `desired` as the fingerprint a person last applied to `instance`.
    pub fn approve(&mut self, instance: &str, desired: &str) {
        let entry = self.instances.entry(instance.to_owned()).or_default();
        entry.approved = Some(desired.to_owned());
    }

    /// The desired-state fingerprint a person last applied to `instance`.
    pub fn approved(&self, instance: &str) -> Option<&str> {
        self.instances.get(instance)?.approved.as_deref()
    }

    /// Forgets instances no longer configured.
    pub fn retain(&mut self, configured: &BTreeSet<String>) {
        self.instances.retain(|name, _| configured.contains(name));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::runtime::state_json::save(path, self, "drift state");
        }
    }
}
