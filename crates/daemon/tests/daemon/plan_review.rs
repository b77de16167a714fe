//! Review before load (issue 14 §3), against the daemon in-process, the Jamf simulator and the
//! in-memory secret store: `plan --desired` plans a proposed file without loading it (only GETs
//! reach Jamf, and a later plain plan still uses the loaded file), errors name the proposed
//! file's line, the fleet-wide plan groups instances with a summary, a saved plan applies
//! exactly or is refused when the live or desired state moved, and the plan shows per-step
//! privilege changes.

use std::path::Path;

use crate::common;

use common::apply::{client, role, since};
use common::drift::{DRIFT_AT_START, apply, plan, report_body, stop, summary};
use common::rotation::ROLE;
use common::{Cfg, Env, send};
use jamf_sim::{FaultKind, FaultRule};
use warden_core::drift::{
    Action, DriftKind, FLEET_PLAN_SCHEMA, FleetPlanDocument, PlanDocument, SetDiff,
};
use warden_core::protocol::{
    ApplyRequest, ErrorCode, PlanRequest, ProposedFile, ReportKind, Request, Response,
};

const CHANGES: [&str; 5] = ["apply", "create", "update", "delete", "rotate"];

/// The loaded desired state: the role as it is live.
fn loaded() -> String {
    format!("version = 1\n{}", role(ROLE, &["Read Computers"]))
}

/// A proposal: one privilege more, one role and client more.
fn proposal() -> String {
    format!(
        "version = 1\n{}{}{}",
        role(ROLE, &["Read Computers", "Read Mobile Devices"]),
        role("Patch Read", &["Read Patch External Source"]),
        client("Patch Bot", &["Patch Read"], ""),
    )
}

async fn setup(names: &[&str]) -> (Env, common::Daemon) {
    let env = Env::start_memory(names).await;
    for name in names {
        env.mark_management_rotated(name).await;
        env.instance(name)
            .sim
            .create_role(ROLE, ["Read Computers"])
            .unwrap();
    }
    let daemon = env.start_declaring(names, &loaded()).await;
    (env, daemon)
}

async fn plan_with(socket: &Path, instance: &str, files: &[(&str, String)]) -> Response {
    let desired = files
        .iter()
        .map(|(name, text)| ProposedFile {
            name: (*name).into(),
            text: text.clone(),
        })
        .collect();
    send(
        socket,
        Request::Plan(PlanRequest {
            instance: instance.into(),
            desired,
            ..Default::default()
        }),
    )
    .await
}

