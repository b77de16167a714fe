//! [`JamfError`] and the parsing of Jamf's two error body shapes.
//!
//! Each variant says what the caller should do; messages are lowercase and end with the
//! remedy. No message ever contains a token, a secret or a URL query.

use std::fmt;
use std::time::Duration;

use reqwest::Method;

use super::endpoint::Endpoint;
pub use super::error_body::{ApiErrorBody, ApiErrorCause, ErrorBody, OAuthErrorBody, snippet};
use super::error_body::{parse_privileges_header, truncate_clean};

/// The operation an error is about: method and path (never a query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the instance's base URL, e.g. `/api/v1/api-roles/7`.
    pub path: String,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect (DNS, refused, TLS handshake).
    Connect,
    /// Connect or total timeout.
    Timeout,
    /// The response body could not be read completely.
    Body,
    /// Anything else reqwest reports.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Body => "reading the body failed",
            TransportKind::Other => "request failed",
        })
    }
}

/// Errors of the Jamf Pro API client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JamfError {
    /// Connect error, timeout or I/O error (after the retries allowed for the request).
    /// Retry later. For a create or secret generation the outcome is unknown: check first.
    #[error("transport error on {op}: {kind}; check that jamf pro is reachable, then retry")]
    Transport {
        /// The request.
        op: Op,
        /// What failed.
        kind: TransportKind,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// Credentials or token rejected. The client has already re-authenticated once.
    #[error("unauthorized on {op}: {detail}; check the credentials")]
    Unauthorized {
        /// The request.
        op: Op,
        /// What Jamf said (never a credential).
        detail: String,
    },
    /// The caller lacks a privilege.
    #[error("forbidden on {op}: the api client lacks {}; add it to the client's api role", fmt_privileges(.privileges))]
    Forbidden {
        /// The request.
        op: Op,
        /// The privileges the endpoint requires (from `x-required-privileges`).
        privileges: Vec<String>,
    },
    /// The object does not exist: treat it as absent.
    #[error("not found: {op}; the object does not exist")]
    NotFound {
        /// The request.
        op: Op,
    },
    /// The object is in use (e.g. a role still assigned to an API client).
    #[error("conflict on {op}{}; remove the references to it first", fmt_messages(.messages))]
    Conflict {
        /// The request.
        op: Op,
        /// Jamf's `errors[].description`.
        messages: Vec<String>,
    },
    /// Jamf rejected the request body (HTTP 400): fix the request.
    #[error("jamf pro rejected {op}{}; fix the request", fmt_messages(.messages))]
    Validation {
        /// The request.
        op: Op,
        /// Jamf's `errors[].description`.
        messages: Vec<String>,
    },
    /// HTTP 429 that outlasted the retries (or a request that is never retried).
    #[error("rate limited on {op}{}; slow down and retry later", fmt_after(.retry_after))]
    RateLimited {
        /// The request.
        op: Op,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx that outlasted the retries: retry later.
    #[error("jamf pro server error {status} on {op}{}; retry later", fmt_messages(.messages))]
    Server {
        /// The request.
        op: Op,
        /// HTTP status.
        status: u16,
        /// Jamf's `errors[].description`, if the body had any.
        messages: Vec<String>,
    },
    /// The OAuth token endpoint refused the client credentials.
    #[error("oauth token request refused ({status}): {error}{}; check the client id and secret and that the api client is enabled", fmt_description(.description))]
    OAuth {
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`.
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// `http://` to a host that is not loopback.
    #[error(
        "insecure base url: http:// to {host} would send secrets in clear text; use https:// or set allow_insecure_http = true"
    )]
    InsecureUrl {
        /// The host.
        host: String,
    },
    /// Invalid configuration.
    #[error("invalid jamf client configuration: {0}")]
    Config(String),
    /// A response that is not what the schema promises. Never a panic.
    #[error("unexpected response to {op} (status {status}): {detail}{}; the jamf pro version may be unsupported", fmt_snippet(.snippet))]
    Decode {
        /// The request.
        op: Op,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
        /// A short, truncated, secret-free excerpt of the body (empty for bodies that may carry
        /// a secret).
        snippet: String,
    },
    /// An answer, or a listing, went over a bound that keeps the daemon's memory and time
    /// bounded whatever Jamf sends. Jamf or something in front of it misbehaves, or (for the
    /// limits with a config key) the estate is larger than the limit allows.
    #[error("{op}: {limit}")]
    Limit {
        /// The request (for a listing: the list endpoint).
        op: Op,
        /// Which bound and how to raise it.
        limit: Limit,
    },
    /// The pages of a listing contradict each other (no progress, a page larger than asked
    /// for, an absurd or wildly changing `totalCount`): a broken or hostile server.
    #[error(
        "jamf pro's paging of {op} is inconsistent: {detail}; check jamf pro and any proxy in front of it, then retry"
    )]
    Paging {
        /// The list endpoint.
        op: Op,
        /// What was inconsistent.
        detail: String,
    },
    /// A status this client does not expect (3xx, 405, 415, ...).
    #[error("unexpected http status {status} on {op}{}; check the base url and the jamf pro version", fmt_messages(.messages))]
    UnexpectedStatus {
        /// The request.
        op: Op,
        /// HTTP status.
        status: u16,
        /// Jamf's `errors[].description`, if any.
        messages: Vec<String>,
    },
}

