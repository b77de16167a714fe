//! Jamf upgrades and stale scope, in-process on the memory store: a changed privilege catalogue
//! is recorded once (also across a restart) and shown in drift with the declared roles it
//! affects; a client whose roles changed after its secret was minted is `scope_stale` in
//! drift, and apply rotates it so the consumer's token gets the new scope.

use crate::common;

use common::apply::{client, role, steps};
use common::drift::{applied_steps, apply, consumer_read, drift_of, plan, plan_steps, stop, token};
use common::rotation::rotate;
use common::{Env, send};
use jamf_sim::ClientPatch;
use warden_core::drift::{Action, DriftDocument, DriftKind, InstanceDrift, render_drift};
use warden_core::protocol::{DriftRequest, ReportKind, Request, Response};

async fn refreshed(socket: &std::path::Path, instance: &str) -> InstanceDrift {
    let response = send(
        socket,
        Request::Drift(DriftRequest {
            instances: vec![instance.to_owned()],
            now: true,
            refresh_catalogue: true,
        }),
    )
    .await;
    let (_, mut doc): (u64, DriftDocument) =
        common::drift::report_body(response, ReportKind::Drift);
    doc.instances.remove(0)
}

fn catalogue_records(env: &Env) -> Vec<serde_json::Value> {
    env.records()
        .into_iter()
        .filter(|r| r["action"] == "catalogue_changed")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_change_is_recorded_once_and_shown_in_drift_with_the_roles_it_affects() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let desired = format!(
        "version = 1\n{}",
        role("Inventory", &["Read Computers", "Read Buildings"]),
    );
    let mut daemon = env.start_declaring(&["alpha"], &desired).await;
    // the first catalogue seen of an instance is no change
    let first = refreshed(&daemon.socket, "alpha").await;
    assert!(first.catalogue_change.is_none(), "{first:?}");
    assert!(catalogue_records(&env).is_empty());

    // Jamf is upgraded: one privilege renamed, one added
    let sim = &env.instance("alpha").sim;
    sim.rename_privilege("Read Buildings", "Read Building")
        .unwrap();
    let mut upgraded = sim.privileges();
    upgraded.push("Read Widgets".to_owned());
    sim.set_privileges(Some(upgraded));

    let report = refreshed(&daemon.socket, "alpha").await;
    let change = report.catalogue_change.clone().expect("a catalogue change");
    assert_eq!(change.removed, vec!["Read Buildings".to_owned()]);
    assert_eq!(
        change.added,
        vec!["Read Building".to_owned(), "Read Widgets".to_owned()]
    );
    assert_eq!(change.affected.len(), 1, "{change:#?}");
    let inventory = &change.affected[0];
    assert_eq!(inventory.role, "Inventory");
    assert_eq!(inventory.removed[0].privilege, "Read Buildings");
    assert_eq!(
        inventory.removed[0].suggestions,
        vec!["Read Building".to_owned()]
    );
    assert!(inventory.hints.contains(&"Read Widgets".to_owned()));
    // the live check stays authoritative: the declared name is invalid now
    assert!(
        report.invalid.iter().any(|e| e.contains("Read Buildings")),
        "{:?}",
        report.invalid
    );
    let text = render_drift(&DriftDocument::new(vec![report.clone()]), false);
    assert!(
        text.contains(
            "role \"Inventory\" declares \"Read Buildings\", which Jamf no longer offers; did you \
             mean \"Read Building\"?"
        ),
        "{text}"
    );
    assert!(text.contains("1 removed"), "{text}");

    let (_, audit) = common::audit::audit(&daemon.socket, &["alpha"], None, false).await;
    let keys = common::audit::keys(&audit, false);
    assert!(
        keys.contains(&("JW-CAT-002".to_owned(), "role:Inventory".to_owned())),
        "{keys:#?}"
    );
    assert!(
        keys.contains(&("JW-CAT-003".to_owned(), "role:Inventory".to_owned())),
        "{keys:#?}"
    );

    let records = catalogue_records(&env);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["instance"], "alpha");
    assert_eq!(records[0]["after"]["removed"][0], "Read Buildings");
    assert_eq!(records[0]["after"]["affected"][0]["role"], "Inventory");

    // seen again, and after a restart: no second record, still shown
    let _ = refreshed(&daemon.socket, "alpha").await;
    stop(&mut daemon).await;
    let daemon = env.start_wardend(None).await;
    let again = refreshed(&daemon.socket, "alpha").await;
    assert_eq!(catalogue_records(&env).len(), 1);
    assert_eq!(
        again.catalogue_change.map(|c| c.removed),
        Some(vec!["Read Buildings".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_roles_changed_after_its_secret_is_scope_stale_until_apply_rotates_it() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    let url = env.instance("alpha").url.clone();
    let old_role = sim.create_role("Role Reader", ["Read API Roles"]).unwrap();
    let new_role = sim
        .create_role("Integration Reader", ["Read API Integrations"])
        .unwrap();
    let (id, client_id) = sim
        .create_client("Consumer", ["Role Reader"], true, 300)
        .unwrap();
    let first_secret = sim.mint_secret(id).unwrap();
    let path = "instances/alpha/clients/consumer";
    env.write_secret(path, &client_id, &first_secret).await;
    let roles = format!(
        "version = 1\n{}{}",
        role("Role Reader", &["Read API Roles"]),
        role("Integration Reader", &["Read API Integrations"]),
    );
    let daemon = env
        .start_declaring(
            &["alpha"],
            &format!("{roles}{}", client("Consumer", &["Role Reader"], "")),
        )
        .await;

    // Warden rotates it: the marker records the roles the secret covers
    assert!(matches!(
        rotate(&daemon.socket, "alpha", "Consumer").await,
        Response::Rotated(_)
    ));
    let meta = env.vault_metadata(path).await;
    assert_eq!(meta["custom_metadata"]["scope_roles"], "[\"Role Reader\"]");
    assert!(
        drift_of(&daemon.socket, "alpha", true)
            .await
            .report
            .items
            .is_empty()
    );

    // The role moves in the console and in the desired state: live = desired, but the
    // secret was minted with the old role, and its tokens still carry it (Jamf's rule).
    sim.update_client(
        id,
        ClientPatch {
            authorization_scopes: Some(vec!["Integration Reader".to_owned()]),
            ..ClientPatch::default()
        },
    )
    .unwrap();
    std::fs::write(
        env.path("desired.toml"),
        format!("{roles}{}", client("Consumer", &["Integration Reader"], "")),
    )
    .unwrap();
    assert!(matches!(
        send(&daemon.socket, Request::Reload).await,
        Response::Reloaded { .. }
    ));
    let (_, stored) = consumer_read(&env, path).await;
    let (_, scope) = token(&url, &client_id, &stored).await;
    assert_eq!(
        scope,
        format!("api-role:{old_role}"),
        "the old scope, until a new secret"
    );

    let report = drift_of(&daemon.socket, "alpha", true).await;
    let kinds: Vec<(DriftKind, &str)> = report
        .report
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str()))
        .collect();
    assert_eq!(kinds, vec![(DriftKind::ScopeStale, "Consumer")]);
    let item = &report.report.items[0];
    assert_eq!(item.before, Some(serde_json::json!(["Role Reader"])));
    assert_eq!(item.after, Some(serde_json::json!(["Integration Reader"])));
    assert_eq!(
        item.evidence.as_deref(),
        Some("token scope"),
        "the stored secret works: a token confirms it"
    );
    assert_eq!(
        plan_steps(&plan(&daemon.socket, "alpha").await),
        steps(&[(Action::RotateSecret, "Consumer")])
    );
    let (_, audit) = common::audit::audit(&daemon.socket, &["alpha"], None, false).await;
    let keys = common::audit::keys(&audit, false);
    assert!(
        keys.contains(&("JW-HYG-010".to_owned(), "client:Consumer".to_owned())),
        "{keys:#?}"
    );

    let applied = apply(&daemon.socket, "alpha").await;
    assert_eq!(
        applied_steps(&applied),
        steps(&[(Action::RotateSecret, "Consumer")])
    );
    assert!(!applied.failed(), "{applied:#?}");
    let (_, fresh) = consumer_read(&env, path).await;
    let (_, scope) = token(&url, &client_id, &fresh).await;
    assert_eq!(scope, format!("api-role:{new_role}"));
    assert!(
        drift_of(&daemon.socket, "alpha", true)
            .await
            .report
            .items
            .is_empty()
    );
    assert!(plan(&daemon.socket, "alpha").await.plan.steps.is_empty());
    let meta = env.vault_metadata(path).await;
    assert_eq!(
        meta["custom_metadata"]["scope_roles"],
        "[\"Integration Reader\"]"
    );
}

