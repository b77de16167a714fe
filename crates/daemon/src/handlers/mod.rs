//! One handler per request, one file per handler.

mod apply;
mod audit;
mod bootstrap;
mod drift;
mod import;
mod instances;
mod log_tail;
mod log_verify;
mod plan;
mod reload;
mod rotate;
mod secrets;
mod status;

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{
    ErrorCode, ReportBody, ReportFormat, ReportKind, ReportResponse, Request, Response,
};

use crate::shared::Shared;
use crate::socket::Peer;

/// Answers one (authorized) request.
pub async fn handle(shared: &Arc<Shared>, peer: &Peer, request: Request) -> Response {
    match request {
        Request::Hello(_) => Response::error(ErrorCode::BadRequest, "hello was already sent"),
        Request::Status => status::handle(shared),
        Request::Instances => instances::handle(shared),
        Request::Reload => reload::handle(shared, actor(peer)).await,
        Request::LogTail(r) => log_tail::handle(shared, r.n).await,
        Request::LogVerify => log_verify::handle(shared).await,
        Request::Bootstrap(r) => bootstrap::handle(shared, actor(peer), r).await,
        Request::Drift(r) => drift::handle(shared, r).await,
        Request::Plan(r) => plan::handle(shared, r).await,
        Request::Apply(r) => apply::handle(shared, actor(peer), r).await,
        Request::Import(r) => import::handle(shared, r).await,
        Request::Audit(r) => audit::handle(shared, r).await,
        Request::Secrets(r) => secrets::handle(shared, r.instance).await,
        Request::Rotate(r) => rotate::handle(shared, actor(peer), r).await,
    }
}

/// The change-log actor for a socket peer.
pub fn actor(peer: &Peer) -> Actor {
    Actor::User {
        uid: peer.uid,
        user: peer.user.clone(),
        pid: peer.pid,
    }
}

/// "No such instance", naming it.
pub(crate) fn no_instance(name: &str) -> Response {
    Response::error(
        ErrorCode::NotFound,
        format!("no instance named {name} is configured (see `wardenctl instances`)"),
    )
}

/// Indices into `config.instances` of the instances `names` lists (all when empty), in config
/// order. Indices, not copies: an instance carries its whole desired state.
pub(crate) fn select(config: &warden_core::config::Config, names: &[String]) -> Vec<usize> {
    config
        .instances
        .iter()
        .enumerate()
        .filter(|(_, i)| names.is_empty() || names.contains(&i.name))
        .map(|(n, _)| n)
        .collect()
}

/// A structured report; a body that cannot be encoded is an internal error.
pub(crate) fn report<T: serde::Serialize>(
    kind: ReportKind,
    instance: Option<String>,
    findings: u64,
    body: &T,
) -> Response {
    match ReportBody::encode(body) {
        Ok(body) => Response::Report(ReportResponse {
            kind,
            instance,
            format: ReportFormat::Json,
            findings,
            body,
        }),
        Err(e) => Response::error(
            ErrorCode::Internal,
            format!("cannot encode the {kind:?} report: {e}"),
        ),
    }
}
