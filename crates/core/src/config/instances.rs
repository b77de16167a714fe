//! Validation of `[defaults.schedules]` and `[[instance]]`, including each instance's merged
//! desired state.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::ctx::Ctx;
use super::defaults;
use super::desired::{self, DesiredFile, DesiredState, MergeContext};
use super::errors::{ConfigError, Location};
use super::schema::{RawInstance, RawSchedules};
use super::types::{Instance, Remediation, Schedules};
use super::values::{check_instance_name, check_vault_path, parse_http_url};
use crate::schedule::{JobKind, Schedule};

/// A schedule expression from `[defaults.schedules]` (or the built-in default).
struct DefaultExpr {
    expr: String,
    /// False if it was written in the file and is invalid (already reported).
    valid: bool,
}

/// `[defaults.schedules]`, checked once.
struct Defaults {
    /// Rotation, drift and audit, in that order.
    exprs: [DefaultExpr; 3],
    timezone: Option<String>,
    jitter: Duration,
}

/// Validates every instance; the result is complete only if `ctx.errors` stays empty.
pub(crate) fn instances(
    ctx: &mut Ctx<'_>,
    raw_defaults: &RawSchedules,
    raw: &[RawInstance],
) -> Vec<Instance> {
    let defaults = check_defaults(ctx, raw_defaults);
    let mut files: BTreeMap<PathBuf, Option<DesiredFile>> = BTreeMap::new();
    let mut names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    let mut vault_paths: BTreeMap<String, Location> = BTreeMap::new();
    let mut merged = MergedStates::default();
    let last_use = last_use_of_files(ctx, raw);
    let mut out = Vec::new();
    for (index, raw) in raw.iter().enumerate() {
        let name = raw.name.get_ref();
        let duplicate = names.get(name.as_str()).cloned();
        if let Some(first) = &duplicate {
            let line = ctx.src.loc(first).line;
            ctx.invalid(
                &raw.name.span(),
                "instance.name",
                format!(
                    "instance `{name}` is already defined at line {line}; instance names must be \
                     unique"
                ),
            );
        } else {
            names.insert(name, raw.name.span());
        }
        if let Some((mut instance, client_locations)) = instance(ctx, &defaults, raw, &mut files) {
            // A duplicate's Vault paths collide with the first's; one error is enough.
            if duplicate.is_none() {
                claim_vault_paths(ctx, &instance, raw, &client_locations, &mut vault_paths);
            }
            instance.desired_state = merged.share(&instance.desired, instance.desired_state);
            out.push(instance);
        }
        // A file no later instance lists is merged for good: drop its parsed form, so that a
        // fleet with a file per instance holds one parsed file at a time, not all of them.
        for path in last_use.get(&index).into_iter().flatten() {
            files.remove(path);
        }
    }
    out
}

/// The desired files (resolved as `desired_files` resolves them) by the index of the last
/// instance that lists them.
fn last_use_of_files(ctx: &Ctx<'_>, raw: &[RawInstance]) -> BTreeMap<usize, Vec<PathBuf>> {
    let mut last: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (index, instance) in raw.iter().enumerate() {
        for value in &instance.desired {
            if let Some(path) = ctx.resolve(value.get_ref()) {
                last.insert(path, index);
            }
        }
    }
    let mut by_index: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
    for (path, index) in last {
        by_index.entry(index).or_default().push(path);
    }
    by_index
}

/// Merged desired states by desired-file list: instances whose merge came out the same share
/// one copy (a fleet on one baseline holds it once, not once per instance).
#[derive(Default)]
struct MergedStates {
    by_files: BTreeMap<Vec<PathBuf>, Vec<Arc<DesiredState>>>,
}

impl MergedStates {
    fn share(&mut self, files: &[PathBuf], state: Arc<DesiredState>) -> Arc<DesiredState> {
        let same_files = self.by_files.entry(files.to_vec()).or_default();
        if let Some(same) = same_files.iter().find(|s| ***s == *state) {
            return Arc::clone(same);
        }
        same_files.push(Arc::clone(&state));
        state
    }
}

fn check_defaults(ctx: &mut Ctx<'_>, raw: &RawSchedules) -> Defaults {
    let timezone = raw
        .timezone
        .as_ref()
        .and_then(|tz| check_timezone(ctx, tz, "defaults.schedules.timezone"));
    let mut expr = |kind: JobKind, value: &Option<Spanned<String>>, builtin: &str| {
        let Some(value) = value else {
            return DefaultExpr {
                expr: builtin.to_owned(),
                valid: true,
            };
        };
        let field = format!("defaults.schedules.{kind}");
        let valid = match Schedule::parse(value.get_ref(), timezone.as_deref()) {
            Ok(_) => true,
            Err(e) => {
                ctx.invalid(&value.span(), &field, e.to_string());
                false
            }
        };
        DefaultExpr {
            expr: value.get_ref().clone(),
            valid,
        }
    };
    let exprs = [
        expr(
            JobKind::Rotation,
            &raw.rotation,
            defaults::ROTATION_SCHEDULE,
        ),
        expr(JobKind::Drift, &raw.drift, defaults::DRIFT_SCHEDULE),
        expr(JobKind::Audit, &raw.audit, defaults::AUDIT_SCHEDULE),
    ];
    let jitter = ctx.duration_in(
        raw.jitter.as_ref(),
        "defaults.schedules.jitter",
        Duration::ZERO..=Duration::from_secs(defaults::JITTER_MAX_SECS),
        Duration::from_secs(defaults::JITTER_SECS),
    );
    Defaults {
        exprs,
        timezone,
        jitter,
    }
}

