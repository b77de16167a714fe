//! The scheduled rotation job of one instance: finish any interrupted rotation, then rotate
//! every declared client whose policy says it is due (schedule and/or maximum age; never an
//! adopted client held until its cutover, nor one whose last rotation was refused because its
//! secret was changed out of band), and
//! Warden's own management client last. It starts only once start-up recovery has finished, so
//! the two never recover the same client at once. Stops starting new rotations once the daemon
//! stops; a rotation in progress always runs to its end.

use warden_core::changelog::Actor;
use warden_core::config::Instance;

use super::JobError;
use crate::runtime::lifecycle::Lifecycle;
use crate::services::rotation::{RotateError, Rotation, targets};

/// Runs the rotation job; `Ok` carries a one-line summary.
pub async fn run(
    rotation: &Rotation,
    lifecycle: &Lifecycle,
    inst: &Instance,
) -> Result<String, JobError> {
    let actor = Actor::Schedule {
        job: format!("rotation:{}", inst.name),
    };
    // Start-up recovery finishes interrupted rotations first: recovering the same client from
    // two tasks at once would fail one of them on the other's in-process guard.
    tokio::select! {
        _ = rotation.wait_startup_recovery() => {}
        _ = lifecycle.shutdown.cancelled() => {}
    }
    let (mut rotated, mut recovered, mut failed) = (0u32, 0u32, Vec::new());
    for target in targets(inst) {
        if lifecycle.stopping() {
            break;
        }
        // the daemon's own recovery is working on this client right now: leave it to it
        if rotation.recovery_running(&inst.name, &target.client.name) {
            continue;
        }
        // the management client is rebuilt per target: its own rotation changes it
        match rotation.rotate_managed(&target, actor.clone(), true).await {
            Ok(Some(_)) => recovered += 1,
            Ok(None) => {}
            Err(RotateError::Instance(e)) => return Err(JobError::Instance(e)),
            Err(e) => {
                failed.push(format!("{}: {e}", target.client.name));
                continue;
            }
        }
        let status = match rotation.status(&target).await {
            Ok(s) => s,
            Err(e) => {
                failed.push(format!("{}: {e}", target.client.name));
                continue;
            }
        };
        // adopted and held, or refused out of band: left alone until a person acts
        rotation.note_hold(&target, &status);
        if !status.due {
            continue;
        }
        match rotation.rotate_managed(&target, actor.clone(), false).await {
            Ok(_) => rotated += 1,
            Err(e) => {
                if let Ok(status) = rotation.status(&target).await {
                    rotation.note_hold(&target, &status);
                }
                failed.push(format!("{}: {e}", target.client.name))
            }
        }
    }
    if failed.is_empty() {
        Ok(format!(
            "rotation: {rotated} secret(s) rotated, {recovered} interrupted rotation(s) recovered"
        ))
    } else {
        Err(JobError::Rotation {
            failed,
            rotated,
            recovered,
        })
    }
}
