//! Several `wardend` sharing one fleet through OpenBao (`[cluster]`): the instances are spread
//! evenly, a changing request sent to the wrong daemon names the one holding the instance, a
//! daemon that stops cleanly hands its instances over at once, and one that is killed loses
//! them once its heartbeat lapses, with the fencing counters raised. The rotation scenarios
//! (killed mid-rotation, paused past the lease) and the three-daemon drill (30 instances, the
//! Vault leader stopped, a daemon killed and restarted) run on a real 3-node OpenBao Raft
//! cluster on loopback. Short leases (9 s) keep the waits short; every wait has the suite's
//! deadline.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::rotation::{CLIENT, JOB_AT_START, Managed, NO_JOBS, desired_toml, token_status};
use common::{Cfg, Env, send, status, wait_for};
use nix::sys::signal::Signal;
use warden_core::protocol::{ClusterStatus, ErrorCode, Request, Response, RotateRequest};

const CLUSTER: &str =
    "[cluster]\nlease_ttl = \"9s\"\nrenew_every = \"2s\"\nmax_clock_skew = \"0s\"";

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
/// sets. On a timeout the message shows what each daemon held and saw last.
async fn spread(sockets: &[&Path], sizes: &[usize]) -> Vec<BTreeSet<String>> {
    let started = warden_core::clock::instant();
    let expected: usize = sizes.iter().sum();
    loop {
        let mut sets = Vec::new();
        let mut views = Vec::new();
        for s in sockets {
            let view = cluster(s).await;
            sets.push(
                view.held
                    .iter()
                    .map(|h| h.instance.clone())
                    .collect::<BTreeSet<_>>(),
            );
            views.push(view);
        }
        let all: BTreeSet<&String> = sets.iter().flatten().collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let sized = sets.iter().map(BTreeSet::len).eq(sizes.iter().copied());
        if sized && total == expected && all.len() == expected {
            return sets;
        }
        if started.elapsed() > common::DEADLINE {
            let seen: Vec<String> = views
                .iter()
                .map(|v| {
                    format!(
                        "{}: holds {}, heartbeat {}, error {:?}, members {:?}",
                        v.daemon,
                        v.held.len(),
                        v.heartbeat_stands,
                        v.last_error,
                        v.members
                            .iter()
                            .map(|m| (m.daemon.as_str(), m.live, m.instances))
                            .collect::<Vec<_>>()
                    )
                })
                .collect();
            panic!(
                "timed out waiting for the fleet spread as {sizes:?}:\n{}",
                seen.join("\n")
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A 3-node Raft cluster with `alpha`, one declared client never rotated (due at once) and
/// the rotation job at start, in a clustered config (not started).
async fn one_due_client_on_raft() -> (Env, Managed, Cfg) {
    let env = Env::start_raft(3, &["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = JOB_AT_START.into();
    cfg.tables = CLUSTER.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    (env, client, cfg)
}

/// The client's latest secret in Vault, the one consumers read, gets a Jamf token.
async fn assert_latest_secret_works(env: &Env, client: &Managed) {
    let url = env.instance("alpha").url.clone();
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().expect("a version in Vault");
    assert_eq!(token_status(&url, id, secret).await, 200);
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
    let (env, client, cfg) = one_due_client_on_raft().await;
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
    assert_latest_secret_works(&env, &client).await;
}

/// A daemon killed (SIGKILL) mid-rotation, with the new secret stored but not yet verified:
/// the other daemon takes the instance once the heartbeat lapsed and finishes the rotation by
/// verifying that secret, without minting again; consumers get a token with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_rotation_has_it_finished_by_the_daemon_taking_over() {
    let (env, client, cfg) = one_due_client_on_raft().await;
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
    assert_latest_secret_works(&env, &client).await;
}

/// Issue 17's drill on a real 3-node OpenBao Raft cluster: three daemons, 30 instances, each
/// with a client due for rotation. The fleet is spread 10/10/10 and every due client is
/// rotated exactly once; the Vault leader is stopped and, after the election, heartbeats stand
/// and a rotation goes through; a daemon is SIGKILLed and its instances are spread over the
/// other two; restarted (same state, same id), it takes its share back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_on_a_raft_cluster_through_a_leader_change_a_kill_and_a_restart() {
    let names: Vec<String> = (1..=30).map(|i| format!("site{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut env = Env::start_raft(3, &refs).await;
    let mut clients = Vec::new();
    for name in &refs {
        clients.push(env.add_managed_client(name, CLIENT).await);
        env.mark_management_rotated(name).await;
    }
    let mut cfg = Cfg::new(&refs);
    cfg.schedules = JOB_AT_START.into();
    cfg.tables = CLUSTER.into();
    // 30 rotations at start: the default of 10 a minute would keep instances busy (a running
    // job keeps its instance) for three minutes
    cfg.daemon_extra = "max_rotations_per_minute = 600".into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let first = env.start_wardend(None).await;
    let second = env.start_second_daemon(&cfg, "second").await;
    let third = env.start_second_daemon(&cfg, "third").await;
    let sockets = [
        first.socket.clone(),
        second.socket.clone(),
        third.socket.clone(),
    ];
    let all: Vec<&Path> = sockets.iter().map(|p| p.as_path()).collect();
    spread(&all, &[10, 10, 10]).await;

    // every due client rotated exactly once, wherever its instance went meanwhile
    for c in &clients {
        env.wait_vault_state(&c.vault_path, "ok").await;
    }
    let mints: u64 = refs.iter().map(|n| env.mints(n)).sum();
    assert_eq!(mints, 30, "one mint per due client");

    // the Vault leader stops; after the election heartbeats stand and rotations go through
    let before = env.bao().leader_addr().await.unwrap();
    let after = env.bao_mut().stop_leader().await.unwrap();
    assert_ne!(before, after);
    for socket in &all {
        wait_for("heartbeats renewed after the election", async || {
            let view = cluster(socket).await;
            (view.heartbeat_stands
                && view.last_error.is_none()
                && view.members.iter().filter(|m| m.live).count() == 3)
                .then_some(())
        })
        .await;
    }
    let sets = spread(&all, &[10, 10, 10]).await;
    let target = sets[0].iter().next().unwrap().clone();
    let out = common::audit::ctl(
        &env,
        &first.socket,
        &["rotate", &format!("{target}/{CLIENT}"), "--yes"],
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(
        env.mints(&target),
        2,
        "rotated again after the leader change"
    );

    // SIGKILL one daemon: the two others hold the 30 between them, 15 each
    let mut third = third;
    third.signal(Signal::SIGKILL);
    let _ = third.wait_exit().await;
    spread(&all[..2], &[15, 15]).await;

    // restarted with the same state (same daemon id), it takes its share back
    let third = env.start_second_daemon(&cfg, "third").await;
    let all = [all[0], all[1], third.socket.as_path()];
    spread(&all, &[10, 10, 10]).await;
    let mints: u64 = refs.iter().map(|n| env.mints(n)).sum();
    assert_eq!(mints, 31, "no rotation repeated by a handover");
}
