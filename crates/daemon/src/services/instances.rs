//! What the daemon knows of each configured instance at run time: its management client (built
//! from the credentials in Vault, rebuilt when they change), whether Jamf answered last time,
//! the privilege catalogue (cached, shared between instances on the same Jamf version), and
//! which declared clients Warden has rotated (read from Vault at most hourly).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use warden_core::config::Instance;
use warden_core::drift::CatalogueInfo;
use warden_core::jamf::{Credentials, JamfClient, JamfClientConfig, JamfError};
use warden_core::protocol::ErrorCode;
use warden_core::rotation::{MintedScope, SecretStore, TokenScope};
use warden_core::vault::VaultError;

use super::ServiceError;
use super::config::LiveConfig;
use super::errors::{jamf_code, vault_code};
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::store::Store;

/// Why an instance's management client is not available.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("no instance named {0} is configured (see `wardenctl instances`)")]
    NotConfigured(String),
    #[error("cannot read the management credentials of {instance} from vault: {source}")]
    Vault {
        instance: String,
        #[source]
        source: Box<VaultError>,
    },
    #[error(
        "no management credentials for {instance} at vault path {path}: store client_id and client_secret there (wardenctl bootstrap {instance} does it)"
    )]
    NoCredentials { instance: String, path: String },
    #[error("the management credentials at vault path {path} lack client_id or client_secret")]
    IncompleteCredentials { path: String },
    #[error("cannot build the jamf client of {instance}: {source}")]
    Client {
        instance: String,
        #[source]
        source: Box<JamfError>,
    },
    #[error("{source}")]
    Jamf {
        instance: String,
        #[source]
        source: Box<JamfError>,
    },
}

impl ServiceError for InstanceError {
    fn code(&self) -> ErrorCode {
        match self {
            InstanceError::NotConfigured(_) => ErrorCode::NotFound,
            InstanceError::Vault { source, .. } => match vault_code(source) {
                // the credentials path exists as a concept; a missing secret is "not set up"
                ErrorCode::NotFound => ErrorCode::Unavailable,
                code => code,
            },
            InstanceError::NoCredentials { .. } | InstanceError::IncompleteCredentials { .. } => {
                ErrorCode::Unavailable
            }
            InstanceError::Client { .. } => ErrorCode::BadRequest,
            InstanceError::Jamf { source, .. } => jamf_code(source),
        }
    }
}

/// Declared clients Warden has rotated, with when.
type Rotated = BTreeMap<String, DateTime<Utc>>;

/// What the daemon knows of one instance at run time.
#[derive(Default)]
struct InstanceRuntime {
    /// A Jamf client with the management credentials, built on first use.
    client: Option<JamfClient>,
    /// The Vault version of the management credentials the client was built with.
    credentials_version: Option<u64>,
    /// Whether the last contact with Jamf worked.
    reachable: Option<bool>,
    /// The last error talking to this instance.
    last_error: Option<String>,
    /// The instance's privilege catalogue, fetched daily or on demand.
    catalogue: Option<Catalogue>,
    /// Declared clients whose secrets Warden has rotated, read from Vault at most hourly and
    /// updated by every rotation; `None` until first read.
    rotated: Option<(Rotated, DateTime<Utc>)>,
    /// The roles each declared client's current secret was minted with (clients rotated
    /// before Warden recorded them are absent), read and kept current with `rotated`.
    scopes: Option<(BTreeMap<String, MintedScope>, DateTime<Utc>)>,
    /// Declared clients adopted and held, with the reason, read from Vault at most hourly
    /// like `rotated`; dropped by a cutover, a switch, a rotation or a reload.
    adopted: Option<(BTreeMap<String, String>, DateTime<Utc>)>,
    /// The scope tokens of the stored secrets showed, by declared client, and when: kept per
    /// secret version (a secret's scope never changes); dropped by a rotation or a reload.
    token_scopes: BTreeMap<String, (TokenScope, DateTime<Utc>)>,
}

/// A cached privilege catalogue.
#[derive(Clone)]
pub struct Catalogue {
    /// The privilege names.
    pub privileges: Arc<Vec<String>>,
    /// Size, hash and fetch time.
    pub info: CatalogueInfo,
    /// When it was fetched (by the daemon's clock, for the age check).
    pub fetched: DateTime<Utc>,
}

/// Reachability of one instance, for `wardenctl status`.
#[derive(Debug, Clone, Default)]
pub struct Reachability {
    pub reachable: Option<bool>,
    pub last_error: Option<String>,
}

