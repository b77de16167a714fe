//! `apply`: run an instance's plan, step by step, each step recorded in the change log before
//! (`started`, with the live object and the request) and after (`ok` with Jamf's answer, or
//! `failed` with the error). The first failed step stops the run; the report says what was and
//! was not done, and running apply again plans from the live state and converges.
//!
//! Secret rotations in the plan (a new client, a client whose roles changed, a client enabled
//! without a secret) go through the rotation engine with its own records, so the consumer in
//! Vault gets a working secret for the new scope. One apply per instance runs at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::Instance;
use warden_core::drift::{
    self, APPLY_SCHEMA, Action as StepAction, ApplyReport, Live, PlanBody, PlanStep, StepResult,
    StepStatus,
};
use warden_core::jamf::{ApiIntegration, ApiRole, JamfClient, JamfError};
use warden_core::protocol::ErrorCode;

use crate::drift::fetch;
use crate::jobs::management_client;
use crate::rotation::{RunFailure, run_one, target};
use crate::shared::Shared;

/// How long a rotation right after creating its client waits for Jamf to show the client
/// (clustered servers answer reads from nodes that may lag behind the write).
const NEW_CLIENT_WAIT: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Applies the desired state of `inst` as `actor`. `Err` when nothing could start (instance
/// unreachable, invalid desired state, another apply running, change log unwritable).
pub async fn apply(
    shared: &Arc<Shared>,
    inst: &Instance,
    actor: Actor,
) -> Result<ApplyReport, RunFailure> {
    let lock = shared.apply_lock(&inst.name);
    let Ok(_guard) = lock.try_lock() else {
        return Err(RunFailure::new(
            ErrorCode::Conflict,
            format!(
                "an apply of {} is already running; wait for it and plan again",
                inst.name
            ),
        ));
    };
    let unavailable = |e: String| RunFailure::new(ErrorCode::Unavailable, e);
    let jamf = management_client(shared, &inst.name)
        .await
        .map_err(unavailable)?;
    let checked = fetch(shared, inst, false)
        .await
        .map_err(|e| unavailable(format!("cannot read the live state of {}: {e}", inst.name)))?;
    if let Err(errors) = drift::validate(&inst.desired_state, &checked.live.privileges) {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(RunFailure::new(
            ErrorCode::BadRequest,
            format!(
                "the desired state of {} is invalid; fix it first (nothing was changed):\n{}",
                inst.name,
                list.join("\n")
            ),
        ));
    }
    let plan = drift::plan(&inst.desired_state, &checked.live, inst.prune);
    let mut report = ApplyReport {
        schema: APPLY_SCHEMA.to_owned(),
        instance: inst.name.clone(),
        started_at: shared.now(),
        steps: Vec::new(),
    };
    if plan.is_empty() {
        return Ok(report);
    }
    let internal = |e: String| RunFailure::new(ErrorCode::Internal, e);
    let begin = ChangeEntry::new(
        actor.clone(),
        ObjectRef::named(ObjectKind::Instance, &inst.name),
        Action::Apply,
        Outcome::Started,
    )
    .instance(&inst.name)
    .after(json!({ "steps": plan.steps, "prune": inst.prune }));
    shared.record(begin).await.map_err(internal)?;

    let mut created: BTreeMap<String, bool> = BTreeMap::new();
    let mut stopped = false;
    let index = LiveIndex::of(&checked.live);
    for step in plan.steps {
        if stopped {
            report.steps.push(StepResult {
                step,
                status: StepStatus::NotRun,
                error: None,
                change_seq: None,
            });
            continue;
        }
        let result = match step.action {
            StepAction::RotateSecret => {
                let new = created.contains_key(&step.name);
                rotate_step(shared, inst, &jamf, step, actor.clone(), new).await
            }
            _ => {
                let result = jamf_step(shared, inst, &jamf, &index, step, actor.clone()).await;
                if result.status == StepStatus::Done
                    && result.step.action == StepAction::CreateClient
                {
                    created.insert(result.step.name.clone(), true);
                }
                result
            }
        };
        stopped = result.status == StepStatus::Failed;
        report.steps.push(result);
    }
    let outcome = if stopped {
        Outcome::Failed
    } else {
        Outcome::Ok
    };
    let failed = report.steps.iter().find(|s| s.status == StepStatus::Failed);
    let mut end = ChangeEntry::new(
        actor,
        ObjectRef::named(ObjectKind::Instance, &inst.name),
        Action::Apply,
        outcome,
    )
    .instance(&inst.name)
    .after(json!({
        "done": report.done(),
        "not_run": report.steps.iter().filter(|s| s.status == StepStatus::NotRun).count(),
        "failed_step": failed.map(|f| json!({"action": f.step.action, "name": f.step.name})),
    }));
    if let Some(f) = failed {
        end = end.error(f.error.clone().unwrap_or_default());
    }
    shared.record(end).await.map_err(internal)?;
    Ok(report)
}

/// The live objects by id and by name (first of each), built once per apply: a pruning plan
/// has a step per live object, and a scan per step was quadratic in what Jamf sent.
struct LiveIndex<'a> {
    roles: HashMap<String, &'a ApiRole>,
    role_names: HashMap<&'a str, &'a ApiRole>,
    clients: HashMap<String, &'a ApiIntegration>,
    client_names: HashMap<&'a str, &'a ApiIntegration>,
}

