//! What is due: catch-up, never-run, jitter, overlap, backoff and parking.

use std::time::Duration;

use chrono::TimeDelta;
use warden_core::schedule::{
    BackoffPolicy, Due, DueReason, JobKey, JobKind, JobState, JobStates, JobTable, Outcome,
    WaitReason, due, jitter_offset, next_slot,
};

use crate::common::{sched, utc};

#[test]
fn never_succeeded_is_due_immediately() {
    let s = sched("0 3 * * MON", None);
    let now = utc(2025, 5, 14, 12, 0);
    let got = due(
        &s,
        Duration::ZERO,
        &JobState::default(),
        &BackoffPolicy::default(),
        now,
    );
    assert_eq!(got, Due::Now(DueReason::NeverSucceeded));
}

#[test]
fn not_due_before_the_slot() {
    let s = sched("0 3 * * *", None);
    let state = JobState {
        last_success: Some(utc(2025, 5, 14, 3, 0)),
        ..JobState::default()
    };
    let now = utc(2025, 5, 15, 2, 59);
    let got = due(&s, Duration::ZERO, &state, &BackoffPolicy::default(), now);
    assert_eq!(got, Due::At(utc(2025, 5, 15, 3, 0), WaitReason::Slot));
    let got = due(
        &s,
        Duration::ZERO,
        &state,
        &BackoffPolicy::default(),
        utc(2025, 5, 15, 3, 0),
    );
    assert_eq!(got, Due::Now(DueReason::Slot(utc(2025, 5, 15, 3, 0))));
}

#[test]
fn catch_up_after_downtime_is_one_run() {
    let s = sched("0 * * * *", None);
    let key = JobKey::new("acme", JobKind::Drift);
    let mut states = JobStates::new();
    states.insert(
        key.clone(),
        JobState {
            last_success: Some(utc(2025, 5, 11, 9, 0)),
            ..JobState::default()
        },
    );
    let mut table = JobTable::new(states, BackoffPolicy::default());
    // Down for three days: 72 missed hourly slots, one catch-up run.
    let now = utc(2025, 5, 14, 9, 20);
    assert_eq!(
        table.due(&key, &s, Duration::ZERO, now),
        Due::Now(DueReason::Slot(utc(2025, 5, 11, 10, 0)))
    );
    let token = table.try_start(key.clone(), now).expect("not running");
    table.finish(token, Outcome::Success, now + TimeDelta::seconds(5));
    let later = now + TimeDelta::seconds(6);
    assert_eq!(
        table.due(&key, &s, Duration::ZERO, later),
        Due::At(utc(2025, 5, 14, 10, 0), WaitReason::Slot)
    );
}

#[test]
fn jitter_is_deterministic_and_bounded() {
    let jitter = Duration::from_secs(30);
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..200 {
        let name = format!("instance-{i}");
        for kind in JobKind::ALL {
            let a = jitter_offset(&name, kind, jitter);
            assert_eq!(a, jitter_offset(&name, kind, jitter));
            assert!(a < jitter);
            distinct.insert(a);
        }
    }
    assert!(
        distinct.len() > 500,
        "offsets should spread out, got {}",
        distinct.len()
    );
    assert_eq!(
        jitter_offset("acme", JobKind::Rotation, Duration::ZERO),
        Duration::ZERO
    );

    // The offset shifts every slot, including the catch-up decision.
    let s = sched("0 3 * * *", None);
    let offset = Duration::from_secs(17);
    assert_eq!(
        next_slot(&s, offset, utc(2025, 5, 14, 3, 0)),
        Some(utc(2025, 5, 14, 3, 0) + TimeDelta::seconds(17))
    );
    let state = JobState {
        last_success: Some(utc(2025, 5, 13, 3, 0) + TimeDelta::seconds(17)),
        ..JobState::default()
    };
    let got = due(
        &s,
        offset,
        &state,
        &BackoffPolicy::default(),
        utc(2025, 5, 14, 3, 0),
    );
    assert_eq!(
        got,
        Due::At(
            utc(2025, 5, 14, 3, 0) + TimeDelta::seconds(17),
            WaitReason::Slot
        )
    );
}

#[test]
fn a_running_job_is_never_started_again() {
    let s = sched("* * * * *", None);
    let key = JobKey::new("acme", JobKind::Rotation);
    let mut table = JobTable::default();
    let now = utc(2025, 5, 14, 9, 0);
    let token = table.try_start(key.clone(), now).expect("first start");
    assert!(table.try_start(key.clone(), now).is_none());
    assert_eq!(
        table.due(&key, &s, Duration::ZERO, now + TimeDelta::hours(2)),
        Due::Running
    );
    assert_eq!(table.running_since(&key), Some(now));
    // Another kind of the same instance is independent.
    assert!(
        table
            .try_start(JobKey::new("acme", JobKind::Drift), now)
            .is_some()
    );
    table.finish(token, Outcome::Success, now + TimeDelta::seconds(1));
    assert!(table.try_start(key, now + TimeDelta::seconds(2)).is_some());
}

