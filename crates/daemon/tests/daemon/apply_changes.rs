//! Applies that change live objects in place, against the daemon in-process, the Jamf simulator
//! and the in-memory secret store: a scope change rotates the secret, so the consumer reading
//! the store gets a token with the new role's privileges only; names that differ from the
//! declared ones in case alone are renamed in place, nothing created, deleted or rotated. No
//! secret shows up in the daemon's files.

use crate::common;

use common::apply::{client, role, since, steps};
use common::drift::{applied_steps, apply, consumer_read, drift_of, get_status, plan, token};
use common::rotation::{NO_JOBS, ROLE, token_status};
use common::{Cfg, Env};
use jamf_sim::ClientPatch;
use serde_json::{Value, json};
use warden_core::drift::{Action, DriftKind, StepStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_change_rotates_and_the_vault_consumer_gets_the_new_privileges() {
    let env = Env::start_memory(&["alpha"]).await;
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
    env.write_secret(path, &client_id, &old_secret).await;
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
async fn names_that_differ_in_case_alone_are_renamed_in_place_and_keep_working() {
    let env = Env::start_memory(&["alpha"]).await;
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
