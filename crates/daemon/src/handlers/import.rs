//! `wardenctl import INSTANCE`: the live roles and clients as a desired-state file, so an
//! existing estate is adopted without retyping. Read-only. Warden's own management role and
//! client and the alternates of alternating clients are left out, as are Jamf's app clients.

use warden_core::config::Config;
use warden_core::drift;
use warden_core::protocol::{ImportRequest, ReportFormat, ReportKind, ReportResponse, Response};

use crate::services::drift::Drift;

pub async fn handle(config: &Config, drift: &Drift, request: ImportRequest) -> Response {
    let Some(inst) = config.instance(&request.instance) else {
        return super::no_instance(&request.instance);
    };
    match drift.fetch_for_request(inst, false).await {
        Ok(c) => Response::Report(ReportResponse {
            kind: ReportKind::Import,
            instance: Some(inst.name.clone()),
            format: ReportFormat::Text,
            findings: 0,
            body: drift::import(&c.live, &inst.name).into(),
        }),
        Err(e) => super::cannot_check(&inst.name, &e),
    }
}
