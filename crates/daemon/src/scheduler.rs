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

use crate::jobs;
use crate::shared::Shared;

/// Runs until shutdown.
pub async fn run(shared: Arc<Shared>) {
    let test_trigger = shared.options.tick.clone();
    loop {
        let now = shared.now();
        let next = tick(&shared, now);
        let wait = next
            .and_then(|t| (t - now).to_std().ok())
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_millis(200), shared.options.max_tick);
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = test_tick(test_trigger.as_deref()) => {}
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
pub fn tick(shared: &Arc<Shared>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if shared.shutdown.is_cancelled() {
        return None;
    }
    let config = shared.config();
    // interrupted rotations are recovered on their own backoff, independent of the schedules
    let mut next: Option<DateTime<Utc>> = crate::heal::tick(shared, now);
    for inst in &config.instances {
        for kind in JobKind::ALL {
            let key = JobKey::new(inst.name.clone(), kind);
            let offset = jitter_offset(&inst.name, kind, inst.schedules.jitter);
            let token = {
                let mut jobs = shared.jobs();
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
                let shared2 = Arc::clone(shared);
                let name = inst.name.clone();
                shared.jobs_tracker.spawn(async move {
                    let result = if kind == JobKind::Rotation {
                        // never cancelled: a rotation may be between minting and storing a
                        // secret; the job itself starts no new rotation once stopping
                        jobs::run(&shared2, &name, kind).await
                    } else {
                        tokio::select! {
                            r = jobs::run(&shared2, &name, kind) => r,
                            _ = shared2.force.cancelled() => Err("stopped by a forced shutdown".into()),
                        }
                    };
                    let finished = shared2.now();
                    let outcome = match &result {
                        Ok(summary) => {
                            tracing::info!(instance = %name, job = %kind, "{summary}");
                            Outcome::Success
                        }
                        Err(e) => {
                            tracing::warn!(instance = %name, job = %kind, error = %e, "job failed");
                            Outcome::Failure(e.clone())
                        }
                    };
                    let parked = {
                        let mut jobs = shared2.jobs();
                        jobs.finish(token, outcome, finished);
                        jobs.is_parked(&JobKey::new(name.clone(), kind))
                    };
                    if parked {
                        tracing::error!(instance = %name, job = %kind, "parked after repeated failures; retrying at the backoff cap");
                    }
                    shared2.save_job_states();
                    shared2.wake.notify_one();
                });
            }
        }
    }
    next
}
