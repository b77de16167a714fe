//! The daemon's lifecycle: the clock every layer reads "now" from, the tokens that stop it
//! (gracefully, then forcibly), the tracker of running tasks a stop waits for, and the
//! scheduler's wake-up.

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use std::sync::Arc;

use super::metrics::Recorder;
use super::options::Clock;

/// What stops or reloads the daemon. `main` wires signals to it; tests drive it directly.
pub struct Control {
    /// Cancel to stop gracefully.
    pub shutdown: CancellationToken,
    /// Cancel (after `shutdown`) to stop running jobs at their next await.
    pub force: CancellationToken,
    /// Each message triggers a reload, as SIGHUP does.
    pub reload: UnboundedReceiver<()>,
}

/// Time, stop and the running tasks, shared by every layer.
pub struct Lifecycle {
    clock: Clock,
    started_at: DateTime<Utc>,
    /// Cancelled when the daemon starts to stop.
    pub shutdown: CancellationToken,
    /// Cancelled on a second stop signal: running jobs stop at their next await.
    pub force: CancellationToken,
    /// Running jobs, rotations, applies and bootstraps: a stop waits for them.
    pub tracker: TaskTracker,
    /// Wakes the scheduler early (after a reload, a finished job or new recovery work).
    pub wake: Notify,
    /// Event counters (Jamf and Vault requests, rotations) for the metrics endpoint.
    metrics: Arc<Recorder>,
}

impl Lifecycle {
    /// A lifecycle starting now (by `clock`).
    pub fn new(clock: Clock, shutdown: CancellationToken, force: CancellationToken) -> Lifecycle {
        let started_at = clock();
        Lifecycle {
            clock,
            started_at,
            shutdown,
            force,
            tracker: TaskTracker::new(),
            wake: Notify::new(),
            metrics: Arc::new(Recorder::new()),
        }
    }

    /// "Now", from the configured clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The clock itself, for components that keep it.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// When the daemon started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// Seconds since start, by the clock (0 if it went back).
    pub fn uptime_secs(&self) -> u64 {
        (self.now() - self.started_at).num_seconds().max(0) as u64
    }

    /// This lifecycle with `metrics` as its event counters.
    pub fn with_metrics(mut self, metrics: Arc<Recorder>) -> Lifecycle {
        self.metrics = metrics;
        self
    }

    /// The event counters.
    pub fn metrics(&self) -> &Arc<Recorder> {
        &self.metrics
    }

    /// Whether the daemon is stopping.
    pub fn stopping(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}
