//! `oscal`: the audit as an OSCAL 1.1.1 assessment-results document (JSON), for GRC tools that
//! import OSCAL. Valid against NIST's OSCAL 1.1.1 assessment-results JSON schema (the tests
//! check it with the schema vendored in `crates/core/tests/data/`); the mapping is documented
//! in `docs/audit.md` ("OSCAL").
//!
//! - one `result` for the audit run; Warden itself is its tool component, each instance a
//!   component and each live client a user of the result's local definitions;
//! - one observation per finding (suppressed ones marked `finding-status: suppressed`), and one
//!   per instance that could not be audited, with a risk saying so;
//! - one OSCAL finding per NIST SP 800-53 r5 control the rules evidence and audited instance:
//!   `not-satisfied` when an unsuppressed finding of one of the control's rules exists there.
//!
//! UUIDs are version 5, derived from the report (the generation time, the instances, each
//! finding's key), so two renders of one report are identical; components, users and
//! resources keep their UUIDs from one audit to the next.
//!
//! Observations, findings and users are built one at a time while the document is written
//! ([`Lazy`]), so a fleet report is never held twice.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::out::Out;
use super::{fact_value, pretty_to, stamp, suppression_of, suppression_state};
use crate::audit::controls::{ControlMapping, Framework};
use crate::audit::{AuditReport, ClientPrivileges, Finding, InstanceAudit, SubjectKind};

/// The OSCAL version the document conforms to.
pub const OSCAL_VERSION: &str = "1.1.1";

/// Namespace of Warden's own OSCAL properties.
pub const OSCAL_NS: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/ns/oscal");

/// Where the rule pack is documented.
const RULE_PACK_DOC: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/audit.md#the-rule-pack"
);

/// The document's title.
const TITLE: &str = "Jamf Warden audit of Jamf Pro API roles and clients";

/// `objective-id` targets name the control's assessment objective in the NIST SP 800-53 r5
/// OSCAL catalog (`ac-6.1_obj`).
const OBJECTIVE_SUFFIX: &str = "_obj";

/// `AC-6(1)` → `ac-6.1`: a NIST SP 800-53 r5 control id as NIST's OSCAL catalog spells it.
pub fn oscal_control_id(control: &str) -> String {
    control
        .trim()
        .to_ascii_lowercase()
        .replace('(', ".")
        .replace(')', "")
}

/// A JSON array whose items are made when it is written, one at a time.
struct Lazy<F>(F);

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// An OSCAL property in Warden's namespace.
#[derive(Serialize)]
struct Prop<'a> {
    name: &'static str,
    ns: &'static str,
    value: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
}

/// OSCAL's string datatype (`^\S(.*\S)?$`): no line breaks or control characters, no space at
/// either end. `None` when nothing is left.
pub(super) fn oscal_string(s: &str) -> Option<Cow<'_, str>> {
    let clean = |c: char| !c.is_control() && (c == ' ' || !c.is_whitespace());
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.chars().all(clean) {
        return Some(Cow::Borrowed(trimmed));
    }
    let joined = trimmed
        .split(|c: char| !clean(c) || c == ' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Cow::Owned(joined))
}

/// Adds the property `name` = `value` (left out when `value` is blank).
fn prop<'a>(props: &mut Vec<Prop<'a>>, name: &'static str, value: impl Into<Cow<'a, str>>) {
    prop_class(props, name, None, value);
}

fn prop_class<'a>(
    props: &mut Vec<Prop<'a>>,
    name: &'static str,
    class: Option<&'static str>,
    value: impl Into<Cow<'a, str>>,
) {
    let value = match value.into() {
        Cow::Borrowed(s) => oscal_string(s),
        Cow::Owned(s) => oscal_string(&s).map(|v| Cow::Owned(v.into_owned())),
    };
    if let Some(value) = value {
        props.push(Prop {
            name,
            ns: OSCAL_NS,
            value,
            class,
        });
    }
}

/// What the document is derived from, and its UUIDs.
struct Ctx<'a> {
    report: &'a AuditReport,
    ns: Uuid,
    /// Identifies the run: the generation time and the instances.
    run: String,
    /// The NIST SP 800-53 r5 controls the report's rules evidence, in the mapping's order:
    /// (id as published, title, rules).
    controls: Vec<(&'a str, &'static str, Vec<&'a str>)>,
}

