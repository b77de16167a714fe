//! HashiCorp Vault / OpenBao access for Warden: KV v2 reads and check-and-set writes, custom
//! metadata, token or AppRole authentication with renewal, and a health probe.
//!
//! Built on vaultrs, with three of its sharp edges filed off (see `shared/CRATES.md` §1):
//! every client setting is set explicitly so no `VAULT_*` environment variable leaks in; the
//! address is validated before vaultrs sees it (its builder panics on a bad URL); and the token
//! is kept in a [`SecretString`], with vaultrs' settings (whose `Debug` prints the token) never
//! exposed. `sys::health` of vaultrs cannot parse OpenBao ≥ 2.6, so [`Vault::health`] is a raw GET.

mod auth;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod kv;
mod probe;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};
use url::Url;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

use crate::clock::{self, Clock};

pub use auth::{TokenState, VaultCredentials, VaultStatus};
pub use error::VaultError;
pub use kv::{KvMetadata, SecretMap, VersionInfo, Versioned};

/// Idle keep-alive connections to Vault kept at most. Every job of every instance talks to
/// Vault, so a burst (the scheduler starting a fleet's jobs at once) opens as many connections
/// as requests are in flight; without a cap the pool kept all of them, each with its buffers and
/// the task driving it, for as long as Vault was busy more often than the idle timeout (a
/// high-water mark that only a quiet spell lowered). Beyond the cap a connection is closed once
/// its request is answered.
pub const POOL_MAX_IDLE: usize = 8;

/// Idle keep-alive connections to Vault are closed after this long.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where Vault is and how to talk to it. Holds no secret: credentials come separately.
#[derive(Clone)]
pub struct VaultSettings {
    /// `https://vault.example.com:8200` (http only for loopback test servers).
    pub address: Url,
    /// Extra PEM CA bundle for the Vault server's certificate.
    pub ca_file: Option<PathBuf>,
    /// Vault Enterprise / OpenBao namespace (`X-Vault-Namespace`).
    pub namespace: Option<String>,
    /// KV v2 mount, e.g. `secret`.
    pub kv_mount: String,
    /// Prefix under the mount for everything Warden stores, e.g. `jamf-warden`.
    pub path_prefix: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// "Now" for the token's lease (default [`clock::system()`]; tests move a
    /// [`clock::ManualClock`] to make a renewal due).
    pub clock: Clock,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSettings")
            .field("address", &self.address)
            .field("ca_file", &self.ca_file)
            .field("namespace", &self.namespace)
            .field("kv_mount", &self.kv_mount)
            .field("path_prefix", &self.path_prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl VaultSettings {
    /// Settings with defaults: mount `secret`, prefix `jamf-warden`, 15 s timeout.
    pub fn new(address: Url) -> VaultSettings {
        VaultSettings {
            address,
            ca_file: None,
            namespace: None,
            kv_mount: "secret".into(),
            path_prefix: "jamf-warden".into(),
            timeout: Duration::from_secs(15),
            clock: clock::system(),
        }
    }

    /// The full path under the mount for a path relative to the prefix.
    pub fn full_path(&self, relative: &str) -> String {
        let prefix = self.path_prefix.trim_matches('/');
        let rel = relative.trim_matches('/');
        if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        }
    }

    fn address_str(&self) -> String {
        self.address.as_str().trim_end_matches('/').to_string()
    }
}

/// A connected, authenticated Vault client. Cheap to share behind an `Arc`; the token is swapped
/// in place on renewal or re-login.
pub struct Vault {
    settings: VaultSettings,
    credentials: VaultCredentials,
    client: RwLock<VaultClient>,
    token: Mutex<TokenState>,
    auth: Mutex<auth::AuthRecord>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("address", &self.settings.address.as_str())
            .field("kv_mount", &self.settings.kv_mount)
            .field("path_prefix", &self.settings.path_prefix)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Connects and authenticates: a token is checked with `lookup-self`, AppRole logs in. Fails
    /// with [`VaultError::Auth`] or [`VaultError::Unavailable`] and a message that says what to do.
    pub async fn connect(
        settings: VaultSettings,
        credentials: VaultCredentials,
    ) -> Result<Vault, VaultError> {
        if !matches!(settings.address.scheme(), "http" | "https") {
            return Err(VaultError::Config(format!(
                "address {} must be http:// or https://",
                settings.address
            )));
        }
        if settings.kv_mount.trim_matches('/').is_empty() {
            return Err(VaultError::Config("kv_mount must not be empty".into()));
        }
        let initial = match &credentials {
            VaultCredentials::Token(t) => t.clone(),
            // read by `authenticate`, every time it runs
            VaultCredentials::TokenFile(_) | VaultCredentials::AppRole { .. } => {
                SecretString::from(String::new())
            }
        };
        let mut client = build_client(&settings, &initial)?;
        let mut http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE);
        if let Some(ca) = &settings.ca_file {
            let pem = crate::files::read_capped(ca, crate::files::MAX_CONFIG_FILE_BYTES).map_err(
                |e| VaultError::Config(format!("cannot read ca_file {}: {e}", ca.display())),
            )?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                VaultError::Config(format!("ca_file {} is not PEM: {e}", ca.display()))
            })?;
            http = http.tls_certs_merge(certs);
        }
        let http = http
            .build()
            .map_err(|e| VaultError::Config(format!("cannot build an http client: {e}")))?;
        // one connection pool for every Vault request: vaultrs' own client keeps every idle
        // connection (no cap) and would be a second pool
        client.http.http = http.clone();
        let vault = Vault {
            settings,
            credentials,
            client: RwLock::new(client),
            token: Mutex::new(TokenState::default()),
            auth: Mutex::new(auth::AuthRecord::default()),
            http,
        };
        vault.authenticate().await?;
        Ok(vault)
    }

    /// "Now" on the settings' [`clock`](VaultSettings::clock), for
    /// [`maintain_token`](Self::maintain_token).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.settings.clock)()
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> &VaultSettings {
        &self.settings
    }

    /// `GET /v1/sys/health`: Ok when Vault is initialised, unsealed and active (or a standby).
    pub async fn health(&self) -> Result<(), VaultError> {
        health(&self.http, &self.settings.address_str()).await
    }
}

