//! The effective configuration: defaults filled in, paths resolved, values parsed. These are the
//! types the daemon uses. They serialize back to the config file's schema (see
//! [`Config::render_effective`](super::Config::render_effective)).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::desired::DesiredState;
use super::ser::{ser_duration, ser_mode, ser_schedule, ser_url};
use crate::schedule::{JobKind, Schedule};

/// A loaded and validated configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// The config file this was loaded from (absolute).
    #[serde(skip)]
    pub path: PathBuf,
    /// Always [`CONFIG_VERSION`](super::CONFIG_VERSION).
    pub version: i64,
    /// `[daemon]`: process-wide settings.
    pub daemon: Daemon,
    /// `[vault]`: where secrets live.
    pub vault: Vault,
    /// `[[instance]]`: the Jamf Pro instances, in file order.
    #[serde(rename = "instance")]
    pub instances: Vec<Instance>,
    /// `[audit]`: risk-rule thresholds, site classifications, suppressions.
    #[serde(serialize_with = "super::audit::ser_audit")]
    pub audit: crate::audit::AuditSettings,
    /// `[[notify]]`: where alerts go.
    #[serde(
        serialize_with = "super::notify::ser_sinks",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub notify: Vec<crate::notify::Sink>,
    /// `[changelog_forward]`: change-log records also sent to journald and/or syslog.
    #[serde(
        serialize_with = "super::notify::ser_forward",
        skip_serializing_if = "crate::notify::Forward::is_off"
    )]
    pub changelog_forward: crate::notify::Forward,
    /// `[metrics]`: the Prometheus endpoint; `None` (the default) serves none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<super::metrics::Metrics>,
    /// `[cluster]`: several daemons share this fleet through Vault; `None` (the default): this
    /// daemon works on every instance alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<super::cluster::Cluster>,
    /// Things worth logging at start that are not errors (e.g. a high `max_in_flight`).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// What the load could not check (e.g. `credential:NAME` paths checked for form only).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Config {
    /// The instance called `name`.
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }
}

/// `[daemon]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Daemon {
    /// The control socket.
    pub socket: PathBuf,
    /// Group owning the socket, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_group: Option<SocketGroup>,
    /// Permission bits of the socket: `0660` or stricter.
    #[serde(serialize_with = "ser_mode")]
    pub socket_mode: u32,
    /// Peers with these uids may send changing requests (rotate, apply, reload).
    pub admin_uids: Vec<u32>,
    /// Peers holding one of these groups may send changing requests. What counts is the groups
    /// the connecting process actually holds, as the kernel reports them for the socket: its
    /// effective gid and its supplementary groups (Linux `SO_PEERGROUPS`, kernel 4.13 or later;
    /// macOS `LOCAL_PEERCRED`). Membership listed in `/etc/group` does not count: a process
    /// that dropped the group is refused. Where the kernel cannot say (older Linux, other
    /// systems), only the effective gid counts.
    pub admin_gids: Vec<u32>,
    /// Persistent state (job state, caches).
    pub state_dir: PathBuf,
    /// Log files.
    pub log_dir: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// Days of log files kept.
    pub log_retention_days: u32,
    /// A tracing filter such as `info` or `info,warden_core=debug`.
    pub log_level: String,
    /// The tamper-evident change log (JSON Lines).
    pub changelog: PathBuf,
    /// Global limit on secret rotations per minute, over all instances.
    pub max_rotations_per_minute: u32,
    /// Instances checked (drift, audit, `drift --now` of all instances) at the same time.
    pub max_concurrent_checks: u32,
    /// First delay before the daemon retries an interrupted or unconfirmed rotation on its own
    /// (a `pending` or `stored` marker), independent of the client's schedule; doubled after
    /// each failed attempt up to `recovery_max_delay`.
    #[serde(serialize_with = "ser_duration")]
    pub recovery_delay: Duration,
    /// Longest delay between those attempts.
    #[serde(serialize_with = "ser_duration")]
    pub recovery_max_delay: Duration,
    /// How long writes after a mint (the new secret, then the marker) are retried while the
    /// secret exists only in memory, before it counts as lost and recovery takes over.
    #[serde(serialize_with = "ser_duration")]
    pub store_retry_budget: Duration,
    /// Control connections open at the same time (4 to 65536, default 256). An eighth of them
    /// (at least 1, at most 32) is kept for admins (`admin_uids`/`admin_gids`); a connection
    /// over the cap is refused at once with an `unavailable` error saying the daemon is busy.
    /// wardend also lowers the cap so that 256 file descriptors of its open-file limit (whose
    /// soft value it raises to the hard one at start) stay for Vault, Jamf, logs and state.
    pub max_connections: u32,
    /// This daemon's stable id (`daemon.id`): names its change-log MAC key, head anchor and
    /// rotation locks in Vault. Unset: the implicit id, `<host name>-<hash of state_dir>`,
    /// which changes with the host name or the state directory's path (set `id` to the
    /// implicit one to keep it across a move; see docs/operations.md § Backup and recovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Who owns the control socket's group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SocketGroup {
    /// A group name, looked up when the socket is created.
    Name(String),
    /// A numeric gid.
    Gid(u32),
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[vault]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vault {
    /// Vault's address.
    #[serde(serialize_with = "ser_url")]
    pub address: Url,
    /// CA bundle to trust for Vault's TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Vault Enterprise / OpenBao namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Mount of the KV v2 engine.
    pub kv_mount: String,
    /// Prefix of every path Warden reads or writes under `kv_mount`.
    pub path_prefix: String,
    /// Accept `http://` to a non-loopback Vault.
    pub allow_insecure_http: bool,
    /// How wardend logs in to Vault.
    pub auth: VaultAuth,
}

