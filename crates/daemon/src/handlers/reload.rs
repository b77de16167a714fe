//! `wardenctl reload`: the same validate → diff → apply as SIGHUP, answered with the summary.

use warden_core::changelog::Actor;
use warden_core::protocol::Response;

use crate::services::ServiceError;
use crate::services::reload::Reload;

pub async fn handle(reload: &Reload, actor: Actor) -> Response {
    match reload.reload(actor).await {
        Ok(summary) => Response::Reloaded { summary },
        Err(e) => e.response(),
    }
}