impl<'a> Ctx<'a> {
    fn new(report: &'a AuditReport) -> Ctx<'a> {
        let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, OSCAL_NS.as_bytes());
        let mut run = report.generated_at.to_rfc3339();
        for inst in &report.instances {
            run.push('\n');
            run.push_str(&inst.instance);
        }
        let mut by_control: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for rule in &report.rules {
            for c in &rule.controls {
                if c.framework == Framework::Nist80053 {
                    by_control
                        .entry(c.control.as_str())
                        .or_default()
                        .push(rule.id.as_str());
                }
            }
        }
        let listed = ControlMapping::builtin().framework(Framework::Nist80053);
        let position = |id: &str| {
            listed
                .and_then(|f| f.controls.iter().position(|c| c.id == id))
                .unwrap_or(usize::MAX)
        };
        let title = |id: &str| {
            listed
                .and_then(|f| f.controls.iter().find(|c| c.id == id))
                .map_or("", |c| c.title.as_str())
        };
        let mut controls: Vec<_> = by_control
            .into_iter()
            .map(|(id, rules)| (id, title(id), rules))
            .collect();
        controls.sort_by_key(|(id, _, _)| position(id));
        Ctx {
            report,
            ns,
            run,
            controls,
        }
    }

    fn id(&self, parts: &[&str]) -> Uuid {
        Uuid::new_v5(&self.ns, parts.join("\n").as_bytes())
    }

    fn document(&self) -> Uuid {
        self.id(&["assessment-results", &self.run])
    }
    fn result(&self) -> Uuid {
        self.id(&["result", &self.run])
    }
    fn tool(&self) -> Uuid {
        self.id(&["tool", "jamf-warden"])
    }
    fn rule_pack(&self) -> Uuid {
        self.id(&["rule-pack", &self.report.rule_pack])
    }
    fn component(&self, inst: &str) -> Uuid {
        self.id(&["component", inst])
    }
    fn user(&self, inst: &str, client: &str) -> Uuid {
        self.id(&["user", inst, client])
    }
    fn resource(&self, inst: &str, kind: SubjectKind, name: &str) -> Uuid {
        self.id(&["resource", inst, kind.as_str(), name])
    }
    fn observation(&self, inst: &str, index: usize, key: &str) -> Uuid {
        self.id(&["observation", &self.run, inst, &index.to_string(), key])
    }
    fn not_assessed(&self, inst: &str) -> Uuid {
        self.id(&["not-assessed", &self.run, inst])
    }
    fn risk(&self, inst: &str) -> Uuid {
        self.id(&["risk", &self.run, inst])
    }
    fn finding(&self, inst: &str, control: &str) -> Uuid {
        self.id(&["finding", &self.run, inst, control])
    }

    fn audited(&self) -> impl Iterator<Item = &'a InstanceAudit> + 'a {
        self.report.instances.iter().filter(|i| i.error.is_none())
    }

    fn failed(&self) -> impl Iterator<Item = &'a InstanceAudit> + 'a {
        self.report.instances.iter().filter(|i| i.error.is_some())
    }

    /// When the instance's data was read (the report's generation time if unknown).
    fn collected(&self, inst: &InstanceAudit) -> DateTime<Utc> {
        inst.checked_at.unwrap_or(self.report.generated_at)
    }
}

/// `oscal`.
pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    let ctx = Ctx::new(report);
    pretty_to(out, &Document(&ctx));
}

struct Document<'c, 'a>(&'c Ctx<'a>);

impl Serialize for Document<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut doc = s.serialize_struct("Document", 1)?;
        doc.serialize_field("assessment-results", &AssessmentResults(self.0))?;
        doc.end()
    }
}

struct AssessmentResults<'c, 'a>(&'c Ctx<'a>);

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata<'a> {
    title: &'static str,
    last_modified: String,
    version: Cow<'a, str>,
    oscal_version: &'static str,
    props: Vec<Prop<'a>>,
}

