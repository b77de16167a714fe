//! `wardenctl drift [INSTANCE...] [--now]`: the last drift report of each instance (kept by the
//! scheduled check), or a check now. Read-only: a check now changes nothing in Jamf, Vault or
//! the change log (only the scheduled check records drift).

use std::sync::Arc;

use warden_core::drift::DriftDocument;
use warden_core::protocol::{DriftRequest, ErrorCode, ReportKind, Response};

use crate::drift::check_many;
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, request: DriftRequest) -> Response {
    let config = shared.config();
    let unknown: Vec<&str> = request
        .instances
        .iter()
        .filter(|n| config.instance(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return super::no_instance(&unknown.join(", "));
    }
    let selected = super::select(&config, &request.instances);
    if request.refresh_catalogue && !request.now {
        return Response::error(
            ErrorCode::BadRequest,
            "--refresh-catalogue only applies to a check now: add --now",
        );
    }
    let reports = if request.now {
        check_many(shared, &config, selected, request.refresh_catalogue).await
    } else {
        selected
            .iter()
            .map(|&i| shared.last_drift(&config.instances[i].name))
            .collect()
    };
    let doc = DriftDocument::new(reports);
    let instance = (request.instances.len() == 1).then(|| request.instances[0].clone());
    super::report(ReportKind::Drift, instance, doc.findings(), &doc)
}
