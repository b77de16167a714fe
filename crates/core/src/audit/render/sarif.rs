//! SARIF 2.1.0: one run of the tool "Jamf Warden" whose rules are the report's rule pack and
//! whose results are every finding (suppressed ones carry an external, accepted suppression).
//! A finding has no file: its location is logical, `instance/role:NAME` (kind `object`), and its
//! partial fingerprint is [`Finding::key`], stable across runs. The report's evidence (time,
//! versions, each instance's URL and catalogue) is in the run's `properties`; instances that
//! could not be audited are error notifications of the invocation.

use serde_json::{Map, Value, json};

use super::out::Out;
use super::{pretty_to, stamp, suppression_of};
use crate::audit::{AuditReport, Finding, RuleInfo, Severity};

/// The `$schema` a SARIF 2.1.0 log names.
pub(super) const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json";

/// Where Warden is documented: the workspace's `repository`.
pub(super) const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// The documentation of rule `id`: its anchor in `docs/audit.md` (the rule pack's table).
pub(super) fn help_uri(id: &str) -> String {
    format!(
        "{INFORMATION_URI}/blob/main/docs/audit.md#{}",
        id.to_lowercase()
    )
}

/// `automationDetails.id`: `jamf-warden/audit/INSTANCES/TIME`, one category per instance (or
/// set of instances, joined with `+`) and one run id per report.
pub(super) fn automation_id(report: &AuditReport) -> String {
    let names: Vec<&str> = report
        .instances
        .iter()
        .map(|i| i.instance.as_str())
        .collect();
    format!(
        "jamf-warden/audit/{}/{}",
        names.join("+"),
        stamp(&report.generated_at)
    )
}

/// Key of the partial fingerprint holding [`Finding::key`].
pub(super) const FINGERPRINT: &str = "wardenFindingKey/v1";

/// SARIF `level` of a severity.
pub(super) fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// `security-severity` (a CVSS-like score, as code-scanning tools read it).
pub(super) fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    let rules: Vec<Value> = report.rules.iter().map(rule).collect();
    let results: Vec<Value> = report.findings().map(|f| result(report, f)).collect();
    let notifications: Vec<Value> = report
        .instances
        .iter()
        .filter_map(|i| {
            i.error.as_ref().map(|e| {
                json!({
                    "level": "error",
                    "message": {
                        "text": format!("instance {} ({}) could not be audited: {e}", i.instance, i.url)
                    },
                    "properties": { "instance": i.instance, "url": i.url },
                })
            })
        })
        .collect();
    let instances: Vec<Value> = report
        .instances
        .iter()
        .map(|i| {
            let mut m = Map::new();
            m.insert("name".into(), json!(i.instance));
            m.insert("url".into(), json!(i.url));
            if let Some(at) = &i.checked_at {
                m.insert("checkedAt".into(), json!(stamp(at)));
            }
            if let Some(c) = &i.catalogue {
                m.insert(
                    "catalogue".into(),
                    json!({
                        "size": c.size,
                        "sha256": c.sha256,
                        "fetchedAt": stamp(&c.fetched_at),
                    }),
                );
            }
            if let Some(e) = &i.error {
                m.insert("error".into(), json!(e));
            }
            m.insert("roles".into(), json!(i.roles));
            m.insert("clients".into(), json!(i.clients));
            if let Some(since) = &i.since_last {
                m.insert("sinceLast".into(), json!(since));
            }
            if !i.trend.is_empty() {
                m.insert("trend".into(), json!(i.trend));
            }
            Value::Object(m)
        })
        .collect();
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "Jamf Warden",
                    "fullName": format!("Jamf Warden {} (rule pack {})", report.warden_version, report.rule_pack),
                    "version": report.warden_version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                    "properties": { "rulePack": report.rule_pack },
                }
            },
            "automationDetails": { "id": automation_id(report) },
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "endTimeUtc": stamp(&report.generated_at),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "reportSchema": report.schema,
                "generatedAt": stamp(&report.generated_at),
                "gatheredAt": report.gathered_at.as_ref().map(stamp),
                "wardenVersion": report.warden_version,
                "rulePack": report.rule_pack,
                "riskCatalogue": report.risk_catalogue,
                "settings": report.settings,
                "summary": report.summary,
                "instances": instances,
                "suppressions": report.suppressions,
            },
        }],
    });
    pretty_to(out, &log);
}

