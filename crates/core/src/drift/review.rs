//! Review before load: the fingerprints a saved plan carries (so `apply --plan` can refuse a
//! plan the live or desired state has moved away from) and the fleet-wide plan document.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalogue::hex;
use super::{Action, Live, Plan, PlanDocument, render_plan_doc};
use crate::config::DesiredState;

/// Schema id of [`FleetPlanDocument`] (`wardenctl plan` of several or all instances).
pub const FLEET_PLAN_SCHEMA: &str = "warden.plan-fleet/1";

/// What a plan was made from, as SHA-256 digests (hex). Two plans with the same fingerprints
/// have the same steps; none of them reveals anything secret (no secret is an input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFingerprints {
    /// The live roles and clients the plan was made against (Warden's own left out; order,
    /// which Jamf does not keep, ignored).
    pub live: String,
    /// The merged desired state and `prune` the plan was made from.
    pub desired: String,
    /// The plan's steps.
    pub plan: String,
}

impl PlanFingerprints {
    /// The fingerprints of `plan`, made from `desired` (with `prune`) against `live`.
    pub fn of(desired: &DesiredState, prune: bool, live: &Live, plan: &Plan) -> PlanFingerprints {
        PlanFingerprints {
            live: live_fingerprint(live),
            desired: desired_fingerprint(desired, prune),
            plan: digest(&plan.steps),
        }
    }

    /// What differs from `other`, in words (`the live state`, `the desired state`, `the
    /// plan`); empty when nothing does.
    pub fn differences(&self, other: &PlanFingerprints) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.live != other.live {
            out.push("the live state in Jamf");
        }
        if self.desired != other.desired {
            out.push("the loaded desired state");
        }
        if self.plan != other.plan && out.is_empty() {
            out.push("the plan");
        }
        out
    }
}

/// The fingerprint of a desired state and its instance's `prune` setting.
pub fn desired_fingerprint(desired: &DesiredState, prune: bool) -> String {
    digest(&(desired, prune))
}

/// The fingerprint of the live roles and clients, independent of the order Jamf lists them
/// and their members in.
pub fn live_fingerprint(live: &Live) -> String {
    let mut roles: Vec<_> = live
        .roles
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.privileges.sort();
            r
        })
        .collect();
    roles.sort_by(|a, b| (&a.id, &a.display_name).cmp(&(&b.id, &b.display_name)));
    let mut clients: Vec<_> = live
        .clients
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.authorization_scopes.sort();
            c
        })
        .collect();
    clients.sort_by(|a, b| (a.id, &a.display_name).cmp(&(b.id, &b.display_name)));
    digest(&(roles, clients))
}

fn digest<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    hex(&Sha256::digest(json.as_bytes()))
}

/// One instance of a fleet-wide plan: its plan, or why it could not be planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetPlanEntry {
    /// The instance.
    pub instance: String,
    /// Why it could not be planned (unreachable, invalid desired state); `plan` is then absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanDocument>,
}

/// Counts over a fleet-wide plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// Instances planned or tried.
    pub instances: usize,
    /// Instances whose plan has steps.
    pub with_changes: usize,
    /// Instances that could not be planned.
    pub failed: usize,
    /// Roles and clients to create.
    pub creates: usize,
    /// Roles and clients to update.
    pub updates: usize,
    /// Roles and clients to delete.
    pub deletes: usize,
    /// Secrets to rotate.
    pub rotations: usize,
}

/// Answer to `plan` of several or all instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetPlanDocument {
    /// [`FLEET_PLAN_SCHEMA`].
    pub schema: String,
    /// One entry per instance, in configuration order.
    pub instances: Vec<FleetPlanEntry>,
    /// The counts over every instance.
    pub summary: FleetSummary,
}

impl FleetPlanDocument {
    /// The document of `instances`, with its summary.
    pub fn new(instances: Vec<FleetPlanEntry>) -> FleetPlanDocument {
        let mut summary = FleetSummary {
            instances: instances.len(),
            ..FleetSummary::default()
        };
        for entry in &instances {
            if entry.error.is_some() {
                summary.failed += 1;
            }
            let Some(doc) = &entry.plan else { continue };
            if !doc.plan.is_empty() {
                summary.with_changes += 1;
            }
            for step in &doc.plan.steps {
                match step.action {
                    Action::CreateRole | Action::CreateClient => summary.creates += 1,
                    Action::UpdateRole | Action::UpdateClient => summary.updates += 1,
                    Action::DeleteRole | Action::DeleteClient => summary.deletes += 1,
                    Action::RotateSecret => summary.rotations += 1,
                }
            }
        }
        FleetPlanDocument {
            schema: FLEET_PLAN_SCHEMA.to_owned(),
            instances,
            summary,
        }
    }

    /// Planned steps over every instance.
    pub fn steps(&self) -> usize {
        let s = &self.summary;
        s.creates + s.updates + s.deletes + s.rotations
    }
}

/// The fleet-wide plan for people: each instance's plan (or error), then the fleet summary.
pub fn render_fleet_plan(doc: &FleetPlanDocument, color: bool) -> String {
    let mut out = String::new();
    for entry in &doc.instances {
        match (&entry.plan, &entry.error) {
            (Some(plan), _) => out.push_str(&render_plan_doc(plan, color)),
            (None, Some(e)) => {
                let _ = writeln!(out, "# instance {}\n! cannot plan: {e}", entry.instance);
            }
            (None, None) => {
                let _ = writeln!(out, "# instance {}: no plan", entry.instance);
            }
        }
        out.push('\n');
    }
    let s = &doc.summary;
    let _ = writeln!(
        out,
        "Fleet: {} of {} instance(s) with changes, {} could not be planned; {} to create, {} to \
         update, {} to delete, {} secret(s) to rotate.",
        s.with_changes, s.instances, s.failed, s.creates, s.updates, s.deletes, s.rotations
    );
    out
}
