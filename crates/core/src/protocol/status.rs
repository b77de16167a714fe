//! Payloads of `status` and `instances`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Payload of [`Response::Status`](super::Response::Status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The daemon's package version.
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// The configuration file in use.
    pub config_path: PathBuf,
    /// When the daemon started.
    pub started_at: DateTime<Utc>,
    /// One entry per configured instance, in configuration order.
    #[serde(default)]
    pub instances: Vec<InstanceStatus>,
    /// Vault's state as the daemon sees it; absent from daemons that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<Box<VaultState>>,
    /// The cluster as this daemon sees it (`[cluster]`); absent when the daemon works alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Box<ClusterStatus>>,
}

/// The cluster as one daemon sees it: every daemon's heartbeat and the leases this one holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// This daemon's id.
    pub daemon: String,
    /// How long a heartbeat stands, in seconds.
    pub lease_ttl_secs: u64,
    /// Whether this daemon's own heartbeat stands (false: it works on no instance).
    pub heartbeat_stands: bool,
    /// The last heartbeat error, until the next success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Every daemon in the members document, by id.
    #[serde(default)]
    pub members: Vec<ClusterMember>,
    /// The instances this daemon holds.
    #[serde(default)]
    pub held: Vec<HeldLease>,
}

/// One daemon's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMember {
    /// Its id.
    pub daemon: String,
    /// Its host.
    pub host: String,
    /// Its version.
    pub version: String,
    /// Whether its heartbeat stands.
    pub live: bool,
    /// Its last heartbeat.
    pub renewed_at: DateTime<Utc>,
    /// When that heartbeat lapses.
    pub expires_at: DateTime<Utc>,
    /// How many instances it holds (as of its heartbeat; exact for this daemon).
    pub instances: usize,
    /// Whether it is the daemon answering.
    #[serde(default)]
    pub this: bool,
}

/// A lease this daemon holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLease {
    /// The instance.
    pub instance: String,
    /// The fencing counter it holds it under.
    pub fence: u64,
    /// When it took it.
    pub since: DateTime<Utc>,
}

/// Vault as the daemon sees it: where, how it authenticates, its token's lifetime, the last
/// error. Never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultState {
    /// Vault's address.
    pub address: String,
    /// `token`, `token_file` or `approle` (`memory` in test builds without Vault).
    pub auth_method: String,
    /// The token file, when the token comes from one (re-read whenever it changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Seconds left of the token's lease; `None`: it does not expire.
    #[serde(default)]
    pub token_ttl_secs: Option<u64>,
    /// Whether the token can be renewed.
    #[serde(default)]
    pub renewable: bool,
    /// When the daemon last authenticated (lookup, login, or a new token from the file).
    #[serde(default)]
    pub last_authenticated: Option<DateTime<Utc>>,
    /// When the token was last renewed.
    #[serde(default)]
    pub last_renewed: Option<DateTime<Utc>>,
    /// The last authentication, renewal or refusal error, until the next success.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When that error happened.
    #[serde(default)]
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Health and schedules of one Jamf Pro instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// Instance name from the configuration.
    pub name: String,
    /// Jamf Pro base URL.
    pub url: String,
    /// Whether the last contact succeeded; `None` before the first contact.
    #[serde(default)]
    pub reachable: Option<bool>,
    /// The last error talking to the instance, if any.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Whether the daemon stopped scheduling jobs for it after repeated failures.
    #[serde(default)]
    pub parked: bool,
    /// Failures in a row.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Its scheduled jobs.
    #[serde(default)]
    pub jobs: Vec<JobStatus>,
    /// With `remediation = "auto"`: why the automatic apply waits (the desired state is not the
    /// one a person last applied with `wardenctl apply`, e.g. after a reload); `None` when it
    /// does not wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_waits: Option<String>,
}

/// What a scheduled job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Drift check.
    Drift,
    /// Risky-role audit.
    Audit,
    /// Secret rotation of one API client.
    Rotate,
    /// A kind from a newer daemon.
    #[serde(other)]
    Other,
}

/// Result of a job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Succeeded (for drift and audit: the check ran, findings or not).
    Ok,
    /// Failed; see the instance's `last_error`.
    Failed,
    /// Not run (instance parked, previous run still going, shutting down).
    Skipped,
    /// An outcome from a newer daemon.
    #[serde(other)]
    Other,
}

/// State of one scheduled job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    /// What the job does.
    pub kind: JobKind,
    /// What it works on, e.g. the API client a rotation job rotates.
    #[serde(default)]
    pub target: Option<String>,
    /// Start of the last run.
    #[serde(default)]
    pub last_run: Option<DateTime<Utc>>,
    /// Start of the last successful run.
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
    /// Result of the last run.
    #[serde(default)]
    pub last_outcome: Option<JobOutcome>,
    /// When it runs next; `None` if not scheduled.
    #[serde(default)]
    pub next_run: Option<DateTime<Utc>>,
    /// Whether it is running now.
    #[serde(default)]
    pub running: bool,
}

/// One configured instance, for [`Response::Instances`](super::Response::Instances).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSummary {
    /// Instance name from the configuration.
    pub name: String,
    /// Jamf Pro base URL.
    pub url: String,
    /// Declared API roles.
    #[serde(default)]
    pub roles: usize,
    /// Declared API clients.
    #[serde(default)]
    pub clients: usize,
    /// Whether jobs are parked after repeated failures.
    #[serde(default)]
    pub parked: bool,
    /// The declared roles, by name (absent from a wardend before they were listed).
    #[serde(default)]
    pub declared_roles: Vec<DeclaredRoleSummary>,
    /// The declared clients (absent from a wardend before they were listed).
    #[serde(default)]
    pub declared_clients: Vec<DeclaredClientSummary>,
}

/// A declared role in [`InstanceSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredRoleSummary {
    pub name: String,
    /// How many privileges it declares (0 for an external role).
    pub privileges: usize,
    /// Exists in Jamf but is not managed by Warden.
    #[serde(default)]
    pub external: bool,
}

/// A declared client in [`InstanceSummary`]. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredClientSummary {
    pub name: String,
    pub roles: Vec<String>,
    pub enabled: bool,
    #[serde(default)]
    pub owner: String,
    /// The Vault path (below the prefix) of its secret.
    #[serde(default)]
    pub vault_path: String,
}
