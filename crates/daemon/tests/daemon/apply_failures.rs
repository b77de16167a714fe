//! Applies that fail against the daemon in-process, the Jamf simulator and the in-memory secret
//! store: a 503 in the
//! middle of a plan stops the run with a clear report and change-log records, and once the
//! fault is gone the next apply converges without duplicates; a misspelt privilege refuses the
//! apply (and the plan) before anything changes. No secret shows up in the daemon's files.

use crate::common;

use std::collections::BTreeSet;

use common::apply::{
    CREATE_CLIENT_ROUTE, CREATE_ROLE_ROUTE, client, role, since, steps, vault_secrets,
};
use common::drift::{
    applied_steps, apply, apply_response, consumer_read, plan, plan_response, plan_steps, summary,
};
use common::rotation::{Managed, ROLE, error_of, token_status};
use common::{Daemon, Env};
use jamf_sim::FaultRule;
use serde_json::{Value, json};
use warden_core::drift::{Action, ApplyReport, StepStatus};
use warden_core::protocol::ErrorCode;

/// `alpha` declaring a role to create and one to widen, two clients to create and one whose
/// scope changes; wardend ran one apply while the next client create answered 503.
struct Faulted {
    env: Env,
    daemon: Daemon,
    scope: Managed,
    /// The failed apply's report and the records it added.
    report: ApplyReport,
    records: Vec<Value>,
}

impl Faulted {
    async fn start() -> Faulted {
        let env = Env::start_memory(&["alpha"]).await;
        env.mark_management_rotated("alpha").await;
        let scope = env.add_managed_client("alpha", "Scope Client").await;
        let inst = env.instance("alpha");
        let sim = &inst.sim;
        let desired = format!(
            "version = 1\n{}{}{}{}{}",
            role(ROLE, &["Read Computers", "Read Mobile Devices"]),
            role("Patch Read", &["Read Patch External Source"]),
            client("First New", &["Patch Read"], ""),
            client("Second New", &[ROLE], ""),
            client("Scope Client", &["Patch Read"], ""),
        );
        let daemon = env.start_declaring(&["alpha"], &desired).await;
        let socket = &daemon.socket;
        sim.reset_stats();

        // The next client create answers 503 (before Jamf does anything); creates are never
        // retried, so the step fails.
        sim.add_fault(FaultRule::fail_next(
            &format!("POST {CREATE_CLIENT_ROUTE}"),
            1,
            503,
        ))
        .unwrap();
        let records_before = env.records().len();
        let report = apply(socket, "alpha").await;
        let records = since(&env, records_before);
        Faulted {
            env,
            daemon,
            scope,
            report,
            records,
        }
    }

