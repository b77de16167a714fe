//! The scheduler: what is due is computed from persisted job state and each schedule at every
//! tick (at start-up, after each job, after a reload, and at least every `max_tick`), so a
//! missed trigger or downtime never loses a run: a job whose slot passed while the daemon was
//! down runs once on start. A job never overlaps itself (the job table refuses a second start),
//! a per-(instance, job) jitter spreads a fleet, and failures back off exponentially per job
//! until the instance shows as parked, without holding up other instances. Tests that move
//! the clock by hand wake it through `RunOptions::tick` instead of waiting for `max_tick`.
//!
//! Why not tokio-cron-scheduler: it has no catch-up after downtime, converts time zones to fixed
//! UTC offsets (wrong across DST), lets runs of one job overlap and loses interval jobs; see
//! `docs/architecture.md`. Schedules are parsed by `warden_core::schedule` (croner + chrono-tz).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use warden_core::schedule::{Due, JobKey, JobKind, Outcome, jitter_offset};

use warden_core::clock::Stopwatch;

use crate::jobs::{self, JobError, recovery};
use crate::runtime::notify;
use crate::services::Services;

/// What the scheduler needs besides the services: its longest sleep, the test-only tick, and
/// how often to ping systemd's watchdog (half its interval; `None`: no watchdog).
pub struct Ticks {
    pub max_tick: Duration,
    pub test_tick: Option<Arc<tokio::sync::Notify>>,
    pub watchdog: Option<Duration>,
}

/// Runs until shutdown.
pub async fn run(s: Arc<Services>, recovery: recovery::Recovery, ticks: Ticks) {
    let lifecycle = Arc::clone(&s.lifecycle);
    let mut pinged: Option<Stopwatch> = None;
    loop {
        // Pinged from this loop, at each turn: a scheduler stuck anywhere (a lock, a look at
        // what is due that never returns) stops the pings, and systemd restarts wardend.
        if let Some(every) = ticks.watchdog
            && pinged.is_none_or(|p| p.elapsed() >= every / 2)
        {
            notify::watchdog();
            pinged = Some(Stopwatch::start());
        }
        let now = lifecycle.now();
        let next = tick(&s, &recovery, now);
        let longest = ticks
            .watchdog
            .map_or(ticks.max_tick, |every| ticks.max_tick.min(every / 2));
        // at least 200 ms between looks, unless the watchdog needs pings more often
        let floor = ticks.watchdog.map_or(Duration::from_millis(200), |every| {
            Duration::from_millis(200).min(every / 2)
        });
        let wait = next
            .and_then(|t| (t - now).to_std().ok())
            .unwrap_or(Duration::ZERO)
            .clamp(floor, longest.max(floor));
        tokio::select! {
            _ = lifecycle.shutdown.cancelled() => return,
            _ = lifecycle.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = test_tick(ticks.test_tick.as_deref()) => {}
        }
    }
}

/// Resolves when the test-only tick is notified; never without one.
async fn test_tick(tick: Option<&tokio::sync::Notify>) {
    match tick {
        Some(t) => t.notified().await,
        None => std::future::pending().await,
    }
}

/// Starts every job that is due at `now`; returns the earliest future due time.
fn tick(
    s: &Arc<Services>,
    recovery: &recovery::Recovery,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if s.lifecycle.stopping() {
        return None;
    }
    let config = s.config.get();
    // interrupted rotations are recovered on their own backoff, independent of the schedules
    let mut next: Option<DateTime<Utc>> = recovery::tick(recovery, now);
    for inst in &config.instances {
        // in a cluster, jobs run where the instance's lease is held
        if !s.cluster.may_work_on(&inst.name) {
            continue;
        }
        for kind in JobKind::ALL {
            let key = JobKey::new(inst.name.clone(), kind);
            let offset = jitter_offset(&inst.name, kind, inst.schedules.jitter);
            let token = {
                let mut jobs = s.schedule.table();
                match jobs.due(&key, inst.schedules.get(kind), offset, now) {
                    Due::Now(_) => jobs.try_start(key.clone(), now),
                    Due::At(t, _) => {
                        next = Some(next.map_or(t, |n| n.min(t)));
                        None
                    }
                    Due::Off | Due::Running => None,
                }
            };
            if let Some(token) = token {
                let s2 = Arc::clone(s);
                let name = inst.name.clone();
                s.lifecycle.tracker.spawn(async move {
                    let result = if kind == JobKind::Rotation {
                        // never cancelled: a rotation may be between minting and storing a
                        // secret; the job itself starts no new rotation once stopping
                        jobs::run(&s2, &name, kind).await
                    } else {
                        tokio::select! {
                            r = jobs::run(&s2, &name, kind) => r,
                            _ = s2.lifecycle.force.cancelled() => Err(JobError::Forced),
                        }
                    };
                    finish(&s2, &name, kind, token, result);
                });
            }
        }
    }
    next
}

/// Alerts that the `kind` job of `name` was parked (or recovered).
fn alert_parked(s: &Services, name: &str, kind: JobKind, parked: bool, error: Option<String>) {
    use warden_core::notify::EventKind;
    let (event, summary) = if parked {
        (
            EventKind::InstanceParked,
            format!(
                "{kind} job of {name} parked after repeated failures: {}",
                error.as_deref().unwrap_or("")
            ),
        )
    } else {
        (
            EventKind::InstanceRecovered,
            format!("{kind} job of {name} succeeded again"),
        )
    };
    let details = serde_json::json!({ "job": kind.to_string(), "error": error });
    s.notifier.emit(
        s.notifier
            .event(event, summary)
            .instance(name)
            .details(details),
    );
}

/// Notes a job's end in the job table, logs it, saves the table and wakes the scheduler.
fn finish(
    s: &Services,
    name: &str,
    kind: JobKind,
    token: warden_core::schedule::RunToken,
    result: Result<String, JobError>,
) {
    let finished = s.lifecycle.now();
    let outcome = match &result {
        Ok(summary) => {
            tracing::info!(instance = %name, job = %kind, "{summary}");
            Outcome::Success
        }
        Err(e) => {
            tracing::warn!(instance = %name, job = %kind, error = %e, "job failed");
            Outcome::Failure(e.to_string())
        }
    };
    let error = match &outcome {
        Outcome::Failure(e) => Some(e.clone()),
        _ => None,
    };
    let (was_parked, parked) = {
        let mut jobs = s.schedule.table();
        let key = JobKey::new(name.to_owned(), kind);
        let was = jobs.is_parked(&key);
        jobs.finish(token, outcome, finished);
        (was, jobs.is_parked(&key))
    };
    if parked {
        tracing::error!(instance = %name, job = %kind, "parked after repeated failures; retrying at the backoff cap");
    }
    if parked != was_parked {
        alert_parked(s, name, kind, parked, error);
    }
    s.schedule.save();
    s.lifecycle.wake.notify_one();
}
