//! Markdown for a review ticket: the summary by severity, the evidence (time, versions, each
//! instance's URL and catalogue), each instance's findings by severity with their exact
//! privileges, its suppressed findings, every client's effective privileges, the suppressions
//! and the rule pack. Every name from Jamf or the configuration is escaped.

use std::fmt::Write as _;

use super::out::Out;
use super::{
    by_severity, controls_line, facts, fleet, risky_count, settings, severity_label, stamp,
    subject_label, suppressed, suppression_of, suppression_state,
};
use crate::audit::{
    AuditReport, ClientPrivileges, Finding, InstanceAudit, Severity, SuppressionState,
};

pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("# Jamf Warden audit report\n\n");
    summary(out, report);
    overview(out, report);
    evidence(out, report);
    for inst in &report.instances {
        instance(out, report, inst);
    }
    suppressions(out, report);
    rules(out, report);
}

/// `s` with Markdown's special characters escaped and line breaks turned into spaces, safe in
/// running text, headings, list items and table cells.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!' | '{'
            | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Escaped items joined with `, `, or `none`.
fn list(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|s| escape(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(out: &mut Out<'_>, report: &AuditReport) {
    let s = &report.summary;
    out.push_str("## Summary\n\n| Severity | Findings |\n| --- | ---: |\n");
    for sev in Severity::ALL.into_iter().rev() {
        let n = match sev {
            Severity::Critical => s.critical,
            Severity::High => s.high,
            Severity::Medium => s.medium,
            Severity::Low => s.low,
        };
        let _ = writeln!(out, "| {} | {n} |", severity_label(sev));
    }
    let _ = writeln!(out, "| **Total** | **{}** |\n", s.total());
    let _ = write!(
        out,
        "{} instance(s) audited; {} suppressed finding(s) are not counted above",
        report.instances.len().saturating_sub(s.errors),
        s.suppressed
    );
    if s.errors > 0 {
        let _ = write!(out, "; {} instance(s) could not be audited", s.errors);
    }
    out.push_str(".\n\n");
}

/// The fleet line, the instance × severity matrix and the findings per rule.
fn overview(out: &mut Out<'_>, report: &AuditReport) {
    let fleet = fleet::fleet(report);
    let _ = writeln!(out, "## Fleet\n\n{}.\n", escape(&fleet.line()));
    out.push_str(
        "| Instance | Critical | High | Medium | Low | Suppressed |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in &fleet.matrix {
        if row.error.is_some() {
            let _ = writeln!(out, "| {} | not audited | | | | |", escape(row.instance));
            continue;
        }
        let [c, h, m, l] = row.counts;
        let _ = writeln!(
            out,
            "| {} | {c} | {h} | {m} | {l} | {} |",
            escape(row.instance),
            row.suppressed
        );
    }
    if !fleet.rules.is_empty() {
        out.push_str(
            "\n| Rule | Severity | Title | Findings | Suppressed |\n\
             | --- | --- | --- | ---: | ---: |\n",
        );
        for r in &fleet.rules {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                escape(&r.rule.id),
                r.rule.severity.as_str(),
                escape(&r.rule.title),
                r.open,
                r.suppressed
            );
        }
    }
    out.push('\n');
}

fn evidence(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("## Evidence\n\n");
    let _ = writeln!(out, "- Generated: {}", stamp(&report.generated_at));
    if let Some(line) = fleet::gathered(report) {
        let _ = writeln!(out, "- **{}**", escape(&line));
    }
    let _ = writeln!(out, "- Warden version: {}", escape(&report.warden_version));
    let _ = writeln!(out, "- Rule pack: {}", escape(&report.rule_pack));
    let _ = writeln!(out, "- Risk catalogue: {}", escape(&report.risk_catalogue));
    let _ = writeln!(out, "- Report schema: {}", escape(&report.schema));
    let thresholds = settings(report);
    if !thresholds.is_empty() {
        let _ = writeln!(out, "- Thresholds: {}", list(&thresholds));
    }
    out.push_str(
        "\n| Instance | URL | Checked at | Roles | Clients | Catalogue size | Catalogue SHA-256 | \
         Catalogue fetched |\n| --- | --- | --- | ---: | ---: | ---: | --- | --- |\n",
    );
    for inst in &report.instances {
        if let Some(error) = &inst.error {
            let _ = writeln!(
                out,
                "| {} | {} | not audited: {} | | | | | |",
                escape(&inst.instance),
                escape(&inst.url),
                escape(error)
            );
            continue;
        }
        let checked = inst.checked_at.as_ref().map_or_else(String::new, stamp);
        let (size, sha, fetched) = inst.catalogue.as_ref().map_or_else(
            || ("unknown".to_owned(), "unknown".to_owned(), String::new()),
            |c| {
                (
                    c.size.to_string(),
                    format!("`{}`", c.sha256),
                    stamp(&c.fetched_at),
                )
            },
        );
        let _ = writeln!(
            out,
            "| {} | {} | {checked} | {} | {} | {size} | {sha} | {fetched} |",
            escape(&inst.instance),
            escape(&inst.url),
            inst.roles,
            inst.clients
        );
    }
    out.push('\n');
}

fn instance(out: &mut Out<'_>, report: &AuditReport, inst: &InstanceAudit) {
    let _ = writeln!(out, "## Instance {}\n", escape(&inst.instance));
    let _ = writeln!(out, "URL: {}\n", escape(&inst.url));
    if let Some(error) = &inst.error {
        let _ = writeln!(out, "**Not audited:** {}\n", escape(error));
        return;
    }
    let groups = by_severity(inst);
    let hidden = suppressed(inst);
    let shown: usize = groups.iter().map(|(_, l)| l.len()).sum();
    let _ = writeln!(
        out,
        "{} role(s), {} client(s); {shown} finding(s), {} suppressed.\n",
        inst.roles,
        inst.clients,
        hidden.len()
    );
    changes(out, inst);
    for (sev, findings) in &groups {
        let _ = writeln!(out, "### {} ({})\n", severity_label(*sev), findings.len());
        for f in findings {
            finding(out, f, report.client_of(f), &controls_line(report, &f.rule));
        }
    }
    if !hidden.is_empty() {
        let _ = writeln!(
            out,
            "### Suppressed ({})\n\n| Rule | Severity | Subject | Privileges | Suppression |\n\
             | --- | --- | --- | --- | --- |",
            hidden.len()
        );
        for f in hidden {
            let by = suppression_of(report, f).map_or_else(
                || "unknown".to_owned(),
                |s| {
                    let n = f.suppressed_by.map_or(0, |i| i + 1);
                    format!(
                        "#{n} ({}, owner {})",
                        suppression_state(s),
                        escape(&s.owner)
                    )
                },
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {by} |",
                escape(&f.rule),
                f.severity.as_str(),
                escape(&subject_label(f)),
                list(&f.evidence.privileges)
            );
        }
        out.push('\n');
    }
    if !inst.client_privileges.is_empty() {
        let _ = writeln!(out, "### Clients' effective privileges\n");
        for c in &inst.client_privileges {
            client(out, c);
        }
    }
}

/// New and resolved findings since the last audit, and the trend over the kept history.
fn changes(out: &mut Out<'_>, inst: &InstanceAudit) {
    if let (Some(line), Some(s)) = (fleet::since_line(inst), &inst.since_last) {
        let _ = writeln!(out, "### Since the last audit\n\n{}.\n", escape(&line));
        for (label, keys) in [("New", &s.new), ("Resolved", &s.resolved)] {
            if !keys.is_empty() {
                let _ = writeln!(out, "- **{label} ({}):** {}", keys.len(), list(keys));
            }
        }
        if !s.new.is_empty() || !s.resolved.is_empty() {
            out.push('\n');
        }
    }
    let tail = fleet::trend_tail(inst);
    if !tail.is_empty() {
        let _ = writeln!(
            out,
            "### Trend\n\nFindings per scheduled audit (the last {} of {} kept).\n\n\
             | Audit | Critical | High | Medium | Low | Suppressed |\n\
             | --- | ---: | ---: | ---: | ---: | ---: |",
            tail.len(),
            inst.trend.len()
        );
        for p in tail {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                stamp(&p.at),
                p.critical,
                p.high,
                p.medium,
                p.low,
                p.suppressed
            );
        }
        out.push('\n');
    }
}

