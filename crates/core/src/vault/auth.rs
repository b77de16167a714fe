//! Vault authentication: a token (checked with `lookup-self`), a token file (the Vault Agent
//! sink pattern: re-read on every authentication need and whenever its content changes) or
//! AppRole (login), and keeping the token alive: renew at two thirds of its lease, log in again
//! with AppRole when renewal fails or the token nears its maximum TTL.
//!
//! A request Vault refuses with 403 is retried once after the credentials are refreshed: the
//! token file is re-read (a rotated token is picked up without a restart), an AppRole token
//! that no longer looks itself up logs in again. A refusal that survives that, by a token that
//! is still valid, is a policy refusal: it names the API path and the capability refused.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use vaultrs::client::Client;

use super::{Vault, VaultError};

/// How Warden authenticates to Vault. The secrets are read from files by the config layer.
#[derive(Clone)]
pub enum VaultCredentials {
    /// A token read once (tests, or a token handed over by the caller).
    Token(SecretString),
    /// A file holding the token (a systemd credential, or a Vault Agent token sink): re-read
    /// on every authentication need and whenever its content changes.
    TokenFile(PathBuf),
    /// AppRole: role id and secret id, at `auth/<mount>/login`.
    AppRole {
        mount: String,
        role_id: SecretString,
        secret_id: SecretString,
    },
}

impl std::fmt::Debug for VaultCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultCredentials::Token(_) => f.write_str("Token(<redacted>)"),
            VaultCredentials::TokenFile(path) => f.debug_tuple("TokenFile").field(path).finish(),
            VaultCredentials::AppRole { mount, .. } => f
                .debug_struct("AppRole")
                .field("mount", mount)
                .field("role_id", &"<redacted>")
                .field("secret_id", &"<redacted>")
                .finish(),
        }
    }
}

/// What Warden knows of its current token's lifetime.
#[derive(Debug, Clone, Default)]
pub struct TokenState {
    /// When the lease was obtained or last renewed, on the Vault client's clock
    /// ([`VaultSettings::clock`](super::VaultSettings::clock)).
    pub obtained: Option<DateTime<Utc>>,
    /// The lease duration at that moment; `None` or zero means it never expires (root token).
    pub lease: Option<Duration>,
    /// Whether `renew-self` can extend it.
    pub renewable: bool,
}

impl TokenState {
    /// True when two thirds of the lease have passed at `now`.
    pub fn needs_renewal(&self, now: DateTime<Utc>) -> bool {
        match (self.obtained, self.lease) {
            (Some(at), Some(lease)) if !lease.is_zero() => {
                crate::clock::until(at, now) >= lease * 2 / 3
            }
            _ => false,
        }
    }
}

/// What `wardenctl status` shows of Vault: where, how, the token's lifetime, the last error.
#[derive(Debug, Clone, Default)]
pub struct VaultStatus {
    /// Vault's address.
    pub address: String,
    /// `token`, `token_file` or `approle`.
    pub auth_method: &'static str,
    /// The token file, for `token_file`.
    pub token_file: Option<PathBuf>,
    /// Seconds left of the token's lease at the time asked; `None`: it never expires.
    pub token_ttl_seconds: Option<u64>,
    /// Whether the token can be renewed.
    pub renewable: bool,
    /// When Warden last authenticated (looked the token up, logged in or took a new token
    /// from the file).
    pub last_authenticated: Option<DateTime<Utc>>,
    /// When the token was last renewed.
    pub last_renewed: Option<DateTime<Utc>>,
    /// The last authentication, renewal or refusal error, until the next success.
    pub last_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<DateTime<Utc>>,
}

/// What the status report keeps between requests (the token's lifetime is in [`TokenState`]).
#[derive(Debug, Default)]
pub(super) struct AuthRecord {
    /// SHA-256 of the token last read from the token file.
    pub(super) file_token: Option<[u8; 32]>,
    pub(super) last_authenticated: Option<DateTime<Utc>>,
    pub(super) last_renewed: Option<DateTime<Utc>>,
    pub(super) last_error: Option<(String, DateTime<Utc>)>,
}

