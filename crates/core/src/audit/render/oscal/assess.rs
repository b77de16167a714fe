//! The OSCAL observations (one per finding, one per instance that could not be audited), the
//! risks (an instance not assessed) and the findings (one per NIST control and instance).

use serde::Serialize;
use uuid::Uuid;

use super::{Ctx, OBJECTIVE_SUFFIX, Prop, oscal_control_id, prop, prop_class};
use crate::audit::render::{fact_value, stamp, subject_label, suppression_of, suppression_state};
use crate::audit::{Finding, InstanceAudit, SubjectKind};

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct Observation<'a> {
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
    relevant_evidence: Vec<RelevantEvidence>,
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
struct RelevantEvidence {
    description: String,
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
            title: subject_label(f),
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

pub(super) fn observation<'a>(
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
    // The evidence once, as text (the privileges of a broad finding are hundreds); the
    // instance's privilege catalogue is on its component.
    let ev = &f.evidence;
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
    let evidence = if lines.is_empty() {
        Vec::new()
    } else {
        vec![RelevantEvidence {
            description: lines.join(" "),
        }]
    };
    Observation {
        uuid: ctx.observation(&inst.instance, index, &key),
        title: format!(
            "{} {}: {} on {}",
            f.rule,
            f.title,
            subject_label(f),
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

pub(super) fn not_assessed_obs<'a>(
    ctx: &Ctx<'a>,
    inst: &'a InstanceAudit,
    error: &str,
) -> Observation<'a> {
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
pub(super) struct Risk<'a> {
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

pub(super) fn risk<'a>(ctx: &Ctx<'a>, inst: &'a InstanceAudit) -> Risk<'a> {
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
pub(super) struct OscalFinding<'a> {
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
pub(super) fn control_finding<'a>(
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
