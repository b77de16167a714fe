//! The Jamf Pro endpoints this client calls, with what each one needs: method, route,
//! retry class and the privilege it requires (`x-required-privileges` in the 11.30.1 OpenAPI
//! schema).

use reqwest::Method;

use super::retry::Retry;

/// One Jamf Pro API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /api/v1/oauth/token` (client credentials grant).
    OAuthToken,
    /// `POST /api/oauth/token`, the legacy path used when the v1 path answers 404.
    LegacyOAuthToken,
    /// `POST /api/v1/auth/token` (Basic auth, user bearer token).
    AuthToken,
    /// `POST /api/v1/auth/keep-alive`.
    KeepAlive,
    /// `POST /api/v1/auth/invalidate-token`.
    InvalidateToken,
    /// `GET /api/v1/api-roles`.
    ListRoles,
    /// `POST /api/v1/api-roles`.
    CreateRole,
    /// `GET /api/v1/api-roles/{id}`.
    GetRole,
    /// `PUT /api/v1/api-roles/{id}`.
    UpdateRole,
    /// `DELETE /api/v1/api-roles/{id}`.
    DeleteRole,
    /// `GET /api/v1/api-role-privileges`.
    ListPrivileges,
    /// `GET /api/v1/api-role-privileges/search`.
    SearchPrivileges,
    /// `GET /api/v1/api-integrations`.
    ListIntegrations,
    /// `POST /api/v1/api-integrations`.
    CreateIntegration,
    /// `GET /api/v1/api-integrations/{id}`.
    GetIntegration,
    /// `PUT /api/v1/api-integrations/{id}`.
    UpdateIntegration,
    /// `DELETE /api/v1/api-integrations/{id}`.
    DeleteIntegration,
    /// `POST /api/v1/api-integrations/{id}/client-credentials`: mints a new client secret and
    /// invalidates the previous one.
    GenerateClientCredentials,
}

impl Endpoint {
    /// Every endpoint, for tables and tests.
    pub const ALL: [Endpoint; 18] = [
        Endpoint::OAuthToken,
        Endpoint::LegacyOAuthToken,
        Endpoint::AuthToken,
        Endpoint::KeepAlive,
        Endpoint::InvalidateToken,
        Endpoint::ListRoles,
        Endpoint::CreateRole,
        Endpoint::GetRole,
        Endpoint::UpdateRole,
        Endpoint::DeleteRole,
        Endpoint::ListPrivileges,
        Endpoint::SearchPrivileges,
        Endpoint::ListIntegrations,
        Endpoint::CreateIntegration,
        Endpoint::GetIntegration,
        Endpoint::UpdateIntegration,
        Endpoint::DeleteIntegration,
        Endpoint::GenerateClientCredentials,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        use Endpoint::*;
        match self {
            ListRoles | GetRole | ListPrivileges | SearchPrivileges | ListIntegrations
            | GetIntegration => Method::GET,
            OAuthToken
            | LegacyOAuthToken
            | AuthToken
            | KeepAlive
            | InvalidateToken
            | CreateRole
            | CreateIntegration
            | GenerateClientCredentials => Method::POST,
            UpdateRole | UpdateIntegration => Method::PUT,
            DeleteRole | DeleteIntegration => Method::DELETE,
        }
    }

