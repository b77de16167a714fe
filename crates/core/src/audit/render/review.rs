//! The access review: one entry per API client for a reviewer or a GRC tool.
//!
//! - `review-csv`: one CSV row per client (RFC 4180, formulas defused like the finding CSV)
//!   with a blank `reviewer_decision` column to fill in;
//! - `grc-json`: the same entries as a JSON document (schema `warden.access-review/1`,
//!   `docs/schemas/warden.access-review-1.schema.json`) whose `resources` a Vanta or Drata
//!   custom connector can post as resources.
//!
//! The findings of a client are those about the client itself and those about a role it
//! holds; suppressed ones are listed and marked, but do not count as open.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::out::Out;
use super::{csv, pretty_to, stamp};
use crate::audit::controls::ControlRef;
use crate::audit::{
    AuditReport, Category, ClientPrivileges, Finding, InstanceAudit, Severity, SubjectKind,
};

/// Schema id of the `grc-json` document.
pub const ACCESS_REVIEW_SCHEMA: &str = "warden.access-review/1";

/// The `review-csv` header row.
pub(super) const REVIEW_COLUMNS: [&str; 12] = [
    "instance",
    "client",
    "enabled",
    "owner",
    "purpose",
    "roles",
    "effective_privileges",
    "risky_privileges",
    "secret_age_days",
    "last_rotation",
    "findings",
    "reviewer_decision",
];

/// Owner and purpose shown for a client the desired state does not declare.
const UNDECLARED: &str = "undeclared";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    generated_at: DateTime<Utc>,
    warden_version: &'a str,
    rule_pack: &'a str,
    risk_catalogue: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    control_mapping: Option<&'a str>,
    instances: Instances<'a>,
    resources: Resources<'a>,
}

/// The report's instances, listed as they are encoded.
struct Instances<'a>(&'a AuditReport);

impl Serialize for Instances<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.instances.iter().map(|i| InstanceEntry {
            name: &i.instance,
            url: &i.url,
            gathered_at: i.checked_at,
            catalogue_sha256: i.catalogue.as_ref().map(|c| c.sha256.as_str()),
            error: i.error.as_deref(),
        }))
    }
}

/// One resource per client of every instance, each built as it is encoded (no list of all
/// resources).
struct Resources<'a>(&'a AuditReport);

impl Serialize for Resources<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        s.collect_seq(
            report
                .instances
                .iter()
                .flat_map(|inst| inst.client_privileges.iter().map(move |c| (inst, c)))
                .map(|(inst, c)| Resource::of(report, inst, c)),
        )
    }
}

#[derive(Serialize)]
struct InstanceEntry<'a> {
    name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gathered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalogue_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Resource<'a> {
    id: String,
    resource_type: &'static str,
    display_name: &'a str,
    instance: &'a str,
    instance_url: &'a str,
    enabled: bool,
    app_type: &'a str,
    declared: bool,
    owner: &'a str,
    purpose: &'a str,
    roles: &'a [String],
    token_lifetime_seconds: i64,
    effective_privilege_count: usize,
    risky_privileges: Vec<RiskyPrivilege<'a>>,
    unclassified_privileges: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_last_rotated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_age_days: Option<i64>,
    open_findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    highest_severity: Option<Severity>,
    findings: Vec<ResourceFinding<'a>>,
}

#[derive(Serialize)]
struct RiskyPrivilege<'a> {
    category: Category,
    privilege: &'a str,
}

#[derive(Serialize)]
struct ResourceFinding<'a> {
    key: String,
    rule: &'a str,
    severity: Severity,
    title: &'a str,
    subject: String,
    suppressed: bool,
    controls: &'a [ControlRef],
}

/// The findings that apply to `client`: about it, or about a role it holds.
fn findings_of<'a>(inst: &'a InstanceAudit, client: &ClientPrivileges) -> Vec<&'a Finding> {
    inst.findings
        .iter()
        .filter(|f| match f.subject.kind {
            SubjectKind::Client => f.subject.name == client.name,
            SubjectKind::Role => client.roles.contains(&f.subject.name),
            SubjectKind::Instance | SubjectKind::Suppression => false,
        })
        .collect()
}

/// Whole days between the last rotation and the time the data was gathered (or the report
/// generated).
fn age_days(report: &AuditReport, inst: &InstanceAudit, c: &ClientPrivileges) -> Option<i64> {
    let at = inst.checked_at.unwrap_or(report.generated_at);
    c.secret_rotated_at().map(|r| (at - r).num_days().max(0))
}