/// The bound a [`JamfError::Limit`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// More objects than `instance.max_list_objects` in one listing (or a `totalCount` above it).
    Objects {
        /// The limit.
        max: usize,
    },
    /// A listing did not finish within `instance.list_timeout`.
    Deadline {
        /// The limit.
        after: Duration,
    },
    /// One response body larger than the client accepts.
    Body {
        /// The limit in bytes.
        max: usize,
    },
    /// More bytes over all the pages of one listing than the client accepts.
    ListBytes {
        /// The limit in bytes.
        max: usize,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Objects { max } => write!(
                f,
                "jamf pro lists more than {max} objects; if the estate really is this large, raise instance.max_list_objects"
            ),
            Limit::Deadline { after } => write!(
                f,
                "the listing did not finish within {} s; if jamf pro is only slow, raise instance.list_timeout",
                after.as_secs_f64()
            ),
            Limit::Body { max } => write!(
                f,
                "a response body is larger than {}, more than any real jamf pro answer; check jamf pro and any proxy in front of it",
                fmt_bytes(*max)
            ),
            Limit::ListBytes { max } => write!(
                f,
                "the pages of one listing are larger than {} in all; check jamf pro and any proxy in front of it",
                fmt_bytes(*max)
            ),
        }
    }
}

impl JamfError {
    /// Whether trying again later may succeed (transport, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JamfError::Transport { .. } | JamfError::RateLimited { .. } | JamfError::Server { .. }
        )
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, JamfError::NotFound { .. })
    }
}

fn fmt_bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{} KiB", n.div_ceil(1024))
    }
}

fn fmt_privileges(p: &[String]) -> String {
    match p {
        [] => "the privilege this endpoint requires".to_owned(),
        [one] => format!("privilege {one:?}"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("{s:?}")).collect();
            format!("privileges {}", quoted.join(", "))
        }
    }
}

fn fmt_messages(m: &[String]) -> String {
    if m.is_empty() {
        String::new()
    } else {
        format!(": {}", m.join("; "))
    }
}

fn fmt_after(d: &Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {} s)", d.as_secs()))
        .unwrap_or_default()
}

fn fmt_description(d: &Option<String>) -> String {
    d.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

fn fmt_snippet(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; body starts with {s:?}")
    }
}

/// The few response facts error mapping needs.
pub(crate) struct ErrorContext<'a> {
    pub endpoint: Endpoint,
    pub op: Op,
    pub status: u16,
    pub body: &'a [u8],
    pub required_privileges_header: Option<&'a str>,
    pub retry_after: Option<Duration>,
}

/// Maps a non-success response to the error that tells the caller what to do.
pub(crate) fn error_from_response(ctx: ErrorContext<'_>) -> JamfError {
    let ErrorContext {
        endpoint,
        op,
        status,
        body,
        required_privileges_header,
        retry_after,
    } = ctx;
    if endpoint.carries_secret() {
        return secret_bearing_error(endpoint, op, status, body, retry_after);
    }
    let parsed = ErrorBody::parse(body);
    let messages = parsed.messages();
    match status {
        400 | 422 => JamfError::Validation { op, messages },
        401 => {
            let detail = match (endpoint, parsed.first_code()) {
                (_, Some("USER_EXPIRED_PASSWORD")) => {
                    "the account's password has expired; change it in jamf pro".to_owned()
                }
                (Endpoint::AuthToken, _) => "jamf pro rejected the username or password".to_owned(),
                _ => "jamf pro rejected the token even after re-authenticating".to_owned(),
            };
            JamfError::Unauthorized { op, detail }
        }
        403 => {
            let mut privileges = required_privileges_header
                .map(parse_privileges_header)
                .unwrap_or_default();
            if privileges.is_empty() {
                privileges = endpoint
                    .required_privileges()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
            }
            JamfError::Forbidden { op, privileges }
        }
        404 => JamfError::NotFound { op },
        409 => JamfError::Conflict { op, messages },
        429 => JamfError::RateLimited { op, retry_after },
        500..=599 => JamfError::Server {
            op,
            status,
            messages,
        },
        _ => JamfError::UnexpectedStatus {
            op,
            status,
            messages,
        },
    }
}

