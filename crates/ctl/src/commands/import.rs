//! `wardenctl import INSTANCE [--output FILE [--force]]`: the live roles and clients as a
//! desired-state file (stdout, or a new file created with mode 0644).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use warden_core::protocol::{ImportRequest, Response};

use crate::client::unexpected;
use crate::{Ctx, Exit};

/// The `--json` document (`warden.import/1`): the instance, the desired state as JSON (the
/// file's TOML tables), and the file's text.
fn document(instance: &Option<String>, text: &str) -> anyhow::Result<serde_json::Value> {
    let desired: toml::Table = toml::from_str(text)
        .context("the daemon sent an import that is not a desired-state file")?;
    Ok(serde_json::json!({
        "schema": "warden.import/1",
        "instance": instance,
        "desired": desired,
        "toml": text,
    }))
}

/// Asks for the imported file and writes it.
pub async fn run(
    ctx: &Ctx,
    instance: String,
    output: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let report = match client.call("import", ImportRequest { instance }).await? {
        Response::Report(report) => report,
        other => return Err(unexpected("report", &other)),
    };
    let Some(text) = report.body.text() else {
        anyhow::bail!("the daemon sent an import that is not a file's text");
    };
    match output {
        None if ctx.json() => ctx.print_json(&document(&report.instance, &text)?)?,
        None => ctx.print(&text)?,
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if force {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let mut file = options.open(&path).with_context(|| {
                if path.exists() && !force {
                    format!("{} exists; pass --force to overwrite it", path.display())
                } else {
                    format!("cannot create {}", path.display())
                }
            })?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            if !ctx.global.quiet {
                eprintln!(
                    "wardenctl: wrote {}; fill in each client's owner and purpose, then add it to the instance's `desired` files",
                    path.display()
                );
            }
        }
    }
    Ok(Exit::Ok)
}
