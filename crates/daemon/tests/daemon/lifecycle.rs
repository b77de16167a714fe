//! The real `wardend`: start-up (socket permissions, status, first jobs), graceful stop on
//! SIGTERM (stop record, anchors, socket removed), no secret in any output, and a second
//! wardend on the same state refused without touching the running one's change log.

use crate::common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use common::{Cfg, Env, status, text, wait_for};
use nix::sys::signal::Signal;
use warden_core::changelog::verify;
use warden_core::protocol::{LogTailRequest, Request, Response};

/// Default rotation schedule; no drift or audit runs (they would record findings of the
/// simulator's built-in app role).
const QUIET_JOBS: &str = "jitter = \"0s\"\ndrift = \"off\"\naudit = \"off\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_serves_status_and_stops_cleanly_on_sigterm() {
    let env = Env::start(&["alpha", "beta"]).await;
    // Freshly bootstrapped management secrets: no rotation is due.
    env.mark_management_rotated("alpha").await;
    env.mark_management_rotated("beta").await;
    let mut daemon = env.start_daemon(&Cfg::new(&["alpha", "beta"])).await;
    let socket = env.socket();

    // The socket: a socket file, ours, mode 0600.
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), nix::unistd::getuid().as_raw());

    // Status: version, config path, both instances in config order.
    let report = status(&socket).await;
    assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(report.config_path, env.config_path());
    let names: Vec<_> = report.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(report.instances[0].url, env.instance("alpha").url);

    // Never-run jobs are due at once: every job of both instances runs and succeeds.
    let report = wait_for("every job to have run", async || {
        let s = status(&socket).await;
        let done = s.instances.iter().all(|i| {
            i.reachable == Some(true) && i.jobs.iter().all(|j| j.last_run.is_some() && !j.running)
        });
        done.then_some(s)
    })
    .await;
    for inst in &report.instances {
        assert!(!inst.parked, "{} parked", inst.name);
        assert_eq!(inst.consecutive_failures, 0, "{}", inst.name);
        assert_eq!(inst.jobs.len(), 3);
        for job in &inst.jobs {
            assert!(job.last_success.is_some(), "{}: {job:?}", inst.name);
            assert!(job.next_run.is_some(), "{}: {job:?}", inst.name);
        }
        // The drift and audit jobs really talked to the simulator with the management client
        // (the rotation job had nothing due).
        let stats = env.instance(&inst.name).sim.stats();
        assert!(stats.count_status("GET", "/api/v1/api-roles", 200) >= 2);
    }

    // instances and log tail
    match common::send(&socket, Request::Instances).await {
        Response::Instances { instances } => assert_eq!(instances.len(), 2),
        other => panic!("instances answered {other:?}"),
    }
    match common::send(&socket, Request::LogTail(LogTailRequest { n: 10 })).await {
        Response::LogTail { records } => {
            // the start record, then only what the scheduled audit recorded: the new finding
            // of each instance (the simulator's built-in Jamf Reset app role can wipe devices)
            assert_eq!(records[0].seq, 1);
            assert_eq!(records[0].action, warden_core::changelog::Action::Start);
            let audits = records[1..]
                .iter()
                .filter(|r| r.action == warden_core::changelog::Action::Audit)
                .count();
            assert_eq!(audits, records.len() - 1, "{records:?}");
            assert_eq!(audits, 2, "{records:?}");
        }
        other => panic!("log tail answered {other:?}"),
    }

    // SIGTERM: exit 0, socket removed, a final stop record, anchors at the stop record.
    daemon.signal(Signal::SIGTERM);
    let exit = daemon.wait_exit().await;
    assert_eq!(
        exit.code(),
        Some(0),
        "{}",
        text(&std::fs::read(env.stderr_file()).unwrap())
    );
    assert!(!socket.exists(), "the socket was left behind");
    let records = env.records();
    let actions: Vec<_> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["start", "audit", "audit", "stop"]);
    assert_eq!(
        records[0]["after"]["instances"],
        serde_json::json!(["alpha", "beta"])
    );
    let head = env.file_head().expect("a local head anchor");
    assert_eq!(head.seq, 4, "anchored at the stop record");
    assert_eq!(head.hash, records[3]["hash"].as_str().unwrap());
    assert_eq!(
        env.vault_head().await,
        Some(head.clone()),
        "vault head anchor"
    );
    let report = verify(&env.changelog(), Some(head));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 4);

    env.assert_no_secret_leaks();
}

/// A second wardend started on the same configuration (an operator running it by hand while
/// the service runs) must be refused before it writes anything: both would append to one
/// change log and fork its chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_state_is_refused_and_the_log_stays_intact() {
    let env = Env::start(&["alpha"]).await;
    // A freshly bootstrapped management secret: no rotation is due.
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = QUIET_JOBS.into();
    let mut first = env.start_daemon(&cfg).await;
    let before = std::fs::read_to_string(env.changelog()).unwrap();

    let out = env.run_to_exit(&[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("another wardend is already running"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(env.changelog()).unwrap(),
        before,
        "the refused daemon wrote to the change log"
    );

    // The first one still serves, and its log stays one unbroken chain.
    assert!(first.is_running());
    match common::send(&env.socket(), Request::Reload).await {
        Response::Reloaded { .. } => {}
        other => panic!("reload answered {other:?}"),
    }
    first.signal(Signal::SIGTERM);
    assert_eq!(first.wait_exit().await.code(), Some(0));
    let report = verify(&env.changelog(), env.file_head());
    assert!(report.is_ok(), "{report}");
    let actions: Vec<_> = env
        .records()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["start", "reload", "stop"]);
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_numbers_as_numbers_and_the_version_names_wardend() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let out = env.run_to_exit(&["--version"]).await;
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("wardend {}", env!("CARGO_PKG_VERSION"))
    );

    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = QUIET_JOBS.into();
    cfg.daemon_extra = "log_format = \"json\"".into();
    let mut daemon = env.start_daemon(&cfg).await;
    let _ = status(&env.socket()).await;
    let line = env.wait_log_line(&["\"request\"", "\"pid\""]).await;
    let record: serde_json::Value = serde_json::from_str(&line).expect("a json log line");
    let fields = record.get("fields").unwrap_or(&record);
    assert!(fields["pid"].is_i64(), "pid is a number: {line}");
    assert!(fields["uid"].is_u64(), "uid is a number: {line}");
    // no Debug rendering of an Option anywhere in the log
    let log = env.log_text();
    assert!(!log.contains("Some("), "{log}");
    daemon.stop_cleanly().await;
}
