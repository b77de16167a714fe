//! `wardenctl audit [INSTANCE] [--format text|json|markdown]`: risky roles and clients; exit 1
//! on findings.

use warden_core::protocol::{AuditRequest, ReportFormat};

use crate::cli::FormatArg;
use crate::{Ctx, Exit, report};

/// Asks for the audit report and prints it.
pub async fn run(
    ctx: &Ctx,
    instance: Option<String>,
    format: Option<FormatArg>,
) -> anyhow::Result<Exit> {
    let format = format.map_or_else(|| default_format(ctx.json()), ReportFormat::from);
    let mut client = ctx.connect().await?;
    report::fetch_and_print(
        ctx,
        &mut client,
        "audit",
        AuditRequest { instance, format },
        true,
    )
    .await
}

/// Text for people, structured JSON for `--json`.
fn default_format(json: bool) -> ReportFormat {
    if json {
        ReportFormat::Json
    } else {
        ReportFormat::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_formats() {
        assert_eq!(default_format(true), ReportFormat::Json);
        assert_eq!(default_format(false), ReportFormat::Text);
    }
}
