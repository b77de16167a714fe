//! The seed's workflow with curl, exactly as the seed writes the commands (host changed), against
//! the simulator: `tests/testkit/scripts/seed-workflow.sh` checks every answer and fails on the
//! first unexpected one.

use std::process::Command;

use warden_testkit::jamf_sim::{Sim, SimOptions, UserSpec};

#[tokio::test]
async fn seed_curl_workflow_against_the_simulator() {
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            users: vec![UserSpec::parse("jamfsw:jamf1234:admin").unwrap()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // an instance without Jamf's built-in app role, holding the seed's one existing role, so ids
    // match the seed (the new role gets id "2", the new client id 1)
    let url = sim.try_add_instance("seed", Some(true)).unwrap();
    let inst = sim.instance(Some("seed"));
    assert_eq!(
        inst.create_role("One Role to Rule them all", ["View License Serial Numbers"])
            .unwrap(),
        "1"
    );

    let out_dir = tempfile::tempdir().unwrap();
    let script =
        warden_testkit::openbao::workspace_root().join("tests/testkit/scripts/seed-workflow.sh");
    let output = tokio::task::spawn_blocking(move || {
        let o = Command::new("bash")
            .arg(&script)
            .env("JAMF_URL", &url)
            .env("OUT", out_dir.path())
            .output()
            .expect("run bash");
        drop(out_dir);
        o
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "seed workflow failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("seed-workflow: ok"), "{stdout}");

    let stats = inst.stats();
    assert_eq!(
        stats.count("POST", "/api/v1/api-integrations/{id}/client-credentials"),
        1
    );
    assert_eq!(stats.count("POST", "/api/oauth/token"), 1);
    // the workflow cleaned up after itself: only the seed's original role is left
    assert_eq!(inst.roles().len(), 1);
    assert!(inst.clients().is_empty());
}