#[test]
fn backoff_grows_caps_parks_and_unparks() {
    let s = sched("*/5 * * * *", None);
    let key = JobKey::new("acme", JobKind::Rotation);
    let mut table = JobTable::new(Default::default(), BackoffPolicy::default());
    let mut now = utc(2025, 5, 14, 9, 0);
    let mut delays = Vec::new();
    for _ in 0..7 {
        let token = table.try_start(key.clone(), now).expect("not running");
        table.finish(token, Outcome::Failure("jamf returned 503".into()), now);
        match table.due(&key, &s, Duration::ZERO, now) {
            Due::At(at, WaitReason::Backoff) => {
                delays.push((at - now).num_minutes());
                now = at;
            }
            other => panic!("expected a backoff wait, got {other:?}"),
        }
    }
    // 1, 2, 4, 8 minutes, then parked after 5 failures: retried every hour (the cap).
    assert_eq!(delays, [1, 2, 4, 8, 60, 60, 60]);
    assert!(table.is_parked(&key));
    assert!(table.instance_parked("acme"));
    let state = table.state(&key).expect("state");
    assert_eq!(state.last_error.as_deref(), Some("jamf returned 503"));
    assert_eq!(state.consecutive_failures, 7);

    let token = table.try_start(key.clone(), now).expect("not running");
    table.finish(token, Outcome::Success, now);
    assert!(!table.is_parked(&key));
    let state = table.state(&key).expect("state");
    assert_eq!(
        (state.consecutive_failures, state.last_error.as_ref()),
        (0, None)
    );
    assert!(matches!(
        table.due(&key, &s, Duration::ZERO, now),
        Due::At(_, WaitReason::Slot)
    ));
}

#[test]
fn one_failing_instance_does_not_affect_another() {
    let s = sched("0 * * * *", None);
    let bad = JobKey::new("bad", JobKind::Drift);
    let good = JobKey::new("good", JobKind::Drift);
    let mut table = JobTable::default();
    let t0 = utc(2025, 5, 14, 9, 0);
    let token = table.try_start(good.clone(), t0).expect("start");
    table.finish(token, Outcome::Success, t0);
    let before = table.due(&good, &s, Duration::ZERO, t0);
    for i in 0..6 {
        let now = t0 + TimeDelta::minutes(i);
        let token = table.try_start(bad.clone(), now).expect("start");
        table.finish(token, Outcome::Failure("timeout".into()), now);
    }
    assert!(table.is_parked(&bad));
    assert!(!table.is_parked(&good));
    assert!(!table.instance_parked("good"));
    assert_eq!(table.due(&good, &s, Duration::ZERO, t0), before);
    assert_eq!(before, Due::At(utc(2025, 5, 14, 10, 0), WaitReason::Slot));
}

#[test]
fn retry_now_lapses_the_backoff_of_one_instance() {
    let s = sched("*/5 * * * *", None);
    let fixed = JobKey::new("fixed", JobKind::Drift);
    let other = JobKey::new("other", JobKind::Drift);
    let running = JobKey::new("fixed", JobKind::Audit);
    let mut table = JobTable::default();
    let now = utc(2025, 5, 14, 9, 0);
    for _ in 0..6 {
        for key in [&fixed, &other, &running] {
            let token = table.try_start(key.clone(), now).expect("start");
            table.finish(token, Outcome::Failure("no credentials".into()), now);
        }
    }
    let token = table.try_start(running.clone(), now).expect("start");
    assert!(table.instance_parked("fixed"));
    table.retry_now("fixed");
    assert_eq!(
        table.due(&fixed, &s, Duration::ZERO, now),
        Due::Now(DueReason::NeverSucceeded)
    );
    assert!(!table.is_parked(&fixed));
    let state = table.state(&fixed).expect("state");
    assert_eq!(state.last_error.as_deref(), Some("no credentials"));
    // The running job and the other instance keep their streak.
    assert_eq!(
        table.state(&running).expect("state").consecutive_failures,
        6
    );
    assert!(table.is_parked(&other));
    assert!(matches!(
        table.due(&other, &s, Duration::ZERO, now),
        Due::At(_, WaitReason::Backoff)
    ));
    table.finish(token, Outcome::Success, now);
}
