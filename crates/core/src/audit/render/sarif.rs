//! SARIF 2.1.0: one run of the tool "Jamf Warden" per audited instance. Each run's rules are
//! the report's rule pack, its results every finding of the instance (suppressed ones carry an
//! external, accepted suppression), its `automationDetails.id`
//! `jamf-warden/audit/INSTANCE/TIME` (the instance is the category consumers tell analyses
//! apart by, the report's time the run). A finding has no file: its location is logical,
//! `instance/role:NAME` (kind `object`), and its partial fingerprint is [`Finding::key`],
//! stable across runs. The report's evidence (time, versions, thresholds, the fleet summary)
//! and the instance's (URL, catalogue, counts) are in the run's `properties`; an instance that
//! could not be audited is an error notification of its run's invocation.
//!
//! The log is written as it is encoded: typed structures borrowing from the report, results
//! produced one at a time, no `serde_json::Value` tree and no list of all results.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::out::Out;
use super::{pretty_to, stamp, suppression_of};
use crate::audit::{
    AuditReport, ClientPrivileges, Finding, InstanceAudit, RuleInfo, SecretView, Severity,
    SubjectKind, Summary, SuppressionStatus,
};
use crate::drift::CatalogueInfo;

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

/// `automationDetails.id` of the run of `instance`: `jamf-warden/audit/INSTANCE/TIME`, the
/// instance as the category and the report's generation time as the run.
pub(super) fn automation_id(report: &AuditReport, instance: &str) -> String {
    format!(
        "jamf-warden/audit/{instance}/{}",
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
    let rules: Vec<Rule<'_>> = report.rules.iter().map(Rule::of).collect();
    let index: BTreeMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let log = Log {
        report,
        rules: &rules,
        index: &index,
    };
    pretty_to(out, &log);
}

/// The whole log: `$schema`, `version` and one run per instance.
struct Log<'a> {
    report: &'a AuditReport,
    /// The rule pack as SARIF rules, built once and listed by every run.
    rules: &'a [Rule<'a>],
    /// A rule's position in `rules` (`ruleIndex`).
    index: &'a BTreeMap<&'a str, usize>,
}

impl Serialize for Log<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("$schema", SARIF_SCHEMA)?;
        map.serialize_entry("version", "2.1.0")?;
        map.serialize_entry("runs", &Runs(self))?;
        map.end()
    }
}

/// The runs, produced one instance at a time.
struct Runs<'a>(&'a Log<'a>);