/// Returns the canonical IANA name, or records an error.
fn check_timezone(ctx: &mut Ctx<'_>, tz: &Spanned<String>, field: &str) -> Option<String> {
    match tz.get_ref().trim().parse::<chrono_tz::Tz>() {
        Ok(parsed) => Some(parsed.name().to_owned()),
        Err(_) => {
            let error = crate::schedule::ScheduleError::UnknownTimezone {
                tz: tz.get_ref().clone(),
            };
            ctx.invalid(&tz.span(), field, error.to_string());
            None
        }
    }
}

fn schedules(ctx: &mut Ctx<'_>, defaults: &Defaults, raw: &RawSchedules) -> Schedules {
    let timezone = match &raw.timezone {
        Some(tz) => check_timezone(ctx, tz, "instance.schedules.timezone"),
        None => defaults.timezone.clone(),
    };
    let tz = timezone.as_deref();
    let mut parse = |kind: JobKind, value: &Option<Spanned<String>>| -> Schedule {
        let default = match kind {
            JobKind::Rotation => &defaults.exprs[0],
            JobKind::Drift => &defaults.exprs[1],
            JobKind::Audit => &defaults.exprs[2],
        };
        match value {
            Some(value) => Schedule::parse(value.get_ref(), tz).unwrap_or_else(|e| {
                ctx.invalid(
                    &value.span(),
                    &format!("instance.schedules.{kind}"),
                    e.to_string(),
                );
                Schedule::off()
            }),
            // An invalid default was reported once, where it is written.
            None if default.valid => {
                Schedule::parse(&default.expr, tz).unwrap_or_else(|_| Schedule::off())
            }
            None => Schedule::off(),
        }
    };
    let rotation = parse(JobKind::Rotation, &raw.rotation);
    let drift = parse(JobKind::Drift, &raw.drift);
    let audit = parse(JobKind::Audit, &raw.audit);
    let jitter = ctx.duration_in(
        raw.jitter.as_ref(),
        "instance.schedules.jitter",
        Duration::ZERO..=Duration::from_secs(defaults::JITTER_MAX_SECS),
        defaults.jitter,
    );
    Schedules {
        rotation,
        drift,
        audit,
        timezone,
        jitter,
    }
}

