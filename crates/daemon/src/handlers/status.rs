//! `wardenctl status`: version, uptime, config path, and per instance its reachability, parked
//! state and the last and next run of each job kind.

use warden_core::protocol::{
    ClusterStatus, InstanceStatus, JobKind as WireJobKind, JobOutcome, JobStatus, Response,
    StatusReport, VaultState,
};
use warden_core::schedule::{Due, JobKey, JobKind, jitter_offset};

use warden_core::config::{Config, Remediation};

use crate::runtime::lifecycle::Lifecycle;
use crate::services::drift::Drift;
use crate::services::instances::Instances;
use crate::services::rotation::Rotation;
use crate::services::schedule::Schedule;

pub fn handle(
    config: &Config,
    lifecycle: &Lifecycle,
    schedule: &Schedule,
    instances: &Instances,
    rotation: &Rotation,
    drift: &Drift,
) -> Response {
    let mut report = report(config, lifecycle, schedule, instances, rotation);
    for (status, inst) in report.instances.iter_mut().zip(&config.instances) {
        if inst.remediation == Remediation::Auto && drift.awaits_review(inst) {
            status.remediation_waits = Some(crate::services::drift::awaiting_review(&inst.name));
        }
    }
    Response::Status(report)
}

/// `response` (a status report) with the cluster as this daemon sees it, if in one.
pub fn with_cluster(response: Response, cluster: Option<ClusterStatus>) -> Response {
    match response {
        Response::Status(mut report) => {
            report.cluster = cluster.map(Box::new);
            Response::Status(report)
        }
        other => other,
    }
}

/// `response` (a status report) with Vault's state.
pub fn with_vault(response: Response, vault: VaultState) -> Response {
    match response {
        Response::Status(mut report) => {
            report.vault = Some(Box::new(vault));
            Response::Status(report)
        }
        other => other,
    }
}

/// The status report at the clock's "now".
fn report(
    config: &Config,
    lifecycle: &Lifecycle,
    schedule: &Schedule,
    instances: &Instances,
    rotation: &Rotation,
) -> StatusReport {
    let now = lifecycle.now();
    let runtime = instances.reachability();
    let jobs = schedule.table();
    let instances = config
        .instances
        .iter()
        .map(|inst| {
            let rt = runtime.get(&inst.name);
            let mut consecutive_failures = 0;
            let job_status = JobKind::ALL
                .iter()
                .map(|&kind| {
                    let key = JobKey::new(inst.name.clone(), kind);
                    let state = jobs.state(&key).cloned().unwrap_or_default();
                    consecutive_failures = consecutive_failures.max(state.consecutive_failures);
                    let offset = jitter_offset(&inst.name, kind, inst.schedules.jitter);
                    let due = jobs.due(&key, inst.schedules.get(kind), offset, now);
                    let next_run = match due {
                        Due::Now(_) => Some(now),
                        Due::At(t, _) => Some(t),
                        Due::Off | Due::Running => None,
                    };
                    let last_outcome = match (&state.last_attempt, state.consecutive_failures) {
                        (None, _) => None,
                        (Some(_), 0) => Some(JobOutcome::Ok),
                        (Some(_), _) => Some(JobOutcome::Failed),
                    };
                    JobStatus {
                        kind: wire_kind(kind),
                        target: None,
                        last_run: state.last_attempt,
                        last_success: state.last_success,
                        last_outcome,
                        next_run,
                        running: matches!(due, Due::Running),
                    }
                })
                .collect();
            let mut job_status: Vec<JobStatus> = job_status;
            // interrupted rotations the daemon recovers on its own: `rotate (recovering CLIENT)`
            // with the next attempt, instead of "pending, due now"
            for (client, h) in rotation.recoveries(&inst.name) {
                job_status.push(JobStatus {
                    kind: WireJobKind::Rotate,
                    target: Some(format!("recovering {client}")),
                    last_run: Some(h.last_attempt),
                    last_success: None,
                    last_outcome: Some(JobOutcome::Failed),
                    next_run: (!h.running).then_some(h.next_at),
                    running: h.running,
                });
            }
            // clients the rotation job leaves alone: adopted and held, or refused out of band
            for (client, why, seen) in rotation.holds(&inst.name) {
                job_status.push(JobStatus {
                    kind: WireJobKind::Rotate,
                    target: Some(format!("{client}: {why}")),
                    last_run: Some(seen),
                    last_success: None,
                    last_outcome: None,
                    next_run: None,
                    running: false,
                });
            }
            let last_job_error = JobKind::ALL.iter().find_map(|&k| {
                jobs.state(&JobKey::new(inst.name.clone(), k))
                    .and_then(|s| (s.consecutive_failures > 0).then(|| s.last_error.clone()))
                    .flatten()
            });
            InstanceStatus {
                name: inst.name.clone(),
                url: inst.url.to_string(),
                reachable: rt.and_then(|r| r.reachable),
                last_error: rt.and_then(|r| r.last_error.clone()).or(last_job_error),
                parked: jobs.instance_parked(&inst.name),
                consecutive_failures,
                jobs: job_status,
                remediation_waits: None,
            }
        })
        .collect();
    StatusReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: lifecycle.uptime_secs(),
        config_path: config.path.clone(),
        started_at: lifecycle.started_at(),
        instances,
        vault: None,
        cluster: None,
    }
}

/// The wire name of a job kind.
fn wire_kind(kind: JobKind) -> WireJobKind {
    match kind {
        JobKind::Rotation => WireJobKind::Rotate,
        JobKind::Drift => WireJobKind::Drift,
        JobKind::Audit => WireJobKind::Audit,
    }
}
