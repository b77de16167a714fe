//! Every default of the configuration, in one place. Units are in the names.

/// `daemon.socket`.
pub const SOCKET: &str = "/run/jamf-warden/wardend.sock";
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

/// `instance.max_in_flight`: Jamf's guidance is at most 5 concurrent connections.
pub const MAX_IN_FLIGHT: u32 = 5;
/// Largest accepted `instance.max_in_flight`.
pub const MAX_IN_FLIGHT_LIMIT: u32 = 20;
/// `instance.connect_timeout`.
pub const CONNECT_TIMEOUT_SECS: u64 = 5;
/// `instance.request_timeout`.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;
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
