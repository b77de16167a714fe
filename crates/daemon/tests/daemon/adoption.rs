//! Adopting an existing estate (issue 14 §1) and the out-of-band check (§2), in-process on the
//! memory store (Vault is not the subject) against the Jamf simulator, with the test clock.
//!
//! - An estate with three clients in use, each with a consumer asking for a token every 100 ms
//!   with the secret it holds: `import` → the file as the desired state → reload; the clock
//!   passes several rotation slots; no consumer fails and nothing is minted. `adopt --cutover
//!   now` of a `single` client mints exactly once and the consumer works after switching to
//!   Vault; for an `alternating` client the cutover mints only the twin, the consumer holding
//!   the old secret keeps working, and the client's own rotation waits for `--switched`.
//! - A secret rotated in the simulator's console (outside Warden): the next rotation is refused,
//!   recorded and shown, nothing is minted and the schedule does not retry it; `rotate
//!   --accept-out-of-band` rotates once and is recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;
use warden_core::protocol::{
    AdoptRequest, Cutover, ErrorCode, JobKind, Request, Response, RotateRequest, SecretsRequest,
};
use warden_daemon::RunOptions;

use crate::common;
use common::drift::{consumer_read, drift_of, import, plan};
use common::rotation::{ROLE, desired_toml, error_of, token_status};
use common::{Cfg, Env, TestClock, send, status, wait_for};

/// The rotation job daily at 04:00; drift and audit run on request only.
const DAILY_ROTATION: &str =
    "jitter = \"0s\"\nrotation = \"0 4 * * *\"\ndrift = \"off\"\naudit = \"off\"";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn driven(clock: &TestClock, tick: &Arc<tokio::sync::Notify>) -> RunOptions {
    RunOptions {
        clock: clock.clock(),
        tick: Some(Arc::clone(tick)),
        ..RunOptions::default()
    }
}