/// One instance and where each of its clients is defined; `None` only if its URL is invalid (an
/// error is recorded).
fn instance(
    ctx: &mut Ctx<'_>,
    defaults: &Defaults,
    raw: &RawInstance,
    files: &mut BTreeMap<PathBuf, Option<DesiredFile>>,
) -> Option<(Instance, Vec<Location>)> {
    let name = raw.name.get_ref().clone();
    if let Err(message) = check_instance_name(&name) {
        ctx.invalid(&raw.name.span(), "instance.name", message);
    }
    let allow_insecure_http = raw.allow_insecure_http.unwrap_or(false);
    let url = parse_http_url(
        raw.url.get_ref(),
        allow_insecure_http,
        "https://acme.jamfcloud.com",
    )
    .map_err(|message| ctx.invalid(&raw.url.span(), "instance.url", message))
    .ok();
    let credentials = match &raw.credentials {
        Some(c) => {
            if let Err(message) = check_vault_path(c.get_ref()) {
                ctx.invalid(&c.span(), "instance.credentials", message);
            }
            c.get_ref().clone()
        }
        None => format!("instances/{name}/management"),
    };
    let max_in_flight = ctx.int_in(
        raw.max_in_flight.as_ref(),
        "instance.max_in_flight",
        1..=defaults::MAX_IN_FLIGHT_LIMIT,
        defaults::MAX_IN_FLIGHT,
    );
    if let Some(v) = raw
        .max_in_flight
        .as_ref()
        .filter(|_| max_in_flight > defaults::MAX_IN_FLIGHT)
    {
        ctx.warn(
            &v.span(),
            "instance.max_in_flight",
            "more than 5 concurrent requests is above Jamf's guidance and may slow the server",
        );
    }
    let min_timeout = Duration::from_millis(defaults::TIMEOUT_MIN_MILLIS);
    let connect_timeout = ctx.duration_in(
        raw.connect_timeout.as_ref(),
        "instance.connect_timeout",
        min_timeout..=Duration::from_secs(defaults::CONNECT_TIMEOUT_MAX_SECS),
        Duration::from_secs(defaults::CONNECT_TIMEOUT_SECS),
    );
    let request_timeout = ctx.duration_in(
        raw.request_timeout.as_ref(),
        "instance.request_timeout",
        min_timeout..=Duration::from_secs(defaults::REQUEST_TIMEOUT_MAX_SECS),
        Duration::from_secs(defaults::REQUEST_TIMEOUT_SECS),
    );
    let max_list_objects = ctx.int_in(
        raw.max_list_objects.as_ref(),
        "instance.max_list_objects",
        defaults::MAX_LIST_OBJECTS_RANGE,
        defaults::MAX_LIST_OBJECTS,
    );
    let list_timeout = ctx.duration_in(
        raw.list_timeout.as_ref(),
        "instance.list_timeout",
        Duration::from_secs(1)..=Duration::from_secs(defaults::LIST_TIMEOUT_MAX_SECS),
        Duration::from_secs(defaults::LIST_TIMEOUT_SECS),
    );
    let ca_file = ctx.ca_file(raw.ca_file.as_ref(), "instance.ca_file");
    let schedules = schedules(ctx, defaults, &raw.schedules);
    let remediation = match raw.remediation.as_ref() {
        None => Remediation::default(),
        Some(v) => {
            match v.get_ref().as_str() {
                "report" => Remediation::Report,
                "auto" => Remediation::Auto,
                other => {
                    ctx.invalid(
                    &v.span(),
                    "instance.remediation",
                    format!("unknown remediation {other:?}: use \"report\" (the default) or \"auto\""),
                );
                    Remediation::default()
                }
            }
        }
    };
    let desired = desired_files(ctx, raw, files);
    let merge_ctx = MergeContext {
        instance: &name,
        timezone: schedules.timezone.as_deref(),
    };
    let loaded: Vec<&DesiredFile> = desired
        .iter()
        .filter_map(|path| files.get(path).and_then(Option::as_ref))
        .collect();
    let (desired_state, client_locations) = desired::merge(&merge_ctx, &loaded, &mut ctx.errors);
    let instance = Instance {
        name,
        url: url?,
        credentials,
        max_in_flight,
        connect_timeout,
        request_timeout,
        max_list_objects,
        list_timeout,
        allow_insecure_http,
        ca_file,
        desired,
        prune: raw.prune.unwrap_or(false),
        remediation,
        schedules,
        desired_state: Arc::new(desired_state),
    };
    Some((instance, client_locations))
}

/// Resolves the instance's desired files and loads each one once (errors reported once).
fn desired_files(
    ctx: &mut Ctx<'_>,
    raw: &RawInstance,
    files: &mut BTreeMap<PathBuf, Option<DesiredFile>>,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for value in &raw.desired {
        let Some(path) = ctx.path(value, "instance.desired", false) else {
            continue;
        };
        if out.contains(&path) {
            ctx.invalid(
                &value.span(),
                "instance.desired",
                format!("`{}` is listed twice; remove one", value.get_ref()),
            );
            continue;
        }
        if !files.contains_key(&path) {
            if let Err(e) = crate::files::check_regular(&path) {
                let message = if e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "desired-state file `{}` does not exist; create it or fix the path \
                         (relative paths start at this config file's directory)",
                        path.display()
                    )
                } else {
                    format!(
                        "desired-state file `{}` cannot be used: {e}; point it at a TOML file",
                        path.display()
                    )
                };
                ctx.invalid(&value.span(), "instance.desired", message);
                files.insert(path.clone(), None);
            } else {
                let loaded = desired::load_file(&path, &mut ctx.errors);
                if let Some(file) = &loaded {
                    desired::check_shipped_catalogue(file, &mut ctx.warnings);
                }
                files.insert(path.clone(), loaded);
            }
        }
        out.push(path);
    }
    out
}

/// Records the Vault paths an instance writes or reads (its management credentials and each
/// client's secret); two owners of one path is an error.
fn claim_vault_paths(
    ctx: &mut Ctx<'_>,
    instance: &Instance,
    raw: &RawInstance,
    client_locations: &[Location],
    claimed: &mut BTreeMap<String, Location>,
) {
    let span = raw
        .credentials
        .as_ref()
        .map_or_else(|| raw.name.span(), Spanned::span);
    let mut claims = vec![(
        instance.credentials.clone(),
        ctx.src.loc(&span),
        format!("the management credentials of instance `{}`", instance.name),
    )];
    for (client, location) in instance.desired_state.clients.iter().zip(client_locations) {
        claims.push((
            client.vault_path_in(&instance.name),
            location.clone(),
            format!(
                "the secret of client `{}` of instance `{}`",
                client.name, instance.name
            ),
        ));
    }
    for (path, location, what) in claims {
        match claimed.get(&path) {
            Some(first) => ctx.errors.push(ConfigError::Invalid {
                location,
                field: "vault_path".into(),
                message: format!(
                    "{what} would be stored at Vault path `{path}`, which is already used (see \
                     {first}); give each a distinct path (`vault_path` / `credentials`)"
                ),
            }),
            None => {
                claimed.insert(path, location);
            }
        }
    }
}
