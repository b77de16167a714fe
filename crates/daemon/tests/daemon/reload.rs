//! Reload of the real `wardend`: SIGHUP with a broken file keeps the running configuration
//! and records the failure; a fixed file adding an instance takes effect; `reload` over the
//! socket removes one and answers with a summary.

use crate::common;

use common::{Cfg, Env, status, wait_for};
use nix::sys::signal::Signal;
use serde_json::Value;
use warden_core::protocol::{ErrorCode, Request, Response};

fn names(report: &warden_core::protocol::StatusReport) -> Vec<String> {
    report.instances.iter().map(|i| i.name.clone()).collect()
}

/// Waits for the `n`-th reload record (1-based) and returns it.
async fn reload_record(env: &Env, n: usize) -> Value {
    wait_for(&format!("reload record #{n}"), async || {
        env.records()
            .into_iter()
            .filter(|r| r["action"] == "reload")
            .nth(n - 1)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_keeps_the_old_config_on_errors_and_applies_a_fixed_one() {
    let env = Env::start(&["alpha", "beta"]).await;
    let mut daemon = env.start_daemon(&Cfg::new(&["alpha"])).await;
    let socket = env.socket();
    assert_eq!(names(&status(&socket).await), ["alpha"]);

    // A broken file: an unknown key in [daemon].
    let mut broken = Cfg::new(&["alpha", "beta"]);
    broken.daemon_extra = "bogus_key = 1".into();
    env.write_config(&broken);
    let line = env
        .config_text(&broken)
        .lines()
        .position(|l| l.starts_with("bogus_key"))
        .unwrap()
        + 1;
    let location = format!("{}:{line}:1", env.config_path().display());
    daemon.signal(Signal::SIGHUP);

    let failed = reload_record(&env, 1).await;
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["actor"]["kind"], "daemon", "{failed}");
    let error = failed["error"].as_str().expect("an error message");
    assert!(error.contains("bogus_key"), "{error}");
    assert!(error.contains(&location), "{error} lacks {location}");
    env.wait_log_line(&["reload refused", "bogus_key"]).await;
    // Still running, still the old configuration.
    assert!(daemon.is_running());
    assert_eq!(names(&status(&socket).await), ["alpha"]);

    // The same broken file through the socket: an error answer, nothing applied.
    match common::send(&socket, Request::Reload).await {
        Response::Error { code, message } => {
            assert_eq!(code, ErrorCode::BadRequest);
            assert!(message.contains("bogus_key"), "{message}");
        }
        other => panic!("reload of a broken file answered {other:?}"),
    }
    assert_eq!(reload_record(&env, 2).await["outcome"], "failed");
    assert_eq!(names(&status(&socket).await), ["alpha"]);

    // Fixed, with an instance added: SIGHUP applies it and beta's jobs start.
    env.write_config(&Cfg::new(&["alpha", "beta"]));
    daemon.signal(Signal::SIGHUP);
    let ok = reload_record(&env, 3).await;
    assert_eq!(ok["outcome"], "ok", "{ok}");
    assert_eq!(ok["after"]["instances_added"], serde_json::json!(["beta"]));
    assert_eq!(ok["before"]["instances"], serde_json::json!(["alpha"]));
    wait_for("beta in status with its jobs run", async || {
        let s = status(&socket).await;
        let beta = s.instances.iter().find(|i| i.name == "beta")?;
        beta.jobs.iter().all(|j| j.last_run.is_some()).then_some(())
    })
    .await;
    assert_eq!(names(&status(&socket).await), ["alpha", "beta"]);
    env.wait_log_line(&["configuration reloaded", "instances added: beta"])
        .await;

    // Over the socket, alpha removed: answered with the summary, recorded with the user.
    env.write_config(&Cfg::new(&["beta"]));
    match common::send(&socket, Request::Reload).await {
        Response::Reloaded { summary } => {
            assert!(summary.contains("instances removed: alpha"), "{summary}")
        }
        other => panic!("reload answered {other:?}"),
    }
    assert_eq!(names(&status(&socket).await), ["beta"]);
    let by_user = reload_record(&env, 4).await;
    assert_eq!(by_user["outcome"], "ok");
    assert_eq!(by_user["actor"]["kind"], "user");
    assert_eq!(by_user["actor"]["uid"], 0);
    assert_eq!(
        by_user["after"]["instances_removed"],
        serde_json::json!(["alpha"])
    );

    // Nothing to change: still a summary.
    match common::send(&socket, Request::Reload).await {
        Response::Reloaded { summary } => assert_eq!(summary, "no changes"),
        other => panic!("reload answered {other:?}"),
    }

    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));
    let report = warden_core::changelog::verify(&env.changelog(), env.file_head());
    assert!(report.is_ok(), "{report}");
    env.assert_no_secret_leaks();
}
