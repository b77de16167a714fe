//! One handler per request, one file per handler.

mod bootstrap;
mod drift;
mod instances;
mod log_tail;
mod log_verify;
mod reload;
mod rotate;
mod secrets;
mod status;
mod unsupported;

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{ErrorCode, Request, Response};

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
        Request::Drift(r) => drift::drift(shared, r.instance).await,
        Request::Plan(r) => drift::plan(shared, r.instance).await,
        Request::Secrets(r) => secrets::handle(shared, r.instance).await,
        Request::Rotate(r) => rotate::handle(shared, actor(peer), r).await,
        other => unsupported::handle(&other),
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
