//! `wardenctl plan INSTANCE [--refresh-catalogue]`: the changes `apply` would make, in the
//! manner of `terraform plan`; exit 1 when there are any.

use warden_core::drift::{PlanDocument, render_plan_doc};
use warden_core::protocol::{PlanRequest, Response};

use crate::client::{Client, unexpected};
use crate::{Ctx, Exit};

/// Asks for the plan and prints it.
pub async fn run(ctx: &Ctx, instance: String, refresh_catalogue: bool) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let (doc, raw) = fetch(&mut client, instance, refresh_catalogue).await?;
    if ctx.json() {
        ctx.print_json(&raw)?;
    } else {
        ctx.print(&render_plan_doc(&doc, ctx.color()))?;
    }
    Ok(if doc.plan.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

/// The plan of `instance`, parsed and as sent.
pub(crate) async fn fetch(
    client: &mut Client,
    instance: String,
    refresh_catalogue: bool,
) -> anyhow::Result<(PlanDocument, serde_json::Value)> {
    let request = PlanRequest {
        instance,
        refresh_catalogue,
    };
    let report = match client.call("plan", request).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    let doc = report
        .body
        .decode()
        .map_err(|e| anyhow::anyhow!("the daemon sent a plan this wardenctl cannot read: {e}"))?;
    let body = report
        .body
        .decode()
        .map_err(|e| anyhow::anyhow!("the daemon sent a report that is not json: {e}"))?;
    Ok((doc, body))
}