/// A consumer of one client: asks for a token every 100 ms with the credentials it holds (none:
/// paused), counting refusals.
struct Consumer {
    creds: Arc<Mutex<Option<(String, String)>>>,
    failures: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl Consumer {
    fn start(url: String, client_id: String, secret: String, stop: Arc<AtomicBool>) -> Consumer {
        let creds = Arc::new(Mutex::new(Some((client_id, secret))));
        let (failures, requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (c, f, r) = (
            Arc::clone(&creds),
            Arc::clone(&failures),
            Arc::clone(&requests),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let held = c.lock().await.clone();
                if let Some((id, secret)) = held {
                    r.fetch_add(1, Ordering::SeqCst);
                    if token_status(&url, &id, &secret).await != 200 {
                        f.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Consumer {
            creds,
            failures,
            requests,
        }
    }

    async fn hold(&self, creds: Option<(String, String)>) {
        *self.creds.lock().await = creds;
    }

    /// Waits until it made `n` more requests.
    async fn wait_requests(&self, n: u64) {
        let start = self.requests.load(Ordering::SeqCst);
        wait_for("the consumer to ask for tokens", async || {
            (self.requests.load(Ordering::SeqCst) >= start + n).then_some(())
        })
        .await;
    }
}

/// Moves the clock to `at`, makes the scheduler look, and waits for the rotation job's run
/// at `at` to end.
async fn run_rotation_job_at(
    env: &Env,
    clock: &TestClock,
    tick: &tokio::sync::Notify,
    at: DateTime<Utc>,
) {
    clock.set(at);
    clock.look(tick).await;
    let socket = env.socket();
    wait_for(&format!("the rotation job to run at {at}"), async || {
        let s = status(&socket).await;
        s.instances[0]
            .jobs
            .iter()
            .find(|j| j.kind == JobKind::Rotate && j.target.is_none())
            .is_some_and(|j| j.last_run == Some(at) && !j.running)
            .then_some(())
    })
    .await;
}

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

async fn adopt(env: &Env, client: &str, cutover: Option<Cutover>, switched: bool) -> Response {
    send(
        &env.socket(),
        Request::Adopt(AdoptRequest {
            instance: "alpha".into(),
            client: client.into(),
            cutover,
            switched,
            confirmed: true,
        }),
    )
    .await
}

fn ok_text(response: Response) -> String {
    match response {
        Response::Ok { message } => message,
        other => panic!("expected ok, got {other:?}"),
    }
}

/// The imported file with `strategy = "alternating"` for `client`.
fn alternating(file: &str, client: &str) -> String {
    let at = file
        .find(&format!("name = \"{client}\""))
        .expect("the client is imported");
    let hold = at + file[at..].find("adopt = \"hold\"").expect("adopt = hold");
    format!(
        "{}adopt = \"hold\"\nstrategy = \"alternating\"{}",
        &file[..hold],
        &file[hold + "adopt = \"hold\"".len()..]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_estate_changes_nothing_until_each_client_is_cut_over() {
    let env = Env::start_memory(&["alpha"]).await;
    let start = t("2030-01-10T00:00:00Z");
    // Warden's own client is not the subject: rotated "after" the test's window, never due in it
    env.mark_management_rotated_at("alpha", t("2030-06-01T00:00:00Z"))
        .await;
    let inst = env.instance("alpha");
    let (sim, url) = (&inst.sim, inst.url.clone());
    sim.create_role(ROLE, ["Read Computers"]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut consumers = Vec::new();
    let mut secrets_made = env.standing_secrets("alpha").await;
    for name in ["Inventory Sync", "Reporter", "Patcher"] {
        let (id, client_id) = sim.create_client(name, [ROLE], true, 300).unwrap();
        let secret = sim.mint_secret(id).unwrap();
        secrets_made.push(("a consumer's secret", secret.clone()));
        let consumer = Consumer::start(url.clone(), client_id.clone(), secret, Arc::clone(&stop));
        consumers.push((name, id, client_id, consumer));
    }
    let secret_of = |id: u64| sim.client(id).and_then(|c| c.client_secret);
    let before: Vec<_> = consumers.iter().map(|c| secret_of(c.1)).collect();

    let clock = TestClock::at(start);
    let tick = Arc::new(tokio::sync::Notify::new());
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = DAILY_ROTATION.into();
    env.write_rotation_config(&cfg, &desired_toml(&[], ""));
    let _daemon = env.start_written_in_process(driven(&clock, &tick)).await;
    let socket = env.socket();

    // import → the file (one client alternating) → reload
    let file = import(&socket, "alpha").await;
    assert_eq!(file.matches("\nadopt = \"hold\"").count(), 3, "{file}");
    env.write_rotation_config(&cfg, &alternating(&file, "Reporter"));
    let reloaded = send(&socket, Request::Reload).await;
    assert!(
        matches!(reloaded, Response::Reloaded { .. }),
        "{reloaded:?}"
    );

    // several rotation slots pass
    for day in 0..4 {
        let at = start + TimeDelta::days(day) + TimeDelta::hours(4);
        run_rotation_job_at(&env, &clock, &tick, at).await;
        for (_, _, _, c) in &consumers {
            c.wait_requests(2).await;
        }
    }
    assert_eq!(env.mints("alpha"), 0, "nothing minted while adopted");
    let now: Vec<_> = consumers.iter().map(|c| secret_of(c.1)).collect();
    assert_eq!(now, before, "no secret changed in Jamf");
    for (name, _, _, c) in &consumers {
        assert_eq!(
            c.failures.load(Ordering::SeqCst),
            0,
            "{name}'s consumer failed"
        );
    }
    // shown as adopted and held, not due, not drift
    let listed = secrets(&env).await;
    assert_eq!(listed.matches("held (adopted)").count(), 3, "{listed}");
    assert!(listed.contains("held until cutover"), "{listed}");
    let drift = drift_of(&socket, "alpha", true).await;
    assert!(drift.report.items.is_empty(), "{:?}", drift.report);
    assert_eq!(drift.report.held.len(), 3, "{:?}", drift.report);
    let doc = plan(&socket, "alpha").await;
    assert!(doc.plan.steps.is_empty() && doc.unresolved == 0, "{doc:?}");
    let report = status(&socket).await;
    let held = report.instances[0]
        .jobs
        .iter()
        .filter(|j| {
            j.target
                .as_deref()
                .is_some_and(|t| t.contains("adopted, held"))
        })
        .count();
    assert_eq!(held, 3, "{report:?}");
    // a plain rotate is refused: the cutover says what the consumers must read
    let refused = common::rotation::rotate(&socket, "alpha", "Patcher").await;
    let (code, message) = error_of(&refused);
    assert_eq!(code, ErrorCode::Conflict);
    assert!(message.contains("--cutover now"), "{message}");
    assert_eq!(env.mints("alpha"), 0);

    // single: the consumer switches to Vault at the cutover; exactly one mint
    let (_, patcher_id, patcher_client, patcher) = &consumers[2];
    patcher.hold(None).await;
    let answer = ok_text(adopt(&env, "Patcher", Some(Cutover::Now), false).await);
    assert_eq!(env.mints("alpha"), 1, "{answer}");
    for needle in [
        "cut over",
        "mount:  secret",
        "path:   ",
        "/instances/alpha/clients/patcher",
        "fields: client_id, client_secret, jamf_url, token_url",
        "kv get",
    ] {
        assert!(answer.contains(needle), "{needle:?} missing from {answer}");
    }
    let (id, secret) = consumer_read(&env, "instances/alpha/clients/patcher").await;
    assert_eq!(&id, patcher_client);
    assert_eq!(Some(secret.clone()), secret_of(*patcher_id));
    secrets_made.push(("the new secret", secret.clone()));
    patcher.hold(Some((id, secret))).await;
    patcher.wait_requests(3).await;
    assert_eq!(patcher.failures.load(Ordering::SeqCst), 0);
    // from now on Patcher rotates on schedule like any `single` client (its consumer would
    // re-read Vault when refused): this test follows the others
    patcher.hold(None).await;

    // alternating: the cutover mints only the twin; the old secret keeps working
    let (_, reporter_id, _, reporter) = &consumers[1];
    let answer = ok_text(adopt(&env, "Reporter", Some(Cutover::Now), false).await);
    assert_eq!(env.mints("alpha"), 2, "{answer}");
    assert!(answer.contains("--switched"), "{answer}");
    assert_eq!(
        secret_of(*reporter_id),
        before[1],
        "the declared client is untouched"
    );
    let twin = sim
        .client_by_name("Reporter (alternate)")
        .expect("the twin exists");
    let (id, secret) = consumer_read(&env, "instances/alpha/clients/reporter").await;
    assert_eq!(id, twin.client_id, "Vault serves the twin");
    secrets_made.push(("the twin's secret", secret.clone()));
    reporter.wait_requests(3).await;
    assert_eq!(reporter.failures.load(Ordering::SeqCst), 0);
    // held until the owner confirms the switch, through the next slots
    let listed = secrets(&env).await;
    assert!(listed.contains("--switched"), "{listed}");
    run_rotation_job_at(&env, &clock, &tick, t("2030-01-14T04:00:00Z")).await;
    run_rotation_job_at(&env, &clock, &tick, t("2030-01-15T04:00:00Z")).await;
    assert_eq!(
        env.mints("alpha") - 2,
        mints_of_patcher(&env),
        "only Patcher rotates on schedule"
    );
    assert_eq!(secret_of(*reporter_id), before[1]);
    reporter.hold(Some((id, secret))).await;
    let confirmed = ok_text(adopt(&env, "Reporter", None, true).await);
    assert!(confirmed.contains("confirmed"), "{confirmed}");
    let listed = secrets(&env).await;
    assert!(!listed.contains("--switched"), "{listed}");

    // the third client is still held; nobody failed
    assert_eq!(secret_of(consumers[0].1), before[0]);
    for (_, _, _, c) in [&consumers[0], &consumers[1]] {
        c.wait_requests(2).await;
    }
    stop.store(true, Ordering::SeqCst);
    for (name, _, _, c) in &consumers {
        assert_eq!(
            c.failures.load(Ordering::SeqCst),
            0,
            "{name}'s consumer failed"
        );
    }
    // recorded: the cutovers and the switch
    let records = env.records();
    let adopts: Vec<_> = records
        .iter()
        .filter(|r| r["action"] == "adopt")
        .map(|r| {
            (
                r["object"]["name"].as_str().unwrap_or_default().to_owned(),
                r["after"]["change"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        adopts,
        [
            ("Patcher".to_owned(), "cutover".to_owned()),
            ("Reporter".to_owned(), "cutover".to_owned()),
            ("Reporter".to_owned(), "switched".to_owned()),
        ]
    );
    env.assert_absent_from(&env.daemon_files(), &secrets_made);
}

/// Scheduled rotations of Patcher in the change log (it is `single`, rotated at its cutover,
/// then due at the slots that follow).
fn mints_of_patcher(env: &Env) -> u64 {
    env.records()
        .iter()
        .filter(|r| {
            r["action"] == "rotate"
                && r["outcome"] == "ok"
                && r["object"]["name"] == "Patcher"
                && r["actor"]["kind"] == "schedule"
        })
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotated_in_the_console_stops_rotation_until_accepted() {
    let env = Env::start_memory(&["alpha"]).await;
    let start = t("2030-01-10T00:00:00Z");
    env.mark_management_rotated_at("alpha", t("2030-06-01T00:00:00Z"))
        .await;
    let managed = env.add_managed_client("alpha", "Inventory Sync").await;
    // someone rotates it in the Jamf console: the secret in Vault no longer works
    let sim = &env.instance("alpha").sim;
    let console = sim.mint_secret(managed.id).unwrap();
    let mut secrets_made = env.standing_secrets("alpha").await;
    secrets_made.push(("the first secret", managed.initial_secret.clone()));
    secrets_made.push(("the console's secret", console.clone()));

    let clock = TestClock::at(start);
    let tick = Arc::new(tokio::sync::Notify::new());
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = DAILY_ROTATION.into();
    // the client was never rotated by Warden but Vault holds a secret: not adopted, due now
    env.write_rotation_config(&cfg, &desired_toml(&["Inventory Sync"], ""));
    let _daemon = env.start_written_in_process(driven(&clock, &tick)).await;
    let socket = env.socket();
    env.wait_rotation_job_done(&socket).await;

    assert_eq!(env.mints("alpha"), 0, "nothing minted");
    assert_eq!(
        sim.client(managed.id).and_then(|c| c.client_secret),
        Some(console.clone()),
        "the console's secret is untouched"
    );
    let refused: Vec<_> = env
        .records()
        .into_iter()
        .filter(|r| r["action"] == "rotate" && r["after"]["refused"] == "out_of_band")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["error_kind"], "conflict");
    assert!(
        refused[0]["after"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("no longer gets a token")),
        "{:?}",
        refused[0]
    );
    let listed = secrets(&env).await;
    assert!(listed.contains("refused (out of band)"), "{listed}");
    assert!(listed.contains("--accept-out-of-band"), "{listed}");
    let report = status(&socket).await;
    assert!(
        report.instances[0].jobs.iter().any(|j| j
            .target
            .as_deref()
            .is_some_and(|t| t.contains("out of band"))),
        "{report:?}"
    );

    // the schedule does not retry it
    let rotate_records = || {
        env.records()
            .iter()
            .filter(|r| r["action"] == "rotate")
            .count()
    };
    let seen = rotate_records();
    for day in 0..2 {
        run_rotation_job_at(
            &env,
            &clock,
            &tick,
            start + TimeDelta::days(day) + TimeDelta::hours(4),
        )
        .await;
    }
    assert_eq!(rotate_records(), seen, "no new attempt");
    assert_eq!(env.mints("alpha"), 0);

    // a plain rotate checks again and is refused; the flag rotates once, recorded
    let again = common::rotation::rotate(&socket, "alpha", "Inventory Sync").await;
    let (code, message) = error_of(&again);
    assert_eq!(code, ErrorCode::Conflict);
    assert!(message.contains("--accept-out-of-band"), "{message}");
    assert_eq!(env.mints("alpha"), 0);
    let accepted = send(
        &socket,
        Request::Rotate(RotateRequest {
            instance: "alpha".into(),
            client: "Inventory Sync".into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: true,
        }),
    )
    .await;
    assert!(matches!(accepted, Response::Rotated(_)), "{accepted:?}");
    assert_eq!(env.mints("alpha"), 1);
    let ok = env
        .records()
        .into_iter()
        .filter(|r| r["action"] == "rotate" && r["outcome"] == "ok")
        .collect::<Vec<_>>();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["after"]["accept_out_of_band"], true, "{:?}", ok[0]);
    let listed = secrets(&env).await;
    assert!(!listed.contains("refused"), "{listed}");
    let (_, secret) = consumer_read(&env, &managed.vault_path).await;
    assert_eq!(
        token_status(&env.instance("alpha").url, &managed.client_id, &secret).await,
        200
    );
    secrets_made.push(("the new secret", secret));
    env.assert_absent_from(&env.daemon_files(), &secrets_made);
}
