//! The scheduled drift check of the daemon in-process against the Jamf simulator and the
//! in-memory secret store: the
//! change log gets one `drift` record when drift appears, changes or is resolved, and none when
//! the same drift is seen again, across restarts (the state lives in the state directory);
//! `Request::Drift` without `now` answers the last scheduled report. With
//! `remediation = "auto"` the check applies the plan as the scheduler, then records the result;
//! without prune nothing is deleted.
//!
//! The drift job runs at start because it never ran; moving `jobs.json` aside before a restart
//! makes it run again (the documented way to start the job table afresh), so every check here
//! is one deterministic run, with no waiting for a schedule slot.

use crate::common;

use common::apply::since;
use common::drift::{
    DRIFT_AT_START, apply, consumer_read, drift_of, drift_statuses, plan, stop, summary,
    with_action,
};
use common::rotation::{ROLE, token_status};
use common::{Cfg, Env, status};
use serde_json::Value;
use warden_core::drift::{CheckSource, DriftKind, InstanceDrift};

/// `(kind, name, managed)` of every item of a report.
fn items(report: &InstanceDrift) -> Vec<(DriftKind, String, bool)> {
    report
        .report
        .items
        .iter()
        .map(|i| (i.kind, i.name.clone(), i.managed))
        .collect()
}