#[derive(Serialize)]
struct ImportAp {
    href: String,
    remarks: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Resource<'a> {
    uuid: Uuid,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rlinks: Vec<RLink>,
}

#[derive(Serialize)]
struct RLink {
    href: &'static str,
}

impl Serialize for AssessmentResults<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let r = ctx.report;
        let mut props = Vec::new();
        prop(&mut props, "rule-pack", r.rule_pack.as_str());
        prop(&mut props, "risk-catalogue", r.risk_catalogue.as_str());
        if let Some(m) = &r.control_mapping {
            prop(&mut props, "control-mapping", m.as_str());
        }
        prop(&mut props, "warden-version", r.warden_version.as_str());
        prop(&mut props, "generated-at", stamp(&r.generated_at));
        if let Some(at) = &r.gathered_at {
            prop(&mut props, "gathered-at", stamp(at));
        }
        let metadata = Metadata {
            title: TITLE,
            last_modified: stamp(&r.generated_at),
            version: oscal_string(&r.warden_version).unwrap_or(Cow::Borrowed("unknown")),
            oscal_version: OSCAL_VERSION,
            props,
        };
        let import_ap = ImportAp {
            href: format!("#{}", ctx.rule_pack()),
            remarks: "Warden has no separate OSCAL assessment plan: its rule pack is the plan, \
                      described by the back-matter resource this reference names.",
        };
        let mut doc = s.serialize_struct("assessment-results", 5)?;
        doc.serialize_field("uuid", &ctx.document())?;
        doc.serialize_field("metadata", &metadata)?;
        doc.serialize_field("import-ap", &import_ap)?;
        doc.serialize_field("results", &[RunResult(ctx)])?;
        doc.serialize_field("back-matter", &BackMatter(ctx))?;
        doc.end()
    }
}

struct BackMatter<'c, 'a>(&'c Ctx<'a>);

impl Serialize for BackMatter<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let resources = Lazy(|| {
            std::iter::once(rule_pack_resource(ctx))
                .chain(ctx.audited().flat_map(|inst| subject_resources(ctx, inst)))
        });
        let mut bm = s.serialize_struct("back-matter", 1)?;
        bm.serialize_field("resources", &resources)?;
        bm.end()
    }
}

/// The rule pack: the assessment plan `import-ap` refers to.
fn rule_pack_resource<'a>(ctx: &Ctx<'a>) -> Resource<'a> {
    let r = ctx.report;
    let mut props = Vec::new();
    prop(&mut props, "rule-pack", r.rule_pack.as_str());
    prop(&mut props, "risk-catalogue", r.risk_catalogue.as_str());
    if let Some(m) = &r.control_mapping {
        prop(&mut props, "control-mapping", m.as_str());
    }
    for rule in &r.rules {
        prop(&mut props, "rule", format!("{} {}", rule.id, rule.title));
    }
    Resource {
        uuid: ctx.rule_pack(),
        title: format!("Jamf Warden audit rule pack {}", r.rule_pack),
        description: Some(format!(
            "The assessment plan of this audit: Warden's {} rules evaluated against each \
             instance's live API roles and clients, with the risk catalogue {} and the control \
             mapping {}.",
            r.rules.len(),
            r.risk_catalogue,
            r.control_mapping.as_deref().unwrap_or("(none)")
        )),
        props,
        rlinks: vec![RLink {
            href: RULE_PACK_DOC,
        }],
    }
}

/// The roles and suppressions findings of `inst` are about, once each, as back-matter
/// resources (subjects of type `resource`).
fn subject_resources<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit) -> Vec<Resource<'a>> {
    let mut seen = BTreeSet::new();
    let mut list = Vec::new();
    for f in &inst.findings {
        let kind = f.subject.kind;
        if !matches!(kind, SubjectKind::Role | SubjectKind::Suppression)
            || !seen.insert((kind, f.subject.name.as_str()))
        {
            continue;
        }
        let mut props = Vec::new();
        prop(&mut props, "instance", inst.instance.as_str());
        prop(&mut props, "subject-kind", kind.as_str());
        prop(&mut props, "subject", f.subject.name.as_str());
        let what = match kind {
            SubjectKind::Role => "Jamf Pro API role",
            _ => "Warden suppression",
        };
        list.push(Resource {
            uuid: ctx.resource(&inst.instance, kind, &f.subject.name),
            title: format!("{what} {} on {}", f.subject.name, inst.instance),
            description: None,
            props,
            rlinks: Vec::new(),
        });
    }
    list
}

