//! Jamf Pro as it really answers, through the daemon in-process: a 403 never says which privilege
//! is missing (no `x-required-privileges` header, and the simulator sends none), so the error
//! `wardend` reports names it from the client's endpoint table.

use crate::common;

use common::drift::drift_of;
use common::rotation::{MANAGEMENT, NO_JOBS, desired_toml};
use common::{Cfg, Env, MANAGEMENT_PRIVILEGES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_names_the_missing_privilege_from_the_endpoint_table() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[], ""));
    let daemon = env.start_wardend(None).await;
    let sim = &env.instance("alpha").sim;
    // The management role loses "Read API Integrations"; Jamf resolves privileges per request.
    let role = sim.role_by_name(MANAGEMENT).expect("the management role");
    let kept: Vec<&str> = MANAGEMENT_PRIVILEGES
        .iter()
        .copied()
        .filter(|p| *p != "Read API Integrations")
        .collect();
    sim.update_role(&role.id, MANAGEMENT, kept).unwrap();

    let drift = drift_of(&daemon.socket, "alpha", true).await;
    let error = drift.error.expect("the check fails");
    assert!(
        error.contains(
            r#"lacks privilege "Read API Integrations"; add it to the client's api role"#
        ),
        "{error}"
    );
    assert!(
        sim.stats()
            .count_status("GET", "/api/v1/api-integrations", 403)
            >= 1,
        "the simulator refused: {:?}",
        sim.stats()
    );
    env.assert_no_secret_leaks();
}
