//! Requests this daemon does not serve yet: secrets, rotate, drift, plan, apply, audit and
//! suppress arrive with the rotation, drift and audit work. They get a clear `unsupported`
//! answer rather than a silent success.

use warden_core::protocol::{ErrorCode, Request, Response};

pub fn handle(request: &Request) -> Response {
    Response::error(
        ErrorCode::Unsupported,
        format!(
            "this wardend ({}) does not implement `{}` yet",
            env!("CARGO_PKG_VERSION"),
            request
                .log_safe()
                .split_whitespace()
                .next()
                .unwrap_or("request")
        ),
    )
}