/// Token requests to the simulator's token endpoints (either path).
fn token_requests(sim: &jamf_sim::SimInstance) -> u64 {
    let stats = sim.stats();
    stats.count("POST", "/api/v1/oauth/token") + stats.count("POST", "/api/oauth/token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_the_stored_secret_confirms_the_scope_where_nothing_was_recorded_or_a_role_was_renamed()
 {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    let old_role = sim.create_role("Role Reader", ["Read API Roles"]).unwrap();
    let new_role = sim
        .create_role("Integration Reader", ["Read API Integrations"])
        .unwrap();
    let (id, client_id) = sim
        .create_client("Consumer", ["Role Reader"], true, 300)
        .unwrap();
    let path = "instances/alpha/clients/consumer";
    env.write_secret(path, &client_id, &sim.mint_secret(id).unwrap())
        .await;
    let roles = |reader: &str| {
        format!(
            "version = 1\n{}{}",
            role("Role Reader", &["Read API Roles"]),
            role(reader, &["Read API Integrations"]),
        )
    };
    let daemon = env
        .start_declaring(
            &["alpha"],
            &format!(
                "{}{}",
                roles("Integration Reader"),
                client("Consumer", &["Role Reader"], "")
            ),
        )
        .await;
    assert!(matches!(
        rotate(&daemon.socket, "alpha", "Consumer").await,
        Response::Rotated(_)
    ));

    // As an older Warden left it: rotated, no roles recorded.
    let meta = env.vault_metadata(path).await;
    let mut custom = meta["custom_metadata"].clone();
    custom.as_object_mut().unwrap().remove("scope_roles");
    env.write_marker(path, custom).await;
    sim.update_client(
        id,
        ClientPatch {
            authorization_scopes: Some(vec!["Integration Reader".to_owned()]),
            ..ClientPatch::default()
        },
    )
    .unwrap();
    let reload = |desired: String| {
        std::fs::write(env.path("desired.toml"), desired).unwrap();
        send(&daemon.socket, Request::Reload)
    };
    assert!(matches!(
        reload(format!(
            "{}{}",
            roles("Integration Reader"),
            client("Consumer", &["Integration Reader"], "")
        ))
        .await,
        Response::Reloaded { .. }
    ));

    // Nothing recorded: the plan (which asks Jamf for no token) cannot tell...
    assert!(plan(&daemon.socket, "alpha").await.plan.steps.is_empty());
    // ...a drift check asks a token of the stored secret, and it does.
    let before = token_requests(sim);
    let report = drift_of(&daemon.socket, "alpha", true).await;
    let items = &report.report.items;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].kind, DriftKind::ScopeStale);
    assert_eq!(items[0].evidence.as_deref(), Some("token scope"));
    assert_eq!(items[0].before, Some(serde_json::json!(["Role Reader"])));
    assert_eq!(
        items[0].after,
        Some(serde_json::json!(["Integration Reader"]))
    );
    assert_eq!(
        token_requests(sim) - before,
        1,
        "one token for the one candidate"
    );
    let text = render_drift(&DriftDocument::new(vec![report.clone()]), false);
    assert!(
        text.contains("a token of the stored secret covers roles [\"Role Reader\"]"),
        "{text}"
    );
    // the answer is kept for this secret version: no second token, and the plan rotates it
    let _ = drift_of(&daemon.socket, "alpha", true).await;
    assert_eq!(token_requests(sim) - before, 1, "kept per secret version");
    assert_eq!(
        plan_steps(&plan(&daemon.socket, "alpha").await),
        steps(&[(Action::RotateSecret, "Consumer")])
    );
    let (_, audit) = common::audit::audit(&daemon.socket, &["alpha"], None, false).await;
    let finding = audit
        .findings()
        .find(|f| f.rule == "JW-HYG-010")
        .unwrap_or_else(|| panic!("JW-HYG-010 in {audit:#?}"));
    assert_eq!(
        finding.evidence.facts.get("scope_evidence"),
        Some(&serde_json::json!("token scope"))
    );

    let applied = apply(&daemon.socket, "alpha").await;
    assert!(!applied.failed(), "{applied:#?}");
    assert!(
        drift_of(&daemon.socket, "alpha", true)
            .await
            .report
            .items
            .is_empty()
    );

    // The role is renamed in Jamf and in the desired state: the roles recorded at mint (by
    // name) call the secret stale, its token (by role id) shows it still covers the role.
    sim.update_role(&new_role, "Integration Readers", ["Read API Integrations"])
        .unwrap();
    assert!(matches!(
        reload(format!(
            "{}{}",
            roles("Integration Readers"),
            client("Consumer", &["Integration Readers"], "")
        ))
        .await,
        Response::Reloaded { .. }
    ));
    let report = drift_of(&daemon.socket, "alpha", true).await;
    assert!(report.report.items.is_empty(), "{:#?}", report.report.items);
    assert!(plan(&daemon.socket, "alpha").await.plan.steps.is_empty());
    let _ = old_role;
    env.assert_no_secret_leaks();
}
