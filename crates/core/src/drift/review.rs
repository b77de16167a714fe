//! The fleet-wide plan document (`wardenctl plan` of several or all instances).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Action, PlanDocument, render_plan_doc};

/// Schema id of [`FleetPlanDocument`] (`wardenctl plan` of several or all instances).
pub const FLEET_PLAN_SCHEMA: &str = "warden.plan-fleet/1";

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
