//! The scheduled rotation job of one instance: finish any interrupted rotation, then rotate
//! every declared client whose policy says it is due (schedule and/or maximum age), and
//! Warden's own management client last. It starts only once start-up recovery has finished, so
//! the two never recover the same client at once. Stops starting new rotations once the daemon
//! stops; a rotation in progress always runs to its end.

use std::sync::Arc;

use warden_core::changelog::Actor;

use crate::rotation::{self, MANAGEMENT_NAME};
use crate::shared::Shared;

use super::management_client;

pub async fn run(shared: &Arc<Shared>, instance: &str) -> Result<String, String> {
    let config = shared.config();
    let inst = config
        .instance(instance)
        .ok_or_else(|| format!("instance {instance} is no longer configured"))?
        .clone();
    let actor = Actor::Schedule {
        job: format!("rotation:{instance}"),
    };
    // Start-up recovery finishes interrupted rotations first: recovering the same client from
    // two tasks at once would fail one of them on the other's in-process guard.
    tokio::select! {
        _ = shared.startup_recovery.cancelled() => {}
        _ = shared.shutdown.cancelled() => {}
    }
    let (mut rotated, mut recovered, mut failed) = (0u32, 0u32, Vec::new());
    for target in rotation::targets(&inst) {
        if shared.shutdown.is_cancelled() {
            break;
        }
        // the daemon's own recovery is working on this client right now: leave it to it
        if crate::heal::is_running(shared, instance, &target.client.name) {
            continue;
        }
        // rebuilt per target: the management client's own rotation changes its credentials
        let jamf = management_client(shared, instance).await?;
        match rotation::run_one(shared, &jamf, &target, actor.clone(), true).await {
            Ok(Some(_)) => recovered += 1,
            Ok(None) => {}
            Err(e) => {
                failed.push(format!("{}: {e}", target.client.name));
                continue;
            }
        }
        let status = match shared.rotation.status(&target).await {
            Ok(s) => s,
            Err(e) => {
                failed.push(format!("{}: {e}", target.client.name));
                continue;
            }
        };
        if !status.due {
            continue;
        }
        match rotation::run_one(shared, &jamf, &target, actor.clone(), false).await {
            Ok(_) => rotated += 1,
            Err(e) => failed.push(format!("{}: {e}", target.client.name)),
        }
        if target.client.name == MANAGEMENT_NAME {
            // switch to the new management secret at once
            let _ = management_client(shared, instance).await;
        }
    }
    if failed.is_empty() {
        Ok(format!(
            "rotation: {rotated} secret(s) rotated, {recovered} interrupted rotation(s) recovered"
        ))
    } else {
        Err(format!(
            "rotation: {} failed ({}); {rotated} rotated, {recovered} recovered",
            failed.len(),
            failed.join("; ")
        ))
    }
}
