//! The audit state kept in the state directory: the last audit of each instance, the keys
//! of the findings the scheduled audit last recorded, what it found new and resolved, and the
//! history of its runs (findings by severity, one point per UTC day, kept `audit.history`
//! days: a 400-day history of 1,000 instances stays near 10 MB).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use warden_core::audit::{InstanceAudit, RiskCatalogue, SinceLast, Summary, TrendPoint};

/// File of [`AuditState`] in the state directory.
const STATE_FILE: &str = "audit-state.json";

/// The last audit of each instance and the findings the scheduled audit last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AuditState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    pub(super) instances: BTreeMap<String, InstanceState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct InstanceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last: Option<InstanceAudit>,
    /// Keys of the unsuppressed findings last recorded.
    #[serde(default)]
    pub(super) recorded: BTreeSet<String>,
    /// What the last scheduled audit found new and resolved against the one before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) since_last: Option<SinceLast>,
    /// The scheduled audits' findings by severity, oldest first: `[unix seconds, [critical,
    /// high, medium, low, suppressed]]`, the last run of each UTC day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) history: Vec<(i64, [usize; 5])>,
}

impl InstanceState {
    /// Notes a scheduled audit's run at `at` (the day's earlier point is replaced) and drops
    /// points older than `keep_days`.
    pub(super) fn record_run(&mut self, at: DateTime<Utc>, s: &Summary, keep_days: u32) {
        let point = (
            at.timestamp(),
            [s.critical, s.high, s.medium, s.low, s.suppressed],
        );
        let day = at.date_naive();
        if let Some(last) = self.history.last()
            && DateTime::from_timestamp(last.0, 0).map(|t| t.date_naive()) == Some(day)
        {
            self.history.pop();
        }
        self.history.push(point);
        let oldest = (at - Duration::days(i64::from(keep_days))).timestamp();
        self.history.retain(|(t, _)| *t >= oldest);
    }

    /// The kept history as trend points.
    pub(super) fn trend(&self) -> Vec<TrendPoint> {
        self.history
            .iter()
            .filter_map(|(t, [critical, high, medium, low, suppressed])| {
                Some(TrendPoint {
                    at: DateTime::from_timestamp(*t, 0)?,
                    critical: *critical,
                    high: *high,
                    medium: *medium,
                    low: *low,
                    suppressed: *suppressed,
                })
            })
            .collect()
    }
}

impl AuditState {
    /// Loads the state from `state_dir`; a missing or unreadable file starts empty (logged).
    /// The kept audits' privilege names are shared through the built-in risk catalogue, as a
    /// fresh audit's are (read back, each entry would hold its own copy).
    pub fn load(state_dir: &Path) -> AuditState {
        let path = state_dir.join(STATE_FILE);
        let mut state: AuditState = crate::runtime::state_json::load(&path, "audit state");
        state.path = Some(path);
        if let Ok(catalogue) = RiskCatalogue::builtin() {
            for last in state.instances.values_mut().filter_map(|i| i.last.as_mut()) {
                catalogue.share_names(last);
            }
        }
        state
    }

    /// The last audit of `instance`.
    pub fn last(&self, instance: &str) -> Option<InstanceAudit> {
        self.instances.get(instance)?.last.clone()
    }

    /// `f` of the last audit of `instance`, without copying it (the metrics count in it).
    pub fn with_last<T>(&self, instance: &str, f: impl FnOnce(&InstanceAudit) -> T) -> Option<T> {
        self.instances.get(instance)?.last.as_ref().map(f)
    }

    /// The kept state of `instance`.
    pub(super) fn instance(&self, instance: &str) -> Option<&InstanceState> {
        self.instances.get(instance)
    }

    /// Forgets instances no longer configured.
    pub fn retain(&mut self, configured: &BTreeSet<String>) {
        self.instances.retain(|name, _| configured.contains(name));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::runtime::state_json::save(path, self, "audit state");
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0)
            .single()
            .unwrap()
            + Duration::days(i64::from(day))
    }

    #[test]
    fn history_keeps_the_last_run_of_each_day_within_the_period() {
        let mut state = InstanceState::default();
        let summary = |high| Summary {
            high,
            ..Summary::default()
        };
        state.record_run(at(0, 1), &summary(1), 3);
        state.record_run(at(0, 9), &summary(2), 3);
        state.record_run(at(1, 9), &summary(3), 3);
        let highs: Vec<usize> = state.trend().iter().map(|p| p.high).collect();
        assert_eq!(highs, [2, 3], "the day's last run replaces its earlier one");
        state.record_run(at(4, 9), &summary(4), 3);
        let trend = state.trend();
        assert_eq!(trend.iter().map(|p| p.high).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(trend[0].at, at(1, 9));
        // compact on disk: one short array per day
        let json = serde_json::to_string(&state.history).unwrap();
        assert_eq!(json, "[[1767344400,[0,3,0,0,0]],[1767603600,[0,4,0,0,0]]]");
    }

    #[test]
    fn kept_audits_share_their_privilege_names_once_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let client = |name: &str| {
            serde_json::json!({
                "name": name, "enabled": true, "app_type": "CLIENT_CREDENTIALS",
                "declared": false, "roles": ["Deploy"], "token_lifetime": 300,
                "privileges": ["Create Policies", "Read Computers"],
                "by_category": {"code_execution": ["Create Policies"]},
            })
        };
        let last = serde_json::json!({
            "instance": "prod", "url": "https://prod.example.com", "roles": 1, "clients": 2,
            "findings": [], "client_privileges": [client("A"), client("B")],
        });
        let file = serde_json::json!({ "instances": { "prod": { "last": last } } });
        std::fs::write(dir.path().join(STATE_FILE), file.to_string()).unwrap();
        let state = AuditState::load(dir.path());
        let last = state.last("prod").expect("the kept audit");
        let (a, b) = (&last.client_privileges[0], &last.client_privileges[1]);
        assert_eq!(a.privileges, ["Create Policies", "Read Computers"]);
        assert!(a.privileges[0].shares_with(&b.privileges[0]));
        assert!(a.privileges[1].shares_with(&b.privileges[1]));
        let risky = &b.by_category[&warden_core::audit::Category::CodeExecution][0];
        assert!(risky.shares_with(&a.privileges[0]));
    }
}