struct RunResult<'c, 'a>(&'c Ctx<'a>);

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Component<'a> {
    uuid: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop<'a>>,
    status: ComponentStatus,
}

#[derive(Serialize)]
struct ComponentStatus {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

#[derive(Serialize)]
struct User<'a> {
    uuid: Uuid,
    title: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop<'a>>,
}

#[derive(Serialize)]
struct ControlSelection {
    #[serde(rename = "include-controls", skip_serializing_if = "Vec::is_empty")]
    include_controls: Vec<SelectControl>,
    remarks: String,
}

#[derive(Serialize)]
struct SelectControl {
    #[serde(rename = "control-id")]
    control_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ReviewedControls {
    control_selections: [ControlSelection; 1],
}

impl Serialize for RunResult<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let r = ctx.report;
        let reads = r
            .instances
            .iter()
            .filter_map(|i| i.checked_at)
            .chain(r.gathered_at);
        let start = reads.clone().min().unwrap_or(r.generated_at);
        let end = reads.max().filter(|end| *end > start);
        let sum = &r.summary;
        let not_assessed = ctx.failed().count();
        let mut props = Vec::new();
        for (class, n) in [
            ("critical", sum.critical),
            ("high", sum.high),
            ("medium", sum.medium),
            ("low", sum.low),
        ] {
            prop_class(&mut props, "open-findings", Some(class), n.to_string());
        }
        prop(
            &mut props,
            "suppressed-findings",
            sum.suppressed.to_string(),
        );
        prop(
            &mut props,
            "instances-not-assessed",
            not_assessed.to_string(),
        );
        let title = match r.instances.as_slice() {
            [one] => format!("Audit of {}", one.instance),
            list => format!("Audit of {} Jamf Pro instances", list.len()),
        };
        let mut description = format!(
            "Jamf Warden evaluated its rule pack {} (risk catalogue {}) against the live API \
             roles and clients of {} Jamf Pro instance(s); {} could not be audited. Open \
             findings: {} critical, {} high, {} medium, {} low; {} suppressed (accepted, not \
             counted as open).",
            r.rule_pack,
            r.risk_catalogue,
            r.instances.len(),
            not_assessed,
            sum.critical,
            sum.high,
            sum.medium,
            sum.low,
            sum.suppressed
        );
        if let Some(at) = &r.gathered_at {
            description.push_str(&format!(
                " Data gathered by the scheduled audit from {}; report generated {}.",
                stamp(at),
                stamp(&r.generated_at)
            ));
        }
        let reviewed = ReviewedControls {
            control_selections: [ControlSelection {
                include_controls: ctx
                    .controls
                    .iter()
                    .map(|(id, _, _)| SelectControl {
                        control_id: oscal_control_id(id),
                    })
                    .collect(),
                remarks: format!(
                    "The NIST SP 800-53 Rev. 5 controls the rule pack's rules evidence (control \
                     mapping {}); the SOC 2, ISO/IEC 27001:2022 and CIS v8.1 references are \
                     each observation's `control` properties.",
                    r.control_mapping.as_deref().unwrap_or("none")
                ),
            }],
        };
        let has_observations = r.instances.iter().any(|i| i.error.is_some())
            || r.instances.iter().any(|i| !i.findings.is_empty());
        let has_findings = !ctx.controls.is_empty() && ctx.audited().next().is_some();
        let mut res = s.serialize_struct("result", 12)?;
        res.serialize_field("uuid", &ctx.result())?;
        res.serialize_field("title", &title)?;
        res.serialize_field("description", &description)?;
        res.serialize_field("start", &stamp(&start))?;
        if let Some(end) = end {
            res.serialize_field("end", &stamp(&end))?;
        }
        res.serialize_field("props", &props)?;
        res.serialize_field("local-definitions", &LocalDefinitions(ctx))?;
        res.serialize_field("reviewed-controls", &reviewed)?;
        if has_observations {
            res.serialize_field(
                "observations",
                &Lazy(|| {
                    ctx.report.instances.iter().flat_map(|inst| {
                        let failed = inst.error.as_ref().map(|e| not_assessed_obs(ctx, inst, e));
                        failed.into_iter().chain(
                            inst.findings
                                .iter()
                                .enumerate()
                                .map(|(i, f)| observation(ctx, inst, i, f)),
                        )
                    })
                }),
            )?;
        }
        if not_assessed > 0 {
            res.serialize_field("risks", &Lazy(|| ctx.failed().map(|i| risk(ctx, i))))?;
        }
        if has_findings {
            res.serialize_field(
                "findings",
                &Lazy(|| {
                    ctx.audited().flat_map(|inst| {
                        ctx.controls
                            .iter()
                            .map(|control| control_finding(ctx, inst, control))
                    })
                }),
            )?;
        }
        res.end()
    }
}

