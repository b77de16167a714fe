//! The audit report in each output format. JSON is the report itself (schema
//! `warden.audit/1`, `docs/schemas/warden.audit-1.schema.json`); the others are rendered from
//! it, so `wardenctl` can render a report the daemon sent in any format:
//!
//! - [`Format::Table`]: the terminal view (summary line, then a compact table per instance);
//! - [`Format::Markdown`]: ready to paste into a review ticket;
//! - [`Format::Html`]: one self-contained file (inline CSS and SVG charts, no scripts, no
//!   external assets) that prints readably;
//! - [`Format::Csv`]: one row per finding (RFC 4180);
//! - [`Format::Sarif`]: SARIF 2.1.0, one run per instance;
//! - [`Format::ReviewCsv`]: the access review, one CSV row per client with a blank reviewer
//!   decision;
//! - [`Format::GrcJson`]: the access review as JSON for GRC tools (`warden.access-review/1`,
//!   `docs/schemas/warden.access-review-1.schema.json`);
//! - [`Format::Oscal`]: an OSCAL 1.1.1 assessment-results document (JSON).

mod charts;
mod csv;
mod fleet;
mod html;
mod markdown;
mod markup;
mod oscal;
mod out;
mod review;
mod sarif;
mod table;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use self::out::Out;
use super::{AuditReport, Finding, InstanceAudit, Severity, SuppressionState, SuppressionStatus};

/// An output format of `wardenctl audit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// A terminal table (the default).
    #[default]
    Table,
    /// The report as JSON (`warden.audit/1`).
    Json,
    /// Markdown for a review ticket.
    Markdown,
    /// One self-contained HTML5 file.
    Html,
    /// One CSV row per finding.
    Csv,
    /// SARIF 2.1.0.
    Sarif,
    /// The access review: one CSV row per client.
    ReviewCsv,
    /// The access review as JSON for GRC tools (`warden.access-review/1`).
    GrcJson,
    /// OSCAL 1.1.1 assessment results (JSON).
    Oscal,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 9] = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Csv,
        Format::Sarif,
        Format::ReviewCsv,
        Format::GrcJson,
        Format::Oscal,
    ];

    /// `table`, `json`, `markdown`, `html`, `csv`, `sarif`, `review-csv`, `grc-json` or `oscal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::ReviewCsv => "review-csv",
            Format::GrcJson => "grc-json",
            Format::Oscal => "oscal",
        }
    }

    /// The usual file extension (without the leading dot; `review.csv` and `review.json` for
    /// the access review, so it does not take the finding CSV's or the report's name).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::ReviewCsv => "review.csv",
            Format::GrcJson => "review.json",
            Format::Oscal => "oscal.json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown report format {s:?}: use table, json, markdown, html, csv, sarif, review-csv, grc-json or oscal"
                )
            })
    }
}

/// Renders `report` as `format` into `w`, as it goes: no format builds the whole document in
/// memory first. `color` only affects [`Format::Table`] (ANSI colours for the severities; pass
/// `true` only when writing to a terminal). Returns the first error writing to `w`.
pub fn render_to(
    report: &AuditReport,
    format: Format,
    color: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut out = match format {
        Format::Markdown => Out::trimming(w),
        _ => Out::new(w),
    };
    match format {
        Format::Table => table::write(&mut out, report, color),
        Format::Json => pretty_to(&mut out, report),
        Format::Markdown => markdown::write(&mut out, report),
        Format::Html => html::write(&mut out, report),
        Format::Csv => csv::write(&mut out, report),
        Format::Sarif => sarif::write(&mut out, report),
        Format::ReviewCsv => review::write_csv(&mut out, report),
        Format::GrcJson => review::write_json(&mut out, report),
        Format::Oscal => oscal::write(&mut out, report),
    }
    out.finish()
}