fn fingerprint(token: &SecretString) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.expose_secret().as_bytes()).into()
}

/// Reads the token file (a regular file, not readable by others).
fn read_token_file(path: &std::path::Path) -> Result<SecretString, VaultError> {
    crate::config::read_secret_file(path).map_err(|e| {
        VaultError::Auth(format!(
            "cannot read the token file: {e}; check that it exists and that wardend can read it \
             (a Vault Agent sink must be readable by the service user)"
        ))
    })
}

impl Vault {
    /// Authenticates from scratch: `lookup-self` for a token (a token file is read again
    /// first), `login` for AppRole.
    pub(super) async fn authenticate(&self) -> Result<(), VaultError> {
        let result = self.authenticate_inner().await;
        match &result {
            Ok(()) => {
                let mut rec = self.auth.lock().await;
                rec.last_authenticated = Some((self.settings.clock)());
                rec.last_error = None;
            }
            Err(e) => self.note_error(e).await,
        }
        result
    }

    async fn authenticate_inner(&self) -> Result<(), VaultError> {
        let address = self.settings.address_str();
        match &self.credentials {
            VaultCredentials::Token(token) => {
                crate::changelog::remember_secret("vault:token", token);
                self.lookup_token(&address, "token lookup").await?;
            }
            VaultCredentials::TokenFile(path) => {
                let token = read_token_file(path)?;
                crate::changelog::remember_secret("vault:token", &token);
                self.client.write().await.set_token(token.expose_secret());
                self.auth.lock().await.file_token = Some(fingerprint(&token));
                self.lookup_token(&address, "token lookup")
                    .await
                    .map_err(|e| match e {
                        VaultError::Auth(_) => VaultError::Auth(format!(
                            "the token in {} is invalid, expired or revoked (403); write a valid \
                         token there (Vault Agent does when it renews its sink): wardend re-reads \
                         the file before every retry, no restart needed",
                            path.display()
                        )),
                        other => other,
                    })?;
            }
            VaultCredentials::AppRole {
                mount,
                role_id,
                secret_id,
            } => {
                crate::changelog::remember_secret("vault:approle:secret_id", secret_id);
                let mut client = self.client.write().await;
                let info = vaultrs::auth::approle::login(
                    &*client,
                    mount,
                    role_id.expose_secret(),
                    secret_id.expose_secret(),
                )
                .await
                .map_err(|e| auth_error(e, &address, "approle login"))?;
                crate::changelog::remember_secret(
                    "vault:token",
                    &SecretString::from(info.client_token.clone()),
                );
                client.set_token(&info.client_token);
                let mut st = self.token.lock().await;
                *st = TokenState {
                    obtained: Some((self.settings.clock)()),
                    lease: Some(Duration::from_secs(info.lease_duration)),
                    renewable: info.renewable,
                };
            }
        }
        Ok(())
    }

    /// `lookup-self` with the current token; keeps its lease.
    async fn lookup_token(&self, address: &str, what: &str) -> Result<(), VaultError> {
        let info = {
            let client = self.client.read().await;
            vaultrs::token::lookup_self(&*client)
                .await
                .map_err(|e| auth_error(e, address, what))?
        };
        let mut st = self.token.lock().await;
        *st = TokenState {
            obtained: Some((self.settings.clock)()),
            lease: Some(Duration::from_secs(info.ttl)),
            renewable: info.renewable.unwrap_or(false),
        };
        Ok(())
    }

    /// Records `e` as the last error shown by the status report.
    pub(super) async fn note_error(&self, e: &VaultError) {
        let mut rec = self.auth.lock().await;
        rec.last_error = Some((e.to_string(), (self.settings.clock)()));
    }