struct LocalDefinitions<'c, 'a>(&'c Ctx<'a>);

impl Serialize for LocalDefinitions<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let components = Lazy(|| {
            std::iter::once(tool_component(ctx)).chain(
                ctx.report
                    .instances
                    .iter()
                    .map(|i| instance_component(ctx, i)),
            )
        });
        let has_users = ctx
            .report
            .instances
            .iter()
            .any(|i| !i.client_privileges.is_empty());
        let mut ld = s.serialize_struct("local-definitions", 2)?;
        ld.serialize_field("components", &components)?;
        if has_users {
            ld.serialize_field(
                "users",
                &Lazy(|| {
                    ctx.report.instances.iter().flat_map(|inst| {
                        inst.client_privileges
                            .iter()
                            .map(move |c| user(ctx, inst, c))
                    })
                }),
            )?;
        }
        ld.end()
    }
}

fn tool_component<'a>(ctx: &Ctx<'a>) -> Component<'a> {
    let mut props = Vec::new();
    prop(
        &mut props,
        "warden-version",
        ctx.report.warden_version.as_str(),
    );
    Component {
        uuid: ctx.tool(),
        kind: "software",
        title: "Jamf Warden",
        description: "The tool that performed the audit: it reads each Jamf Pro instance's \
                      API roles, clients and privilege catalogue and evaluates its rule pack."
            .to_owned(),
        props,
        status: ComponentStatus {
            state: "operational",
            remarks: None,
        },
    }
}

fn instance_component<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit) -> Component<'a> {
    let mut props = Vec::new();
    prop(&mut props, "instance", inst.instance.as_str());
    prop(&mut props, "url", inst.url.as_str());
    if let Some(at) = &inst.checked_at {
        prop(&mut props, "gathered-at", stamp(at));
    }
    if let Some(c) = &inst.catalogue {
        prop(&mut props, "catalogue-sha256", c.sha256.as_str());
        prop(&mut props, "catalogue-size", c.size.to_string());
        prop(&mut props, "catalogue-fetched-at", stamp(&c.fetched_at));
    }
    if inst.error.is_none() {
        prop(&mut props, "roles", inst.roles.to_string());
        prop(&mut props, "clients", inst.clients.to_string());
    }
    Component {
        uuid: ctx.component(&inst.instance),
        kind: "service",
        title: &inst.instance,
        description: format!("Jamf Pro instance {} at {}", inst.instance, inst.url),
        props,
        status: match &inst.error {
            None => ComponentStatus {
                state: "operational",
                remarks: None,
            },
            Some(e) => ComponentStatus {
                state: "other",
                remarks: Some(format!("could not be audited: {e}")),
            },
        },
    }
}

