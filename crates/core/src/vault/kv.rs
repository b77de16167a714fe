//! KV v2 operations: versioned reads, check-and-set writes, custom metadata.
//!
//! Paths passed in are relative to the configured prefix (`jamf-warden/` by default).

use std::collections::{BTreeMap, HashMap};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use vaultrs::api::kv2::requests::{
    ReadSecretRequest, SetSecretMetadataRequest, SetSecretRequestOptions,
};
use vaultrs::api::kv2::responses::ReadSecretResponse;
use vaultrs::kv2;

use super::{Vault, VaultError};

/// A KV secret's string fields, each held as a secret. `Debug` shows only the keys.
#[derive(Clone, Default)]
pub struct SecretMap(pub BTreeMap<String, SecretString>);

impl std::fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl SecretMap {
    /// An empty map.
    pub fn new() -> SecretMap {
        SecretMap::default()
    }

    /// Adds a field.
    pub fn insert(&mut self, key: impl Into<String>, value: SecretString) {
        self.0.insert(key.into(), value);
    }

    /// A field, if present.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.0.get(key)
    }

    fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_string())))
                .collect(),
        )
    }

    pub(super) fn from_json(v: Value, path: &str) -> Result<SecretMap, VaultError> {
        let Value::Object(obj) = v else {
            return Err(VaultError::Decode {
                path: path.to_string(),
                detail: "the secret's data is not an object".into(),
            });
        };
        let mut map = SecretMap::new();
        for (k, v) in obj {
            let s = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            map.insert(k, SecretString::from(s));
        }
        Ok(map)
    }
}

/// A value with the KV version it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

/// One version's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub created_time: String,
    pub deleted: bool,
    pub destroyed: bool,
}

/// A secret's metadata: current version, custom metadata (non-secret strings), versions.
#[derive(Debug, Clone, Default)]
pub struct KvMetadata {
    pub current_version: u64,
    pub custom: BTreeMap<String, String>,
    pub versions: BTreeMap<u64, VersionInfo>,
}

