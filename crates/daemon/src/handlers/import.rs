//! `wardenctl import INSTANCE`: the live roles and clients as a desired-state file, so an
//! existing estate is adopted without retyping. Read-only. Warden's own management role and
//! client and the alternates of alternating clients are left out, as are Jamf's app clients.

use std::sync::Arc;

use warden_core::drift;
use warden_core::protocol::{
    ErrorCode, ImportRequest, ReportFormat, ReportKind, ReportResponse, Response,
};

use crate::drift::fetch;
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, request: ImportRequest) -> Response {
    let config = shared.config();
    let Some(inst) = config.instance(&request.instance) else {
        return super::no_instance(&request.instance);
    };
    let checked = {
        let _slot = shared.check_slots.acquire().await;
        fetch(shared, inst, false).await
    };
    match checked {
        Ok(c) => {
            let file = drift::import(&c.live, &inst.name);
            Response::Report(ReportResponse {
                kind: ReportKind::Import,
                instance: Some(inst.name.clone()),
                format: ReportFormat::Text,
                findings: 0,
                body: file.into(),
            })
        }
        Err(e) => Response::error(
            ErrorCode::Unavailable,
            format!("cannot read the live state of {}: {e}", inst.name),
        ),
    }
}
