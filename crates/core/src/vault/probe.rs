//! Proofs about Vault before anything changes: that the KV mount exists and is KV v2
//! ([`Vault::check_mount`], at start-up) and which capabilities the daemon's token holds on
//! exact paths ([`Vault::capabilities`], before every mint).
//!
//! Both are raw HTTP calls (vaultrs has neither) with the current token, which never leaves
//! the request header. Answer bodies are parsed, never copied into errors.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::error::no_route;
use super::{Vault, VaultError};

/// Largest answer body read from these endpoints (they are small JSON objects).
const MAX_BODY: usize = 1 << 20;

impl Vault {
    /// The full KV v2 API path of a data path relative to the prefix: `<mount>/data/<full>`.
    pub fn data_api_path(&self, path: &str) -> String {
        format!(
            "{}/data/{}",
            self.settings.kv_mount.trim_matches('/'),
            self.settings.full_path(path)
        )
    }

    /// The full KV v2 API path of a metadata path: `<mount>/metadata/<full>`.
    pub fn metadata_api_path(&self, path: &str) -> String {
        format!(
            "{}/metadata/{}",
            self.settings.kv_mount.trim_matches('/'),
            self.settings.full_path(path)
        )
    }

    /// `POST sys/capabilities-self`: the capabilities the current token has on each of `paths`
    /// (full API paths such as `secret/data/x`). A path Vault does not list maps to no
    /// capability.
    pub async fn capabilities(
        &self,
        paths: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, VaultError> {
        let api = "sys/capabilities-self";
        let body = self
            .raw(reqwest::Method::POST, api, Some(json!({ "paths": paths })))
            .await?;
        let (code, value) = body;
        if code != 200 {
            return Err(status_error(
                code,
                api,
                &value,
                &self.settings.address_str(),
            ));
        }
        let data = value.get("data").unwrap_or(&value);
        let mut out = BTreeMap::new();
        for p in paths {
            let caps = data
                .get(p)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.insert(p.clone(), caps);
        }
        Ok(out)
    }

    /// Proves that the configured KV mount exists and is KV v2, so a moved or missing mount
    /// stops the daemon at start-up with the mount named instead of looking like missing
    /// secrets.
    ///
    /// First `GET sys/internal/ui/mounts/<mount>/<prefix>` (allowed to any token with access
    /// below the mount): its type and version are checked. When that is refused (a strict
    /// policy, or Vault hides a missing mount behind a 403), a read of a path under the prefix
    /// tells: Vault answers "no handler for route" only when no mount serves the path.
    pub async fn check_mount(&self) -> Result<(), VaultError> {
        let mount = self.settings.kv_mount.trim_matches('/').to_string();
        let probe = format!(
            "sys/internal/ui/mounts/{mount}/{}",
            self.settings.full_path("")
        );
        let (code, value) = self.raw(reqwest::Method::GET, &probe, None).await?;
        if code == 200 {
            let data = value.get("data").unwrap_or(&Value::Null);
            let kind = data.get("type").and_then(Value::as_str).unwrap_or("");
            let version = data
                .pointer("/options/version")
                .and_then(Value::as_str)
                .unwrap_or("1");
            let served = data
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_matches('/');
            if served == mount && kind == "kv" && version == "2" {
                return Ok(());
            }
            if served == mount {
                return Err(VaultError::MountNotKv2 {
                    mount,
                    found: format!("type {kind:?} version {version}"),
                });
            }
            // Another mount serves the path (e.g. `secret` nested under a different engine):
            // fall through to the read, which tells what this path really is.
        }
        let api = self.metadata_api_path("_warden");
        let (code, value) = self.raw(reqwest::Method::GET, &api, None).await?;
        let errors = errors_of(&value);
        match code {
            404 if no_route(&errors) => Err(VaultError::MountMissing { mount, path: api }),
            // found, not found under an existing mount, or denied (later operations say so)
            _ => Ok(()),
        }
    }

    /// One raw request with the current token: `(status, JSON body or Null)`.
    async fn raw(
        &self,
        method: reqwest::Method,
        api: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), VaultError> {
        let address = self.settings.address_str();
        let token = {
            let client = self.client.read().await;
            SecretString::from(client.settings.token.clone())
        };
        let mut req = self
            .http
            .request(method, format!("{address}/v1/{api}"))
            .header("X-Vault-Token", token.expose_secret())
            .header("X-Vault-Request", "true");
        if let Some(ns) = &self.settings.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(|e| VaultError::Unavailable {
            address: address.clone(),
            detail: e.without_url().to_string(),
        })?;
        let code = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| VaultError::Unavailable {
            address: address.clone(),
            detail: e.without_url().to_string(),
        })?;
        if code >= 500 {
            return Err(VaultError::Unavailable {
                address,
                detail: format!("status {code} on {api}"),
            });
        }
        let value = if bytes.len() <= MAX_BODY {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        Ok((code, value))
    }
}

fn errors_of(value: &Value) -> Vec<String> {
    value
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn status_error(code: u16, api: &str, value: &Value, address: &str) -> VaultError {
    match code {
        403 => VaultError::Denied {
            path: api.into(),
            capability: "",
        },
        404 => VaultError::NotFound { path: api.into() },
        c if c >= 500 => VaultError::Unavailable {
            address: address.into(),
            detail: format!("status {c}"),
        },
        code => VaultError::Api {
            code,
            path: api.into(),
            // Vault's own error strings for these two system endpoints carry no secret data
            errors: errors_of(value).into_iter().take(3).collect(),
        },
    }
}
