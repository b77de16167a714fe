//! The terminal view: a summary line and the report's provenance, then per instance a compact
//! table of its unsuppressed findings (severity, rule, subject, title; the exact privileges on
//! a line under the row, and the controls the rule evidences on another) and the number of
//! suppressed ones. Fits 100 columns: long subjects and titles are cut with `…`, privilege
//! lists that do not fit end with `+N more`.

use std::fmt::Write as _;

use super::out::Out;
use super::{by_severity, controls_line, fleet, stamp, subject_label, truncate};
use crate::audit::{AuditReport, Finding, InstanceAudit, Severity, SubjectKind};

/// The width the table is laid out for.
const WIDTH: usize = 100;
/// Indent of an instance's table.
const INDENT: &str = "  ";
/// Space between columns.
const GAP: usize = 2;
const MAX_SUBJECT: usize = 30;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
    }
}

/// `text` wrapped in `code` and a reset when `color` is on.
fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

pub(super) fn write(out: &mut Out<'_>, report: &AuditReport, color: bool) {
    let s = &report.summary;
    let mut line = format!(
        "{} critical, {} high, {} medium, {} low ({} finding(s)); {} suppressed",
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.total(),
        s.suppressed
    );
    if s.errors > 0 {
        let _ = write!(line, "; {} instance(s) not audited", s.errors);
    }
    let _ = writeln!(out, "{}", paint(&line, BOLD, color));
    let provenance = [
        format!("{} instance(s)", report.instances.len()),
        stamp(&report.generated_at),
        format!("Warden {}", report.warden_version),
        format!("rule pack {}", report.rule_pack),
        format!("risk catalogue {}", report.risk_catalogue),
    ];
    for line in wrap(&provenance, WIDTH) {
        let _ = writeln!(out, "{}", paint(&line, DIM, color));
    }
    if let Some(line) = fleet::gathered(report) {
        let _ = writeln!(out, "{}", paint(&truncate(&line, WIDTH), BOLD, color));
    }
    overview(out, report);
    for inst in &report.instances {
        out.push('\n');
        instance(out, report, inst, color);
    }
}

/// The fleet line, the instance × severity matrix and the findings per rule.
fn overview(out: &mut Out<'_>, report: &AuditReport) {
    let fleet = fleet::fleet(report);
    let _ = writeln!(out, "\n{}", truncate(&fleet.line(), WIDTH));
    let name_w = fleet
        .matrix
        .iter()
        .map(|r| one_line(r.instance).chars().count())
        .max()
        .unwrap_or(0)
        .clamp("INSTANCE".len(), MAX_SUBJECT);
    let _ = writeln!(
        out,
        "{INDENT}{:<name_w$}  CRITICAL  HIGH  MEDIUM  LOW  SUPPRESSED",
        "INSTANCE"
    );
    for row in &fleet.matrix {
        let name = truncate(&one_line(row.instance), name_w);
        if row.error.is_some() {
            let _ = writeln!(out, "{INDENT}{name:<name_w$}  not audited");
            continue;
        }
        let [c, h, m, l] = row.counts;
        let _ = writeln!(
            out,
            "{INDENT}{name:<name_w$}  {c:>8}  {h:>4}  {m:>6}  {l:>3}  {:>10}",
            row.suppressed
        );
    }
    // suppressed findings are counted in the matrix, not listed
    let parts: Vec<String> = fleet
        .rules
        .iter()
        .filter(|r| r.open > 0)
        .map(|r| format!("{} {}", r.rule.id, r.open))
        .collect();
    if !parts.is_empty() {
        let label = "findings by rule: ";
        for (n, line) in wrap(&parts, WIDTH - INDENT.len() - label.len())
            .into_iter()
            .enumerate()
        {
            let lead = if n == 0 {
                label.to_owned()
            } else {
                " ".repeat(label.len())
            };
            let _ = writeln!(out, "{INDENT}{lead}{line}");
        }
    }
}