impl Serialize for Runs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let log = self.0;
        let mut seq = s.serialize_seq(Some(log.report.instances.len()))?;
        for inst in &log.report.instances {
            seq.serialize_element(&Run::of(log, inst))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    automation_details: AutomationDetails,
    invocations: [Invocation<'a>; 1],
    results: Results<'a>,
    properties: RunProperties<'a>,
}

impl<'a> Run<'a> {
    fn of(log: &'a Log<'a>, inst: &'a InstanceAudit) -> Run<'a> {
        let report = log.report;
        let notifications: Vec<Notification<'a>> = inst
            .error
            .as_ref()
            .map(|e| Notification {
                level: "error",
                message: Message {
                    text: format!(
                        "instance {} ({}) could not be audited: {e}",
                        inst.instance, inst.url
                    ),
                },
                properties: NotificationProperties {
                    instance: &inst.instance,
                    url: &inst.url,
                },
            })
            .into_iter()
            .collect();
        Run {
            tool: Tool {
                driver: Driver {
                    name: "Jamf Warden",
                    full_name: format!(
                        "Jamf Warden {} (rule pack {})",
                        report.warden_version, report.rule_pack
                    ),
                    version: &report.warden_version,
                    information_uri: INFORMATION_URI,
                    rules: log.rules,
                    properties: DriverProperties {
                        rule_pack: &report.rule_pack,
                    },
                },
            },
            automation_details: AutomationDetails {
                id: automation_id(report, &inst.instance),
            },
            invocations: [Invocation {
                execution_successful: notifications.is_empty(),
                end_time_utc: stamp(&report.generated_at),
                tool_execution_notifications: notifications,
            }],
            results: Results { log, inst },
            properties: RunProperties {
                report_schema: &report.schema,
                generated_at: stamp(&report.generated_at),
                gathered_at: report.gathered_at.as_ref().map(stamp),
                warden_version: &report.warden_version,
                rule_pack: &report.rule_pack,
                risk_catalogue: &report.risk_catalogue,
                settings: &report.settings,
                summary: &report.summary,
                fleet_instances: report.instances.len(),
                instance: InstanceProperties::of(inst),
                suppressions: Suppressions {
                    all: &report.suppressions,
                    instance: &inst.instance,
                },
            },
        }
    }
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    full_name: String,
    version: &'a str,
    information_uri: &'static str,
    rules: &'a [Rule<'a>],
    properties: DriverProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DriverProperties<'a> {
    rule_pack: &'a str,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    end_time_utc: String,
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
struct Notification<'a> {
    level: &'static str,
    message: Message,
    properties: NotificationProperties<'a>,
}

#[derive(Serialize)]
struct NotificationProperties<'a> {
    instance: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// A rule of the pack as `tool.driver.rules` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: String,
    short_description: Text<'a>,
    full_description: Text<'a>,
    help_uri: String,
    help: Help<'a>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

impl<'a> Rule<'a> {
    fn of(r: &'a RuleInfo) -> Rule<'a> {
        let uri = help_uri(&r.id);
        Rule {
            id: &r.id,
            name: pascal_case(&r.title),
            short_description: Text { text: &r.title },
            full_description: Text { text: &r.rationale },
            help: Help {
                text: &r.fix,
                markdown: format!(
                    "**Why:** {}\n\n**Fix:** {}\n\n[{} in Warden's audit documentation]({uri})",
                    r.rationale, r.fix, r.id
                ),
            },
            help_uri: uri,
            default_configuration: Configuration {
                level: level(r.severity),
            },
            properties: RuleProperties {
                security_severity: security_severity(r.severity),
                severity: r.severity.as_str(),
                tags: ["security"],
            },
        }
    }
}

#[derive(Serialize)]
struct Help<'a> {
    text: &'a str,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    severity: &'static str,
    tags: [&'static str; 1],
}

/// The run's evidence: the report's (fleet-wide) and its instance's.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    report_schema: &'a str,
    generated_at: String,
    gathered_at: Option<String>,
    warden_version: &'a str,
    rule_pack: &'a str,
    risk_catalogue: &'a str,
    settings: &'a serde_json::Value,
    /// The fleet's summary (every run of the log carries the same).
    summary: &'a Summary,
    /// How many instances (runs) the report has.
    fleet_instances: usize,
    instance: InstanceProperties<'a>,
    suppressions: Suppressions<'a>,
}

/// The run's instance.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceProperties<'a> {
    name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    checked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalogue: Option<Catalogue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    roles: usize,
    clients: usize,
    /// Its findings by severity (unsuppressed) and the suppressed ones.
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    since_last: Option<&'a crate::audit::SinceLast>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    trend: &'a [crate::audit::TrendPoint],
}

impl<'a> InstanceProperties<'a> {
    fn of(inst: &'a InstanceAudit) -> InstanceProperties<'a> {
        let mut summary = Summary {
            errors: usize::from(inst.error.is_some()),
            ..Summary::default()
        };
        for f in &inst.findings {
            let n = match (f.suppressed_by, f.severity) {
                (Some(_), _) => &mut summary.suppressed,
                (None, Severity::Critical) => &mut summary.critical,
                (None, Severity::High) => &mut summary.high,
                (None, Severity::Medium) => &mut summary.medium,
                (None, Severity::Low) => &mut summary.low,
            };
            *n += 1;
        }
        InstanceProperties {
            name: &inst.instance,
            url: &inst.url,
            checked_at: inst.checked_at.as_ref().map(stamp),
            catalogue: inst.catalogue.as_ref().map(Catalogue::of),
            error: inst.error.as_deref(),
            roles: inst.roles,
            clients: inst.clients,
            summary,
            since_last: inst.since_last.as_ref(),
            trend: &inst.trend,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Catalogue<'a> {
    size: usize,
    sha256: &'a str,
    fetched_at: String,
}

impl<'a> Catalogue<'a> {
    fn of(c: &'a CatalogueInfo) -> Catalogue<'a> {
        Catalogue {
            size: c.size,
            sha256: &c.sha256,
            fetched_at: stamp(&c.fetched_at),
        }
    }
}

/// The suppressions that apply to the run's instance (`*` or its name); their `matched`
/// counts the whole report.
struct Suppressions<'a> {
    all: &'a [SuppressionStatus],
    instance: &'a str,
}

impl Serialize for Suppressions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.all
                .iter()
                .filter(|x| x.instance == "*" || x.instance == self.instance),
        )
    }
}

