//! The audit as a reviewer files it, end to end on a real OpenBao: two scheduled audits of an
//! estate with a managed client (its secret and rotation marker in Vault) and an undeclared
//! one, then the real `wardenctl` writes every export from the kept report. Owner and purpose
//! come from the desired state, the secret's last rotation and age from Vault, new/resolved and
//! the trend from the kept audits; the framework view groups by control; the GRC export is
//! valid against its published schema; no secret shows up anywhere.

use crate::common;

use chrono::Duration;
use common::audit::{
    AUDIT_AT_START, all_secrets, assert_text_clean, client_path, client_toml, code, ctl,
    mark_rotated, role_toml, store_secret, wait_audit_job_done,
};
use common::drift::stop;
use common::{Cfg, Env};
use serde_json::Value;
use warden_core::audit::compliance::ComplianceReport;
use warden_core::audit::{AuditReport, Framework};

const WIPE_KEY: &str = "JW-DST-001/alpha/role:Wiper";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_gets_owner_secret_age_changes_and_controls_from_the_kept_audits_on_openbao() {
    let mut env = Env::start(&[]).await;
    env.sim
        .try_add_instance("alpha", Some(true))
        .expect("create an empty instance");
    env.add_instance("alpha").await;
    env.mark_management_rotated("alpha").await;
    let sim = env.instance("alpha").sim.clone();
    sim.create_role("Inventory Reader", ["Read Computers"])
        .unwrap();
    let (inventory, inventory_id) = sim
        .create_client("Inventory Sync", ["Inventory Reader"], true, 300)
        .unwrap();
    let wiper = sim
        .create_role(
            "Wiper",
            ["Read Computers", "Send Computer Remote Wipe Command"],
        )
        .unwrap();
    let (wipe, _) = sim
        .create_client("Wipe Client", ["Wiper"], true, 300)
        .unwrap();
    let minted = vec![
        sim.mint_secret(inventory).unwrap(),
        sim.mint_secret(wipe).unwrap(),
    ];
    // the managed client's secret in Vault, rotated by Warden 40 days ago
    store_secret(&env, "alpha", "Inventory Sync", &inventory_id, &minted[0]).await;
    let path = client_path("alpha", "Inventory Sync");
    let rotated_at = warden_core::clock::system()() - Duration::days(40);
    mark_rotated(&env, &path, rotated_at).await;

    let desired = format!(
        "version = 1\n{}{}",
        role_toml("Inventory Reader", &["Read Computers"]),
        client_toml(
            "Inventory Sync",
            &["Inventory Reader"],
            "token_lifetime = 300\n",
            ""
        )
    );
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = AUDIT_AT_START.into();
    env.write_rotation_config(&cfg, &desired);

    // the first scheduled audit, then the wipe privilege removed in Jamf and a second one
    let mut daemon = env.start_wardend(None).await;
    wait_audit_job_done(&daemon.socket).await;
    sim.update_role(&wiper, "Wiper", ["Read Computers"])
        .unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let daemon = env.start_wardend(None).await;
    wait_audit_job_done(&daemon.socket).await;
    let socket = &daemon.socket;

    // JSON from the kept report (asked for in parts by wardenctl)
    let json_path = env.path("report.json");
    let out = ctl(
        &env,
        socket,
        &[
            "audit",
            "--last",
            "--format",
            "json",
            "--output",
            json_path.to_str().unwrap(),
        ],
    );
    assert!(matches!(code(&out), 0 | 1), "{}", common::text(&out.stderr));
    let report: AuditReport =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert!(report.gathered_at.is_some(), "--last says when it gathered");
    let inst = &report.instances[0];
    let managed = inst
        .client_privileges
        .iter()
        .find(|c| c.name == "Inventory Sync")
        .expect("the managed client");
    assert_eq!(managed.owner.as_deref(), Some("it@example.com"));
    assert_eq!(managed.purpose.as_deref(), Some("audit tests"));
    let secret = managed
        .secret
        .as_ref()
        .expect("its secret as Vault shows it");
    assert_eq!(secret.error, None);
    assert_eq!(
        secret.rotated_at.map(|t| t.timestamp()),
        Some(rotated_at.timestamp()),
        "the last rotation, from the marker in OpenBao"
    );
    assert_eq!(secret.age_days, Some(40));
    assert_eq!(secret.strategy, "single");
    assert_eq!(secret.verified, Some(true));
    let shadow = inst
        .client_privileges
        .iter()
        .find(|c| c.name == "Wipe Client")
        .expect("the undeclared client");
    assert_eq!((shadow.declared, shadow.owner.as_deref()), (false, None));
    let since = inst.since_last.as_ref().expect("the audit before");
    assert_eq!(since.resolved, vec![WIPE_KEY.to_owned()]);
    assert!(!inst.trend.is_empty(), "the trend of the kept audits");

    // the access review: the undeclared client says so
    let out = ctl(&env, socket, &["audit", "--last", "--format", "review-csv"]);
    assert!(matches!(code(&out), 0 | 1), "{}", common::text(&out.stderr));
    let csv = common::text(&out.stdout);
    let wipe_row = csv
        .lines()
        .find(|l| l.starts_with("alpha,Wipe Client,"))
        .expect("a row for the undeclared client");
    assert!(wipe_row.contains(",undeclared,undeclared,"), "{wipe_row}");
    let inventory_row = csv
        .lines()
        .find(|l| l.starts_with("alpha,Inventory Sync,"))
        .expect("a row for the managed client");
    assert!(
        inventory_row.contains(",it@example.com,audit tests,"),
        "{inventory_row}"
    );
    assert!(
        inventory_row.contains(",40,"),
        "secret age: {inventory_row}"
    );

    // the framework view of the same kept report
    let out = ctl(
        &env,
        socket,
        &["audit", "--last", "--framework", "soc2", "--format", "json"],
    );
    assert!(matches!(code(&out), 0 | 1), "{}", common::text(&out.stderr));
    let view: ComplianceReport = serde_json::from_slice(&out.stdout).expect("the JSON view");
    assert_eq!(view.framework, Framework::Soc2);
    assert!(!view.controls.is_empty());

    // the GRC export, valid against its published schema
    let out = ctl(&env, socket, &["audit", "--last", "--format", "grc-json"]);
    assert!(matches!(code(&out), 0 | 1), "{}", common::text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    common::audit::assert_valid_access_review(&doc);

    // no secret in any output, report or daemon file
    let secrets = all_secrets(&env, "alpha", &[path], &minted).await;
    assert_text_clean("review-csv", &csv, &secrets);
    assert_text_clean("grc-json", &doc.to_string(), &secrets);
    let mut files = env.daemon_files();
    files.extend([json_path, env.path("ctl.out"), env.path("ctl.err")]);
    env.assert_absent_from(&files, &secrets);
}
