//! `wardenctl secrets [INSTANCE]`: where each API client's secret lives in Vault and when it was
//! last rotated (never the secret itself). `--json`: the `warden.secrets/1` document. Exit 1
//! when a secret has a problem (unreadable, a failed last attempt, an interrupted rotation).

use warden_core::protocol::{Response, SecretsRequest};
use warden_core::rotation::{SecretsDocument, render_secrets};

use crate::client::unexpected;
use crate::{Ctx, Exit, report};

/// Asks for the secrets document and prints it.
pub async fn run(ctx: &Ctx, instance: Option<String>) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let report = match client.call("secrets", SecretsRequest { instance }).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    if report.body.text().is_some() {
        // a wardend from before the document: its rendered table as is
        if ctx.json() {
            ctx.print_json(&report)?;
        } else {
            ctx.print(&report::render(&report))?;
        }
        return Ok(Exit::Ok);
    }
    let doc: SecretsDocument = report.body.decode().map_err(|e| {
        anyhow::anyhow!("the daemon sent a secrets report this wardenctl cannot read: {e}")
    })?;
    if ctx.json() {
        ctx.print_json(&doc)?;
    } else {
        ctx.print(&render_secrets(&doc))?;
    }
    Ok(if doc.problems > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
