//! `wardenctl drift [INSTANCE...] [--now]`: the last drift report of each instance (kept by the
//! scheduled check), or a check now. Read-only: a check now changes nothing in Jamf, Vault or
//! the change log (only the scheduled check records drift).

use std::sync::Arc;

use warden_core::config::Config;
use warden_core::drift::DriftDocument;
use warden_core::protocol::{DriftRequest, ErrorCode, ReportKind, Response};

use crate::services::drift::Drift;

pub async fn handle(config: &Arc<Config>, drift: &Arc<Drift>, request: DriftRequest) -> Response {
    let unknown: Vec<&str> = request
        .instances
        .iter()
        .filter(|n| config.instance(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return super::no_instance(&unknown.join(", "));
    }
    let selected = super::select(config, &request.instances);
    if request.refresh_catalogue && !request.now {
        return Response::error(
            ErrorCode::BadRequest,
            "--refresh-catalogue only applies to a check now: add --now",
        );
    }
    let reports = if request.now {
        drift
            .check_many(config, selected, request.refresh_catalogue)
            .await
    } else {
        selected
            .iter()
            .map(|&i| drift.last(&config.instances[i].name))
            .collect()
    };
    let doc = DriftDocument::new(reports);
    let instance = (request.instances.len() == 1).then(|| request.instances[0].clone());
    super::report(ReportKind::Drift, instance, doc.findings(), &doc)
}
