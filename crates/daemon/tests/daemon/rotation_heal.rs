//! Self-healing of interrupted rotations against the real `wardend` (and `wardenctl`), OpenBao
//! and the simulator: Jamf commits a new secret but its answer is lost (503 after the commit,
//! or a hang past the request timeout). The old secret is dead at once; the daemon itself
//! recovers within `daemon.recovery_delay` (seconds here), with no scheduled rotation job and
//! no restart, and `wardenctl rotate --recover` does it on demand. Every message names that
//! command, `secrets` says "recovering", and no secret leaks.

use crate::common;

use std::process::{Command, Output, Stdio};

use common::rotation::{CLIENT, Managed, NO_JOBS, desired_toml, error_of, rotate, token_status};
use common::{Cfg, Daemon, Env, send, text};
use jamf_sim::FaultRule;
use serde_json::Value;
use warden_core::protocol::{Request, Response, SecretsRequest};

const MINT: &str = "POST /api/v1/api-integrations/{id}/client-credentials";

/// One instance, one managed client (its first secret in Vault as version 1), the management
/// secret marked rotated, no scheduled job at all: only the daemon's own recovery (or a
/// request) can heal anything. `daemon_extra` goes into `[daemon]`.
async fn setup(daemon_extra: &str) -> (Env, Managed, Daemon) {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    cfg.daemon_extra = daemon_extra.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let daemon = env.start_wardend(None).await;
    (env, client, daemon)
}

/// The `secrets` report text.
async fn secrets(env: &Env) -> String {
    match send(
        &env.socket(),
        Request::Secrets(SecretsRequest {
            instance: Some("alpha".into()),
        }),
    )
    .await
    {
        Response::Report(r) => warden_core::rotation::render_secrets(
            &r.body.decode().expect("a warden.secrets/1 document"),
        ),
        other => panic!("secrets answered {other:?}"),
    }
}

/// Vault's latest version of the client works for a consumer, is Jamf's secret, and the
/// initial one is dead.
async fn assert_consumer_works(env: &Env, client: &Managed) -> String {
    let url = env.instance("alpha").url.clone();
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().expect("a version").clone();
    assert_eq!(id, client.client_id);
    assert_eq!(token_status(&url, &id, &secret).await, 200, "latest secret");
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        401,
        "the initial secret is dead"
    );
    secret
}

/// Fails if a secret this test saw appears in anything the daemon wrote.
async fn assert_no_leaks(env: &Env, client: &Managed, minted: &[String]) {
    let mut secrets = env.standing_secrets("alpha").await;
    secrets.push(("the initial client secret", client.initial_secret.clone()));
    for s in minted {
        secrets.push(("a minted client secret", s.clone()));
    }
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// The `rotate ok` record written by the daemon's own recovery, with its reason.
fn healed_record(env: &Env) -> Value {
    env.records()
        .into_iter()
        .find(|r| r["action"] == "rotate" && r["outcome"] == "ok" && r["actor"]["kind"] == "daemon")
        .expect("a rotate ok record by the daemon")
}

/// 503 after the commit: the mint happened, its answer was lost. The daemon recovers on its
/// own (no job, no restart): a second mint, stored and verified; `secrets` said "recovering"
/// meanwhile, and the error named `wardenctl rotate --recover`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_mint_answer_is_healed_by_the_daemon() {
    let (env, client, mut daemon) =
        setup("recovery_delay = \"2s\"\nrecovery_max_delay = \"4s\"").await;
    let sim = &env.instance("alpha").sim;
    sim.set_faults([FaultRule::fail_next(MINT, 1, 503).after_commit()])
        .unwrap();

    let (_, message) = error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    assert!(message.contains("answer was lost"), "{message}");
    assert!(
        message.contains("wardenctl rotate --recover 'alpha/Inventory Sync'"),
        "{message}"
    );
    assert!(!message.contains("restart the daemon"), "{message}");
    assert_eq!(env.mints("alpha"), 1);
    let url = env.instance("alpha").url.clone();
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        401,
        "the mint committed: the old secret is dead"
    );
    // Not "due now": the daemon says it is recovering.
    let report = secrets(&env).await;
    assert!(report.contains("recovering"), "{report}");
    assert!(!report.contains(" now\n"), "{report}");

    // Healed without any job or restart.
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert!(daemon.is_running(), "healed by the same process");
    assert_eq!(env.mints("alpha"), 2, "one more mint, no more");
    let secret = assert_consumer_works(&env, &client).await;
    let record = healed_record(&env);
    let reason = record["after"]["recovery"].as_str().unwrap_or_default();
    assert!(reason.contains("rotated again"), "{record}");
    let report = secrets(&env).await;
    assert!(!report.contains("recovering"), "{report}");
    assert_no_leaks(&env, &client, &[secret]).await;
}

/// A hang after the commit, past the request timeout: the same healing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mint_that_hangs_after_the_commit_is_healed_by_the_daemon() {
    let (env, client, mut daemon) =
        setup("recovery_delay = \"1s\"\nrecovery_max_delay = \"2s\"").await;
    let sim = &env.instance("alpha").sim;
    sim.set_faults([FaultRule::hang(MINT, Some(1)).after_commit()])
        .unwrap();
    let (_, message) = error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    assert!(
        message.contains("wardenctl rotate --recover 'alpha/Inventory Sync'"),
        "{message}"
    );
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert!(daemon.is_running());
    assert_eq!(env.mints("alpha"), 2);
    let secret = assert_consumer_works(&env, &client).await;
    assert!(healed_record(&env)["after"]["recovery"].is_string());
    assert_no_leaks(&env, &client, &[secret]).await;
}

