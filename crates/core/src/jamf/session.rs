//! The client's own authentication: minting, caching, keeping alive and invalidating tokens.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::JamfClient;
use super::auth::{
    AuthTokenResponse, CachedToken, Credentials, OAuthTokenResponse, TokenKind, parse_expires,
    parse_scope, user_token_lifetime,
};
use super::endpoint::Endpoint;
use super::error::{JamfError, decode_error};
use super::transport::{Auth, Body, Call, RawResponse};

/// What a token request produced (not yet cached).
pub(crate) struct Minted {
    pub(crate) value: SecretString,
    pub(crate) lifetime: Duration,
    pub(crate) scope: String,
    pub(crate) role_ids: Vec<String>,
}

/// A description of the cached token, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Client-credentials or user token.
    pub kind: TokenKind,
    /// Time left before it expires.
    pub expires_in: Duration,
    /// Role ids from the token's scope (client-credentials tokens only).
    pub role_ids: Vec<String>,
}

impl JamfClient {
    /// "Now" on the client's clock ([`JamfClientConfig::clock`](super::JamfClientConfig::clock)).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.inner.config.clock)()
    }

    /// A usable bearer token: the cached one, a kept-alive user token, or a new one.
    pub(crate) async fn bearer(&self) -> Result<CachedToken, JamfError> {
        let mut state = self.inner.auth.lock().await;
        let now = self.now();
        let margin = self.inner.config.token_margin;
        if let Some(token) = &state.token
            && token.is_fresh(now, margin)
            && !token.wants_keep_alive(now)
        {
            return Ok(token.clone());
        }
        let credentials = state.credentials.clone();
        let previous = state.token.take();
        let minted = match (&credentials, previous) {
            (Credentials::User { username, password }, Some(old)) if old.is_fresh(now, margin) => {
                match self.keep_alive_raw(&old.value).await {
                    Ok(m) => m,
                    Err(JamfError::Unauthorized { .. }) => {
                        tracing::info!(
                            instance = %self.inner.config.instance,
                            "jamf keep-alive refused the token; logging in again"
                        );
                        self.login_user(username, password).await?
                    }
                    Err(e) => {
                        // The old token is still valid: keep using it, try again next time.
                        tracing::warn!(
                            instance = %self.inner.config.instance,
                            error = %e,
                            "jamf keep-alive failed; keeping the current token for now"
                        );
                        state.token = Some(old.clone());
                        return Ok(old);
                    }
                }
            }
            (Credentials::User { username, password }, _) => {
                self.login_user(username, password).await?
            }
            (
                Credentials::ApiClient {
                    client_id,
                    client_secret,
                },
                _,
            ) => self.mint_client_token(client_id, client_secret).await?,
        };
        let token = self.store_token(&mut state, credentials.token_kind(), minted);
        Ok(token)
    }

    fn store_token(
        &self,
        state: &mut super::auth::AuthState,
        kind: TokenKind,
        minted: Minted,
    ) -> CachedToken {
        state.next_id += 1;
        let obtained = self.now();
        let token = CachedToken {
            value: minted.value,
            id: state.next_id,
            kind,
            obtained,
            expires: crate::clock::add(obtained, minted.lifetime),
            role_ids: minted.role_ids,
        };
        state.token = Some(token.clone());
        token
    }

    /// Forgets the cached token if it is still the one with `id` (another caller may already
    /// have replaced it).
    pub(crate) async fn drop_token(&self, id: u64) {
        let mut state = self.inner.auth.lock().await;
        if state.token.as_ref().is_some_and(|t| t.id == id) {
            state.token = None;
        }
    }

    /// `POST /api/v1/oauth/token` with the client-credentials grant; on 404 falls back to the
    /// legacy `/api/oauth/token` and remembers that for this client. Token requests are retried
    /// on transient failures: minting twice has no side effect.
    pub(crate) async fn mint_client_token(
        &self,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<Minted, JamfError> {
        let legacy = &self.inner.legacy_oauth;
        let mut endpoint = if legacy.load(Ordering::Relaxed) {
            Endpoint::LegacyOAuthToken
        } else {
            Endpoint::OAuthToken
        };
        self.remember("client", client_id, client_secret);
        loop {
            let mut call = self.call(endpoint, &[]);
            call.body = Body::Form(vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose_secret()),
            ]);
            let resp = self.send(&call, &Auth::None).await?;
            if resp.status == 404 && endpoint == Endpoint::OAuthToken {
                tracing::info!(
                    instance = %self.inner.config.instance,
                    "/api/v1/oauth/token not found; using the legacy /api/oauth/token"
                );
                legacy.store(true, Ordering::Relaxed);
                endpoint = Endpoint::LegacyOAuthToken;
                continue;
            }
            if !resp.is_success() {
                return Err(resp.into_error(&call));
            }
            let parsed: OAuthTokenResponse = parse_body(&call, &resp)?;
            if let Some(kind) = parsed.token_type.as_deref()
                && !kind.eq_ignore_ascii_case("bearer")
            {
                tracing::warn!(
                    token_type = kind,
                    "unexpected oauth token type; using it as a bearer token"
                );
            }
            let scope = parsed.scope.clone().unwrap_or_default();
            self.remember("token", client_id, &parsed.access_token);
            return Ok(Minted {
                lifetime: parsed.lifetime(),
                role_ids: parse_scope(&scope),
                scope,
                value: parsed.access_token,
            });
        }
    }

    /// `POST /api/v1/auth/token` with Basic auth.
    async fn login_user(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<Minted, JamfError> {
        self.remember("user", username, password);
        let call = self.call(Endpoint::AuthToken, &[]);
        let resp = self
            .send(&call, &Auth::Basic { username, password })
            .await?;
        let minted = user_token_from(&call, resp, self.now())?;
        self.remember("token", "user", &minted.value);
        Ok(minted)
    }

    /// Registers a secret this client sends or receives with the process's scrubber
    /// ([`crate::changelog::remember_secret`]), under `jamf:<instance>:<what>:<who>`, so that
    /// it cannot reach any output even when a server echoes it back.
    pub(crate) fn remember(&self, what: &str, who: &str, secret: &SecretString) {
        let slot = format!("jamf:{}:{what}:{who}", self.inner.config.instance);
        crate::changelog::remember_secret(&slot, secret);
    }

    /// `POST /api/v1/auth/keep-alive`: a new token with a later expiry; the old one dies.
    async fn keep_alive_raw(&self, token: &SecretString) -> Result<Minted, JamfError> {
        let call = self.call(Endpoint::KeepAlive, &[]);
        let resp = self.send(&call, &Auth::Bearer(token)).await?;
        let minted = user_token_from(&call, resp, self.now())?;
        self.remember("token", "user", &minted.value);
        Ok(minted)
    }

    /// `POST /api/v1/auth/invalidate-token` with `token`. A 401 means it was already invalid,
    /// which is what was wanted.
    pub(crate) async fn invalidate_raw(&self, token: &SecretString) -> Result<(), JamfError> {
        let call = self.call(Endpoint::InvalidateToken, &[]);
        let resp = self.send(&call, &Auth::Bearer(token)).await?;
        if resp.is_success() || resp.status == 401 {
            Ok(())
        } else {
            Err(resp.into_error(&call))
        }
    }

    /// Obtains a token now if none is cached (e.g. to check the credentials at start-up).
    pub async fn authenticate(&self) -> Result<TokenInfo, JamfError> {
        self.bearer().await?;
        self.token_info()
            .await
            .ok_or_else(|| JamfError::Config("no token after authenticating".into()))
    }

    /// Whether a request made now would use the cached token as it is: no token request,
    /// no keep-alive, so no use of the credentials.
    pub async fn has_fresh_token(&self) -> bool {
        let state = self.inner.auth.lock().await;
        let now = self.now();
        state.token.as_ref().is_some_and(|t| {
            t.is_fresh(now, self.inner.config.token_margin) && !t.wants_keep_alive(now)
        })
    }

    /// Describes the cached token (never the token itself).
    pub async fn token_info(&self) -> Option<TokenInfo> {
        let state = self.inner.auth.lock().await;
        state.token.as_ref().map(|t| TokenInfo {
            kind: t.kind,
            expires_in: t.expires_in(self.now()),
            role_ids: t.role_ids.clone(),
        })
    }

    /// Renews the user session now with `POST /api/v1/auth/keep-alive` (logging in again with
    /// Basic if that answers 401). Client-credentials tokens cannot be kept alive: for them this
    /// is a [`JamfError::Config`].
    pub async fn keep_alive(&self) -> Result<TokenInfo, JamfError> {
        let mut state = self.inner.auth.lock().await;
        let Credentials::User { username, password } = state.credentials.clone() else {
            return Err(JamfError::Config(
                "client-credentials tokens cannot be kept alive; a new one is minted instead"
                    .into(),
            ));
        };
        let minted = match state.token.take() {
            Some(old) => match self.keep_alive_raw(&old.value).await {
                Ok(m) => m,
                Err(JamfError::Unauthorized { .. }) => {
                    self.login_user(&username, &password).await?
                }
                Err(e) => {
                    state.token = Some(old);
                    return Err(e);
                }
            },
            None => self.login_user(&username, &password).await?,
        };
        let t = self.store_token(&mut state, TokenKind::User, minted);
        Ok(TokenInfo {
            kind: t.kind,
            expires_in: t.expires_in(self.now()),
            role_ids: t.role_ids,
        })
    }

    /// Invalidates the cached token on the server and forgets it (`POST
    /// /api/v1/auth/invalidate-token`). The next request authenticates again.
    pub async fn invalidate_token(&self) -> Result<(), JamfError> {
        let token = self.inner.auth.lock().await.token.take();
        match token {
            Some(t) => self.invalidate_raw(&t.value).await,
            None => Ok(()),
        }
    }

    /// Ends the session: invalidates the cached token and forgets the sticky-session cookies.
    /// The client stays usable; a later request starts a new session.
    pub async fn close(&self) -> Result<(), JamfError> {
        let result = self.invalidate_token().await;
        self.reset_session();
        result
    }

    /// Switches to other credentials (e.g. the daemon's own rotated secret). The cached token
    /// is dropped, not invalidated, so requests in flight finish; the next request
    /// authenticates with the new credentials. Verify them first with
    /// [`verify_client_credentials`](JamfClient::verify_client_credentials).
    pub async fn set_credentials(&self, credentials: Credentials) {
        let mut state = self.inner.auth.lock().await;
        state.credentials = credentials;
        state.token = None;
    }
}

/// The token of a login or keep-alive answer; `now` is the client's clock, used when the
/// server sent no `Date`.
fn user_token_from(
    call: &Call<'_>,
    resp: RawResponse,
    now: DateTime<Utc>,
) -> Result<Minted, JamfError> {
    if !resp.is_success() {
        return Err(resp.into_error(call));
    }
    let parsed: AuthTokenResponse = parse_body(call, &resp)?;
    let expires = parse_expires(&parsed.expires).ok_or_else(|| JamfError::Decode {
        op: call.op(),
        status: resp.status,
        detail: "\"expires\" is not an iso-8601 timestamp".into(),
        snippet: String::new(),
    })?;
    Ok(Minted {
        value: parsed.token,
        lifetime: user_token_lifetime(expires, resp.date, now),
        scope: String::new(),
        role_ids: Vec::new(),
    })
}

/// Deserialises a success body, mapping failures to [`JamfError::Decode`].
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    call: &Call<'_>,
    resp: &RawResponse,
) -> Result<T, JamfError> {
    serde_json::from_slice(&resp.body)
        .map_err(|e| decode_error(call.endpoint, call.op(), resp.status, &resp.body, &e))
}
