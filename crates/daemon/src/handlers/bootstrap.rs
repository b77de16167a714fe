//! `wardenctl bootstrap INSTANCE`: set up Warden's own management client with an admin's
//! one-time session (see [`Bootstrap`](crate::services::bootstrap)). Runs as a tracked task,
//! so a graceful stop of the daemon waits for it (a minted secret is never abandoned half-way
//! by a stop).

use std::sync::Arc;

use warden_core::changelog::Actor;
use warden_core::protocol::{BootstrapRequest, Response};

use crate::runtime::lifecycle::Lifecycle;
use crate::services::ServiceError;
use crate::services::bootstrap::Bootstrap;

pub async fn handle(
    bootstrap: &Arc<Bootstrap>,
    lifecycle: &Lifecycle,
    actor: Actor,
    request: BootstrapRequest,
) -> Response {
    let bootstrap = Arc::clone(bootstrap);
    match super::tracked(
        lifecycle,
        async move { bootstrap.run(actor, request).await },
    )
    .await
    {
        Ok(Ok(done)) => Response::Bootstrapped(done),
        Ok(Err(failure)) => failure.response(),
        Err(response) => response,
    }
}
