//! `wardenctl log tail -n N`: the last N change-log records.

use std::sync::Arc;

use warden_core::changelog;
use warden_core::protocol::{ErrorCode, Response};

use crate::shared::Shared;

/// At most this many records per answer, so a reply stays well under the response frame cap
/// (records are at most 1 MiB, usually a few hundred bytes).
pub const MAX_TAIL: usize = 10_000;

pub async fn handle(shared: &Arc<Shared>, n: usize) -> Response {
    let path = shared.changelog.path().to_path_buf();
    let n = n.min(MAX_TAIL);
    match tokio::task::spawn_blocking(move || changelog::tail(&path, n)).await {
        Ok(Ok(records)) => Response::LogTail { records },
        Ok(Err(e)) => Response::error(
            ErrorCode::Internal,
            format!("cannot read the change log: {e}"),
        ),
        Err(e) => Response::error(ErrorCode::Internal, format!("log tail failed: {e}")),
    }
}
