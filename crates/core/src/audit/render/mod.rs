//! The audit report in each output format. JSON is the report itself (schema
//! `warden.audit/1`); the others are rendered from it.

use super::AuditReport;

/// An output format of `wardenctl audit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The report as JSON (`warden.audit/1`).
    Json,
}

/// Renders `report` as `format`.
pub fn render(report: &AuditReport, format: Format) -> String {
    match format {
        Format::Json => json(report),
    }
}

/// Pretty JSON with a final newline.
fn json(report: &AuditReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot encode the report: {e}") }).to_string()
    });
    s.push('\n');
    s
}
