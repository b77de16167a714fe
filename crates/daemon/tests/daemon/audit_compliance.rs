//! `wardenctl audit --framework`: the real daemon's report grouped by the controls of a
//! compliance framework, and the control references every rule of the report carries.

use crate::common;

use common::audit::{code, ctl, start_empty};
use common::rotation::NO_JOBS;
use common::{Cfg, Daemon, Env};
use serde_json::Value;
use warden_core::audit::compliance::{ComplianceReport, Status};
use warden_core::audit::{AuditReport, Framework};

/// `alpha` with an undeclared client holding a role that can escalate; wardend running.
async fn estate() -> (Env, Daemon) {
    let env = start_empty(&["alpha"]).await;
    let sim = &env.instance("alpha").sim;
    sim.create_role("Escalator", ["Update API Integrations"])
        .unwrap();
    sim.create_client("Escalator Client", ["Escalator"], true, 300)
        .unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, "version = 1\n");
    let daemon = env.start_wardend(None).await;
    (env, daemon)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_groups_the_live_audit_by_control() {
    let (env, daemon) = estate().await;
    let socket = &daemon.socket;

    // CIS v8.1 as text: 5.4 (admin privileges) fails on the escalator, 5.5 (service account
    // inventory) on the undeclared client, 5.3 (dormant accounts) on it too (it has no secret);
    // 6.2 (access revoking) passes with its evidence.
    let out = ctl(&env, socket, &["audit", "alpha", "--framework", "cis8"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let text = common::text(&out.stdout);
    for needle in [
        "CIS Critical Security Controls v8.1",
        "FAIL 5.4 — Restrict Administrator Privileges",
        "- CRITICAL JW-ESC-001 role:Escalator",
        "FAIL 5.5 — Establish and Maintain an Inventory of Service Accounts",
        "- MEDIUM JW-HYG-007 client:Escalator Client",
        "FAIL 5.3 — Disable Dormant Accounts",
        "- LOW JW-HYG-004 client:Escalator Client",
        "PASS 6.2 — Establish an Access Revoking Process\n  rules: JW-HYG-005, JW-HYG-010\n  alpha: pass (gathered ",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }

    // SOC 2 as JSON: every listed control, the evidence per instance.
    let out = ctl(
        &env,
        socket,
        &["audit", "alpha", "--framework", "soc2", "--format", "json"],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let view: ComplianceReport = serde_json::from_slice(&out.stdout).expect("the JSON view");
    assert_eq!(view.framework, Framework::Soc2);
    let control = |id: &str| view.controls.iter().find(|c| c.id == id).unwrap();
    let cc61 = control("CC6.1");
    assert_eq!(cc61.status, Status::Fail);
    assert!(
        cc61.instances[0]
            .findings
            .iter()
            .any(|f| f.key == "JW-ESC-001/alpha/role:Escalator" && !f.suppressed)
    );
    // Warden's own role is listed as an accepted (suppressed) finding.
    assert!(cc61.instances[0].findings.iter().any(|f| f.suppressed));
    let cc72 = control("CC7.2");
    assert_eq!(cc72.status, Status::Pass, "no drift widens privileges");
    assert!(cc72.instances[0].gathered_at.is_some());
    assert_eq!(
        cc72.instances[0].catalogue_sha256.as_ref().map(String::len),
        Some(64)
    );
    assert_eq!(view.passing + view.failing, view.controls.len());

    // Markdown to a file.
    let md = env.path("iso.md");
    let out = ctl(
        &env,
        socket,
        &[
            "audit",
            "alpha",
            "--framework",
            "iso27001",
            "--format",
            "markdown",
            "-o",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.starts_with("# ISO/IEC 27001:2022 Annex A: controls evidenced"));
    assert!(markdown.contains("| 8.2 | Privileged access rights | fail | alpha | fail |"));

    // The plain JSON report carries each rule's control references.
    let out = ctl(&env, socket, &["audit", "alpha", "--format", "json"]);
    let report: AuditReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.rules.iter().all(|r| !r.controls.is_empty()));
    let raw: Value = serde_json::from_slice(&out.stdout).unwrap();
    let esc = raw["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "JW-ESC-001")
        .unwrap();
    assert!(
        esc["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["framework"] == "cis8" && c["control"] == "5.4")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_refuses_formats_it_cannot_render() {
    let (env, daemon) = estate().await;
    let out = ctl(
        &env,
        &daemon.socket,
        &["audit", "--framework", "nist80053", "--format", "sarif"],
    );
    assert_eq!(code(&out), 2);
    let err = common::text(&out.stderr);
    assert!(
        err.contains("--framework renders table, markdown or json"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// `alpha` with `CMDB Sync` declared (owner and purpose) and rotated by Warden, and the
/// undeclared escalator; the secrets minted.
async fn review_estate() -> (Env, Daemon, Vec<String>, Vec<String>) {
    use common::audit::{client_path, client_toml, role_toml, store_secret};
    use common::rotation::rotate;
    let env = start_empty(&["alpha"]).await;
    let sim = &env.instance("alpha").sim;
    sim.create_role("Inventory Read", ["Read Computers"])
        .unwrap();
    let (id, client_id) = sim
        .create_client("CMDB Sync", ["Inventory Read"], true, 300)
        .unwrap();
    let first = sim.mint_secret(id).unwrap();
    store_secret(&env, "alpha", "CMDB Sync", &client_id, &first).await;
    sim.create_role("Escalator", ["Update API Integrations"])
        .unwrap();
    let (id, _) = sim
        .create_client("Escalator Client", ["Escalator"], true, 300)
        .unwrap();
    let other = sim.mint_secret(id).unwrap();
    let desired = format!(
        "version = 1\n{}{}",
        role_toml("Inventory Read", &["Read Computers"]),
        client_toml("CMDB Sync", &["Inventory Read"], "", "")
    );
    let daemon = env.start_declaring(&["alpha"], &desired).await;
    let answer = rotate(&daemon.socket, "alpha", "CMDB Sync").await;
    assert!(
        matches!(answer, warden_core::protocol::Response::Rotated(_)),
        "{answer:?}"
    );
    (
        env,
        daemon,
        vec![first, other],
        vec![client_path("alpha", "CMDB Sync")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_exports_list_every_client_with_owner_rotation_and_findings() {
    let (env, daemon, minted, paths) = review_estate().await;
    let socket = &daemon.socket;

    // review-csv: one row per live client, a blank reviewer decision.
    let out = ctl(&env, socket, &["audit", "alpha", "--format", "review-csv"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let text = common::text(&out.stdout);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "Warden's client, CMDB Sync, the escalator: {text}"
    );
    let row = |name: &str| rows.iter().find(|r| &r[1] == name).unwrap();
    let cmdb = row("CMDB Sync");
    assert_eq!(&cmdb[3], "it@example.com");
    assert_eq!(&cmdb[4], "audit tests");
    assert_eq!(&cmdb[5], "Inventory Read");
    assert_eq!(&cmdb[6], "1");
    assert_eq!(&cmdb[8], "0", "rotated just now");
    assert!(cmdb[9].starts_with("20"), "a rotation time: {}", &cmdb[9]);
    assert_eq!(&cmdb[10], "", "no finding applies");
    assert_eq!(&cmdb[11], "");
    let esc = row("Escalator Client");
    assert_eq!(&esc[3], "undeclared");
    assert!(esc[7].contains("Update API Integrations (privilege_escalation)"));
    assert!(esc[10].contains("JW-ESC-001 critical role:Escalator"));
    assert!(esc[10].contains("JW-HYG-007 medium client:Escalator Client"));

    // grc-json: valid against its published schema.
    let out = ctl(&env, socket, &["audit", "alpha", "--format", "grc-json"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    common::audit::assert_valid_access_review(&doc);
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 3);
    let cmdb = resources
        .iter()
        .find(|r| r["id"] == "alpha/CMDB Sync")
        .unwrap();
    assert_eq!(cmdb["owner"], "it@example.com");
    assert_eq!(cmdb["open_findings"], 0);
    assert!(cmdb["secret_last_rotated_at"].is_string());

    // No secret in either export.
    let secrets = common::audit::all_secrets(&env, "alpha", &paths, &minted).await;
    common::audit::assert_text_clean("review-csv", &text, &secrets);
    common::audit::assert_text_clean("grc-json", &doc.to_string(), &secrets);
}
