//! Confirming what a stored secret covers: one client-credentials token request with the
//! secret stored for a client (invalidated at once), read for its `scope` (the role ids Jamf
//! snapshotted when the secret was minted). Drift uses it to confirm `scope_stale` where the
//! stored secret can be used ([`TokenScope`] over the roles recorded at mint).

use secrecy::ExposeSecret;

use super::engine::RotationEngine;
use super::error::RotationError;
use super::hook::StepHook;
use super::preflight::{before_mint, jamf_before_mint};
use super::scope::TokenScope;
use super::store::SecretStore;
use super::target::RotationTarget;
use crate::jamf::{ClientCredentials, JamfClient, JamfError};

/// What a token of the stored secret said about its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeCheck {
    /// The token's scope (or `known`, for the same version).
    Confirmed(TokenScope),
    /// Nothing stored, or stored data without credentials: nothing to ask.
    NothingStored,
    /// Jamf refused the stored secret a token (changed out of band?): no scope evidence.
    Refused { version: u64, cause: String },
}

impl<S: SecretStore, H: StepHook> RotationEngine<S, H> {
    /// The scope of the secret stored for `target`, by a token it gets. `known`: the answer
    /// for an earlier check; if the stored version is still the same, it is returned without
    /// a token request (a secret's scope never changes).
    pub async fn token_scope(
        &self,
        jamf: &JamfClient,
        target: &RotationTarget,
        known: Option<&TokenScope>,
    ) -> Result<ScopeCheck, RotationError> {
        let name = &target.client.name;
        let Some(stored) = self
            .store
            .read_secret(target.vault_path())
            .await
            .map_err(|e| before_mint(name, e))?
        else {
            return Ok(ScopeCheck::NothingStored);
        };
        if let Some(known) = known.filter(|k| k.version == stored.version) {
            return Ok(ScopeCheck::Confirmed(known.clone()));
        }
        let (Some(id), Some(secret)) = (
            stored.value.get("client_id"),
            stored.value.get("client_secret"),
        ) else {
            return Ok(ScopeCheck::NothingStored);
        };
        let creds = ClientCredentials {
            client_id: id.expose_secret().to_owned(),
            client_secret: secret.clone(),
        };
        match jamf.verify_client_credentials(&creds, None).await {
            Ok(token) => Ok(ScopeCheck::Confirmed(TokenScope {
                version: stored.version,
                role_ids: token.role_ids.into_iter().collect(),
            })),
            Err(e @ (JamfError::OAuth { .. } | JamfError::Unauthorized { .. })) => {
                Ok(ScopeCheck::Refused {
                    version: stored.version,
                    cause: e.to_string(),
                })
            }
            Err(e) => Err(jamf_before_mint(name, e)),
        }
    }
}
