//! Entry points for the fuzz tests (`crates/core/tests/fuzz/`): the decoding of every Jamf
//! answer body, without HTTP. Not part of the API: each function runs exactly the code the
//! client runs on a response, so a property that holds here holds for what Jamf sends.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use url::Url;

use super::auth::{
    AuthTokenResponse, OAuthTokenResponse, parse_expires, parse_scope, user_token_lifetime,
};
use super::endpoint::Endpoint;
use super::error::{ErrorContext, JamfError, error_from_response};
use super::session::parse_body;
use super::transport::{Body, Call, RawResponse};

/// What a decoded token answer gave, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedToken {
    /// The lifetime the client would use.
    pub lifetime: Duration,
    /// Role ids from the scope.
    pub role_ids: Vec<String>,
}

fn call(endpoint: Endpoint) -> Call<'static> {
    Call {
        endpoint,
        path: endpoint.route().to_owned(),
        url: Url::parse("https://jamf.invalid/").expect("a constant url"),
        query: Vec::new(),
        body: Body::Empty,
    }
}

fn response(status: u16, body: &[u8], date: Option<SystemTime>) -> RawResponse {
    RawResponse {
        status,
        body: body.to_vec(),
        retry_after: None,
        required_privileges: None,
        date,
    }
}

/// A success body for `endpoint` decoded as `T` (a page, a role, an integration, privileges,
/// client credentials), as [`JamfClient`](super::JamfClient) decodes it.
pub fn decode_body<T: serde::de::DeserializeOwned>(
    endpoint: Endpoint,
    status: u16,
    body: &[u8],
) -> Result<T, JamfError> {
    parse_body(&call(endpoint), &response(status, body, None))
}

/// An error answer (any status, any body, an optional `x-required-privileges` value) mapped
/// to the error the caller sees.
pub fn decode_error(
    endpoint: Endpoint,
    status: u16,
    body: &[u8],
    required_privileges_header: Option<&str>,
) -> JamfError {
    let call = call(endpoint);
    error_from_response(ErrorContext {
        endpoint,
        op: call.op(),
        status,
        body,
        required_privileges_header,
        retry_after: None,
    })
}

/// A 200 from the OAuth token endpoint, as the client reads it.
pub fn decode_oauth_token(body: &[u8]) -> Result<DecodedToken, JamfError> {
    let parsed: OAuthTokenResponse = decode_body(Endpoint::OAuthToken, 200, body)?;
    Ok(DecodedToken {
        lifetime: parsed.lifetime(),
        role_ids: parse_scope(parsed.scope.as_deref().unwrap_or_default()),
    })
}

/// A 200 from `/api/v1/auth/token` or `keep-alive` (`{token, expires}`), with the server's
/// `Date`, as the client reads it at `now` (its clock, used when there is no `Date`).
pub fn decode_user_token(
    body: &[u8],
    date: Option<SystemTime>,
    now: DateTime<Utc>,
) -> Result<DecodedToken, JamfError> {
    let call = call(Endpoint::AuthToken);
    let parsed: AuthTokenResponse = parse_body(&call, &response(200, body, date))?;
    let expires = parse_expires(&parsed.expires).ok_or_else(|| JamfError::Decode {
        op: call.op(),
        status: 200,
        detail: "\"expires\" is not an iso-8601 timestamp".into(),
        snippet: String::new(),
    })?;
    Ok(DecodedToken {
        lifetime: user_token_lifetime(expires, date, now),
        role_ids: Vec::new(),
    })
}
