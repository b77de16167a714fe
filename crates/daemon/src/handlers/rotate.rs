//! `wardenctl rotate INSTANCE/CLIENT --yes`: rotate one declared client's secret now, through
//! the same engine, lock and change-log records as the schedule. Undeclared and foreign clients
//! are refused. The rotation runs as a tracked task, so a stopping daemon waits for it.
//!
//! `wardenctl rotate --recover INSTANCE/CLIENT`: run [`RotationEngine::recover`] for that client
//! now (what the daemon otherwise does on its own after `daemon.recovery_delay`) and say what
//! it did: verified a stored secret, rotated again because a minted secret was lost, or found
//! nothing to recover.
//!
//! [`RotationEngine::recover`]: warden_core::rotation::RotationEngine::recover

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{ErrorCode, Response, RotateRequest, RotateResponse};

use warden_core::rotation::RotationAction;

use crate::jobs::management_client;
use crate::rotation::{self, MANAGEMENT_NAME, RunFailure};
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, actor: Actor, request: RotateRequest) -> Response {
    if !request.confirmed && !request.recover {
        return Response::error(
            ErrorCode::ConfirmationRequired,
            "rotating a secret invalidates the current one at once; confirm with --yes",
        );
    }
    let config = shared.config();
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
    if shared.shutdown.is_cancelled() {
        return Response::error(
            ErrorCode::Unavailable,
            "wardend is stopping; retry after it restarts",
        );
    }
    let shared2 = Arc::clone(shared);
    let instance = request.instance.clone();
    let recover = request.recover;
    let label = format!("{}/{}", request.instance, request.client);
    let task = shared.jobs_tracker.spawn(async move {
        let jamf = management_client(&shared2, &instance)
            .await
            .map_err(|m| RunFailure::new(ErrorCode::Unavailable, m))?;
        let result = rotation::run_one(&shared2, &jamf, &target, actor, recover).await;
        if target.client.name == MANAGEMENT_NAME {
            let _ = management_client(&shared2, &instance).await;
        }
        result
    });
    match task.await {
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
        Ok(Err(failure)) => Response::error(failure.code, failure.message),
        Err(e) => Response::error(ErrorCode::Internal, format!("rotation task failed: {e}")),
    }
}