/// The run-time state of every configured instance.
pub struct Instances {
    config: Arc<LiveConfig>,
    vault: Store,
    lifecycle: Arc<Lifecycle>,
    runtime: Mutex<BTreeMap<String, InstanceRuntime>>,
    /// Privilege catalogues by SHA-256: instances on the same Jamf version share one copy.
    catalogues: Mutex<BTreeMap<String, std::sync::Weak<Vec<String>>>>,
}

impl Instances {
    pub fn new(config: Arc<LiveConfig>, vault: Store, lifecycle: Arc<Lifecycle>) -> Self {
        Instances {
            config,
            vault,
            lifecycle,
            runtime: Mutex::new(BTreeMap::new()),
            catalogues: Mutex::new(BTreeMap::new()),
        }
    }

    /// Vault's state for the status report: address, authentication, token lifetime, errors.
    pub async fn vault_status(&self) -> warden_core::protocol::VaultState {
        self.vault.status().await
    }

    fn runtime(&self) -> MutexGuard<'_, BTreeMap<String, InstanceRuntime>> {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The Jamf client with Warden's management credentials for `instance`, from Vault. The
    /// cached client is reused while it holds a fresh token or while the credentials in Vault
    /// are the version it was built with.
    pub async fn management_client(&self, instance: &str) -> Result<JamfClient, InstanceError> {
        let config = self.config.get();
        let inst = config
            .instance(instance)
            .ok_or_else(|| InstanceError::NotConfigured(instance.to_owned()))?;
        let cached = self
            .runtime()
            .get(instance)
            .and_then(|rt| rt.client.clone());
        if let Some(client) = cached
            && client.has_fresh_token().await
        {
            return Ok(client);
        }
        let path = inst.credentials.clone();
        let full = self.vault.full_path(&path);
        // a missing mount is its own error (VaultError::MountMissing), never "no credentials":
        // bootstrap cannot fix it
        let secret =
            self.vault
                .read_secret(&path)
                .await
                .map_err(|source| InstanceError::Vault {
                    instance: instance.to_owned(),
                    source: Box::new(source),
                })?;
        let Some(secret) = secret else {
            return Err(InstanceError::NoCredentials {
                instance: instance.to_owned(),
                path: full,
            });
        };
        {
            let runtime = self.runtime();
            if let Some(rt) = runtime.get(instance)
                && rt.credentials_version == Some(secret.version)
                && let Some(client) = &rt.client
            {
                return Ok(client.clone());
            }
        }
        let (Some(id), Some(sec)) = (
            secret.value.get("client_id"),
            secret.value.get("client_secret"),
        ) else {
            return Err(InstanceError::IncompleteCredentials { path: full });
        };
        let client_secret = SecretString::from(sec.expose_secret().to_string());
        // read from vault: known to the scrubber before any request can echo it
        warden_core::changelog::remember_secret(
            &format!("vault:{instance}:management"),
            &client_secret,
        );
        let credentials = Credentials::ApiClient {
            client_id: id.expose_secret().to_string(),
            client_secret,
        };
        let client = JamfClient::new(client_config(inst, &self.lifecycle), credentials).map_err(
            |source| InstanceError::Client {
                instance: instance.to_owned(),
                source: Box::new(source),
            },
        )?;
        let mut runtime = self.runtime();
        let rt = runtime.entry(instance.to_string()).or_default();
        rt.client = Some(client.clone());
        rt.credentials_version = Some(secret.version);
        Ok(client)
    }

    /// Drops the cached management client of `instance`: the next use builds it from Vault.
    pub fn forget_client(&self, instance: &str) {
        if let Some(rt) = self.runtime().get_mut(instance) {
            rt.client = None;
            rt.credentials_version = None;
        }
    }

    /// Notes a Jamf error of `instance` (a transport error marks it unreachable); answers the
    /// error as an [`InstanceError`].
    pub fn note_error(&self, instance: &str, e: JamfError) -> InstanceError {
        let mut runtime = self.runtime();
        let rt = runtime.entry(instance.to_owned()).or_default();
        rt.reachable = Some(!matches!(e, JamfError::Transport { .. }));
        rt.last_error = Some(e.to_string());
        InstanceError::Jamf {
            instance: instance.to_owned(),
            source: Box::new(e),
        }
    }

    /// Notes a failure of `instance` that is not a Jamf answer (e.g. no credentials).
    pub fn note_failure(&self, instance: &str, message: String) {
        let mut runtime = self.runtime();
        runtime.entry(instance.to_owned()).or_default().last_error = Some(message);
    }

