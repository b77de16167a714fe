//! The Jamf Pro API routes (under `/api`): matching, authorization, handlers.

mod auth;
mod integrations;
mod oauth;
mod privileges;
mod roles;

pub(crate) use auth::iso_millis;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::auth::authorize;
use crate::error::SimError;
use crate::instance::Instance;
use crate::model::At;

/// An API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    OAuthToken,
    AuthToken,
    KeepAlive,
    InvalidateToken,
    AuthDetails,
    ListRoles,
    CreateRole,
    GetRole,
    UpdateRole,
    DeleteRole,
    ListPrivileges,
    SearchPrivileges,
    ListClients,
    CreateClient,
    GetClient,
    UpdateClient,
    DeleteClient,
    ClientCredentials,
}

const READ_ROLES: &str = "Read API Roles";
const CREATE_ROLES: &str = "Create API Roles";
const UPDATE_ROLES: &str = "Update API Roles";
const DELETE_ROLES: &str = "Delete API Roles";
const READ_CLIENTS: &str = "Read API Integrations";
const CREATE_CLIENTS: &str = "Create API Integrations";
const UPDATE_CLIENTS: &str = "Update API Integrations";
const DELETE_CLIENTS: &str = "Delete API Integrations";

impl Op {
    /// `x-required-privileges` of the endpoint (OAS 11.30.1); empty for the auth endpoints.
    pub(crate) fn required_privileges(self) -> &'static [&'static str] {
        match self {
            Op::OAuthToken
            | Op::AuthToken
            | Op::KeepAlive
            | Op::InvalidateToken
            | Op::AuthDetails => &[],
            Op::ListRoles | Op::GetRole | Op::ListPrivileges | Op::SearchPrivileges => {
                &[READ_ROLES]
            }
            Op::CreateRole => &[CREATE_ROLES],
            Op::UpdateRole => &[UPDATE_ROLES],
            Op::DeleteRole => &[DELETE_ROLES],
            Op::ListClients | Op::GetClient => &[READ_CLIENTS],
            Op::CreateClient | Op::ClientCredentials => &[CREATE_CLIENTS],
            Op::UpdateClient => &[UPDATE_CLIENTS],
            Op::DeleteClient => &[DELETE_CLIENTS],
        }
    }
}

type Methods = &'static [(&'static str, Op)];

/// Route patterns, relative to the instance, and their operations.
pub(crate) const ROUTES: &[(&str, Methods)] = &[
    ("/api/v1/oauth/token", &[("POST", Op::OAuthToken)]),
    ("/api/oauth/token", &[("POST", Op::OAuthToken)]),
    ("/api/v1/auth/token", &[("POST", Op::AuthToken)]),
    ("/api/v1/auth/keep-alive", &[("POST", Op::KeepAlive)]),
    (
        "/api/v1/auth/invalidate-token",
        &[("POST", Op::InvalidateToken)],
    ),
    ("/api/v1/auth", &[("GET", Op::AuthDetails)]),
    (
        "/api/v1/api-roles",
        &[("GET", Op::ListRoles), ("POST", Op::CreateRole)],
    ),
    (
        "/api/v1/api-roles/{id}",
        &[
            ("GET", Op::GetRole),
            ("PUT", Op::UpdateRole),
            ("DELETE", Op::DeleteRole),
        ],
    ),
    (
        "/api/v1/api-role-privileges",
        &[("GET", Op::ListPrivileges)],
    ),
    (
        "/api/v1/api-role-privileges/search",
        &[("GET", Op::SearchPrivileges)],
    ),
    (
        "/api/v1/api-integrations",
        &[("GET", Op::ListClients), ("POST", Op::CreateClient)],
    ),
    (
        "/api/v1/api-integrations/{id}",
        &[
            ("GET", Op::GetClient),
            ("PUT", Op::UpdateClient),
            ("DELETE", Op::DeleteClient),
        ],
    ),
    (
        "/api/v1/api-integrations/{id}/client-credentials",
        &[("POST", Op::ClientCredentials)],
    ),
];

/// A matched route.
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub pattern: &'static str,
    pub op: Op,
    pub id: Option<String>,
}

