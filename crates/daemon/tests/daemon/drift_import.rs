//! `Request::Import` against the daemon in-process and the Jamf simulator: the desired-state file
//! of a live estate leaves out the app client and Warden's own, declares the app role external,
//! and, used as the desired state, plans nothing. Read-only throughout.

use crate::common;

use common::drift::{drift_of, import, plan};
use common::rotation::{NO_JOBS, ROLE};
use common::{Cfg, Env, send};
use warden_core::protocol::{Request, Response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_state_plans_nothing() {
    let env = Env::start_memory(&["alpha"]).await;
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
    // The enabled clients' secrets were minted outside Warden and Vault does not hold them:
    // `import` declared them `adopt = "hold"`, so they are adopted and held until a cutover,
    // listed as such and not drift (the disabled client has no secret). No drift otherwise.
    assert!(drift.report.items.is_empty(), "{:?}", drift.report);
    let held: Vec<&str> = drift.report.held.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(held, ["Inventory Sync", "Reporter", "Reset Helper"]);
    assert!(
        drift
            .report
            .held
            .iter()
            .all(|h| h.reason.contains("held until cutover")),
        "{:?}",
        drift.report.held
    );
    assert_eq!(file.matches("\nadopt = \"hold\"").count(), 4, "{file}");
    assert_eq!(drift.report.foreign, ["client \"Jamf Reset\""]);
    // Read-only throughout.
    assert_eq!(sim.roles(), roles_before);
    assert_eq!(sim.clients(), clients_before);
    env.assert_absent_from(&env.daemon_files(), &secrets);
}
