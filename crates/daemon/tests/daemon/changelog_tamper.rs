//! Tampering with the change log while the daemon is down: an edited, a deleted or cut-off
//! record is named by `verify`, and wardend refuses to start (exit 2, before binding its
//! socket, without touching the file). Cutting records and forging the local head anchor to
//! match fools a local check but not the head anchor kept in Vault. The untouched log starts
//! fine and verifies over the socket.

use crate::common;

use common::{Cfg, Env, text};
use nix::sys::signal::Signal;
use warden_core::changelog::{Head, ProblemKind, verify};
use warden_core::protocol::{Request, Response};

/// Asks the running daemon to verify its log; returns the number of records.
async fn verify_over_socket(env: &Env) -> u64 {
    match common::send(&env.socket(), Request::LogVerify).await {
        Response::LogVerify(report) => {
            assert!(report.is_ok(), "{report}");
            assert!(
                report.head.is_some(),
                "verified without a head anchor: {report}"
            );
            report.records
        }
        other => panic!("log verify answered {other:?}"),
    }
}

/// Starts wardend on the tampered log and expects a refusal naming the change log.
async fn expect_refusal(env: &Env, needles: &[&str]) {
    let before = std::fs::read(env.changelog()).unwrap();
    let out = env.run_to_exit(&[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "wardend started on a tampered log: {stderr}"
    );
    assert!(stderr.contains("cannot open the change log"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{stderr} lacks {n:?}");
    }
    assert!(!env.socket().exists(), "a refused start left a socket");
    assert_eq!(
        std::fs::read(env.changelog()).unwrap(),
        before,
        "a refused start changed the log"
    );
}

fn write_lines(env: &Env, lines: &[&str]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(env.changelog(), s).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_logs_are_detected_and_refused() {
    let env = Env::start(&["alpha"]).await;
    // A freshly bootstrapped management secret: no rotation is due.
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    // no drift or audit runs: they would record findings of the simulator's built-in app role
    cfg.schedules = "jitter = \"0s\"\ndrift = \"off\"\naudit = \"off\"".into();
    let mut daemon = env.start_daemon(&cfg).await;
    for _ in 0..3 {
        match common::send(&env.socket(), Request::Reload).await {
            Response::Reloaded { .. } => {}
            other => panic!("reload answered {other:?}"),
        }
    }
    assert_eq!(verify_over_socket(&env).await, 4);
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));

    // start, reload x3, stop; both anchors at the stop record.
    let original = std::fs::read_to_string(env.changelog()).unwrap();
    let original_head = std::fs::read(env.head_file()).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 5);
    let head = env.file_head().unwrap();
    assert_eq!(head.seq, 5);
    assert_eq!(env.vault_head().await, Some(head.clone()));
    assert!(verify(&env.changelog(), Some(head.clone())).is_ok());

    // 1. A field of a record in the middle edited.
    let edited = lines[2].replacen("\"reload\"", "\"update\"", 1);
    assert_ne!(edited, lines[2]);
    write_lines(&env, &[lines[0], lines[1], &edited, lines[3], lines[4]]);
    let report = verify(&env.changelog(), Some(head.clone()));
    let problem = report.problem.clone().expect("the edit is detected");
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Edited, 3, Some(3))
    );
    expect_refusal(&env, &["vault", "line 3", "edited"]).await;

    // 2. A record in the middle deleted.
    write_lines(&env, &[lines[0], lines[1], lines[3], lines[4]]);
    let report = verify(&env.changelog(), Some(head.clone()));
    let problem = report.problem.clone().expect("the deletion is detected");
    assert_eq!(problem.kind, ProblemKind::Deleted, "{report}");
    assert_eq!(problem.line, 3, "{report}");
    expect_refusal(&env, &["line 3", "deleted"]).await;

    // 3. The last two records cut off: the local anchor catches it.
    write_lines(&env, &lines[..3]);
    let report = verify(&env.changelog(), Some(head.clone()));
    let problem = report.problem.clone().expect("the truncation is detected");
    assert_eq!(problem.kind, ProblemKind::Truncated, "{report}");
    expect_refusal(&env, &["cut from the end"]).await;

    // 4. Cut off and the local anchor forged to match: only Vault's anchor catches it.
    let forged: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    let forged = Head {
        seq: forged["seq"].as_u64().unwrap(),
        hash: forged["hash"].as_str().unwrap().to_string(),
    };
    std::fs::write(env.head_file(), serde_json::to_vec(&forged).unwrap()).unwrap();
    assert!(
        verify(&env.changelog(), Some(forged)).is_ok(),
        "the forged local anchor should fool a local check"
    );
    let report = verify(&env.changelog(), Some(head.clone()));
    assert_eq!(report.problem.unwrap().kind, ProblemKind::Truncated);
    expect_refusal(&env, &["head anchor kept in vault", "truncated"]).await;

    // The untouched log and anchor: starts, and verifies over the socket.
    std::fs::write(env.changelog(), &original).unwrap();
    std::fs::write(env.head_file(), &original_head).unwrap();
    let mut daemon = env.start_daemon(&cfg).await;
    assert_eq!(verify_over_socket(&env).await, 6);
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));
    let report = verify(&env.changelog(), env.vault_head().await);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 7);
    env.assert_no_secret_leaks();
}
