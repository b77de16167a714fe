//! One-shot use of other client credentials, e.g. a freshly rotated secret: mint a token,
//! make one harmless read with it, invalidate it.
//!
//! The session borrows the instance's HTTP client, so it shares the concurrency limit and the
//! sticky-session cookies (the token is minted on the node that just rotated the secret), but
//! it never touches the client's own cached token.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use super::JamfClient;
use super::auth::ClientCredentials;
use super::endpoint::Endpoint;
use super::error::JamfError;
use super::transport::Auth;

/// A harmless read used to prove that a token works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeRead {
    /// `GET /api/v1/api-roles?page=0&page-size=1` (needs "Read API Roles").
    RolesPage,
    /// `GET /api/v1/api-integrations?page=0&page-size=1` (needs "Read API Integrations").
    IntegrationsPage,
    /// `GET /api/v1/api-role-privileges` (needs "Read API Roles").
    Privileges,
    /// `GET /api/v1/api-roles/{id}`.
    Role(String),
    /// `GET /api/v1/api-integrations/{id}`.
    Integration(i64),
}

/// What the probe read showed. Every variant proves the token was accepted: only a 401 (an
/// error) means it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// 2xx.
    Authorized,
    /// Authenticated, but the token's roles lack a privilege for that read.
    Forbidden {
        /// The privileges the read requires.
        privileges: Vec<String>,
    },
    /// Authenticated; the object read does not exist.
    NotFound,
}

/// The result of [`JamfClient::verify_client_credentials`]. Holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The client id that was verified.
    pub client_id: String,
    /// The raw `scope` (`"api-role:1 api-role:2"`).
    pub scope: String,
    /// Role ids parsed from the scope.
    pub role_ids: Vec<String>,
    /// The token's `expires_in`.
    pub expires_in: Duration,
    /// The probe's outcome, if a probe was asked for.
    pub probe: Option<ProbeOutcome>,
    /// Whether the token was invalidated (if not, it expires on its own after `expires_in`).
    pub invalidated: bool,
}

/// A token minted for other credentials, invalidated by [`OneShotSession::invalidate`] or, as a
/// fallback, in the background when dropped.
pub struct OneShotSession {
    client: JamfClient,
    client_id: String,
    token: Option<SecretString>,
    scope: String,
    role_ids: Vec<String>,
    expires_in: Duration,
}

impl fmt::Debug for OneShotSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneShotSession")
            .field("client_id", &self.client_id)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl OneShotSession {
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The raw scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Role ids from the scope.
    pub fn role_ids(&self) -> &[String] {
        &self.role_ids
    }

    /// The token's `expires_in`.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The access token, for a caller that needs to make its own request with it.
    pub fn access_token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }

    /// Makes one read with the token. It is never replayed with another token: a 401 is
    /// returned as [`JamfError::Unauthorized`].
    pub async fn probe(&self, read: &ProbeRead) -> Result<ProbeOutcome, JamfError> {
        let Some(token) = &self.token else {
            return Err(JamfError::Config(
                "the one-shot token was already invalidated".into(),
            ));
        };
        let id_string;
        let mut call = match read {
            ProbeRead::RolesPage => self.client.call(Endpoint::ListRoles, &[]),
            ProbeRead::IntegrationsPage => self.client.call(Endpoint::ListIntegrations, &[]),
            ProbeRead::Privileges => self.client.call(Endpoint::ListPrivileges, &[]),
            ProbeRead::Role(id) => self.client.call(Endpoint::GetRole, &[id]),
            ProbeRead::Integration(id) => {
                id_string = id.to_string();
                self.client.call(Endpoint::GetIntegration, &[&id_string])
            }
        };
        if matches!(read, ProbeRead::RolesPage | ProbeRead::IntegrationsPage) {
            call.query = vec![("page", "0".into()), ("page-size", "1".into())];
        }
        let resp = self.client.send(&call, &Auth::Bearer(token)).await?;
        if resp.is_success() {
            return Ok(ProbeOutcome::Authorized);
        }
        match resp.into_error(&call) {
            JamfError::Forbidden { privileges, .. } => Ok(ProbeOutcome::Forbidden { privileges }),
            JamfError::NotFound { .. } => Ok(ProbeOutcome::NotFound),
            JamfError::Unauthorized { op, .. } => Err(JamfError::Unauthorized {
                op,
                detail: "jamf pro rejected the token minted with these credentials".into(),
            }),
            other => Err(other),
        }
    }

    /// Invalidates the token (`POST /api/v1/auth/invalidate-token`).
    pub async fn invalidate(mut self) -> Result<(), JamfError> {
        match self.token.take() {
            Some(token) => self.client.invalidate_raw(&token).await,
            None => Ok(()),
        }
    }
}

impl Drop for OneShotSession {
    /// A session dropped without [`invalidate`](OneShotSession::invalidate) (an early return,
    /// a cancelled task) still invalidates its token, in the background, if a Tokio runtime is
    /// running.
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            handle.spawn(async move {
                if let Err(e) = client.invalidate_raw(&token).await {
                    tracing::warn!(error = %e, "could not invalidate a one-shot jamf token");
                }
            });
        }
    }
}

impl JamfClient {
    /// Mints a token for `credentials` without touching this client's own token. Shares the
    /// concurrency limit and sticky-session cookies. Token requests are retried on transient
    /// failures (minting has no side effect); the legacy token path is used if the instance
    /// needs it.
    pub async fn one_shot(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<OneShotSession, JamfError> {
        let minted = self
            .mint_client_token(&credentials.client_id, &credentials.client_secret)
            .await?;
        Ok(OneShotSession {
            client: self.clone(),
            client_id: credentials.client_id.clone(),
            token: Some(minted.value),
            scope: minted.scope,
            role_ids: minted.role_ids,
            expires_in: minted.lifetime,
        })
    }

    /// Checks that `credentials` (e.g. a freshly rotated secret) work: mints a token, makes the
    /// optional `probe` read with it, then invalidates it. Returns the token's scope (as role
    /// ids) and lifetime, never the token.
    ///
    /// Errors: [`JamfError::OAuth`] if the credentials are refused; the probe's error if it
    /// failed other than with 403/404 (the token is invalidated in every case).
    pub async fn verify_client_credentials(
        &self,
        credentials: &ClientCredentials,
        probe: Option<ProbeRead>,
    ) -> Result<VerifiedToken, JamfError> {
        let session = self.one_shot(credentials).await?;
        let probe_result = match &probe {
            Some(read) => Some(session.probe(read).await),
            None => None,
        };
        let verified = VerifiedToken {
            client_id: session.client_id.clone(),
            scope: session.scope.clone(),
            role_ids: session.role_ids.clone(),
            expires_in: session.expires_in,
            probe: None,
            invalidated: false,
        };
        let invalidated = match session.invalidate().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not invalidate the verification token; it will expire on its own");
                false
            }
        };
        let probe = probe_result.transpose()?;
        Ok(VerifiedToken {
            probe,
            invalidated,
            ..verified
        })
    }
}
