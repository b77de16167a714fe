//! `wardenctl status [--check]`: versions, uptime, configuration, instance health, job
//! schedules. Exit 0 when every instance's every job is ok, 1 when something is failing or
//! parked (the problems, one line each, are what `--check` prints), 2 when the daemon cannot be
//! reached. `--json`: the report as a document (`warden.status/1`) with each job's name as the
//! text shows it, each instance's state and the problems.

use chrono::{DateTime, Utc};
use warden_core::protocol::{
    InstanceStatus, JobKind, JobOutcome, JobStatus, Request, Response, StatusReport,
};

use crate::client::unexpected;
use crate::output::{NONE, Table, duration, or_none, rfc3339, when};
use crate::{Ctx, Exit};

/// Asks the daemon for its status and prints it (`check`: only the problems).
pub async fn run(ctx: &Ctx, check: bool) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let report = match client.call("status", Request::Status).await? {
        Response::Status(report) => report,
        other => return Err(unexpected("status", &other)),
    };
    let problems = problems(&report);
    if ctx.json() {
        ctx.print_json(&document(&report, &problems)?)?;
    } else if check {
        let mut text = problems.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        ctx.print(&text)?;
    } else {
        ctx.print(&render(&report, env!("CARGO_PKG_VERSION"), ctx.now))?;
    }
    Ok(if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

/// What a monitor acts on, one line each: Vault failing since its last successful
/// authentication or renewal, a parked or failing instance, a job whose last run did not
/// succeed. Empty when every instance's every job is ok.
pub fn problems(report: &StatusReport) -> Vec<String> {
    let mut out = Vec::new();
    // Vault: its last error is a problem until an authentication or a renewal succeeds after it
    if let Some(vault) = &report.vault
        && let (Some(error), Some(at)) = (&vault.last_error, vault.last_error_at)
        && vault.last_authenticated.max(vault.last_renewed) <= Some(at)
    {
        out.push(format!(
            "vault {}: {error} (at {})",
            vault.address,
            rfc3339(at)
        ));
    }
    for instance in &report.instances {
        let error = instance
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        if instance.parked {
            out.push(format!(
                "instance {} is PARKED after {} consecutive failures: its jobs do not run{error}",
                instance.name, instance.consecutive_failures
            ));
        } else if instance.consecutive_failures > 0 {
            out.push(format!(
                "instance {} is failing ({} consecutive failures){error}",
                instance.name, instance.consecutive_failures
            ));
        }
        for job in &instance.jobs {
            if job.last_outcome == Some(JobOutcome::Failed) {
                let since = match job.last_success {
                    Some(t) => format!("last success {}", rfc3339(t)),
                    None => "never succeeded".to_owned(),
                };
                out.push(format!(
                    "instance {} job {}: the last run failed ({since})",
                    instance.name,
                    job_name(job)
                ));
            }
        }
    }
    out
}

/// The `--json` document: the report, plus each instance's `state` and each job's `name` as
/// the text shows them, and the problems.
fn document(report: &StatusReport, problems: &[String]) -> anyhow::Result<serde_json::Value> {
    let mut doc = serde_json::to_value(report)?;
    if let Some(instances) = doc.get_mut("instances").and_then(|v| v.as_array_mut()) {
        for (value, instance) in instances.iter_mut().zip(&report.instances) {
            value["state"] = state(instance).into();
            if let Some(jobs) = value.get_mut("jobs").and_then(|v| v.as_array_mut()) {
                for (job_value, job) in jobs.iter_mut().zip(&instance.jobs) {
                    job_value["name"] = job_name(job).into();
                }
            }
        }
    }
    doc["schema"] = "warden.status/1".into();
    doc["ok"] = problems.is_empty().into();
    doc["problems"] = serde_json::json!(problems);
    Ok(doc)
}

/// Vault's address, authentication, token lifetime and last authentication, on one line.
fn vault_line(vault: &warden_core::protocol::VaultState, now: DateTime<Utc>) -> String {
    let mut line = format!("{}, auth {}", vault.address, vault.auth_method);
    if let Some(file) = &vault.token_file {
        line.push_str(&format!(" ({})", file.display()));
    }
    match vault.token_ttl_secs {
        Some(ttl) => line.push_str(&format!(", token ttl {}", duration(ttl))),
        None if vault.auth_method != "memory" => line.push_str(", token does not expire"),
        None => {}
    }
    if vault.renewable {
        line.push_str(" (renewable)");
    }
    if let Some(t) = vault.last_authenticated {
        line.push_str(&format!(", authenticated {}", when(t, now)));
    }
    if let Some(t) = vault.last_renewed {
        line.push_str(&format!(", renewed {}", when(t, now)));
    }
    line
}

/// The text output of `status` for `report`, by wardenctl `ctl_version`, at `now`.
/// The cluster as the answering daemon sees it: each daemon's heartbeat, then which instances
/// this daemon holds (their jobs run here) and which it does not.
fn cluster_section(
    report: &StatusReport,
    cluster: &warden_core::protocol::ClusterStatus,
    now: DateTime<Utc>,
) -> String {
    let mut table = Table::new(["DAEMON", "HOST", "VERSION", "HEARTBEAT", "INSTANCES"]);
    for m in &cluster.members {
        let name = if m.this {
            format!("{} (this)", m.daemon)
        } else {
            m.daemon.clone()
        };
        let beat = if m.live {
            format!("live, renewed {}", when(m.renewed_at, now))
        } else {
            format!("lapsed {}", when(m.expires_at, now))
        };
        table.row([
            name,
            m.host.clone(),
            m.version.clone(),
            beat,
            m.instances.to_string(),
        ]);
    }
    let live = cluster.members.iter().filter(|m| m.live).count();
    let mut out = format!(
        "cluster: {live} live daemon(s), heartbeat lease {}s; this daemon's heartbeat {}\n",
        cluster.lease_ttl_secs,
        if cluster.heartbeat_stands {
            "stands".to_owned()
        } else {
            format!(
                "LAPSED ({}): it works on no instance",
                cluster.last_error.as_deref().unwrap_or("not renewed yet")
            )
        }
    );
    out.push_str(&table.render());
    let held: Vec<String> = cluster
        .held
        .iter()
        .map(|h| format!("{} (fence {}, {})", h.instance, h.fence, when(h.since, now)))
        .collect();
    let elsewhere: Vec<&str> = report
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| !cluster.held.iter().any(|h| h.instance == *n))
        .collect();
    out.push_str(&format!(
        "held here ({}): {}\n",
        held.len(),
        if held.is_empty() {
            "none".to_owned()
        } else {
            held.join(", ")
        }
    ));
    if !elsewhere.is_empty() {
        out.push_str(&format!(
            "held by other daemons ({}; their jobs run there): {}\n",
            elsewhere.len(),
            elsewhere.join(", ")
        ));
    }
    out
}

