//! The few KV v2 operations the rotation engine needs, as a trait implemented by [`Vault`] and
//! by the in-memory [`MemoryStore`](super::MemoryStore) used in tests.
//!
//! The engine is generic over it (no `dyn`): each method is an `async fn` in the impls.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::vault::{KvMetadata, SecretMap, Vault, VaultError, Versioned};

/// KV v2 storage as the rotation engine uses it. Paths are relative to the store's prefix.
///
/// Semantics every implementation must keep (the real Vault/OpenBao behaviour, tested against
/// OpenBao in `tests/testkit/tests/rotation_*.rs`):
/// - data writes are check-and-set: `cas = 0` creates only when the path has no version yet
///   (a metadata entry without versions counts as "no version"), `cas = N` writes only when the
///   current version is N; a mismatch is [`VaultError::CasConflict`];
/// - `read_*` return `None` for a path that does not exist (or whose latest version is deleted);
/// - custom metadata writes have **no** check-and-set and replace the whole map; writing it on a
///   path without data creates the metadata entry (current version 0).
pub trait SecretStore: Send + Sync {
    /// The path as shown to people (mount-relative, prefix included), e.g. in outcomes.
    fn full_path(&self, path: &str) -> String;

    /// The latest version of a secret with its version number.
    fn read_secret(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<Versioned<SecretMap>>, VaultError>> + Send;

    /// Writes a secret as a new version with check-and-set; returns the new version.
    fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> impl Future<Output = Result<u64, VaultError>> + Send;

    /// Reads non-secret JSON data with its version.
    fn read_json(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<Versioned<Value>>, VaultError>> + Send;

    /// Writes non-secret JSON data with check-and-set; returns the new version.
    fn write_json_cas(
        &self,
        path: &str,
        data: &Value,
        cas: u64,
    ) -> impl Future<Output = Result<u64, VaultError>> + Send;

    /// A secret's metadata, `None` when the path has never been written.
    fn read_metadata(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<KvMetadata>, VaultError>> + Send;

    /// Replaces the whole custom metadata map of a path (no check-and-set exists for this).
    fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Proves, before anything changes, that every write in `needs` will be allowed: the
    /// token holds each listed capability on each exact path.
    /// [`VaultError::MissingCapability`] names the first one missing. A store without access
    /// control (the in-memory test store) proves everything.
    fn prove_writes(
        &self,
        needs: &[WriteNeed],
    ) -> impl Future<Output = Result<(), VaultError>> + Send {
        let _ = needs;
        async { Ok(()) }
    }
}

/// Which side of a KV v2 path a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteArea {
    /// `<mount>/data/<path>`: secret versions (and the lock).
    Data,
    /// `<mount>/metadata/<path>`: custom metadata (the marker).
    Metadata,
}

/// A write a rotation will make, with the capabilities Vault checks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteNeed {
    /// Path relative to the store's prefix.
    pub path: String,
    /// Data or metadata.
    pub area: WriteArea,
    /// Capabilities needed (`create` for a path that does not exist yet, `update` for one
    /// that does or that is written more than once).
    pub capabilities: Vec<&'static str>,
}

/// Whether a capability list from Vault grants `needed`.
pub fn grants(have: &[String], needed: &str) -> bool {
    if have.iter().any(|c| c == "deny") {
        return false;
    }
    have.iter().any(|c| c == "root" || c == needed)
}

impl SecretStore for Vault {
    fn full_path(&self, path: &str) -> String {
        self.settings().full_path(path)
    }

    async fn read_secret(&self, path: &str) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        Vault::read_secret(self, path).await
    }

    async fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> Result<u64, VaultError> {
        Vault::write_secret_cas(self, path, data, cas).await
    }

    async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        Vault::read_json(self, path).await
    }

    async fn write_json_cas(&self, path: &str, data: &Value, cas: u64) -> Result<u64, VaultError> {
        Vault::write_json(self, path, data, Some(cas)).await
    }

    async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
        Vault::read_metadata(self, path).await
    }

    async fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        Vault::write_custom_metadata(self, path, custom).await
    }

    async fn prove_writes(&self, needs: &[WriteNeed]) -> Result<(), VaultError> {
        let api = |n: &WriteNeed| match n.area {
            WriteArea::Data => self.data_api_path(&n.path),
            WriteArea::Metadata => self.metadata_api_path(&n.path),
        };
        let mut paths: Vec<String> = needs.iter().map(api).collect();
        paths.sort();
        paths.dedup();
        let have = self.capabilities(&paths).await?;
        for need in needs {
            let path = api(need);
            let caps = have.get(&path).cloned().unwrap_or_default();
            if let Some(missing) = need.capabilities.iter().find(|c| !grants(&caps, c)) {
                return Err(VaultError::MissingCapability {
                    path,
                    capability: missing,
                    have: caps.into(),
                });
            }
        }
        Ok(())
    }
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl<T: SecretStore> SecretStore for $ty {
            fn full_path(&self, path: &str) -> String {
                (**self).full_path(path)
            }

            async fn read_secret(
                &self,
                path: &str,
            ) -> Result<Option<Versioned<SecretMap>>, VaultError> {
                (**self).read_secret(path).await
            }

            async fn write_secret_cas(
                &self,
                path: &str,
                data: &SecretMap,
                cas: u64,
            ) -> Result<u64, VaultError> {
                (**self).write_secret_cas(path, data, cas).await
            }

            async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
                (**self).read_json(path).await
            }

            async fn write_json_cas(
                &self,
                path: &str,
                data: &Value,
                cas: u64,
            ) -> Result<u64, VaultError> {
                (**self).write_json_cas(path, data, cas).await
            }

            async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
                (**self).read_metadata(path).await
            }

            async fn write_custom_metadata(
                &self,
                path: &str,
                custom: &BTreeMap<String, String>,
            ) -> Result<(), VaultError> {
                (**self).write_custom_metadata(path, custom).await
            }

            async fn prove_writes(&self, needs: &[WriteNeed]) -> Result<(), VaultError> {
                (**self).prove_writes(needs).await
            }
        }
    };
}

forward_store!(Arc<T>);
forward_store!(&T);

/// The current version of a path: from its metadata, 0 when it has none (the `cas` that
/// creates it).
pub(crate) async fn current_version<S: SecretStore>(
    store: &S,
    path: &str,
) -> Result<u64, VaultError> {
    Ok(store
        .read_metadata(path)
        .await?
        .map(|m| m.current_version)
        .unwrap_or(0))
}
