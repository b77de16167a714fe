//! `wardenctl plan INSTANCE`: the changes `apply` would make, from the live state read now.
//! Read-only. An invalid desired state (unknown privileges) is refused with suggestions.

use warden_core::config::Config;
use warden_core::drift::{self, PLAN_SCHEMA, PlanDocument};
use warden_core::protocol::{PlanRequest, ReportKind, Response};

use crate::runtime::lifecycle::Lifecycle;
use crate::services::ServiceError;
use crate::services::drift::Drift;

pub async fn handle(
    config: &Config,
    drift: &Drift,
    lifecycle: &Lifecycle,
    request: PlanRequest,
) -> Response {
    let Some(inst) = config.instance(&request.instance) else {
        return super::no_instance(&request.instance);
    };
    let checked = match drift
        .fetch_for_request(inst, request.refresh_catalogue)
        .await
    {
        Ok(c) => c,
        Err(e) => return super::cannot_check(&inst.name, &e),
    };
    if let Err(e) = Drift::validate(inst, &checked) {
        return e.response();
    }
    let plan = Drift::plan(inst, &checked);
    let report = Drift::detect(inst, &checked);
    let unresolved = report
        .items
        .iter()
        .filter(|i| !i.managed || i.kind == drift::DriftKind::NeverRotated)
        .count();
    let doc = PlanDocument {
        schema: PLAN_SCHEMA.to_owned(),
        instance: inst.name.clone(),
        checked_at: lifecycle.now(),
        plan,
        unresolved,
    };
    let findings = doc.plan.steps.len() as u64;
    super::report(ReportKind::Plan, Some(inst.name.clone()), findings, &doc)
}
