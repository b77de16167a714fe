//! Several `wardend` sharing one fleet through one OpenBao (`[cluster]`): the instances are
//! spread evenly, a changing request sent to the wrong daemon names the one holding the
//! instance, a daemon that stops cleanly hands its instances over at once, and one that is
//! killed loses them once its heartbeat lapses, with the fencing counters raised. Short leases
//! (3 s) keep the waits short; every wait has the suite's deadline.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::rotation::{CLIENT, JOB_AT_START, NO_JOBS, desired_toml, token_status};
use common::{Cfg, Env, send, status, wait_for};
use nix::sys::signal::Signal;
use warden_core::protocol::{ClusterStatus, ErrorCode, Request, Response, RotateRequest};

const CLUSTER: &str =
    "[cluster]\nlease_ttl = \"3s\"\nrenew_every = \"1s\"\nmax_clock_skew = \"0s\"";

const NAMES: [&str; 6] = ["site1", "site2", "site3", "site4", "site5", "site6"];

/// The daemon's view of the cluster.
async fn cluster(socket: &Path) -> ClusterStatus {
    *status(socket)
        .await
        .cluster
        .expect("a clustered daemon shows the cluster")
}

/// The instances a daemon holds.
async fn held(socket: &Path) -> BTreeSet<String> {
    cluster(socket)
        .await
        .held
        .into_iter()
        .map(|h| h.instance)
        .collect()
}

