//! `Request::Apply` and `Request::Plan` against the daemon in-process, the Jamf simulator and
//! the in-memory secret store, on an instance with a role to create and one to widen, a client to create, one whose
//! token lifetime changes and one whose scope changes: the plan lists every step in order; an
//! unconfirmed apply is refused and changes nothing; a confirmed one does every step in plan
//! order with a before/after change-log record per step and rotations through the engine; Jamf
//! and the Vault consumers then have the declared state; nothing is left to plan, and a second
//! apply does nothing. No secret shows up in the daemon's files.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::apply::{client, role, since, steps, vault_secrets};
use common::drift::{
    applied_steps, apply, apply_response, consumer_read, drift_of, plan, plan_steps, summary,
    with_action,
};
use common::rotation::{Managed, ROLE, error_of, token_status};
use common::{Daemon, Env};
use serde_json::{Value, json};
use warden_core::drift::{Action, ApplyReport, DriftKind, StepStatus};
use warden_core::protocol::ErrorCode;

/// `alpha` with two managed clients (one whose lifetime and one whose scope the desired state
/// changes) and wardend declaring the desired state, with no scheduled job.
struct Converge {
    env: Env,
    daemon: Daemon,
    lifetime: Managed,
    scope: Managed,
}

impl Converge {
    async fn start() -> Converge {
        let env = Env::start_memory(&["alpha"]).await;
        env.mark_management_rotated("alpha").await;
        let lifetime = env.add_managed_client("alpha", "Lifetime Client").await;
        let scope = env.add_managed_client("alpha", "Scope Client").await;
        let desired = format!(
            "version = 1\n{}{}{}{}{}",
            role(ROLE, &["Read Computers", "Read Mobile Devices"]),
            role("Patch Read", &["Read Patch External Source"]),
            client("New Client", &["Patch Read"], ""),
            client("Lifetime Client", &[ROLE], "token_lifetime = 900\n"),
            client("Scope Client", &["Patch Read"], ""),
        );
        let daemon = env.start_declaring(&["alpha"], &desired).await;
        Converge {
            env,
            daemon,
            lifetime,
            scope,
        }
    }

    fn socket(&self) -> &Path {
        &self.daemon.socket
    }

    /// A confirmed apply: its report and the records it added.
    async fn apply(&self) -> (ApplyReport, Vec<Value>) {
        let records_before = self.env.records().len();
        let report = apply(self.socket(), "alpha").await;
        (report, since(&self.env, records_before))
    }

    /// No secret Vault holds for the clients, nor the scope client's first secret, in the
    /// daemon's files.
    async fn assert_nothing_leaked(&self) {
        let env = &self.env;
        let mut secrets = vault_secrets(
            env,
            &[
                "instances/alpha/clients/new-client",
                &self.lifetime.vault_path,
                &self.scope.vault_path,
            ],
        )
        .await;
        secrets.push(("the first secret", self.scope.initial_secret.clone()));
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}

/// The plan of the desired state, in order.
fn expected() -> Vec<(Action, String)> {
    steps(&[
        (Action::CreateRole, "Patch Read"),
        (Action::UpdateRole, ROLE),
        (Action::CreateClient, "New Client"),
        (Action::RotateSecret, "New Client"),
        (Action::UpdateClient, "Lifetime Client"),
        (Action::UpdateClient, "Scope Client"),
        (Action::RotateSecret, "Scope Client"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_lists_every_step_in_order() {
    let c = Converge::start().await;
    assert_eq!(plan_steps(&plan(c.socket(), "alpha").await), expected());
    c.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_apply_is_refused_and_changes_nothing() {
    let c = Converge::start().await;
    let (env, socket) = (&c.env, c.socket());
    let sim = &env.instance("alpha").sim;

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

    c.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_apply_does_every_step_in_plan_order_and_records_each() {
    let c = Converge::start().await;
    let expected = expected();

    // Confirmed: every step done, in plan order.
    let (report, records) = c.apply().await;
    assert_eq!(applied_steps(&report), expected);
    for s in &report.steps {
        assert_eq!(s.status, StepStatus::Done, "{s:?}");
        assert!(s.error.is_none() && s.change_seq.is_some(), "{s:?}");
    }

    // The change log: apply started, each Jamf step started then ok, each rotation through the
    // engine with its own records, apply ok.
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

    c.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_apply_jamf_and_the_vault_consumers_have_the_declared_state() {
    let c = Converge::start().await;
    let (env, lifetime, scope) = (&c.env, &c.lifetime, &c.scope);
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    c.apply().await;

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
    let (new_id, new_secret) = consumer_read(env, "instances/alpha/clients/new-client").await;
    assert_eq!(new_id, new.client_id);
    assert_eq!(token_status(&inst.url, &new_id, &new_secret).await, 200);
    assert_eq!(env.vault_versions(&lifetime.vault_path).await.len(), 1);
    assert_eq!(
        token_status(&inst.url, &lifetime.client_id, &lifetime.initial_secret).await,
        200
    );
    let (_, scope_secret) = consumer_read(env, &scope.vault_path).await;
    assert_ne!(scope_secret, scope.initial_secret);
    assert_eq!(
        token_status(&inst.url, &scope.client_id, &scope_secret).await,
        200
    );
    assert_eq!(
        token_status(&inst.url, &scope.client_id, &scope.initial_secret).await,
        401
    );

    c.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_apply_nothing_is_left_to_plan_but_the_never_rotated_secret() {
    let c = Converge::start().await;
    let socket = c.socket();
    c.apply().await;

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

    c.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_does_nothing_and_records_nothing() {
    let c = Converge::start().await;
    let (env, socket) = (&c.env, c.socket());
    let sim = &env.instance("alpha").sim;
    c.apply().await;

    // A second apply does nothing and records nothing.
    let roles = sim.roles();
    let clients = sim.clients();
    let count = env.records().len();
    let again = apply(socket, "alpha").await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(env.records().len(), count);
    assert_eq!(sim.roles(), roles);
    assert_eq!(sim.clients(), clients);

    c.assert_nothing_leaked().await;
}