/// The result of route matching.
#[derive(Debug, Clone)]
pub(crate) enum RouteMatch {
    Found(Matched),
    MethodNotAllowed(&'static str),
    NotFound,
}

/// Strips one trailing slash (`/api/v1/api-roles/` is served like `/api/v1/api-roles`).
pub(crate) fn normalize(path: &str) -> &str {
    if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
}

fn match_pattern(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut id = None;
    let mut p = pattern.split('/');
    let mut q = path.split('/');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(seg)) if !seg.is_empty() => id = Some(seg.to_owned()),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

/// Matches a normalized path relative to the instance.
pub(crate) fn match_route(method: &str, path: &str) -> RouteMatch {
    for (pattern, methods) in ROUTES {
        if let Some(id) = match_pattern(pattern, path) {
            return match methods.iter().find(|(m, _)| *m == method) {
                Some((_, op)) => RouteMatch::Found(Matched {
                    pattern,
                    op: *op,
                    id,
                }),
                None => RouteMatch::MethodNotAllowed(pattern),
            };
        }
    }
    RouteMatch::NotFound
}

/// What a handler gets.
pub(crate) struct Ctx<'a> {
    pub inst: &'a Instance,
    pub headers: &'a HeaderMap,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    pub id: &'a str,
    pub at: At,
}

/// Runs an operation: authorization by `x-required-privileges`, then the handler.
pub(crate) fn handle(m: &Matched, ctx: &Ctx<'_>) -> Response {
    let result = run(m.op, ctx);
    match result {
        Ok(resp) => resp,
        Err(e) => {
            if e.is_lag_miss() {
                ctx.inst.stats.lag_404();
            }
            e.into_response()
        }
    }
}

fn run(op: Op, ctx: &Ctx<'_>) -> Result<Response, SimError> {
    match op {
        Op::OAuthToken => return Ok(oauth::token(ctx)),
        Op::AuthToken => return auth::token(ctx),
        Op::KeepAlive => return auth::keep_alive(ctx),
        Op::InvalidateToken => return auth::invalidate(ctx),
        Op::AuthDetails => return auth::details(ctx),
        _ => {}
    }
    let mut st = ctx.inst.state();
    authorize(&st, ctx.headers, op.required_privileges(), ctx.at.now_ms)?;
    let st = &mut *st;
    match op {
        Op::ListRoles => roles::list(st, ctx),
        Op::CreateRole => roles::create(st, ctx),
        Op::GetRole => roles::get(st, ctx),
        Op::UpdateRole => roles::update(st, ctx),
        Op::DeleteRole => roles::delete(st, ctx),
        Op::ListPrivileges => Ok(privileges::list(st)),
        Op::SearchPrivileges => privileges::search(st, ctx),
        Op::ListClients => integrations::list(st, ctx),
        Op::CreateClient => integrations::create(st, ctx),
        Op::GetClient => integrations::get(st, ctx),
        Op::UpdateClient => integrations::update(st, ctx),
        Op::DeleteClient => integrations::delete(st, ctx),
        Op::ClientCredentials => integrations::credentials(st, ctx),
        Op::OAuthToken | Op::AuthToken | Op::KeepAlive | Op::InvalidateToken | Op::AuthDetails => {
            Err(SimError::new(500, None, "unreachable route"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match() {
        let RouteMatch::Found(m) =
            match_route("POST", "/api/v1/api-integrations/12/client-credentials")
        else {
            panic!("no match");
        };
        assert_eq!(m.op, Op::ClientCredentials);
        assert_eq!(m.id.as_deref(), Some("12"));
        assert_eq!(
            m.pattern,
            "/api/v1/api-integrations/{id}/client-credentials"
        );
        assert!(matches!(
            match_route("PATCH", "/api/v1/api-roles/1"),
            RouteMatch::MethodNotAllowed("/api/v1/api-roles/{id}")
        ));
        assert!(matches!(
            match_route("GET", "/api/v2/nope"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            match_route("GET", "/api/v1/api-roles//x"),
            RouteMatch::NotFound
        ));
        assert_eq!(normalize("/api/v1/api-roles/"), "/api/v1/api-roles");
        assert!(matches!(
            match_route("GET", "/api/v1/api-role-privileges/search"),
            RouteMatch::Found(Matched {
                op: Op::SearchPrivileges,
                ..
            })
        ));
    }

    #[test]
    fn privileges_follow_the_spec() {
        assert_eq!(
            Op::ClientCredentials.required_privileges(),
            &["Create API Integrations"]
        );
        assert_eq!(
            Op::SearchPrivileges.required_privileges(),
            &["Read API Roles"]
        );
        assert!(Op::OAuthToken.required_privileges().is_empty());
    }
}
