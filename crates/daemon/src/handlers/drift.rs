//! `wardenctl drift [INSTANCE]` and `wardenctl plan INSTANCE`: declared versus live roles and
//! clients, checked now against Jamf with the management client. Read-only: nothing in Jamf,
//! Vault or the change log changes. Declared privileges are validated against the instance's
//! live catalogue first (unknown names come with suggestions).

use std::collections::BTreeSet;
use std::sync::Arc;

use warden_core::config::{Instance, RotationStrategy};
use warden_core::drift::{self, Live};
use warden_core::jamf::JamfError;
use warden_core::protocol::{ErrorCode, ReportFormat, ReportKind, ReportResponse, Response};
use warden_core::rotation::alternate_name;

use crate::jobs::management_client;
use crate::rotation::{MANAGEMENT_NAME, targets};
use crate::shared::Shared;

/// The drift of one instance or of all of them.
pub async fn drift(shared: &Arc<Shared>, instance: Option<String>) -> Response {
    let config = shared.config();
    let instances: Vec<&Instance> = config
        .instances
        .iter()
        .filter(|i| instance.as_deref().is_none_or(|n| n == i.name))
        .collect();
    if let Some(name) = &instance
        && instances.is_empty()
    {
        return not_found(name);
    }
    let mut text = String::new();
    let mut findings = 0u64;
    for inst in instances {
        text.push_str(&format!("# instance {}\n", inst.name));
        match check(shared, inst).await {
            Ok((live, rotated)) => {
                if let Err(errors) = drift::validate(&inst.desired_state, &live.privileges) {
                    findings += errors.len() as u64;
                    for e in errors {
                        text.push_str(&format!("! {e}\n"));
                    }
                }
                let report = drift::detect(
                    &inst.desired_state,
                    &live,
                    &|name: &str| rotated.contains(name),
                    inst.prune,
                );
                findings += report.items.len() as u64;
                text.push_str(&drift::render_report(&report, false));
            }
            Err(e) => {
                findings += 1;
                text.push_str(&format!("! cannot check {}: {e}\n", inst.name));
            }
        }
        text.push('\n');
    }
    Response::Report(ReportResponse {
        kind: ReportKind::Drift,
        instance,
        format: ReportFormat::Text,
        findings,
        body: serde_json::Value::String(text),
    })
}

/// The changes `apply` would make to one instance.
pub async fn plan(shared: &Arc<Shared>, instance: String) -> Response {
    let config = shared.config();
    let Some(inst) = config.instance(&instance) else {
        return not_found(&instance);
    };
    let (live, _) = match check(shared, inst).await {
        Ok(l) => l,
        Err(e) => {
            return Response::error(
                ErrorCode::Unavailable,
                format!("cannot check {instance}: {e}"),
            );
        }
    };
    if let Err(errors) = drift::validate(&inst.desired_state, &live.privileges) {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Response::error(
            ErrorCode::BadRequest,
            format!(
                "the desired state of {instance} is invalid; fix it first:\n{}",
                list.join("\n")
            ),
        );
    }
    let plan = drift::plan(&inst.desired_state, &live, inst.prune);
    Response::Report(ReportResponse {
        kind: ReportKind::Plan,
        instance: Some(instance),
        format: ReportFormat::Text,
        findings: plan.steps.len() as u64,
        body: serde_json::Value::String(drift::render_plan(&plan, false)),
    })
}

/// Live roles, clients and privilege catalogue, and the declared clients Warden has rotated.
async fn check(shared: &Arc<Shared>, inst: &Instance) -> Result<(Live, BTreeSet<String>), String> {
    let jamf = management_client(shared, &inst.name).await?;
    let fetched = async {
        Ok::<_, JamfError>(Live {
            roles: jamf.list_roles().await?,
            clients: jamf.list_integrations().await?,
            privileges: jamf.list_privileges().await?,
        })
    }
    .await
    .map_err(|e| e.to_string())?;
    // Warden's own management role and client, and the alternates it keeps for alternating
    // clients, are Warden's: neither drift nor, with prune, something to delete.
    let mut fetched = fetched;
    if inst.desired_state.role(MANAGEMENT_NAME).is_none() {
        fetched.roles.retain(|r| r.display_name != MANAGEMENT_NAME);
    }
    if inst.desired_state.client(MANAGEMENT_NAME).is_none() {
        fetched
            .clients
            .retain(|c| c.display_name != MANAGEMENT_NAME);
    }
    // the `(alternate)` twin of an alternating client is created and rotated by Warden
    let twins: BTreeSet<String> = inst
        .desired_state
        .clients
        .iter()
        .filter(|c| c.rotation.strategy == RotationStrategy::Alternating)
        .map(|c| alternate_name(&c.name))
        .collect();
    fetched.clients.retain(|c| !twins.contains(&c.display_name));
    let mut rotated = BTreeSet::new();
    for target in targets(inst) {
        if let Ok(s) = shared.rotation.status(&target).await
            && s.rotated_at.is_some()
        {
            rotated.insert(target.client.name.clone());
        }
    }
    Ok((fetched, rotated))
}

fn not_found(name: &str) -> Response {
    Response::error(
        ErrorCode::NotFound,
        format!("no instance named {name} is configured"),
    )
}
