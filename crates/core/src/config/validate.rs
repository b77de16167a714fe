//! The validation pass: turns the file as written into the effective [`Config`], collecting
//! every error instead of stopping at the first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::ctx::Ctx;
use super::errors::{ConfigError, ConfigErrors, Source};
use super::schema::{RawConfig, RawDaemon, RawVault};
use super::types::{Config, Daemon, SocketGroup, Vault, VaultAuth};
use super::values::{check_log_level, check_vault_path, parse_http_url, parse_socket_mode};
use super::{LoadOptions, defaults, instances};

/// Validates `raw`, read from `src`, into the effective configuration.
pub(crate) fn validate(
    src: &Source,
    raw: RawConfig,
    options: &LoadOptions,
) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx::new(src, options);
    let daemon = daemon(&mut ctx, &raw.daemon);
    let vault = vault(&mut ctx, &raw.vault);
    let instances = instances::instances(&mut ctx, &raw.defaults.schedules, &raw.instances);
    let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    let audit = super::audit::audit(&mut ctx, &raw.audit, &names);
    let (notify, changelog_forward) =
        super::notify::notify(&mut ctx, &raw.notify, &raw.changelog_forward, &names);
    let metrics = super::metrics::metrics(&mut ctx, raw.metrics.as_ref());
    let cluster = super::cluster::cluster(&mut ctx, raw.cluster.as_ref());
    let vault = match vault {
        Some(vault) if ctx.errors.is_empty() => vault,
        _ => return Err(in_file_order(ctx.errors, &src.path)),
    };
    Ok(Config {
        path: src.path.clone(),
        version: super::CONFIG_VERSION,
        daemon,
        vault,
        instances,
        audit,
        notify,
        changelog_forward,
        metrics,
        cluster,
        warnings: ctx.warnings,
        notes: ctx.notes,
    })
}

/// Sorts errors by file (the config file first) and position, keeping the order of errors at
/// the same position.
fn in_file_order(mut errors: Vec<ConfigError>, config: &Path) -> ConfigErrors {
    errors.sort_by_cached_key(|error| match error.location() {
        Some(loc) => (loc.file != config, loc.file.clone(), loc.line, loc.column),
        None => (true, PathBuf::new(), 0, 0),
    });
    ConfigErrors(errors)
}