    /// Notes that Jamf answered.
    pub fn note_reachable(&self, instance: &str) {
        let mut runtime = self.runtime();
        let rt = runtime.entry(instance.to_owned()).or_default();
        rt.reachable = Some(true);
        rt.last_error = None;
    }

    /// Reachability of every instance known at run time.
    pub fn reachability(&self) -> BTreeMap<String, Reachability> {
        self.runtime()
            .iter()
            .map(|(name, rt)| {
                let r = Reachability {
                    reachable: rt.reachable,
                    last_error: rt.last_error.clone(),
                };
                (name.clone(), r)
            })
            .collect()
    }

    /// The cached catalogue of `instance`, if younger than `max_age`.
    pub fn catalogue(&self, instance: &str, max_age: std::time::Duration) -> Option<Catalogue> {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        let c = runtime.get(instance)?.catalogue.as_ref()?;
        (age(now, c.fetched) < max_age).then(|| c.clone())
    }

    /// Whether the cached catalogue of `instance` is missing or at least `max_age` old.
    pub fn catalogue_older_than(&self, instance: &str, max_age: std::time::Duration) -> bool {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        runtime
            .get(instance)
            .and_then(|rt| rt.catalogue.as_ref())
            .is_none_or(|c| age(now, c.fetched) >= max_age)
    }

    /// Caches `privileges` as the catalogue of `instance`, sharing one copy between instances
    /// on the same Jamf version.
    pub fn store_catalogue(&self, instance: &str, privileges: Vec<String>) -> Catalogue {
        let now = self.lifecycle.now();
        let info = CatalogueInfo::of(&privileges, now);
        let privileges = {
            let mut interned = self.catalogues.lock().unwrap_or_else(|p| p.into_inner());
            interned.retain(|_, weak| weak.strong_count() > 0);
            match interned
                .get(&info.sha256)
                .and_then(std::sync::Weak::upgrade)
            {
                // the hash covers every name in order: the same catalogue
                Some(same) if *same == privileges => same,
                _ => {
                    let fresh = Arc::new(privileges);
                    interned.insert(info.sha256.clone(), Arc::downgrade(&fresh));
                    fresh
                }
            }
        };
        let catalogue = Catalogue {
            info,
            privileges,
            fetched: now,
        };
        let mut runtime = self.runtime();
        runtime.entry(instance.to_owned()).or_default().catalogue = Some(catalogue.clone());
        catalogue
    }

    /// The cached set of clients of `instance` Warden has rotated, if younger than `max_age`.
    pub fn rotated(
        &self,
        instance: &str,
        max_age: std::time::Duration,
    ) -> Option<BTreeMap<String, DateTime<Utc>>> {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        let (set, at) = runtime.get(instance)?.rotated.as_ref()?;
        (age(now, *at) < max_age).then(|| set.clone())
    }

    /// Caches which clients of `instance` Warden has rotated, as read from Vault just now.
    pub fn remember_rotated(&self, instance: &str, set: BTreeMap<String, DateTime<Utc>>) {
        let now = self.lifecycle.now();
        let mut runtime = self.runtime();
        runtime.entry(instance.to_owned()).or_default().rotated = Some((set, now));
    }

    /// The cached scopes the declared clients' secrets of `instance` were minted with, if
    /// younger than `max_age`.
    pub fn scopes(
        &self,
        instance: &str,
        max_age: std::time::Duration,
    ) -> Option<BTreeMap<String, MintedScope>> {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        let (map, at) = runtime.get(instance)?.scopes.as_ref()?;
        (age(now, *at) < max_age).then(|| map.clone())
    }

    /// Caches the scopes of `instance`'s secrets, as read from Vault just now.
    pub fn remember_scopes(&self, instance: &str, map: BTreeMap<String, MintedScope>) {
        let now = self.lifecycle.now();
        let mut runtime = self.runtime();
        runtime.entry(instance.to_owned()).or_default().scopes = Some((map, now));
    }

    /// The cached adopted clients of `instance` (with why they are held), if younger than
    /// `max_age`.
    pub fn adopted(
        &self,
        instance: &str,
        max_age: std::time::Duration,
    ) -> Option<BTreeMap<String, String>> {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        let (map, at) = runtime.get(instance)?.adopted.as_ref()?;
        (age(now, *at) < max_age).then(|| map.clone())
    }

    /// Caches the adopted clients of `instance`, as read from Vault just now.
    pub fn remember_adopted(&self, instance: &str, map: BTreeMap<String, String>) {
        let now = self.lifecycle.now();
        let mut runtime = self.runtime();
        runtime.entry(instance.to_owned()).or_default().adopted = Some((map, now));
    }

