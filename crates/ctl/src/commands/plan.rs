//! `wardenctl plan [INSTANCE...] [--desired PATH] [--out FILE] [--refresh-catalogue]`: the
//! changes `apply` would make, in the manner of `terraform plan`; exit 1 when there are any, 2
//! when an instance could not be planned.
//!
//! One instance prints its plan; none or several print each instance's plan and a fleet
//! summary line. `--desired` reads a proposed file (or every `*.toml` of a directory) here and
//! sends it, so the daemon, which runs as its own user, never opens a path an operator names;
//! it plans it in place of the loaded files of the same name without loading it. `--out` saves
//! the plan of one instance, with the fingerprints `apply --plan` checks.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use warden_core::drift::{
    FLEET_PLAN_SCHEMA, FleetPlanDocument, PlanDocument, render_fleet_plan, render_plan_doc,
};
use warden_core::protocol::{MAX_PROPOSED_BYTES, PlanRequest, ProposedFile, Response};

use crate::client::{Client, unexpected};
use crate::{Ctx, Exit};

/// Most `*.toml` files `--desired DIR` sends.
pub const MAX_PROPOSED_FILES: usize = 256;

/// Asks for the plan (one instance, several or the fleet) and prints it.
pub async fn run(
    ctx: &Ctx,
    instances: Vec<String>,
    refresh_catalogue: bool,
    desired: Option<PathBuf>,
    out: Option<PathBuf>,
) -> anyhow::Result<Exit> {
    if out.is_some() && instances.len() != 1 {
        anyhow::bail!("--out saves the plan of one instance: name exactly one");
    }
    if let Some(path) = out.as_deref().filter(|p| p.exists()) {
        anyhow::bail!(
            "{} exists; choose another file or remove it",
            path.display()
        );
    }
    let desired = match &desired {
        Some(path) => read_proposed(path)?,
        None => Vec::new(),
    };
    let mut request = PlanRequest {
        refresh_catalogue,
        desired,
        ..PlanRequest::default()
    };
    match <[String; 1]>::try_from(instances) {
        Ok([one]) => request.instance = one,
        Err(many) => request.instances = many,
    }
    let single = !request.instance.is_empty();
    let proposing = !request.desired.is_empty();
    let mut client = ctx.connect().await?;
    let raw = ask(&mut client, request).await?;
    if single {
        let doc: PlanDocument = decode(&raw, "plan")?;
        if proposing && doc.proposed.is_empty() {
            anyhow::bail!(unsupported_desired());
        }
        if let Some(path) = &out {
            save(path, &raw)?;
            if !ctx.global.quiet {
                eprintln!(
                    "wardenctl: saved the plan to {}; apply exactly it with `wardenctl apply {} --plan {}`",
                    path.display(),
                    doc.instance,
                    path.display()
                );
            }
        }
        if ctx.json() {
            ctx.print_json(&raw)?;
        } else {
            ctx.print(&render_plan_doc(&doc, ctx.color()))?;
        }
        return Ok(if doc.plan.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        });
    }
    let doc: FleetPlanDocument = decode(&raw, "fleet plan")?;
    if proposing
        && doc
            .instances
            .iter()
            .filter_map(|e| e.plan.as_ref())
            .any(|p| p.proposed.is_empty())
    {
        anyhow::bail!(unsupported_desired());
    }
    if ctx.json() {
        ctx.print_json(&raw)?;
    } else {
        ctx.print(&render_fleet_plan(&doc, ctx.color()))?;
    }
    if doc.summary.failed > 0 {
        let failed: Vec<&str> = doc
            .instances
            .iter()
            .filter(|e| e.error.is_some())
            .map(|e| e.instance.as_str())
            .collect();
        anyhow::bail!(
            "{} instance(s) could not be planned: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(if doc.summary.with_changes > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// A daemon that predates `--desired` ignores the files and plans the loaded state: never show
/// that as the proposal's plan.
fn unsupported_desired() -> &'static str {
    "this wardend cannot plan proposed files (it predates --desired) and planned the loaded \
     desired state instead; upgrade it"
}

/// The plan of one instance, parsed and as sent (the loaded desired state).
pub(crate) async fn fetch(
    client: &mut Client,
    instance: String,
    refresh_catalogue: bool,
) -> anyhow::Result<(PlanDocument, serde_json::Value)> {
    let request = PlanRequest {
        instance,
        refresh_catalogue,
        ..PlanRequest::default()
    };
    let raw = ask(client, request).await?;
    Ok((decode(&raw, "plan")?, raw))
}

async fn ask(client: &mut Client, request: PlanRequest) -> anyhow::Result<serde_json::Value> {
    let report = match client.call("plan", request).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    report
        .body
        .decode()
        .map_err(|e| anyhow::anyhow!("the daemon sent a report that is not json: {e}"))
}

fn decode<T: serde::de::DeserializeOwned>(
    raw: &serde_json::Value,
    what: &str,
) -> anyhow::Result<T> {
    if what == "plan" && raw["schema"] == FLEET_PLAN_SCHEMA {
        anyhow::bail!("the daemon sent a fleet plan where one instance's plan was asked for");
    }
    serde_json::from_value(raw.clone())
        .map_err(|e| anyhow::anyhow!("the daemon sent a {what} this wardenctl cannot read: {e}"))
}

/// The proposed file, or every `*.toml` of the directory (sorted), at most
/// [`MAX_PROPOSED_BYTES`] and [`MAX_PROPOSED_FILES`] in all.
pub fn read_proposed(path: &Path) -> anyhow::Result<Vec<ProposedFile>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let paths: Vec<PathBuf> = if meta.is_dir() {
        let mut list: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        list.sort();
        if list.is_empty() {
            anyhow::bail!("{} holds no *.toml file to plan", path.display());
        }
        list
    } else {
        vec![path.to_path_buf()]
    };
    if paths.len() > MAX_PROPOSED_FILES {
        anyhow::bail!(
            "{} holds {} *.toml files, more than the {MAX_PROPOSED_FILES} one plan sends; name \
             the files to review",
            path.display(),
            paths.len()
        );
    }
    let mut total = 0usize;
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p)
            .with_context(|| format!("cannot read {} as UTF-8 text", p.display()))?;
        total += text.len();
        if total > MAX_PROPOSED_BYTES {
            anyhow::bail!(
                "the proposed files are over {} KiB in all, more than one plan request carries; \
                 plan fewer files at a time",
                MAX_PROPOSED_BYTES / 1024
            );
        }
        out.push(ProposedFile {
            name: p.display().to_string(),
            text,
        });
    }
    Ok(out)
}

/// Writes the plan document to a new file (0644; never over an existing one).
fn save(path: &Path, raw: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(raw).context("cannot encode the plan")?;
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            if path.exists() {
                format!(
                    "{} exists; choose another file or remove it",
                    path.display()
                )
            } else {
                format!("cannot create {}", path.display())
            }
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
