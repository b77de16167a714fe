//! This daemon's place in a cluster (`[cluster]`, `docs/ha.md`): its heartbeat in Vault, the
//! instances whose leases it holds, and the rounds that take and give back instances so every
//! live daemon holds its share ([`warden_core::cluster`] has the records and the decisions).
//!
//! Without `[cluster]` the daemon is alone: it may work on every instance and nothing is
//! written. With it, jobs start only on instances this daemon holds, and only while its own
//! heartbeat stands by its monotonic clock (`lease_ttl` from the moment the last successful
//! renewal was sent): a daemon that cannot reach Vault, or was paused, stops working on its
//! instances before any other daemon may take them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::clock::Stopwatch;
use warden_core::cluster::{self, ClusterError, Identity, Member, Members, Taken};
use warden_core::config::Config;
use warden_core::protocol::{ClusterMember, ClusterStatus, ErrorCode, HeldLease};
use warden_core::rotation::LeaseRefused;
use warden_core::schedule::{JobKey, JobKind};

use super::ServiceError;
use super::schedule::Schedule;
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::store::Store;

impl ServiceError for ClusterError {
    fn code(&self) -> ErrorCode {
        match self {
            ClusterError::Store(_) | ClusterError::Contended => ErrorCode::Unavailable,
            ClusterError::LeaseLost { .. } => ErrorCode::Conflict,
            ClusterError::Corrupt { .. } | ClusterError::DuplicateId { .. } => ErrorCode::Internal,
        }
    }
}

/// An instance this daemon holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    fence: u64,
    since: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    held: BTreeMap<String, Held>,
    members: Members,
    /// Started just before the last heartbeat write that succeeded.
    renewed: Option<Stopwatch>,
    last_error: Option<String>,
    /// Instances taken since the recovery tick last looked: their interrupted rotations are
    /// looked for, as at start-up.
    newly_held: Vec<String>,
}

/// The cluster service.
pub struct Cluster {
    settings: Option<warden_core::config::Cluster>,
    me: Identity,
    host: String,
    started_at: DateTime<Utc>,
    store: Store,
    lifecycle: Arc<Lifecycle>,
    schedule: Arc<Schedule>,
    state: Mutex<State>,
}

/// What builds the cluster service.
pub struct ClusterDeps {
    pub settings: Option<warden_core::config::Cluster>,
    pub daemon_id: String,
    pub store: Store,
    pub lifecycle: Arc<Lifecycle>,
    pub schedule: Arc<Schedule>,
}

