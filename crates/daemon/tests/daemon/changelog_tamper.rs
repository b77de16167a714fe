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

/// What an attacker who can write the state directory computes: the line of a record chained
/// after `prev_line` (right `seq`, right `prev`, right SHA-256), with `mac` as given (none, a
/// guess under another key, or one copied from a genuine record).
fn forge_after(prev_line: &str, mac: Forged<'_>) -> (String, Head) {
    use sha2::{Digest, Sha256};
    let prev: serde_json::Value = serde_json::from_str(prev_line).unwrap();
    let seq = prev["seq"].as_u64().unwrap() + 1;
    let body = format!(
        r#"{{"seq":{seq},"time":"2026-12-01T10:00:00.000000Z","actor":{{"kind":"daemon"}},"instance":"alpha","object":{{"kind":"client","name":"backup","id":"7"}},"action":"rotate","before":null,"after":{{"vault_version":2}},"outcome":"ok","error":null,"prev":"{}"}}"#,
        prev["hash"].as_str().unwrap()
    );
    let mac = match mac {
        Forged::NoMac => None,
        Forged::OtherKey => {
            Some(warden_core::changelog::MacKey::generate().mac_hex(body.as_bytes()))
        }
        Forged::Copied(mac) => Some(mac.to_owned()),
    };
    let mut unhashed = body[..body.len() - 1].to_owned();
    if let Some(mac) = mac {
        unhashed.push_str(&format!(r#","mac":"{mac}""#));
    }
    unhashed.push('}');
    let hash: String = Sha256::digest(unhashed.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let line = format!(r#"{},"hash":"{hash}"}}"#, &unhashed[..unhashed.len() - 1]);
    (line, Head { seq, hash })
}

enum Forged<'a> {
    NoMac,
    OtherKey,
    Copied(&'a str),
}

/// Issue 12 item 7: records appended while wardend was stopped, chained correctly (anyone who
/// can write the file can compute SHA-256), with the local anchor moved along. Every record
/// wardend writes carries an HMAC under a key kept only in Vault, so the start is refused,
/// naming the forged record, and its head never reaches Vault's anchor. A record forged while
/// wardend runs is named by `log verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_records_chained_correctly_are_refused() {
    let env = Env::start(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = "jitter = \"0s\"\ndrift = \"off\"\naudit = \"off\"".into();
    let mut daemon = env.start_daemon(&cfg).await;
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0));

    let original = std::fs::read_to_string(env.changelog()).unwrap();
    let original_head = std::fs::read(env.head_file()).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 2, "start and stop: {original}");
    let genuine: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let genuine_mac = genuine["mac"].as_str().expect("wardend MACs its records");
    let vault_head = env.vault_head().await.expect("anchored in vault");
    assert_eq!(vault_head.seq, 2);
    // The key is in Vault only: nothing in the state directory holds it.
    let key_dir = format!("secret/metadata/{}/_warden/changelog-key", common::PREFIX);
    let keys = env
        .bao()
        .api(
            reqwest::Method::from_bytes(b"LIST").unwrap(),
            &key_dir,
            None,
        )
        .await
        .expect("the MAC key is in vault");
    assert_eq!(keys["data"]["keys"].as_array().map(Vec::len), Some(1));

    for (forged, kind) in [
        (Forged::NoMac, "mac_missing"),
        (Forged::OtherKey, "mac_invalid"),
        (Forged::Copied(genuine_mac), "mac_invalid"),
    ] {
        let (line, head) = forge_after(lines[1], forged);
        write_lines(&env, &[lines[0], lines[1], &line]);
        // The attacker moves the local anchor along too.
        std::fs::write(env.head_file(), serde_json::to_vec(&head).unwrap()).unwrap();
        // Hash and chain are right: without the key, nothing is wrong with the file.
        let unkeyed = verify(&env.changelog(), Some(head.clone()));
        if kind == "mac_invalid" {
            assert!(unkeyed.is_ok(), "{unkeyed}");
        }
        let out = env.run_to_exit(&[]).await;
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "started on a forged log: {stderr}"
        );
        for needle in [
            "cannot open the change log",
            "line 3 (seq 3)",
            kind,
            "restore the log",
        ] {
            assert!(stderr.contains(needle), "{stderr} lacks {needle:?}");
        }
        assert!(!env.socket().exists(), "a refused start left a socket");
        assert_eq!(
            env.vault_head().await,
            Some(vault_head.clone()),
            "the forged head reached vault's anchor"
        );
    }

    // The genuine log starts; a record forged while it runs is named by `log verify`, and the
    // MAC key never appears in the state directory, the logs or the output.
    std::fs::write(env.changelog(), &original).unwrap();
    std::fs::write(env.head_file(), &original_head).unwrap();
    let mut daemon = env.start_daemon(&cfg).await;
    let running = std::fs::read_to_string(env.changelog()).unwrap();
    let last = running.lines().last().unwrap().to_owned();
    let (line, _) = forge_after(&last, Forged::OtherKey);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(env.changelog())
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).unwrap();
    match common::send(&env.socket(), Request::LogVerify).await {
        Response::LogVerify(report) => {
            let problem = report.problem.clone().expect("the forged record is named");
            assert_eq!(
                (problem.kind, problem.seq),
                (ProblemKind::MacInvalid, Some(4)),
                "{report}"
            );
            assert!(report.macs_checked, "{report}");
            assert_eq!(report.records, 3, "{report}");
        }
        other => panic!("log verify answered {other:?}"),
    }
    daemon.signal(Signal::SIGKILL);
    daemon.wait_exit().await;
    let key = env
        .bao()
        .api(
            reqwest::Method::GET,
            &format!(
                "secret/data/{}/_warden/changelog-key/{}",
                common::PREFIX,
                keys["data"]["keys"][0].as_str().unwrap()
            ),
            None,
        )
        .await
        .unwrap();
    let key = key["data"]["data"]["hmac_sha256_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 64);
    for dir in [env.state_dir(), env.log_dir()] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&key),
                "the MAC key is on disk in {}",
                dir.display()
            );
        }
    }
    for file in [env.stdout_file(), env.stderr_file()] {
        assert!(
            !std::fs::read_to_string(file)
                .unwrap_or_default()
                .contains(&key)
        );
    }
    env.assert_no_secret_leaks();
}
