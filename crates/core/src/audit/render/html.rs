//! One self-contained HTML5 file with the Markdown report's content: a table of contents (links
//! to the file's own sections and to an anchor per instance), inline CSS and inline SVG charts
//! only (`charts.rs`), no scripts, no links out of the file or external assets (a
//! Content-Security-Policy forbids loading anything), and `@media print` rules so it prints
//! readably (no background colours needed, sections start on a new page, findings and charts
//! are not split across pages). Every text is escaped.

use std::fmt::Write as _;

use super::charts;
use super::markdown::capitalise;
use super::markup::escape;
use super::out::Out;
use super::{
    by_severity, controls_line, facts, fleet, risky_count, settings, severity_label, stamp,
    subject_label, suppressed, suppression_of, suppression_state,
};
use crate::audit::{
    AuditReport, ClientPrivileges, Finding, InstanceAudit, Severity, SuppressionState,
};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
  max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #333; padding-bottom: .1em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
h4 { font-size: 1em; margin: 0 0 .3em; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n, th.n { text-align: right; }
td.nw { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em;
  word-break: break-all; }
.sev { display: inline-block; min-width: 4.5em; text-align: center; font-weight: 600;
  font-size: .85em; padding: 0 .4em; border-radius: 3px; color: #fff; border: 1px solid transparent; }
.sev-critical { background: #7f0000; }
.sev-high { background: #c0392b; }
.sev-medium { background: #a86800; }
.sev-low { background: #3d6aa2; }
.finding { border-left: 4px solid #bbb; padding: .4em .8em; margin: .8em 0; background: #fafafa; }
.finding.sev-critical, .finding.sev-high, .finding.sev-medium, .finding.sev-low { background: #fafafa; }
.finding.sev-critical { border-left-color: #7f0000; }
.finding.sev-high { border-left-color: #c0392b; }
.finding.sev-medium { border-left-color: #a86800; }
.finding.sev-low { border-left-color: #3d6aa2; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15em .8em; margin: .3em 0; }
dt { font-weight: 600; }
dd { margin: 0; }
ul.items { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25em; }
ul.items li { border: 1px solid #ccc; border-radius: 3px; padding: 0 .35em; background: #fff; }
.client { margin: .8em 0; padding-left: .8em; border-left: 2px solid #ddd; }
.error { color: #7f0000; font-weight: 600; }
nav.toc ol { margin: .3em 0; padding-left: 1.4em; }
nav.toc ol.instances { columns: 3 14em; }
nav.toc li { break-inside: avoid; }
.controls { font-size: .9em; }
figure.chart { margin: 1em 0 1.5em; }
figure.chart figcaption { color: #444; font-size: .9em; margin-top: .3em; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: inherit; }
.chart-empty { border: 1px dashed #999; padding: .6em .8em; margin: 0; }
@page { margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; color: #000; }
  .sev { color: #000; background: none; border-color: #000; }
  .finding, .finding.sev-critical, .finding.sev-high, .finding.sev-medium, .finding.sev-low {
    background: none; border-left-color: #000; }
  th { background: none; }
  ul.items li { background: none; }
  svg.chart { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  figure.chart { break-inside: avoid; }
  nav.toc a { color: #000; text-decoration: none; }
  section.instance { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  .finding, .client, tr { break-inside: avoid; }
  thead { display: table-header-group; }
}
"#;

pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Jamf Warden audit report {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        stamp(&report.generated_at)
    );
    let _ = writeln!(
        out,
        "<header>\n<h1>Jamf Warden audit report</h1>\n<p class=\"meta\">Generated {} by Warden {} \
         (rule pack {}, risk catalogue {})</p>\n</header>",
        stamp(&report.generated_at),
        escape(&report.warden_version),
        escape(&report.rule_pack),
        escape(&report.risk_catalogue)
    );
    let anchors = anchors(report);
    contents(out, report, &anchors);
    summary(out, report);
    overview(out, report, &anchors);
    charts::write(out, report);
    evidence(out, report);
    for (inst, anchor) in report.instances.iter().zip(&anchors) {
        instance(out, report, inst, anchor);
    }
    suppressions(out, report);
    rules(out, report);
    out.push_str("</body>\n</html>\n");
}

/// Ids of an instance's section (`instance-SLUG`), in the report's order: the name lowercased,
/// every run of other characters than ASCII letters and digits a `-`, at most 48 characters;
/// a name that slugs to an id already taken gets `-2`, `-3`... Safe in an attribute and a URL
/// fragment for any instance name.
pub(super) fn anchors(report: &AuditReport) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    report
        .instances
        .iter()
        .map(|inst| {
            let base = format!("instance-{}", slug(&inst.instance));
            let mut id = base.clone();
            let mut n = 1;
            while !taken.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            id
        })
        .collect()
}

/// `name` as lowercase ASCII letters, digits and single `-` (empty names: `unnamed`).
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 48 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "unnamed".to_owned()
    } else {
        out.to_owned()
    }
}

/// The table of contents: the sections, and a link to each instance's section.
fn contents(out: &mut Out<'_>, report: &AuditReport, anchors: &[String]) {
    out.push_str(
        "<nav class=\"toc\" id=\"contents\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol>\n\
         <li><a href=\"#summary\">Summary</a></li>\n<li><a href=\"#fleet\">Fleet</a></li>\n\
         <li><a href=\"#charts\">Charts</a></li>\n<li><a href=\"#evidence\">Evidence</a></li>\n",
    );
    if !report.instances.is_empty() {
        let _ = writeln!(
            out,
            "<li>Instances ({})\n<ol class=\"instances\">",
            report.instances.len()
        );
        for (inst, anchor) in report.instances.iter().zip(anchors) {
            let _ = writeln!(
                out,
                "<li><a href=\"#{anchor}\">{}</a>{}</li>",
                escape(&inst.instance),
                if inst.error.is_some() {
                    " (not audited)"
                } else {
                    ""
                }
            );
        }
        out.push_str("</ol></li>\n");
    }
    out.push_str(
        "<li><a href=\"#suppressions\">Suppressions</a></li>\n\
         <li><a href=\"#rules\">Rule pack</a></li>\n</ol>\n</nav>\n",
    );
}

/// Items as a wrapped list of boxes (each name stays visibly one item), or `none`.
fn items(list: &[impl AsRef<str>]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    let mut out = String::from("<ul class=\"items\">");
    for item in list {
        let _ = write!(out, "<li>{}</li>", escape(item.as_ref()));
    }
    out.push_str("</ul>");
    out
}

fn badge(severity: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", severity.as_str())
}

fn summary(out: &mut Out<'_>, report: &AuditReport) {
    let s = &report.summary;
    out.push_str(
        "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n<thead><tr><th>Severity</th>\
         <th class=\"n\">Findings</th></tr></thead>\n<tbody>\n",
    );
    for sev in Severity::ALL.into_iter().rev() {
        let n = match sev {
            Severity::Critical => s.critical,
            Severity::High => s.high,
            Severity::Medium => s.medium,
            Severity::Low => s.low,
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            badge(sev)
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>Total</th><th class=\"n\">{}</th></tr>\n</tbody>\n</table>",
        s.total()
    );
    let _ = write!(
        out,
        "<p>{} instance(s) audited; {} suppressed finding(s) are not counted above",
        report.instances.len().saturating_sub(s.errors),
        s.suppressed
    );
    if s.errors > 0 {
        let _ = write!(out, "; {} instance(s) could not be audited", s.errors);
    }
    out.push_str(".</p>\n</section>\n");
}

/// The fleet line, the instance × severity matrix and the findings per rule.
fn overview(out: &mut Out<'_>, report: &AuditReport, anchors: &[String]) {
    let fleet = fleet::fleet(report);
    let _ = writeln!(
        out,
        "<section id=\"fleet\">\n<h2>Fleet</h2>\n<p>{}.</p>\n<table class=\"matrix\">\n\
         <thead><tr><th>Instance</th><th class=\"n\">Critical</th><th class=\"n\">High</th>\
         <th class=\"n\">Medium</th><th class=\"n\">Low</th><th class=\"n\">Suppressed</th>\
         </tr></thead>\n<tbody>",
        escape(&fleet.line())
    );
    for (row, anchor) in fleet.matrix.iter().zip(anchors) {
        if row.error.is_some() {
            let _ = writeln!(
                out,
                "<tr><td><a href=\"#{anchor}\">{}</a></td><td colspan=\"5\">not audited</td></tr>",
                escape(row.instance)
            );
            continue;
        }
        let [c, h, m, l] = row.counts;
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{anchor}\">{}</a></td><td class=\"n\">{c}</td>\
             <td class=\"n\">{h}</td><td class=\"n\">{m}</td><td class=\"n\">{l}</td>\
             <td class=\"n\">{}</td></tr>",
            escape(row.instance),
            row.suppressed
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !fleet.rules.is_empty() {
        out.push_str(
            "<table class=\"by-rule\">\n<thead><tr><th>Rule</th><th>Severity</th><th>Title</th>\
             <th class=\"n\">Findings</th><th class=\"n\">Suppressed</th></tr></thead>\n<tbody>\n",
        );
        for r in &fleet.rules {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td></tr>",
                escape(&r.rule.id),
                badge(r.rule.severity),
                escape(&r.rule.title),
                r.open,
                r.suppressed
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn evidence(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("<section id=\"evidence\">\n<h2>Evidence</h2>\n<dl>\n");
    let _ = writeln!(
        out,
        "<dt>Generated</dt><dd>{}</dd>",
        stamp(&report.generated_at)
    );
    if let Some(line) = fleet::gathered(report) {
        let _ = writeln!(
            out,
            "<dt>Data gathered</dt><dd><strong>{}</strong></dd>",
            escape(&line)
        );
    }
    let _ = writeln!(
        out,
        "<dt>Warden version</dt><dd>{}</dd>",
        escape(&report.warden_version)
    );
    let _ = writeln!(
        out,
        "<dt>Rule pack</dt><dd>{}</dd>",
        escape(&report.rule_pack)
    );
    let _ = writeln!(
        out,
        "<dt>Risk catalogue</dt><dd>{}</dd>",
        escape(&report.risk_catalogue)
    );
    let _ = writeln!(
        out,
        "<dt>Report schema</dt><dd>{}</dd>",
        escape(&report.schema)
    );
    let thresholds = settings(report);
    if !thresholds.is_empty() {
        let _ = writeln!(out, "<dt>Thresholds</dt><dd>{}</dd>", items(&thresholds));
    }
    out.push_str(
        "</dl>\n<table>\n<thead><tr><th>Instance</th><th>URL</th><th>Checked at</th>\
         <th class=\"n\">Roles</th><th class=\"n\">Clients</th><th class=\"n\">Catalogue size</th>\
         <th>Catalogue SHA-256</th><th>Catalogue fetched</th></tr></thead>\n<tbody>\n",
    );
    for inst in &report.instances {
        if let Some(error) = &inst.error {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td colspan=\"6\" class=\"error\">not audited: {}</td></tr>",
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
                    format!("<code>{}</code>", escape(&c.sha256)),
                    stamp(&c.fetched_at),
                )
            },
        );
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"nw\">{checked}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{size}</td><td>{sha}</td>\
             <td class=\"nw\">{fetched}</td></tr>",
            escape(&inst.instance),
            escape(&inst.url),
            inst.roles,
            inst.clients
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn instance(out: &mut Out<'_>, report: &AuditReport, inst: &InstanceAudit, anchor: &str) {
    let _ = writeln!(
        out,
        "<section class=\"instance\" id=\"{anchor}\">\n<h2>Instance {}</h2>\n<p>URL: {}</p>",
        escape(&inst.instance),
        escape(&inst.url)
    );
    if let Some(error) = &inst.error {
        let _ = writeln!(
            out,
            "<p class=\"error\">Not audited: {}</p>\n</section>",
            escape(error)
        );
        return;
    }
    let groups = by_severity(inst);
    let hidden = suppressed(inst);
    let shown: usize = groups.iter().map(|(_, l)| l.len()).sum();
    let _ = writeln!(
        out,
        "<p>{} role(s), {} client(s); {shown} finding(s), {} suppressed.</p>",
        inst.roles,
        inst.clients,
        hidden.len()
    );
    changes(out, inst);
    for (sev, findings) in &groups {
        let _ = writeln!(
            out,
            "<h3>{} ({})</h3>",
            severity_label(*sev),
            findings.len()
        );
        for f in findings {
            finding(out, f, report.client_of(f), &controls_line(report, &f.rule));
        }
    }
    if !hidden.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Suppressed ({})</h3>\n<table>\n<thead><tr><th>Rule</th><th>Severity</th>\
             <th>Subject</th><th>Privileges</th><th>Suppression</th></tr></thead>\n<tbody>",
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
                "<tr><td class=\"nw\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{by}</td></tr>",
                escape(&f.rule),
                badge(f.severity),
                escape(&subject_label(f)),
                items(&f.evidence.privileges)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if !inst.client_privileges.is_empty() {
        out.push_str("<h3>Clients&#39; effective privileges</h3>\n");
        for c in &inst.client_privileges {
            client(out, c);
        }
    }
    out.push_str("</section>\n");
}

/// New and resolved findings since the last audit, and the trend over the kept history.
fn changes(out: &mut Out<'_>, inst: &InstanceAudit) {
    if let (Some(line), Some(s)) = (fleet::since_line(inst), &inst.since_last) {
        let _ = writeln!(
            out,
            "<h3>Since the last audit</h3>\n<p class=\"since\">{}.</p>\n<dl>",
            escape(&line)
        );
        for (label, keys) in [("New", &s.new), ("Resolved", &s.resolved)] {
            if !keys.is_empty() {
                let _ = writeln!(
                    out,
                    "<dt>{label} ({})</dt><dd>{}</dd>",
                    keys.len(),
                    items(keys)
                );
            }
        }
        out.push_str("</dl>\n");
    }
    let tail = fleet::trend_tail(inst);
    if !tail.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Trend</h3>\n<p>Findings per scheduled audit (the last {} of {} kept).</p>\n\
             <table class=\"trend\">\n<thead><tr><th>Audit</th><th class=\"n\">Critical</th>\
             <th class=\"n\">High</th><th class=\"n\">Medium</th><th class=\"n\">Low</th>\
             <th class=\"n\">Suppressed</th></tr></thead>\n<tbody>",
            tail.len(),
            inst.trend.len()
        );
        for p in tail {
            let _ = writeln!(
                out,
                "<tr><td class=\"nw\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                stamp(&p.at),
                p.critical,
                p.high,
                p.medium,
                p.low,
                p.suppressed
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

fn finding(out: &mut Out<'_>, f: &Finding, client: Option<&ClientPrivileges>, controls: &str) {
    let _ = writeln!(
        out,
        "<article class=\"finding sev-{}\">\n<h4>{} {} · {} · {}</h4>\n<dl>",
        f.severity.as_str(),
        badge(f.severity),
        escape(&f.rule),
        escape(&f.title),
        escape(&subject_label(f))
    );
    if let Some(c) = client {
        owner(out, c);
    }
    let _ = writeln!(out, "<dt>Why</dt><dd>{}</dd>", escape(&f.rationale));
    if !f.evidence.privileges.is_empty() {
        let _ = writeln!(
            out,
            "<dt>Privileges ({})</dt><dd>{}</dd>",
            f.evidence.privileges.len(),
            items(&f.evidence.privileges)
        );
    }
    if !f.evidence.roles.is_empty() {
        let _ = writeln!(out, "<dt>Roles</dt><dd>{}</dd>", items(&f.evidence.roles));
    }
    if !f.evidence.clients.is_empty() {
        let _ = writeln!(
            out,
            "<dt>Clients</dt><dd>{}</dd>",
            items(&f.evidence.clients)
        );
    }
    let facts = facts(f);
    if !facts.is_empty() {
        let _ = writeln!(out, "<dt>Facts</dt><dd>{}</dd>", items(&facts));
    }
    if !controls.is_empty() {
        let _ = writeln!(
            out,
            "<dt>Controls</dt><dd class=\"controls\">{}</dd>",
            escape(controls)
        );
    }
    let _ = writeln!(
        out,
        "<dt>Fix</dt><dd>{}</dd>\n</dl>\n</article>",
        escape(&f.fix)
    );
}

fn owner(out: &mut Out<'_>, c: &ClientPrivileges) {
    let _ = writeln!(
        out,
        "<dt>Owner</dt><dd>{}</dd>\n<dt>Purpose</dt><dd>{}</dd>",
        escape(c.owner_label()),
        escape(c.purpose_label())
    );
}

fn client(out: &mut Out<'_>, c: &ClientPrivileges) {
    let _ = writeln!(
        out,
        "<div class=\"client\">\n<h4>{}</h4>\n<p>{}, {}, {}; token lifetime {} s.</p>\n<dl>",
        escape(&c.name),
        if c.enabled { "Enabled" } else { "Disabled" },
        escape(&c.app_type),
        if c.declared {
            "declared"
        } else {
            "not declared"
        },
        c.token_lifetime
    );
    owner(out, c);
    if let Some(secret) = &c.secret {
        let _ = writeln!(out, "<dt>Secret</dt><dd>{}</dd>", escape(&secret.summary()));
    }
    let _ = writeln!(out, "<dt>Roles</dt><dd>{}</dd>", items(&c.roles));
    for (category, privileges) in &c.by_category {
        let _ = writeln!(
            out,
            "<dt>{} ({})</dt><dd>{}</dd>",
            escape(&capitalise(category.label())),
            privileges.len(),
            items(privileges)
        );
    }
    if !c.unclassified.is_empty() {
        let _ = writeln!(
            out,
            "<dt>Unclassified ({})</dt><dd>{}</dd>",
            c.unclassified.len(),
            items(&c.unclassified)
        );
    }
    let risky = risky_count(c);
    let _ = writeln!(
        out,
        "<dt>Counts</dt><dd>{} privilege(s): {risky} risky, {} unclassified, {} other</dd>\n</dl>\n</div>",
        c.privileges.len(),
        c.unclassified.len(),
        c.privileges
            .len()
            .saturating_sub(risky + c.unclassified.len())
    );
}

fn suppressions(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("<section id=\"suppressions\">\n<h2>Suppressions</h2>\n");
    if report.suppressions.is_empty() {
        out.push_str("<p>None.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th class=\"n\">#</th><th>Rule</th><th>Instance</th><th>Object</th>\
         <th>State</th><th>Owner</th><th>Expires</th><th class=\"n\">Matched</th><th>Reason</th>\
         </tr></thead>\n<tbody>\n",
    );
    for (i, s) in report.suppressions.iter().enumerate() {
        let state = if s.state == SuppressionState::Expired {
            "expired: no longer suppresses, reported as JW-SUP-001"
        } else {
            suppression_state(s)
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"nw\">{}</td><td>{}</td><td>{}</td>\
             <td>{state}</td><td>{}</td><td class=\"nw\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
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
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn rules(out: &mut Out<'_>, report: &AuditReport) {
    let _ = writeln!(
        out,
        "<section id=\"rules\">\n<h2>Rule pack {}</h2>\n<table>\n<thead><tr><th>Rule</th>\
         <th>Severity</th><th>Title</th></tr></thead>\n<tbody>",
        escape(&report.rule_pack)
    );
    for r in &report.rules {
        let _ = writeln!(
            out,
            "<tr><td class=\"nw\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.id),
            badge(r.severity),
            escape(&r.title)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
