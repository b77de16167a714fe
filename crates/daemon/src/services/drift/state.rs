//! The drift state kept in the state directory: the last report per instance and the
//! fingerprint of the drift the scheduled check last recorded, so a restart does not record
//! the same drift again. It also keeps the privilege catalogue each instance was last seen
//! with (its hash per instance, the names once per distinct hash: a fleet on one Jamf version
//! holds them once) and the instance's last catalogue change, so a Jamf upgrade is recorded
//! once, also across restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warden_core::config::DesiredState;
use warden_core::drift::{CatalogueChange, CatalogueInfo, InstanceDrift};

/// File of [`DriftState`] in the state directory.
const STATE_FILE: &str = "drift-state.json";

/// The last report per instance and the fingerprint the scheduled check last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DriftState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    instances: BTreeMap<String, InstanceState>,
    /// Privilege names by catalogue hash, for the hashes some instance was last seen with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    catalogues: BTreeMap<String, Vec<String>>,
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
    /// Hash of the privilege catalogue the instance was last seen with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    catalogue: Option<String>,
    /// The instance's last catalogue change (affected roles not kept: they follow the
    /// desired state in force when shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    catalogue_change: Option<CatalogueChange>,
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

    /// `f` of the last report of `instance`, without copying it (the metrics count in it).
    pub fn with_last<T>(&self, instance: &str, f: impl FnOnce(&InstanceDrift) -> T) -> Option<T> {
        self.instances.get(instance)?.last.as_ref().map(f)
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
        self.forget_unused_catalogues();
    }

    /// Compares a freshly fetched catalogue of `instance` with the one it was last seen with.
    /// Returns the change (roles of `desired` affected) when the hash differs from a known
    /// previous one; the first catalogue seen of an instance is no change. Nothing is noted
    /// until [`Self::catalogue_seen`] (after the change is recorded).
    pub fn catalogue_change(
        &self,
        instance: &str,
        info: &CatalogueInfo,
        names: &[String],
        desired: &DesiredState,
    ) -> Option<CatalogueChange> {
        let previous = self.instances.get(instance)?.catalogue.as_ref()?;
        if *previous == info.sha256 {
            return None;
        }
        let old = self.catalogues.get(previous)?;
        CatalogueChange::between(old, names, previous, &info.sha256, info.fetched_at, desired)
    }

    /// Notes that `instance` was seen with this catalogue, and its change if there was one.
    pub fn catalogue_seen(
        &mut self,
        instance: &str,
        info: &CatalogueInfo,
        names: &[String],
        change: Option<CatalogueChange>,
    ) {
        let entry = self.instances.entry(instance.to_owned()).or_default();
        entry.catalogue = Some(info.sha256.clone());
        if let Some(mut change) = change {
            change.affected.clear();
            entry.catalogue_change = Some(change);
        }
        if !self.catalogues.contains_key(&info.sha256) {
            let mut sorted = names.to_vec();
            sorted.sort();
            self.catalogues.insert(info.sha256.clone(), sorted);
        }
        self.forget_unused_catalogues();
    }

    /// Whether `instance` was last seen with the catalogue `sha256`.
    pub fn catalogue_known(&self, instance: &str, sha256: &str) -> bool {
        self.instances
            .get(instance)
            .and_then(|s| s.catalogue.as_deref())
            == Some(sha256)
    }

    /// The last catalogue change of `instance`, with the roles of `desired` it affects, while
    /// it is younger than `shown_for` at `now` or still breaks a declared role.
    pub fn shown_catalogue_change(
        &self,
        instance: &str,
        desired: &DesiredState,
        now: DateTime<Utc>,
        shown_for: chrono::Duration,
    ) -> Option<CatalogueChange> {
        let change = self.instances.get(instance)?.catalogue_change.clone()?;
        let change = change.affecting(desired);
        (now - change.seen_at < shown_for || change.breaks_a_role()).then_some(change)
    }

    fn forget_unused_catalogues(&mut self) {
        let used: BTreeSet<&str> = self
            .instances
            .values()
            .filter_map(|s| s.catalogue.as_deref())
            .collect();
        self.catalogues.retain(|sha, _| used.contains(sha.as_str()));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::runtime::state_json::save(path, self, "drift state");
        }
    }
}