fn finding(out: &mut Out<'_>, f: &Finding, client: Option<&ClientPrivileges>, controls: &str) {
    let _ = writeln!(
        out,
        "#### {} · {} · {}\n",
        escape(&f.rule),
        escape(&f.title),
        escape(&subject_label(f))
    );
    if let Some(c) = client {
        let _ = writeln!(
            out,
            "- **Owner:** {} · **Purpose:** {}",
            escape(c.owner_label()),
            escape(c.purpose_label())
        );
    }
    let _ = writeln!(out, "- **Why:** {}", escape(&f.rationale));
    if !f.evidence.privileges.is_empty() {
        let _ = writeln!(
            out,
            "- **Privileges ({}):** {}",
            f.evidence.privileges.len(),
            list(&f.evidence.privileges)
        );
    }
    if !f.evidence.roles.is_empty() {
        let _ = writeln!(out, "- **Roles:** {}", list(&f.evidence.roles));
    }
    if !f.evidence.clients.is_empty() {
        let _ = writeln!(out, "- **Clients:** {}", list(&f.evidence.clients));
    }
    let facts = facts(f);
    if !facts.is_empty() {
        let _ = writeln!(out, "- **Facts:** {}", list(&facts));
    }
    if !controls.is_empty() {
        let _ = writeln!(out, "- **Controls:** {}", escape(controls));
    }
    let _ = writeln!(out, "- **Fix:** {}\n", escape(&f.fix));
}

