//! `wardenctl drift [INSTANCE...] [--now] [--refresh-catalogue]`: declared versus live API roles
//! and clients, as the last scheduled check found them or checked now; exit 1 on drift (or when
//! an instance was never checked), 2 when an instance could not be checked (like `audit`: the
//! report is printed first, the instances that failed are named on stderr).

use warden_core::drift::{DriftDocument, render_drift};
use warden_core::protocol::{DriftRequest, Response};

use crate::client::unexpected;
use crate::{Ctx, Exit};

/// Asks for the drift document and prints it.
pub async fn run(
    ctx: &Ctx,
    instances: Vec<String>,
    now: bool,
    refresh_catalogue: bool,
) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let request = DriftRequest {
        instances,
        now,
        refresh_catalogue,
    };
    let report = match client.call("drift", request).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    let doc: DriftDocument = report.body.decode().map_err(|e| {
        anyhow::anyhow!("the daemon sent a drift report this wardenctl cannot read: {e}")
    })?;
    if ctx.json() {
        let body: serde_json::Value = report
            .body
            .decode()
            .map_err(|e| anyhow::anyhow!("the daemon sent a report that is not json: {e}"))?;
        ctx.print_json(&body)?;
    } else {
        ctx.print(&render_drift(&doc, ctx.color()))?;
    }
    let errors: Vec<String> = doc
        .instances
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {e}", i.instance)))
        .collect();
    if !errors.is_empty() {
        anyhow::bail!(
            "{} instance(s) could not be checked:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(if report.findings > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
