//! The documents `wardend` answers `drift`, `plan` and `apply` with (`--json` prints them as
//! they are; `wardenctl` renders them for people with [`render_drift`], [`render_plan_doc`] and
//! [`render_apply`]). The catalogue summary they carry as evidence is in `catalogue`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalogue::{CatalogueInfo, hex};
use super::upgrade::{CatalogueChange, render_catalogue_change};
use super::{DriftReport, Plan, PlanStep, render_plan, render_report};

/// Schema id of [`DriftDocument`]; bumped on incompatible changes.
pub const DRIFT_SCHEMA: &str = "warden.drift/1";
/// Schema id of [`PlanDocument`].
pub const PLAN_SCHEMA: &str = "warden.plan/1";
/// Schema id of [`ApplyReport`].
pub const APPLY_SCHEMA: &str = "warden.apply/1";

/// How a report came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSource {
    /// The scheduled drift check.
    Scheduled,
    /// Asked for (`wardenctl drift --now`, `plan`, `apply`).
    Now,
    /// No check has run since the daemon started and none is on record.
    NeverChecked,
}

/// The drift of one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceDrift {
    /// The instance's name.
    pub instance: String,
    /// How this report came about.
    pub source: CheckSource,
    /// When the check ran (`None` when never checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// Why the instance could not be checked; `report` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Problems of the desired state against the live catalogue (unknown privileges with
    /// suggestions); the plan cannot be applied until they are fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<String>,
    /// The differences.
    pub report: DriftReport,
    /// The catalogue the check validated against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<CatalogueInfo>,
    /// The instance's last privilege-catalogue change (a Jamf upgrade), with the declared
    /// roles it affects, while it is recent or still breaks a declared role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue_change: Option<CatalogueChange>,
}

impl InstanceDrift {
    /// A report saying the instance has not been checked.
    pub fn never_checked(instance: &str) -> InstanceDrift {
        InstanceDrift {
            instance: instance.to_owned(),
            source: CheckSource::NeverChecked,
            checked_at: None,
            error: None,
            invalid: Vec::new(),
            report: DriftReport::default(),
            catalogue: None,
            catalogue_change: None,
        }
    }

    /// Drift items plus validation problems plus one for a failed check.
    pub fn findings(&self) -> u64 {
        (self.report.items.len() + self.invalid.len() + usize::from(self.error.is_some())) as u64
    }

    /// Whether the check ran and found drift or an invalid desired state.
    pub fn has_drift(&self) -> bool {
        self.error.is_none() && (!self.report.items.is_empty() || !self.invalid.is_empty())
    }

    /// A stable digest of what differs (items and validation problems, not the time or the
    /// catalogue's age): the scheduled check records a change-log entry only when it changes.
    pub fn fingerprint(&self) -> String {
        let items = serde_json::to_string(&(&self.report.items, &self.invalid)).unwrap_or_default();
        hex(&Sha256::digest(items.as_bytes()))
    }
}

/// Answer to `drift`: one report per instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftDocument {
    /// [`DRIFT_SCHEMA`].
    pub schema: String,
    /// The instances, in configuration order.
    pub instances: Vec<InstanceDrift>,
}

impl DriftDocument {
    /// A document of `instances`.
    pub fn new(instances: Vec<InstanceDrift>) -> DriftDocument {
        DriftDocument {
            schema: DRIFT_SCHEMA.to_owned(),
            instances,
        }
    }

    /// Findings over every instance.
    pub fn findings(&self) -> u64 {
        self.instances.iter().map(InstanceDrift::findings).sum()
    }
}

/// Answer to `plan`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanDocument {
    /// [`PLAN_SCHEMA`].
    pub schema: String,
    /// The instance.
    pub instance: String,
    /// When the live state was read.
    pub checked_at: DateTime<Utc>,
    /// The steps.
    pub plan: Plan,
    /// Drift items the plan does not act on (unmanaged objects without prune, external roles
    /// missing, secrets never rotated by Warden: the rotation schedule handles those).
    #[serde(default)]
    pub unresolved: usize,
    /// What the plan was made from; `wardenctl apply --plan` sends them back and the daemon
    /// refuses when the live or desired state moved since. Absent from daemons before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprints: Option<super::PlanFingerprints>,
    /// The proposed files (`plan --desired`) substituted for the loaded ones, as named by the
    /// operator; empty for a plan of the loaded desired state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposed: Vec<String>,
    /// With `proposed`: the drift between the proposed desired state and the live state, for
    /// the review (a plan of the loaded state leaves it to `wardenctl drift`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
}

