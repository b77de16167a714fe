//! `POST /api/v1/oauth/token` and the legacy `POST /api/oauth/token`.

use axum::http::HeaderValue;
use axum::response::Response;
use serde::Serialize;

use super::Ctx;
use crate::auth::basic_credentials;
use crate::error::json_response;
use crate::model::OAuthFailure;

/// `OAuthTokenResponse`, in the spec's field order.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    scope: &'a str,
    token_type: &'a str,
    expires_in: i64,
}

fn failure(f: &OAuthFailure) -> Response {
    json_response(f.status, &f.body())
}

/// The client-credentials grant. Form body: `grant_type`, `client_id`, `client_secret`,
/// optional `scope`. The client may also authenticate with HTTP Basic
/// (`client_secret_basic`). Errors use the RFC 6749 §5.2 body.
pub(super) fn token(ctx: &Ctx<'_>) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(ctx.body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let Some(grant_type) = field("grant_type") else {
        return failure(&OAuthFailure::new(
            400,
            "invalid_request",
            "OAuth 2.0 Parameter: grant_type",
        ));
    };
    if grant_type != "client_credentials" {
        return failure(&OAuthFailure::new(
            400,
            "unsupported_grant_type",
            "OAuth 2.0 Parameter: grant_type",
        ));
    }
    let basic = basic_credentials(ctx.headers);
    let client_id = field("client_id").or_else(|| basic.as_ref().map(|(u, _)| u.clone()));
    let secret = field("client_secret").or_else(|| basic.as_ref().map(|(_, p)| p.clone()));
    let (Some(client_id), Some(secret)) = (client_id, secret) else {
        return failure(&OAuthFailure::invalid_client());
    };
    let scope = field("scope");
    let granted =
        ctx.inst
            .state()
            .oauth_grant(&client_id, &secret, scope.as_deref(), ctx.at.now_ms);
    match granted {
        Ok(g) => {
            let body = TokenResponse {
                access_token: &g.access_token,
                scope: &g.scope,
                token_type: "Bearer",
                expires_in: g.expires_in,
            };
            let mut resp = json_response(200, &body);
            let h = resp.headers_mut();
            h.insert("cache-control", HeaderValue::from_static("no-store"));
            h.insert("pragma", HeaderValue::from_static("no-cache"));
            resp
        }
        Err(f) => failure(&f),
    }
}
