//! `wardenctl apply INSTANCE --yes`: run the plan (see `crate::apply`). The apply runs as a
//! tracked task, so a stopping daemon waits for the step in progress.

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{ApplyRequest, ErrorCode, ReportKind, Response};

use crate::apply::apply;
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, actor: Actor, request: ApplyRequest) -> Response {
    if !request.confirmed {
        return Response::error(
            ErrorCode::ConfirmationRequired,
            "apply changes roles and clients in Jamf Pro and may rotate secrets; review \
             `wardenctl plan` and confirm with --yes",
        );
    }
    let config = shared.config();
    let Some(inst) = config.instance(&request.instance).cloned() else {
        return super::no_instance(&request.instance);
    };
    if shared.shutdown.is_cancelled() {
        return Response::error(
            ErrorCode::Unavailable,
            "wardend is stopping; retry after it restarts",
        );
    }
    let shared2 = Arc::clone(shared);
    let task = shared
        .jobs_tracker
        .spawn(async move { apply(&shared2, &inst, actor).await });
    match task.await {
        Ok(Ok(report)) => {
            let findings = (report.steps.len() - report.done()) as u64;
            super::report(ReportKind::Apply, Some(request.instance), findings, &report)
        }
        Ok(Err(failure)) => Response::error(failure.code, failure.message),
        Err(e) => Response::error(ErrorCode::Internal, format!("the apply task failed: {e}")),
    }
}