/// What happened to one step of an apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done and recorded.
    Done,
    /// Tried and failed; nothing after it ran.
    Failed,
    /// Not tried, because an earlier step failed.
    NotRun,
}

/// One step of an apply and its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The planned step.
    pub step: PlanStep,
    /// What happened.
    pub status: StepStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `seq` of the change-log record of its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_seq: Option<u64>,
}

/// Answer to `apply`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// [`APPLY_SCHEMA`].
    pub schema: String,
    /// The instance.
    pub instance: String,
    /// When the apply began.
    pub started_at: DateTime<Utc>,
    /// Every planned step in order, with its result.
    pub steps: Vec<StepResult>,
}

impl ApplyReport {
    /// Whether a step failed.
    pub fn failed(&self) -> bool {
        self.steps.iter().any(|s| s.status == StepStatus::Failed)
    }

    /// Number of steps done.
    pub fn done(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Done)
            .count()
    }
}

/// The drift document for people: one section per instance.
pub fn render_drift(doc: &DriftDocument, color: bool) -> String {
    let mut out = String::new();
    for inst in &doc.instances {
        let when = match (inst.source, inst.checked_at) {
            (CheckSource::NeverChecked, _) | (_, None) => {
                "not checked yet (the scheduled check has not run; use --now)".to_owned()
            }
            (CheckSource::Scheduled, Some(at)) => format!("scheduled check at {}", stamp(at)),
            (CheckSource::Now, Some(at)) => format!("checked at {}", stamp(at)),
        };
        let _ = writeln!(out, "# instance {}: {when}", inst.instance);
        if let Some(e) = &inst.error {
            let _ = writeln!(out, "! cannot check {}: {e}", inst.instance);
            out.push('\n');
            continue;
        }
        if inst.source == CheckSource::NeverChecked {
            out.push('\n');
            continue;
        }
        if !inst.invalid.is_empty() {
            let _ = writeln!(
                out,
                "! the desired state is invalid against the live catalogue; fix it before apply:"
            );
            for e in &inst.invalid {
                let _ = writeln!(out, "!   {e}");
            }
        }
        if let Some(change) = &inst.catalogue_change {
            out.push_str(&render_catalogue_change(change));
        }
        out.push_str(&render_report(&inst.report, color));
        out.push('\n');
    }
    out
}

/// The plan document for people.
pub fn render_plan_doc(doc: &PlanDocument, color: bool) -> String {
    let mut out = format!(
        "# instance {}: live state read at {}\n",
        doc.instance,
        stamp(doc.checked_at)
    );
    if !doc.proposed.is_empty() {
        let _ = writeln!(
            out,
            "# proposed desired state (not loaded): {}",
            doc.proposed.join(", ")
        );
    }
    if let Some(drift) = &doc.drift {
        out.push_str(
            "## drift
",
        );
        out.push_str(&render_report(drift, color));
        out.push_str(
            "## plan
",
        );
    }
    out.push_str(&render_plan(&doc.plan, color));
    if doc.unresolved > 0 {
        let _ = writeln!(
            out,
            "{} drift item(s) are reported only (see `wardenctl drift --now {}`).",
            doc.unresolved, doc.instance
        );
    }
    out
}

/// The apply report for people: every step with its result, then what was and was not done.
pub fn render_apply(report: &ApplyReport, color: bool) -> String {
    let mut out = format!("# instance {}\n", report.instance);
    if report.steps.is_empty() {
        out.push_str("No changes: the live state matches the desired state.\n");
        return out;
    }
    for (n, result) in report.steps.iter().enumerate() {
        let single = Plan {
            steps: vec![result.step.clone()],
        };
        let line = render_plan(&single, color);
        let first = line.lines().next().unwrap_or_default();
        let first = first.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
        let status = match result.status {
            StepStatus::Done => "done",
            StepStatus::Failed => "FAILED",
            StepStatus::NotRun => "not run",
        };
        let seq = result
            .change_seq
            .map(|s| format!(" [change #{s}]"))
            .unwrap_or_default();
        let _ = writeln!(out, "{:>3}. {first}: {status}{seq}", n + 1);
        if let Some(e) = &result.error {
            let _ = writeln!(out, "       error: {e}");
        }
    }
    let done = report.done();
    let total = report.steps.len();
    if report.failed() {
        let _ = writeln!(
            out,
            "Apply stopped at the first failed step: {done} of {total} step(s) done, {} not run. \
             Fix the cause and run apply again: it plans from the live state and converges.",
            total - done - 1
        );
    } else {
        let _ = writeln!(out, "Apply complete: {done} of {total} step(s) done.");
    }
    out
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
