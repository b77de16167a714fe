//! One sink's delivery: a bounded queue (the oldest event dropped, counted and logged when
//! full) drained by one task that retries each event with backoff, bounded in attempts and
//! age. `push` never waits, so a dead or hanging sink never holds up a job.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use warden_core::notify::Event;

use super::deliver::Target;
use crate::runtime::lifecycle::Lifecycle;

/// How a worker retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    pub queue: usize,
    pub max_attempts: u32,
    pub retry_delay: Duration,
    pub max_retry_delay: Duration,
    pub max_age: Duration,
}

/// Counters of one sink (monotonic since the sink was built, except `queued`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStats {
    /// The sink's name (`journald` and `syslog` for the change-log forwarders).
    pub name: String,
    /// `webhook`, `slack`, `exec`, `journald` or `syslog`.
    pub kind: &'static str,
    /// Events accepted into the queue.
    pub enqueued: u64,
    /// Events delivered.
    pub delivered: u64,
    /// Failed delivery attempts (each is logged).
    pub failed_attempts: u64,
    /// Events given up after `max_attempts` or `max_age`.
    pub given_up: u64,
    /// Events dropped because the queue was full (the oldest go first).
    pub dropped: u64,
    /// Events waiting now.
    pub queued: u64,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
    dropped: AtomicU64,
}

/// One sink and its queue.
pub struct Worker {
    pub name: String,
    pub target: Target,
    retry: Retry,
    queue: Mutex<VecDeque<Arc<Event>>>,
    wake: Notify,
    stop: CancellationToken,
    /// Set when a reload removed or replaced the sink: it delivers what it holds, then ends.
    retiring: std::sync::atomic::AtomicBool,
    counters: Counters,
}

impl Worker {
    /// A worker for `target`; call [`Worker::start`] to run it.
    pub fn new(name: String, target: Target, retry: Retry) -> Arc<Worker> {
        Arc::new(Worker {
            name,
            target,
            retry,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            retiring: std::sync::atomic::AtomicBool::new(false),
            counters: Counters::default(),
        })
    }

    /// Whether `other` would deliver the same way (a reload keeps this worker then).
    pub fn same_as(&self, other: &Worker) -> bool {
        self.retry == other.retry && self.target.same_as(&other.target)
    }

    /// Spawns the delivery task; it ends when the worker is stopped or the daemon stops.
    pub fn start(self: &Arc<Self>, lifecycle: &Arc<Lifecycle>) {
        let (me, lifecycle) = (Arc::clone(self), Arc::clone(lifecycle));
        tokio::spawn(async move { me.run(&lifecycle).await });
    }

    /// Stops the delivery task at once (the daemon stops).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Ends the delivery task once what it holds is delivered or given up (a reload removed or
    /// replaced the sink).
    pub fn retire(&self) {
        self.retiring.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Queues `event` without waiting; drops the oldest queued event when full.
    pub fn push(&self, event: Arc<Event>) {
        let dropped = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = if q.len() >= self.retry.queue.max(1) {
                q.pop_front()
            } else {
                None
            };
            q.push_back(event);
            dropped
        };
        self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = dropped {
            let total = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(sink = %self.name, event = %old.kind.as_str(), id = %old.id, dropped_total = total, "notification queue full; dropped the oldest event");
        }
        self.wake.notify_one();
    }

    /// Whether nothing waits and nothing is being delivered.
    pub fn idle(&self) -> bool {
        let c = &self.counters;
        let done = c.delivered.load(Ordering::Relaxed)
            + c.given_up.load(Ordering::Relaxed)
            + c.dropped.load(Ordering::Relaxed);
        done >= c.enqueued.load(Ordering::Relaxed)
    }

    /// The counters now.
    pub fn stats(&self) -> SinkStats {
        let c = &self.counters;
        let queued = self.queue.lock().unwrap_or_else(|p| p.into_inner()).len();
        SinkStats {
            name: self.name.clone(),
            kind: self.target.kind(),
            enqueued: c.enqueued.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            given_up: c.given_up.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            queued: queued as u64,
        }
    }

    fn pop(&self) -> Option<Arc<Event>> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    async fn run(&self, lifecycle: &Lifecycle) {
        loop {
            // a stopping daemon still forwards its last records: `Notifier::drain` stops it
            let Some(event) = self.pop() else {
                if self.retiring.load(Ordering::Relaxed) {
                    return;
                }
                tokio::select! {
                    _ = self.stop.cancelled() => return,
                    _ = self.wake.notified() => continue,
                }
            };
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = lifecycle.force.cancelled() => return,
                _ = self.deliver(&event, lifecycle) => {}
            }
        }
    }

    /// Delivers `event`, retrying with backoff until it succeeds or its attempts or age run out.
    async fn deliver(&self, event: &Event, lifecycle: &Lifecycle) {
        let mut delay = self.retry.retry_delay;
        for attempt in 1..=self.retry.max_attempts {
            let now = lifecycle.now();
            match self
                .target
                .deliver(&self.name, event, attempt, now.timestamp())
                .await
            {
                Ok(()) => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => {
                    self.counters
                        .failed_attempts
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sink = %self.name, kind = self.target.kind(), event = %event.kind.as_str(), id = %event.id, attempt, error = %e, "notification delivery failed");
                }
            }
            let age = (lifecycle.now() - event.time).to_std().unwrap_or_default();
            if attempt == self.retry.max_attempts || age + delay > self.retry.max_age {
                break;
            }
            tokio::select! {
                _ = self.stop.cancelled() => return,
                // stopping: no more waiting (what is left is given up and counted)
                _ = lifecycle.shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.retry.max_retry_delay);
        }
        self.counters.given_up.fetch_add(1, Ordering::Relaxed);
        tracing::error!(sink = %self.name, event = %event.kind.as_str(), id = %event.id, "notification given up after its retries; see the failures logged before");
    }
}
