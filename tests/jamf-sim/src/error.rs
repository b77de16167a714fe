//! The simulator's error type, which is also the Jamf `ApiError` response body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// Name of the response header the simulator adds to a 403 so a client can name
/// the privilege it is missing (a simulator addition; Jamf Pro does not send it).
pub const REQUIRED_PRIVILEGES_HEADER: &str = "x-required-privileges";

/// An error from the simulator: a Jamf Pro `ApiError` (status, code, description, field).
///
/// The HTTP API renders it as `{"httpStatus":N,"errors":[{"code","description","id":"0","field"}]}`;
/// the Rust handle ([`crate::SimInstance`]) returns it for the same validation failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("jamf-sim answered {status}: {description}")]
pub struct SimError {
    status: u16,
    code: Option<String>,
    description: String,
    field: Option<String>,
    lag_miss: bool,
    required_privileges: Option<String>,
}

impl SimError {
    /// A new error with an HTTP status, an optional Jamf error code and a description.
    pub fn new(status: u16, code: Option<&str>, description: impl Into<String>) -> Self {
        Self {
            status,
            code: code.map(str::to_owned),
            description: description.into(),
            field: None,
            lag_miss: false,
            required_privileges: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The Jamf error code (`INVALID_ID`, `INVALID_FIELD`...), if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The description text.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The field named by the error, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub(crate) fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// 400 without a code (the shape of Jamf's role validation errors).
    pub(crate) fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, None, description)
    }

    /// 400 `INVALID_FIELD` naming a field.
    pub(crate) fn invalid_field(field: &str, description: impl Into<String>) -> Self {
        Self::new(400, Some("INVALID_FIELD"), description).with_field(field)
    }

    /// 404 `INVALID_ID`.
    pub(crate) fn not_found(description: &str) -> Self {
        Self::new(404, Some("INVALID_ID"), description)
    }

    /// 401 `INVALID_TOKEN`.
    pub(crate) fn unauthorized() -> Self {
        Self::new(401, Some("INVALID_TOKEN"), "Unauthorized")
    }

    /// 403 `INVALID_PRIVILEGE` with the `x-required-privileges` header.
    pub(crate) fn forbidden(required: &[&str]) -> Self {
        let mut e = Self::new(403, Some("INVALID_PRIVILEGE"), "Forbidden");
        e.required_privileges = Some(required.join(", "));
        e
    }

    /// Marks a 404 that was served only because the entity is not yet visible on this node.
    pub(crate) fn lag(mut self) -> Self {
        self.lag_miss = true;
        self
    }

    pub(crate) fn is_lag_miss(&self) -> bool {
        self.lag_miss
    }

    /// The `ApiError` JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "httpStatus": self.status,
            "errors": [{
                "code": self.code,
                "description": self.description,
                "id": "0",
                "field": self.field,
            }]
        })
    }

    fn wire(&self) -> ApiErrorBody<'_> {
        ApiErrorBody {
            http_status: self.status,
            errors: [ApiErrorCause {
                code: self.code.as_deref(),
                description: &self.description,
                id: "0",
                field: self.field.as_deref(),
            }],
        }
    }
}

/// `ApiError` in Jamf's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiErrorBody<'a> {
    http_status: u16,
    errors: [ApiErrorCause<'a>; 1],
}

#[derive(Serialize)]
struct ApiErrorCause<'a> {
    code: Option<&'a str>,
    description: &'a str,
    id: &'a str,
    field: Option<&'a str>,
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.wire());
        if let Some(required) = &self.required_privileges
            && let Ok(v) = HeaderValue::from_str(required)
        {
            resp.headers_mut().insert(REQUIRED_PRIVILEGES_HEADER, v);
        }
        resp
    }
}

/// A JSON response with the given status.
pub(crate) fn json_response<T: Serialize + ?Sized>(status: u16, body: &T) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut resp = (code, bytes).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An empty response with the given status (204 for deletes).
pub(crate) fn empty_response(status: u16) -> Response {
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::NO_CONTENT)
        .into_response()
}