pub fn render(report: &StatusReport, ctl_version: &str, now: DateTime<Utc>) -> String {
    let running: Vec<String> = report
        .instances
        .iter()
        .flat_map(|instance| {
            instance
                .jobs
                .iter()
                .filter(|job| job.running)
                .map(|job| format!("{} {}", instance.name, job_name(job)))
        })
        .collect();

    let mut about = Table::default();
    about.row([
        "version",
        &format!("wardenctl {ctl_version}, wardend {}", report.version),
    ]);
    about.row([
        "uptime".to_owned(),
        format!(
            "{} (started {})",
            duration(report.uptime_secs),
            rfc3339(report.started_at)
        ),
    ]);
    about.row([
        "config".to_owned(),
        report.config_path.display().to_string(),
    ]);
    if let Some(vault) = &report.vault {
        about.row(["vault".to_owned(), vault_line(vault, now)]);
        if let Some(e) = &vault.last_error {
            let at = vault
                .last_error_at
                .map_or_else(String::new, |t| format!(" ({})", when(t, now)));
            about.row(["vault error".to_owned(), format!("{e}{at}")]);
        }
    }
    about.row([
        "running".to_owned(),
        if running.is_empty() {
            "no jobs".to_owned()
        } else {
            running.join(", ")
        },
    ]);
    let mut out = about.render();

    out.push('\n');
    if report.instances.is_empty() {
        out.push_str("no instances configured\n");
        return out;
    }
    let mut instances = Table::new([
        "INSTANCE",
        "URL",
        "REACHABLE",
        "STATE",
        "FAILURES",
        "LAST ERROR",
    ]);
    for instance in &report.instances {
        instances.row([
            instance.name.clone(),
            instance.url.clone(),
            reachable(instance.reachable).to_owned(),
            state(instance).to_owned(),
            instance.consecutive_failures.to_string(),
            or_none(instance.last_error.as_deref()),
        ]);
    }
    out.push_str(&instances.render());
    for instance in &report.instances {
        if let Some(waits) = &instance.remediation_waits {
            out.push_str(&format!("note: instance {}: {waits}\n", instance.name));
        }
    }
    if let Some(cluster) = &report.cluster {
        out.push('\n');
        out.push_str(&cluster_section(report, cluster, now));
    }
    for instance in report.instances.iter().filter(|i| i.parked) {
        out.push_str(&format!(
            "warning: instance {} is PARKED after {} consecutive failures: its jobs do not run\n",
            instance.name, instance.consecutive_failures
        ));
    }

    out.push('\n');
    let mut jobs = Table::new(["INSTANCE", "JOB", "LAST RUN", "OUTCOME", "NEXT RUN", "NOTE"]);
    for instance in &report.instances {
        for job in &instance.jobs {
            jobs.row([
                instance.name.clone(),
                job_name(job),
                job.last_run
                    .map_or_else(|| "never".to_owned(), |t| when(t, now)),
                job.last_outcome.map_or(NONE, outcome).to_owned(),
                next_run(instance, job, now),
                note(job, now),
            ]);
        }
    }
    if jobs.is_empty() {
        out.push_str("no scheduled jobs\n");
    } else {
        out.push_str(&jobs.render());
    }
    out
}