/// Renders `report` as `format` into a string (for the terminal and tests; files and pipes
/// take [`render_to`]).
pub fn render(report: &AuditReport, format: Format, color: bool) -> String {
    let mut buf = Vec::new();
    // writing to a Vec cannot fail
    let _ = render_to(report, format, color, &mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `value` as pretty JSON with a final newline, written as it is encoded (an error object if
/// it cannot be encoded, which serde_json only does for non-string map keys: none of the
/// report's types has them).
fn pretty_to<T: serde::Serialize>(out: &mut Out<'_>, value: &T) {
    if let Err(e) = serde_json::to_writer_pretty(&mut *out, value) {
        if e.is_io() {
            // kept by `out`, returned by `finish`
            return;
        }
        out.push_str(
            &serde_json::json!({ "error": format!("cannot encode the report: {e}") }).to_string(),
        );
    }
    out.push('\n');
}

/// A timestamp as RFC 3339 in UTC to the second (`2026-11-20T09:30:00Z`).
fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `Critical`, `High`, `Medium` or `Low`.
fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// The instance's unsuppressed findings grouped by severity, most severe first; empty groups
/// are left out.
fn by_severity(inst: &InstanceAudit) -> Vec<(Severity, Vec<&Finding>)> {
    Severity::ALL
        .into_iter()
        .rev()
        .map(|sev| {
            let list: Vec<&Finding> = inst
                .findings
                .iter()
                .filter(|f| f.severity == sev && f.suppressed_by.is_none())
                .collect();
            (sev, list)
        })
        .filter(|(_, list)| !list.is_empty())
        .collect()
}

/// The instance's suppressed findings.
fn suppressed(inst: &InstanceAudit) -> Vec<&Finding> {
    inst.findings
        .iter()
        .filter(|f| f.suppressed_by.is_some())
        .collect()
}

/// The suppression covering `finding`, if any.
fn suppression_of<'a>(report: &'a AuditReport, finding: &Finding) -> Option<&'a SuppressionStatus> {
    finding
        .suppressed_by
        .and_then(|i| report.suppressions.get(i))
}

/// `built-in`, `active` or `expired`.
fn suppression_state(s: &SuppressionStatus) -> &'static str {
    match (s.builtin, s.state) {
        (_, SuppressionState::Expired) => "expired",
        (true, SuppressionState::Active) => "built-in",
        (false, SuppressionState::Active) => "active",
    }
}

/// `role NAME`, `client NAME`, ...
fn subject_label(finding: &Finding) -> String {
    format!("{} {}", finding.subject.kind.as_str(), finding.subject.name)
}

/// A fact's value for people: strings without quotes, everything else as JSON.
fn fact_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

/// `key: value` for each fact of a finding.
fn facts(finding: &Finding) -> Vec<String> {
    finding
        .evidence
        .facts
        .iter()
        .map(|(k, v)| format!("{}: {}", k.replace('_', " "), fact_value(v)))
        .collect()
}

/// The report's settings (thresholds) as `key = value` pairs, in the report's order.
fn settings(report: &AuditReport) -> Vec<String> {
    match &report.settings {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k} = {}", fact_value(v)))
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// How many of a client's privileges the catalogue classifies as risky.
fn risky_count(client: &super::ClientPrivileges) -> usize {
    client.by_category.values().map(Vec::len).sum()
}

/// `s` cut to at most `width` characters, ending with `…` when cut.
fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let cut: String = s.chars().take(width - 1).collect();
    let mut out = cut.trim_end().to_owned();
    out.push('…');
    out
}

/// A rule's control references in one short line, framework by framework:
/// `SOC2 CC6.1, CC6.3 · ISO 5.15 · NIST AC-6(5) · CIS 5.4` (empty when the rule has none).
fn controls_line(report: &AuditReport, rule: &str) -> String {
    use super::controls::Framework;
    let refs = report.controls_of(rule);
    Framework::ALL
        .into_iter()
        .filter_map(|fw| {
            let ids: Vec<&str> = refs
                .iter()
                .filter(|r| r.framework == fw)
                .map(|r| r.control.as_str())
                .collect();
            let label = match fw {
                Framework::Soc2 => "SOC2",
                Framework::Iso27001 => "ISO",
                Framework::Nist80053 => "NIST",
                Framework::Cis8 => "CIS",
            };
            (!ids.is_empty()).then(|| format!("{label} {}", ids.join(", ")))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
