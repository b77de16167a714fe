//! `Request::Apply`, `Request::Plan` and `Request::Import` against the real `wardend`, the Jamf
//! simulator and OpenBao: apply converges with a before/after change-log record per step and
//! rotations through the engine, and is idempotent; a scope change rotates the secret so the
//! Vault consumer gets a token with the new role's privileges; a 503 in the middle of a plan
//! stops the run with a clear report and the next apply converges without duplicates; prune
//! deletes unmanaged clients then roles but never foreign objects or Warden's own; an import
//! used as the desired state plans nothing; misspelt privileges refuse the apply.

use crate::common;

use std::collections::BTreeSet;

use common::drift::{
    applied_steps, apply, apply_response, consumer_read, drift_of, get_status, import, plan,
    plan_response, plan_steps, summary, token, with_action,
};
use common::rotation::{NO_JOBS, ROLE, error_of, token_status};
use common::{Cfg, Env, PREFIX, send};
use jamf_sim::{AppType, ClientPatch, FaultRule};
use serde_json::{Value, json};
use warden_core::drift::{Action, DriftKind, StepStatus};
use warden_core::protocol::{ErrorCode, Request, Response};

const CREATE_CLIENT_ROUTE: &str = "/api/v1/api-integrations";
const CREATE_ROLE_ROUTE: &str = "/api/v1/api-roles";

/// A desired role.
fn role(name: &str, privileges: &[&str]) -> String {
    format!("\n[[role]]\nname = \"{name}\"\nprivileges = {privileges:?}\n")
}

/// A desired client with `extra` lines (e.g. `token_lifetime = 900`).
fn client(name: &str, roles: &[&str], extra: &str) -> String {
    format!(
        "\n[[client]]\nname = \"{name}\"\nroles = {roles:?}\nowner = \"it@example.com\"\n\
         purpose = \"drift tests\"\n{extra}[client.rotation]\nschedule = \"@yearly\"\n"
    )
}

fn steps(list: &[(Action, &str)]) -> Vec<(Action, String)> {
    list.iter().map(|(a, n)| (*a, n.to_string())).collect()
}

/// The records after the first `skip`.
fn since(env: &Env, skip: usize) -> Vec<Value> {
    env.records().into_iter().skip(skip).collect()
}