fn user<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit, c: &'a ClientPrivileges) -> User<'a> {
    let mut props = Vec::new();
    prop(&mut props, "instance", inst.instance.as_str());
    prop(&mut props, "client", c.name.as_str());
    prop(&mut props, "owner", c.owner_label());
    prop(&mut props, "purpose", c.purpose_label());
    prop(&mut props, "enabled", c.enabled.to_string());
    prop(&mut props, "declared", c.declared.to_string());
    prop(&mut props, "app-type", c.app_type.as_str());
    prop(
        &mut props,
        "token-lifetime-seconds",
        c.token_lifetime.to_string(),
    );
    prop(
        &mut props,
        "effective-privileges",
        c.privileges.len().to_string(),
    );
    for role in &c.roles {
        prop(&mut props, "role", role.as_str());
    }
    for (category, list) in &c.by_category {
        for p in list {
            prop_class(
                &mut props,
                "risky-privilege",
                Some(category.as_str()),
                p.as_str(),
            );
        }
    }
    if let Some(secret) = &c.secret {
        prop(&mut props, "secret-status", secret.summary());
    }
    User {
        uuid: ctx.user(&inst.instance, &c.name),
        title: &c.name,
        description: format!(
            "Jamf Pro API client on {} (owner: {}; purpose: {})",
            inst.instance,
            c.owner_label(),
            c.purpose_label()
        ),
        props,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Observation<'a> {
    uuid: Uuid,
    title: String,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop<'a>>,
    methods: [&'static str; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    types: Vec<&'static str>,
    origins: [Origin; 1],
    subjects: Vec<SubjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relevant_evidence: Vec<RelevantEvidence<'a>>,
    collected: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

#[derive(Serialize)]
struct Origin {
    actors: [Actor; 1],
}

#[derive(Serialize)]
struct Actor {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "actor-uuid")]
    actor_uuid: Uuid,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SubjectRef {
    subject_uuid: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
}

#[derive(Serialize)]
struct RelevantEvidence<'a> {
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop<'a>>,
}

/// How Warden observes: OSCAL's `EXAMINE` (reviewing the configuration of the assessment
/// objects; OSCAL 1.1's allowed methods are EXAMINE, INTERVIEW, TEST and UNKNOWN).
const METHOD: [&str; 1] = ["EXAMINE"];

fn origin(ctx: &Ctx<'_>) -> [Origin; 1] {
    [Origin {
        actors: [Actor {
            kind: "tool",
            actor_uuid: ctx.tool(),
        }],
    }]
}

fn instance_subject(ctx: &Ctx<'_>, inst: &InstanceAudit) -> SubjectRef {
    SubjectRef {
        subject_uuid: ctx.component(&inst.instance),
        kind: "component",
        title: format!("Jamf Pro instance {}", inst.instance),
    }
}

/// The instance, what the finding is about, and (a role) the live clients holding it.
fn subjects(ctx: &Ctx<'_>, inst: &InstanceAudit, f: &Finding) -> Vec<SubjectRef> {
    let mut list = vec![instance_subject(ctx, inst)];
    let client = |name: &str| SubjectRef {
        subject_uuid: ctx.user(&inst.instance, name),
        kind: "user",
        title: format!("API client {name}"),
    };
    match f.subject.kind {
        SubjectKind::Instance => {}
        SubjectKind::Client if inst.client(&f.subject.name).is_some() => {
            list.push(client(&f.subject.name));
        }
        kind => list.push(SubjectRef {
            subject_uuid: ctx.resource(&inst.instance, kind, &f.subject.name),
            kind: "resource",
            title: super::subject_label(f),
        }),
    }
    if f.subject.kind == SubjectKind::Role {
        list.extend(
            f.evidence
                .clients
                .iter()
                .filter(|c| inst.client(c).is_some())
                .map(|c| client(c)),
        );
    }
    list
}

fn observation<'a>(
    ctx: &Ctx<'a>,
    inst: &'a InstanceAudit,
    index: usize,
    f: &'a Finding,
) -> Observation<'a> {
    let r = ctx.report;
    let key = f.key();
    let mut props = Vec::new();
    prop(&mut props, "rule", f.rule.as_str());
    prop(&mut props, "severity", f.severity.as_str());
    prop(&mut props, "finding-key", key.clone());
    prop(&mut props, "instance", inst.instance.as_str());
    prop(&mut props, "subject-kind", f.subject.kind.as_str());
    prop(&mut props, "subject", f.subject.name.as_str());
    match suppression_of(r, f) {
        Some(s) => {
            prop(&mut props, "finding-status", "suppressed");
            prop(&mut props, "suppression-state", suppression_state(s));
            prop(&mut props, "suppression-reason", s.reason.as_str());
            prop(&mut props, "suppression-owner", s.owner.as_str());
            if let Some(expires) = &s.expires {
                prop(&mut props, "suppression-expires", expires.to_string());
            }
        }
        None => prop(&mut props, "finding-status", "open"),
    }
    if inst
        .since_last
        .as_ref()
        .is_some_and(|s| s.new.contains(&key))
    {
        prop(&mut props, "new-since-last", "true");
    }
    if let Some(c) = r.client_of(f) {
        prop(&mut props, "client-owner", c.owner_label());
        prop(&mut props, "client-purpose", c.purpose_label());
    }
    for c in r.controls_of(&f.rule) {
        prop_class(
            &mut props,
            "control",
            Some(c.framework.as_str()),
            c.control.as_str(),
        );
    }
    let mut evidence = Vec::new();
    let ev = &f.evidence;
    let mut ev_props = Vec::new();
    for p in &ev.privileges {
        prop(&mut ev_props, "privilege", p.as_str());
    }
    for role in &ev.roles {
        prop(&mut ev_props, "role", role.as_str());
    }
    for client in &ev.clients {
        prop(&mut ev_props, "client", client.as_str());
    }
    let mut lines = Vec::new();
    if !ev.privileges.is_empty() {
        lines.push(format!("Privileges: {}.", ev.privileges.join(", ")));
    }
    if !ev.roles.is_empty() {
        lines.push(format!("Roles: {}.", ev.roles.join(", ")));
    }
    if !ev.clients.is_empty() {
        lines.push(format!("Clients: {}.", ev.clients.join(", ")));
    }
    if !ev.facts.is_empty() {
        let facts: Vec<String> = ev
            .facts
            .iter()
            .map(|(k, v)| format!("{k}: {}", fact_value(v)))
            .collect();
        lines.push(format!("Facts: {}.", facts.join("; ")));
    }
    if !lines.is_empty() {
        evidence.push(RelevantEvidence {
            description: lines.join(" "),
            props: ev_props,
        });
    }
    if let Some(c) = &inst.catalogue {
        evidence.push(RelevantEvidence {
            description: format!(
                "Privilege catalogue of {}: {} privileges, SHA-256 {} of the sorted names, \
                 fetched {}.",
                inst.instance,
                c.size,
                c.sha256,
                stamp(&c.fetched_at)
            ),
            props: Vec::new(),
        });
    }
    Observation {
        uuid: ctx.observation(&inst.instance, index, &key),
        title: format!(
            "{} {}: {} on {}",
            f.rule,
            f.title,
            super::subject_label(f),
            inst.instance
        ),
        description: f.rationale.clone(),
        props,
        methods: METHOD,
        types: vec!["finding"],
        origins: origin(ctx),
        subjects: subjects(ctx, inst, f),
        relevant_evidence: evidence,
        collected: stamp(&ctx.collected(inst)),
        remarks: Some(format!("Fix: {}", f.fix)),
    }
}

