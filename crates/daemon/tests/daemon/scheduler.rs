//! The scheduler in-process, with time as an input (`RunOptions::clock`): failure backoff
//! (1 min doubling, cap 1 h) and parking after 5 failures for a broken instance while a
//! healthy one keeps running; and a single catch-up run after days of downtime, the next slot
//! not run a second early and run once when the clock reaches it (the scheduler driven through
//! `RunOptions::tick`, so each check follows a look the daemon provably took).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Cfg, Env, TestClock, status, wait_for};
use warden_core::protocol::{InstanceStatus, JobOutcome, StatusReport};
use warden_core::schedule::BackoffPolicy;
use warden_daemon::RunOptions;

const EVERY_MINUTE: &str =
    "rotation = \"* * * * *\"\ndrift = \"* * * * *\"\naudit = \"* * * * *\"\njitter = \"0s\"";
const DAILY: &str =
    "rotation = \"0 6 * * *\"\ndrift = \"0 6 * * *\"\naudit = \"0 6 * * *\"\njitter = \"0s\"";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn options(clock: &TestClock) -> RunOptions {
    RunOptions {
        clock: clock.clock(),
        max_tick: Duration::from_millis(200),
        ..RunOptions::default()
    }
}

/// Time as an input, and a tick the test notifies: besides at start and after each job, the
/// scheduler looks at what is due when the test says so (`max_tick` is a minute of real time).
fn driven(clock: &TestClock, tick: &Arc<tokio::sync::Notify>) -> RunOptions {
    RunOptions {
        clock: clock.clock(),
        tick: Some(Arc::clone(tick)),
        ..RunOptions::default()
    }
}

fn instance<'a>(report: &'a StatusReport, name: &str) -> &'a InstanceStatus {
    report.instances.iter().find(|i| i.name == name).unwrap()
}

