//! `apply`: run an instance's plan, step by step, each step recorded in the change log before
//! (`started`, with the live object and the request) and after (`ok` with Jamf's answer, or
//! `failed` with the error). The first failed step stops the run; the report says what was and
//! was not done, and running apply again plans from the live state and converges.
//!
//! Secret rotations in the plan (a new client, a client whose roles changed, a client enabled
//! without a secret) go through the rotation engine with its own records, so the consumer in
//! Vault gets a working secret for the new scope. One apply per instance runs at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::Instance;
use warden_core::drift::{
    APPLY_SCHEMA, Action as StepAction, ApplyReport, Live, PlanBody, PlanFingerprints, PlanStep,
    StepResult, StepStatus,
};
use warden_core::jamf::{ApiIntegration, ApiRole, JamfClient, JamfError};
use warden_core::protocol::ErrorCode;

use super::ServiceError;
use super::changes::{Changes, ChangesError};
use super::drift::{Drift, DriftError};
use super::errors::{jamf_code, kind_name};
use super::instances::{InstanceError, Instances};
use super::rotation::{Rotation, target};
use crate::runtime::lifecycle::Lifecycle;

/// How long a rotation right after creating its client waits for Jamf to show the client
/// (clustered servers answer reads from nodes that may lag behind the write).
const NEW_CLIENT_WAIT: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Why an apply could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("an apply of {0} is already running; wait for it and plan again")]
    Busy(String),
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error("cannot read the live state of {instance}: {source}")]
    Live {
        instance: String,
        #[source]
        source: DriftError,
    },
    #[error(transparent)]
    Invalid(DriftError),
    #[error(
        "the saved plan of {instance} is out of date: {what} changed since it was made; nothing \
         was changed. Review a new plan (`wardenctl plan {instance} --out FILE`) and apply that"
    )]
    Stale { instance: String, what: String },
    #[error(transparent)]
    Record(#[from] ChangesError),
}

impl ServiceError for ApplyError {
    fn code(&self) -> ErrorCode {
        match self {
            ApplyError::Busy(_) => ErrorCode::Conflict,
            ApplyError::Instance(e) => e.code(),
            ApplyError::Live { source, .. } => match source.code() {
                ErrorCode::NotFound => ErrorCode::Unavailable,
                code => code,
            },
            ApplyError::Invalid(e) => e.code(),
            ApplyError::Stale { .. } => ErrorCode::Conflict,
            ApplyError::Record(e) => e.code(),
        }
    }
}

/// Why one step failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{source}{hint}")]
    Jamf {
        #[source]
        source: JamfError,
        hint: &'static str,
    },
    #[error("client id {id:?} of {name:?} is not a number")]
    BadClientId { id: String, name: String },
    #[error("plan step {action:?} of {name:?} has no request body")]
    NoBody { action: StepAction, name: String },
    #[error("{0:?} is not declared on the instance")]
    NotDeclared(String),
    #[error("the rotation did not run")]
    NotRun,
    #[error(transparent)]
    Rotation(#[from] super::rotation::RotateError),
    #[error("done in Jamf, but {0}")]
    RecordAfter(ChangesError),
    #[error(transparent)]
    Record(ChangesError),
}

impl ServiceError for StepError {
    fn code(&self) -> ErrorCode {
        match self {
            StepError::Jamf { source, .. } => jamf_code(source),
            StepError::BadClientId { .. } | StepError::NoBody { .. } | StepError::NotRun => {
                ErrorCode::Internal
            }
            StepError::NotDeclared(_) => ErrorCode::NotFound,
            StepError::Rotation(e) => e.code(),
            StepError::RecordAfter(e) | StepError::Record(e) => e.code(),
        }
    }
}

/// The apply service: one apply per instance at a time.
pub struct Apply {
    drift: Arc<Drift>,
    instances: Arc<Instances>,
    rotation: Arc<Rotation>,
    changes: Arc<Changes>,
    lifecycle: Arc<Lifecycle>,
    locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Apply {
    pub fn new(
        drift: Arc<Drift>,
        instances: Arc<Instances>,
        rotation: Arc<Rotation>,
        changes: Arc<Changes>,
        lifecycle: Arc<Lifecycle>,
    ) -> Apply {
        Apply {
            drift,
            instances,
            rotation,
            changes,
            lifecycle,
            locks: Mutex::new(BTreeMap::new()),
        }
    }

    /// The lock that serializes applies to `instance`.
    fn lock(&self, instance: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(instance.to_owned()).or_default())
    }