fn instance(out: &mut Out<'_>, report: &AuditReport, inst: &InstanceAudit, color: bool) {
    let mut head = paint(&inst.instance, BOLD, color);
    let _ = write!(head, "  {}", inst.url);
    if let Some(cat) = &inst.catalogue {
        let short: String = cat.sha256.chars().take(12).collect();
        let _ = write!(head, "  ({} privileges, sha256 {short})", cat.size);
    }
    let _ = writeln!(out, "{head}");
    if let Some(error) = &inst.error {
        let text = format!("not audited: {}", one_line(error));
        let _ = writeln!(
            out,
            "{INDENT}{}",
            paint(
                &truncate(&text, WIDTH - INDENT.len()),
                severity_color(Severity::High),
                color
            )
        );
        return;
    }
    if let Some(line) = fleet::since_line(inst) {
        let _ = writeln!(out, "{INDENT}{}", truncate(&line, WIDTH - INDENT.len()));
    }
    let tail = fleet::trend_tail(inst);
    if !tail.is_empty() {
        // the last runs, critical/high/medium/low each
        let parts: Vec<String> = tail[tail.len().saturating_sub(6)..]
            .iter()
            .map(|p| {
                format!(
                    "{} {}/{}/{}/{}",
                    p.at.format("%m-%d"),
                    p.critical,
                    p.high,
                    p.medium,
                    p.low
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{INDENT}{}",
            truncate(
                &format!("trend (crit/high/med/low): {}", parts.join(", ")),
                WIDTH - INDENT.len()
            )
        );
    }
    let rows: Vec<&Finding> = by_severity(inst)
        .into_iter()
        .flat_map(|(_, list)| list)
        .collect();
    if rows.is_empty() {
        let _ = writeln!(out, "{INDENT}no unsuppressed findings");
    } else {
        findings(out, report, inst, &rows, color);
    }
    let hidden = inst
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_some())
        .count();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "{INDENT}{hidden} suppressed finding(s) not shown (see --format markdown)"
        );
    }
    let managed: Vec<_> = inst
        .client_privileges
        .iter()
        .filter_map(|c| c.secret.as_ref().map(|s| (c, s)))
        .collect();
    if !managed.is_empty() {
        let _ = writeln!(out, "{INDENT}MANAGED SECRETS");
        for (c, s) in managed {
            let line = format!("{}: {}", one_line(&c.name), one_line(&s.summary()));
            let _ = writeln!(
                out,
                "{INDENT}{INDENT}{}",
                truncate(&line, WIDTH - 2 * INDENT.len())
            );
        }
    }
}

fn findings(
    out: &mut Out<'_>,
    report: &AuditReport,
    inst: &InstanceAudit,
    rows: &[&Finding],
    color: bool,
) {
    let sev_w = "critical".len();
    let rule_w = rows
        .iter()
        .map(|f| f.rule.chars().count())
        .max()
        .unwrap_or(4)
        .max("RULE".len());
    let subjects: Vec<String> = rows.iter().map(|f| one_line(&subject_label(f))).collect();
    let subject_w = subjects
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("SUBJECT".len(), MAX_SUBJECT);
    let title_w = WIDTH.saturating_sub(INDENT.len() + sev_w + rule_w + subject_w + 3 * GAP);
    // Privileges go on a line of their own under the row, from the rule column on: the whole
    // width is theirs, and a row stays readable with a long subject and title.
    let under = " ".repeat(INDENT.len() + sev_w + GAP);
    let label = "privileges: ";
    let privileges_w = WIDTH.saturating_sub(under.len() + label.len());

    let _ = writeln!(
        out,
        "{INDENT}{:<sev_w$}  {:<rule_w$}  {:<subject_w$}  TITLE / PRIVILEGES",
        "SEVERITY", "RULE", "SUBJECT"
    );
    for (f, subject) in rows.iter().zip(&subjects) {
        let sev = format!("{:<sev_w$}", f.severity.as_str());
        let line = format!(
            "{INDENT}{}  {:<rule_w$}  {:<subject_w$}  {}",
            paint(&sev, severity_color(f.severity), color),
            f.rule,
            truncate(subject, subject_w),
            truncate(&one_line(&f.title), title_w),
        );
        let _ = writeln!(out, "{}", line.trim_end());
        if !f.evidence.privileges.is_empty() {
            let _ = writeln!(
                out,
                "{under}{label}{}",
                fit_list(&f.evidence.privileges, privileges_w)
            );
        }
        if let Some(c) = (f.subject.kind == SubjectKind::Client)
            .then(|| inst.client(&f.subject.name))
            .flatten()
        {
            let owner = format!(
                "owner: {} · purpose: {}",
                one_line(c.owner_label()),
                one_line(c.purpose_label())
            );
            let _ = writeln!(out, "{under}{}", truncate(&owner, WIDTH - under.len()));
        }
        let controls = controls_line(report, &f.rule);
        if !controls.is_empty() {
            let line = format!("controls: {controls}");
            let _ = writeln!(out, "{under}{}", truncate(&line, WIDTH - under.len()));
        }
    }
}