    /// Re-reads the token file; when it holds another token, authenticates with it. Returns
    /// whether the token changed. Nothing to do for other credentials.
    pub async fn reload_token_file(&self) -> Result<bool, VaultError> {
        let VaultCredentials::TokenFile(path) = &self.credentials else {
            return Ok(false);
        };
        let token = match read_token_file(path) {
            Ok(token) => token,
            Err(e) => {
                self.note_error(&e).await;
                return Err(e);
            }
        };
        if self.auth.lock().await.file_token == Some(fingerprint(&token)) {
            return Ok(false);
        }
        drop(token);
        tracing::info!(file = %path.display(), "the vault token file changed; authenticating with the new token");
        self.authenticate().await?;
        Ok(true)
    }

    /// After a 403: refreshes the credentials. `Ok(true)`: a new token, retry the request;
    /// `Ok(false)`: the token is valid, so the refusal is the policy's.
    async fn after_denial(&self) -> Result<bool, VaultError> {
        if self.reload_token_file().await? {
            return Ok(true);
        }
        let address = self.settings.address_str();
        match self.lookup_token(&address, "token lookup").await {
            Ok(()) => Ok(false),
            Err(e) => match &self.credentials {
                VaultCredentials::AppRole { .. } => {
                    tracing::warn!(error = %e, "the vault token no longer works; logging in again");
                    self.authenticate().await?;
                    Ok(true)
                }
                VaultCredentials::TokenFile(path) => Err(VaultError::Auth(format!(
                    "the token in {} is invalid, expired or revoked (403); write a valid token \
                     there (Vault Agent does when it renews its sink): wardend re-reads the file \
                     before every retry, no restart needed",
                    path.display()
                ))),
                VaultCredentials::Token(_) => Err(e),
            },
        }
    }

    /// Runs `op`; on a 403, refreshes the credentials ([`after_denial`](Self::after_denial))
    /// and, with a new token, runs it once more. A refusal left is named by `api_path` and
    /// `capability`.
    pub(super) async fn retrying<T, F, Fut>(
        &self,
        api_path: &str,
        capability: &'static str,
        op: F,
    ) -> Result<T, VaultError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, VaultError>>,
    {
        let first = match op().await {
            // 403 (Vault's answer to a bad token as to a policy refusal), or 401
            Err(e @ (VaultError::Denied { .. } | VaultError::Api { code: 401, .. })) => e,
            other => return other,
        };
        let result = match self.after_denial().await {
            Ok(true) => op().await,
            Ok(false) => Err(first),
            Err(e) => Err(e),
        };
        let result = result.map_err(|e| e.denied_as(api_path, capability));
        if let Err(e) = &result
            && matches!(e, VaultError::Denied { .. } | VaultError::Auth(_))
        {
            self.note_error(e).await;
        }
        result
    }

    /// Vault's state for `wardenctl status`, at `now` on the settings' clock.
    pub async fn status(&self, now: DateTime<Utc>) -> VaultStatus {
        let token = self.token_state().await;
        let rec = self.auth.lock().await;
        let ttl = match (token.obtained, token.lease) {
            (Some(at), Some(lease)) if !lease.is_zero() => {
                Some(lease.saturating_sub(crate::clock::until(at, now)).as_secs())
            }
            _ => None,
        };
        let (auth_method, token_file) = match &self.credentials {
            VaultCredentials::Token(_) => ("token", None),
            VaultCredentials::TokenFile(path) => ("token_file", Some(path.clone())),
            VaultCredentials::AppRole { .. } => ("approle", None),
        };
        VaultStatus {
            address: self.settings.address_str(),
            auth_method,
            token_file,
            token_ttl_seconds: ttl,
            renewable: token.renewable,
            last_authenticated: rec.last_authenticated,
            last_renewed: rec.last_renewed,
            last_error: rec.last_error.as_ref().map(|(e, _)| e.clone()),
            last_error_at: rec.last_error.as_ref().map(|(_, at)| *at),
        }
    }

