//! Desired state against live state: validation, drift detection, the ordered change plan,
//! `terraform plan`-style rendering and `import` (live state as a desired-state file).
//!
//! Everything here is pure: the caller fetches the live state ([`Live`]) and applies the
//! [`Plan`]. Scope rules:
//!
//! - Warden manages what the desired state declares. Other live roles and clients are reported
//!   as unmanaged and only deleted when the instance sets `prune = true`.
//! - `NATIVE_APP_OAUTH` clients, and undeclared roles that such a client uses (Jamf's own app
//!   roles), are foreign: never touched, listed in [`DriftReport::foreign`].
//! - A role declared `external = true` exists in Jamf but is not managed: its privileges never
//!   drift.
//!
//! Names are matched exactly, except that a live object whose name differs from a declared
//! one in case alone is renamed in place ([`Renames`]; the config merge refuses declared
//! names that differ in case alone); privileges and client roles compare as sets, since Jamf
//! reorders them.

mod catalogue;
mod detect;
mod document;
mod fingerprint;
mod import;
mod matching;
mod plan;
mod render;
mod review;
mod scope;
mod suggest;
mod upgrade;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_plan;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::jamf::{ApiIntegration, ApiRole, AppType};

pub use catalogue::CatalogueInfo;
pub use detect::detect;
pub use document::{
    APPLY_SCHEMA, ApplyReport, CheckSource, DRIFT_SCHEMA, DriftDocument, InstanceDrift,
    PLAN_SCHEMA, PlanDocument, StepResult, StepStatus, render_apply, render_drift, render_plan_doc,
};
pub use fingerprint::{PlanFingerprints, desired_fingerprint, live_fingerprint};
pub use import::import;
pub use matching::Renames;
pub use plan::{Action, Plan, PlanBody, PlanStep, SetDiff, plan};
pub use render::{render_plan, render_report};
pub use review::{
    FLEET_PLAN_SCHEMA, FleetPlanDocument, FleetPlanEntry, FleetSummary, render_fleet_plan,
};
pub use scope::{
    EVIDENCE_RECORDED, EVIDENCE_TOKEN, ScopeEvidence, rotate_stale_scopes, scope_candidates,
    stale_scopes,
};
pub use suggest::suggest;
pub use upgrade::{
    AffectedRole, CatalogueChange, RemovedPrivilege, family, render_catalogue_change,
};
pub use validate::{ValidationError, validate};

/// Jamf's token lifetime when a client has none (`accessTokenLifetimeSeconds` omitted).
pub const DEFAULT_TOKEN_LIFETIME: i64 = 300;

/// The live state of one instance, as fetched from Jamf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Every API role.
    pub roles: Vec<ApiRole>,
    /// Every API integration.
    pub clients: Vec<ApiIntegration>,
    /// The instance's privilege catalogue (shared: instances on the same Jamf version have the
    /// same one, and a check must not copy 500-odd names).
    pub privileges: Arc<Vec<String>>,
}

impl Live {
    /// The role called exactly `name`.
    pub fn role(&self, name: &str) -> Option<&ApiRole> {
        self.roles.iter().find(|r| r.display_name == name)
    }

    /// The client called exactly `name`.
    pub fn client(&self, name: &str) -> Option<&ApiIntegration> {
        self.clients.iter().find(|c| c.display_name == name)
    }

    /// Names of the foreign roles: used by a `NATIVE_APP_OAUTH` client and not declared
    /// (`declared` says whether a role name is declared).
    pub fn foreign_roles(&self, declared: impl Fn(&str) -> bool) -> BTreeSet<String> {
        self.clients
            .iter()
            .filter(|c| is_foreign_client(c))
            .flat_map(|c| c.authorization_scopes.iter())
            .filter(|r| !declared(r))
            .cloned()
            .collect()
    }
}

/// Whether a live client belongs to a Jamf app and is never touched.
pub fn is_foreign_client(client: &ApiIntegration) -> bool {
    client.app_type == AppType::NativeAppOauth
}

/// A client's effective token lifetime.
pub fn lifetime(client: &ApiIntegration) -> i64 {
    client
        .access_token_lifetime_seconds
        .unwrap_or(DEFAULT_TOKEN_LIFETIME)
}

/// What kind of object an item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// An API role.
    Role,
    /// An API client (integration).
    Client,
}

impl ObjectKind {
    /// `"role"` or `"client"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Role => "role",
            ObjectKind::Client => "client",
        }
    }
}

