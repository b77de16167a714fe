//! The daemon's own recovery of interrupted rotations.
//!
//! At start-up, [`startup`] finds and finishes rotations a stopped daemon left unfinished (a
//! secret minted and lost is rotated again, one stored but not verified is verified); the same
//! pass over Vault tells which clients Warden has rotated and primes the first drift check's
//! cache. Afterwards, at every scheduler tick, [`tick`] starts the recoveries due on the
//! rotation service's backoff table, by the daemon's clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use warden_core::changelog::Actor;
use warden_core::config::Instance;

use crate::runtime::lifecycle::Lifecycle;
use crate::services::config::LiveConfig;
use crate::services::instances::Instances;
use crate::services::rotation::heal::HealKey;
use crate::services::rotation::{Rotation, target, targets};

/// Instances the start-up scan goes through at the same time.
const RECOVERY_SCAN_INSTANCES: usize = 8;

/// What recovery works with.
#[derive(Clone)]
pub struct Recovery {
    pub config: Arc<LiveConfig>,
    pub cluster: Arc<crate::services::cluster::Cluster>,
    pub rotation: Arc<Rotation>,
    pub instances: Arc<Instances>,
    pub lifecycle: Arc<Lifecycle>,
}

/// Finds and finishes rotations a stopped daemon left unfinished; the rotation job and the
/// recovery tick wait until this has finished.
pub async fn startup(r: Recovery) {
    let _done = r.rotation.startup_recovery_done();
    let config = r.config.get();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..config.instances.len() {
        // in a cluster: only the instances held now (those taken later are scanned when taken)
        if !r.cluster.may_work_on(&config.instances[index].name) {
            continue;
        }
        // a few instances at a time: each is a sequence of Vault reads, recoveries are rare
        if tasks.len() >= RECOVERY_SCAN_INSTANCES {
            let _ = tasks.join_next().await;
        }
        let (r, config) = (r.clone(), Arc::clone(&config));
        tasks.spawn(async move { recover_instance(&r, &config.instances[index]).await });
    }
    while tasks.join_next().await.is_some() {}
}

async fn recover_instance(r: &Recovery, inst: &Instance) {
    let mut unfinished = Vec::new();
    let mut rotated = std::collections::BTreeMap::new();
    let mut complete = true;
    for target in targets(inst) {
        if r.lifecycle.stopping() {
            return;
        }
        match r.rotation.status(&target).await {
            Ok(s) => {
                if let Some(at) = s.rotated_at {
                    rotated.insert(target.client.name.clone(), at);
                }
                // only touch Jamf when Vault says a rotation was interrupted
                if matches!(s.state.as_str(), "pending" | "stored") {
                    unfinished.push(target);
                }
            }
            Err(e) => {
                complete = false;
                tracing::warn!(instance = %inst.name, client = %target.client.name, error = %e, "cannot check for an interrupted rotation");
            }
        }
    }
    if complete {
        r.instances.remember_rotated(&inst.name, rotated);
    }
    // the daemon keeps recovering these on its own (with backoff) until they are finished,
    // even if this first attempt fails or cannot start
    for target in &unfinished {
        r.rotation
            .schedule_recovery(&inst.name, &target.client.name);
    }
    for target in unfinished {
        if r.lifecycle.stopping() {
            return;
        }
        match r
            .rotation
            .rotate_managed(&target, Actor::Daemon, true)
            .await
        {
            Ok(_) => {}
            Err(crate::services::rotation::RotateError::Instance(e)) => {
                tracing::warn!(instance = %inst.name, error = %e, "cannot recover interrupted rotations");
                break;
            }
            Err(e) => {
                tracing::error!(instance = %inst.name, client = %target.client.name, error = %e, "recovery of an interrupted rotation failed");
            }
        }
    }
}

/// Starts a recovery for every client due at `now`; returns the earliest attempt still to
/// come (the scheduler sleeps until then at most). Waits for start-up recovery to finish
/// first, so the two never recover one client at once.
pub fn tick(r: &Recovery, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if r.lifecycle.stopping() || !r.rotation.startup_recovered() {
        return r.rotation.next_recovery();
    }
    // instances this daemon took over from another: finish what their old holder left
    let config = r.config.get();
    for name in r.cluster.take_newly_held() {
        if config.instance(&name).is_none() {
            continue;
        }
        let (r2, config) = (r.clone(), Arc::clone(&config));
        r.lifecycle.tracker.spawn(async move {
            if let Some(inst) = config.instance(&name) {
                tracing::info!(instance = %name, "looking for rotations its previous holder left unfinished");
                recover_instance(&r2, inst).await;
            }
            r2.lifecycle.wake.notify_one();
        });
    }
    for key in r.rotation.take_due_recoveries(now) {
        let r2 = r.clone();
        r.lifecycle.tracker.spawn(async move {
            attempt(&r2, key).await;
            r2.lifecycle.wake.notify_one();
        });
    }
    r.rotation.next_recovery()
}

/// One recovery attempt.
async fn attempt(r: &Recovery, key: HealKey) {
    let (instance, client) = (&key.0, &key.1);
    if !r.cluster.may_work_on(instance) {
        tracing::info!(instance = %instance, client = %client, "another daemon holds the instance now: it recovers the rotation");
        r.rotation.recovery_done(&key);
        return;
    }
    let config = r.config.get();
    let Some(target) = config
        .instance(instance)
        .and_then(|inst| target(inst, client))
    else {
        tracing::info!(
            instance = %instance,
            client = %client,
            "no longer configured: its interrupted rotation is not recovered"
        );
        r.rotation.recovery_done(&key);
        return;
    };
    tracing::info!(instance = %instance, client = %client, "recovering an interrupted rotation");
    match r
        .rotation
        .rotate_managed(&target, Actor::Daemon, true)
        .await
    {
        // run_one removed the entry
        Ok(_) => r.rotation.recovery_done(&key),
        Err(e) => {
            let next = r.rotation.recovery_failed(&key, e.to_string());
            tracing::warn!(
                instance = %instance,
                client = %client,
                error = %e,
                next_attempt = next.map(tracing::field::display),
                "recovery of an interrupted rotation failed; retrying with backoff"
            );
        }
    }
}
