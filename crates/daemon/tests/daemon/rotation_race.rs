//! Two `wardend`s run by mistake against the same Vault prefix and Jamf instance (separate
//! state directories and sockets, so separate daemon ids), both told to rotate the same client
//! at the same moment: the lock in Vault lets exactly one mint; the other answers `conflict`
//! naming the holder and records a failed rotation that minted nothing; the secret in Vault
//! works; once the lock is released, the other daemon can rotate.

use crate::common;

use std::time::Duration;

use common::rotation::{
    CLIENT, NO_JOBS, desired_toml, error_of, rotate, rotate_records, token_status,
};
use common::{Cfg, Env, read_records};
use jamf_sim::FaultRule;
use nix::sys::signal::Signal;
use warden_core::changelog::verify;
use warden_core::protocol::{ErrorCode, Response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_rotating_one_client_mint_once() {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    let url = env.instance("alpha").url.clone();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let mut a = env.start_wardend(None).await;
    let mut b = env.start_second_daemon(&cfg, "b").await;
    let b_dir = env.path("b");

    // A slow mint keeps the winner inside its rotation while the other one asks for the lock.
    env.instance("alpha")
        .sim
        .add_fault(FaultRule::latency(
            "POST /api/v1/api-integrations/{id}/client-credentials",
            Duration::from_secs(2),
        ))
        .unwrap();
    let (ra, rb) = tokio::join!(
        rotate(&a.socket, "alpha", CLIENT),
        rotate(&b.socket, "alpha", CLIENT)
    );
    let (winner, loser, loser_log, winner_log) = match (&ra, &rb) {
        (Response::Rotated(w), Response::Error { .. }) => {
            (w, &rb, b_dir.join("state/changelog.jsonl"), env.changelog())
        }
        (Response::Error { .. }, Response::Rotated(w)) => {
            (w, &ra, env.changelog(), b_dir.join("state/changelog.jsonl"))
        }
        other => panic!("expected one rotation and one refusal, got {other:?}"),
    };
    env.instance("alpha").sim.clear_faults();
    assert_eq!(env.mints("alpha"), 1, "both daemons minted");

    // The loser names the daemon that holds the rotation: the one in the marker.
    let meta = env.vault_metadata(&client.vault_path).await;
    let holder = meta["custom_metadata"]["daemon"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, message) = error_of(loser);
    assert_eq!(code, ErrorCode::Conflict, "{message}");
    assert!(
        message.contains(&format!("in progress in daemon {holder}")),
        "{message}"
    );

    // The winner's secret is the one in Vault, and it works; the first one is dead.
    assert_eq!(meta["custom_metadata"]["state"], "ok");
    assert_eq!(winner.vault_version, 2);
    let versions = env.vault_versions(&client.vault_path).await;
    assert_eq!(versions.len(), 2);
    assert_eq!(
        token_status(&url, &client.client_id, &versions[1].2).await,
        200
    );
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        401
    );

    // Each change log tells its side: the loser minted nothing.
    let lost = read_records(&loser_log);
    assert_eq!(
        rotate_records(&lost),
        [
            (CLIENT.to_string(), "started".to_string()),
            (CLIENT.to_string(), "failed".to_string())
        ]
    );
    let failed = lost.last().unwrap();
    assert_eq!(failed["after"]["minted"], false, "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains(&holder),
        "{failed}"
    );
    let won = read_records(&winner_log);
    assert_eq!(
        rotate_records(&won),
        [
            (CLIENT.to_string(), "started".to_string()),
            (CLIENT.to_string(), "ok".to_string())
        ]
    );

    // The lock was released: the daemon that lost can rotate now.
    let again = rotate(
        if std::ptr::eq(loser, &ra) {
            &a.socket
        } else {
            &b.socket
        },
        "alpha",
        CLIENT,
    )
    .await;
    let Response::Rotated(again) = again else {
        panic!("the second rotation answered {again:?}");
    };
    assert_eq!(again.vault_version, 3);
    assert_eq!(env.mints("alpha"), 2);
    let versions = env.vault_versions(&client.vault_path).await;
    assert_eq!(
        token_status(&url, &client.client_id, &versions[2].2).await,
        200
    );
    assert_eq!(
        token_status(&url, &client.client_id, &versions[1].2).await,
        401
    );

    for (d, log, head) in [
        (&mut a, env.changelog(), env.head_file()),
        (
            &mut b,
            b_dir.join("state/changelog.jsonl"),
            b_dir.join("state/changelog.jsonl.head"),
        ),
    ] {
        d.signal(Signal::SIGTERM);
        assert_eq!(d.wait_exit().await.code(), Some(0));
        let head = serde_json::from_str(&std::fs::read_to_string(head).unwrap()).unwrap();
        let report = verify(&log, Some(head));
        assert!(report.is_ok(), "{report}");
    }

    let mut secrets = env.standing_secrets("alpha").await;
    for (_, _, s) in versions {
        secrets.push(("a client secret", s));
    }
    let mut files = env.daemon_files();
    files.push(b_dir);
    env.assert_absent_from(&files, &secrets);
}
