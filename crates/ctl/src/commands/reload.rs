//! `wardenctl reload`: make the daemon re-read its configuration. Admins only: the daemon
//! answers `permission_denied` to other callers, and the error names who may run it.

use warden_core::protocol::{Request, Response};

use crate::client::unexpected;
use crate::{Ctx, Exit};

/// Asks the daemon to reload and prints what changed.
pub async fn run(ctx: &Ctx) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let summary = match client.call("reload", Request::Reload).await? {
        Response::Reloaded { summary } => summary,
        other => return Err(unexpected("reload", &other)),
    };
    if ctx.json() {
        ctx.print_json(&serde_json::json!({ "summary": summary }))?;
    } else {
        ctx.print(&render(&summary))?;
    }
    Ok(Exit::Ok)
}

/// The text output of `reload` for the daemon's summary (one line per change).
pub fn render(summary: &str) -> String {
    let changes: Vec<&str> = summary.lines().filter(|l| !l.trim().is_empty()).collect();
    if changes.is_empty() {
        return "configuration reloaded: no changes\n".to_owned();
    }
    let mut out = "configuration reloaded:\n".to_owned();
    for change in changes {
        out.push_str("  ");
        out.push_str(change.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_summary() {
        assert_eq!(render(""), "configuration reloaded: no changes\n");
        assert_eq!(
            render("instance lab added\nschedule of prod changed\n"),
            "configuration reloaded:\n  instance lab added\n  schedule of prod changed\n"
        );
    }
}
