//! Every default of the configuration, in one place. Units are in the names.

/// `daemon.socket`.
#[cfg(not(target_os = "macos"))]
pub const SOCKET: &str = "/run/jamf-warden/wardend.sock";
/// `daemon.socket` on macOS, which has no /run: the directory the launchd install steps create
/// (deploy/launchd/wardend.toml), so that wardenctl finds the daemon without `--socket`.
#[cfg(target_os = "macos")]
pub const SOCKET: &str = "/usr/local/var/run/jamf-warden/wardend.sock";
/// `daemon.socket_mode`: owner and group may connect.
pub const SOCKET_MODE: u32 = 0o660;
/// `daemon.admin_uids`: only root may send changing requests.
pub const ADMIN_UIDS: [u32; 1] = [0];
/// `daemon.state_dir`.
pub const STATE_DIR: &str = "/var/lib/jamf-warden";
/// `daemon.log_dir`.
pub const LOG_DIR: &str = "/var/log/jamf-warden";
/// `daemon.log_retention_days`.
pub const LOG_RETENTION_DAYS: u32 = 14;
/// Largest accepted `daemon.log_retention_days` (ten years).
pub const LOG_RETENTION_DAYS_MAX: u32 = 3650;
/// `daemon.log_level`.
pub const LOG_LEVEL: &str = "info";
/// `daemon.changelog` is this file inside `state_dir`.
pub const CHANGELOG_FILE_NAME: &str = "changelog.jsonl";
/// `daemon.max_rotations_per_minute`.
pub const MAX_ROTATIONS_PER_MINUTE: u32 = 10;
/// Largest accepted `daemon.max_rotations_per_minute`.
pub const MAX_ROTATIONS_PER_MINUTE_MAX: u32 = 1000;
/// `daemon.max_concurrent_checks`.
pub const MAX_CONCURRENT_CHECKS: u32 = 16;
/// Largest accepted `daemon.max_concurrent_checks`.
pub const MAX_CONCURRENT_CHECKS_MAX: u32 = 256;
/// `daemon.max_connections`.
pub const MAX_CONNECTIONS: u32 = 256;
/// Smallest accepted `daemon.max_connections`.
pub const MAX_CONNECTIONS_MIN: u32 = 4;
/// Largest accepted `daemon.max_connections`.
pub const MAX_CONNECTIONS_MAX: u32 = 65536;

/// `daemon.recovery_delay`: first retry of an interrupted rotation.
pub const RECOVERY_DELAY_SECS: u64 = 30;
/// `daemon.recovery_max_delay`: the backoff cap of those retries.
pub const RECOVERY_MAX_DELAY_SECS: u64 = 300;
/// Accepted range of `daemon.recovery_delay` and `daemon.recovery_max_delay` (1 s to 1 h).
pub const RECOVERY_DELAY_RANGE_SECS: (u64, u64) = (1, 3600);
/// `daemon.store_retry_budget`.
pub const STORE_RETRY_BUDGET_SECS: u64 = 300;
/// Accepted range of `daemon.store_retry_budget` (1 s to 1 h).
pub const STORE_RETRY_BUDGET_RANGE_SECS: (u64, u64) = (1, 3600);

/// `vault.kv_mount`.
pub const VAULT_KV_MOUNT: &str = "secret";
/// `vault.path_prefix`.
pub const VAULT_PATH_PREFIX: &str = "jamf-warden";
/// `vault.auth.mount` for AppRole.
pub const VAULT_APPROLE_MOUNT: &str = "approle";

/// `defaults.schedules.rotation`: Mondays at 03:00.
pub const ROTATION_SCHEDULE: &str = "0 3 * * MON";
/// `defaults.schedules.drift`: every 15 minutes.
pub const DRIFT_SCHEDULE: &str = "*/15 * * * *";
/// `defaults.schedules.audit`: daily at 06:00.
pub const AUDIT_SCHEDULE: &str = "0 6 * * *";
/// `defaults.schedules.jitter`.
pub const JITTER_SECS: u64 = 30;
/// Accepted `defaults.schedules.jitter` and `instance.schedules.jitter`: 0s to 6h.
pub const JITTER_MAX_SECS: u64 = 6 * 3_600;

/// `instance.max_in_flight`: Jamf's guidance is at most 5 concurrent connections.
pub const MAX_IN_FLIGHT: u32 = 5;
/// Largest accepted `instance.max_in_flight`.
pub const MAX_IN_FLIGHT_LIMIT: u32 = 20;
/// `instance.connect_timeout`.
pub const CONNECT_TIMEOUT_SECS: u64 = 5;
/// `instance.request_timeout`.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;
/// Shortest accepted `instance.connect_timeout` and `instance.request_timeout`: 100ms.
pub const TIMEOUT_MIN_MILLIS: u64 = 100;
/// Longest accepted `instance.connect_timeout`: 5m.
pub const CONNECT_TIMEOUT_MAX_SECS: u64 = 5 * 60;
/// Longest accepted `instance.request_timeout`: 1h.
pub const REQUEST_TIMEOUT_MAX_SECS: u64 = 3_600;
/// `instance.max_list_objects`: far above any real estate.
pub const MAX_LIST_OBJECTS: u32 = 100_000;
/// Accepted range of `instance.max_list_objects`.
pub const MAX_LIST_OBJECTS_RANGE: std::ops::RangeInclusive<u32> = 10..=10_000_000;
/// `instance.list_timeout`.
pub const LIST_TIMEOUT_SECS: u64 = 300;
/// Longest accepted `instance.list_timeout`.
pub const LIST_TIMEOUT_MAX_SECS: u64 = 24 * 3600;

/// `client.token_lifetime` (Jamf's own default).
pub const TOKEN_LIFETIME_SECS: u32 = 300;
/// Accepted `client.token_lifetime`: 1 to 31,536,000 seconds (365 days).
pub const TOKEN_LIFETIME_MAX_SECS: u32 = 365 * 86_400;
/// Accepted `client.rotation.max_age`: 1m to 3650d (ten years).
pub const MAX_AGE_MIN_SECS: u64 = 60;
/// See [`MAX_AGE_MIN_SECS`].
pub const MAX_AGE_MAX_SECS: u64 = 3_650 * 86_400;
/// Accepted `audit.max_token_lifetime`: 1s to 365d.
pub const AUDIT_MAX_TOKEN_LIFETIME_MAX_SECS: u64 = 365 * 86_400;
/// `audit.history`: the longest history of audit runs kept (ten years).
pub const AUDIT_HISTORY_MAX_DAYS: u32 = 3650;
