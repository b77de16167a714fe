//! Generic output of [`Response::Report`](warden_core::protocol::Response) answers (`secrets`,
//! `drift`, `plan`, `apply`, `audit`) until each gets its own rendering.

use warden_core::protocol::{ReportKind, ReportResponse};

use crate::output::count;

/// A text body as is; a structured body under a one-line heading, as indented JSON.
pub fn render(report: &ReportResponse) -> String {
    if let Some(text) = report.body.text() {
        let mut out = text;
        if !out.ends_with('\n') {
            out.push('\n');
        }
        return out;
    }
    let kind = match report.kind {
        ReportKind::Secrets => "secrets",
        ReportKind::Drift => "drift",
        ReportKind::Plan => "plan",
        ReportKind::Apply => "apply",
        ReportKind::Import => "import",
        ReportKind::Audit => "audit",
        ReportKind::Other => "report",
    };
    let scope = report.instance.as_deref().unwrap_or("all instances");
    let body = report
        .body
        .decode::<serde_json::Value>()
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| report.body.json().to_owned());
    format!(
        "{kind} of {scope}: {}\n{body}\n",
        count(report.findings, "finding")
    )
}

#[cfg(test)]
mod tests {
    use warden_core::protocol::ReportFormat;

    use super::*;

    #[test]
    fn text_and_json_bodies() {
        let text = ReportResponse {
            kind: ReportKind::Audit,
            instance: None,
            format: ReportFormat::Text,
            findings: 2,
            body: "2 findings\n- a\n- b".into(),
        };
        assert_eq!(render(&text), "2 findings\n- a\n- b\n");
        let json = ReportResponse {
            kind: ReportKind::Drift,
            instance: Some("prod".into()),
            format: ReportFormat::Json,
            findings: 1,
            body: warden_core::protocol::ReportBody::encode(&serde_json::json!({"roles": ["x"]}))
                .unwrap(),
        };
        assert_eq!(
            render(&json),
            "drift of prod: 1 finding\n{\n  \"roles\": [\n    \"x\"\n  ]\n}\n"
        );
    }
}
