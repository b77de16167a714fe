//! Desired-state files: the API roles and clients an instance should have.
//!
//! A desired file has its own schema (`version = 1`, unknown fields rejected):
//!
//! ```toml
//! version = 1
//!
//! [[role]]
//! name = "Inventory Read"
//! privileges = ["Read Computers", "Read Mobile Devices"]
//! description = "read-only inventory access"   # optional
//!
//! [[role]]
//! name = "Jamf Reset"
//! external = true          # exists in Jamf, not managed: a stub that clients may reference
//!
//! [[client]]
//! name = "Inventory Sync"
//! roles = ["Inventory Read"]
//! owner = "it-platform@example.com"              # required, for security reviews
//! purpose = "nightly inventory export to the CMDB" # required
//! enabled = true           # default
//! token_lifetime = 300     # seconds, default 300
//! vault_path = "..."       # default instances/<instance>/clients/<slug of name>
//! [client.rotation]
//! schedule = "0 4 * * SUN" # default: the instance's rotation schedule
//! max_age = "30d"          # optional
//! strategy = "single"      # or "alternating"
//! adopt = "hold"           # default; or "rotate" (see below)
//! ```
//!
//! `adopt`: a client Warden has never rotated and whose secret Vault does not hold (an existing
//! client brought under management, e.g. by `wardenctl import`) is *adopted*: its consumers
//! hold a secret Warden never saw. With `hold` (the default, and what `import` writes) its
//! rotation waits for an explicit `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME`;
//! `rotate` is consent to rotate it on its normal schedule (the consumers' secret stops
//! working at the first rotation).
//!
//! An instance lists several files (`desired = ["baseline.toml", "acme.toml"]`), merged in order.
//! A later file may redefine a role or client of an earlier file only if the new definition sets
//! `override = true`; it then replaces the earlier one entirely (no field-by-field merge).
//! Privilege names are checked against the catalogue shipped in the binary (a warning, with
//! "did you mean", for a name it lacks); the live catalogue is checked at plan time. The full
//! reference: `docs/desired-state.md`.

mod file;
mod merge;
mod proposed;
mod shipped;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::errors::{ConfigError, ConfigErrors};
use super::ser::{ser_duration, ser_schedule};
use crate::schedule::Schedule;

pub(crate) use file::{DesiredFile, load_file};
pub(crate) use merge::{MergeContext, merge};
pub use proposed::{ProposedText, merge_proposed};
pub(crate) use shipped::check_shipped_catalogue;

/// The merged desired state of one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    /// Roles, in first-definition order.
    #[serde(rename = "role")]
    pub roles: Vec<DesiredRole>,
    /// Clients, in first-definition order.
    #[serde(rename = "client")]
    pub clients: Vec<DesiredClient>,
}

impl DesiredState {
    /// The role called exactly `name`.
    pub fn role(&self, name: &str) -> Option<&DesiredRole> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The client called exactly `name`.
    pub fn client(&self, name: &str) -> Option<&DesiredClient> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// The merged state as a desired-state TOML file (every default filled in, except a
    /// client's Vault path and schedule when they are the instance's).
    pub fn render(&self) -> String {
        #[derive(Serialize)]
        struct Rendered<'a> {
            version: i64,
            role: &'a [DesiredRole],
            client: &'a [DesiredClient],
        }
        let rendered = Rendered {
            version: super::CONFIG_VERSION,
            role: &self.roles,
            client: &self.clients,
        };
        toml::to_string_pretty(&rendered)
            .unwrap_or_else(|e| format!("# cannot render the desired state: {e}\n"))
    }
}

/// A desired API role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredRole {
    /// Display name (Jamf compares names case-insensitively).
    pub name: String,
    /// Privilege names, as written; empty for an external role.
    pub privileges: Vec<String>,
    /// Free text for reviewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Exists in Jamf but is not managed: never created, changed or pruned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The desired file that defines it (after overrides), shared by its objects.
    #[serde(skip)]
    pub source: Arc<Path>,
}

/// A desired API client (Jamf "API integration").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredClient {
    /// Display name.
    pub name: String,
    /// Names of the roles it holds; each is defined in the merged state.
    pub roles: Vec<String>,
    /// Whether the client is enabled.
    pub enabled: bool,
    /// Access token lifetime in seconds.
    pub token_lifetime: u32,
    /// Who is responsible for it.
    pub owner: String,
    /// What it is for.
    pub purpose: String,
    /// Vault path (relative to `vault.path_prefix`) where its secret is stored, as written;
    /// `None`: the instance's default, [`default_vault_path`] (see [`Self::vault_path_in`]).
    /// Nothing in a merged client depends on the instance, so instances listing the same
    /// desired files share one merged state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_path: Option<String>,
    /// Rotation settings as written (the schedule `None` when it is the instance's).
    pub rotation: ClientRotation,
    /// The desired file that defines it (after overrides), shared by its objects.
    #[serde(skip)]
    pub source: Arc<Path>,
}

impl DesiredClient {
    /// Where its secret is stored on `instance`: the declared path or the default.
    pub fn vault_path_in(&self, instance: &str) -> String {
        match &self.vault_path {
            Some(path) => path.clone(),
            None => default_vault_path(instance, &self.name),
        }
    }
}

/// `instances/<instance>/clients/<slug of name>`: where a client's secret is stored unless its
/// desired file says otherwise.
pub fn default_vault_path(instance: &str, client: &str) -> String {
    format!(
        "instances/{instance}/clients/{}",
        crate::config::values::slug(client)
    )
}

/// `[client.rotation]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientRotation {
    /// When the secret is rotated: the client's own schedule, or `None` for the instance's
    /// (a [`RotationTarget`](crate::rotation::RotationTarget) has it filled in).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_schedule"
    )]
    pub schedule: Option<Schedule>,
    /// Rotate when the current secret is older than this, whatever the schedule says.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub max_age: Option<Duration>,
    /// How the new secret replaces the old one.
    pub strategy: RotationStrategy,
    /// What happens to an adopted client (never rotated by Warden, no secret in Vault).
    pub adopt: AdoptPolicy,
}

/// `[client.rotation] adopt`: what Warden does with an adopted client, one it has never
/// rotated and whose current secret Vault does not hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdoptPolicy {
    /// Never rotate it until `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME`.
    #[default]
    Hold,
    /// Consent: rotate it on its schedule like any other client.
    Rotate,
}

impl AdoptPolicy {
    /// `hold` or `rotate`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdoptPolicy::Hold => "hold",
            AdoptPolicy::Rotate => "rotate",
        }
    }
}

/// How a rotated secret replaces the previous one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotationStrategy {
    /// Mint a new secret for the client; the old one stops working at once.
    #[default]
    Single,
    /// Two clients take turns, so consumers of the previous secret keep working until their
    /// next read.
    Alternating,
}

fn ser_opt_schedule<S: serde::Serializer>(
    schedule: &Option<Schedule>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match schedule {
        Some(schedule) => ser_schedule(schedule, s),
        None => s.serialize_none(),
    }
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

/// Parses and checks one desired-state file on its own (schema, duplicates within the file,
/// required fields, schedules and durations). Cross-file checks (overrides, role references)
/// need an instance's full list and happen in [`Config::load`](super::Config::load).
pub fn check_desired_file(path: &Path) -> Result<(), ConfigErrors> {
    let mut errors: Vec<ConfigError> = Vec::new();
    let _ = load_file(path, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(errors))
    }
}