/// The `drift` records of `instance`.
fn drift_records(env: &Env, instance: &str) -> Vec<Value> {
    env.records()
        .into_iter()
        .filter(|r| r["action"] == "drift" && r["instance"] == instance)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_check_records_drift_once_when_it_appears_changes_and_resolves() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    // Live drift: the declared role has a privilege too many.
    let role_id = sim
        .create_role(ROLE, ["Read Computers", "Read Mobile Devices"])
        .unwrap();
    let desired =
        format!("version = 1\n\n[[role]]\nname = \"{ROLE}\"\nprivileges = [\"Read Computers\"]\n");

    // No drift job yet: nothing checked, nothing recorded.
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = common::rotation::NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired);
    let mut daemon = env.start_wardend(None).await;
    let never = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(never.source, CheckSource::NeverChecked);
    assert!(never.checked_at.is_none() && never.report.items.is_empty());
    stop(&mut daemon).await;
    assert!(drift_records(&env, "alpha").is_empty());

    // The drift job at start: one `appeared` record.
    cfg.schedules = DRIFT_AT_START.into();
    env.write_rotation_config(&cfg, &desired);
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let records = drift_records(&env, "alpha");
    assert_eq!(drift_statuses(&records, "alpha"), ["appeared"]);
    let appeared = &records[0];
    assert_eq!(appeared["actor"]["kind"], "schedule");
    assert_eq!(appeared["actor"]["job"], "drift:alpha");
    assert_eq!(appeared["object"]["kind"], "instance");
    assert_eq!(appeared["object"]["name"], "alpha");
    assert_eq!(appeared["outcome"], "ok");
    assert_eq!(appeared["after"]["by_kind"]["privileges_removed"], 1);
    let item = &appeared["after"]["items"][0];
    assert_eq!(item["name"], ROLE);
    assert_eq!(item["before"][0], "Read Mobile Devices");
    // The last report is the scheduled one, with the fingerprint the record holds.
    let last = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(last.source, CheckSource::Scheduled);
    assert_eq!(
        items(&last),
        [(DriftKind::PrivilegesRemoved, ROLE.to_string(), true)]
    );
    assert_eq!(appeared["after"]["fingerprint"], last.fingerprint());
    let first_check = last.checked_at.expect("checked at");

    // A restart keeps the last report (the job is not due again, so it does not run).
    stop(&mut daemon).await;
    let mut daemon = env.start_wardend(None).await;
    let kept = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(kept.source, CheckSource::Scheduled);
    assert_eq!(kept.checked_at, Some(first_check));
    assert_eq!(kept.fingerprint(), last.fingerprint());

    // The same drift seen again by a new run: no new record.
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let again = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(again.source, CheckSource::Scheduled);
    assert_ne!(again.checked_at, Some(first_check), "the check ran again");
    assert_eq!(again.fingerprint(), last.fingerprint());
    assert_eq!(
        drift_statuses(&drift_records(&env, "alpha"), "alpha"),
        ["appeared"]
    );

    // Other drift: an unmanaged client appears. One `changed` record.
    sim.create_client("Old Jenkins", [ROLE], true, 300).unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let records = drift_records(&env, "alpha");
    assert_eq!(drift_statuses(&records, "alpha"), ["appeared", "changed"]);
    let changed = &records[1];
    assert_eq!(changed["after"]["by_kind"]["unmanaged"], 1);
    assert_eq!(changed["after"]["by_kind"]["privileges_removed"], 1);
    let last = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(changed["after"]["fingerprint"], last.fingerprint());

    // Fixed by hand in Jamf: one `resolved` record.
    let old = sim.client_by_name("Old Jenkins").unwrap();
    sim.delete_client(old.id).unwrap();
    sim.update_role(&role_id, ROLE, ["Read Computers"]).unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let records = drift_records(&env, "alpha");
    assert_eq!(
        drift_statuses(&records, "alpha"),
        ["appeared", "changed", "resolved"]
    );
    assert_eq!(records[2]["after"]["items"], serde_json::json!([]));
    let last = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(last.source, CheckSource::Scheduled);
    assert!(last.report.items.is_empty(), "{last:?}");

    // No drift, still none: a further run records nothing; a check now never records.
    stop(&mut daemon).await;
    env.forget_job_runs();
    let daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let now = drift_of(&daemon.socket, "alpha", true).await;
    assert_eq!(now.source, CheckSource::Now);
    assert_eq!(drift_records(&env, "alpha").len(), 3);
    // Only the scheduled checks wrote drift records, and nothing else changed anything.
    let records = env.records();
    assert!(
        summary(&records, &["create", "update", "delete", "rotate", "apply"]).is_empty(),
        "{records:?}"
    );
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_remediation_applies_the_plan_and_records_the_resolution() {
    let env = Env::start_memory(&["alpha", "beta"]).await;
    for name in ["alpha", "beta"] {
        env.mark_management_rotated(name).await;
        let sim = &env.instance(name).sim;
        sim.create_role(ROLE, ["Read Computers"]).unwrap();
    }
    // beta also has unmanaged objects: without prune they stay.
    let beta = &env.instance("beta").sim;
    beta.create_role("Legacy Role", ["Read Computers"]).unwrap();
    beta.create_client("Old Jenkins", ["Legacy Role"], true, 3600)
        .unwrap();
    let desired = format!(
        "version = 1\n\n[[role]]\nname = \"{ROLE}\"\n\
         privileges = [\"Read Computers\", \"Read Mobile Devices\"]\n\n\
         [[role]]\nname = \"Patch Read\"\nprivileges = [\"Read Patch External Source\"]\n\n\
         [[client]]\nname = \"Auto Client\"\nroles = [\"Patch Read\"]\nowner = \"it@example.com\"\n\
         purpose = \"auto remediation test\"\n[client.rotation]\nschedule = \"@yearly\"\n"
    );
    let mut cfg = Cfg::new(&["alpha", "beta"])
        .instance_line("alpha", "remediation = \"auto\"")
        .instance_line("beta", "remediation = \"auto\"");
    cfg.schedules = DRIFT_AT_START.into();
    env.write_rotation_config(&cfg, &desired);
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;

    // No person has applied this desired state yet: the start-up check reports the drift and
    // applies nothing; status says it waits for one `wardenctl apply`.
    let changes = ["apply", "create", "update", "delete", "rotate"];
    assert!(summary(&env.records(), &changes).is_empty());
    for i in &status(&daemon.socket).await.instances {
        let waits = i.remediation_waits.as_deref().unwrap_or_default();
        assert!(
            waits.contains(&format!("wardenctl apply {}", i.name)),
            "{i:?}"
        );
    }
    // A person applies it once; then someone undoes it in the console, and the next scheduled
    // check (after a restart: the approval is kept in the state directory) repairs it alone.
    for name in ["alpha", "beta"] {
        assert!(!apply(&daemon.socket, name).await.failed());
        let sim = &env.instance(name).sim;
        let auto = sim.client_by_name("Auto Client").unwrap();
        sim.delete_client(auto.id).unwrap();
        let patch = sim.role_by_name("Patch Read").unwrap();
        sim.delete_role(&patch.id).unwrap();
        let role = sim.role_by_name(ROLE).unwrap();
        sim.update_role(&role.id, ROLE, ["Read Computers"]).unwrap();
    }
    assert!(
        status(&daemon.socket)
            .await
            .instances
            .iter()
            .all(|i| i.remediation_waits.is_none())
    );
    let skip = env.records().len();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    let all = env.records();
    let records = since(&env, skip);

    for name in ["alpha", "beta"] {
        let mine: Vec<Value> = records
            .iter()
            .filter(|r| r["instance"] == name)
            .cloned()
            .collect();
        let drift_and_apply: Vec<Value> = all
            .iter()
            .filter(|r| r["instance"] == name && r["action"] == "drift")
            .chain(mine.iter().filter(|r| r["action"] != "drift"))
            .cloned()
            .collect();
        // The plan applied by the scheduler, each step recorded, the secret through the engine.
        assert_eq!(
            summary(&mine, &["apply", "create", "update", "delete", "rotate"]),
            [
                format!("apply {name} started"),
                "create Patch Read started".into(),
                "create Patch Read ok".into(),
                "update Inventory Read started".into(),
                "update Inventory Read ok".into(),
                "create Auto Client started".into(),
                "create Auto Client ok".into(),
                "rotate Auto Client started".into(),
                "rotate Auto Client ok".into(),
                format!("apply {name} ok"),
            ],
            "{name}"
        );
        for r in mine.iter().filter(|r| r["action"] != "drift") {
            assert_eq!(r["actor"]["kind"], "schedule", "{r}");
            assert_eq!(r["actor"]["job"], format!("drift:{name}"), "{r}");
        }
        // Drift recorded before the apply, its result after it.
        let seq_of = |action: &str, outcome: &str| {
            drift_and_apply
                .iter()
                .filter(|r| r["action"] == action && r["outcome"] == outcome)
                .map(|r| r["seq"].as_u64().unwrap())
                .collect::<Vec<_>>()
        };
        let drifts = seq_of("drift", "ok");
        assert_eq!(drifts.len(), 2, "{name}");
        assert!(drifts[0] < seq_of("apply", "started")[0], "{name}");
        assert!(seq_of("apply", "ok")[0] < drifts[1], "{name}");

        // Live state matches the desired state; the new client's secret works for a consumer.
        let inst = env.instance(name);
        let role = inst.sim.role_by_name(ROLE).unwrap();
        assert_eq!(role.privileges.len(), 2, "{role:?}");
        assert!(inst.sim.role_by_name("Patch Read").is_some());
        let auto = inst.sim.client_by_name("Auto Client").unwrap();
        assert_eq!(auto.authorization_scopes, ["Patch Read"]);
        let (id, secret) =
            consumer_read(&env, &format!("instances/{name}/clients/auto-client")).await;
        assert_eq!(id, auto.client_id);
        assert_eq!(token_status(&inst.url, &id, &secret).await, 200);
        assert!(plan(&daemon.socket, name).await.plan.steps.is_empty());
    }

    // alpha: nothing left, the drift resolved (the drift seen before the person's apply and
    // after the console change is the same drift: recorded once).
    let records = all;
    assert_eq!(drift_statuses(&records, "alpha"), ["appeared", "resolved"]);
    let alpha = drift_of(&daemon.socket, "alpha", false).await;
    assert_eq!(alpha.source, CheckSource::Scheduled);
    assert!(alpha.report.items.is_empty(), "{alpha:?}");

    // beta: the managed drift is fixed, the unmanaged objects are left (no prune), so the drift
    // changed to just them; nothing was deleted anywhere.
    assert_eq!(drift_statuses(&records, "beta"), ["appeared", "changed"]);
    let beta_report = drift_of(&daemon.socket, "beta", false).await;
    assert_eq!(beta_report.source, CheckSource::Scheduled);
    assert_eq!(
        items(&beta_report),
        [
            (DriftKind::Unmanaged, "Legacy Role".to_string(), false),
            (DriftKind::Unmanaged, "Old Jenkins".to_string(), false),
        ]
    );
    assert!(beta.role_by_name("Legacy Role").is_some());
    assert!(beta.client_by_name("Old Jenkins").is_some());
    assert!(with_action(&records, "delete").is_empty());

    let mut secrets = env.standing_secrets("alpha").await;
    secrets.extend(env.standing_secrets("beta").await);
    for name in ["alpha", "beta"] {
        for (_, _, s) in env
            .vault_versions(&format!("instances/{name}/clients/auto-client"))
            .await
        {
            secrets.push(("a minted secret", s));
        }
    }
    env.assert_absent_from(&env.daemon_files(), &secrets);
}