fn daemon(ctx: &mut Ctx<'_>, raw: &RawDaemon) -> Daemon {
    let path_or = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, field: &str, default: &str| {
        v.as_ref()
            .and_then(|v| ctx.path(v, field, false))
            .unwrap_or_else(|| default.into())
    };
    let socket = path_or(ctx, &raw.socket, "daemon.socket", defaults::SOCKET);
    let state_dir = path_or(ctx, &raw.state_dir, "daemon.state_dir", defaults::STATE_DIR);
    let log_dir = path_or(ctx, &raw.log_dir, "daemon.log_dir", defaults::LOG_DIR);
    let changelog = raw
        .changelog
        .as_ref()
        .and_then(|v| ctx.path(v, "daemon.changelog", false))
        .unwrap_or_else(|| state_dir.join(defaults::CHANGELOG_FILE_NAME));
    let socket_group = raw.socket_group.as_ref().and_then(|v| socket_group(ctx, v));
    let socket_mode = match &raw.socket_mode {
        Some(v) => parse_socket_mode(v.get_ref())
            .map_err(|message| ctx.invalid(&v.span(), "daemon.socket_mode", message))
            .unwrap_or(defaults::SOCKET_MODE),
        None => defaults::SOCKET_MODE,
    };
    let id = raw.id.as_ref().map(|v| {
        let id = v.get_ref();
        let ok = !id.is_empty()
            && id.len() <= 128
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            ctx.invalid(
                &v.span(),
                "daemon.id",
                "must be 1 to 128 characters of letters, digits, `.`, `_` and `-`, not starting \
                 with `.` (it names Vault paths); to keep the current id, copy it from the \
                 start-up log line `daemon id`",
            );
        }
        id.clone()
    });
    let log_level = match &raw.log_level {
        Some(v) => {
            if let Err(message) = check_log_level(v.get_ref()) {
                ctx.invalid(&v.span(), "daemon.log_level", message);
            }
            v.get_ref().trim().to_owned()
        }
        None => defaults::LOG_LEVEL.to_owned(),
    };
    let log_retention_days = ctx.int_in(
        raw.log_retention_days.as_ref(),
        "daemon.log_retention_days",
        1..=defaults::LOG_RETENTION_DAYS_MAX,
        defaults::LOG_RETENTION_DAYS,
    );
    let max_rotations_per_minute = ctx.int_in(
        raw.max_rotations_per_minute.as_ref(),
        "daemon.max_rotations_per_minute",
        1..=defaults::MAX_ROTATIONS_PER_MINUTE_MAX,
        defaults::MAX_ROTATIONS_PER_MINUTE,
    );
    let max_concurrent_checks = ctx.int_in(
        raw.max_concurrent_checks.as_ref(),
        "daemon.max_concurrent_checks",
        1..=defaults::MAX_CONCURRENT_CHECKS_MAX,
        defaults::MAX_CONCURRENT_CHECKS,
    );
    let secs = Duration::from_secs;
    let (lo, hi) = defaults::RECOVERY_DELAY_RANGE_SECS;
    let recovery_delay = ctx.duration_in(
        raw.recovery_delay.as_ref(),
        "daemon.recovery_delay",
        secs(lo)..=secs(hi),
        secs(defaults::RECOVERY_DELAY_SECS),
    );
    let recovery_max_delay = ctx.duration_in(
        raw.recovery_max_delay.as_ref(),
        "daemon.recovery_max_delay",
        secs(lo)..=secs(hi),
        secs(defaults::RECOVERY_MAX_DELAY_SECS).max(recovery_delay),
    );
    if recovery_max_delay < recovery_delay
        && let Some(v) = &raw.recovery_max_delay
    {
        ctx.invalid(
            &v.span(),
            "daemon.recovery_max_delay",
            "must not be shorter than `daemon.recovery_delay`",
        );
    }
    let (lo, hi) = defaults::STORE_RETRY_BUDGET_RANGE_SECS;
    let store_retry_budget = ctx.duration_in(
        raw.store_retry_budget.as_ref(),
        "daemon.store_retry_budget",
        secs(lo)..=secs(hi),
        secs(defaults::STORE_RETRY_BUDGET_SECS),
    );
    let max_connections = ctx.int_in(
        raw.max_connections.as_ref(),
        "daemon.max_connections",
        defaults::MAX_CONNECTIONS_MIN..=defaults::MAX_CONNECTIONS_MAX,
        defaults::MAX_CONNECTIONS,
    );
    let admin_uids = raw
        .admin_uids
        .clone()
        .unwrap_or_else(|| defaults::ADMIN_UIDS.to_vec());
    let admin_gids = raw.admin_gids.clone().unwrap_or_default();
    if admin_uids.is_empty() && admin_gids.is_empty() {
        ctx.warnings.push(format!(
            "{}: `daemon.admin_uids` and `daemon.admin_gids` are empty: nobody can run changing \
             requests (rotate, apply, reload) over the socket",
            ctx.src.path.display()
        ));
    }
    Daemon {
        socket,
        socket_group,
        socket_mode,
        admin_uids,
        admin_gids,
        state_dir,
        log_dir,
        log_format: raw.log_format.unwrap_or_default(),
        log_retention_days,
        log_level,
        changelog,
        max_rotations_per_minute,
        max_concurrent_checks,
        recovery_delay,
        recovery_max_delay,
        store_retry_budget,
        max_connections,
        id,
    }
}

fn socket_group(ctx: &mut Ctx<'_>, value: &Spanned<toml::Value>) -> Option<SocketGroup> {
    let field = "daemon.socket_group";
    match value.get_ref() {
        toml::Value::String(name)
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
        {
            Some(SocketGroup::Name(name.clone()))
        }
        toml::Value::Integer(gid) => match u32::try_from(*gid) {
            Ok(gid) => Some(SocketGroup::Gid(gid)),
            Err(_) => {
                ctx.invalid(&value.span(), field, format!("{gid} is not a valid gid"));
                None
            }
        },
        _ => {
            ctx.invalid(
                &value.span(),
                field,
                "write a group name (a string such as \"jamf-warden\") or a numeric gid",
            );
            None
        }
    }
}