/// Waits until the daemons at `sockets` hold disjoint sets of `sizes` instances; returns the
/// sets.
async fn spread(sockets: &[&Path], sizes: &[usize]) -> Vec<BTreeSet<String>> {
    let what = format!("the fleet spread as {sizes:?}");
    wait_for(&what, async || {
        let mut sets = Vec::new();
        for s in sockets {
            sets.push(held(s).await);
        }
        let all: BTreeSet<String> = sets.iter().flatten().cloned().collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let sized = sets.iter().map(BTreeSet::len).eq(sizes.iter().copied());
        let expected: usize = sizes.iter().sum();
        (sized && total == expected && all.len() == expected).then_some(sets)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_share_the_fleet_and_take_over_a_stopped_or_killed_daemons_instances() {
    let env = Env::start(&NAMES).await;
    let mut cfg = Cfg::new(&NAMES);
    cfg.schedules = NO_JOBS.into();
    cfg.tables = CLUSTER.into();
    env.write_rotation_config(&cfg, "version = 1\n");
    let first = env.start_wardend(None).await;
    let mut second = env.start_second_daemon(&cfg, "second").await;

    // even: three each, every instance held once
    let sets = spread(&[&first.socket, &second.socket], &[3, 3]).await;
    let view = cluster(&first.socket).await;
    assert!(view.heartbeat_stands);
    assert_eq!(view.members.iter().filter(|m| m.live).count(), 2);
    let second_id = cluster(&second.socket).await.daemon;
    assert_ne!(view.daemon, second_id, "each daemon its own id");

    // a change to an instance the other daemon holds is refused here, naming that daemon
    let theirs = sets[1].iter().next().unwrap().clone();
    let answer = send(
        &first.socket,
        Request::Rotate(RotateRequest {
            instance: theirs.clone(),
            client: "Anything".into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: false,
        }),
    )
    .await;
    match answer {
        Response::Error { code, message } => {
            assert_eq!(code, ErrorCode::Conflict);
            assert!(
                message.contains(&second_id) && message.contains(&theirs),
                "{message}"
            );
        }
        other => panic!("expected a refusal naming the holder, got {other:?}"),
    }
    // `wardenctl status` on either daemon lists the cluster
    let text = common::text(&common::audit::ctl(&env, &first.socket, &["status"]).stdout);
    assert!(text.contains("cluster: 2 live daemon(s)"), "{text}");
    assert!(text.contains("held here (3)"), "{text}");

    // a clean stop hands the instances over without waiting for the lease
    second.stop_cleanly().await;
    spread(&[&first.socket], &[6]).await;

    // a third daemon joins and takes its share; killed, its instances come back with the
    // fencing counter raised once its heartbeat lapsed
    let mut third = env.start_second_daemon(&cfg, "third").await;
    let sets = spread(&[&first.socket, &third.socket], &[3, 3]).await;
    let before = cluster(&third.socket).await.held;
    third.signal(Signal::SIGKILL);
    let _ = third.wait_exit().await;
    spread(&[&first.socket], &[6]).await;
    let after = cluster(&first.socket).await.held;
    for lease in before {
        let now = after
            .iter()
            .find(|h| h.instance == lease.instance)
            .expect("taken over");
        assert!(
            now.fence > lease.fence,
            "{}: fence {} after {}",
            lease.instance,
            now.fence,
            lease.fence
        );
        assert!(sets[1].contains(&lease.instance));
    }
}

/// A daemon paused (SIGSTOP) in the middle of a rotation, right before the mint, and kept
/// stopped past its lease: the other daemon takes the instance, takes over the interrupted
/// rotation (its marker and lock carry the old fencing counter) and finishes it with one mint.
/// Resumed (SIGCONT), the paused daemon's rotation stops at the lease check: it mints nothing,
/// holds nothing, and the secret in Vault works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_paused_past_its_lease_mints_nothing_when_it_resumes() {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = JOB_AT_START.into();
    cfg.tables = CLUSTER.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let resume = env.path("resume");
    let mut paused = env.spawn(
        &[],
        &[
            ("WARDEN_TEST_PAUSE_AT", "mint"),
            ("WARDEN_TEST_RESUME_FILE", resume.to_str().unwrap()),
        ],
    );
    paused.wait_ready().await;
    env.wait_log_line(&["test hook: paused at step mint"]).await;
    let paused_id = cluster(&paused.socket).await.daemon;
    paused.signal(Signal::SIGSTOP);

    // the other daemon takes alpha once the paused one's heartbeat lapsed, and finishes the
    // rotation: nothing had been minted, so it mints once
    let second = env.start_second_daemon(&cfg, "second").await;
    spread(&[&second.socket], &[1]).await;
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert_eq!(env.mints("alpha"), 1);

    // resumed: the paused rotation reaches the lease check and stops before the mint
    std::fs::write(&resume, "").unwrap();
    paused.signal(Signal::SIGCONT);
    let line = env.wait_log_line(&["no longer holds instance alpha"]).await;
    assert!(line.contains("nothing was minted"), "{line}");
    assert_eq!(env.mints("alpha"), 1, "the resumed daemon minted nothing");
    let held_there = held(&paused.socket).await;
    assert!(held_there.is_empty(), "it holds {held_there:?}");
    // it renews its heartbeat again, and the other daemon sees it live
    wait_for("the resumed daemon live again", async || {
        let view = cluster(&second.socket).await;
        view.members
            .iter()
            .any(|m| m.daemon == paused_id && m.live)
            .then_some(())
    })
    .await;
    // alpha is held by exactly one of them (the assignment may hand it back to the resumed
    // daemon; never to both)
    let a = held(&paused.socket).await;
    let b = held(&second.socket).await;
    assert!(a.len() + b.len() <= 1, "{a:?} and {b:?}");

    // the secret consumers read from Vault works
    let url = env.instance("alpha").url.clone();
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().expect("a rotated version");
    assert_eq!(token_status(&url, id, secret).await, 200);
}

/// A daemon killed (SIGKILL) mid-rotation, with the new secret stored but not yet verified:
/// the other daemon takes the instance once the heartbeat lapsed and finishes the rotation by
/// verifying that secret, without minting again; consumers get a token with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_rotation_has_it_finished_by_the_daemon_taking_over() {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = JOB_AT_START.into();
    cfg.tables = CLUSTER.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let mut killed = env.spawn(&[], &[("WARDEN_TEST_PAUSE_AT", "verify")]);
    killed.wait_ready().await;
    env.wait_log_line(&["test hook: paused at step verify"])
        .await;
    assert_eq!(env.mints("alpha"), 1);
    killed.signal(Signal::SIGKILL);
    let _ = killed.wait_exit().await;

    let second = env.start_second_daemon(&cfg, "second").await;
    spread(&[&second.socket], &[1]).await;
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert_eq!(env.mints("alpha"), 1, "verified, not minted again");
    let url = env.instance("alpha").url.clone();
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().expect("the stored version");
    assert_eq!(token_status(&url, id, secret).await, 200);
}