    /// Applies the desired state of `inst` as `actor`. `Err` when nothing could start
    /// (instance unreachable, invalid desired state, another apply running, change log
    /// unwritable, or `saved` fingerprints of a saved plan that differ from the plan made now).
    ///
    /// A person's apply (`Actor::User`) approves the desired state it applies:
    /// the automatic apply of `remediation = "auto"` applies only an approved one.
    pub async fn apply(
        &self,
        inst: &Instance,
        actor: Actor,
        saved: Option<&PlanFingerprints>,
    ) -> Result<ApplyReport, ApplyError> {
        let lock = self.lock(&inst.name);
        let Ok(_guard) = lock.try_lock() else {
            return Err(ApplyError::Busy(inst.name.clone()));
        };
        let jamf = self.instances.management_client(&inst.name).await?;
        let checked = self
            .drift
            .fetch(inst, false)
            .await
            .map_err(|source| ApplyError::Live {
                instance: inst.name.clone(),
                source,
            })?;
        Drift::validate(inst, &checked).map_err(ApplyError::Invalid)?;
        let plan = Drift::plan(inst, &checked);
        let now = PlanFingerprints::of(&inst.desired_state, inst.prune, &checked.live, &plan);
        if let Some(saved) = saved {
            let what = saved.differences(&now);
            if !what.is_empty() {
                return Err(ApplyError::Stale {
                    instance: inst.name.clone(),
                    what: what.join(" and "),
                });
            }
        }
        if matches!(actor, Actor::User { .. }) {
            self.drift.approve(&inst.name, &now.desired);
        }
        let mut report = ApplyReport {
            schema: APPLY_SCHEMA.to_owned(),
            instance: inst.name.clone(),
            started_at: self.lifecycle.now(),
            steps: Vec::new(),
        };
        if plan.is_empty() {
            return Ok(report);
        }
        let begin = ChangeEntry::new(
            actor.clone(),
            ObjectRef::named(ObjectKind::Instance, &inst.name),
            Action::Apply,
            Outcome::Started,
        )
        .instance(&inst.name)
        .after(json!({ "steps": plan.steps, "prune": inst.prune }));
        self.changes.record(begin).await?;
        let index = LiveIndex::of(&checked.live);
        let kind = self
            .run_steps(inst, &jamf, &index, plan.steps, &actor, &mut report)
            .await;
        let mut end = end_entry(inst, actor, &report);
        if let Some(kind) = kind {
            end = end.error_kind(kind);
        }
        self.changes.record(end).await?;
        Ok(report)
    }

    /// Runs the steps in order; the first failed one stops the run (the rest are `not_run`).
    /// Answers the failed step's error kind, if one failed.
    async fn run_steps(
        &self,
        inst: &Instance,
        jamf: &JamfClient,
        index: &LiveIndex<'_>,
        steps: Vec<PlanStep>,
        actor: &Actor,
        report: &mut ApplyReport,
    ) -> Option<String> {
        let mut created: BTreeMap<String, bool> = BTreeMap::new();
        let mut stopped = false;
        let mut kind = None;
        for step in steps {
            if stopped {
                report.steps.push(StepResult {
                    step,
                    status: StepStatus::NotRun,
                    error: None,
                    change_seq: None,
                });
                continue;
            }
            let ran = match step.action {
                StepAction::RotateSecret => {
                    let new = created.contains_key(&step.name);
                    self.rotate_step(inst, jamf, step, actor.clone(), new).await
                }
                _ => {
                    let ran = self.jamf_step(inst, jamf, index, step, actor.clone()).await;
                    let result = &ran.result;
                    if result.status == StepStatus::Done
                        && result.step.action == StepAction::CreateClient
                    {
                        created.insert(result.step.name.clone(), true);
                    }
                    ran
                }
            };
            let Ran {
                result,
                kind: failed_kind,
            } = ran;
            kind = kind.or(failed_kind);
            stopped = result.status == StepStatus::Failed;
            report.steps.push(result);
        }
        kind
    }
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

impl LiveIndex<'_> {
    /// The live object a step changes, as JSON (`null` when there is none); by id when the
    /// step has one: a rename changes the name.
    fn before(&self, kind: ObjectKind, step: &PlanStep) -> Value {
        let id = step.id.as_deref();
        match kind {
            ObjectKind::Role => match id {
                Some(id) => self.roles.get(id),
                None => self.role_names.get(step.name.as_str()),
            }
            .map(|r| json!(r)),
            _ => match id {
                Some(id) => self.clients.get(id),
                None => self.client_names.get(step.name.as_str()),
            }
            .map(|c| json!(c)),
        }
        .unwrap_or(Value::Null)
    }
}

/// The change-log record that ends an apply: what was done, not run, and the failed step.
fn end_entry(inst: &Instance, actor: Actor, report: &ApplyReport) -> ChangeEntry {
    let failed = report.steps.iter().find(|s| s.status == StepStatus::Failed);
    let outcome = if failed.is_some() {
        Outcome::Failed
    } else {
        Outcome::Ok
    };
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
    end
}

