//! Prune against the daemon in-process, the Jamf simulator and the in-memory secret store:
//! without it, unmanaged
//! objects are reported, not planned, and survive an apply; with it, apply deletes unmanaged
//! clients, then the roles no remaining client uses, but never foreign objects (the built-in app)
//! nor Warden's own role and client (nor a role only Warden's client uses). No secret shows up in
//! the daemon's files.

use crate::common;

use common::apply::{client, role, since, steps};
use common::drift::{applied_steps, apply, drift_of, plan, plan_steps, summary, with_action};
use common::rotation::{Managed, NO_JOBS, ROLE, token_status};
use common::{Cfg, Daemon, Env, send};
use jamf_sim::{AppType, ClientPatch, SimClient, SimRole};
use warden_core::drift::{Action, DriftKind, StepStatus};
use warden_core::protocol::{Request, Response};

/// `alpha` with a managed client, unmanaged objects, a role only Warden's client uses and the
/// built-in app; wardend declaring the managed client and its (widened) role, without prune.
struct Prune {
    env: Env,
    cfg: Cfg,
    desired: String,
    daemon: Daemon,
    managed: Managed,
    /// Foreign and Warden's own objects as they were before any apply.
    app_client: SimClient,
    app_role: SimRole,
    wardens_role: SimRole,
    wardens_client: SimClient,
}

impl Prune {
    async fn start() -> Prune {
        let env = Env::start_memory(&["alpha"]).await;
        env.mark_management_rotated("alpha").await;
        let managed = env.add_managed_client("alpha", "Inventory Sync").await;
        let inst = env.instance("alpha");
        let sim = &inst.sim;
        // Unmanaged: a client with a role of its own and a declared one, and a role nobody uses.
        sim.create_role("Legacy Role", ["Read Computers"]).unwrap();
        sim.create_client("Old Jenkins", ["Legacy Role", ROLE], true, 3600)
            .unwrap();
        sim.create_role("Unused Role", ["Read Mobile Devices"])
            .unwrap();
        // Warden's own management client holds a second, undeclared role: still used, so kept.
        sim.create_role("Warden Extra", ["Read Computers"]).unwrap();
        let management = sim.client_by_name("Jamf Warden").unwrap();
        sim.update_client(
            management.id,
            ClientPatch {
                authorization_scopes: Some(vec!["Jamf Warden".into(), "Warden Extra".into()]),
                ..ClientPatch::default()
            },
        )
        .unwrap();
        // Foreign: the simulator's built-in Jamf Reset app client and its app role.
        let app_client = sim
            .client_by_name("Jamf Reset")
            .expect("built-in app client");
        assert_eq!(app_client.app_type, AppType::NativeAppOauth);
        let app_role = sim.role_by_name("Jamf Reset").expect("built-in app role");
        let wardens_role = sim.role_by_name("Jamf Warden").unwrap();
        let wardens_client = sim.client_by_name("Jamf Warden").unwrap();

        let desired = format!(
            "version = 1\n{}{}",
            role(ROLE, &["Read Computers", "Read Mobile Devices"]),
            client("Inventory Sync", &[ROLE], ""),
        );
        let mut cfg = Cfg::new(&["alpha"]);
        cfg.schedules = NO_JOBS.into();
        env.write_rotation_config(&cfg, &desired);
        let daemon = env.start_wardend(None).await;
        Prune {
            env,
            cfg,
            desired,
            daemon,
            managed,
            app_client,
            app_role,
            wardens_role,
            wardens_client,
        }
    }

