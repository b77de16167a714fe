//! A lost or corrupted state directory, end to end with the `wardend` binary and OpenBao: the
//! start is refused with the recovery command named; `wardend --recover-state` rebuilds the job
//! state from Vault's rotation markers, starts a new change-log segment citing the head
//! anchored in Vault and the operator's uid, and re-anchors; the daemon then starts, `log
//! verify` passes across the segments and shows the recovery point, and the rotated client is
//! still known as rotated.

use warden_core::protocol::{Request, Response, SecretsRequest};

use crate::common;

use common::rotation::{CLIENT, NO_JOBS, desired_toml, rotate};
use common::{Cfg, Env, send};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `wardenctl log verify` against the daemon: the report and the rendered text.
async fn log_verify(env: &Env) -> (warden_core::changelog::VerifyReport, String) {
    let Response::LogVerify(report) = send(&env.socket(), Request::LogVerify).await else {
        panic!("log verify failed");
    };
    let out = std::process::Command::new(common::wardenctl())
        .arg("--socket")
        .arg(env.socket())
        .args(["log", "verify"])
        .env_remove("WARDEN_SOCKET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
    (report, text(&out.stdout))
}

/// The state of `client` of instance alpha in the `secrets` report and when it was rotated
/// (the report reads Vault's markers).
async fn secret_state(env: &Env, client: &str) -> String {
    let Response::Report(report) = send(
        &env.socket(),
        Request::Secrets(SecretsRequest { instance: None }),
    )
    .await
    else {
        panic!("secrets failed");
    };
    let doc: warden_core::rotation::SecretsDocument =
        report.body.decode().expect("a warden.secrets/1 document");
    let row = doc
        .secrets
        .iter()
        .find(|r| r.instance == "alpha" && r.client == client)
        .unwrap_or_else(|| panic!("no {client} in {:?}", doc.secrets));
    let rotated = row
        .rotated_at
        .map_or_else(|| "never rotated".to_string(), |t| t.to_rfc3339());
    format!("{} {rotated}", row.state)
}

/// Starting is refused (exit 2) naming the recovery command; the recovery then succeeds.
async fn refused_then_recovered(env: &Env) -> String {
    let out = env.run_to_exit(&[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let command = format!(
        "wardend --config {} --recover-state",
        env.config_path().display()
    );
    assert!(
        stderr.contains(&command),
        "the recovery command is not named: {stderr}"
    );
    let out = env.run_to_exit(&["--recover-state"]).await;
    assert!(
        out.status.success(),
        "recovery failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_corrupted_state_directory_is_rebuilt_from_vault() {
    let env = Env::start(&["alpha"]).await;
    env.add_managed_client("alpha", CLIENT).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let mut daemon = env.start_wardend(None).await;
    let Response::Rotated(_) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("rotation failed");
    };
    let rotated_state = secret_state(&env, CLIENT).await;
    assert!(!rotated_state.contains("never"), "{rotated_state}");
    daemon.stop_cleanly().await;
    let anchored = env
        .vault_head()
        .await
        .expect("the head is anchored in vault");

    // 1. the state directory lost
    std::fs::remove_dir_all(env.state_dir()).unwrap();
    let out = refused_then_recovered(&env).await;
    assert!(
        out.contains(&format!(
            "continuing from the head anchored in vault (seq {}, hash {})",
            anchored.seq, anchored.hash
        )),
        "{out}"
    );
    assert!(out.contains("1 rotation job(s)"), "{out}");
    let reanchored = env.vault_head().await.unwrap();
    assert_eq!(reanchored.seq, anchored.seq + 1, "not re-anchored");
    let records = env.records();
    let first = &records[0];
    assert_eq!(first["action"], "recover");
    assert_eq!(first["seq"].as_u64(), Some(anchored.seq + 1));
    assert_eq!(first["prev"], anchored.hash.as_str());
    assert_eq!(first["actor"]["uid"], nix::unistd::getuid().as_raw());
    assert_eq!(
        first["after"]["continues_from"]["hash"],
        anchored.hash.as_str()
    );

    let mut daemon = env.start_wardend(None).await;
    // a recovery while the daemon runs is refused before anything is touched
    let out = env.run_to_exit(&["--recover-state"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already running"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        env.log_text()
            .contains("change log verified across segments: recovery point")
    );
    let (report, shown) = log_verify(&env).await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.recovery_points.len(), 1, "{report}");
    assert_eq!(
        report.recovery_points[0].continues_from.as_ref(),
        Some(&anchored)
    );
    assert!(
        report.recovery_points[0]
            .previous
            .contains("lost with the state directory"),
        "{report}"
    );
    assert!(
        shown.contains(&format!("recovery point at seq {}", anchored.seq + 1)),
        "{shown}"
    );
    // the job state rebuilt from the markers: the rotation job ran when the client rotated
    let status = common::status(&env.socket()).await;
    let rotation = status.instances[0]
        .jobs
        .iter()
        .find(|j| j.kind == warden_core::protocol::JobKind::Rotate && j.target.is_none())
        .expect("the rotation job");
    assert!(rotation.last_success.is_some(), "{status:?}");
    assert_eq!(secret_state(&env, CLIENT).await, rotated_state);
    daemon.stop_cleanly().await;

    // 2. the state directory corrupted: the job state and the local anchor are garbage
    let anchored = env.vault_head().await.unwrap();
    std::fs::write(env.state_dir().join("jobs.json"), b"\x00garbage{").unwrap();
    std::fs::write(env.head_file(), b"not an anchor").unwrap();
    let out = refused_then_recovered(&env).await;
    assert!(out.contains("kept for investigation"), "{out}");
    let kept: Vec<_> = std::fs::read_dir(env.state_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".before-recovery-"))
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    let mut daemon = env.start_wardend(None).await;
    let (report, shown) = log_verify(&env).await;
    assert!(report.is_ok(), "{report}");
    // the earlier segment is still there: verified against the head the recovery cites
    let point = &report.recovery_points[0];
    assert_eq!(point.continues_from.as_ref(), Some(&anchored));
    assert!(point.previous.starts_with("ok: "), "{}", point.previous);
    assert!(
        point.previous.contains("matches the head anchor"),
        "{}",
        point.previous
    );
    // and the segment before it (the first recovery) is shown in turn
    assert!(
        point.previous.contains("recovery point at seq"),
        "{}",
        point.previous
    );
    assert!(shown.contains("recovery point at seq"), "{shown}");
    assert_eq!(secret_state(&env, CLIENT).await, rotated_state);
    daemon.stop_cleanly().await;

    // 3. the change log itself damaged (a line of garbage appended): refused, recovered; the
    // damaged file is kept aside and its check is reported, the new segment verifies
    let anchored = env.vault_head().await.unwrap();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(env.changelog())
        .unwrap();
    std::io::Write::write_all(&mut log, b"{\"seq\": garbage}\n").unwrap();
    drop(log);
    refused_then_recovered(&env).await;
    let _daemon = env.start_wardend(None).await;
    let (report, _) = log_verify(&env).await;
    assert!(report.is_ok(), "{report}");
    let point = &report.recovery_points[0];
    assert_eq!(point.continues_from.as_ref(), Some(&anchored));
    assert!(point.previous.starts_with("FAILED"), "{}", point.previous);
    assert!(point.previous.contains("malformed"), "{}", point.previous);
    assert_eq!(secret_state(&env, CLIENT).await, rotated_state);
    env.assert_no_secret_leaks();
}

/// `daemon.id` replaces the implicit id: the change log's key and head anchor are kept under
/// it, whatever the host name and state path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_daemon_id_names_the_key_and_the_anchor() {
    let env = Env::start_memory(&["alpha"]).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    cfg.daemon_extra = "id = \"ops1.example.com-pinned\"".into();
    let mut daemon = env.start_daemon(&cfg).await;
    daemon.stop_cleanly().await;
    let paths = env.memory().unwrap().paths();
    for p in [
        "_warden/changelog-key/ops1.example.com-pinned",
        "_warden/changelog-head/ops1.example.com-pinned",
    ] {
        assert!(paths.iter().any(|x| x == p), "{p} not in {paths:?}");
    }
    assert!(
        !paths
            .iter()
            .any(|x| x.starts_with("_warden/changelog-key/") && !x.ends_with("-pinned")),
        "an implicit id was used too: {paths:?}"
    );
}