    /// No secret Vault holds for the clients in the daemon's files.
    async fn assert_nothing_leaked(&self) {
        let env = &self.env;
        let secrets = vault_secrets(
            env,
            &[
                "instances/alpha/clients/first-new",
                "instances/alpha/clients/second-new",
                &self.scope.vault_path,
            ],
        )
        .await;
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_mid_plan_stops_the_apply_with_a_clear_report_and_records() {
    let f = Faulted::start().await;
    let (report, records) = (&f.report, &f.records);
    let sim = &f.env.instance("alpha").sim;

    assert_eq!(
        applied_steps(report),
        steps(&[
            (Action::CreateRole, "Patch Read"),
            (Action::UpdateRole, ROLE),
            (Action::CreateClient, "First New"),
            (Action::RotateSecret, "First New"),
            (Action::CreateClient, "Second New"),
            (Action::RotateSecret, "Second New"),
            (Action::UpdateClient, "Scope Client"),
            (Action::RotateSecret, "Scope Client"),
        ])
    );
    let statuses: Vec<StepStatus> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            StepStatus::Done,
            StepStatus::Done,
            StepStatus::Failed,
            StepStatus::NotRun,
            StepStatus::NotRun,
            StepStatus::NotRun,
            StepStatus::NotRun,
            StepStatus::NotRun,
        ]
    );
    let failed = &report.steps[2];
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("503"), "{error}");
    assert!(report.steps[3..].iter().all(|s| s.error.is_none()));

    // The change log: the failing step's started and failed records, then apply failed;
    // nothing about the steps that did not run.
    assert_eq!(
        summary(records, &["apply", "create", "update", "delete", "rotate"]),
        [
            "apply alpha started",
            "create Patch Read started",
            "create Patch Read ok",
            "update Inventory Read started",
            "update Inventory Read ok",
            "create First New started",
            "create First New failed",
            "apply alpha failed",
        ]
    );
    let step_failed = records
        .iter()
        .find(|r| r["action"] == "create" && r["outcome"] == "failed")
        .unwrap();
    assert!(
        step_failed["error"].as_str().unwrap().contains("503"),
        "{step_failed}"
    );
    assert_eq!(
        Some(step_failed["seq"].as_u64().unwrap()),
        failed.change_seq
    );
    let apply_failed = records.last().unwrap();
    assert_eq!(
        apply_failed["after"]["failed_step"],
        json!({"action": "create_client", "name": "First New"})
    );
    assert_eq!(apply_failed["after"]["done"], 2);
    assert_eq!(apply_failed["after"]["not_run"], 5);
    assert!(apply_failed["error"].as_str().unwrap().contains("503"));
    // Jamf: the first two steps happened, nothing after them.
    assert!(sim.role_by_name("Patch Read").is_some());
    assert_eq!(sim.role_by_name(ROLE).unwrap().privileges.len(), 2);
    assert!(sim.client_by_name("First New").is_none());
    assert!(sim.client_by_name("Second New").is_none());
    assert_eq!(
        sim.client_by_name("Scope Client")
            .unwrap()
            .authorization_scopes,
        [ROLE]
    );

    f.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_503_the_next_apply_converges_without_duplicates() {
    let f = Faulted::start().await;
    let env = &f.env;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    let socket = &f.daemon.socket;
    assert_eq!(
        f.report
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Done)
            .count(),
        2,
        "the failed apply did the first two steps"
    );

    // Fault gone: the next plan starts where the last apply stopped, and the apply converges.
    sim.clear_faults();
    assert!(sim.faults().is_empty());
    assert_eq!(
        plan_steps(&plan(socket, "alpha").await),
        steps(&[
            (Action::CreateClient, "First New"),
            (Action::RotateSecret, "First New"),
            (Action::CreateClient, "Second New"),
            (Action::RotateSecret, "Second New"),
            (Action::UpdateClient, "Scope Client"),
            (Action::RotateSecret, "Scope Client"),
        ])
    );
    let second = apply(socket, "alpha").await;
    assert_eq!(second.steps.len(), 6);
    assert!(
        second.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        second.steps
    );
    assert!(plan(socket, "alpha").await.plan.steps.is_empty());

    // Nothing was created twice: one role create, two client creates (plus the refused one),
    // one secret per client that needed one.
    let stats = sim.stats();
    assert_eq!(stats.count("POST", CREATE_ROLE_ROUTE), 1);
    assert_eq!(stats.count_status("POST", CREATE_CLIENT_ROUTE, 200), 2);
    assert_eq!(stats.count_status("POST", CREATE_CLIENT_ROUTE, 503), 1);
    assert_eq!(stats.count("POST", CREATE_CLIENT_ROUTE), 3);
    assert_eq!(env.mints("alpha"), 3);
    let names: Vec<String> = sim.clients().into_iter().map(|c| c.display_name).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for name in ["First New", "Second New"] {
        let c = sim.client_by_name(name).unwrap();
        let (id, secret) = consumer_read(
            env,
            &format!(
                "instances/alpha/clients/{}",
                name.to_lowercase().replace(' ', "-")
            ),
        )
        .await;
        assert_eq!(id, c.client_id);
        assert_eq!(token_status(&inst.url, &id, &secret).await, 200);
    }

    f.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_a_misspelt_privilege_is_refused_and_changes_nothing() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let managed = env.add_managed_client("alpha", "Inventory Sync").await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    // Otherwise there is plenty to do: a role to update, a client to create.
    let desired = format!(
        "version = 1\n{}{}{}{}",
        role(ROLE, &["Read Computers", "Read Mobile Devices"]),
        role("Readers", &["Read Computer"]),
        client("Inventory Sync", &[ROLE], ""),
        client("Reader Client", &["Readers"], ""),
    );
    let daemon = env.start_declaring(&["alpha"], &desired).await;
    let roles_before = sim.roles();
    let clients_before = sim.clients();
    let records_before = env.records().len();
    sim.reset_stats();

    let response = apply_response(&daemon.socket, "alpha", true).await;
    let (code, message) = error_of(&response);
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    assert!(message.contains("did you mean"), "{message}");
    assert!(message.contains("`Read Computers`"), "{message}");
    assert!(message.contains("Read Computer"), "{message}");
    // plan refuses the same way
    let (code, plan_message) = error_of(&plan_response(&daemon.socket, "alpha").await);
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(plan_message.contains("did you mean"), "{plan_message}");

    // Nothing changed in Jamf, Vault or the change log; only reads reached Jamf.
    assert_eq!(sim.roles(), roles_before);
    assert_eq!(sim.clients(), clients_before);
    let stats = sim.stats();
    for method in ["POST", "PUT", "DELETE"] {
        for route in [
            CREATE_ROLE_ROUTE,
            "/api/v1/api-roles/{id}",
            CREATE_CLIENT_ROUTE,
            "/api/v1/api-integrations/{id}",
            common::rotation::MINT_ROUTE,
        ] {
            assert_eq!(stats.count(method, route), 0, "{method} {route}");
        }
    }
    assert_eq!(env.records().len(), records_before);
    assert_eq!(env.vault_versions(&managed.vault_path).await.len(), 1);
    let mut secrets = env.standing_secrets("alpha").await;
    secrets.push(("the managed secret", managed.initial_secret.clone()));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}
