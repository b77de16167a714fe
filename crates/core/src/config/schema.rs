//! The configuration file as written: serde structs with `deny_unknown_fields` everywhere.
//!
//! Values that need checking are kept as [`Spanned`] strings or numbers so that
//! [`validate`](super::validate) can report every problem with its line and column, rather than
//! stopping at the first one as serde would.

use serde::Deserialize;
use toml::Spanned;

use super::types::LogFormat;

/// The whole `wardend.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// Checked before the full parse; see [`Source::parse`](super::errors::Source).
    #[serde(rename = "version")]
    pub(crate) _version: toml::Value,
    #[serde(default)]
    pub(crate) daemon: RawDaemon,
    pub(crate) vault: RawVault,
    #[serde(default)]
    pub(crate) defaults: RawDefaults,
    #[serde(default, rename = "instance")]
    pub(crate) instances: Vec<RawInstance>,
    #[serde(default)]
    pub(crate) audit: super::audit::RawAudit,
    #[serde(default)]
    pub(crate) notify: Vec<super::notify::RawSink>,
    #[serde(default)]
    pub(crate) changelog_forward: super::notify::RawForward,
    pub(crate) metrics: Option<Spanned<super::metrics::RawMetrics>>,
    pub(crate) cluster: Option<Spanned<super::cluster::RawCluster>>,
}

/// `[daemon]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDaemon {
    pub(crate) socket: Option<Spanned<String>>,
    /// A group name (string) or gid (integer).
    pub(crate) socket_group: Option<Spanned<toml::Value>>,
    pub(crate) socket_mode: Option<Spanned<String>>,
    pub(crate) admin_uids: Option<Vec<u32>>,
    pub(crate) admin_gids: Option<Vec<u32>>,
    pub(crate) state_dir: Option<Spanned<String>>,
    pub(crate) log_dir: Option<Spanned<String>>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) log_retention_days: Option<Spanned<i64>>,
    pub(crate) log_level: Option<Spanned<String>>,
    pub(crate) changelog: Option<Spanned<String>>,
    pub(crate) max_rotations_per_minute: Option<Spanned<i64>>,
    pub(crate) max_concurrent_checks: Option<Spanned<i64>>,
    pub(crate) recovery_delay: Option<Spanned<String>>,
    pub(crate) recovery_max_delay: Option<Spanned<String>>,
    pub(crate) store_retry_budget: Option<Spanned<String>>,
    pub(crate) max_connections: Option<Spanned<i64>>,
    pub(crate) id: Option<Spanned<String>>,
}

/// `[vault]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVault {
    pub(crate) address: Spanned<String>,
    pub(crate) ca_file: Option<Spanned<String>>,
    pub(crate) namespace: Option<Spanned<String>>,
    pub(crate) kv_mount: Option<Spanned<String>>,
    pub(crate) path_prefix: Option<Spanned<String>>,
    pub(crate) allow_insecure_http: Option<bool>,
    pub(crate) auth: Spanned<RawVaultAuth>,
}

/// `[vault.auth]`. A flat struct rather than a serde-tagged enum: tagged enums buffer their
/// content, which loses the spans needed for located errors. `method` selects which fields apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVaultAuth {
    pub(crate) method: Spanned<String>,
    pub(crate) token_file: Option<Spanned<String>>,
    pub(crate) role_id_file: Option<Spanned<String>>,
    pub(crate) secret_id_file: Option<Spanned<String>>,
    pub(crate) mount: Option<Spanned<String>>,
}

/// `[defaults]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    #[serde(default)]
    pub(crate) schedules: RawSchedules,
}

/// `[defaults.schedules]` and `[instance.schedules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedules {
    pub(crate) rotation: Option<Spanned<String>>,
    pub(crate) drift: Option<Spanned<String>>,
    pub(crate) audit: Option<Spanned<String>>,
    pub(crate) timezone: Option<Spanned<String>>,
    pub(crate) jitter: Option<Spanned<String>>,
}

/// `[[instance]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    pub(crate) name: Spanned<String>,
    pub(crate) url: Spanned<String>,
    pub(crate) credentials: Option<Spanned<String>>,
    pub(crate) max_in_flight: Option<Spanned<i64>>,
    pub(crate) connect_timeout: Option<Spanned<String>>,
    pub(crate) request_timeout: Option<Spanned<String>>,
    pub(crate) max_list_objects: Option<Spanned<i64>>,
    pub(crate) list_timeout: Option<Spanned<String>>,
    pub(crate) allow_insecure_http: Option<bool>,
    pub(crate) ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) desired: Vec<Spanned<String>>,
    pub(crate) prune: Option<bool>,
    pub(crate) remediation: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) schedules: RawSchedules,
}
