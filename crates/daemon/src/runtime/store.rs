//! The secret store the services use: Vault, or (only in builds with the `test-hooks` feature)
//! core's in-memory [`MemoryStore`], so that tests whose subject is not Vault run the same
//! services without an OpenBao server.
//!
//! [`Store`] implements [`SecretStore`] by delegation, plus what the daemon needs beyond it:
//! the settings that name paths in messages, the KV mount check at start-up and the token's
//! upkeep. For the memory store the mount always exists and there is no token to renew.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use warden_core::observe::{SharedObserver, VaultRequest};
#[cfg(feature = "test-hooks")]
use warden_core::rotation::MemoryStore;
use warden_core::rotation::{SecretStore, WriteNeed};
use warden_core::vault::{KvMetadata, SecretMap, Vault, VaultError, VaultSettings, Versioned};

/// Where secrets, the change log's MAC key and its head anchor are kept. Cheap to clone.
/// Every operation is told to the observer, if any (the daemon's metrics).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    observer: Option<SharedObserver>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.backend.fmt(f)
    }
}

#[derive(Clone, Debug)]
enum Backend {
    /// Vault (or OpenBao), authenticated.
    Vault(Arc<Vault>),
    /// Test-only: an in-memory store; `settings` name paths as the configured Vault would.
    #[cfg(feature = "test-hooks")]
    Memory {
        store: Arc<MemoryStore>,
        settings: Arc<VaultSettings>,
    },
}

impl Store {
    /// Vault, authenticated.
    pub fn vault(vault: Arc<Vault>) -> Store {
        Store {
            backend: Backend::Vault(vault),
            observer: None,
        }
    }

    /// The in-memory `store`, with paths named as `settings` would name them in Vault.
    #[cfg(feature = "test-hooks")]
    pub fn memory(store: Arc<MemoryStore>, settings: VaultSettings) -> Store {
        Store {
            backend: Backend::Memory {
                store,
                settings: Arc::new(settings),
            },
            observer: None,
        }
    }

    /// This store, telling `observer` about every operation.
    pub fn observed(mut self, observer: SharedObserver) -> Store {
        self.observer = Some(observer);
        self
    }

    /// Tells the observer that `operation` ended with `result`.
    fn note<T>(&self, operation: &'static str, result: &Result<T, VaultError>) {
        if let Some(o) = &self.observer {
            o.vault_request(&VaultRequest {
                operation,
                error: result.as_ref().err().map(error_kind),
            });
        }
    }

    /// The Vault settings: KV mount and path prefix, used to name paths in messages.
    pub fn settings(&self) -> &VaultSettings {
        match &self.backend {
            Backend::Vault(v) => v.settings(),
            #[cfg(feature = "test-hooks")]
            Backend::Memory { settings, .. } => settings,
        }
    }

    /// Proves the KV mount exists and is KV v2 (always true of the memory store).
    pub async fn check_mount(&self) -> Result<(), VaultError> {
        let result = match &self.backend {
            Backend::Vault(v) => v.check_mount().await,
            #[cfg(feature = "test-hooks")]
            Backend::Memory { .. } => Ok(()),
        };
        self.note("check_mount", &result);
        result
    }

    /// Vault's state for `wardenctl status` (the memory store: its settings' address only).
    pub async fn status(&self) -> warden_core::protocol::VaultState {
        match &self.backend {
            Backend::Vault(v) => {
                let s = v.status(v.now()).await;
                warden_core::protocol::VaultState {
                    address: s.address,
                    auth_method: s.auth_method.to_string(),
                    token_file: s.token_file,
                    token_ttl_secs: s.token_ttl_seconds,
                    renewable: s.renewable,
                    last_authenticated: s.last_authenticated,
                    last_renewed: s.last_renewed,
                    last_error: s.last_error,
                    last_error_at: s.last_error_at,
                }
            }
            #[cfg(feature = "test-hooks")]
            Backend::Memory { settings, .. } => warden_core::protocol::VaultState {
                address: settings.address.to_string(),
                auth_method: "memory".into(),
                token_file: None,
                token_ttl_secs: None,
                renewable: false,
                last_authenticated: None,
                last_renewed: None,
                last_error: None,
                last_error_at: None,
            },
        }
    }

