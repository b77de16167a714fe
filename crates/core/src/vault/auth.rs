//! Vault authentication: a token (checked with `lookup-self`) or AppRole (login), and keeping
//! the token alive: renew at two thirds of its lease, log in again with AppRole when renewal
//! fails or the token nears its maximum TTL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use vaultrs::client::Client;

use super::{Vault, VaultError};

/// How Warden authenticates to Vault. The secrets are read from files by the config layer.
#[derive(Clone)]
pub enum VaultCredentials {
    /// A token, e.g. from a systemd credential file.
    Token(SecretString),
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

impl Vault {
    /// Authenticates from scratch: `lookup-self` for a token, `login` for AppRole.
    pub(super) async fn authenticate(&self) -> Result<(), VaultError> {
        let address = self.settings.address_str();
        match &self.credentials {
            VaultCredentials::Token(token) => {
                crate::changelog::remember_secret("vault:token", token);
                let client = self.client.read().await;
                let info = vaultrs::token::lookup_self(&*client)
                    .await
                    .map_err(|e| auth_error(e, &address, "token lookup"))?;
                let mut st = self.token.lock().await;
                *st = TokenState {
                    obtained: Some((self.settings.clock)()),
                    lease: Some(Duration::from_secs(info.ttl)),
                    renewable: info.renewable.unwrap_or(false),
                };
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
        match self.credentials {
            VaultCredentials::AppRole { .. } => {
                self.authenticate().await?;
                Ok(true)
            }
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