/// Every secret Vault holds at `paths` (below the prefix), for leak scans.
async fn vault_secrets(env: &Env, paths: &[&str]) -> Vec<(&'static str, String)> {
    let mut out = env.standing_secrets("alpha").await;
    for p in paths {
        for (v, _, s) in env.vault_versions(p).await {
            assert!(!s.is_empty(), "{p} version {v} has no secret");
            out.push(("a client secret", s));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_records_every_step_and_is_idempotent() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let lifetime = env.add_managed_client("alpha", "Lifetime Client").await;
    let scope = env.add_managed_client("alpha", "Scope Client").await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    let desired = format!(
        "version = 1\n{}{}{}{}{}",
        role(ROLE, &["Read Computers", "Read Mobile Devices"]),
        role("Patch Read", &["Read Patch External Source"]),
        client("New Client", &["Patch Read"], ""),
        client("Lifetime Client", &[ROLE], "token_lifetime = 900\n"),
        client("Scope Client", &["Patch Read"], ""),
    );
    let daemon = env.start_declaring(&["alpha"], &desired).await;
    let socket = &daemon.socket;

    let expected = steps(&[
        (Action::CreateRole, "Patch Read"),
        (Action::UpdateRole, ROLE),
        (Action::CreateClient, "New Client"),
        (Action::RotateSecret, "New Client"),
        (Action::UpdateClient, "Lifetime Client"),
        (Action::UpdateClient, "Scope Client"),
        (Action::RotateSecret, "Scope Client"),
    ]);
    assert_eq!(plan_steps(&plan(socket, "alpha").await), expected);

    // Unconfirmed: refused, nothing changes anywhere.
    let roles_before = sim.roles();
    let clients_before = sim.clients();
    let records_before = env.records().len();
    let refused = apply_response(socket, "alpha", false).await;
    let (code, message) = error_of(&refused);
    assert_eq!(code, ErrorCode::ConfirmationRequired, "{message}");
    assert_eq!(sim.roles(), roles_before);
    assert_eq!(sim.clients(), clients_before);
    assert_eq!(env.records().len(), records_before);

    // Confirmed: every step done, in plan order.
    let report = apply(socket, "alpha").await;
    assert_eq!(applied_steps(&report), expected);
    for s in &report.steps {
        assert_eq!(s.status, StepStatus::Done, "{s:?}");
        assert!(s.error.is_none() && s.change_seq.is_some(), "{s:?}");
    }

    // The change log: apply started, each Jamf step started then ok, each rotation through the
    // engine with its own records, apply ok.
    let records = since(&env, records_before);
    assert_eq!(
        summary(&records, &["apply", "create", "update", "delete", "rotate"]),
        [
            "apply alpha started",
            "create Patch Read started",
            "create Patch Read ok",
            "update Inventory Read started",
            "update Inventory Read ok",
            "create New Client started",
            "create New Client ok",
            "rotate New Client started",
            "rotate New Client ok",
            "update Lifetime Client started",
            "update Lifetime Client ok",
            "update Scope Client started",
            "update Scope Client ok",
            "rotate Scope Client started",
            "rotate Scope Client ok",
            "apply alpha ok",
        ]
    );
    for r in &records {
        assert_eq!(r["instance"], "alpha", "{r}");
        assert_eq!(r["actor"]["kind"], "user", "{r}");
    }
    let apply_records = with_action(&records, "apply");
    assert_eq!(apply_records[0]["object"]["kind"], "instance");
    assert_eq!(
        apply_records[0]["after"]["steps"].as_array().unwrap().len(),
        7
    );
    assert_eq!(apply_records[1]["after"]["done"], 7);
    for s in report
        .steps
        .iter()
        .filter(|s| s.step.action != Action::RotateSecret)
    {
        let name = s.step.name.as_str();
        let action = match s.step.action {
            Action::CreateRole | Action::CreateClient => "create",
            _ => "update",
        };
        let mine: Vec<&Value> = records
            .iter()
            .filter(|r| r["action"] == action && r["object"]["name"] == name)
            .collect();
        assert_eq!(mine.len(), 2, "{name}: {mine:?}");
        let (started, ok) = (mine[0], mine[1]);
        assert_eq!(started["outcome"], "started");
        assert_eq!(ok["outcome"], "ok");
        assert_eq!(Some(ok["seq"].as_u64().unwrap()), s.change_seq);
        // before: the live object (none for a create), the same in both records; after: the
        // request, then Jamf's answer
        assert_eq!(started["before"], ok["before"], "{name}");
        assert_eq!(started["before"].is_null(), action == "create", "{name}");
        assert_eq!(started["after"]["displayName"], name, "{started}");
        assert_eq!(ok["after"]["displayName"], name, "{ok}");
    }
    let update = |name: &str| {
        records
            .iter()
            .find(|r| {
                r["action"] == "update" && r["object"]["name"] == name && r["outcome"] == "ok"
            })
            .unwrap()
            .clone()
    };
    let role_update = update(ROLE);
    assert_eq!(
        role_update["before"]["privileges"],
        json!(["Read Computers"])
    );
    let privileges: BTreeSet<&str> = role_update["after"]["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        privileges,
        BTreeSet::from(["Read Computers", "Read Mobile Devices"])
    );
    let lifetime_update = update("Lifetime Client");
    assert_eq!(lifetime_update["before"]["accessTokenLifetimeSeconds"], 300);
    assert_eq!(lifetime_update["after"]["accessTokenLifetimeSeconds"], 900);
    let scope_update = update("Scope Client");
    assert_eq!(scope_update["before"]["authorizationScopes"], json!([ROLE]));
    assert_eq!(
        scope_update["after"]["authorizationScopes"],
        json!(["Patch Read"])
    );

    // Live state matches.
    let patch = sim.role_by_name("Patch Read").expect("Patch Read created");
    assert_eq!(patch.privileges, ["Read Patch External Source"]);
    let inventory = sim.role_by_name(ROLE).unwrap();
    assert_eq!(
        inventory.privileges.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"Read Computers".into(), &"Read Mobile Devices".into()])
    );
    let new = sim
        .client_by_name("New Client")
        .expect("New Client created");
    assert_eq!(new.authorization_scopes, ["Patch Read"]);
    assert!(new.enabled);
    assert_eq!(new.access_token_lifetime_seconds, 300);
    let lc = sim.client_by_name("Lifetime Client").unwrap();
    assert_eq!(lc.access_token_lifetime_seconds, 900);
    let sc = sim.client_by_name("Scope Client").unwrap();
    assert_eq!(sc.authorization_scopes, ["Patch Read"]);
    assert_eq!(sc.secret_role_ids, std::slice::from_ref(&patch.id));

    // Consumers: the new client's secret is in Vault and works; the lifetime change needed no
    // new secret (the first one still works); the scope change replaced the secret.
    let (new_id, new_secret) = consumer_read(&env, "instances/alpha/clients/new-client").await;
    assert_eq!(new_id, new.client_id);
    assert_eq!(token_status(&inst.url, &new_id, &new_secret).await, 200);
    assert_eq!(env.vault_versions(&lifetime.vault_path).await.len(), 1);
    assert_eq!(
        token_status(&inst.url, &lifetime.client_id, &lifetime.initial_secret).await,
        200
    );
    let (_, scope_secret) = consumer_read(&env, &scope.vault_path).await;
    assert_ne!(scope_secret, scope.initial_secret);
    assert_eq!(
        token_status(&inst.url, &scope.client_id, &scope_secret).await,
        200
    );
    assert_eq!(
        token_status(&inst.url, &scope.client_id, &scope.initial_secret).await,
        401
    );

    // Converged: nothing left to plan; the drift left is the secret Warden never rotated (the
    // rotation schedule's business, not apply's).
    let after = plan(socket, "alpha").await;
    assert!(after.plan.steps.is_empty(), "{:?}", after.plan);
    let drift = drift_of(socket, "alpha", true).await;
    let left: Vec<(DriftKind, &str)> = drift
        .report
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str()))
        .collect();
    assert_eq!(left, [(DriftKind::NeverRotated, "Lifetime Client")]);

    // A second apply does nothing and records nothing.
    let roles = sim.roles();
    let clients = sim.clients();
    let count = env.records().len();
    let again = apply(socket, "alpha").await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(env.records().len(), count);
    assert_eq!(sim.roles(), roles);
    assert_eq!(sim.clients(), clients);

    let mut secrets = vault_secrets(
        &env,
        &[
            "instances/alpha/clients/new-client",
            &lifetime.vault_path,
            &scope.vault_path,
        ],
    )
    .await;
    secrets.push(("the first secret", scope.initial_secret.clone()));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_change_rotates_and_the_vault_consumer_gets_the_new_privileges() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    // Two roles whose privileges the simulator can tell apart: each one allows one list call.
    sim.create_role("Role Reader", ["Read API Roles"]).unwrap();
    let new_role = sim
        .create_role("Integration Reader", ["Read API Integrations"])
        .unwrap();
    let (id, client_id) = sim
        .create_client("Consumer", ["Role Reader"], true, 300)
        .unwrap();
    let old_secret = sim.mint_secret(id).unwrap();
    let path = "instances/alpha/clients/consumer";
    env.bao
        .api(
            reqwest::Method::POST,
            &format!("secret/data/{PREFIX}/{path}"),
            Some(json!({"data": {"client_id": client_id, "client_secret": old_secret}})),
        )
        .await
        .unwrap();
    // Before: the consumer's token reads roles, not integrations.
    let (before, _) = token(&inst.url, &client_id, &old_secret).await;
    assert_eq!(
        get_status(&inst.url, "/api/v1/api-roles", &before).await,
        200
    );
    assert_eq!(
        get_status(&inst.url, "/api/v1/api-integrations", &before).await,
        403
    );

    let desired = format!(
        "version = 1\n{}{}{}",
        role("Role Reader", &["Read API Roles"]),
        role("Integration Reader", &["Read API Integrations"]),
        client("Consumer", &["Integration Reader"], ""),
    );
    let daemon = env.start_declaring(&["alpha"], &desired).await;

    let report = apply(&daemon.socket, "alpha").await;
    assert_eq!(
        applied_steps(&report),
        steps(&[
            (Action::UpdateClient, "Consumer"),
            (Action::RotateSecret, "Consumer"),
        ])
    );
    assert!(report.steps.iter().all(|s| s.status == StepStatus::Done));

    // The consumer reads Vault as before and gets a token with the new role's scope and
    // privileges only.
    let (read_id, new_secret) = consumer_read(&env, path).await;
    assert_eq!(read_id, client_id);
    assert_ne!(new_secret, old_secret);
    assert_eq!(token_status(&inst.url, &client_id, &new_secret).await, 200);
    let (after, scope) = token(&inst.url, &client_id, &new_secret).await;
    assert_eq!(scope, format!("api-role:{new_role}"));
    assert_eq!(
        get_status(&inst.url, "/api/v1/api-integrations", &after).await,
        200
    );
    assert_eq!(
        get_status(&inst.url, "/api/v1/api-roles", &after).await,
        403
    );
    // The old secret is dead.
    assert_eq!(token_status(&inst.url, &client_id, &old_secret).await, 401);
    let versions = env.vault_versions(path).await;
    assert_eq!(versions.len(), 2);
    assert_eq!(
        env.vault_metadata(path).await["custom_metadata"]["state"],
        "ok"
    );
    assert!(plan(&daemon.socket, "alpha").await.plan.steps.is_empty());

    let mut secrets = env.standing_secrets("alpha").await;
    secrets.extend(versions.into_iter().map(|(_, _, s)| ("a client secret", s)));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_mid_plan_stops_the_apply_and_the_next_apply_converges() {
    let env = Env::start(&["alpha"]).await;
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
    assert_eq!(
        applied_steps(&report),
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
    let records = since(&env, records_before);
    assert_eq!(
        summary(&records, &["apply", "create", "update", "delete", "rotate"]),
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
            &env,
            &format!(
                "instances/alpha/clients/{}",
                name.to_lowercase().replace(' ', "-")
            ),
        )
        .await;
        assert_eq!(id, c.client_id);
        assert_eq!(token_status(&inst.url, &id, &secret).await, 200);
    }

    let secrets = vault_secrets(
        &env,
        &[
            "instances/alpha/clients/first-new",
            "instances/alpha/clients/second-new",
            &scope.vault_path,
        ],
    )
    .await;
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_unmanaged_clients_then_roles_but_never_foreign_or_wardens_own() {
    let env = Env::start(&["alpha"]).await;
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
    let socket = &daemon.socket;

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

    // With prune: clients first, then the roles no remaining client uses.
    let cfg = cfg.instance_line("alpha", "prune = true");
    env.write_rotation_config(&cfg, &desired);
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
    let records = since(&env, records_before);
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
    assert_eq!(sim.client_by_name("Jamf Reset"), Some(app_client));
    assert_eq!(sim.role_by_name("Jamf Reset"), Some(app_role));
    assert_eq!(sim.role_by_name("Jamf Warden"), Some(wardens_role));
    assert_eq!(sim.client_by_name("Jamf Warden"), Some(wardens_client));
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

    let mut secrets = env.standing_secrets("alpha").await;
    secrets.push(("the managed secret", managed.initial_secret.clone()));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_state_plans_nothing() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    sim.create_role(ROLE, ["Read Computers"]).unwrap();
    sim.create_role(
        "Patch Read",
        ["Read Patch External Source", "Read Computers"],
    )
    .unwrap();
    let mut secrets = env.standing_secrets("alpha").await;
    for (name, roles, enabled, lifetime) in [
        ("Inventory Sync", vec![ROLE], true, 300),
        ("Reporter", vec![ROLE, "Patch Read"], true, 900),
        ("Dormant", vec!["Patch Read"], false, 300),
        // a client of Warden's estate that uses the app's role: imported, the role external
        ("Reset Helper", vec!["Jamf Reset"], true, 300),
    ] {
        let (id, _) = sim.create_client(name, roles, enabled, lifetime).unwrap();
        if enabled {
            secrets.push(("a client secret", sim.mint_secret(id).unwrap()));
        }
    }
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    let daemon = env.start_daemon(&cfg).await;
    let socket = &daemon.socket;
    let roles_before = sim.roles();
    let clients_before = sim.clients();

    let file = import(socket, "alpha").await;
    for name in [
        "Inventory Sync",
        "Reporter",
        "Dormant",
        "Reset Helper",
        "Patch Read",
    ] {
        assert!(file.contains(&format!("name = \"{name}\"")), "{file}");
    }
    // The app client and Warden's own are left out; the app role is declared external.
    assert_eq!(file.matches("name = \"Jamf Reset\"").count(), 1, "{file}");
    assert!(!file.contains("Jamf Warden"), "{file}");
    assert!(file.contains("external = true"), "{file}");
    assert!(file.contains("TODO: owner"), "{file}");

    // The file, placeholders and all, as the instance's desired state: the schema accepts it.
    env.write_rotation_config(&cfg, &file);
    let reloaded = send(socket, Request::Reload).await;
    assert!(
        matches!(reloaded, Response::Reloaded { .. }),
        "{reloaded:?}"
    );
    let doc = plan(socket, "alpha").await;
    assert!(doc.plan.steps.is_empty(), "{:?}", doc.plan);
    let drift = drift_of(socket, "alpha", true).await;
    assert!(
        drift.error.is_none() && drift.invalid.is_empty(),
        "{drift:?}"
    );
    // What is left is only that Warden has not rotated the enabled clients' secrets yet (they
    // were minted outside Warden); the disabled client has none. No managed drift otherwise.
    let left: Vec<(DriftKind, &str)> = drift
        .report
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str()))
        .collect();
    assert_eq!(
        left,
        [
            (DriftKind::NeverRotated, "Inventory Sync"),
            (DriftKind::NeverRotated, "Reporter"),
            (DriftKind::NeverRotated, "Reset Helper"),
        ]
    );
    assert_eq!(drift.report.foreign, ["client \"Jamf Reset\""]);
    // Read-only throughout.
    assert_eq!(sim.roles(), roles_before);
    assert_eq!(sim.clients(), clients_before);
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_a_misspelt_privilege_is_refused_and_changes_nothing() {
    let env = Env::start(&["alpha"]).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_differ_in_case_alone_are_renamed_in_place_and_keep_working() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let managed = env.add_managed_client("alpha", "Inventory Sync").await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    // Jamf has both objects under names that differ from the declared ones in case alone.
    let live_role = sim.role_by_name(ROLE).unwrap();
    sim.update_role(&live_role.id, "inventory read", ["Read Computers"])
        .unwrap();
    sim.update_client(
        managed.id,
        ClientPatch {
            display_name: Some("INVENTORY SYNC".into()),
            ..ClientPatch::default()
        },
    )
    .unwrap();
    let desired = format!(
        "version = 1\n{}{}",
        role(ROLE, &["Read Computers"]),
        client("Inventory Sync", &[ROLE], ""),
    );
    let mut cfg = Cfg::new(&["alpha"]).instance_line("alpha", "prune = true");
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired);
    let daemon = env.start_wardend(None).await;
    let socket = &daemon.socket;

    let drift = drift_of(socket, "alpha", true).await;
    let items: Vec<(DriftKind, &str, Option<&Value>)> = drift
        .report
        .items
        .iter()
        .filter(|i| i.kind != DriftKind::NeverRotated)
        .map(|i| (i.kind, i.name.as_str(), i.before.as_ref()))
        .collect();
    assert_eq!(
        items,
        [
            (DriftKind::Renamed, ROLE, Some(&json!("inventory read"))),
            (
                DriftKind::Renamed,
                "Inventory Sync",
                Some(&json!("INVENTORY SYNC"))
            ),
        ],
        "no missing object, no unmanaged twin, no scope change: {:?}",
        drift.report.items
    );
    let records_before = env.records().len();
    let report = apply(socket, "alpha").await;
    assert_eq!(
        applied_steps(&report),
        steps(&[
            (Action::UpdateRole, ROLE),
            (Action::UpdateClient, "Inventory Sync")
        ]),
        "renamed in place: nothing created, deleted (even with prune) or rotated"
    );
    assert!(report.steps.iter().all(|s| s.status == StepStatus::Done));
    let role_now = sim.role_by_name(ROLE).expect("renamed role");
    assert_eq!(role_now.id, live_role.id, "the same role");
    let client_now = sim
        .client_by_name("Inventory Sync")
        .expect("renamed client");
    assert_eq!(client_now.id, managed.id, "the same client");
    assert_eq!(client_now.authorization_scopes, [ROLE]);
    assert!(sim.role_by_name("inventory read").is_none());
    // the consumer's secret still works: no rotation was needed
    assert_eq!(
        token_status(&inst.url, &managed.client_id, &managed.initial_secret).await,
        200
    );
    let records = since(&env, records_before);
    let update = records
        .iter()
        .find(|r| r["action"] == "update" && r["object"]["name"] == ROLE && r["outcome"] == "ok")
        .expect("the role's update record");
    assert_eq!(update["before"]["displayName"], "inventory read");
    assert_eq!(update["after"]["displayName"], ROLE);
    assert!(plan(socket, "alpha").await.plan.steps.is_empty());
}
