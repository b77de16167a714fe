//! The scheduled drift check of one instance: check, keep the report, record drift that
//! appeared, changed or was resolved, and with `remediation = "auto"` apply the plan (deletions
//! only with `prune = true`, as the plan itself), then check again so the kept report and the
//! change log show the result.

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::config::Remediation;
use warden_core::drift::CheckSource;

use crate::apply::apply;
use crate::drift::{check, record_transition, scheduled_check};
use crate::shared::Shared;

/// Runs the drift job; `Ok` carries a one-line summary.
pub async fn run(shared: &Arc<Shared>, instance: &str) -> Result<String, String> {
    let config = shared.config();
    let inst = config
        .instance(instance)
        .ok_or_else(|| format!("instance {instance} is no longer configured"))?;
    let job = format!("drift:{instance}");
    let report = scheduled_check(shared, inst).await?;
    if let Some(e) = &report.error {
        return Err(e.clone());
    }
    let summary = |r: &warden_core::drift::InstanceDrift| {
        if r.invalid.is_empty() {
            format!("{} drift item(s)", r.report.items.len())
        } else {
            format!(
                "{} drift item(s); the desired state is invalid ({} problem(s))",
                r.report.items.len(),
                r.invalid.len()
            )
        }
    };
    let managed = report.report.items.iter().any(|i| i.managed);
    if inst.remediation != Remediation::Auto || !managed {
        return Ok(format!("drift: {}", summary(&report)));
    }
    if !report.invalid.is_empty() {
        return Err(format!(
            "drift: {}; automatic remediation skipped until it is fixed",
            summary(&report)
        ));
    }
    let actor = Actor::Schedule { job: job.clone() };
    let applied = apply(shared, inst, actor).await.map_err(|e| {
        format!(
            "drift: {}; automatic apply could not start: {e}",
            summary(&report)
        )
    })?;
    let after = {
        let _slot = shared.check_slots.acquire().await;
        check(shared, inst, CheckSource::Scheduled, false).await
    };
    record_transition(shared, &after, &job).await?;
    if applied.failed() {
        let failed = applied
            .steps
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        return Err(format!(
            "drift: automatic apply stopped after {} of {} step(s): {failed}",
            applied.done(),
            applied.steps.len()
        ));
    }
    Ok(format!(
        "drift: automatic apply did {} step(s); now {}",
        applied.done(),
        summary(&after)
    ))
}