impl<'a> LiveIndex<'a> {
    fn of(live: &'a Live) -> Self {
        let mut index = LiveIndex {
            roles: HashMap::new(),
            role_names: HashMap::new(),
            clients: HashMap::new(),
            client_names: HashMap::new(),
        };
        for r in &live.roles {
            index.roles.entry(r.id.clone()).or_insert(r);
            index.role_names.entry(r.display_name.as_str()).or_insert(r);
        }
        for c in &live.clients {
            index.clients.entry(c.id.to_string()).or_insert(c);
            index
                .client_names
                .entry(c.display_name.as_str())
                .or_insert(c);
        }
        index
    }
}

/// One create, update or delete, between its `started` and its `ok`/`failed` records.
async fn jamf_step(
    shared: &Arc<Shared>,
    inst: &Instance,
    jamf: &JamfClient,
    live: &LiveIndex<'_>,
    step: PlanStep,
    actor: Actor,
) -> StepResult {
    let (kind, action) = match step.action {
        StepAction::CreateRole => (ObjectKind::Role, Action::Create),
        StepAction::UpdateRole => (ObjectKind::Role, Action::Update),
        StepAction::DeleteRole => (ObjectKind::Role, Action::Delete),
        StepAction::CreateClient => (ObjectKind::Client, Action::Create),
        StepAction::UpdateClient => (ObjectKind::Client, Action::Update),
        StepAction::DeleteClient | StepAction::RotateSecret => (ObjectKind::Client, Action::Delete),
    };
    let mut object = ObjectRef::named(kind, &step.name);
    if let Some(id) = &step.id {
        object = object.with_id(id);
    }
    // by id when the step has one: a rename changes the name
    let id = step.id.as_deref();
    let before = match kind {
        ObjectKind::Role => match id {
            Some(id) => live.roles.get(id),
            None => live.role_names.get(step.name.as_str()),
        }
        .map(|r| json!(r)),
        _ => match id {
            Some(id) => live.clients.get(id),
            None => live.client_names.get(step.name.as_str()),
        }
        .map(|c| json!(c)),
    }
    .unwrap_or(Value::Null);
    let body = match &step.body {
        Some(PlanBody::Role(r)) => json!(r),
        Some(PlanBody::Client(c)) => json!(c),
        None => Value::Null,
    };
    // a stopping daemon waits for the step and its records, never exits between them
    let _critical = shared.critical.read().await;
    let started = ChangeEntry::new(actor.clone(), object.clone(), action, Outcome::Started)
        .instance(&inst.name)
        .before(before.clone())
        .after(body);
    if let Err(e) = shared.record(started).await {
        return failed(step, e, None);
    }
    let done = call(jamf, &step).await;
    let entry = ChangeEntry::new(actor, object, action, Outcome::Ok)
        .instance(&inst.name)
        .before(before);
    let (entry, error) = match done {
        Ok(after) => (entry.after(after), None),
        Err(message) => {
            let entry = ChangeEntry {
                outcome: Outcome::Failed,
                ..entry
            };
            (entry.error(message.clone()), Some(message))
        }
    };
    let recorded = shared.record(entry).await;
    match (error, recorded) {
        (None, Ok(r)) => StepResult {
            step,
            status: StepStatus::Done,
            error: None,
            change_seq: Some(r.seq),
        },
        (None, Err(e)) => failed(step, format!("done in Jamf, but {e}"), None),
        (Some(message), r) => failed(step, message, r.ok().map(|r| r.seq)),
    }
}

