//! The audit report grouped by the controls of one compliance framework
//! (`wardenctl audit --framework`): for each control the rules that evidence it, its result per
//! instance with the findings behind a failure, and the evidence (when the report was generated
//! and each instance's data gathered, the rule pack, the risk catalogue and each instance's
//! privilege-catalogue hash). A control with no unsuppressed finding passes.

use std::fmt;
use std::io;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::controls::{ControlMapping, Framework};
use super::{AuditReport, Severity};

/// Schema id of [`ComplianceReport`].
pub const COMPLIANCE_SCHEMA: &str = "warden.compliance/1";

/// A control's (or a control's per-instance) result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No unsuppressed finding of the control's rules.
    Pass,
    /// At least one unsuppressed finding.
    Fail,
    /// The instance could not be audited: no evidence either way.
    NotAssessed,
}

impl Status {
    /// `pass`, `fail` or `not assessed`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotAssessed => "not assessed",
        }
    }
}

/// A finding behind a control's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFinding {
    /// The finding's stable key (`RULE/instance/kind:name`).
    pub key: String,
    /// Its rule.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// Its rule's title.
    pub title: String,
    /// `kind:name` of what it is about.
    pub subject: String,
    /// Covered by an active suppression (accepted risk): listed, but does not fail the control.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

/// A control's result on one instance, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceResult {
    /// The instance.
    pub instance: String,
    /// Pass, fail or not assessed.
    pub status: Status,
    /// When its live state was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gathered_at: Option<DateTime<Utc>>,
    /// SHA-256 of the privilege catalogue the audit measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue_sha256: Option<String>,
    /// Why it could not be audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The findings of the control's rules (suppressed ones marked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<ControlFinding>,
}

/// One control's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    /// Its id in the framework.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Fail when any instance fails; not assessed when no instance could be audited.
    pub status: Status,
    /// The rules whose findings evidence it.
    pub rules: Vec<String>,
    /// Per instance.
    pub instances: Vec<InstanceResult>,
}

/// The report grouped by the controls of one framework: schema `warden.compliance/1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceReport {
    /// [`COMPLIANCE_SCHEMA`].
    pub schema: String,
    /// The framework.
    pub framework: Framework,
    /// Its full name.
    pub framework_name: String,
    /// Where its control text is published.
    pub framework_source: String,
    /// Version of the control mapping.
    pub control_mapping: String,
    /// When the audit report was generated.
    pub generated_at: DateTime<Utc>,
    /// Warden's version.
    pub warden_version: String,
    /// Version of the rule pack.
    pub rule_pack: String,
    /// Version of the risk catalogue.
    pub risk_catalogue: String,
    /// Controls passing.
    pub passing: usize,
    /// Controls failing.
    pub failing: usize,
    /// The controls, in the framework's order.
    pub controls: Vec<ControlResult>,
}