/// `wardenctl rotate --recover alpha/CLIENT [--json]` as a process.
fn wardenctl_recover(env: &Env, json: bool) -> Output {
    let mut cmd = Command::new(common::wardenctl());
    cmd.arg("--socket").arg(env.socket());
    if json {
        cmd.arg("--json");
    }
    cmd.args(["rotate", "--recover", &format!("alpha/{CLIENT}")])
        .env_remove("WARDEN_SOCKET")
        .stdin(Stdio::null());
    cmd.output().expect("run wardenctl")
}

/// With the daemon's own recovery an hour away, `wardenctl rotate --recover` heals now and
/// says what it did; a second run finds nothing to recover and mints nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_rotate_recover_heals_now_and_says_what_it_did() {
    let (env, client, _daemon) =
        setup("recovery_delay = \"1h\"\nrecovery_max_delay = \"1h\"").await;
    let sim = &env.instance("alpha").sim;
    sim.set_faults([FaultRule::fail_next(MINT, 1, 503).after_commit()])
        .unwrap();
    let (_, message) = error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    assert!(
        message.contains("wardenctl rotate --recover 'alpha/Inventory Sync'"),
        "{message}"
    );
    let report = secrets(&env).await;
    assert!(report.contains("recovering, next attempt in"), "{report}");
    let meta = env.vault_metadata(&client.vault_path).await;
    assert_eq!(meta["custom_metadata"]["state"], "pending", "{meta}");

    let out = wardenctl_recover(&env, false);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("recovered alpha/Inventory Sync: "),
        "{stdout}"
    );
    assert!(stdout.contains("rotated again"), "{stdout}");
    assert!(
        stdout.contains("new secret stored and verified"),
        "{stdout}"
    );
    assert_eq!(env.mints("alpha"), 2);
    let secret = assert_consumer_works(&env, &client).await;
    let meta = env.vault_metadata(&client.vault_path).await;
    assert_eq!(meta["custom_metadata"]["state"], "ok", "{meta}");
    let report = secrets(&env).await;
    assert!(!report.contains("recovering"), "{report}");

    let out = wardenctl_recover(&env, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(json["recovered"], "alpha/Inventory Sync");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("nothing to recover for alpha/Inventory Sync"),
        "{json}"
    );
    assert_eq!(env.mints("alpha"), 2, "nothing to recover mints nothing");
    assert!(!text(&out.stdout).contains(&secret));
    assert_no_leaks(&env, &client, &[secret]).await;
}

/// The `rotate (recovering CLIENT)` entry of `alpha` in `status`, if any.
async fn recovering(env: &Env) -> Option<warden_core::protocol::JobStatus> {
    let s = common::status(&env.socket()).await;
    s.instances
        .iter()
        .find(|i| i.name == "alpha")?
        .jobs
        .iter()
        .find(|j| j.target.as_deref() == Some("recovering Inventory Sync"))
        .cloned()
}

/// Recovery is driven by the daemon's clock (time is an input, as for the 30-day soak test):
/// in process with a hand-moved clock, the first attempt is due exactly `recovery_delay` after
/// the failure, a failed attempt doubles the delay, and moving the clock heals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_follows_the_injected_clock_with_backoff() {
    use chrono::TimeDelta;
    use std::time::Duration;
    use warden_daemon::RunOptions;

    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    let t0: chrono::DateTime<chrono::Utc> = "2031-03-01T10:00:00Z".parse().unwrap();
    env.mark_management_rotated_at("alpha", t0).await;
    std::fs::write(env.path("desired.toml"), desired_toml(&[CLIENT], "")).unwrap();
    let mut cfg = Cfg::new(&["alpha"]).instance_line("alpha", "desired = [\"desired.toml\"]");
    cfg.schedules = NO_JOBS.into();
    cfg.daemon_extra = "recovery_delay = \"10m\"\nrecovery_max_delay = \"1h\"".into();
    let clock = common::TestClock::at(t0);
    let options = RunOptions {
        clock: clock.clock(),
        max_tick: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let daemon = env.run_in_process(&cfg, options).await;
    let sim = &env.instance("alpha").sim;
    sim.set_faults([FaultRule::fail_next(MINT, 1, 503).after_commit()])
        .unwrap();
    error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    let entry = recovering(&env).await.expect("a recovery is scheduled");
    assert_eq!(
        entry.next_run,
        Some(t0 + TimeDelta::minutes(10)),
        "{entry:?}"
    );

    // The first attempt, at t0 + 10 min, fails (Jamf cannot be read): the next one is 20 min
    // later. Nothing was minted by it.
    sim.set_faults([FaultRule::error_rate("GET /api/v1/api-integrations", 1.0)])
        .unwrap();
    let t1 = t0 + TimeDelta::minutes(10);
    clock.set(t1);
    let entry = common::wait_for("a failed recovery attempt", async || {
        recovering(&env)
            .await
            .filter(|e| e.next_run == Some(t1 + TimeDelta::minutes(20)))
    })
    .await;
    assert_eq!(entry.last_run, Some(t1), "{entry:?}");
    assert_eq!(env.mints("alpha"), 1);
    let meta = env.vault_metadata(&client.vault_path).await;
    assert_eq!(meta["custom_metadata"]["state"], "pending", "{meta}");

    // Jamf answers again; the clock reaches the second attempt: healed.
    sim.set_faults([]).unwrap();
    clock.set(t1 + TimeDelta::minutes(20));
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert_eq!(env.mints("alpha"), 2);
    assert_consumer_works(&env, &client).await;
    assert!(
        recovering(&env).await.is_none(),
        "the entry is gone once healed"
    );
    daemon.stop().await.expect("run() stopped cleanly");
    env.assert_no_secret_leaks();
}
