//! `wardenctl log verify`: the whole chain, checked against the head anchor kept in Vault (so a
//! rewritten file is caught), or the local anchor when Vault cannot be read, and every record's
//! MAC checked with the daemon's key.

use warden_core::protocol::Response;

use crate::services::ServiceError;
use crate::services::changes::Changes;

pub async fn handle(changes: &Changes) -> Response {
    match changes.verify().await {
        Ok(report) => Response::LogVerify(report),
        Err(e) => e.response(),
    }
}