/// Waits until every job of every instance finished a run at `now`.
async fn wait_round(socket: &std::path::Path, now: DateTime<Utc>) -> StatusReport {
    wait_for(&format!("every job to run at {now}"), async || {
        let s = status(socket).await;
        s.instances
            .iter()
            .all(|i| i.jobs.iter().all(|j| j.last_run == Some(now) && !j.running))
            .then_some(s)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_instance_backs_off_and_parks_while_a_healthy_one_keeps_running() {
    let env = Env::start_memory(&["good", "bad"]).await;
    // bad's management secret in Vault is wrong: every job fails at the token request.
    let bad_id = env.instance("bad").client_id.clone();
    env.store_credentials("bad", &bad_id, "not-the-secret")
        .await;

    let mut now = t("2030-01-10T12:00:00Z");
    let clock = TestClock::at(now);
    let mut cfg = Cfg::new(&["good", "bad"]);
    cfg.schedules = EVERY_MINUTE.into();
    // Each round rotates good's management secret and tries bad's: more than the default 10
    // rotations per (real) minute, which would stall the test for a minute.
    cfg.daemon_extra = "max_rotations_per_minute = 1000".into();
    let daemon = env.run_in_process(&cfg, options(&clock)).await;
    let socket = env.socket();
    let policy = BackoffPolicy::default();

    for failures in 1..=6u32 {
        let report = wait_round(&socket, now).await;
        let good = instance(&report, "good");
        assert!(!good.parked, "round {failures}: {good:?}");
        assert_eq!(good.consecutive_failures, 0, "round {failures}: {good:?}");
        assert_eq!(good.reachable, Some(true));
        for job in &good.jobs {
            assert_eq!(job.last_outcome, Some(JobOutcome::Ok), "{job:?}");
            assert_eq!(job.last_success, Some(now), "{job:?}");
        }

        let bad = instance(&report, "bad");
        assert_eq!(bad.consecutive_failures, failures, "{bad:?}");
        assert_eq!(bad.parked, failures >= 5, "round {failures}: {bad:?}");
        assert!(bad.last_error.is_some(), "{bad:?}");
        // 1, 2, 4, 8 min, then parked: retried at the 1 h cap.
        let delay = policy.delay(failures);
        let expected = [60, 120, 240, 480, 3600, 3600][failures as usize - 1];
        assert_eq!(delay.as_secs(), expected);
        for job in &bad.jobs {
            assert_eq!(job.last_outcome, Some(JobOutcome::Failed), "{job:?}");
            assert_eq!(job.last_success, None, "{job:?}");
            // Not retried before the backoff delay is over.
            assert_eq!(
                job.next_run,
                Some(now + TimeDelta::from_std(delay).unwrap()),
                "round {failures}: {job:?}"
            );
        }
        now += TimeDelta::from_std(delay).unwrap();
        clock.set(now);
    }

    // The parked state is persisted with the job state.
    let saved = std::fs::read_to_string(env.state_dir().join("jobs.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["jobs"]["bad"]["drift"]["consecutive_failures"], 6);
    assert_eq!(saved["jobs"]["good"]["drift"]["consecutive_failures"], 0);
    daemon.stop().await.expect("run() stopped cleanly");
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_days_down_a_daily_job_runs_once_not_three_times() {
    let env = Env::start_memory(&["good"]).await;
    let now = t("2030-01-10T12:00:00Z");
    // The management secret was rotated just now, so the rotation job runs without rotating
    // (no Jamf call): the role listings below count the drift and audit runs.
    env.mark_management_rotated_at("good", now).await;
    let three_days_ago = "2030-01-07T12:00:00Z";
    let state = serde_json::json!({
        "version": 1,
        "jobs": {"good": {
            "rotation": {"last_success": three_days_ago, "last_attempt": three_days_ago},
            "drift": {"last_success": three_days_ago, "last_attempt": three_days_ago},
            "audit": {"last_success": three_days_ago, "last_attempt": three_days_ago},
        }}
    });
    std::fs::create_dir(env.state_dir()).unwrap();
    std::fs::write(env.state_dir().join("jobs.json"), state.to_string()).unwrap();

    let clock = TestClock::at(now);
    let tick = Arc::new(tokio::sync::Notify::new());
    let mut cfg = Cfg::new(&["good"]);
    cfg.schedules = DAILY.into();
    let daemon = env.run_in_process(&cfg, driven(&clock, &tick)).await;
    let socket = env.socket();
    let sim = &env.instance("good").sim;
    let listings = || sim.stats().count("GET", "/api/v1/api-roles");
    let next = t("2030-01-11T06:00:00Z");
    // Every job last ran at `ran`, none runs, and each is next due at the next slot.
    let assert_idle_since = async |ran: DateTime<Utc>, what: &str| {
        let report = status(&socket).await;
        for job in &instance(&report, "good").jobs {
            assert_eq!(job.last_run, Some(ran), "{what}: {job:?}");
            assert!(!job.running, "{what}: {job:?}");
            assert_eq!(job.next_run, Some(next), "{what}: {job:?}");
        }
    };

    // Three slots (8th, 9th, 10th at 06:00) were missed: each job runs once.
    let report = wait_round(&socket, now).await;
    for job in &instance(&report, "good").jobs {
        assert_eq!(job.last_success, Some(now), "{job:?}");
        assert_eq!(job.next_run, Some(next), "{job:?}");
    }
    assert_eq!(listings(), 2, "one inventory per drift and audit job");
    // The scheduler looks again at the same time: nothing else is due.
    clock.look(&tick).await;
    assert_eq!(listings(), 2, "a missed slot ran more than once");
    assert_idle_since(now, "a missed slot ran more than once").await;

    // A second before the next slot, the scheduler looks and still runs nothing.
    clock.set(next - TimeDelta::seconds(1));
    clock.look(&tick).await;
    assert_eq!(listings(), 2, "a job ran before its slot");
    assert_idle_since(now, "a job ran before its slot").await;

    // At the next slot each job runs once more.
    env.mark_management_rotated_at("good", next).await;
    clock.set(next);
    tick.notify_one();
    wait_round(&socket, next).await;
    assert_eq!(listings(), 4);
    daemon.stop().await.expect("run() stopped cleanly");
    env.assert_no_secret_leaks();
}
