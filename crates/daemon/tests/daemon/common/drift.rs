//! Fixtures of the `drift_*` tests: drift, plan, apply and import requests with their documents
//! decoded, change-log record filters, a consumer's view of a secret in Vault and of its token,
//! and restarts of wardend that make the scheduled drift check run again.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;
use warden_core::drift::{Action, ApplyReport, DriftDocument, InstanceDrift, PlanDocument};
use warden_core::protocol::{
    ApplyRequest, DriftRequest, ImportRequest, JobKind, JobOutcome, PlanRequest, ReportKind,
    Request, Response,
};

use super::{Daemon, Env, send, status, wait_for};

/// The drift job runs once at start-up (it never ran before), then yearly; rotation and audit
/// are off. Moving `jobs.json` aside before a start makes it run at start again.
pub const DRIFT_AT_START: &str =
    "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"@yearly\"\naudit = \"off\"";

/// The body of a report of `kind`, decoded; panics on any other answer.
pub fn report_body<T: DeserializeOwned>(response: Response, kind: ReportKind) -> (u64, T) {
    match response {
        Response::Report(r) => {
            assert_eq!(r.kind, kind, "report kind");
            (
                r.findings,
                r.body.decode().expect("the report body decodes"),
            )
        }
        other => panic!("expected a {kind:?} report, got {other:?}"),
    }
}

/// `Request::Drift` of `instances` (all when empty), now or the last kept report.
pub async fn drift(socket: &Path, instances: &[&str], now: bool) -> DriftDocument {
    let response = send(
        socket,
        Request::Drift(DriftRequest {
            instances: instances.iter().map(|s| s.to_string()).collect(),
            now,
            refresh_catalogue: false,
        }),
    )
    .await;
    report_body(response, ReportKind::Drift).1
}

/// The drift report of one instance.
pub async fn drift_of(socket: &Path, instance: &str, now: bool) -> InstanceDrift {
    let mut doc = drift(socket, &[instance], now).await;
    assert_eq!(doc.instances.len(), 1);
    doc.instances.remove(0)
}

/// `Request::Plan` of `instance`.
pub async fn plan_response(socket: &Path, instance: &str) -> Response {
    send(
        socket,
        Request::Plan(PlanRequest {
            instance: instance.into(),
            refresh_catalogue: false,
            ..Default::default()
        }),
    )
    .await
}

/// The plan document of `instance`.
pub async fn plan(socket: &Path, instance: &str) -> PlanDocument {
    report_body(plan_response(socket, instance).await, ReportKind::Plan).1
}

/// `Request::Apply` of `instance`.
pub async fn apply_response(socket: &Path, instance: &str, confirmed: bool) -> Response {
    send(
        socket,
        Request::Apply(ApplyRequest {
            instance: instance.into(),
            confirmed,
            ..Default::default()
        }),
    )
    .await
}

/// A confirmed apply of `instance`: its report.
pub async fn apply(socket: &Path, instance: &str) -> ApplyReport {
    report_body(
        apply_response(socket, instance, true).await,
        ReportKind::Apply,
    )
    .1
}

/// `Request::Import` of `instance`: the desired-state file's text.
pub async fn import(socket: &Path, instance: &str) -> String {
    let response = send(
        socket,
        Request::Import(ImportRequest {
            instance: instance.into(),
        }),
    )
    .await;
    match response {
        Response::Report(r) => {
            assert_eq!(r.kind, ReportKind::Import);
            r.body.text().expect("the import body is the file's text")
        }
        other => panic!("import answered {other:?}"),
    }
}

/// `(action, name)` of every step of a plan.
pub fn plan_steps(doc: &PlanDocument) -> Vec<(Action, String)> {
    doc.plan
        .steps
        .iter()
        .map(|s| (s.action, s.name.clone()))
        .collect()
}

/// `(action, name)` of every step of an apply report.
pub fn applied_steps(report: &ApplyReport) -> Vec<(Action, String)> {
    report
        .steps
        .iter()
        .map(|s| (s.step.action, s.step.name.clone()))
        .collect()
}

/// Records with `action` (`create`, `update`, `delete`, `rotate`, `apply`, `drift`...).
pub fn with_action<'a>(records: &'a [Value], action: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["action"] == action).collect()
}

/// `"<action> <object name> <outcome>"` of every record with one of `actions`, in log order.
pub fn summary(records: &[Value], actions: &[&str]) -> Vec<String> {
    records
        .iter()
        .filter(|r| actions.iter().any(|a| r["action"] == *a))
        .map(|r| {
            format!(
                "{} {} {}",
                r["action"].as_str().unwrap_or_default(),
                r["object"]["name"].as_str().unwrap_or_default(),
                r["outcome"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// `after.status` of every `drift` record of `instance`, in log order.
pub fn drift_statuses(records: &[Value], instance: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["action"] == "drift" && r["instance"] == instance)
        .map(|r| {
            r["after"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// What a consumer reads at `path` (below the prefix) in the store now: `(client_id, secret)`.
pub async fn consumer_read(env: &Env, path: &str) -> (String, String) {
    let current = env.vault_metadata(path).await["current_version"]
        .as_u64()
        .expect("the secret exists");
    let d = &env.read_version(path, current).await;
    (
        d["client_id"].as_str().expect("client_id").to_string(),
        d["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_string(),
    )
}

/// A consumer's token: the access token and its `scope` (`api-role:<id> ...`).
pub async fn token(url: &str, client_id: &str, secret: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status().as_u16(), 200, "token request refused");
    let v: Value = response.json().await.expect("token answer is JSON");
    (
        v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string(),
        v["scope"].as_str().unwrap_or_default().to_string(),
    )
}

/// The HTTP status of `GET <url><path>` with `token`.
pub async fn get_status(url: &str, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("api request")
        .status()
        .as_u16()
}

impl Env {
    /// Moves the job-state file aside, so every scheduled job counts as never run and runs
    /// once at the next start (the drift state in `drift-state.json` stays).
    pub fn forget_job_runs(&self) {
        let jobs = self.state_dir().join("jobs.json");
        if jobs.exists() {
            std::fs::rename(&jobs, self.state_dir().join("jobs.json.aside")).unwrap();
        }
    }

    /// Waits until the drift job of every instance has finished a run; fails if one failed.
    pub async fn wait_drift_job_done(&self, socket: &Path) {
        let s = wait_for("the drift job to finish", async || {
            let s = status(socket).await;
            s.instances
                .iter()
                .flat_map(|i| &i.jobs)
                .filter(|j| j.kind == JobKind::Drift)
                .all(|j| j.last_run.is_some() && !j.running)
                .then_some(s)
        })
        .await;
        for i in &s.instances {
            for j in i.jobs.iter().filter(|j| j.kind == JobKind::Drift) {
                assert_eq!(
                    j.last_outcome,
                    Some(JobOutcome::Ok),
                    "drift job of {}: {:?}",
                    i.name,
                    i.last_error
                );
            }
        }
    }
}

/// Stops wardend with SIGTERM and waits until it exited cleanly (in-process: `run` returned
/// `Ok` after its stop token).
pub async fn stop(daemon: &mut Daemon) {
    daemon.stop_cleanly().await;
}
