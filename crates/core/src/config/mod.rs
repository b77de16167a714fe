//! The daemon's configuration: one versioned TOML file plus the desired-state files it names.
//!
//! ```toml
//! version = 1
//!
//! [daemon]                      # every key optional; see `defaults`
//! socket = "/run/jamf-warden/wardend.sock"
//!
//! [vault]
//! address = "https://vault.example.com:8200"
//! [vault.auth]
//! method = "approle"
//! role_id_file = "credential:vault-role-id"      # $CREDENTIALS_DIRECTORY/vault-role-id
//! secret_id_file = "credential:vault-secret-id"
//!
//! [defaults.schedules]
//! rotation = "0 3 * * MON"
//! timezone = "Europe/Berlin"
//!
//! [[instance]]
//! name = "acme"
//! url = "https://acme.jamfcloud.com"
//! desired = ["baseline.toml", "desired/acme.toml"]
//! ```
//!
//! Rules:
//! - `version = 1` is required; unknown keys are errors everywhere (a typo must not be ignored).
//! - [`Config::load`] reports **every** problem at once, each with file, line and column and what
//!   to do ([`ConfigErrors`]).
//! - Relative paths are relative to the config file's directory and are resolved at load.
//! - There is no field for an inline secret: secrets come only from `*_file` paths (or
//!   `credential:NAME`, see [`values::CREDENTIAL_PREFIX`]). Loading never reads them; the daemon
//!   reads them with [`read_secret_file`] when it logs in to Vault, so a missing secret file is a
//!   start-up error, not a config error.
//! - CA files and desired-state files are read and checked at load.

mod audit;
pub mod cluster;
mod ctx;
pub mod defaults;
mod desired;
mod diff;
mod errors;
mod instances;
mod metrics;
pub mod notify;
mod schema;
mod secret;
mod ser;
mod types;
mod validate;
pub mod values;

use std::path::{Path, PathBuf};

pub use cluster::Cluster;
pub use desired::{
    AdoptPolicy, ClientRotation, DesiredClient, DesiredRole, DesiredState, ProposedText,
    RotationStrategy, check_desired_file, merge_proposed,
};
pub use diff::{ConfigDiff, InstanceChange};
pub use errors::{ConfigError, ConfigErrors, Location};
pub use metrics::Metrics;
pub use secret::read_secret_file;
pub use types::{
    Config, Daemon, Instance, LogFormat, Remediation, Schedules, SocketGroup, Vault, VaultAuth,
};

use errors::Source;
use schema::RawConfig;

/// The only config (and desired-state) file version this build reads.
pub const CONFIG_VERSION: i64 = 1;

/// Inputs to [`Config::load_with`] that come from the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Where `credential:NAME` files live: systemd's `$CREDENTIALS_DIRECTORY`.
    pub credentials_directory: Option<PathBuf>,
    /// With no credentials directory, accept `credential:NAME` paths after checking their form
    /// only (each noted in [`Config::notes`]) instead of refusing them: `wardend --check-config`
    /// outside systemd. The daemon itself never sets it.
    pub credentials_form_only: bool,
}

impl LoadOptions {
    /// Options from the process environment (`CREDENTIALS_DIRECTORY`).
    pub fn from_env() -> LoadOptions {
        LoadOptions {
            credentials_directory: std::env::var_os("CREDENTIALS_DIRECTORY")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            credentials_form_only: false,
        }
    }
}

impl Config {
    /// Loads and validates the config file at `path` and every desired-state file it names,
    /// taking `CREDENTIALS_DIRECTORY` from the environment. Never reads secret files.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with(path, &LoadOptions::from_env())
    }

    /// [`Config::load`] with explicit [`LoadOptions`].
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Config, ConfigErrors> {
        let absolute = std::path::absolute(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let source = Source::read(&values::normalize(&absolute))?;
        let raw: RawConfig = source.parse()?;
        validate::validate(&source, raw, options)
    }

    /// The effective configuration as TOML in the config file's own schema: defaults filled in,
    /// paths resolved, schedules and durations as written or defaulted. It contains no secret
    /// (the schema has none; secret files appear by path only) and loads back to an equal
    /// configuration. Desired state is shown by file; see [`DesiredState::render`] for the
    /// merged content.
    pub fn render_effective(&self) -> String {
        let header = format!(
            "# effective configuration of {}\n# defaults filled in and paths resolved; secrets \
             are never shown, only the files they are read from\n\n",
            self.path.display()
        );
        match toml::to_string_pretty(self) {
            Ok(body) => header + &body,
            Err(e) => format!("{header}# cannot render the configuration: {e}\n"),
        }
    }
}
