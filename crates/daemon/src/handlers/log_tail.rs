//! `wardenctl log tail -n N`: the last N change-log records.

use warden_core::protocol::Response;

use crate::services::ServiceError;
use crate::services::changes::Changes;

/// At most this many records per answer, so a reply stays well under the response frame cap
/// (records are at most 1 MiB, usually a few hundred bytes).
pub const MAX_TAIL: usize = 10_000;

pub async fn handle(changes: &Changes, n: usize) -> Response {
    match changes.tail(n.min(MAX_TAIL)).await {
        Ok(records) => Response::LogTail { records },
        Err(e) => e.response(),
    }
}
