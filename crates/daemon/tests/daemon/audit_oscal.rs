//! `wardenctl audit --format oscal --output FILE` against the daemon in-process: the document
//! is valid against NIST's OSCAL 1.1.1 assessment-results JSON schema (vendored in
//! `crates/core/tests/data/`), has every finding of the report as an observation (a suppressed
//! one marked), says which instance could not be audited, and holds no secret.

use crate::common;

use std::collections::BTreeSet;

use common::audit::{all_secrets, code, ctl, start_empty};
use common::rotation::NO_JOBS;
use common::{Cfg, Env};
use serde_json::Value;
use warden_core::audit::AuditReport;

fn oscal_validator() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/oscal_assessment-results_schema-1.1.1.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Property `name`'s values of an OSCAL object.
fn props<'v>(item: &'v Value, name: &str) -> Vec<&'v str> {
    item["props"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .filter_map(|p| p["value"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_writes_a_valid_oscal_assessment_results_file() {
    // alpha: an undeclared client on a role that can escalate (its JW-HYG-007 suppressed by
    // the configuration); beta: an unused role; dead: its Jamf is gone.
    let mut env: Env = start_empty(&["alpha", "beta"]).await;
    env.sim.try_add_instance("dead", Some(true)).unwrap();
    env.add_instance("dead").await;
    let dead_url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let sim = &env.instance("alpha").sim;
    sim.create_role("Escalator", ["Update API Integrations"])
        .unwrap();
    let (id, _) = sim
        .create_client("Escalator Client", ["Escalator"], true, 300)
        .unwrap();
    let minted = vec![sim.mint_secret(id).unwrap()];
    env.instance("beta")
        .sim
        .create_role("Unused", ["Read Computers"])
        .unwrap();
    let mut cfg = Cfg::new(&["alpha", "beta", "dead"]);
    cfg.schedules = NO_JOBS.into();
    cfg.tables = "[[audit.suppression]]\nrule = \"JW-HYG-007\"\ninstance = \"alpha\"\n\
                  object = \"client:Escalator Client\"\nreason = \"vendor integration, SEC-9\"\n\
                  owner = \"secops@example.com\"\nexpires = 2099-12-31\n"
        .into();
    env.write_rotation_config(&cfg, "version = 1\n");
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace(
        &format!("url = \"{}\"", env.instance("dead").url),
        &format!("url = \"{dead_url}\""),
    );
    assert!(text.contains(&dead_url));
    std::fs::write(env.config_path(), text).unwrap();
    let daemon = env.start_wardend(None).await;
    let socket = &daemon.socket;

    let file = env.path("audit.oscal.json");
    let out = ctl(
        &env,
        socket,
        &[
            "audit",
            "--format",
            "oscal",
            "--fail-on",
            "never",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 2, "dead: {}", common::text(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let errors: Vec<String> = oscal_validator()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());

    // The same audit as JSON: every finding is an observation with its status.
    let out = ctl(
        &env,
        socket,
        &["audit", "--format", "json", "--fail-on", "never"],
    );
    assert_eq!(code(&out), 2);
    let report: AuditReport = serde_json::from_slice(&out.stdout).unwrap();
    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.1");
    assert_eq!(
        props(&ar["metadata"], "rule-pack"),
        [report.rule_pack.as_str()]
    );
    let result = &ar["results"][0];
    let observations = result["observations"].as_array().unwrap();
    let status_of = |key: &str| {
        let found: Vec<&Value> = observations
            .iter()
            .filter(|o| props(o, "finding-key") == [key])
            .collect();
        assert_eq!(found.len(), 1, "{key}");
        props(found[0], "finding-status")[0].to_owned()
    };
    let keys: BTreeSet<String> = report.findings().map(|f| f.key()).collect();
    assert!(keys.contains("JW-ESC-001/alpha/role:Escalator"), "{keys:?}");
    assert!(keys.contains("JW-HYG-006/beta/role:Unused"), "{keys:?}");
    for f in report.findings() {
        let expected = if f.suppressed_by.is_some() {
            "suppressed"
        } else {
            "open"
        };
        assert_eq!(status_of(&f.key()), expected, "{}", f.key());
    }
    assert_eq!(
        status_of("JW-HYG-007/alpha/client:Escalator Client"),
        "suppressed"
    );
    let with_key = observations
        .iter()
        .filter(|o| !props(o, "finding-key").is_empty())
        .count();
    assert_eq!(with_key, keys.len());

    // dead: an observation and a risk, no control finding; alpha fails AC-6 (the escalator).
    let dead: Vec<&Value> = observations
        .iter()
        .filter(|o| props(o, "finding-status") == ["not-assessed"])
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(props(dead[0], "instance"), ["dead"]);
    assert_eq!(result["risks"].as_array().unwrap().len(), 1);
    let findings = result["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| props(f, "instance") != ["dead"]));
    let ac6 = |inst: &str| {
        findings
            .iter()
            .find(|f| f["target"]["target-id"] == "ac-6_obj" && props(f, "instance") == [inst])
            .map(|f| f["target"]["status"]["state"].clone())
            .unwrap()
    };
    assert_eq!(ac6("alpha"), "not-satisfied");

    // No secret in the document, wardenctl's output or the daemon's files.
    let mut secrets = all_secrets(&env, "alpha", &[], &minted).await;
    secrets.extend(env.standing_secrets("beta").await);
    secrets.extend(env.standing_secrets("dead").await);
    let mut paths = env.daemon_files();
    for f in ["audit.oscal.json", "ctl.out", "ctl.err"] {
        paths.push(env.path(f));
    }
    env.assert_absent_from(&paths, &secrets);
}