impl Vault {
    /// Reads the latest version of a secret, with its version number, or `None` when the path
    /// does not exist (or its latest version was deleted).
    pub async fn read_secret(
        &self,
        path: &str,
    ) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        let full = self.settings.full_path(path);
        match self.read_raw(&full, None).await? {
            None => Ok(None),
            Some((version, data)) => Ok(Some(Versioned {
                version,
                value: SecretMap::from_json(data, &full)?,
            })),
        }
    }

    /// Reads one specific version of a secret.
    pub async fn read_secret_version(
        &self,
        path: &str,
        version: u64,
    ) -> Result<Option<SecretMap>, VaultError> {
        let full = self.settings.full_path(path);
        match self.read_raw(&full, Some(version)).await? {
            None => Ok(None),
            Some((_, data)) => Ok(Some(SecretMap::from_json(data, &full)?)),
        }
    }

    /// Writes a secret as a new version with check-and-set: `cas = 0` creates only when the path
    /// is absent, `cas = N` writes only when the current version is N. Returns the new version.
    pub async fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> Result<u64, VaultError> {
        let full = self.settings.full_path(path);
        // The plain JSON exists only for the duration of this call.
        let json = data.to_json();
        let res = self.write_raw(&full, &json, Some(cas)).await;
        drop(json);
        res
    }

    /// Reads non-secret JSON data (e.g. the change log's head) with its version.
    pub async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        let full = self.settings.full_path(path);
        Ok(self
            .read_raw(&full, None)
            .await?
            .map(|(version, value)| Versioned { version, value }))
    }

    /// Writes non-secret JSON data; `cas` as in [`Vault::write_secret_cas`], `None` for no check.
    pub async fn write_json(
        &self,
        path: &str,
        data: &Value,
        cas: Option<u64>,
    ) -> Result<u64, VaultError> {
        let full = self.settings.full_path(path);
        self.write_raw(&full, data, cas).await
    }

    /// Reads a secret's metadata, or `None` when the path has never been written.
    pub async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
        let full = self.settings.full_path(path);
        self.retrying(&self.api("metadata", &full), "read", || {
            self.read_metadata_once(&full)
        })
        .await
    }

    async fn read_metadata_once(&self, full: &str) -> Result<Option<KvMetadata>, VaultError> {
        let client = self.client.read().await;
        match kv2::read_metadata(&*client, &self.settings.kv_mount, full).await {
            Ok(m) => Ok(Some(KvMetadata {
                current_version: m.current_version,
                custom: m.custom_metadata.unwrap_or_default().into_iter().collect(),
                versions: m
                    .versions
                    .into_iter()
                    .filter_map(|(k, v)| {
                        k.parse::<u64>().ok().map(|n| {
                            (
                                n,
                                VersionInfo {
                                    created_time: v.created_time,
                                    deleted: !v.deletion_time.is_empty(),
                                    destroyed: v.destroyed,
                                },
                            )
                        })
                    })
                    .collect(),
            })),
            Err(e) => match self.map_err(e, full) {
                VaultError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Replaces a secret's whole custom metadata map (KV v2 has no partial update; read, merge,
    /// then write). Creates the metadata entry if the path has none yet.
    pub async fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        let full = self.settings.full_path(path);
        self.retrying(&self.api("metadata", &full), "update", || async {
            let map: HashMap<String, String> = custom.clone().into_iter().collect();
            let client = self.client.read().await;
            let mut req = SetSecretMetadataRequest::builder();
            req.custom_metadata(map);
            kv2::set_metadata(&*client, &self.settings.kv_mount, &full, Some(&mut req))
                .await
                .map_err(|e| self.map_err(e, &full))
        })
        .await
    }

    /// Lists the keys under a folder (relative to the prefix); empty when there is none.
    pub async fn list(&self, folder: &str) -> Result<Vec<String>, VaultError> {
        let full = format!("{}/", self.settings.full_path(folder));
        self.retrying(&self.api("metadata", &full), "list", || async {
            let client = self.client.read().await;
            match kv2::list(&*client, &self.settings.kv_mount, &full).await {
                Ok(keys) => Ok(keys),
                Err(e) => match self.map_err(e, &full) {
                    VaultError::NotFound { .. } => Ok(vec![]),
                    other => Err(other),
                },
            }
        })
        .await
    }

    /// Deletes a secret with all its versions and metadata.
    pub async fn delete_all(&self, path: &str) -> Result<(), VaultError> {
        let full = self.settings.full_path(path);
        self.retrying(&self.api("metadata", &full), "delete", || async {
            let client = self.client.read().await;
            kv2::delete_metadata(&*client, &self.settings.kv_mount, &full)
                .await
                .map_err(|e| self.map_err(e, &full))
        })
        .await
    }

    /// The API path of `full` under the data (`area` = `data`) or metadata side of the mount.
    fn api(&self, area: &str, full: &str) -> String {
        format!("{}/{area}/{full}", self.settings.kv_mount.trim_matches('/'))
    }

    async fn read_raw(
        &self,
        full: &str,
        version: Option<u64>,
    ) -> Result<Option<(u64, Value)>, VaultError> {
        self.retrying(&self.api("data", full), "read", || {
            self.read_raw_once(full, version)
        })
        .await
    }

    async fn read_raw_once(
        &self,
        full: &str,
        version: Option<u64>,
    ) -> Result<Option<(u64, Value)>, VaultError> {
        let req = ReadSecretRequest::builder()
            .mount(self.settings.kv_mount.as_str())
            .path(full)
            .version(version)
            .build()
            .map_err(|e| VaultError::Config(format!("cannot build read request: {e}")))?;
        let client = self.client.read().await;
        let res: Result<ReadSecretResponse, _> =
            vaultrs::api::exec_with_result(&*client, req).await;
        match res {
            Ok(r) => Ok(Some((r.metadata.version, r.data))),
            Err(e) => match self.map_err(e, full) {
                VaultError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn write_raw(
        &self,
        full: &str,
        data: &Value,
        cas: Option<u64>,
    ) -> Result<u64, VaultError> {
        // Vault asks `create` of a path that does not exist yet, `update` of one that does
        let capability = if cas == Some(0) { "create" } else { "update" };
        self.retrying(&self.api("data", full), capability, || {
            self.write_raw_once(full, data, cas)
        })
        .await
    }

    async fn write_raw_once(
        &self,
        full: &str,
        data: &Value,
        cas: Option<u64>,
    ) -> Result<u64, VaultError> {
        let client = self.client.read().await;
        let res = match cas {
            Some(cas) => {
                let cas = u32::try_from(cas).map_err(|_| {
                    VaultError::Config(format!("check-and-set version {cas} is out of range"))
                })?;
                kv2::set_with_options(
                    &*client,
                    &self.settings.kv_mount,
                    full,
                    data,
                    SetSecretRequestOptions { cas },
                )
                .await
            }
            None => kv2::set(&*client, &self.settings.kv_mount, full, data).await,
        };
        res.map(|m| m.version).map_err(|e| self.map_err(e, full))
    }

    fn map_err(&self, e: vaultrs::error::ClientError, full: &str) -> VaultError {
        match VaultError::from_client(e, &self.settings.address_str(), full) {
            VaultError::MountMissing { path, .. } => VaultError::MountMissing {
                mount: self.settings.kv_mount.clone(),
                path,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_map_debug_shows_keys_only() {
        let mut m = SecretMap::new();
        m.insert(
            "client_secret",
            SecretString::from("s3cr3t-value-xyz".to_string()),
        );
        let d = format!("{m:?}");
        assert!(d.contains("client_secret"));
        assert!(!d.contains("s3cr3t-value-xyz"));
    }

    #[test]
    fn secret_map_json_round_trip() {
        let v = serde_json::json!({"a": "x", "n": 3});
        let m = SecretMap::from_json(v, "p").unwrap();
        assert_eq!(m.get("a").unwrap().expose_secret(), "x");
        assert_eq!(m.get("n").unwrap().expose_secret(), "3");
        assert!(SecretMap::from_json(serde_json::json!([1]), "p").is_err());
    }
}