impl Vault {
    /// The KV path (under `kv_mount`) of `relative`, a path relative to `path_prefix`.
    pub fn kv_path(&self, relative: &str) -> String {
        format!("{}/{}", self.path_prefix, relative)
    }
}

/// `[vault.auth]`. Only file paths: the secrets are read when the daemon logs in, never at
/// config load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum VaultAuth {
    /// A Vault token read from a file.
    Token {
        /// File holding the token.
        token_file: PathBuf,
    },
    /// AppRole login.
    #[serde(rename = "approle")]
    AppRole {
        /// File holding the role id.
        role_id_file: PathBuf,
        /// File holding the secret id.
        secret_id_file: PathBuf,
        /// Mount of the AppRole auth method.
        mount: String,
    },
}

/// `[[instance]]`: one Jamf Pro instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// Unique, path-safe name.
    pub name: String,
    /// Base URL of the Jamf Pro server.
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// Vault path (relative to `vault.path_prefix`) of the KV v2 secret holding `client_id` and
    /// `client_secret` of Warden's own management API client.
    pub credentials: String,
    /// Concurrent requests to this instance.
    pub max_in_flight: u32,
    /// TCP/TLS connect timeout.
    #[serde(serialize_with = "ser_duration")]
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    #[serde(serialize_with = "ser_duration")]
    pub request_timeout: Duration,
    /// Most objects one Jamf listing may hold before it fails.
    pub max_list_objects: u32,
    /// Most time one Jamf listing (every page and retry) may take before it fails.
    #[serde(serialize_with = "ser_duration")]
    pub list_timeout: Duration,
    /// Accept `http://` to a non-loopback host.
    pub allow_insecure_http: bool,
    /// CA bundle to trust for this instance's TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Desired-state files, merged in order.
    pub desired: Vec<PathBuf>,
    /// Delete live roles and clients that no desired file declares.
    pub prune: bool,
    /// What the scheduled drift check does about drift.
    pub remediation: Remediation,
    /// When each job kind runs.
    pub schedules: Schedules,
    /// The merged desired state of `desired`; shared by the instances whose files merge to the
    /// same state (nothing in it depends on the instance).
    #[serde(skip)]
    pub desired_state: Arc<DesiredState>,
}

/// What the scheduled drift check of an instance does about drift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Remediation {
    /// Report it (change log and `wardenctl drift`); change nothing.
    #[default]
    Report,
    /// Apply the plan at each check (deletions only with `prune = true`).
    Auto,
}

impl Remediation {
    /// `"report"` or `"auto"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Remediation::Report => "report",
            Remediation::Auto => "auto",
        }
    }
}

/// Effective schedules of one instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedules {
    /// Secret rotation of the managed clients (a client may override it).
    #[serde(serialize_with = "ser_schedule")]
    pub rotation: Schedule,
    /// Drift check.
    #[serde(serialize_with = "ser_schedule")]
    pub drift: Schedule,
    /// Risk audit.
    #[serde(serialize_with = "ser_schedule")]
    pub audit: Schedule,
    /// IANA time zone of the schedules; UTC when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Upper bound of the per-(instance, job) offset added to every slot.
    #[serde(serialize_with = "ser_duration")]
    pub jitter: Duration,
}

impl Schedules {
    /// The schedule of job kind `kind`.
    pub fn get(&self, kind: JobKind) -> &Schedule {
        match kind {
            JobKind::Rotation => &self.rotation,
            JobKind::Drift => &self.drift,
            JobKind::Audit => &self.audit,
        }
    }
}