/// OAuth error codes (RFC 6749 §5.2) that are kept as they are; any other `error` value is
/// replaced by `"unrecognised_error"`.
pub const KNOWN_OAUTH_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// The fixed description of a known OAuth error code.
fn oauth_description(code: &str) -> &'static str {
    match code {
        "invalid_client" => "jamf pro did not accept the client id and secret",
        "invalid_grant" => "jamf pro refused the grant",
        "unauthorized_client" => "the api client may not use this grant",
        "unsupported_grant_type" => "jamf pro does not support the client credentials grant here",
        "invalid_scope" => "jamf pro refused the requested scope",
        "invalid_request" => "jamf pro could not read the token request",
        _ => "jamf pro refused the token request with an unrecognised answer",
    }
}

/// The error of a request that carried a secret or whose answer mints one
/// ([`Endpoint::carries_secret`]). A hostile or broken server may echo the submitted secret
/// anywhere in its answer (body, `WWW-Authenticate`, `x-required-privileges`), so nothing of
/// the answer is kept verbatim: only the status, an OAuth error code from
/// [`KNOWN_OAUTH_ERRORS`], a Jamf error code it recognises, and fixed descriptions.
fn secret_bearing_error(
    endpoint: Endpoint,
    op: Op,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> JamfError {
    let parsed = ErrorBody::parse(body);
    if endpoint.is_oauth() && matches!(status, 400 | 401) {
        let code = match &parsed {
            ErrorBody::OAuth(o) => KNOWN_OAUTH_ERRORS
                .iter()
                .find(|k| **k == o.error)
                .copied()
                .unwrap_or("unrecognised_error"),
            _ if status == 401 => "invalid_client",
            _ => "invalid_request",
        };
        return JamfError::OAuth {
            status,
            error: code.to_owned(),
            description: Some(oauth_description(code).to_owned()),
        };
    }
    let fixed = |what: &str| {
        vec![format!(
            "{what} (jamf's answer withheld: the request carried a secret)"
        )]
    };
    match status {
        400 | 422 => JamfError::Validation {
            op,
            messages: fixed("jamf pro rejected the request"),
        },
        401 => {
            let detail = match (endpoint, parsed.first_code()) {
                (_, Some("USER_EXPIRED_PASSWORD")) => {
                    "the account's password has expired; change it in jamf pro"
                }
                (Endpoint::AuthToken, _) => "jamf pro rejected the username or password",
                _ => "jamf pro rejected the token even after re-authenticating",
            };
            JamfError::Unauthorized {
                op,
                detail: detail.to_owned(),
            }
        }
        403 => JamfError::Forbidden {
            op,
            privileges: endpoint
                .required_privileges()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        },
        404 => JamfError::NotFound { op },
        409 => JamfError::Conflict {
            op,
            messages: Vec::new(),
        },
        429 => JamfError::RateLimited { op, retry_after },
        500..=599 => JamfError::Server {
            op,
            status,
            messages: Vec::new(),
        },
        _ => JamfError::UnexpectedStatus {
            op,
            status,
            messages: Vec::new(),
        },
    }
}

/// Builds a [`JamfError::Decode`] for a body that did not parse as expected. For endpoints
/// whose body may carry a secret, neither the serde message (it can quote values) nor a
/// snippet is included.
pub(crate) fn decode_error(
    endpoint: Endpoint,
    op: Op,
    status: u16,
    body: &[u8],
    err: &serde_json::Error,
) -> JamfError {
    if endpoint.returns_secret() || endpoint.carries_secret() {
        JamfError::Decode {
            op,
            status,
            detail: format!(
                "{:?} error at line {} column {} (body withheld: it may carry a secret)",
                err.classify(),
                err.line(),
                err.column()
            )
            .to_lowercase(),
            snippet: String::new(),
        }
    } else {
        JamfError::Decode {
            op,
            status,
            detail: truncate_clean(&err.to_string(), 200),
            snippet: snippet(body),
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