/// `items` joined with `, ` in at most `width` characters: as many whole items as fit, then
/// `+N more`; a first item too long for the column is cut with `…`.
fn fit_list(items: &[impl AsRef<str>], width: usize) -> String {
    let n = items.len();
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let item = one_line(item.as_ref());
        let candidate = if out.is_empty() {
            item.clone()
        } else {
            format!("{out}, {item}")
        };
        let rest = n - i - 1;
        let suffix = if rest > 0 {
            format!(", +{rest} more")
        } else {
            String::new()
        };
        if candidate.chars().count() + suffix.chars().count() <= width {
            out = candidate;
            continue;
        }
        let more = n - i;
        if out.is_empty() {
            let tail = if more > 1 {
                format!(" +{} more", more - 1)
            } else {
                String::new()
            };
            let room = width.saturating_sub(tail.chars().count());
            return format!("{}{tail}", truncate(&item, room));
        }
        return format!("{out}, +{more} more");
    }
    out
}

/// `parts` joined with `, ` into lines of at most `width` characters where possible (a part
/// longer than `width` gets a line of its own).
fn wrap(parts: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + part.chars().count() <= width => {
                line.push_str(", ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}

/// Control characters (newlines in a name...) shown as spaces, so a row stays one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn lists_are_cut_at_whole_items_with_a_count() {
        let items = list(&[
            "Create API Roles",
            "Update API Integrations",
            "Create Accounts",
        ]);
        assert_eq!(
            fit_list(&items, 100),
            "Create API Roles, Update API Integrations, Create Accounts"
        );
        assert_eq!(fit_list(&items, 30), "Create API Roles, +2 more");
        assert_eq!(
            fit_list(&items, 50),
            "Create API Roles, Update API Integrations, +1 more"
        );
        // The first item alone does not fit: cut, with the count of the others.
        assert_eq!(fit_list(&items, 16), "Create… +2 more");
        assert!(fit_list(&items, 16).chars().count() <= 16);
        assert_eq!(fit_list(&list(&["Update SSO Settings"]), 10), "Update SS…");
    }

    #[test]
    fn provenance_wraps_between_parts() {
        let parts = list(&["2 instance(s)", "2026-11-20T09:30:00Z", "Warden 0.1.0"]);
        assert_eq!(
            wrap(&parts, 100),
            ["2 instance(s), 2026-11-20T09:30:00Z, Warden 0.1.0"]
        );
        assert_eq!(
            wrap(&parts, 40),
            ["2 instance(s), 2026-11-20T09:30:00Z", "Warden 0.1.0"]
        );
    }

    #[test]
    fn control_characters_stay_on_one_line() {
        assert_eq!(one_line("Deploy\nNightly\t1"), "Deploy Nightly 1");
    }
}
