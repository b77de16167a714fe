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

mod assess;
mod result;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::out::Out;
use super::stamp;
use crate::audit::controls::{ControlMapping, Framework};
use crate::audit::{AuditReport, InstanceAudit, SubjectKind};

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
    // compact: a fleet's document is large, and read by tools (`jq .` shows it indented)
    if let Err(e) = serde_json::to_writer(&mut *out, &Document(&ctx)) {
        if e.is_io() {
            // kept by `out`, returned by `finish`
            return;
        }
        out.push_str(
            &serde_json::json!({ "error": format!("cannot encode the report: {e}") }).to_string(),
        );
    }
    out.push('\n');
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
        doc.serialize_field("results", &[result::RunResult(ctx)])?;
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
