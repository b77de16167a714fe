//! [`JamfError`] and the parsing of Jamf's two error body shapes.
//!
//! Each variant says what the caller should do; messages are lowercase and end with the
//! remedy. No message ever contains a token, a secret or a URL query.

use std::fmt;
use std::time::Duration;

use reqwest::Method;

use super::endpoint::Endpoint;
pub use super::error_body::{ApiErrorBody, ApiErrorCause, ErrorBody, OAuthErrorBody, snippet};
use super::error_body::{MAX_MESSAGE_CHARS, parse_privileges_header, truncate_clean};

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
    let parsed = ErrorBody::parse(body);
    if endpoint.is_oauth() && matches!(status, 400 | 401) {
        return match parsed {
            ErrorBody::OAuth(o) => JamfError::OAuth {
                status,
                error: truncate_clean(&o.error, 80),
                description: o
                    .error_description
                    .map(|d| truncate_clean(&d, MAX_MESSAGE_CHARS)),
            },
            other => JamfError::OAuth {
                status,
                error: if status == 401 {
                    "invalid_client".to_owned()
                } else {
                    "invalid_request".to_owned()
                },
                description: other.messages().into_iter().next(),
            },
        };
    }
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
    if endpoint.returns_secret() {
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