impl Cluster {
    /// The service; with `settings` `None` the daemon is alone.
    pub fn new(d: ClusterDeps) -> Cluster {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown-host".into());
        Cluster {
            settings: d.settings,
            me: Identity::new(d.daemon_id),
            host,
            started_at: d.lifecycle.now(),
            store: d.store,
            lifecycle: d.lifecycle,
            schedule: d.schedule,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `[cluster]` settings, `None` when alone.
    pub fn settings(&self) -> Option<&warden_core::config::Cluster> {
        self.settings.as_ref()
    }

    /// Whether this daemon's heartbeat stands by its own monotonic clock.
    fn stands(&self, state: &State) -> bool {
        let Some(s) = &self.settings else {
            return true;
        };
        state.renewed.is_some_and(|r| r.elapsed() < s.lease_ttl)
    }

    /// Whether this daemon may start work on `instance` now: always when alone; in a cluster
    /// while it holds the instance's lease and its own heartbeat stands.
    pub fn may_work_on(&self, instance: &str) -> bool {
        if self.settings.is_none() {
            return true;
        }
        let state = self.state();
        self.stands(&state) && state.held.contains_key(instance)
    }

    /// Who holds `instance`, read from its lease in Vault: `None` when this daemon may work on
    /// it (or is alone), else the other daemon's id, or why none does.
    pub async fn elsewhere(&self, instance: &str) -> Option<String> {
        if self.may_work_on(instance) {
            return None;
        }
        Some(match cluster::read_lease(&self.store, instance).await {
            Ok(Some((_, lease))) if !lease.released && lease.owner != self.me.daemon => lease.owner,
            Ok(_) => "none yet (it is being handed over; retry in a few seconds)".into(),
            Err(e) => format!("unknown ({e})"),
        })
    }

    /// Confirms in Vault, right before a job writes, that this daemon still holds `instance`
    /// under the fencing counter it took it with, and returns that counter (0 when alone).
    pub async fn confirm(&self, instance: &str) -> Result<u64, ClusterError> {
        if self.settings.is_none() {
            return Ok(0);
        }
        let held = {
            let state = self.state();
            if !self.stands(&state) {
                None
            } else {
                state.held.get(instance).copied()
            }
        };
        let Some(held) = held else {
            return Err(ClusterError::LeaseLost {
                instance: instance.to_owned(),
                holder: self
                    .elsewhere(instance)
                    .await
                    .unwrap_or_else(|| "unknown".into()),
            });
        };
        let result = cluster::confirm(&self.store, instance, &self.me, held.fence).await;
        if let Err(ClusterError::LeaseLost { .. }) = &result {
            self.state().held.remove(instance);
        }
        result.map(|()| held.fence)
    }

    fn skew(&self) -> TimeDelta {
        self.settings.as_ref().map_or(TimeDelta::zero(), |s| {
            TimeDelta::from_std(s.max_clock_skew).unwrap_or(TimeDelta::zero())
        })
    }

    /// One round: renew the heartbeat, then take the instances assigned to this daemon and
    /// give back, when no job of theirs runs, those assigned elsewhere.
    pub async fn round(&self, config: &Config) {
        let Some(settings) = self.settings.clone() else {
            return;
        };
        let now = self.lifecycle.now();
        let ttl = TimeDelta::from_std(settings.lease_ttl).unwrap_or(TimeDelta::seconds(30));
        let member = Member {
            incarnation: self.me.incarnation.clone(),
            host: self.host.clone(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: self.started_at,
            renewed_at: now,
            expires_at: now + ttl,
            instances: self.state().held.len(),
        };
        let sent = Stopwatch::start();
        match cluster::heartbeat(&self.store, &self.me.daemon, &member, now, self.skew()).await {
            Ok(members) => {
                let mut state = self.state();
                if !self.stands(&state) && !state.held.is_empty() {
                    // it lapsed (a pause, Vault out of reach): the others may have taken any of
                    // them; each is claimed again below, and kept only if still this daemon's
                    tracing::warn!(
                        instances = state.held.len(),
                        "the heartbeat had lapsed: checking every held instance again"
                    );
                    state.held.clear();
                }
                state.members = members;
                state.renewed = Some(sent);
                state.last_error = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew this daemon's cluster heartbeat");
                let mut state = self.state();
                state.last_error = Some(e.to_string());
                if matches!(e, ClusterError::DuplicateId { .. }) {
                    state.renewed = None;
                }
                if !self.stands(&state) && !state.held.is_empty() {
                    tracing::error!(
                        instances = state.held.len(),
                        "the heartbeat lapsed: giving up every instance until it is renewed"
                    );
                    state.held.clear();
                }
                return;
            }
        }
        // the lease moves take at most half a renewal interval: the next heartbeat is never
        // late because of them (what is left waits for the next round)
        self.rebalance(config, now, settings.renew_every / 2).await;
    }

    async fn rebalance(&self, config: &Config, now: DateTime<Utc>, budget: std::time::Duration) {
        let started = Stopwatch::start();
        let members = self.state().members.clone();
        let skew = self.skew();
        let live = members.live(now, skew);
        let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
        let assigned = cluster::assign(&names, &live);
        for name in &names {
            if started.elapsed() >= budget {
                tracing::debug!("lease moves left for the next round");
                return;
            }
            let mine = assigned.get(name).is_some_and(|d| *d == self.me.daemon);
            let held = self.state().held.contains_key(*name);
            if mine && !held {
                self.take(name, &members, now, skew).await;
            } else if !mine && held && !self.busy(name) {
                self.give_back(name).await;
            }
        }
        // instances removed from the configuration
        let gone: Vec<String> = self
            .state()
            .held
            .keys()
            .filter(|n| !names.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if !self.busy(&name) {
                self.give_back(&name).await;
            }
        }
    }

    async fn take(&self, name: &str, members: &Members, now: DateTime<Utc>, skew: TimeDelta) {
        match cluster::acquire(&self.store, name, &self.me, members, now, skew).await {
            Ok(Taken::Holding { fence, from, new }) => {
                if new {
                    tracing::info!(
                        instance = name,
                        fence,
                        from = from.as_deref().unwrap_or("nobody"),
                        "took the instance's lease"
                    );
                }
                let mut state = self.state();
                state
                    .held
                    .insert(name.to_owned(), Held { fence, since: now });
                if new {
                    state.newly_held.push(name.to_owned());
                }
                drop(state);
                // its jobs run here from now on: the scheduler looks again
                self.lifecycle.wake.notify_one();
            }
            Ok(Taken::Busy { owner }) => {
                tracing::debug!(instance = name, owner = %owner, "instance still held elsewhere");
            }
            Err(e) => {
                tracing::warn!(instance = name, error = %e, "cannot take the instance's lease")
            }
        }
    }

    async fn give_back(&self, name: &str) {
        let Some(held) = self.state().held.remove(name) else {
            return;
        };
        match cluster::release(&self.store, name, &self.me, held.fence).await {
            Ok(()) => tracing::info!(instance = name, "gave the instance's lease back"),
            Err(e) => {
                tracing::warn!(instance = name, error = %e, "cannot give the lease back; it lapses with the heartbeat")
            }
        }
    }

    /// The instances taken since the last call (their interrupted rotations are looked for).
    pub fn take_newly_held(&self) -> Vec<String> {
        std::mem::take(&mut self.state().newly_held)
    }

    /// Whether a job of this daemon runs on `name`.
    fn busy(&self, name: &str) -> bool {
        let jobs = self.schedule.table();
        JobKind::ALL.into_iter().any(|kind| {
            jobs.running_since(&JobKey::new(name.to_owned(), kind))
                .is_some()
        })
    }

    /// A clean stop: every lease given back and the heartbeat removed, so the others take the
    /// instances at their next round instead of after the lease expires.
    pub async fn leave(&self) {
        if self.settings.is_none() {
            return;
        }
        let held: Vec<String> = self.state().held.keys().cloned().collect();
        for name in held {
            self.give_back(&name).await;
        }
        let now = self.lifecycle.now();
        if let Err(e) = cluster::leave(&self.store, &self.me, now).await {
            tracing::warn!(error = %e, "cannot remove this daemon's heartbeat; it expires");
        }
    }

    /// The cluster as this daemon sees it, for `wardenctl status`; `None` when alone.
    pub fn status(&self) -> Option<ClusterStatus> {
        let settings = self.settings.as_ref()?;
        let now = self.lifecycle.now();
        let skew = self.skew();
        let state = self.state();
        let members = state
            .members
            .members
            .iter()
            .map(|(id, m)| ClusterMember {
                daemon: id.clone(),
                host: m.host.clone(),
                version: m.version.clone(),
                live: m.expires_at + skew > now,
                renewed_at: m.renewed_at,
                expires_at: m.expires_at,
                instances: if *id == self.me.daemon {
                    state.held.len()
                } else {
                    m.instances
                },
                this: *id == self.me.daemon,
            })
            .collect();
        let held = state
            .held
            .iter()
            .map(|(name, h)| HeldLease {
                instance: name.clone(),
                fence: h.fence,
                since: h.since,
            })
            .collect();
        Some(ClusterStatus {
            daemon: self.me.daemon.clone(),
            lease_ttl_secs: settings.lease_ttl.as_secs(),
            heartbeat_stands: self.stands(&state),
            last_error: state.last_error.clone(),
            members,
            held,
        })
    }
}

/// Rotations confirm the lease through the service before the intent and the mint.
impl warden_core::rotation::LeaseGuard for Cluster {
    fn fence<'a>(
        &'a self,
        instance: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, LeaseRefused>> + Send + 'a>>
    {
        Box::pin(async move {
            self.confirm(instance)
                .await
                .map_err(|e| LeaseRefused(e.to_string()))
        })
    }
}

/// Runs rounds every `renew_every` until shutdown, then leaves the cluster.
pub async fn run(cluster: Arc<Cluster>, config: Arc<super::config::LiveConfig>) {
    let Some(every) = cluster.settings().map(|s| s.renew_every) else {
        return;
    };
    let shutdown = cluster.lifecycle.shutdown.clone();
    loop {
        cluster.round(&config.get()).await;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