impl Apply {
    /// One create, update or delete, between its `started` and its `ok`/`failed` records.
    async fn jamf_step(
        &self,
        inst: &Instance,
        jamf: &JamfClient,
        live: &LiveIndex<'_>,
        step: PlanStep,
        actor: Actor,
    ) -> Ran {
        let (kind, action) = match step.action {
            StepAction::CreateRole => (ObjectKind::Role, Action::Create),
            StepAction::UpdateRole => (ObjectKind::Role, Action::Update),
            StepAction::DeleteRole => (ObjectKind::Role, Action::Delete),
            StepAction::CreateClient => (ObjectKind::Client, Action::Create),
            StepAction::UpdateClient => (ObjectKind::Client, Action::Update),
            StepAction::DeleteClient | StepAction::RotateSecret => {
                (ObjectKind::Client, Action::Delete)
            }
        };
        let mut object = ObjectRef::named(kind, &step.name);
        if let Some(id) = &step.id {
            object = object.with_id(id);
        }
        let before = live.before(kind, &step);
        let body = match &step.body {
            Some(PlanBody::Role(r)) => json!(r),
            Some(PlanBody::Client(c)) => json!(c),
            None => Value::Null,
        };
        // a stopping daemon waits for the step and its records, never exits between them
        let _critical = self.rotation.guard().await;
        let started = ChangeEntry::new(actor.clone(), object.clone(), action, Outcome::Started)
            .instance(&inst.name)
            .before(before.clone())
            .after(body);
        if let Err(e) = self.changes.record(started).await {
            return failed(step, &StepError::Record(e), None);
        }
        let called = call(jamf, &step).await;
        let entry = ChangeEntry::new(actor, object, action, Outcome::Ok)
            .instance(&inst.name)
            .before(before);
        let (entry, error) = match called {
            Ok(after) => (entry.after(after), None),
            Err(e) => {
                let entry = ChangeEntry {
                    outcome: Outcome::Failed,
                    ..entry
                };
                (record_error(entry, &e), Some(e))
            }
        };
        let recorded = self.changes.record(entry).await;
        match (error, recorded) {
            (None, Ok(r)) => done(step, r.seq),
            (None, Err(e)) => failed(step, &StepError::RecordAfter(e), None),
            (Some(e), r) => failed(step, &e, r.ok().map(|r| r.seq)),
        }
    }

    /// A rotation step through the engine (its own `started`/`ok` records). A client created
    /// moments ago may not be visible yet: the engine's "client missing" is retried briefly.
    async fn rotate_step(
        &self,
        inst: &Instance,
        jamf: &JamfClient,
        step: PlanStep,
        actor: Actor,
        new_client: bool,
    ) -> Ran {
        let Some(target) = target(inst, &step.name) else {
            let e = StepError::NotDeclared(step.name.clone());
            return failed(step, &e, None);
        };
        let mut waits = NEW_CLIENT_WAIT.iter();
        loop {
            match self
                .rotation
                .run_one(jamf, &target, actor.clone(), false)
                .await
            {
                Ok(Some((_, seq))) => return done(step, seq),
                Ok(None) => return failed(step, &StepError::NotRun, None),
                Err(e) if new_client && e.client_missing() => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return failed(step, &StepError::Rotation(e), None),
                },
                Err(e) => return failed(step, &StepError::Rotation(e), None),
            }
        }
    }
}

/// `entry` with the error's message and kind.
fn record_error(entry: ChangeEntry, e: &StepError) -> ChangeEntry {
    entry.error(e.to_string()).error_kind(kind_name(e.code()))
}

/// A step's result, and the kind of its error if it failed.
struct Ran {
    result: StepResult,
    kind: Option<String>,
}

fn done(step: PlanStep, seq: u64) -> Ran {
    Ran {
        result: StepResult {
            step,
            status: StepStatus::Done,
            error: None,
            change_seq: Some(seq),
        },
        kind: None,
    }
}

fn failed(step: PlanStep, error: &StepError, seq: Option<u64>) -> Ran {
    Ran {
        result: StepResult {
            step,
            status: StepStatus::Failed,
            error: Some(error.to_string()),
            change_seq: seq,
        },
        kind: Some(kind_name(error.code())),
    }
}

/// The Jamf call of a step; answers the object as Jamf returned it (`null` for deletes).
async fn call(jamf: &JamfClient, step: &PlanStep) -> Result<Value, StepError> {
    let id = step.id.as_deref().unwrap_or_default();
    let jamf_err = |source: JamfError| StepError::Jamf {
        hint: hint(step, &source),
        source,
    };
    let client_id = || {
        id.parse::<i64>().map_err(|_| StepError::BadClientId {
            id: id.to_owned(),
            name: step.name.clone(),
        })
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
        (StepAction::UpdateClient, Some(PlanBody::Client(c))) => jamf
            .update_integration(client_id()?, c)
            .await
            .map(|v| json!(v))
            .map_err(jamf_err),
        (StepAction::DeleteClient, _) => jamf
            .delete_integration(client_id()?)
            .await
            .map(|()| Value::Null)
            .map_err(jamf_err),
        _ => Err(StepError::NoBody {
            action: step.action,
            name: step.name.clone(),
        }),
    }
}

/// What to do, where Jamf's rules explain a failed step.
fn hint(step: &PlanStep, e: &JamfError) -> &'static str {
    match (step.action, e) {
        (StepAction::DeleteRole, JamfError::Conflict { .. }) => {
            ": the role is still used by an API client; update or delete that client first \
             (a client outside the desired state needs prune = true)"
        }
        _ => "",
    }
}
