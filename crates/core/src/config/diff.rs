//! What changed between two configurations, for SIGHUP reloads (validate → diff → apply).

use super::types::{Config, Daemon, Instance};

/// The difference between a running configuration and a newly loaded one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Instances only in the new config: start their jobs.
    pub instances_added: Vec<String>,
    /// Instances only in the old config: stop their jobs (finish running ones first).
    pub instances_removed: Vec<String>,
    /// Instances in both whose settings or desired state changed.
    pub instances_changed: Vec<InstanceChange>,
    /// `[vault]` changed: reconnect to Vault (affects every instance).
    pub vault_changed: bool,
    /// `[daemon]` settings that changed and take effect only after a restart (socket, state and
    /// log locations, log format and retention). The daemon keeps the old values and says so.
    pub restart_required: Vec<&'static str>,
    /// `[daemon]` settings that changed and apply at once (admin ids, log level, rate limit).
    pub daemon_reloaded: Vec<&'static str>,
    /// `[audit]` changed (thresholds, classifications, suppressions): applies to the next audit.
    pub audit_changed: bool,
    /// `[[notify]]` or `[changelog_forward]` changed: the notifier rebuilds the changed sinks.
    pub notify_changed: bool,
}

/// One changed instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceChange {
    /// The instance name.
    pub name: String,
    /// Which settings changed, e.g. `url`, `schedules.rotation`, `desired_state`.
    pub fields: Vec<&'static str>,
}

impl ConfigDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }

    /// Whether some change only takes effect after a restart.
    pub fn needs_restart(&self) -> bool {
        !self.restart_required.is_empty()
    }
}

impl Config {
    /// Compares `old` (running) with `new` (just loaded and validated).
    pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
        let (mut restart_required, daemon_reloaded) = daemon_changes(&old.daemon, &new.daemon);
        if old.metrics != new.metrics {
            restart_required.push("metrics");
        }
        if old.cluster != new.cluster {
            restart_required.push("cluster");
        }
        let mut diff = ConfigDiff {
            vault_changed: old.vault != new.vault,
            audit_changed: old.audit != new.audit,
            notify_changed: old.notify != new.notify
                || old.changelog_forward != new.changelog_forward,
            restart_required,
            daemon_reloaded,
            ..ConfigDiff::default()
        };
        for instance in &new.instances {
            match old.instance(&instance.name) {
                None => diff.instances_added.push(instance.name.clone()),
                Some(before) => {
                    let fields = instance_changes(before, instance);
                    if !fields.is_empty() {
                        diff.instances_changed.push(InstanceChange {
                            name: instance.name.clone(),
                            fields,
                        });
                    }
                }
            }
        }
        for instance in &old.instances {
            if new.instance(&instance.name).is_none() {
                diff.instances_removed.push(instance.name.clone());
            }
        }
        diff
    }
}

/// Changed daemon settings: (needing a restart, applied live).
fn daemon_changes(old: &Daemon, new: &Daemon) -> (Vec<&'static str>, Vec<&'static str>) {
    let restart = [
        ("socket", old.socket != new.socket),
        ("socket_group", old.socket_group != new.socket_group),
        ("socket_mode", old.socket_mode != new.socket_mode),
        ("state_dir", old.state_dir != new.state_dir),
        ("log_dir", old.log_dir != new.log_dir),
        ("log_format", old.log_format != new.log_format),
        (
            "log_retention_days",
            old.log_retention_days != new.log_retention_days,
        ),
        ("changelog", old.changelog != new.changelog),
        ("id", old.id != new.id),
        (
            "max_concurrent_checks",
            old.max_concurrent_checks != new.max_concurrent_checks,
        ),
        (
            "store_retry_budget",
            old.store_retry_budget != new.store_retry_budget,
        ),
        (
            "max_connections",
            old.max_connections != new.max_connections,
        ),
    ];
    let live = [
        ("admin_uids", old.admin_uids != new.admin_uids),
        ("admin_gids", old.admin_gids != new.admin_gids),
        ("log_level", old.log_level != new.log_level),
        (
            "max_rotations_per_minute",
            old.max_rotations_per_minute != new.max_rotations_per_minute,
        ),
        ("recovery_delay", old.recovery_delay != new.recovery_delay),
        (
            "recovery_max_delay",
            old.recovery_max_delay != new.recovery_max_delay,
        ),
    ];
    let changed = |list: &[(&'static str, bool)]| {
        list.iter()
            .filter(|(_, changed)| *changed)
            .map(|(name, _)| *name)
            .collect()
    };
    (changed(&restart), changed(&live))
}

/// Names of the settings of an instance that differ.
fn instance_changes(old: &Instance, new: &Instance) -> Vec<&'static str> {
    let (a, b) = (&old.schedules, &new.schedules);
    [
        ("url", old.url != new.url),
        ("credentials", old.credentials != new.credentials),
        ("max_in_flight", old.max_in_flight != new.max_in_flight),
        (
            "connect_timeout",
            old.connect_timeout != new.connect_timeout,
        ),
        (
            "request_timeout",
            old.request_timeout != new.request_timeout,
        ),
        (
            "max_list_objects",
            old.max_list_objects != new.max_list_objects,
        ),
        ("list_timeout", old.list_timeout != new.list_timeout),
        (
            "allow_insecure_http",
            old.allow_insecure_http != new.allow_insecure_http,
        ),
        ("ca_file", old.ca_file != new.ca_file),
        ("desired", old.desired != new.desired),
        ("desired_state", old.desired_state != new.desired_state),
        ("prune", old.prune != new.prune),
        ("remediation", old.remediation != new.remediation),
        ("schedules.rotation", a.rotation != b.rotation),
        ("schedules.drift", a.drift != b.drift),
        ("schedules.audit", a.audit != b.audit),
        ("schedules.timezone", a.timezone != b.timezone),
        ("schedules.jitter", a.jitter != b.jitter),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name)
    .collect()
}