/// `yes`, `no`, or `unknown` before the first contact.
pub(crate) fn reachable(reachable: Option<bool>) -> &'static str {
    match reachable {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// `PARKED`, `failing` or `ok`.
fn state(instance: &InstanceStatus) -> &'static str {
    if instance.parked {
        "PARKED"
    } else if instance.consecutive_failures > 0 {
        "failing"
    } else {
        "ok"
    }
}

/// `rotation (backup-client)`, `drift`, `audit`.
fn job_name(job: &JobStatus) -> String {
    let kind = match job.kind {
        JobKind::Rotate => "rotation",
        JobKind::Drift => "drift",
        JobKind::Audit => "audit",
        JobKind::Other => "other",
    };
    match &job.target {
        Some(target) => format!("{kind} ({target})"),
        None => kind.to_owned(),
    }
}

fn outcome(outcome: JobOutcome) -> &'static str {
    match outcome {
        JobOutcome::Ok => "ok",
        JobOutcome::Failed => "failed",
        JobOutcome::Skipped => "skipped",
        JobOutcome::Other => "other",
    }
}

fn next_run(instance: &InstanceStatus, job: &JobStatus, now: DateTime<Utc>) -> String {
    match job.next_run {
        _ if instance.parked => "parked".to_owned(),
        Some(next) => when(next, now),
        None => "not scheduled".to_owned(),
    }
}