fn error_of(response: Response) -> (ErrorCode, String) {
    match response {
        Response::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Every request the simulator answered since its last reset, as `METHOD route`, except GETs
/// and the management client's token.
fn writes(env: &Env, name: &str) -> Vec<String> {
    env.instance(name)
        .sim
        .stats()
        .requests
        .iter()
        .filter(|r| r.method != "GET" && r.route != "/api/v1/oauth/token")
        .map(|r| format!("{} {}", r.method, r.route))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_of_a_proposed_file_changes_nothing_and_is_not_kept() {
    let (env, daemon) = setup(&["alpha"]).await;
    let sim = &env.instance("alpha").sim;
    sim.reset_stats();
    let skip = env.records().len();

    let response = plan_with(
        &daemon.socket,
        "alpha",
        &[("proposed/desired.toml", proposal())],
    )
    .await;
    let (findings, doc): (u64, PlanDocument) = report_body(response, ReportKind::Plan);
    assert_eq!(doc.proposed, ["proposed/desired.toml"]);
    let steps: Vec<(Action, &str)> = doc
        .plan
        .steps
        .iter()
        .map(|s| (s.action, s.name.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (Action::CreateRole, "Patch Read"),
            (Action::UpdateRole, ROLE),
            (Action::CreateClient, "Patch Bot"),
            (Action::RotateSecret, "Patch Bot"),
        ]
    );
    assert_eq!(findings, 4);
    // the role update shows the privilege it adds, not only the new set
    assert_eq!(
        doc.plan.steps[1].diff,
        Some(SetDiff {
            added: vec!["Read Mobile Devices".into()],
            removed: vec![],
        })
    );
    assert!(doc.fingerprints.is_some());
    // the review shows the drift against the proposal too
    let drift: Vec<(DriftKind, &str)> = doc
        .drift
        .as_ref()
        .expect("the drift of the proposal")
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str()))
        .collect();
    assert_eq!(
        drift,
        [
            (DriftKind::PrivilegesAdded, ROLE),
            (DriftKind::Missing, "Patch Read"),
            (DriftKind::Missing, "Patch Bot"),
        ]
    );
    let text = warden_core::drift::render_plan_doc(&doc, false);
    assert!(text.contains("# proposed desired state (not loaded): proposed/desired.toml"));
    assert!(
        text.contains(
            "## drift\n~ role \"Inventory Read\"\n    + privilege \"Read Mobile Devices\""
        ),
        "{text}"
    );

    // Read-only: Jamf saw only GETs, the change log nothing, Jamf is unchanged.
    assert!(writes(&env, "alpha").is_empty(), "{:?}", sim.stats());
    assert!(summary(&since(&env, skip), &CHANGES).is_empty());
    assert!(sim.role_by_name("Patch Read").is_none());
    // Nothing kept: the plan of the loaded state is still empty.
    let loaded_plan = plan(&daemon.socket, "alpha").await;
    assert!(loaded_plan.plan.is_empty());
    assert!(loaded_plan.proposed.is_empty() && loaded_plan.drift.is_none());
    let drift = common::drift::drift_of(&daemon.socket, "alpha", true).await;
    assert!(drift.report.items.is_empty(), "{drift:?}");

    // Without instance names: every instance that lists a file of that name, as a fleet plan.
    let response = send(
        &daemon.socket,
        Request::Plan(PlanRequest {
            desired: vec![ProposedFile {
                name: "desired.toml".into(),
                text: proposal(),
            }],
            ..Default::default()
        }),
    )
    .await;
    let (_, fleet): (u64, FleetPlanDocument) = report_body(response, ReportKind::Plan);
    assert_eq!(fleet.schema, FLEET_PLAN_SCHEMA);
    assert_eq!(fleet.instances.len(), 1);
    assert_eq!(fleet.summary.with_changes, 1);
    assert!(writes(&env, "alpha").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_proposed_for_a_named_instance_is_planned_as_added() {
    let (env, daemon) = setup(&["alpha"]).await;
    env.instance("alpha").sim.reset_stats();
    let new_team = format!(
        "version = 1\n{}{}",
        role("Patch Read", &["Read Patch External Source"]),
        client("Patch Bot", &["Patch Read"], ""),
    );
    let response = plan_with(&daemon.socket, "alpha", &[("teams/patch.toml", new_team)]).await;
    let (_, doc): (u64, PlanDocument) = report_body(response, ReportKind::Plan);
    assert_eq!(doc.proposed, ["teams/patch.toml (added)"]);
    let steps: Vec<(Action, &str)> = doc
        .plan
        .steps
        .iter()
        .map(|s| (s.action, s.name.as_str()))
        .collect();
    // the loaded files stay (the role they declare is not deleted); the new one adds
    assert_eq!(
        steps,
        [
            (Action::CreateRole, "Patch Read"),
            (Action::CreateClient, "Patch Bot"),
            (Action::RotateSecret, "Patch Bot"),
        ]
    );
    assert!(writes(&env, "alpha").is_empty());
    // without an instance name, a file no instance lists is still refused, with what they list
    let response = send(
        &daemon.socket,
        Request::Plan(PlanRequest {
            desired: vec![ProposedFile {
                name: "teams/patch.toml".into(),
                text: String::from("version = 1\n"),
            }],
            ..Default::default()
        }),
    )
    .await;
    let (code, message) = error_of(response);
    assert_eq!(code, ErrorCode::NotFound);
    assert!(
        message.contains("no instance lists a file named patch.toml"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposed_file_with_errors_is_refused_at_its_line() {
    let (env, daemon) = setup(&["alpha"]).await;
    // a syntax error on line 3
    let broken = "version = 1\n\n[[role]\nname = \"x\"\n".to_owned();
    let (code, message) =
        error_of(plan_with(&daemon.socket, "alpha", &[("review/desired.toml", broken)]).await);
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(message.contains("review/desired.toml:3:"), "{message}");
    assert!(message.contains("nothing was loaded"), "{message}");

    // a misspelt privilege on line 4: the live catalogue's suggestion, at the line
    let typo = format!(
        "version = 1\n{}",
        role(ROLE, &["Read Computers", "Read Mobile Device"])
    );
    let (code, message) =
        error_of(plan_with(&daemon.socket, "alpha", &[("review/desired.toml", typo)]).await);
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(message.contains("review/desired.toml:5:"), "{message}");
    assert!(
        message.contains("did you mean `Read Mobile Devices`"),
        "{message}"
    );

    // a file alpha does not list is added after its own: declaring its role again is an
    // error, as it would be once listed
    let (code, message) =
        error_of(plan_with(&daemon.socket, "alpha", &[("other.toml", proposal())]).await);
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(message.contains("other.toml"), "{message}");
    assert!(message.contains(ROLE), "{message}");
    assert!(writes(&env, "alpha").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_plan_groups_instances_with_a_summary_and_lists_the_unreachable() {
    let (env, daemon) = setup(&["alpha", "beta", "gamma"]).await;
    // alpha drifts (a privilege removed in the console), beta matches, gamma cannot be read
    let sim = &env.instance("alpha").sim;
    let id = sim.role_by_name(ROLE).unwrap().id;
    sim.update_role(&id, ROLE, ["Read Mobile Devices"]).unwrap();
    env.instance("gamma")
        .sim
        .set_faults([FaultRule {
            endpoint: "GET /api/v1/api-roles".into(),
            kind: FaultKind::FailNext {
                count: 1000,
                status: 403,
            },
            after_commit: false,
        }])
        .unwrap();
    let response = send(&daemon.socket, Request::Plan(PlanRequest::default())).await;
    let (findings, doc): (u64, FleetPlanDocument) = report_body(response, ReportKind::Plan);
    let names: Vec<&str> = doc.instances.iter().map(|e| e.instance.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    assert_eq!(doc.summary.instances, 3);
    assert_eq!(doc.summary.with_changes, 1);
    assert_eq!(doc.summary.failed, 1);
    assert_eq!(doc.summary.updates, 1);
    assert_eq!(doc.summary.creates + doc.summary.deletes, 0);
    assert_eq!(findings, 2);
    let alpha = doc.instances[0].plan.as_ref().unwrap();
    assert_eq!(
        alpha.plan.steps[0].diff,
        Some(SetDiff {
            added: vec!["Read Computers".into()],
            removed: vec!["Read Mobile Devices".into()],
        })
    );
    assert!(doc.instances[1].plan.as_ref().unwrap().plan.is_empty());
    assert!(doc.instances[2].plan.is_none());
    assert!(doc.instances[2].error.is_some());
}

async fn apply_saved(socket: &Path, doc: &PlanDocument) -> Response {
    send(
        socket,
        Request::Apply(ApplyRequest {
            instance: doc.instance.clone(),
            confirmed: true,
            plan: doc.fingerprints.clone(),
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_exactly_and_holds_no_secret() {
    let (env, daemon) = setup(&["alpha"]).await;
    let desired = proposal();
    std::fs::write(env.path("desired.toml"), &desired).unwrap();
    assert!(matches!(
        send(&daemon.socket, Request::Reload).await,
        Response::Reloaded { .. }
    ));
    let saved = plan(&daemon.socket, "alpha").await;
    let file = serde_json::to_string_pretty(&saved).unwrap();
    let (_, report) = report_body(apply_saved(&daemon.socket, &saved).await, ReportKind::Apply);
    let report: warden_core::drift::ApplyReport = report;
    let done: Vec<_> = report.steps.iter().map(|s| s.step.clone()).collect();
    assert_eq!(done, saved.plan.steps);
    assert!(!report.failed());
    // the plan file holds none of the secrets that exist now
    let mut secrets = env.standing_secrets("alpha").await;
    for (_, _, s) in env
        .vault_versions("instances/alpha/clients/patch-bot")
        .await
    {
        secrets.push(("a minted secret", s));
    }
    assert!(secrets.len() > 1);
    for (what, s) in &secrets {
        assert!(!file.contains(s.as_str()), "the plan file holds {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_after_a_live_or_desired_change() {
    let (env, daemon) = setup(&["alpha"]).await;
    std::fs::write(env.path("desired.toml"), proposal()).unwrap();
    assert!(matches!(
        send(&daemon.socket, Request::Reload).await,
        Response::Reloaded { .. }
    ));
    let saved = plan(&daemon.socket, "alpha").await;
    let skip = env.records().len();

    // someone changes the role in the console: the live state moved
    let sim = &env.instance("alpha").sim;
    let id = sim.role_by_name(ROLE).unwrap().id;
    sim.update_role(&id, ROLE, ["Read Computers", "Read API Roles"])
        .unwrap();
    sim.reset_stats();
    let (code, message) = error_of(apply_saved(&daemon.socket, &saved).await);
    assert_eq!(code, ErrorCode::Conflict);
    assert!(message.contains("the live state"), "{message}");
    assert!(message.contains("nothing was changed"), "{message}");
    assert!(writes(&env, "alpha").is_empty());
    assert!(summary(&since(&env, skip), &CHANGES).is_empty());

    // back as it was: the saved plan applies again... unless the desired state changed
    sim.update_role(&id, ROLE, ["Read Computers"]).unwrap();
    let again = format!("{}{}", proposal(), role("Extra", &["Read API Roles"]));
    std::fs::write(env.path("desired.toml"), again).unwrap();
    assert!(matches!(
        send(&daemon.socket, Request::Reload).await,
        Response::Reloaded { .. }
    ));
    let (code, message) = error_of(apply_saved(&daemon.socket, &saved).await);
    assert_eq!(code, ErrorCode::Conflict);
    assert!(message.contains("desired state"), "{message}");
    assert!(!message.contains("live state"), "{message}");
    assert!(writes(&env, "alpha").is_empty());
    assert!(summary(&since(&env, skip), &CHANGES).is_empty());
    // a fresh plan applies
    let fresh = plan(&daemon.socket, "alpha").await;
    let (_, report): (u64, warden_core::drift::ApplyReport) =
        report_body(apply_saved(&daemon.socket, &fresh).await, ReportKind::Apply);
    assert!(!report.failed());
    assert!(plan(&daemon.socket, "alpha").await.plan.is_empty());
}

/// The waiting note of `instance` in `status`.
async fn waits(socket: &Path, instance: &str) -> Option<String> {
    common::status(socket)
        .await
        .instances
        .into_iter()
        .find(|i| i.name == instance)
        .and_then(|i| i.remediation_waits)
}

/// Restarts wardend with the job table forgotten, so the drift job runs at start; waits for it.
async fn rerun_drift_job(env: &Env, daemon: &mut common::Daemon) {
    stop(daemon).await;
    env.forget_job_runs();
    *daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_remediation_waits_after_a_reload_until_one_human_apply() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    sim.create_role(ROLE, ["Read Computers"]).unwrap();
    let mut cfg = Cfg::new(&["alpha"]).instance_line("alpha", "remediation = \"auto\"");
    cfg.schedules = DRIFT_AT_START.into();
    env.write_rotation_config(&cfg, &loaded());
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    // never applied by a person: auto waits, even with nothing to do
    assert!(waits(&daemon.socket, "alpha").await.is_some());
    assert!(apply(&daemon.socket, "alpha").await.steps.is_empty());
    assert_eq!(waits(&daemon.socket, "alpha").await, None);

    // a reload brings a new desired state: the next scheduled check reports, applies nothing
    std::fs::write(env.path("desired.toml"), proposal()).unwrap();
    assert!(matches!(
        send(&daemon.socket, Request::Reload).await,
        Response::Reloaded { .. }
    ));
    let note = waits(&daemon.socket, "alpha")
        .await
        .expect("waits after the reload");
    assert!(note.contains("wardenctl apply alpha"), "{note}");
    let skip = env.records().len();
    rerun_drift_job(&env, &mut daemon).await;
    assert!(summary(&since(&env, skip), &CHANGES).is_empty());
    assert!(sim.role_by_name("Patch Read").is_none());
    let drift = common::drift::drift_of(&daemon.socket, "alpha", false).await;
    assert!(!drift.report.items.is_empty());
    assert!(waits(&daemon.socket, "alpha").await.is_some());

    // a person applies it once...
    let skip = env.records().len();
    assert!(!apply(&daemon.socket, "alpha").await.failed());
    assert!(sim.role_by_name("Patch Read").is_some());
    assert_eq!(waits(&daemon.socket, "alpha").await, None);
    let by_person = since(&env, skip);
    assert!(!by_person.is_empty());
    for r in &by_person {
        assert_eq!(r["actor"]["kind"], "user", "{r}");
    }
    // ...and from then on auto keeps Jamf at it: a console change is repaired by the schedule
    let id = sim.role_by_name(ROLE).unwrap().id;
    sim.update_role(&id, ROLE, ["Read Computers"]).unwrap();
    let skip = env.records().len();
    rerun_drift_job(&env, &mut daemon).await;
    let records = since(&env, skip);
    assert_eq!(
        summary(&records, &CHANGES),
        [
            "apply alpha started",
            "update Inventory Read started",
            "update Inventory Read ok",
            "apply alpha ok"
        ]
    );
    for r in records
        .iter()
        .filter(|r| CHANGES.iter().any(|a| r["action"] == *a))
    {
        assert_eq!(r["actor"]["kind"], "schedule", "{r}");
    }
    assert_eq!(sim.role_by_name(ROLE).unwrap().privileges.len(), 2);
}