/// The instance's findings as results, produced one at a time.
struct Results<'a> {
    log: &'a Log<'a>,
    inst: &'a InstanceAudit,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.inst.findings.len()))?;
        for f in &self.inst.findings {
            seq.serialize_element(&SarifResult::of(self.log, self.inst, f))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    message: Message,
    locations: [Location<'a>; 1],
    partial_fingerprints: Fingerprint,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression<'a>; 1]>,
    properties: ResultProperties<'a>,
}

impl<'a> SarifResult<'a> {
    fn of(log: &'a Log<'a>, inst: &'a InstanceAudit, f: &'a Finding) -> SarifResult<'a> {
        let key = f.key();
        let baseline_state = match super::fleet::is_new(Some(inst), &key) {
            Some(new) if f.suppressed_by.is_none() => Some(if new { "new" } else { "unchanged" }),
            _ => None,
        };
        let client: Option<&ClientPrivileges> = match f.subject.kind {
            SubjectKind::Client => inst.client(&f.subject.name),
            _ => None,
        };
        let e = &f.evidence;
        SarifResult {
            rule_id: &f.rule,
            rule_index: log.index.get(f.rule.as_str()).copied(),
            level: level(f.severity),
            baseline_state,
            message: Message { text: message(f) },
            locations: [Location {
                logical_locations: [LogicalLocation {
                    name: &f.subject.name,
                    fully_qualified_name: format!("{}/{}", f.instance, f.subject.key()),
                    kind: "object",
                }],
            }],
            partial_fingerprints: Fingerprint(key),
            suppressions: suppression_of(log.report, f).map(|s| [Suppression::of(s)]),
            properties: ResultProperties {
                instance: &f.instance,
                severity: f.severity.as_str(),
                security_severity: security_severity(f.severity),
                subject_kind: f.subject.kind.as_str(),
                subject: &f.subject.name,
                privileges: &e.privileges,
                roles: &e.roles,
                clients: &e.clients,
                facts: &e.facts,
                owner: client.map(ClientPrivileges::owner_label),
                purpose: client.map(ClientPrivileges::purpose_label),
                secret: client.and_then(|c| c.secret.as_ref()),
                url: &inst.url,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    logical_locations: [LogicalLocation<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

/// `{"wardenFindingKey/v1": KEY}`.
struct Fingerprint(String);

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(FINGERPRINT, &self.0)?;
        map.end()
    }
}

#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    status: &'static str,
    justification: &'a str,
    properties: SuppressionProperties<'a>,
}

impl<'a> Suppression<'a> {
    fn of(s: &'a SuppressionStatus) -> Suppression<'a> {
        Suppression {
            kind: "external",
            status: "accepted",
            justification: &s.reason,
            properties: SuppressionProperties {
                owner: &s.owner,
                builtin: s.builtin,
                rule: &s.rule,
                instance: &s.instance,
                object: &s.object,
                expires: s.expires.map(|d| d.to_string()),
            },
        }
    }
}

#[derive(Serialize)]
struct SuppressionProperties<'a> {
    owner: &'a str,
    builtin: bool,
    rule: &'a str,
    instance: &'a str,
    object: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    instance: &'a str,
    severity: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    subject_kind: &'static str,
    subject: &'a str,
    privileges: &'a [crate::audit::Name],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    roles: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    clients: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    facts: &'a BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a SecretView>,
    url: &'a str,
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