/// Groups `report` by the controls of `framework` (with Warden's shipped mapping).
pub fn by_control(report: &AuditReport, framework: Framework) -> ComplianceReport {
    let mapping = ControlMapping::builtin();
    let info = mapping.framework(framework);
    let controls: Vec<ControlResult> = mapping
        .rules_by_control(framework)
        .into_iter()
        .map(|(control, rules)| {
            let instances: Vec<InstanceResult> = report
                .instances
                .iter()
                .map(|inst| {
                    let findings: Vec<ControlFinding> = inst
                        .findings
                        .iter()
                        .filter(|f| rules.contains(&f.rule.as_str()))
                        .map(|f| ControlFinding {
                            key: f.key(),
                            rule: f.rule.clone(),
                            severity: f.severity,
                            title: f.title.clone(),
                            subject: f.subject.key(),
                            suppressed: f.suppressed_by.is_some(),
                        })
                        .collect();
                    let status = if inst.error.is_some() {
                        Status::NotAssessed
                    } else if findings.iter().any(|f| !f.suppressed) {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    InstanceResult {
                        instance: inst.instance.clone(),
                        status,
                        gathered_at: inst.checked_at,
                        catalogue_sha256: inst.catalogue.as_ref().map(|c| c.sha256.clone()),
                        error: inst.error.clone(),
                        findings,
                    }
                })
                .collect();
            let status = if instances.iter().any(|i| i.status == Status::Fail) {
                Status::Fail
            } else if instances.iter().any(|i| i.status == Status::Pass) {
                Status::Pass
            } else {
                Status::NotAssessed
            };
            ControlResult {
                id: control.id.clone(),
                title: control.title.clone(),
                status,
                rules: rules.into_iter().map(str::to_owned).collect(),
                instances,
            }
        })
        .collect();
    ComplianceReport {
        schema: COMPLIANCE_SCHEMA.to_owned(),
        framework,
        framework_name: info.map(|f| f.name.clone()).unwrap_or_default(),
        framework_source: info.map(|f| f.source.clone()).unwrap_or_default(),
        control_mapping: mapping.version.clone(),
        generated_at: report.generated_at,
        warden_version: report.warden_version.clone(),
        rule_pack: report.rule_pack.clone(),
        risk_catalogue: report.risk_catalogue.clone(),
        passing: controls.iter().filter(|c| c.status == Status::Pass).count(),
        failing: controls.iter().filter(|c| c.status == Status::Fail).count(),
        controls,
    }
}

fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn evidence_of(i: &InstanceResult) -> String {
    let mut parts = Vec::new();
    if let Some(at) = &i.gathered_at {
        parts.push(format!("gathered {}", stamp(at)));
    }
    if let Some(h) = &i.catalogue_sha256 {
        parts.push(format!("catalogue sha256 {}", &h[..h.len().min(12)]));
    }
    if let Some(e) = &i.error {
        parts.push(format!("error: {e}"));
    }
    parts.join(", ")
}

fn finding_line(f: &ControlFinding) -> String {
    format!(
        "{} {} {} ({}){}",
        f.severity.as_str().to_uppercase(),
        f.rule,
        f.subject,
        f.title,
        if f.suppressed { " [suppressed]" } else { "" }
    )
}

/// The plain-text view (the terminal's).
pub fn render_text(c: &ComplianceReport) -> String {
    let mut out = String::new();
    text_to(c, &mut out);
    out
}

/// [`render_text`] written into `w` as it goes; returns the first error writing to `w`.
pub fn render_text_to(c: &ComplianceReport, w: &mut dyn io::Write) -> io::Result<()> {
    let mut out = IoText::new(w);
    text_to(c, &mut out);
    out.finish()
}

fn text_to(c: &ComplianceReport, out: &mut impl fmt::Write) {
    let _ = writeln!(
        out,
        "{} — controls evidenced by the Warden audit",
        c.framework_name
    );
    let _ = writeln!(
        out,
        "{} passing, {} failing of {} controls; generated {}, rule pack {}, risk catalogue {}, control mapping {}",
        c.passing,
        c.failing,
        c.controls.len(),
        stamp(&c.generated_at),
        c.rule_pack,
        c.risk_catalogue,
        c.control_mapping
    );
    let _ = writeln!(out, "Source: {}", c.framework_source);
    for control in &c.controls {
        let _ = writeln!(
            out,
            "\n{} {} — {}",
            control.status.label().to_uppercase(),
            control.id,
            control.title
        );
        let _ = writeln!(out, "  rules: {}", control.rules.join(", "));
        for i in &control.instances {
            let _ = writeln!(
                out,
                "  {}: {} ({})",
                i.instance,
                i.status.label(),
                evidence_of(i)
            );
            for f in &i.findings {
                let _ = writeln!(out, "    - {}", finding_line(f));
            }
        }
    }
}

/// Markdown cell text: pipes escaped, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown view (one table row per control and instance, then the findings).
pub fn render_markdown(c: &ComplianceReport) -> String {
    let mut out = String::new();
    markdown_to(c, &mut out);
    out
}

/// [`render_markdown`] written into `w` as it goes; returns the first error writing to `w`.
pub fn render_markdown_to(c: &ComplianceReport, w: &mut dyn io::Write) -> io::Result<()> {
    let mut out = IoText::new(w);
    markdown_to(c, &mut out);
    out.finish()
}

fn markdown_to(c: &ComplianceReport, out: &mut impl fmt::Write) {
    let _ = writeln!(
        out,
        "# {}: controls evidenced by the Warden audit\n",
        cell(&c.framework_name)
    );
    let _ = writeln!(
        out,
        "**{} passing, {} failing** of {} controls. Generated {}; Warden {}, rule pack {}, risk catalogue {}, control mapping {}.\n",
        c.passing,
        c.failing,
        c.controls.len(),
        stamp(&c.generated_at),
        cell(&c.warden_version),
        cell(&c.rule_pack),
        cell(&c.risk_catalogue),
        cell(&c.control_mapping)
    );
    let _ = writeln!(out, "Source: {}\n", cell(&c.framework_source));
    let _ = writeln!(
        out,
        "| Control | Title | Result | Instance | Instance result | Rules | Findings | Evidence |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for control in &c.controls {
        for i in &control.instances {
            let open = i.findings.iter().filter(|f| !f.suppressed).count();
            let suppressed = i.findings.len() - open;
            let findings = if suppressed > 0 {
                format!("{open} ({suppressed} suppressed)")
            } else {
                open.to_string()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&control.id),
                cell(&control.title),
                control.status.label(),
                cell(&i.instance),
                i.status.label(),
                control.rules.join(", "),
                findings,
                cell(&evidence_of(i))
            );
        }
    }
    for control in c
        .controls
        .iter()
        .filter(|c| c.instances.iter().any(|i| !i.findings.is_empty()))
    {
        let _ = writeln!(out, "\n## {} {}\n", cell(&control.id), cell(&control.title));
        for i in &control.instances {
            for f in &i.findings {
                let _ = writeln!(out, "- {}: {}", cell(&i.instance), cell(&finding_line(f)));
            }
        }
    }
}

/// Pretty JSON (`warden.compliance/1`) with a final newline.
pub fn render_json(c: &ComplianceReport) -> String {
    let mut buf = Vec::new();
    // writing to a Vec cannot fail
    let _ = render_json_to(c, &mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`render_json`] written into `w` as it is encoded (no document string); returns the first
/// error writing to `w`.
pub fn render_json_to(c: &ComplianceReport, w: &mut dyn io::Write) -> io::Result<()> {
    if let Err(e) = serde_json::to_writer_pretty(&mut *w, c) {
        if e.is_io() {
            return Err(e.into());
        }
        // only non-string map keys fail to encode: the report has none
        let error = serde_json::json!({ "error": format!("cannot encode the report: {e}") });
        w.write_all(error.to_string().as_bytes())?;
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// Text written with `write!` into an [`io::Write`]: the first I/O error is kept (later text
/// dropped) and returned by [`IoText::finish`].
struct IoText<'a> {
    w: &'a mut dyn io::Write,
    error: Option<io::Error>,
}

impl<'a> IoText<'a> {
    fn new(w: &'a mut dyn io::Write) -> IoText<'a> {
        IoText { w, error: None }
    }

    fn finish(self) -> io::Result<()> {
        match self.error {
            Some(e) => Err(e),
            None => self.w.flush(),
        }
    }
}

impl fmt::Write for IoText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.error.is_none()
            && let Err(e) = self.w.write_all(s.as_bytes())
        {
            self.error = Some(e);
        }
        Ok(())
    }
}
