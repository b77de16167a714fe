//! The audit's settings (`[audit]` in wardend.toml): thresholds, extra classifications and
//! suppressions.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Category;

/// `[audit]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditSettings {
    /// A role or client holding more than this share of the instance's catalogue is broad
    /// (`JW-BRD-001`). Default 0.5.
    pub breadth_share: f64,
    /// ... or more than this many privileges (off when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breadth_count: Option<u32>,
    /// At or above this share it is near-full admin (`JW-BRD-003`). Default 0.9.
    pub near_admin_share: f64,
    /// Full create/read/update/delete over at least this many object types is flagged
    /// (`JW-BRD-002`). Default 10.
    pub crud_object_types: u32,
    /// Access-token lifetimes above this many seconds are flagged (`JW-HYG-003`). Default 1800.
    pub max_token_lifetime: u32,
    /// Days of scheduled-audit history the daemon keeps (trend, new and resolved findings):
    /// `audit.history`. Default 400 (a yearly review period and some).
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// Site additions to the risk catalogue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classify: Vec<Classification>,
    /// Accepted findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            breadth_share: 0.5,
            breadth_count: None,
            near_admin_share: 0.9,
            crud_object_types: 10,
            max_token_lifetime: 1800,
            history_days: default_history_days(),
            classify: Vec::new(),
            suppressions: Vec::new(),
        }
    }
}

fn default_history_days() -> u32 {
    400
}

/// `[[audit.classify]]`: puts a privilege in a category (adds to, or overrides, the built-in
/// catalogue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The privilege, verbatim.
    pub privilege: String,
    /// Its category.
    pub category: Category,
    /// Where the classification comes from (shown in reports).
    pub source: String,
}

/// `[[audit.suppression]]`: an accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The rule id, e.g. `JW-ESC-001`.
    pub rule: String,
    /// The instance, or `*` for every instance.
    pub instance: String,
    /// `role:NAME`, `client:NAME`, or `*` for every object.
    pub object: String,
    /// Why the finding is accepted.
    pub reason: String,
    /// Who accepted it (a person or team).
    pub owner: String,
    /// Last day (UTC) it applies; afterwards it stops suppressing and is reported itself.
    pub expires: NaiveDate,
}

impl Suppression {
    /// Whether it covers a finding of `rule` on `instance` about `object` (`role:NAME`).
    pub fn covers(&self, rule: &str, instance: &str, object: &str) -> bool {
        self.rule == rule
            && (self.instance == "*" || self.instance == instance)
            && (self.object == "*" || self.object == object)
    }
}
