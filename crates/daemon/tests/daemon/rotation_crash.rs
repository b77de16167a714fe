//! The real `wardend` killed (SIGKILL) in the middle of a rotation, at each of the six steps,
//! then restarted on the same configuration and state without the pause hook: the rotation is
//! finished (or redone) so that Vault's latest secret works, a secret Jamf invalidated is
//! rejected, Jamf minted exactly as often as the protocol says, the change log verifies and
//! tells what happened (including why recovery did what it did), and no secret leaked.
//!
//! Plus a graceful stop during a rotation paused between mint and store: the daemon closes its
//! socket but never exits there, not even on a second stop signal.

use crate::common;

use common::rotation::{CLIENT, JOB_AT_START, Managed, desired_toml, token_status};
use common::{Cfg, Daemon, Env};
use nix::sys::signal::Signal;
use serde_json::Value;
use warden_core::changelog::verify;
use warden_core::protocol::connect;

/// What the protocol implies after a kill at one step.
struct Expect {
    step: &'static str,
    /// Mints Jamf saw before the kill.
    minted_before_kill: u64,
    /// Mints in all, after recovery.
    mints: u64,
    /// Who finished the rotation after the restart: `daemon` (start-up recovery of an
    /// interrupted rotation) or `schedule` (the rotation job, which found nothing interrupted
    /// and rotated the still-due client itself).
    finished_by: &'static str,
    /// The `action` of the final `rotate ok` record.
    action: &'static str,
    /// A piece of its recovery reason (`None`: not a recovery).
    recovery: Option<&'static str>,
}

const LOST: &str = "never stored its secret, which may have been minted and lost: rotated again";
const UNVERIFIED: &str = "was stored but not verified: verified it";

fn expect(step: &'static str) -> Expect {
    let (minted_before_kill, mints, finished_by, action, recovery) = match step {
        // nothing changed yet: the job rotates the client (still due) as if for the first time
        "preflight" | "intent" => (0, 1, "schedule", "rotated", None),
        // `pending` and nothing minted yet: recovery mints (no extra mint)
        "mint" => (0, 1, "daemon", "rotated", Some(LOST)),
        // minted, not stored: the secret is lost and the old one dead: recovery mints again
        "store" => (1, 2, "daemon", "rotated", Some(LOST)),
        // stored (not yet verified / not finalized): recovery verifies it, no mint
        "verify" | "finalize" => (1, 1, "daemon", "verified", Some(UNVERIFIED)),
        other => panic!("no step {other}"),
    };
    Expect {
        step,
        minted_before_kill,
        mints,
        finished_by,
        action,
        recovery,
    }
}

/// One instance, one declared client never rotated by Warden (its first secret in Vault as
/// version 1), the management secret marked as just rotated, the rotation job due at start.
async fn setup() -> (Env, Managed) {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = JOB_AT_START.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    (env, client)
}

/// Starts with the hook at `step` and waits until the start-up job's rotation is paused there.
async fn paused_at(env: &Env, step: &str) -> Daemon {
    let daemon = env.start_wardend(Some(step)).await;
    env.wait_log_line(&[&format!("test hook: paused at step {step}")])
        .await;
    daemon
}

/// The secret Jamf holds for the client now.
fn live_secret(env: &Env, client: &Managed) -> String {
    let c = env.instance("alpha").sim.client(client.id).unwrap();
    c.client_secret.expect("the client has a secret")
}

/// `action outcome [object actor]` of each record, for comparing whole logs.
fn summary(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let mut s = format!(
                "{} {}",
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            );
            if r["action"] == "rotate" {
                s.push_str(&format!(
                    " {} by {}",
                    r["object"]["name"].as_str().unwrap(),
                    r["actor"]["kind"].as_str().unwrap()
                ));
            }
            s
        })
        .collect()
}

