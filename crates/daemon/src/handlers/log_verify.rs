//! `wardenctl log verify`: the whole chain, checked against the head anchor kept in Vault (so a
//! rewritten file is caught), or the local anchor when Vault cannot be read, and every record's
//! MAC checked with the daemon's key.

use std::sync::Arc;

use warden_core::changelog::{self, HeadStore};
use warden_core::protocol::{ErrorCode, Response};

use crate::head::load_vault_head;
use crate::shared::Shared;

pub async fn handle(shared: &Arc<Shared>) -> Response {
    let head = match load_vault_head(&shared.vault, &shared.vault_head_path).await {
        Ok(Some(h)) => Some(h),
        Ok(None) => local_head(shared),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the change-log head from vault; verifying against the local anchor");
            local_head(shared)
        }
    };
    let log = Arc::clone(&shared.changelog);
    let verify = move || changelog::verify_with(log.path(), head, log.mac_key());
    match tokio::task::spawn_blocking(verify).await {
        Ok(report) => Response::LogVerify(report),
        Err(e) => Response::error(ErrorCode::Internal, format!("log verify failed: {e}")),
    }
}

fn local_head(shared: &Shared) -> Option<changelog::Head> {
    let config = shared.config();
    changelog::FileHeadStore::new(crate::run::head_file(&config))
        .load()
        .ok()
        .flatten()
}