    /// Renews the Vault token when it is due, on Vault's clock (nothing to do in memory).
    pub async fn maintain_token(&self) -> Result<(), VaultError> {
        match &self.backend {
            Backend::Vault(v) => {
                let result = v.maintain_token(v.now()).await;
                // only a renewal or a new login is a request
                if !matches!(result, Ok(false)) {
                    self.note("renew_token", &result);
                }
                result.map(|_| ())
            }
            #[cfg(feature = "test-hooks")]
            Backend::Memory { .. } => Ok(()),
        }
    }
}

/// Calls `$method` on whichever store `$self` is, and tells the observer as `$op`.
macro_rules! delegate {
    ($self:expr, $op:literal, $s:ident => $call:expr) => {{
        let result = match &$self.backend {
            Backend::Vault($s) => {
                let $s: &Vault = $s;
                $call
            }
            #[cfg(feature = "test-hooks")]
            Backend::Memory { store: $s, .. } => {
                let $s: &MemoryStore = $s;
                $call
            }
        };
        $self.note($op, &result);
        result
    }};
}

/// A fixed name for the kind of a store error (a metrics label).
fn error_kind(e: &VaultError) -> &'static str {
    match e {
        VaultError::Unavailable { .. } => "unavailable",
        VaultError::NotFound { .. } => "not_found",
        VaultError::MountMissing { .. } | VaultError::MountNotKv2 { .. } => "mount",
        VaultError::MissingCapability { .. } | VaultError::Denied { .. } => "denied",
        VaultError::CasConflict { .. } => "cas_conflict",
        VaultError::Auth(_) => "auth",
        VaultError::Config(_) => "config",
        VaultError::Api { .. } => "api",
        VaultError::Decode { .. } => "decode",
    }
}

impl SecretStore for Store {
    fn full_path(&self, path: &str) -> String {
        self.settings().full_path(path)
    }

    async fn read_secret(&self, path: &str) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        delegate!(self, "read_secret", s => SecretStore::read_secret(s, path).await)
    }

    async fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> Result<u64, VaultError> {
        delegate!(self, "write_secret", s => SecretStore::write_secret_cas(s, path, data, cas).await)
    }

    async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        delegate!(self, "read_json", s => SecretStore::read_json(s, path).await)
    }

    async fn write_json_cas(&self, path: &str, data: &Value, cas: u64) -> Result<u64, VaultError> {
        delegate!(self, "write_json", s => SecretStore::write_json_cas(s, path, data, cas).await)
    }

    async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
        delegate!(self, "read_metadata", s => SecretStore::read_metadata(s, path).await)
    }

    async fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        delegate!(self, "write_metadata", s => SecretStore::write_custom_metadata(s, path, custom).await)
    }

    async fn prove_writes(&self, needs: &[WriteNeed]) -> Result<(), VaultError> {
        delegate!(self, "capabilities", s => SecretStore::prove_writes(s, needs).await)
    }
}

#[cfg(all(test, feature = "test-hooks"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_names_paths_as_vault_would_and_keeps_kv_semantics() {
        let mut settings = VaultSettings::new("http://127.0.0.1:9".parse().unwrap());
        settings.kv_mount = "secret".into();
        settings.path_prefix = "warden".into();
        let memory = Arc::new(MemoryStore::new());
        let store = Store::memory(Arc::clone(&memory), settings);
        assert_eq!(
            store.full_path("instances/a/management"),
            "warden/instances/a/management"
        );
        assert_eq!(store.settings().kv_mount, "secret");
        store.check_mount().await.unwrap();
        store.maintain_token().await.unwrap();
        let data = serde_json::json!({"seq": 1});
        assert_eq!(store.write_json_cas("p", &data, 0).await.unwrap(), 1);
        let err = store.write_json_cas("p", &data, 0).await.unwrap_err();
        assert!(matches!(err, VaultError::CasConflict { .. }));
        // the same store behind the handle: what a test reads is what the daemon wrote
        assert_eq!(memory.version("p", 1), Some(data));
        assert!(store.prove_writes(&[]).await.is_ok());
    }
}
