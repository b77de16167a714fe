//! The scheduled drift check of one instance: check, keep the report, record drift that
//! appeared, changed or was resolved, and with `remediation = "auto"` apply the plan (deletions
//! only with `prune = true`, as the plan itself), then check again so the kept report and the
//! change log show the result.
//!
//! The automatic apply applies only a desired state a person already applied with `wardenctl
//! apply` (its fingerprint is kept in the drift state): after a reload that changes the desired
//! state, the check reports the drift and says it waits for one `wardenctl apply`.

use warden_core::changelog::Actor;
use warden_core::config::{Instance, Remediation};
use warden_core::drift::{CheckSource, InstanceDrift};

use super::JobError;
use crate::services::apply::Apply;
use crate::services::drift::{Drift, awaiting_review};

/// Runs the drift job; `Ok` carries a one-line summary.
pub async fn run(drift: &Drift, apply: &Apply, inst: &Instance) -> Result<String, JobError> {
    let job = format!("drift:{}", inst.name);
    let report = drift.scheduled_check(inst).await?;
    if let Some(e) = &report.error {
        return Err(JobError::Check(e.clone()));
    }
    let managed = report.report.items.iter().any(|i| i.managed);
    if inst.remediation != Remediation::Auto || !managed {
        return Ok(format!("drift: {}", summary(&report)));
    }
    if !report.invalid.is_empty() {
        return Err(JobError::RemediationSkipped {
            summary: summary(&report),
        });
    }
    if drift.awaits_review(inst) {
        // a reload (or restart) never applies a desired state by itself: a person applies it
        // once, then the automatic apply keeps Jamf at it
        return Ok(format!(
            "drift: {}; {}",
            summary(&report),
            awaiting_review(&inst.name)
        ));
    }
    let actor = Actor::Schedule { job: job.clone() };
    let applied = apply
        .apply(inst, actor, None)
        .await
        .map_err(|source| JobError::AutoApply {
            summary: summary(&report),
            source,
        })?;
    let after = {
        let _slot = drift.slot().await;
        drift.check(inst, CheckSource::Scheduled, false).await
    };
    drift.record_transition(&after, &job).await?;
    if applied.failed() {
        let failed = applied
            .steps
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        return Err(JobError::AutoApplyStopped {
            done: applied.done(),
            total: applied.steps.len(),
            failed,
        });
    }
    Ok(format!(
        "drift: automatic apply did {} step(s); now {}",
        applied.done(),
        summary(&after)
    ))
}

fn summary(r: &InstanceDrift) -> String {
    if r.invalid.is_empty() {
        format!("{} drift item(s)", r.report.items.len())
    } else {
        format!(
            "{} drift item(s); the desired state is invalid ({} problem(s))",
            r.report.items.len(),
            r.invalid.len()
        )
    }
}
