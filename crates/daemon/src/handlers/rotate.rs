//! `wardenctl rotate INSTANCE/CLIENT --yes`: rotate one declared client's secret now, through
//! the same engine, lock and change-log records as the schedule. Undeclared and foreign clients
//! are refused. The rotation runs as a tracked task, so a stopping daemon waits for it.
//!
//! `wardenctl rotate --recover INSTANCE/CLIENT`: run [`RotationEngine::recover`] for that client
//! now (what the daemon otherwise does on its own after `daemon.recovery_delay`) and say what
//! it did: verified a stored secret, rotated again because a minted secret was lost, or found
//! nothing to recover.
//!
//! `--accept-out-of-band` skips the out-of-band check once (the secret in Vault no longer gets a
//! token: changed outside Warden); the change log records it. An adopted client held until its
//! cutover is refused: `wardenctl adopt` cuts it over.
//!
//! [`RotationEngine::recover`]: warden_core::rotation::RotationEngine::recover

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::config::Config;
use warden_core::protocol::{ErrorCode, Response, RotateRequest, RotateResponse};
use warden_core::rotation::RotationAction;

use crate::runtime::lifecycle::Lifecycle;
use crate::services::ServiceError;
use crate::services::rotation::{self, Rotation};

pub async fn handle(
    config: &Config,
    rotation: &Arc<Rotation>,
    lifecycle: &Lifecycle,
    actor: Actor,
    request: RotateRequest,
) -> Response {
    if !request.confirmed && !request.recover {
        return Response::error(
            ErrorCode::ConfirmationRequired,
            "rotating a secret invalidates the current one at once; confirm with --yes",
        );
    }
    let Some(inst) = config.instance(&request.instance) else {
        return Response::error(
            ErrorCode::NotFound,
            format!("no instance named {} is configured", request.instance),
        );
    };
    let Some(target) = rotation::target(inst, &request.client) else {
        return Response::error(
            ErrorCode::NotFound,
            format!(
                "client {:?} is not declared for instance {}; Warden rotates only the clients declared in the desired state",
                request.client, request.instance
            ),
        );
    };
    let recover = request.recover;
    let accept = request.accept_out_of_band;
    let label = format!("{}/{}", request.instance, request.client);
    let svc = Arc::clone(rotation);
    let task = super::tracked(lifecycle, async move {
        svc.rotate_managed_with(&target, actor, recover, accept)
            .await
    });
    match task.await {
        Err(response) => response,
        Ok(Ok(Some((outcome, seq)))) if recover => Response::ok(format!(
            "recovered {label}: {}; {} at {} version {} (change log seq {seq})",
            outcome.recovery.as_ref().map_or_else(
                || "finished the interrupted rotation".to_string(),
                ToString::to_string
            ),
            match outcome.action {
                RotationAction::Rotated => "new secret stored and verified",
                RotationAction::Verified => "stored secret verified",
            },
            outcome.vault_path,
            outcome.version,
        )),
        Ok(Ok(None)) if recover => Response::ok(format!(
            "nothing to recover for {label}: its last rotation finished"
        )),
        Ok(Ok(Some((outcome, seq)))) => Response::Rotated(RotateResponse {
            instance: outcome.instance,
            client_id: outcome.client_id,
            vault_path: outcome.vault_path,
            vault_version: outcome.version,
            change_seq: seq,
        }),
        Ok(Ok(None)) => {
            Response::error(ErrorCode::Internal, "the rotation ended without an outcome")
        }
        Ok(Err(e)) => e.response(),
    }
}
