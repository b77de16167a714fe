//! `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME --yes`: release an adopted client's
//! hold (recorded in Vault and the change log). With `now`, its first rotation runs at once
//! through the same engine, lock and records as `rotate`; with a time, the rotation job does it
//! at its first run at or after that time. The answer says what the consumer must read from
//! Vault from then on.
//!
//! `wardenctl adopt INSTANCE/CLIENT --switched --yes`: the owner confirms that the consumers of
//! an alternating client read Vault, so the declared client's own secret may be rotated.

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::config::{Config, RotationStrategy};
use warden_core::protocol::{AdoptRequest, Cutover, ErrorCode, Response};
use warden_core::rotation::{RotationTarget, alternate_name};

use crate::runtime::lifecycle::Lifecycle;
use crate::services::ServiceError;
use crate::services::rotation::{self, AdoptChange, Rotation};

pub async fn handle(
    config: &Config,
    rotation: &Arc<Rotation>,
    lifecycle: &Lifecycle,
    actor: Actor,
    request: AdoptRequest,
) -> Response {
    if !request.confirmed {
        return Response::error(
            ErrorCode::ConfirmationRequired,
            "a cutover lets Warden rotate the client, after which its consumers must read Vault; confirm with --yes",
        );
    }
    let change = match (&request.cutover, request.switched) {
        (Some(Cutover::Now), false) => AdoptChange::Cutover(lifecycle.now()),
        (Some(Cutover::At { at }), false) => AdoptChange::Cutover(*at),
        (None, true) => AdoptChange::Switched,
        _ => {
            return Response::error(
                ErrorCode::BadRequest,
                "say either --cutover now|at TIME or --switched",
            );
        }
    };
    let Some(inst) = config.instance(&request.instance) else {
        return super::no_instance(&request.instance);
    };
    let Some(target) = rotation::target(inst, &request.client) else {
        return Response::error(
            ErrorCode::NotFound,
            format!(
                "client {:?} is not declared for instance {}; declare it in the desired state first",
                request.client, request.instance
            ),
        );
    };
    let label = format!("{}/{}", request.instance, request.client);
    let record = match rotation.adopt(&target, change, actor.clone()).await {
        Ok(r) => r,
        Err(e) => return e.response(),
    };
    let AdoptChange::Cutover(at) = change else {
        // the consumer has moved: no instructions to repeat
        return Response::ok(format!(
            "{label}: the owner confirmed that its consumers read Vault (recorded); Warden now rotates `{}` itself on its schedule, so a consumer still holding its old secret breaks then.",
            target.client.name
        ));
    };
    let consumer = consumer_text(config, rotation, &target, &label);
    if !matches!(request.cutover, Some(Cutover::Now)) {
        return Response::ok(format!(
            "{label}: cutover recorded for {}; the first rotation after it runs at the rotation job's first run at or after that time.\n{consumer}",
            at.to_rfc3339()
        ));
    }
    let svc = Arc::clone(rotation);
    let rotate_target = target.clone();
    let task = super::tracked(lifecycle, async move {
        svc.rotate_managed(&rotate_target, actor, false).await
    });
    let rotated = match task.await {
        Err(response) => return response,
        Ok(Ok(Some((o, seq)))) => format!(
            "first rotation done: new secret of `{}` (client id {}) in vault at {} version {}, change log seq {seq}",
            o.jamf_client, o.client_id, o.vault_path, o.version
        ),
        Ok(Ok(None)) => "first rotation ended without an outcome; see `wardenctl secrets`".into(),
        Ok(Err(e)) => {
            return Response::error(
                e.code(),
                format!(
                    "{label}: cutover recorded (cut over at {}), but its first rotation failed: {e}; the rotation job retries at its next run",
                    record
                        .cutover_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default()
                ),
            );
        }
    };
    Response::ok(format!("{label}: cut over; {rotated}.\n{consumer}"))
}

/// What the consumer must read from Vault from now on.
fn consumer_text(
    config: &Config,
    rotation: &Rotation,
    target: &RotationTarget,
    label: &str,
) -> String {
    let mount = &config.vault.kv_mount;
    let path = rotation.full_path(target);
    let mut out = format!(
        "The consumer must read its credentials from Vault from now on (re-read them whenever Jamf refuses a token):\n  \
         mount:  {mount}\n  \
         path:   {path}\n  \
         fields: client_id, client_secret, jamf_url, token_url\n  \
         fetch:  bao kv get -mount={mount} -field=client_secret {path}   (vault kv get works the same)\n  \
         token:  POST grant_type=client_credentials, client_id, client_secret to token_url\n"
    );
    match target.client.rotation.strategy {
        RotationStrategy::Alternating => out.push_str(&format!(
            "Alternating: the cutover stores the twin `{}`'s secret at that path; the secret the consumer holds now (of `{}`) keeps working. Once the consumer reads Vault, confirm with `wardenctl adopt '{label}' --switched --yes`; Warden cannot see which secret a consumer uses, and does not rotate `{}` itself until then.\n",
            alternate_name(&target.client.name),
            target.client.name,
            target.client.name
        )),
        RotationStrategy::Single => out.push_str(
            "Single: the secret the consumer held stops working at the first rotation; switch the consumer to Vault at the cutover (use `strategy = \"alternating\"` for a switch without downtime).\n",
        ),
    }
    out
}
