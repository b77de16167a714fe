//! The OSCAL result of the audit run: its times, counts, local definitions (Warden, the
//! instances, the clients) and reviewed controls; the observations, risks and findings come
//! from [`super::assess`].

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::assess::{control_finding, not_assessed_obs, observation, risk};
use super::{Ctx, Lazy, Prop, oscal_control_id, prop, prop_class};
use crate::audit::render::stamp;
use crate::audit::{ClientPrivileges, InstanceAudit};

pub(super) struct RunResult<'c, 'a>(pub(super) &'c Ctx<'a>);

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
    // how many, by category (the privileges themselves are in the access review, grc-json)
    for (category, list) in &c.by_category {
        prop_class(
            &mut props,
            "risky-privileges",
            Some(category.as_str()),
            list.len().to_string(),
        );
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
