//! `wardenctl reload`: the same validate → diff → apply as SIGHUP, answered with the summary.

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{ErrorCode, Response};

use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>, actor: Actor) -> Response {
    match crate::reload::reload(shared, actor).await {
        Ok(summary) => Response::Reloaded { summary },
        Err(message) => Response::error(ErrorCode::BadRequest, message),
    }
}