    /// Drops the cached adoption states of `instance` (a cutover or a switch changed one).
    pub fn forget_adopted(&self, instance: &str) {
        if let Some(rt) = self.runtime().get_mut(instance) {
            rt.adopted = None;
        }
    }

    /// Notes that `client` of `instance` has a new secret minted with `scope` (what a token of
    /// the old one showed no longer applies).
    pub fn note_scope(&self, instance: &str, client: &str, scope: MintedScope) {
        let mut runtime = self.runtime();
        if let Some(rt) = runtime.get_mut(instance) {
            rt.token_scopes.remove(client);
            if let Some((map, _)) = rt.scopes.as_mut() {
                map.insert(client.to_owned(), scope);
            }
        }
    }

    /// Every scope a token of a stored secret of `instance` showed, by declared client.
    pub fn token_scopes(&self, instance: &str) -> BTreeMap<String, TokenScope> {
        let runtime = self.runtime();
        runtime
            .get(instance)
            .map(|rt| {
                rt.token_scopes
                    .iter()
                    .map(|(k, (scope, _))| (k.clone(), scope.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The scope a token of `client`'s stored secret showed, and whether it was seen less
    /// than `max_age` ago.
    pub fn token_scope(
        &self,
        instance: &str,
        client: &str,
        max_age: std::time::Duration,
    ) -> Option<(TokenScope, bool)> {
        let now = self.lifecycle.now();
        let runtime = self.runtime();
        let (scope, at) = runtime.get(instance)?.token_scopes.get(client)?;
        Some((scope.clone(), age(now, *at) < max_age))
    }

    /// Keeps what a token of `client`'s stored secret showed (`None`: nothing to keep).
    pub fn remember_token_scope(&self, instance: &str, client: &str, scope: Option<TokenScope>) {
        let now = self.lifecycle.now();
        let mut runtime = self.runtime();
        let rt = runtime.entry(instance.to_owned()).or_default();
        match scope {
            Some(scope) => {
                rt.token_scopes.insert(client.to_owned(), (scope, now));
            }
            None => {
                rt.token_scopes.remove(client);
            }
        }
    }

    /// Notes that Warden rotated `client` of `instance` (keeps the drift check's cache current).
    pub fn note_rotated(&self, instance: &str, client: &str) {
        let now = self.lifecycle.now();
        let mut runtime = self.runtime();
        if let Some(rt) = runtime.get_mut(instance) {
            if let Some((set, _)) = rt.rotated.as_mut() {
                set.insert(client.to_owned(), now);
            }
            // a client Warden rotated is no longer adopted
            if let Some((held, _)) = rt.adopted.as_mut() {
                held.remove(client);
            }
        }
    }

    /// After a reload: forgets instances no longer configured, and what may have changed of
    /// `changed` ones (url, timeouts, credentials, declared clients).
    pub fn reconfigure(&self, configured: &[&str], changed: &[String]) {
        let mut runtime = self.runtime();
        runtime.retain(|name, _| configured.contains(&name.as_str()));
        for name in changed {
            if let Some(rt) = runtime.get_mut(name) {
                rt.client = None;
                rt.credentials_version = None;
                rt.catalogue = None;
                rt.rotated = None;
                rt.scopes = None;
                rt.adopted = None;
                rt.token_scopes.clear();
            }
        }
    }
}

fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> std::time::Duration {
    (now - then)
        .max(TimeDelta::zero())
        .to_std()
        .unwrap_or_default()
}

/// The Jamf client settings of an instance, on the daemon's clock (token expiry and keep-alive
/// decisions are made on it), its requests counted in the daemon's metrics.
pub fn client_config(inst: &Instance, lifecycle: &Lifecycle) -> JamfClientConfig {
    let mut c = JamfClientConfig::new(inst.name.clone(), inst.url.clone());
    c.clock = Arc::clone(lifecycle.clock());
    c.observer = Some(crate::runtime::metrics::observer(lifecycle.metrics()));
    c.allow_insecure_http = inst.allow_insecure_http;
    c.ca_file = inst.ca_file.clone();
    c.max_in_flight = inst.max_in_flight.max(1) as usize;
    c.connect_timeout = inst.connect_timeout;
    c.request_timeout = inst.request_timeout;
    c.max_list_objects = inst.max_list_objects as usize;
    c.list_timeout = inst.list_timeout;
    c
}