    /// The route as in the OpenAPI schema, relative to the instance's base URL.
    pub fn route(self) -> &'static str {
        use Endpoint::*;
        match self {
            OAuthToken => "/api/v1/oauth/token",
            LegacyOAuthToken => "/api/oauth/token",
            AuthToken => "/api/v1/auth/token",
            KeepAlive => "/api/v1/auth/keep-alive",
            InvalidateToken => "/api/v1/auth/invalidate-token",
            ListRoles | CreateRole => "/api/v1/api-roles",
            GetRole | UpdateRole | DeleteRole => "/api/v1/api-roles/{id}",
            ListPrivileges => "/api/v1/api-role-privileges",
            SearchPrivileges => "/api/v1/api-role-privileges/search",
            ListIntegrations | CreateIntegration => "/api/v1/api-integrations",
            GetIntegration | UpdateIntegration | DeleteIntegration => {
                "/api/v1/api-integrations/{id}"
            }
            GenerateClientCredentials => "/api/v1/api-integrations/{id}/client-credentials",
        }
    }

    /// Whether a transient failure may be retried. Hard-wired, with no wildcard arm, so a new
    /// endpoint needs an explicit decision: creates and `client-credentials` are
    /// [`Retry::Never`] (a retried secret generation rotates the secret again); reads, full
    /// replaces, deletes and token requests are [`Retry::Idempotent`]. Keep-alive is `Never`
    /// because it invalidates the token it is sent with; a failed keep-alive is followed by a
    /// fresh login instead.
    pub fn retry(self) -> Retry {
        use Endpoint::*;
        match self {
            CreateRole | CreateIntegration | GenerateClientCredentials | KeepAlive => Retry::Never,
            OAuthToken | LegacyOAuthToken | AuthToken | InvalidateToken | ListRoles | GetRole
            | UpdateRole | DeleteRole | ListPrivileges | SearchPrivileges | ListIntegrations
            | GetIntegration | UpdateIntegration | DeleteIntegration => Retry::Idempotent,
        }
    }

    /// The privileges Jamf Pro requires for this endpoint (`x-required-privileges`, Jamf Pro
    /// 11.30.1). Empty for the authentication endpoints.
    pub fn required_privileges(self) -> &'static [&'static str] {
        use Endpoint::*;
        match self {
            OAuthToken | LegacyOAuthToken | AuthToken | KeepAlive | InvalidateToken => &[],
            ListRoles | GetRole | ListPrivileges | SearchPrivileges => &["Read API Roles"],
            CreateRole => &["Create API Roles"],
            UpdateRole => &["Update API Roles"],
            DeleteRole => &["Delete API Roles"],
            ListIntegrations | GetIntegration => &["Read API Integrations"],
            CreateIntegration | GenerateClientCredentials => &["Create API Integrations"],
            UpdateIntegration => &["Update API Integrations"],
            DeleteIntegration => &["Delete API Integrations"],
        }
    }

    /// Whether a successful response carries a token or a secret: such bodies never appear in
    /// an error snippet.
    pub(crate) fn returns_secret(self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            OAuthToken | LegacyOAuthToken | AuthToken | KeepAlive | GenerateClientCredentials
        )
    }

    /// Whether the request itself carries a secret (client credentials in the form, a password
    /// in Basic auth) or its answer mints one: no text of such an answer, error bodies and
    /// headers included, is ever kept verbatim, since a broken or hostile server may echo the
    /// secret back (see `error_from_response`).
    pub(crate) fn carries_secret(self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            OAuthToken | LegacyOAuthToken | AuthToken | KeepAlive | GenerateClientCredentials
        )
    }

    /// The token endpoints that answer errors in the OAuth (RFC 6749) shape.
    pub(crate) fn is_oauth(self) -> bool {
        matches!(self, Endpoint::OAuthToken | Endpoint::LegacyOAuthToken)
    }

    /// A GET by id, retried on 404 shortly after a write (Jamf Cloud node lag).
    pub(crate) fn is_read_by_id(self) -> bool {
        matches!(self, Endpoint::GetRole | Endpoint::GetIntegration)
    }

    /// Changes state on the server (used for the read-after-write window).
    pub(crate) fn is_write(self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            CreateRole
                | UpdateRole
                | DeleteRole
                | CreateIntegration
                | UpdateIntegration
                | DeleteIntegration
                | GenerateClientCredentials
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_secret_generation_are_never_retried() {
        for e in Endpoint::ALL {
            let never = e.retry() == Retry::Never;
            let expected = matches!(
                e,
                Endpoint::CreateRole
                    | Endpoint::CreateIntegration
                    | Endpoint::GenerateClientCredentials
                    | Endpoint::KeepAlive
            );
            assert_eq!(never, expected, "{e:?}");
            // Everything retried is idempotent by HTTP semantics or a token request.
            if !never && e.method() == Method::POST {
                assert!(
                    matches!(
                        e,
                        Endpoint::OAuthToken
                            | Endpoint::LegacyOAuthToken
                            | Endpoint::AuthToken
                            | Endpoint::InvalidateToken
                    ),
                    "{e:?}"
                );
            }
        }
    }

    #[test]
    fn privilege_table_covers_the_thirteen_endpoints() {
        let with_privs: Vec<_> = Endpoint::ALL
            .iter()
            .filter(|e| !e.required_privileges().is_empty())
            .collect();
        assert_eq!(with_privs.len(), 13);
        assert_eq!(
            Endpoint::GenerateClientCredentials.required_privileges(),
            ["Create API Integrations"]
        );
        assert_eq!(
            Endpoint::SearchPrivileges.required_privileges(),
            ["Read API Roles"]
        );
    }
}