/// The `[vault]` table; `None` only if its address is invalid (an error is recorded).
fn vault(ctx: &mut Ctx<'_>, raw: &RawVault) -> Option<Vault> {
    let field = "vault.address";
    let allow_insecure_http = raw.allow_insecure_http.unwrap_or(false);
    let example = "https://vault.example.com:8200";
    let address = parse_http_url(raw.address.get_ref(), allow_insecure_http, example)
        .map_err(|message| ctx.invalid(&raw.address.span(), field, message))
        .ok();
    let vault_path =
        |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, field: &str, default: &str| {
            let Some(v) = v else {
                return default.to_owned();
            };
            if let Err(message) = check_vault_path(v.get_ref()) {
                ctx.invalid(&v.span(), field, message);
            }
            v.get_ref().clone()
        };
    let kv_mount = vault_path(
        ctx,
        &raw.kv_mount,
        "vault.kv_mount",
        defaults::VAULT_KV_MOUNT,
    );
    let path_prefix = vault_path(
        ctx,
        &raw.path_prefix,
        "vault.path_prefix",
        defaults::VAULT_PATH_PREFIX,
    );
    let namespace = raw.namespace.as_ref().map(|ns| {
        if ns.get_ref().trim().is_empty() {
            ctx.invalid(
                &ns.span(),
                "vault.namespace",
                "is empty; remove it or name a namespace",
            );
        }
        ns.get_ref().trim().to_owned()
    });
    let ca_file = ctx.ca_file(raw.ca_file.as_ref(), "vault.ca_file");
    let auth = vault_auth(ctx, raw);
    Some(Vault {
        address: address?,
        ca_file,
        namespace,
        kv_mount,
        path_prefix,
        allow_insecure_http,
        auth,
    })
}

fn vault_auth(ctx: &mut Ctx<'_>, raw: &RawVault) -> VaultAuth {
    let auth = raw.auth.get_ref();
    let auth_span = raw.auth.span();
    let file = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, name: &str, method: &str| {
        let field = format!("vault.auth.{name}");
        match v {
            Some(v) => ctx.path(v, &field, true).unwrap_or_default(),
            None => {
                ctx.invalid(
                    &auth_span,
                    &field,
                    format!("method = \"{method}\" needs `{name}`; add the path of that file"),
                );
                PathBuf::new()
            }
        }
    };
    let forbid = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, name: &str, method: &str| {
        if let Some(v) = v {
            ctx.invalid(
                &v.span(),
                &format!("vault.auth.{name}"),
                format!("only applies to method = \"{method}\"; remove it"),
            );
        }
    };
    match auth.method.get_ref().as_str() {
        "token" => {
            forbid(ctx, &auth.role_id_file, "role_id_file", "approle");
            forbid(ctx, &auth.secret_id_file, "secret_id_file", "approle");
            forbid(ctx, &auth.mount, "mount", "approle");
            VaultAuth::Token {
                token_file: file(ctx, &auth.token_file, "token_file", "token"),
            }
        }
        "approle" => {
            forbid(ctx, &auth.token_file, "token_file", "token");
            let role_id_file = file(ctx, &auth.role_id_file, "role_id_file", "approle");
            let secret_id_file = file(ctx, &auth.secret_id_file, "secret_id_file", "approle");
            let mount = match &auth.mount {
                Some(m) => {
                    if let Err(message) = check_vault_path(m.get_ref()) {
                        ctx.invalid(&m.span(), "vault.auth.mount", message);
                    }
                    m.get_ref().clone()
                }
                None => defaults::VAULT_APPROLE_MOUNT.to_owned(),
            };
            VaultAuth::AppRole {
                role_id_file,
                secret_id_file,
                mount,
            }
        }
        other => {
            ctx.invalid(
                &auth.method.span(),
                "vault.auth.method",
                format!("unknown auth method `{other}`; use \"token\" or \"approle\""),
            );
            VaultAuth::Token {
                token_file: PathBuf::new(),
            }
        }
    }
}
