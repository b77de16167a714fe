//! `wardenctl apply INSTANCE --yes`: run the plan (see [`Apply`]). The apply runs as a
//! tracked task, so a stopping daemon waits for the step in progress.

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::config::Config;
use warden_core::protocol::{ApplyRequest, ErrorCode, ReportKind, Response};

use crate::runtime::lifecycle::Lifecycle;
use crate::services::ServiceError;
use crate::services::apply::Apply;

pub async fn handle(
    config: &Config,
    apply: &Arc<Apply>,
    lifecycle: &Lifecycle,
    actor: Actor,
    request: ApplyRequest,
) -> Response {
    if !request.confirmed {
        return Response::error(
            ErrorCode::ConfirmationRequired,
            "apply changes roles and clients in Jamf Pro and may rotate secrets; review \
             `wardenctl plan` and confirm with --yes",
        );
    }
    let Some(inst) = config.instance(&request.instance).cloned() else {
        return super::no_instance(&request.instance);
    };
    let apply = Arc::clone(apply);
    let saved = request.plan;
    let work = async move { apply.apply(&inst, actor, saved.as_ref()).await };
    match super::tracked(lifecycle, work).await {
        Ok(Ok(report)) => {
            let findings = (report.steps.len() - report.done()) as u64;
            super::report(ReportKind::Apply, Some(request.instance), findings, &report)
        }
        Ok(Err(e)) => e.response(),
        Err(response) => response,
    }
}