fn failed(step: PlanStep, error: String, seq: Option<u64>) -> StepResult {
    StepResult {
        step,
        status: StepStatus::Failed,
        error: Some(error),
        change_seq: seq,
    }
}

/// The Jamf call of a step; answers the object as Jamf returned it (`null` for deletes).
async fn call(jamf: &JamfClient, step: &PlanStep) -> Result<Value, String> {
    let id = step.id.as_deref().unwrap_or_default();
    let jamf_err = |e: JamfError| explain(step, &e);
    let client_id = || {
        id.parse::<i64>()
            .map_err(|_| format!("client id {id:?} of {:?} is not a number", step.name))
    };
    match (&step.action, &step.body) {
        (StepAction::CreateRole, Some(PlanBody::Role(r))) => jamf
            .create_role(r)
            .await
            .map(|v| json!(v))
            .map_err(jamf_err),
        (StepAction::UpdateRole, Some(PlanBody::Role(r))) => jamf
            .update_role(id, r)
            .await
            .map(|v| json!(v))
            .map_err(jamf_err),
        (StepAction::DeleteRole, _) => jamf
            .delete_role(id)
            .await
            .map(|()| Value::Null)
            .map_err(jamf_err),
        (StepAction::CreateClient, Some(PlanBody::Client(c))) => jamf
            .create_integration(c)
            .await
            .map(|v| json!(v))
            .map_err(jamf_err),
        (StepAction::UpdateClient, Some(PlanBody::Client(c))) => {
            let id = client_id()?;
            jamf.update_integration(id, c)
                .await
                .map(|v| json!(v))
                .map_err(jamf_err)
        }
        (StepAction::DeleteClient, _) => {
            let id = client_id()?;
            jamf.delete_integration(id)
                .await
                .map(|()| Value::Null)
                .map_err(jamf_err)
        }
        _ => Err(format!(
            "plan step {:?} of {:?} has no request body",
            step.action, step.name
        )),
    }
}

/// The error of a failed step, with what to do where Jamf's rules explain it.
fn explain(step: &PlanStep, e: &JamfError) -> String {
    match (step.action, e) {
        (StepAction::DeleteRole, JamfError::Conflict { .. }) => format!(
            "{e}: the role is still used by an API client; update or delete that client first \
             (a client outside the desired state needs prune = true)"
        ),
        _ => e.to_string(),
    }
}

/// A rotation step through the engine (its own `started`/`ok` records). A client created
/// moments ago may not be visible yet: the engine's "client missing" is retried briefly.
async fn rotate_step(
    shared: &Arc<Shared>,
    inst: &Instance,
    jamf: &JamfClient,
    step: PlanStep,
    actor: Actor,
    new_client: bool,
) -> StepResult {
    let Some(target) = target(inst, &step.name) else {
        let e = format!("{:?} is not declared on {}", step.name, inst.name);
        return failed(step, e, None);
    };
    let mut waits = NEW_CLIENT_WAIT.iter();
    loop {
        match run_one(shared, jamf, &target, actor.clone(), false).await {
            Ok(Some((_, seq))) => {
                return StepResult {
                    step,
                    status: StepStatus::Done,
                    error: None,
                    change_seq: Some(seq),
                };
            }
            Ok(None) => return failed(step, "the rotation did not run".to_owned(), None),
            Err(e) if new_client && e.client_missing => match waits.next() {
                Some(wait) => tokio::time::sleep(*wait).await,
                None => return failed(step, e.message, None),
            },
            Err(e) => return failed(step, e.message, None),
        }
    }
}