    /// No management secret nor the managed client's secret in the daemon's files.
    async fn assert_nothing_leaked(&self) {
        let env = &self.env;
        let mut secrets = env.standing_secrets("alpha").await;
        secrets.push(("the managed secret", self.managed.initial_secret.clone()));
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prune_unmanaged_objects_are_reported_not_planned_and_survive_an_apply() {
    let p = Prune::start().await;
    let env = &p.env;
    let sim = &env.instance("alpha").sim;
    let socket = &p.daemon.socket;

    // Without prune: unmanaged objects are reported, not planned, and survive an apply.
    let drift = drift_of(socket, "alpha", true).await;
    let unmanaged: Vec<(&str, bool)> = drift
        .report
        .items
        .iter()
        .filter(|i| i.kind == DriftKind::Unmanaged)
        .map(|i| (i.name.as_str(), i.managed))
        .collect();
    assert_eq!(
        unmanaged,
        [
            ("Legacy Role", false),
            ("Unused Role", false),
            ("Old Jenkins", false)
        ]
    );
    assert!(
        drift
            .report
            .foreign
            .contains(&"client \"Jamf Reset\"".to_string()),
        "{:?}",
        drift.report.foreign
    );
    let report = apply(socket, "alpha").await;
    assert_eq!(applied_steps(&report), steps(&[(Action::UpdateRole, ROLE)]));
    assert!(report.steps.iter().all(|s| s.status == StepStatus::Done));
    for name in ["Legacy Role", "Unused Role", "Warden Extra"] {
        assert!(sim.role_by_name(name).is_some(), "{name} deleted");
    }
    assert!(sim.client_by_name("Old Jenkins").is_some());
    assert!(with_action(&env.records(), "delete").is_empty());

    p.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prune_apply_deletes_unmanaged_clients_then_roles_but_never_foreign_or_wardens_own() {
    let p = Prune::start().await;
    let env = &p.env;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    let socket = &p.daemon.socket;
    let managed = &p.managed;
    // As left by an apply without prune: the declared role widened, nothing deleted.
    let report = apply(socket, "alpha").await;
    assert_eq!(applied_steps(&report), steps(&[(Action::UpdateRole, ROLE)]));

    // With prune: clients first, then the roles no remaining client uses.
    let cfg = p.cfg.clone().instance_line("alpha", "prune = true");
    env.write_rotation_config(&cfg, &p.desired);
    let reloaded = send(socket, Request::Reload).await;
    assert!(
        matches!(reloaded, Response::Reloaded { .. }),
        "{reloaded:?}"
    );
    let expected = steps(&[
        (Action::DeleteClient, "Old Jenkins"),
        (Action::DeleteRole, "Legacy Role"),
        (Action::DeleteRole, "Unused Role"),
    ]);
    assert_eq!(plan_steps(&plan(socket, "alpha").await), expected);
    let records_before = env.records().len();
    let report = apply(socket, "alpha").await;
    assert_eq!(applied_steps(&report), expected);
    assert!(
        report.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        report.steps
    );
    let records = since(env, records_before);
    assert_eq!(
        summary(&records, &["apply", "delete"]),
        [
            "apply alpha started",
            "delete Old Jenkins started",
            "delete Old Jenkins ok",
            "delete Legacy Role started",
            "delete Legacy Role ok",
            "delete Unused Role started",
            "delete Unused Role ok",
            "apply alpha ok",
        ]
    );
    let deleted = records
        .iter()
        .find(|r| r["action"] == "delete" && r["outcome"] == "ok")
        .unwrap();
    assert_eq!(deleted["object"]["kind"], "client");
    assert_eq!(deleted["before"]["displayName"], "Old Jenkins");
    assert!(deleted["after"].is_null());

    assert!(sim.client_by_name("Old Jenkins").is_none());
    assert!(sim.role_by_name("Legacy Role").is_none());
    assert!(sim.role_by_name("Unused Role").is_none());
    // Untouched: the foreign app client and role, Warden's own role and client (and the role
    // only Warden's client uses), the managed client and its secret.
    assert_eq!(sim.client_by_name("Jamf Reset"), Some(p.app_client.clone()));
    assert_eq!(sim.role_by_name("Jamf Reset"), Some(p.app_role.clone()));
    assert_eq!(
        sim.role_by_name("Jamf Warden"),
        Some(p.wardens_role.clone())
    );
    assert_eq!(
        sim.client_by_name("Jamf Warden"),
        Some(p.wardens_client.clone())
    );
    assert!(sim.role_by_name("Warden Extra").is_some());
    assert!(sim.client_by_name("Inventory Sync").is_some());
    assert_eq!(
        token_status(&inst.url, &managed.client_id, &managed.initial_secret).await,
        200
    );
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &inst.client_secret).await,
        200
    );
    assert!(plan(socket, "alpha").await.plan.steps.is_empty());
    assert!(apply(socket, "alpha").await.steps.is_empty());

    p.assert_nothing_leaked().await;
}
