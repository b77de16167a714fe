//! The simulator's error type, which is also the Jamf `ApiError` response body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

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
    /// Rendered with an empty `errors` array (Jamf's 401 for a bad bearer token).
    no_cause: bool,
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
            no_cause: false,
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

    /// 401 for a missing, malformed, unknown or expired bearer token:
    /// `{"httpStatus":401,"errors":[]}`, no cause (observed on Jamf Pro).
    pub(crate) fn unauthorized() -> Self {
        let mut e = Self::new(401, None, "Unauthorized");
        e.no_cause = true;
        e
    }

    /// 403 `INVALID_PRIVILEGE`. Like Jamf Pro, the answer does not say which privilege is
    /// missing (no `x-required-privileges` header): clients must know their endpoints.
    pub(crate) fn forbidden() -> Self {
        Self::new(403, Some("INVALID_PRIVILEGE"), "Forbidden")
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
        if self.no_cause {
            return json!({ "httpStatus": self.status, "errors": [] });
        }
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
            errors: if self.no_cause {
                Vec::new()
            } else {
                vec![ApiErrorCause {
                    code: self.code.as_deref(),
                    description: &self.description,
                    id: "0",
                    field: self.field.as_deref(),
                }]
            },
        }
    }
}

/// `ApiError` in Jamf's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiErrorBody<'a> {
    http_status: u16,
    errors: Vec<ApiErrorCause<'a>>,
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
        json_response(self.status, &self.wire())
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