fn not_assessed_obs<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit, error: &str) -> Observation<'a> {
    let mut props = Vec::new();
    prop(&mut props, "instance", inst.instance.as_str());
    prop(&mut props, "finding-status", "not-assessed");
    Observation {
        uuid: ctx.not_assessed(&inst.instance),
        title: format!("{} could not be audited", inst.instance),
        description: format!(
            "Jamf Warden could not audit the Jamf Pro instance {} ({}): {error}. Its API roles \
             and clients were not assessed.",
            inst.instance, inst.url
        ),
        props,
        methods: METHOD,
        types: Vec::new(),
        origins: origin(ctx),
        subjects: vec![instance_subject(ctx, inst)],
        relevant_evidence: Vec::new(),
        collected: stamp(&ctx.collected(inst)),
        remarks: None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Risk<'a> {
    uuid: Uuid,
    title: String,
    description: String,
    statement: &'static str,
    props: Vec<Prop<'a>>,
    status: &'static str,
    related_observations: [RelatedObservation; 1],
}

#[derive(Serialize)]
struct RelatedObservation {
    #[serde(rename = "observation-uuid")]
    observation_uuid: Uuid,
}

fn risk<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit) -> Risk<'a> {
    let mut props = Vec::new();
    prop(&mut props, "instance", inst.instance.as_str());
    Risk {
        uuid: ctx.risk(&inst.instance),
        title: format!("{} not assessed", inst.instance),
        description: format!(
            "The audit of {} failed: {}",
            inst.instance,
            inst.error.as_deref().unwrap_or("unknown error")
        ),
        statement: "Until an audit succeeds, the instance's API roles and clients may hold any \
                    of the risks the rule pack looks for; none of its controls was assessed.",
        props,
        status: "open",
        related_observations: [RelatedObservation {
            observation_uuid: ctx.not_assessed(&inst.instance),
        }],
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct OscalFinding<'a> {
    uuid: Uuid,
    title: String,
    description: String,
    props: Vec<Prop<'a>>,
    target: Target,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_observations: Vec<RelatedObservation>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Target {
    #[serde(rename = "type")]
    kind: &'static str,
    target_id: String,
    title: String,
    status: TargetStatus,
}

#[derive(Serialize)]
struct TargetStatus {
    state: &'static str,
    reason: &'static str,
}

/// The result of one NIST control on one audited instance.
fn control_finding<'a>(
    ctx: &Ctx<'a>,
    inst: &'a InstanceAudit,
    (id, title, rules): &(&'a str, &'static str, Vec<&'a str>),
) -> OscalFinding<'a> {
    let relevant: Vec<(usize, &Finding)> = inst
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| rules.contains(&f.rule.as_str()))
        .collect();
    let open = relevant
        .iter()
        .filter(|(_, f)| f.suppressed_by.is_none())
        .count();
    let suppressed = relevant.len() - open;
    let label = if title.is_empty() {
        (*id).to_owned()
    } else {
        format!("{id} {title}")
    };
    let mut props = Vec::new();
    prop(&mut props, "instance", inst.instance.as_str());
    prop(&mut props, "control", *id);
    for rule in rules {
        prop(&mut props, "rule", *rule);
    }
    prop(&mut props, "open-findings", open.to_string());
    prop(&mut props, "suppressed-findings", suppressed.to_string());
    let (state, reason, verdict) = if open > 0 {
        (
            "not-satisfied",
            "fail",
            format!("{open} open finding(s) of rules {}", rules.join(", ")),
        )
    } else {
        (
            "satisfied",
            "pass",
            format!("no open finding of rules {}", rules.join(", ")),
        )
    };
    let accepted = if suppressed > 0 {
        format!("; {suppressed} suppressed (accepted, not counted)")
    } else {
        String::new()
    };
    OscalFinding {
        uuid: ctx.finding(&inst.instance, id),
        title: format!("{label} on {}", inst.instance),
        description: format!(
            "{label} is {} on {}: {verdict}{accepted}.",
            state.replace('-', " "),
            inst.instance
        ),
        props,
        target: Target {
            kind: "objective-id",
            target_id: format!("{}{OBJECTIVE_SUFFIX}", oscal_control_id(id)),
            title: label,
            status: TargetStatus { state, reason },
        },
        related_observations: relevant
            .iter()
            .map(|(i, f)| RelatedObservation {
                observation_uuid: ctx.observation(&inst.instance, *i, &f.key()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_are_spelled_as_nist_s_catalog_does() {
        assert_eq!(oscal_control_id("AC-6(1)"), "ac-6.1");
        assert_eq!(oscal_control_id("AC-6(10)"), "ac-6.10");
        assert_eq!(oscal_control_id("IA-5"), "ia-5");
    }

    #[test]
    fn property_values_fit_oscal_s_string_datatype() {
        assert_eq!(oscal_string("  a b  ").as_deref(), Some("a b"));
        assert_eq!(
            oscal_string("Deploy\nNightly").as_deref(),
            Some("Deploy Nightly")
        );
        assert_eq!(oscal_string("a\t\tb\u{7}c").as_deref(), Some("a b c"));
        assert_eq!(oscal_string(" \n "), None);
        let mut props = Vec::new();
        prop(&mut props, "x", "");
        assert!(props.is_empty());
    }
}
