//! `wardenctl apply INSTANCE [--yes] [--plan FILE]`: make an instance match its declared
//! state. Shows the plan first and asks on a terminal (typing the instance's name); without a
//! terminal it refuses unless `--yes`. With `--plan`, applies exactly the saved plan: the daemon
//! refuses, changing nothing, when the live or desired state changed since it was made. Prints each step's result; a failed step exits 2 after saying what
//! was and was not done.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use warden_core::drift::{ApplyReport, PlanDocument, render_apply, render_plan_doc};
use warden_core::protocol::{ApplyRequest, Response};

use crate::client::unexpected;
use crate::confirm::{can_confirm, confirm};
use crate::{Ctx, Exit};

/// Shows the plan, confirms, asks the daemon to apply and prints what it did.
pub async fn run(
    ctx: &Ctx,
    instance: String,
    yes: bool,
    saved: Option<PathBuf>,
) -> anyhow::Result<Exit> {
    can_confirm("apply the declared state to", &instance, yes)?;
    let saved = match &saved {
        Some(path) => Some(read_saved(path, &instance)?),
        None => None,
    };
    let mut client = ctx.connect().await?;
    if let Some(plan) = &saved {
        // exactly the saved plan: the daemon plans again and refuses when it differs. A daemon
        // that predates saved plans would ignore the fingerprints: its plans carry none.
        let (now, _) = super::plan::fetch(&mut client, instance.clone(), false).await?;
        if now.fingerprints.is_none() {
            anyhow::bail!(
                "this wardend cannot check a saved plan (it predates them); upgrade it, or \
                 review `wardenctl plan {instance}` and apply without --plan"
            );
        }
        if plan.plan.is_empty() {
            ctx.print(&render_plan_doc(plan, ctx.color()))?;
            return Ok(Exit::Ok);
        }
        if !ctx.json() {
            ctx.print(&render_plan_doc(plan, ctx.color()))?;
        }
        confirm("apply this saved plan to", &instance, yes)?;
    } else if !yes || !ctx.json() {
        let (plan, _) = super::plan::fetch(&mut client, instance.clone(), false).await?;
        if plan.plan.is_empty() {
            if ctx.json() {
                ctx.print_json(&empty(&instance, plan.checked_at))?;
            } else {
                ctx.print(&render_plan_doc(&plan, ctx.color()))?;
            }
            return Ok(Exit::Ok);
        }
        if !ctx.json() {
            ctx.print(&render_plan_doc(&plan, ctx.color()))?;
        }
        confirm("apply this plan to", &instance, yes)?;
    }
    // the daemon plans again from the live state it reads now and applies that
    let mut client = ctx.connect().await?;
    let request = ApplyRequest {
        instance,
        confirmed: true,
        plan: saved.and_then(|p| p.fingerprints),
    };
    let report = match client.call("apply", request).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    let parsed: ApplyReport = report.body.decode().map_err(|e| {
        anyhow::anyhow!("the daemon sent an apply report this wardenctl cannot read: {e}")
    })?;
    if ctx.json() {
        let body: serde_json::Value = report
            .body
            .decode()
            .map_err(|e| anyhow::anyhow!("the daemon sent a report that is not json: {e}"))?;
        ctx.print_json(&body)?;
    } else {
        ctx.print(&render_apply(&parsed, ctx.color()))?;
    }
    if parsed.failed() {
        anyhow::bail!(
            "apply of {} stopped at a failed step ({} of {} done); see above and `wardenctl log tail`",
            parsed.instance,
            parsed.done(),
            parsed.steps.len()
        );
    }
    Ok(Exit::Ok)
}

fn empty(instance: &str, at: chrono::DateTime<chrono::Utc>) -> ApplyReport {
    ApplyReport {
        schema: warden_core::drift::APPLY_SCHEMA.to_owned(),
        instance: instance.to_owned(),
        started_at: at,
        steps: Vec::new(),
    }
}

/// The saved plan at `path`, checked to be a plan of `instance` with fingerprints.
fn read_saved(path: &Path, instance: &str) -> anyhow::Result<PlanDocument> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the saved plan {}", path.display()))?;
    let plan: PlanDocument = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan saved by `wardenctl plan INSTANCE --out FILE`",
            path.display()
        )
    })?;
    if plan.instance != instance {
        anyhow::bail!(
            "{} is a plan of instance {}, not {instance}",
            path.display(),
            plan.instance
        );
    }
    if plan.fingerprints.is_none() {
        anyhow::bail!(
            "{} has no fingerprints (made by an older wardend); save a new plan with \
             `wardenctl plan {instance} --out FILE`",
            path.display()
        );
    }
    Ok(plan)
}