/// `running`, or when the last run did not succeed, when the last one did.
fn note(job: &JobStatus, now: DateTime<Utc>) -> String {
    let mut notes = Vec::new();
    if job.running {
        notes.push("running".to_owned());
    }
    if job.last_outcome.is_some_and(|o| o != JobOutcome::Ok) {
        notes.push(match job.last_success {
            Some(success) => format!("last success {}", crate::output::relative(success, now)),
            None => "never succeeded".to_owned(),
        });
    }
    notes.join(", ")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }

    fn job(kind: JobKind) -> JobStatus {
        JobStatus {
            kind,
            target: None,
            last_run: None,
            last_success: None,
            last_outcome: None,
            next_run: None,
            running: false,
        }
    }

    pub(crate) fn sample() -> StatusReport {
        StatusReport {
            version: "0.1.0".into(),
            uptime_secs: 2 * 3600 + 5 * 60,
            config_path: "/etc/jamf-warden/wardend.toml".into(),
            started_at: t(7, 55),
            vault: None,
            cluster: None,
            instances: vec![
                InstanceStatus {
                    name: "prod".into(),
                    url: "https://prod.example".into(),
                    reachable: Some(true),
                    last_error: None,
                    parked: false,
                    remediation_waits: None,
                    consecutive_failures: 0,
                    jobs: vec![
                        JobStatus {
                            target: Some("backup".into()),
                            last_run: Some(t(8, 0)),
                            last_success: Some(t(8, 0)),
                            last_outcome: Some(JobOutcome::Ok),
                            next_run: Some(t(10, 4)),
                            ..job(JobKind::Rotate)
                        },
                        JobStatus {
                            next_run: Some(t(11, 0)),
                            running: true,
                            ..job(JobKind::Drift)
                        },
                    ],
                },
                InstanceStatus {
                    name: "lab".into(),
                    url: "https://lab.example".into(),
                    reachable: Some(false),
                    last_error: Some("connect timeout".into()),
                    parked: true,
                    remediation_waits: None,
                    consecutive_failures: 5,
                    jobs: vec![JobStatus {
                        last_run: Some(t(9, 0)),
                        last_outcome: Some(JobOutcome::Failed),
                        next_run: Some(t(12, 0)),
                        ..job(JobKind::Audit)
                    }],
                },
            ],
        }
    }

    #[test]
    fn renders_instances_jobs_parked_and_never_run() {
        let text = render(&sample(), "0.1.0", t(10, 0));
        let expected = "\
version  wardenctl 0.1.0, wardend 0.1.0
uptime   2h 5m (started 2026-05-01T07:55:00Z)
config   /etc/jamf-warden/wardend.toml
running  prod drift

INSTANCE  URL                   REACHABLE  STATE   FAILURES  LAST ERROR
prod      https://prod.example  yes        ok      0         -
lab       https://lab.example   no         PARKED  5         connect timeout
warning: instance lab is PARKED after 5 consecutive failures: its jobs do not run

INSTANCE  JOB                LAST RUN                       OUTCOME  NEXT RUN                      NOTE
prod      rotation (backup)  2026-05-01T08:00:00Z (2h ago)  ok       2026-05-01T10:04:00Z (in 4m)
prod      drift              never                          -        2026-05-01T11:00:00Z (in 1h)  running
lab       audit              2026-05-01T09:00:00Z (1h ago)  failed   parked                        never succeeded
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn renders_vault_state_and_its_last_error() {
        let report = StatusReport {
            vault: Some(Box::new(warden_core::protocol::VaultState {
                address: "https://vault.example:8200".into(),
                auth_method: "token_file".into(),
                token_file: Some("/run/jamf-warden/vault-token".into()),
                token_ttl_secs: Some(2_700),
                renewable: true,
                last_authenticated: Some(t(7, 55)),
                last_renewed: None,
                last_error: Some("the token in /run/jamf-warden/vault-token is invalid".into()),
                last_error_at: Some(t(9, 58)),
            })),
            ..sample()
        };
        let text = render(&report, "0.1.0", t(10, 0));
        assert!(
            text.contains(
                "vault        https://vault.example:8200, auth token_file \
                 (/run/jamf-warden/vault-token), token ttl 45m 0s (renewable), authenticated \
                 2026-05-01T07:55:00Z (2h ago)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "vault error  the token in /run/jamf-warden/vault-token is invalid \
                 (2026-05-01T09:58:00Z (2m ago))\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn renders_an_empty_daemon() {
        let report = StatusReport {
            instances: Vec::new(),
            ..sample()
        };
        let text = render(&report, "0.2.0", t(10, 0));
        assert!(text.contains("wardenctl 0.2.0, wardend 0.1.0"));
        assert!(text.contains("running  no jobs"));
        assert!(text.ends_with("\nno instances configured\n"), "{text}");
    }

    #[test]
    fn instance_without_jobs_and_unknown_reachability() {
        let mut report = sample();
        for instance in &mut report.instances {
            instance.jobs.clear();
            instance.reachable = None;
        }
        let text = render(&report, "0.1.0", t(10, 0));
        assert!(text.contains("unknown"));
        assert!(text.ends_with("no scheduled jobs\n"), "{text}");
    }

    #[test]
    fn problems_name_parked_failing_instances_and_failed_jobs() {
        let report = sample();
        assert_eq!(
            problems(&report),
            vec![
                "instance lab is PARKED after 5 consecutive failures: its jobs do not run: \
                 connect timeout"
                    .to_owned(),
                "instance lab job audit: the last run failed (never succeeded)".to_owned(),
            ]
        );
        let mut healthy = report.clone();
        healthy.instances.truncate(1);
        assert!(problems(&healthy).is_empty());
        healthy.instances[0].consecutive_failures = 2;
        healthy.instances[0].last_error = Some("jamf said 503".into());
        healthy.instances[0].jobs[0].last_outcome = Some(JobOutcome::Failed);
        assert_eq!(
            problems(&healthy),
            vec![
                "instance prod is failing (2 consecutive failures): jamf said 503".to_owned(),
                "instance prod job rotation (backup): the last run failed (last success \
                 2026-05-01T08:00:00Z)"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn the_json_document_names_jobs_and_states_as_the_text_does() {
        let report = sample();
        let doc = document(&report, &problems(&report)).unwrap();
        assert_eq!(doc["schema"], "warden.status/1");
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["instances"][0]["jobs"][0]["name"], "rotation (backup)");
        assert_eq!(doc["instances"][0]["state"], "ok");
        assert_eq!(doc["instances"][1]["state"], "PARKED");
        assert_eq!(doc["problems"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_vault_error_is_a_problem_until_vault_works_again() {
        let mut report = sample();
        report.instances.truncate(1);
        report.vault = Some(Box::new(warden_core::protocol::VaultState {
            address: "https://vault.example:8200".into(),
            auth_method: "token".into(),
            token_file: None,
            token_ttl_secs: Some(3600),
            renewable: true,
            last_authenticated: Some(t(7, 0)),
            last_renewed: None,
            last_error: Some("permission denied".into()),
            last_error_at: Some(t(8, 0)),
        }));
        assert_eq!(
            problems(&report),
            vec![
                "vault https://vault.example:8200: permission denied (at 2026-05-01T08:00:00Z)"
                    .to_owned()
            ]
        );
        if let Some(v) = report.vault.as_mut() {
            v.last_renewed = Some(t(9, 0));
        }
        assert!(problems(&report).is_empty(), "renewed since: vault works");
    }
}
