//! Step 1: check that the rotation can work before anything changes.

use std::collections::BTreeSet;

use super::error::{PreflightFailure, RotationError};
use super::marker::{Marker, Slot};
use super::store::{SecretStore, WriteArea, WriteNeed};
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
    // Vault's KV v2 existence check (create versus update) asks whether the metadata exists
    let exists = meta.is_some();
    let marker = Marker::parse(&meta.map(|m| m.custom).unwrap_or_default());
    if !target.client.enabled {
        return Err(refused(name, PreflightFailure::DeclaredDisabled));
    }
    prove_writes(store, target, exists).await?;
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

/// Proves that every write this rotation can make will be allowed, before anything changes
/// (issue: a policy with `create` but not `update` let Warden mint a secret it could not
/// store). Each path needs `update` if it exists or is written more than once, `create` if it
/// does not exist yet: the new secret at `<vault_path>` (alternating: also both slot paths,
/// since the flip writes `<vault_path>`), the marker in `<vault_path>`'s metadata (written
/// several times), and the lock (taken, then released).
pub(crate) async fn prove_writes<S: SecretStore>(
    store: &S,
    target: &RotationTarget,
    main_exists: bool,
) -> Result<(), RotationError> {
    let name = &target.client.name;
    let once = |exists: bool| {
        if exists {
            vec!["update"]
        } else {
            vec!["create"]
        }
    };
    let repeated = |exists: bool| {
        if exists {
            vec!["update"]
        } else {
            vec!["create", "update"]
        }
    };
    let exists =
        |path: String| async move { store.read_metadata(&path).await.map(|m| m.is_some()) };
    let mut needs = vec![WriteNeed {
        path: target.vault_path().to_string(),
        area: WriteArea::Metadata,
        capabilities: repeated(main_exists),
    }];
    match target.client.rotation.strategy {
        RotationStrategy::Single => needs.push(WriteNeed {
            path: target.vault_path().to_string(),
            area: WriteArea::Data,
            capabilities: once(main_exists),
        }),
        RotationStrategy::Alternating => {
            // the flip may write the main path twice in one run (recovery of a stale flip)
            needs.push(WriteNeed {
                path: target.vault_path().to_string(),
                area: WriteArea::Data,
                capabilities: repeated(main_exists),
            });
            for slot in [Slot::A, Slot::B] {
                let path = target.slot_path(slot);
                let found = exists(path.clone())
                    .await
                    .map_err(|e| before_mint(name, e))?;
                needs.push(WriteNeed {
                    path,
                    area: WriteArea::Data,
                    capabilities: once(found),
                });
            }
        }
    }
    let lock = target.lock_path();
    let lock_found = exists(lock.clone())
        .await
        .map_err(|e| before_mint(name, e))?;
    needs.push(WriteNeed {
        path: lock,
        area: WriteArea::Data,
        capabilities: repeated(lock_found),
    });
    store.prove_writes(&needs).await.map_err(|e| match e {
        VaultError::MissingCapability {
            path,
            capability,
            have,
        } => RotationError::WriteNotAllowed {
            client: name.clone(),
            path,
            capability: capability.to_string(),
            have,
        },
        other => before_mint(name, other),
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