/// A kind of difference between desired and live state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Declared but absent in Jamf.
    Missing,
    /// Present in Jamf but not declared (and not foreign).
    Unmanaged,
    /// Privileges the role should have but lacks (`after` lists them).
    PrivilegesAdded,
    /// Privileges the role has but should not (`before` lists them).
    PrivilegesRemoved,
    /// Roles the client should hold but lacks (`after` lists them).
    RolesAdded,
    /// Roles the client holds but should not (`before` lists them).
    RolesRemoved,
    /// `enabled` differs.
    EnabledChanged,
    /// `accessTokenLifetimeSeconds` differs.
    LifetimeChanged,
    /// An enabled declared client has no secret (`appType` `NONE`).
    NoSecret,
    /// A declared client's secret was never rotated by Warden.
    NeverRotated,
    /// The live object's name differs from the declared one in case alone (`before` is the
    /// live name): it is renamed in place, not created again.
    Renamed,
    /// The client's live roles differ from the roles its current secret was minted with
    /// (`before`: the roles the secret covers; `after`: live roles it does not cover): Jamf
    /// keeps the old scope until a new secret, so the plan rotates it.
    ScopeStale,
}

impl DriftKind {
    /// Every kind, for tables and metrics.
    pub const ALL: [DriftKind; 12] = [
        DriftKind::Missing,
        DriftKind::Unmanaged,
        DriftKind::PrivilegesAdded,
        DriftKind::PrivilegesRemoved,
        DriftKind::RolesAdded,
        DriftKind::RolesRemoved,
        DriftKind::EnabledChanged,
        DriftKind::LifetimeChanged,
        DriftKind::NoSecret,
        DriftKind::NeverRotated,
        DriftKind::Renamed,
        DriftKind::ScopeStale,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing",
            DriftKind::Unmanaged => "unmanaged",
            DriftKind::PrivilegesAdded => "privileges_added",
            DriftKind::PrivilegesRemoved => "privileges_removed",
            DriftKind::RolesAdded => "roles_added",
            DriftKind::RolesRemoved => "roles_removed",
            DriftKind::EnabledChanged => "enabled_changed",
            DriftKind::LifetimeChanged => "lifetime_changed",
            DriftKind::NoSecret => "no_secret",
            DriftKind::NeverRotated => "never_rotated",
            DriftKind::Renamed => "renamed",
            DriftKind::ScopeStale => "scope_stale",
        }
    }
}

/// One difference, with the field's value before (live) and after (desired).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftItem {
    /// What differs.
    pub kind: DriftKind,
    /// Role or client.
    pub object: ObjectKind,
    /// The object's display name.
    pub name: String,
    /// The field concerned (`privileges`, `roles`, `enabled`, `token_lifetime`, `secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The live value (for set changes: the members to remove).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// The desired value (for set changes: the members to add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Whether applying the plan acts on it (false: reported only, e.g. unmanaged without
    /// prune, or a missing external role).
    pub managed: bool,
    /// Where the finding comes from when that matters to whoever acts on it (`scope_stale`:
    /// `token scope` when a token of the stored secret confirmed it, `recorded at mint`
    /// otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Every difference of one instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Differences, roles first, in desired then live order.
    pub items: Vec<DriftItem>,
    /// Foreign objects left alone, as `role "Name"` or `client "Name"`.
    pub foreign: Vec<String>,
    /// Adopted clients whose never-rotated secret is held until a cutover: not drift (the
    /// desired state says `adopt = "hold"`), nothing a plan would rotate; listed for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldSecret>,
}

/// An adopted client's secret, held until a cutover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSecret {
    /// The declared client's name.
    pub name: String,
    /// Why it is held ("adopted: ... held until cutover ...").
    pub reason: String,
}

impl DriftReport {
    /// Whether desired and live state agree.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Moves the `never_rotated` item of every adopted client in `adopted` (client name →
    /// reason, from [`SecretStatus::adoption`](crate::rotation::SecretStatus)) out of the drift
    /// items into [`DriftReport::held`]: an adopted client held until its cutover is what the
    /// desired state asks for, not drift.
    pub fn hold_adopted(&mut self, adopted: &std::collections::BTreeMap<String, String>) {
        let mut held = Vec::new();
        self.items.retain(|i| {
            let hold = i.kind == DriftKind::NeverRotated && i.object == ObjectKind::Client;
            match adopted.get(&i.name).filter(|_| hold) {
                Some(reason) => {
                    held.push(HeldSecret {
                        name: i.name.clone(),
                        reason: reason.clone(),
                    });
                    false
                }
                None => true,
            }
        });
        self.held.extend(held);
    }
}
