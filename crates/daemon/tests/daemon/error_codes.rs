//! Errors answer with a code by cause, and a failed change carries the same kind in the change
//! log (`error_kind`): Jamf down is `unavailable`, a client missing in Jamf is a `conflict`
//! (apply the desired state first), an invalid configuration is a `bad_request`, an unknown
//! instance is `not_found`.

use crate::common;

use common::rotation::{CLIENT, NO_JOBS, desired_toml, error_of, rotate};
use common::{Cfg, Env, send};
use jamf_sim::FaultRule;
use serde_json::Value;
use warden_core::protocol::{ErrorCode, PlanRequest, Request};

/// An environment with `alpha`, its managed client declared, no scheduled jobs, wardend up.
async fn started(extra_desired: &str) -> (Env, common::Daemon) {
    let env = Env::start(&["alpha"]).await;
    env.add_managed_client("alpha", CLIENT).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], extra_desired));
    let daemon = env.start_wardend(None).await;
    (env, daemon)
}

/// The last record whose action is `action`.
fn last(records: &[Value], action: &str) -> Value {
    records
        .iter()
        .rev()
        .find(|r| r["action"] == action)
        .cloned()
        .unwrap_or_else(|| panic!("no {action} record in {records:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jamf_down_is_unavailable_and_the_failed_rotation_records_that_kind() {
    let (env, _daemon) = started("").await;
    let socket = env.socket();
    env.instance("alpha")
        .sim
        .add_fault(FaultRule::error_rate("*", 1.0))
        .unwrap();

    let plan = send(
        &socket,
        Request::Plan(PlanRequest {
            instance: "alpha".into(),
            refresh_catalogue: true,
            ..Default::default()
        }),
    )
    .await;
    let (code, message) = error_of(&plan);
    assert_eq!(code, ErrorCode::Unavailable, "{message}");
    assert!(message.contains("alpha"), "{message}");

    let (code, message) = error_of(&rotate(&socket, "alpha", CLIENT).await);
    assert_eq!(code, ErrorCode::Unavailable, "{message}");
    let failed = last(&env.records(), "rotate");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["error_kind"], "unavailable", "{failed}");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_client_missing_in_jamf_is_a_conflict_recorded_as_such() {
    let ghost = "\n[[client]]\nname = \"Ghost\"\nroles = [\"Inventory Read\"]\n\
                 owner = \"it@example.com\"\npurpose = \"not in jamf yet\"\n";
    let (env, _daemon) = started(ghost).await;
    let socket = env.socket();

    let (code, message) = error_of(&rotate(&socket, "alpha", "Ghost").await);
    assert_eq!(code, ErrorCode::Conflict, "{message}");
    let failed = last(&env.records(), "rotate");
    assert_eq!(failed["object"]["name"], "Ghost", "{failed}");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["error_kind"], "conflict", "{failed}");
    assert_eq!(env.mints("alpha"), 0);

    // a successful record carries no kind
    assert!(
        env.records()
            .iter()
            .filter(|r| r["outcome"] != "failed")
            .all(|r| r.get("error_kind").is_none()),
        "error_kind only on failures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_reload_is_a_bad_request_recorded_as_such_and_unknown_is_not_found() {
    let (env, _daemon) = started("").await;
    let socket = env.socket();

    let (code, message) = error_of(&rotate(&socket, "nowhere", CLIENT).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");

    let config = env.config_path();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n[daemon]\nno_such_setting = 1\n")).unwrap();
    let (code, message) = error_of(&send(&socket, Request::Reload).await);
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    assert!(message.contains("stays in force"), "{message}");
    let refused = last(&env.records(), "reload");
    assert_eq!(refused["outcome"], "failed", "{refused}");
    assert_eq!(refused["error_kind"], "bad_request", "{refused}");
}