/// `last_rotation`: the time, `never` for a declared client Warden has not rotated yet, or
/// `not managed by Warden`.
fn last_rotation(c: &ClientPrivileges) -> String {
    match (&c.secret_rotated_at(), c.declared) {
        (Some(at), _) => stamp(at),
        (None, true) => "never".to_owned(),
        (None, false) => "not managed by Warden".to_owned(),
    }
}

fn risky(c: &ClientPrivileges) -> Vec<RiskyPrivilege<'_>> {
    c.by_category
        .iter()
        .flat_map(|(category, list)| {
            list.iter().map(|p| RiskyPrivilege {
                category: *category,
                privilege: p,
            })
        })
        .collect()
}

/// `review-csv`.
pub(super) fn write_csv(out: &mut Out<'_>, report: &AuditReport) {
    csv::row(out, REVIEW_COLUMNS.iter().map(|c| (*c).to_owned()));
    for inst in &report.instances {
        if let Some(error) = &inst.error {
            let mut fields = vec![String::new(); REVIEW_COLUMNS.len()];
            fields[0] = inst.instance.clone();
            fields[10] = format!("instance not audited: {error}");
            csv::row(out, fields.into_iter());
            continue;
        }
        for c in &inst.client_privileges {
            let findings: Vec<String> = findings_of(inst, c)
                .into_iter()
                .map(|f| {
                    format!(
                        "{} {} {}{}",
                        f.rule,
                        f.severity.as_str(),
                        f.subject.key(),
                        if f.suppressed_by.is_some() {
                            " (suppressed)"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            let risky: Vec<String> = risky(c)
                .into_iter()
                .map(|r| format!("{} ({})", r.privilege, r.category.as_str()))
                .collect();
            let fields = [
                inst.instance.clone(),
                c.name.clone(),
                c.enabled.to_string(),
                c.owner.clone().unwrap_or_else(|| UNDECLARED.to_owned()),
                c.purpose.clone().unwrap_or_else(|| UNDECLARED.to_owned()),
                c.roles.join("; "),
                c.privileges.len().to_string(),
                risky.join("; "),
                age_days(report, inst, c).map_or_else(String::new, |d| d.to_string()),
                last_rotation(c),
                findings.join("; "),
                String::new(),
            ];
            csv::row(out, fields.into_iter());
        }
    }
}

impl<'a> Resource<'a> {
    fn of(
        report: &'a AuditReport,
        inst: &'a InstanceAudit,
        c: &'a ClientPrivileges,
    ) -> Resource<'a> {
        let findings: Vec<ResourceFinding<'_>> = findings_of(inst, c)
            .into_iter()
            .map(|f| ResourceFinding {
                key: f.key(),
                rule: &f.rule,
                severity: f.severity,
                title: &f.title,
                subject: f.subject.key(),
                suppressed: f.suppressed_by.is_some(),
                controls: report.controls_of(&f.rule),
            })
            .collect();
        let open: Vec<&ResourceFinding<'_>> = findings.iter().filter(|f| !f.suppressed).collect();
        Resource {
            id: format!("{}/{}", inst.instance, c.name),
            resource_type: "jamf_pro_api_client",
            display_name: &c.name,
            instance: &inst.instance,
            instance_url: &inst.url,
            enabled: c.enabled,
            app_type: &c.app_type,
            declared: c.declared,
            owner: c.owner.as_deref().unwrap_or(UNDECLARED),
            purpose: c.purpose.as_deref().unwrap_or(UNDECLARED),
            roles: &c.roles,
            token_lifetime_seconds: c.token_lifetime,
            effective_privilege_count: c.privileges.len(),
            risky_privileges: risky(c),
            unclassified_privileges: &c.unclassified,
            secret_last_rotated_at: c.secret_rotated_at(),
            secret_age_days: age_days(report, inst, c),
            open_findings: open.len(),
            highest_severity: open.iter().map(|f| f.severity).max(),
            findings,
        }
    }
}

/// `grc-json`.
pub(super) fn write_json(out: &mut Out<'_>, report: &AuditReport) {
    pretty_to(
        out,
        &Document {
            schema: ACCESS_REVIEW_SCHEMA,
            generated_at: report.generated_at,
            warden_version: &report.warden_version,
            rule_pack: &report.rule_pack,
            risk_catalogue: &report.risk_catalogue,
            control_mapping: report.control_mapping.as_deref(),
            instances: Instances(report),
            resources: Resources(report),
        },
    )
}