    /// The current token state (for status output and tests).
    pub async fn token_state(&self) -> TokenState {
        self.token.lock().await.clone()
    }

    /// Keeps the token alive: when two thirds of the lease have passed, renew it; if renewal is
    /// refused (or the token is not renewable) and AppRole is configured, log in again. Call it
    /// regularly (the daemon does every minute). `now` is on the settings'
    /// [`clock`](super::VaultSettings::clock) (pass [`Vault::now`]). Returns whether anything
    /// was done.
    pub async fn maintain_token(&self, now: DateTime<Utc>) -> Result<bool, VaultError> {
        // a token file rewritten (Vault Agent renewed or replaced its sink): take the new token
        if self.reload_token_file().await? {
            return Ok(true);
        }
        let result = self.renew_if_due(now).await;
        if let Err(e) = &result {
            self.note_error(e).await;
        }
        result
    }

    async fn renew_if_due(&self, now: DateTime<Utc>) -> Result<bool, VaultError> {
        let state = self.token_state().await;
        if !state.needs_renewal(now) {
            return Ok(false);
        }
        let address = self.settings.address_str();
        if state.renewable {
            let renewed = {
                let client = self.client.read().await;
                vaultrs::token::renew_self(&*client, None).await
            };
            match renewed {
                Ok(info) if info.lease_duration > 0 => {
                    let mut st = self.token.lock().await;
                    *st = TokenState {
                        obtained: Some((self.settings.clock)()),
                        lease: Some(Duration::from_secs(info.lease_duration)),
                        renewable: info.renewable,
                    };
                    let mut rec = self.auth.lock().await;
                    rec.last_renewed = st.obtained;
                    rec.last_error = None;
                    return Ok(true);
                }
                Ok(_) => {}
                Err(e) => {
                    let mapped = auth_error(e, &address, "token renewal");
                    if !matches!(self.credentials, VaultCredentials::AppRole { .. }) {
                        return Err(mapped);
                    }
                    tracing::warn!(error = %mapped, "vault token renewal failed; logging in again");
                }
            }
        }
        match &self.credentials {
            VaultCredentials::AppRole { .. } => {
                self.authenticate().await?;
                Ok(true)
            }
            VaultCredentials::TokenFile(path) => Err(VaultError::Auth(format!(
                "the vault token in {} is about to expire and cannot be renewed; write a fresh \
                 token there (wardend re-reads the file every 30 s) or use a renewable token",
                path.display()
            ))),
            VaultCredentials::Token(_) => Err(VaultError::Auth(
                "the vault token is about to expire and cannot be renewed; \
                 provide a renewable token or use approle"
                    .into(),
            )),
        }
    }
}

fn auth_error(err: vaultrs::error::ClientError, address: &str, what: &str) -> VaultError {
    match VaultError::from_client(err, address, "auth") {
        e @ VaultError::Unavailable { .. } => e,
        VaultError::Denied { .. } => VaultError::Auth(format!(
            "{what} refused (403): the token or approle credentials are invalid or expired; \
             issue new ones"
        )),
        VaultError::Api { code, errors, .. } => VaultError::Auth(format!(
            "{what} refused ({code}): {}; check the credentials files",
            errors.join("; ")
        )),
        other => VaultError::Auth(format!("{what} failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_due_at_two_thirds() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let st = TokenState {
            obtained: Some(t0),
            lease: Some(Duration::from_secs(300)),
            renewable: true,
        };
        assert!(!st.needs_renewal(t0 + Duration::from_secs(199)));
        assert!(st.needs_renewal(t0 + Duration::from_secs(200)));
        let root = TokenState {
            obtained: Some(t0),
            lease: Some(Duration::ZERO),
            renewable: false,
        };
        assert!(!root.needs_renewal(t0 + Duration::from_secs(10_000)));
    }
}