/// A raw health probe usable before any client exists (e.g. by `--check-config`).
pub async fn health(http: &reqwest::Client, address: &str) -> Result<(), VaultError> {
    let url = format!("{}/v1/sys/health", address.trim_end_matches('/'));
    let resp = http
        .get(&url)
        .send()
        .await
        .map_err(|e| VaultError::Unavailable {
            address: address.to_string(),
            detail: e.without_url().to_string(),
        })?;
    match resp.status().as_u16() {
        200 | 429 | 472 | 473 => Ok(()),
        501 => Err(VaultError::Unavailable {
            address: address.to_string(),
            detail: "vault is not initialised".into(),
        }),
        503 => Err(VaultError::Unavailable {
            address: address.to_string(),
            detail: "vault is sealed".into(),
        }),
        code => Err(VaultError::Unavailable {
            address: address.to_string(),
            detail: format!("health check answered {code}"),
        }),
    }
}

/// Builds a vaultrs client with every setting explicit (no `VAULT_*` fallbacks).
fn build_client(settings: &VaultSettings, token: &SecretString) -> Result<VaultClient, VaultError> {
    let mut b = VaultClientSettingsBuilder::default();
    b.address(settings.address.as_str())
        .token(token.expose_secret())
        .timeout(Some(settings.timeout))
        .verify(true)
        .identity(None)
        .ca_certs(
            settings
                .ca_file
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
        );
    if let Some(ns) = &settings.namespace {
        b.set_namespace(ns.clone());
    }
    let built = b
        .build()
        .map_err(|e| VaultError::Config(format!("invalid vault settings: {e}")))?;
    VaultClient::new(built).map_err(|e| VaultError::Config(format!("cannot build client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_path_joins_prefix() {
        let mut s = VaultSettings::new(Url::parse("http://127.0.0.1:8200").unwrap());
        assert_eq!(
            s.full_path("instances/a/management"),
            "jamf-warden/instances/a/management"
        );
        assert_eq!(s.full_path("/x/"), "jamf-warden/x");
        s.path_prefix = "".into();
        assert_eq!(s.full_path("x"), "x");
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = VaultCredentials::AppRole {
            mount: "approle".into(),
            role_id: SecretString::from("role-id-value-123".to_string()),
            secret_id: SecretString::from("secret-id-value-456".to_string()),
        };
        let d = format!("{c:?}");
        assert!(!d.contains("role-id-value-123"));
        assert!(!d.contains("secret-id-value-456"));
        let t = VaultCredentials::Token(SecretString::from("hvs.tokenvalue789".to_string()));
        assert!(!format!("{t:?}").contains("tokenvalue789"));
    }
}
