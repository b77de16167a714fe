//! One CSV row per finding (suppressed ones included, flagged), after a header row; RFC 4180:
//! CRLF line ends, fields with a comma, quote or line break in double quotes, quotes doubled.
//! Lists (privileges, clients, roles) are joined with `; `. A client finding carries the
//! client's owner and purpose (`undeclared` when the desired state does not declare it); every
//! row carries the finding's stable key ([`Finding::key`]) and, when suppressed, the
//! suppression's owner and expiry (empty for a built-in one). A finding about a managed client
//! carries its secret: strategy, age in days, last rotation and next due (RFC 3339), state
//! (`managed` or `adopted, held`), stale scope and whether the last rotation was verified
//! (empty: never rotated by Warden). `new_since_last`: whether an unsuppressed finding is new
//! since the instance's last audit (empty when there is nothing to compare with). `controls`:
//! the controls the finding's rule evidences (`framework:control`, e.g. `soc2:CC6.1`; the
//! compliance mapping in docs/audit.md).
//!
//! A field that a spreadsheet would take for a formula (it starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) is prefixed with `'`: names come from Jamf and are not trusted.

use super::out::Out;
use super::{fleet, stamp, suppression_of};
use crate::audit::{AuditReport, Finding, SecretView};

/// The header row.
pub(super) const COLUMNS: [&str; 27] = [
    "instance",
    "url",
    "rule",
    "severity",
    "title",
    "subject_kind",
    "subject",
    "privileges",
    "clients",
    "roles",
    "suppressed",
    "suppression_reason",
    "fix",
    "owner",
    "purpose",
    "key",
    "suppression_owner",
    "suppression_expires",
    "secret_strategy",
    "secret_age_days",
    "secret_rotated_at",
    "secret_next_due",
    "secret_state",
    "secret_stale_scope",
    "secret_verified",
    "new_since_last",
    "controls",
];

pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    row(out, COLUMNS.iter().map(|c| (*c).to_owned()));
    for inst in &report.instances {
        for f in &inst.findings {
            row(out, fields(report, &inst.url, f).into_iter());
        }
    }
}

fn fields(report: &AuditReport, url: &str, f: &Finding) -> [String; 27] {
    let suppression = suppression_of(report, f);
    let client = report.client_of(f);
    let secret = client.and_then(|c| c.secret.as_ref());
    let field = |get: &dyn Fn(&SecretView) -> String| secret.map_or_else(String::new, get);
    [
        f.instance.clone(),
        url.to_owned(),
        f.rule.clone(),
        f.severity.as_str().to_owned(),
        f.title.clone(),
        f.subject.kind.as_str().to_owned(),
        f.subject.name.clone(),
        f.evidence.privileges.join("; "),
        f.evidence.clients.join("; "),
        f.evidence.roles.join("; "),
        f.suppressed_by.is_some().to_string(),
        suppression.map_or_else(String::new, |s| s.reason.clone()),
        f.fix.clone(),
        client.map_or_else(String::new, |c| c.owner_label().to_owned()),
        client.map_or_else(String::new, |c| c.purpose_label().to_owned()),
        f.key(),
        suppression.map_or_else(String::new, |s| s.owner.clone()),
        suppression
            .and_then(|s| s.expires)
            .map_or_else(String::new, |d| d.to_string()),
        field(&|s| s.strategy.clone()),
        field(&|s| s.age_days.map_or_else(String::new, |d| d.to_string())),
        field(&|s| s.rotated_at.map_or_else(String::new, |t| stamp(&t))),
        field(&|s| s.next_due.map_or_else(String::new, |t| stamp(&t))),
        field(&|s| s.state_label().to_owned()),
        field(&|s| s.stale_scope.to_string()),
        field(&|s| s.verified.map_or_else(String::new, |v| v.to_string())),
        fleet::is_new(report.instance(&f.instance), &f.key())
            .filter(|_| f.suppressed_by.is_none())
            .map_or_else(String::new, |n| n.to_string()),
        report
            .controls_of(&f.rule)
            .iter()
            .map(|c| format!("{}:{}", c.framework, c.control))
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

pub(super) fn row(out: &mut Out<'_>, fields: impl Iterator<Item = String>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(&defuse(field)));
    }
    out.push_str("\r\n");
}

/// `field` with a `'` in front when a spreadsheet would evaluate it.
fn defuse(field: String) -> String {
    match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{field}"),
        _ => field,
    }
}

/// `field` as an RFC 4180 field: quoted when it holds a comma, a quote or a line break.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(defuse("Read Computers".into()), "Read Computers");
    }
}