/// Restarts without the hook, waits until the rotation is finished and the daemon is idle,
/// stops it gracefully, and checks everything `e` says.
async fn check_recovery(env: &Env, client: &Managed, e: &Expect, lost: Option<String>) {
    let url = env.instance("alpha").url.clone();
    let mut daemon = env.start_wardend(None).await;
    env.wait_vault_state(&client.vault_path, "ok").await;
    env.wait_rotation_job_done(&env.socket()).await;
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit().await.code(), Some(0), "{}", e.step);

    // Jamf minted exactly what the protocol implies.
    assert_eq!(
        env.mints("alpha"),
        e.mints,
        "mints after a kill at {}",
        e.step
    );

    // Vault: version 1 (the operator's) and the rotated version 2, which works; the rest is dead.
    let versions = env.vault_versions(&client.vault_path).await;
    assert_eq!(
        versions.len(),
        2,
        "{}: {:?}",
        e.step,
        versions.iter().map(|v| v.0).collect::<Vec<_>>()
    );
    let (_, id, secret) = &versions[1];
    assert_eq!(id, &client.client_id);
    assert_eq!(
        token_status(&url, id, secret).await,
        200,
        "{}: latest secret",
        e.step
    );
    assert_eq!(
        live_secret(env, client),
        *secret,
        "{}: Jamf's secret is Vault's",
        e.step
    );
    assert_eq!(versions[0].2, client.initial_secret);
    assert_eq!(
        token_status(&url, id, &client.initial_secret).await,
        401,
        "{}: old secret",
        e.step
    );
    if let Some(lost) = &lost {
        assert_ne!(lost, secret);
        assert_eq!(
            token_status(&url, id, lost).await,
            401,
            "{}: lost secret",
            e.step
        );
    }
    let meta = env.vault_metadata(&client.vault_path).await;
    assert_eq!(
        meta["custom_metadata"]["version"], "2",
        "{}: {meta}",
        e.step
    );
    // The management secret was left alone.
    assert_eq!(
        env.vault_metadata("instances/alpha/management").await["current_version"],
        1
    );

    // The change log: one chain; the killed run's `started` has no end; the restarted run's
    // records say who finished the rotation and why.
    let report = verify(&env.changelog(), env.file_head());
    assert!(report.is_ok(), "{}: {report}", e.step);
    assert_eq!(
        env.vault_head().await,
        env.file_head(),
        "{}: vault head",
        e.step
    );
    let records = env.records();
    let mut wanted = vec![
        "start ok",
        "rotate started Inventory Sync by schedule",
        "start ok",
    ];
    if e.finished_by == "schedule" {
        wanted.push("rotate started Inventory Sync by schedule");
    }
    let ok = format!("rotate ok Inventory Sync by {}", e.finished_by);
    wanted.extend([ok.as_str(), "stop ok"]);
    assert_eq!(summary(&records), wanted, "{}", e.step);
    let after = &records[records.len() - 2]["after"];
    assert_eq!(after["action"], e.action, "{}: {after}", e.step);
    assert_eq!(after["version"], 2, "{}: {after}", e.step);
    assert_eq!(after["client_id"], client.client_id.as_str());
    match e.recovery {
        Some(reason) => {
            let got = after["recovery"].as_str().unwrap_or_default();
            assert!(got.contains(reason), "{}: recovery {got:?}", e.step);
        }
        None => assert!(after["recovery"].is_null(), "{}: {after}", e.step),
    }

    // No secret anywhere the daemon writes.
    let mut secrets = env.standing_secrets("alpha").await;
    for (v, _, s) in &versions {
        secrets.push((
            if *v == 1 {
                "the first secret"
            } else {
                "the rotated secret"
            },
            s.clone(),
        ));
    }
    if let Some(lost) = lost {
        secrets.push(("the lost secret", lost));
    }
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

async fn kill_at(step: &'static str) {
    let e = expect(step);
    let (env, client) = setup().await;
    let mut daemon = paused_at(&env, step).await;
    // What Jamf holds while paused: after a mint it is the new secret, lost once killed at store.
    let live = live_secret(&env, &client);
    daemon.kill_hard().await;
    assert_eq!(
        env.mints("alpha"),
        e.minted_before_kill,
        "mints before the kill at {step}"
    );
    let lost = (step == "store").then_some(live);
    check_recovery(&env, &client, &e, lost).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_preflight() {
    kill_at("preflight").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_intent() {
    kill_at("intent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_mint() {
    kill_at("mint").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_store_the_lost_secret_is_replaced() {
    kill_at("store").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_verify_the_stored_secret_is_verified_not_reminted() {
    kill_at("verify").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_finalize_the_stored_secret_is_verified_not_reminted() {
    kill_at("finalize").await;
}

/// SIGTERM while a rotation holds a freshly minted secret that is not stored yet: the daemon
/// stops taking requests but does not exit, and a second SIGTERM (which cancels other jobs)
/// does not make it abandon the secret either. Killed there, recovery replaces the lost secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_never_abandons_a_minted_secret() {
    let e = expect("store");
    let (env, client) = setup().await;
    let mut daemon = paused_at(&env, "store").await;
    let live = live_secret(&env, &client);

    daemon.signal(Signal::SIGTERM);
    env.wait_log_line(&["stopping: no new connections"]).await;
    common::wait_for("the socket to refuse new connections", async || {
        connect(&env.socket()).await.is_err().then_some(())
    })
    .await;
    // The second signal cancels other jobs; the stop then waits for the rotation and says so.
    daemon.signal(Signal::SIGTERM);
    common::wait_for(
        "the stop to wait for the rotation (or wardend to exit)",
        async || {
            let waiting = env
                .log_text()
                .contains("waiting for the rotation in progress");
            (waiting || !daemon.is_running()).then_some(())
        },
    )
    .await;
    // ... and stays there: a stop that did not wait would exit within moments.
    for _ in 0..20 {
        assert!(
            daemon.is_running(),
            "wardend exited between minting and storing a secret"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        env.records().iter().all(|r| r["action"] != "stop"),
        "a stop record was written while a rotation was in progress"
    );

    daemon.kill_hard().await;
    assert_eq!(env.mints("alpha"), 1);
    check_recovery(&env, &client, &e, Some(live)).await;
}