fn client(out: &mut Out<'_>, c: &ClientPrivileges) {
    let _ = writeln!(out, "#### {}\n", escape(&c.name));
    let _ = writeln!(
        out,
        "{}, {}, {}; token lifetime {} s; roles: {}.\n",
        if c.enabled { "Enabled" } else { "Disabled" },
        escape(&c.app_type),
        if c.declared {
            "declared"
        } else {
            "not declared"
        },
        c.token_lifetime,
        list(&c.roles)
    );
    let _ = writeln!(
        out,
        "- **Owner:** {}\n- **Purpose:** {}",
        escape(c.owner_label()),
        escape(c.purpose_label())
    );
    if let Some(secret) = &c.secret {
        let _ = writeln!(out, "- **Secret:** {}", escape(&secret.summary()));
    }
    for (category, privileges) in &c.by_category {
        let _ = writeln!(
            out,
            "- **{} ({}):** {}",
            capitalise(category.label()),
            privileges.len(),
            list(privileges)
        );
    }
    if !c.unclassified.is_empty() {
        let _ = writeln!(
            out,
            "- **Unclassified ({}):** {}",
            c.unclassified.len(),
            list(&c.unclassified)
        );
    }
    let risky = risky_count(c);
    let _ = writeln!(
        out,
        "- **Counts:** {} privilege(s): {risky} risky, {} unclassified, {} other.\n",
        c.privileges.len(),
        c.unclassified.len(),
        c.privileges
            .len()
            .saturating_sub(risky + c.unclassified.len())
    );
}

fn suppressions(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("## Suppressions\n\n");
    if report.suppressions.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str(
        "| # | Rule | Instance | Object | State | Owner | Expires | Matched | Reason |\n\
         | ---: | --- | --- | --- | --- | --- | --- | ---: | --- |\n",
    );
    for (i, s) in report.suppressions.iter().enumerate() {
        let state = if s.state == SuppressionState::Expired {
            "expired: no longer suppresses, reported as JW-SUP-001"
        } else {
            suppression_state(s)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {state} | {} | {} | {} | {} |",
            i + 1,
            escape(&s.rule),
            escape(&s.instance),
            escape(&s.object),
            escape(&s.owner),
            s.expires
                .map_or_else(|| "never".to_owned(), |d| d.to_string()),
            s.matched,
            escape(&s.reason)
        );
    }
    out.push('\n');
}

fn rules(out: &mut Out<'_>, report: &AuditReport) {
    let _ = writeln!(
        out,
        "## Rule pack {}\n\n| Rule | Severity | Title |\n| --- | --- | --- |",
        escape(&report.rule_pack)
    );
    for r in &report.rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            escape(&r.id),
            r.severity.as_str(),
            escape(&r.title)
        );
    }
}

/// `s` with its first letter upper-case.
pub(super) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
