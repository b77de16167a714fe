//! `wardenctl plan [INSTANCE...] [--desired PATH]`: the changes `apply` would make, from the
//! live state read now. Read-only. One instance answers a `warden.plan/1` document; several or
//! all answer a `warden.plan-fleet/1` document with a summary, an instance that cannot be
//! planned listed with its error. With proposed files, each instance that lists one is planned
//! with them in place of its loaded files; nothing is loaded or kept. An invalid desired state
//! (unknown privileges) is refused with suggestions.

use std::sync::Arc;

use warden_core::config::{Config, Instance};
use warden_core::drift::{FleetPlanDocument, FleetPlanEntry};
use warden_core::protocol::{PlanRequest, ReportKind, Response};

use crate::services::ServiceError;
use crate::services::drift::{Drift, DriftError, Substituted, substitute};

pub async fn handle(config: &Arc<Config>, drift: &Arc<Drift>, request: PlanRequest) -> Response {
    let single = !request.instance.is_empty();
    let names = if single {
        vec![request.instance.clone()]
    } else {
        request.instances.clone()
    };
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| config.instance(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return super::no_instance(&unknown.join(", "));
    }
    let refresh = request.refresh_catalogue;
    let targets: Vec<Target> = if request.desired.is_empty() {
        super::select(config, &names)
            .into_iter()
            .map(|i| Target::Loaded(config.instances[i].clone()))
            .collect()
    } else {
        match substitute(config, &names, &request.desired) {
            Ok(list) => list.into_iter().map(Target::Proposed).collect(),
            Err(e) => return e.response(),
        }
    };
    if single {
        let Some(target) = targets.into_iter().next() else {
            return super::no_instance(&request.instance);
        };
        let planned = {
            let _slot = drift.slot().await;
            target.plan(drift, refresh).await
        };
        return match planned {
            Ok(doc) => {
                let findings = doc.plan.steps.len() as u64;
                super::report(ReportKind::Plan, Some(doc.instance.clone()), findings, &doc)
            }
            Err(e @ DriftError::Invalid { .. }) => e.response(),
            Err(e) => super::cannot_check(&request.instance, &e),
        };
    }
    let doc = fleet(drift, targets, refresh).await;
    let findings = (doc.steps() + doc.summary.failed) as u64;
    super::report(ReportKind::Plan, None, findings, &doc)
}

/// An instance to plan: as loaded, or with proposed files.
enum Target {
    Loaded(Instance),
    Proposed(Substituted),
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Loaded(i) => &i.name,
            Target::Proposed(s) => &s.instance.name,
        }
    }

    async fn plan(
        &self,
        drift: &Drift,
        refresh: bool,
    ) -> Result<warden_core::drift::PlanDocument, DriftError> {
        match self {
            Target::Loaded(inst) => drift.plan_doc(inst, refresh, None).await,
            Target::Proposed(s) => drift.plan_doc(&s.instance, refresh, Some(s)).await,
        }
    }
}

/// Plans every target, at most `daemon.max_concurrent_checks` at once, in the order given.
async fn fleet(drift: &Arc<Drift>, targets: Vec<Target>, refresh: bool) -> FleetPlanDocument {
    let mut tasks = tokio::task::JoinSet::new();
    let total = targets.len();
    for (n, target) in targets.into_iter().enumerate() {
        let drift = Arc::clone(drift);
        // a task starts only with a slot, as the drift checks of a fleet
        let slot = drift.owned_slot().await;
        tasks.spawn(async move {
            let _slot = slot;
            let name = target.name().to_owned();
            let entry = match target.plan(&drift, refresh).await {
                Ok(doc) => FleetPlanEntry {
                    instance: name,
                    error: None,
                    plan: Some(doc),
                },
                Err(e) => FleetPlanEntry {
                    instance: name,
                    error: Some(e.to_string()),
                    plan: None,
                },
            };
            (n, entry)
        });
    }
    let mut out = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(pair) => out.push(pair),
            Err(e) => tracing::error!(error = %e, "a plan task failed"),
        }
    }
    out.sort_by_key(|(n, _)| *n);
    FleetPlanDocument::new(out.into_iter().map(|(_, e)| e).collect())
}