fn rule(r: &RuleInfo) -> Value {
    json!({
        "id": r.id,
        "name": pascal_case(&r.title),
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": r.rationale },
        "helpUri": help_uri(&r.id),
        "help": {
            "text": r.fix,
            "markdown": format!(
                "**Why:** {}\n\n**Fix:** {}\n\n[{} in Warden's audit documentation]({})",
                r.rationale,
                r.fix,
                r.id,
                help_uri(&r.id)
            ),
        },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "security-severity": security_severity(r.severity),
            "severity": r.severity.as_str(),
            "tags": ["security"],
        },
    })
}

fn result(report: &AuditReport, f: &Finding) -> Value {
    let mut properties = Map::new();
    properties.insert("instance".into(), json!(f.instance));
    properties.insert("severity".into(), json!(f.severity.as_str()));
    properties.insert(
        "security-severity".into(),
        json!(security_severity(f.severity)),
    );
    properties.insert("subjectKind".into(), json!(f.subject.kind.as_str()));
    properties.insert("subject".into(), json!(f.subject.name));
    properties.insert("privileges".into(), json!(f.evidence.privileges));
    if !f.evidence.roles.is_empty() {
        properties.insert("roles".into(), json!(f.evidence.roles));
    }
    if !f.evidence.clients.is_empty() {
        properties.insert("clients".into(), json!(f.evidence.clients));
    }
    if !f.evidence.facts.is_empty() {
        properties.insert("facts".into(), json!(f.evidence.facts));
    }
    if let Some(c) = report.client_of(f) {
        properties.insert("owner".into(), json!(c.owner_label()));
        properties.insert("purpose".into(), json!(c.purpose_label()));
        if let Some(secret) = &c.secret {
            properties.insert("secret".into(), json!(secret));
        }
    }
    if let Some(url) = report
        .instances
        .iter()
        .find(|i| i.instance == f.instance)
        .map(|i| &i.url)
    {
        properties.insert("url".into(), json!(url));
    }
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(f.rule));
    if let Some(index) = report.rules.iter().position(|r| r.id == f.rule) {
        result.insert("ruleIndex".into(), json!(index));
    }
    result.insert("level".into(), json!(level(f.severity)));
    if let Some(new) = super::fleet::is_new(report.instance(&f.instance), &f.key())
        && f.suppressed_by.is_none()
    {
        let state = if new { "new" } else { "unchanged" };
        result.insert("baselineState".into(), json!(state));
    }
    result.insert("message".into(), json!({ "text": message(f) }));
    result.insert(
        "locations".into(),
        json!([{
            "logicalLocations": [{
                "name": f.subject.name,
                "fullyQualifiedName": format!("{}/{}", f.instance, f.subject.key()),
                "kind": "object",
            }]
        }]),
    );
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT: f.key() }),
    );
    if let Some(s) = suppression_of(report, f) {
        let mut props = Map::new();
        props.insert("owner".into(), json!(s.owner));
        props.insert("builtin".into(), json!(s.builtin));
        props.insert("rule".into(), json!(s.rule));
        props.insert("instance".into(), json!(s.instance));
        props.insert("object".into(), json!(s.object));
        if let Some(d) = s.expires {
            props.insert("expires".into(), json!(d.to_string()));
        }
        result.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": s.reason,
                "properties": props,
            }]),
        );
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

/// `role "Deploy" on prod: Role can run code on managed devices; privileges: Create Policies,
/// Update Scripts.`
fn message(f: &Finding) -> String {
    let mut text = format!(
        "{} {:?} on {}: {}",
        f.subject.kind.as_str(),
        f.subject.name,
        f.instance,
        f.title
    );
    let e = &f.evidence;
    if !e.privileges.is_empty() {
        text.push_str("; privileges: ");
        text.push_str(&e.privileges.join(", "));
    }
    if !e.roles.is_empty() {
        text.push_str("; roles: ");
        text.push_str(&e.roles.join(", "));
    }
    if !e.clients.is_empty() {
        text.push_str("; clients: ");
        text.push_str(&e.clients.join(", "));
    }
    if e.privileges.is_empty() && !e.facts.is_empty() {
        text.push_str("; ");
        text.push_str(&super::facts(f).join(", "));
    }
    text.push('.');
    text
}

/// `Role can escalate privileges` → `RoleCanEscalatePrivileges` (SARIF's rule `name`).
fn pascal_case(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(super::markdown::capitalise)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(
            pascal_case("Role can escalate privileges"),
            "RoleCanEscalatePrivileges"
        );
        assert_eq!(
            pascal_case("Full create/read/update/delete over many object types"),
            "FullCreateReadUpdateDeleteOverManyObjectTypes"
        );
    }

    #[test]
    fn severities_map_to_levels_and_scores() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(security_severity(Severity::Critical), "9.5");
        assert_eq!(security_severity(Severity::Low), "2.0");
    }
}
