//! The risk audit: which API clients can do what, on which instance, and which of them could
//! hurt.
//!
//! - [`RiskCatalogue`]: which privilege falls in which [`Category`], versioned data shipped with
//!   Warden (`crates/core/data/risk-catalogue.toml`) with the source of each entry, extended by
//!   `[[audit.classify]]`; a privilege it does not know is reported as unclassified.
//! - [`rules`]: the rule pack (stable ids, severity, title, rationale, fix) and its evaluation of
//!   one instance's live state ([`evaluate`]).
//! - [`build_report`]: the fleet report, with suppressions applied (an expired one stops
//!   suppressing and is reported itself) and listed, and the evidence a review needs (time,
//!   Warden version, each instance's URL and catalogue size and hash, rule-pack and catalogue
//!   versions, the exact privileges behind each finding).
//! - [`render`]: the report as a terminal table, Markdown, HTML, CSV and SARIF 2.1.0; JSON is
//!   the report itself (schema `warden.audit/1`, `docs/schemas/warden.audit-1.schema.json`).
//!
//! Pure: the daemon fetches the live state and renders nothing.

mod catalogue;
pub mod compliance;
pub mod controls;
mod effective;
mod model;
pub mod render;
pub mod rules;
mod settings;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use catalogue::{Class, RiskCatalogue, shipped_jamf_versions, shipped_privileges};
pub use controls::{ControlMapping, ControlRef, Framework};
pub use model::{
    AUDIT_SCHEMA, AuditReport, Category, ClientPrivileges, Evidence, Finding, InstanceAudit, Name,
    RuleInfo, SecretView, Severity, SinceLast, Subject, SubjectKind, Summary, SuppressionState,
    SuppressionStatus, TrendPoint, UNDECLARED_LABEL,
};
pub use rules::{InstanceInput, RULE_PACK_VERSION, RULES, SecretFacts, evaluate};
pub use settings::{AuditSettings, Classification, Suppression};

/// Display name of Warden's own management role and client (defined in
/// [`management`](crate::management)).
pub use crate::management::MANAGEMENT_NAME as WARDEN_MANAGEMENT;

/// Errors of the audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The risk catalogue does not parse or is inconsistent.
    #[error("the risk catalogue is invalid: {0}")]
    Catalogue(String),
}

/// Suppressions Warden applies itself, listed in every report like configured ones.
pub fn builtin_suppressions() -> Vec<SuppressionStatus> {
    vec![SuppressionStatus {
        rule: rules::ESCALATION.id.to_owned(),
        instance: "*".to_owned(),
        object: format!("role:{WARDEN_MANAGEMENT}"),
        reason: "Warden's own management role needs exactly these privileges (Read/Create/Update/\
                 Delete API Roles and API Integrations) to manage roles and clients and rotate \
                 secrets; its client is effectively an admin: protect its Vault path like an \
                 admin password"
            .to_owned(),
        owner: "jamf-warden".to_owned(),
        expires: None,
        builtin: true,
        state: SuppressionState::Active,
        matched: 0,
    }]
}

/// Everything a report states besides the instances.
pub struct ReportContext<'a> {
    /// When it is generated.
    pub now: DateTime<Utc>,
    /// Warden's version.
    pub warden_version: &'a str,
    /// The catalogue in use.
    pub catalogue: &'a RiskCatalogue,
    /// The settings in use.
    pub settings: &'a AuditSettings,
}

/// The fleet report: applies suppressions (built-in, then configured) to `instances`' findings,
/// reports expired suppressions, lists every suppression that concerns the audited instances,
/// and counts.
pub fn build_report(ctx: &ReportContext<'_>, mut instances: Vec<InstanceAudit>) -> AuditReport {
    let today = ctx.now.date_naive();
    let audited: Vec<String> = instances.iter().map(|i| i.instance.clone()).collect();
    let mut suppressions = builtin_suppressions();
    for s in &ctx.settings.suppressions {
        if s.instance != "*" && !audited.contains(&s.instance) {
            continue;
        }
        suppressions.push(SuppressionStatus {
            rule: s.rule.clone(),
            instance: s.instance.clone(),
            object: s.object.clone(),
            reason: s.reason.clone(),
            owner: s.owner.clone(),
            expires: Some(s.expires),
            builtin: false,
            state: if today > s.expires {
                SuppressionState::Expired
            } else {
                SuppressionState::Active
            },
            matched: 0,
        });
    }
    for inst in &mut instances {
        for finding in &mut inst.findings {
            let object = finding.subject.key();
            let hit = suppressions.iter().position(|s| {
                s.state == SuppressionState::Active
                    && s.rule == finding.rule
                    && (s.instance == "*" || s.instance == inst.instance)
                    && (s.object == "*" || s.object == object)
            });
            if let Some(i) = hit {
                finding.suppressed_by = Some(i);
                suppressions[i].matched += 1;
            }
        }
    }
    for s in suppressions
        .iter()
        .filter(|s| s.state == SuppressionState::Expired)
    {
        let target = if s.instance == "*" {
            instances.first_mut()
        } else {
            instances.iter_mut().find(|i| i.instance == s.instance)
        };
        let Some(inst) = target else { continue };
        let rule = &rules::EXPIRED_SUPPRESSION;
        let mut evidence = Evidence::default();
        evidence.facts.insert("rule".into(), s.rule.clone().into());
        evidence
            .facts
            .insert("object".into(), s.object.clone().into());
        evidence
            .facts
            .insert("instance".into(), s.instance.clone().into());
        evidence
            .facts
            .insert("owner".into(), s.owner.clone().into());
        if let Some(e) = s.expires {
            evidence
                .facts
                .insert("expired".into(), e.to_string().into());
        }
        inst.findings.push(Finding {
            rule: rule.id.to_owned(),
            severity: rule.severity,
            title: rule.title.to_owned(),
            instance: inst.instance.clone(),
            subject: Subject {
                kind: SubjectKind::Suppression,
                name: format!("{} on {}/{}", s.rule, s.instance, s.object),
            },
            rationale: rule.rationale.to_owned(),
            evidence,
            fix: rule.fix.to_owned(),
            suppressed_by: None,
        });
    }
    // Keep each instance's findings most severe first (stable: the rule pack's order stays
    // within a severity), expired-suppression findings included.
    for inst in &mut instances {
        inst.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
    let mut report = AuditReport {
        schema: AUDIT_SCHEMA.to_owned(),
        generated_at: ctx.now,
        warden_version: ctx.warden_version.to_owned(),
        rule_pack: RULE_PACK_VERSION.to_owned(),
        risk_catalogue: ctx.catalogue.version(),
        settings: serde_json::json!({
            "breadth_share": ctx.settings.breadth_share,
            "breadth_count": ctx.settings.breadth_count,
            "near_admin_share": ctx.settings.near_admin_share,
            "crud_object_types": ctx.settings.crud_object_types,
            "max_token_lifetime_seconds": ctx.settings.max_token_lifetime,
        }),
        gathered_at: None,
        summary: Summary::default(),
        instances,
        suppressions,
        rules: RULES.iter().map(rules::Rule::info).collect(),
        control_mapping: Some(controls::ControlMapping::builtin().version.clone()),
    };
    report.recount();
    report
}
