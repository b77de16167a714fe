//! `wardenctl plan INSTANCE`: the changes `apply` would make, from the live state read now.
//! Read-only. An invalid desired state (unknown privileges) is refused with suggestions.

use std::sync::Arc;

use warden_core::drift::{self, PLAN_SCHEMA, PlanDocument};
use warden_core::protocol::{ErrorCode, PlanRequest, ReportKind, Response};

use crate::drift::fetch;
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, request: PlanRequest) -> Response {
    let config = shared.config();
    let Some(inst) = config.instance(&request.instance) else {
        return super::no_instance(&request.instance);
    };
    let checked = {
        let _slot = shared.check_slots.acquire().await;
        fetch(shared, inst, request.refresh_catalogue).await
    };
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            return Response::error(
                ErrorCode::Unavailable,
                format!("cannot check {}: {e}", inst.name),
            );
        }
    };
    if let Err(errors) = drift::validate(&inst.desired_state, &checked.live.privileges) {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Response::error(
            ErrorCode::BadRequest,
            format!(
                "the desired state of {} is invalid; fix it first:\n{}",
                inst.name,
                list.join("\n")
            ),
        );
    }
    let plan = drift::plan(&inst.desired_state, &checked.live, inst.prune);
    let report = drift::detect(
        &inst.desired_state,
        &checked.live,
        &|name: &str| checked.rotated.contains_key(name),
        inst.prune,
    );
    let unresolved = report
        .items
        .iter()
        .filter(|i| !i.managed || i.kind == drift::DriftKind::NeverRotated)
        .count();
    let doc = PlanDocument {
        schema: PLAN_SCHEMA.to_owned(),
        instance: inst.name.clone(),
        checked_at: shared.now(),
        plan,
        unresolved,
    };
    let findings = doc.plan.steps.len() as u64;
    super::report(ReportKind::Plan, Some(inst.name.clone()), findings, &doc)
}
