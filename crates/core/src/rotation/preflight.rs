//! Step 1: check that the rotation can work before anything changes.

use std::collections::BTreeSet;

use super::error::{PreflightFailure, RotationError};
use super::marker::Marker;
use super::store::SecretStore;
use super::target::RotationTarget;
use super::verify::Expected;
use crate::config::RotationStrategy;
use crate::jamf::{ApiIntegration, AppType, JamfClient, JamfError};
use crate::vault::VaultError;

/// What preflight found.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The marker before the lock (re-read under it).
    pub marker: Marker,
    /// The instance URL without a trailing `/`.
    pub jamf_url: String,
    /// The declared client, live.
    pub primary: ApiIntegration,
    /// Alternating: its `(alternate)` twin, `None` if it does not exist yet.
    pub alternate: Option<ApiIntegration>,
    /// What a token of the new secret must show.
    pub expected: Expected,
}

/// Maps a Vault error before the mint: nothing was minted.
pub(crate) fn before_mint(client: &str, source: VaultError) -> RotationError {
    if source.is_transient() {
        RotationError::VaultUnavailable {
            client: client.to_string(),
            source,
        }
    } else {
        RotationError::Vault {
            client: client.to_string(),
            source,
        }
    }
}

/// Maps a Jamf error before the mint: nothing was minted.
pub(crate) fn jamf_before_mint(client: &str, source: JamfError) -> RotationError {
    RotationError::Jamf {
        client: client.to_string(),
        source: Box::new(source),
    }
}

/// Vault reachable (current version and metadata read); the client exists, is ours, enabled,
/// with exactly the declared roles, which exist; for `alternating`, the same for the twin if it
/// exists.
pub(crate) async fn preflight<S: SecretStore>(
    store: &S,
    jamf: &JamfClient,
    target: &RotationTarget,
) -> Result<Prepared, RotationError> {
    let name = &target.client.name;
    let meta = store
        .read_metadata(target.vault_path())
        .await
        .map_err(|e| before_mint(name, e))?;
    let marker = Marker::parse(&meta.map(|m| m.custom).unwrap_or_default());
    if !target.client.enabled {
        return Err(refused(name, PreflightFailure::DeclaredDisabled));
    }
    let primary = jamf
        .find_integration_by_name(name)
        .await
        .map_err(|e| jamf_before_mint(name, e))?
        .ok_or_else(|| refused(name, PreflightFailure::ClientMissing { name: name.clone() }))?;
    check_live(target, &primary)?;
    let roles = jamf
        .list_roles()
        .await
        .map_err(|e| jamf_before_mint(name, e))?;
    let expected = Expected::from_roles(&target.client.roles, &roles)
        .map_err(|role| refused(name, PreflightFailure::RoleMissing { role }))?;
    let alternate = match target.client.rotation.strategy {
        RotationStrategy::Single => None,
        RotationStrategy::Alternating => {
            let alt = jamf
                .find_integration_by_name(&target.alternate_name())
                .await
                .map_err(|e| jamf_before_mint(name, e))?;
            if let Some(alt) = &alt {
                check_live(target, alt)?;
            }
            alt
        }
    };
    Ok(Prepared {
        marker,
        jamf_url: jamf
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        primary,
        alternate,
        expected,
    })
}

/// A live client may be rotated for `target`: not foreign, enabled, declared roles.
pub(crate) fn check_live(
    target: &RotationTarget,
    live: &ApiIntegration,
) -> Result<(), RotationError> {
    let name = &target.client.name;
    if live.app_type == AppType::NativeAppOauth {
        return Err(RotationError::Foreign {
            client: live.display_name.clone(),
            app_type: live.app_type.to_string(),
        });
    }
    if !live.enabled {
        return Err(refused(
            name,
            PreflightFailure::Disabled {
                name: live.display_name.clone(),
            },
        ));
    }
    let declared: BTreeSet<&str> = target.client.roles.iter().map(String::as_str).collect();
    if live.scope_set() != declared {
        return Err(refused(
            name,
            PreflightFailure::RolesDiffer {
                name: live.display_name.clone(),
                declared: declared.iter().map(|s| s.to_string()).collect(),
                live: live.scope_set().iter().map(|s| s.to_string()).collect(),
            },
        ));
    }
    Ok(())
}

fn refused(client: &str, failure: PreflightFailure) -> RotationError {
    RotationError::Preflight {
        client: client.to_string(),
        failure,
    }
}
