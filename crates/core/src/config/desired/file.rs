//! One desired-state file: its schema and the checks that need no other file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{AdoptPolicy, RotationStrategy};
use crate::config::errors::{ConfigError, Source};
use std::time::Duration;

use crate::config::defaults;
use crate::config::values::{check_duration_range, check_vault_path, parse_duration, slug};
use crate::schedule::Schedule;

/// A desired-state file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesiredFile {
    #[serde(rename = "version")]
    _version: toml::Value,
    #[serde(default, rename = "role")]
    roles: Vec<RawRole>,
    #[serde(default, rename = "client")]
    clients: Vec<RawClient>,
}

/// `[[role]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRole {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    pub(crate) privileges: Vec<Spanned<String>>,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) external: bool,
    #[serde(default, rename = "override")]
    pub(crate) override_: bool,
}

/// `[[client]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub(crate) name: Spanned<String>,
    pub(crate) roles: Spanned<Vec<Spanned<String>>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) token_lifetime: Option<Spanned<i64>>,
    pub(crate) owner: Spanned<String>,
    pub(crate) purpose: Spanned<String>,
    pub(crate) vault_path: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) rotation: RawRotation,
    #[serde(default, rename = "override")]
    pub(crate) override_: bool,
}

/// `[client.rotation]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRotation {
    pub(crate) schedule: Option<Spanned<String>>,
    pub(crate) max_age: Option<Spanned<String>>,
    pub(crate) strategy: Option<RotationStrategy>,
    pub(crate) adopt: Option<AdoptPolicy>,
}

/// A parsed desired-state file; its per-file errors have been reported already.
#[derive(Debug)]
pub(crate) struct DesiredFile {
    pub(crate) source: Source,
    pub(crate) roles: Vec<RawRole>,
    pub(crate) clients: Vec<RawClient>,
}

/// Reads, parses and checks `path`, pushing every problem onto `errors`. Returns `None` if the
/// file cannot be read or parsed; a file with only value errors is still returned, so that
/// cross-file checks can report more.
pub(crate) fn load_file(path: &Path, errors: &mut Vec<ConfigError>) -> Option<DesiredFile> {
    let source = match Source::read(path) {
        Ok(source) => source,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    load_source(source, errors)
}

/// [`load_file`] of a file's text already in memory (a proposed file sent by `wardenctl plan
/// --desired`): `source.path` is the name its errors are reported under.
pub(crate) fn load_source(source: Source, errors: &mut Vec<ConfigError>) -> Option<DesiredFile> {
    let raw: RawDesiredFile = match source.parse() {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let file = DesiredFile {
        source,
        roles: raw.roles,
        clients: raw.clients,
    };
    check_roles(&file, errors);
    check_clients(&file, errors);
    Some(file)
}

/// Checks a name: non-empty, no surrounding whitespace, not defined earlier in the same file.
fn check_name(
    src: &Source,
    kind: &str,
    name: &Spanned<String>,
    seen: &mut BTreeMap<String, usize>,
    errors: &mut Vec<ConfigError>,
) {
    let field = format!("{kind}.name");
    let value = name.get_ref();
    if value.trim().is_empty() {
        errors.push(src.invalid(
            &name.span(),
            field,
            format!("{kind} name is empty; name it"),
        ));
        return;
    }
    if value.trim() != value {
        errors.push(src.invalid(
            &name.span(),
            &field,
            format!("{kind} name `{value}` has leading or trailing spaces; remove them"),
        ));
    }
    if let Some(first) = seen.get(value) {
        let line = src.loc(&(*first..*first)).line;
        errors.push(src.invalid(
            &name.span(),
            field,
            format!(
                "{kind} `{value}` is already defined in this file (line {line}); remove one \
                 (`override = true` only applies across files)"
            ),
        ));
    } else {
        seen.insert(value.clone(), name.span().start);
    }
}

fn check_roles(file: &DesiredFile, errors: &mut Vec<ConfigError>) {
    let src = &file.source;
    let mut seen = BTreeMap::new();
    for role in &file.roles {
        check_name(src, "role", &role.name, &mut seen, errors);
        let name = role.name.get_ref();
        if role.external {
            if let Some(first) = role.privileges.first() {
                errors.push(src.invalid(
                    &first.span(),
                    "role.privileges",
                    format!(
                        "role `{name}` is external (not managed by Warden), so it cannot declare \
                         privileges; remove `privileges` or `external`"
                    ),
                ));
            }
            continue;
        }
        if role.privileges.is_empty() {
            errors.push(src.invalid(
                &role.name.span(),
                "role.privileges",
                format!(
                    "role `{name}` has no privileges; list at least one (or set `external = true` \
                     for a role that exists in Jamf but is not managed here)"
                ),
            ));
        }
        let mut privileges = BTreeSet::new();
        for privilege in &role.privileges {
            let p = privilege.get_ref();
            if p.trim().is_empty() {
                errors.push(src.invalid(
                    &privilege.span(),
                    "role.privileges",
                    format!("role `{name}` lists an empty privilege; remove it"),
                ));
            } else if !privileges.insert(p.as_str()) {
                errors.push(src.invalid(
                    &privilege.span(),
                    "role.privileges",
                    format!("role `{name}` lists privilege `{p}` twice; remove one"),
                ));
            }
        }
    }
}

fn check_clients(file: &DesiredFile, errors: &mut Vec<ConfigError>) {
    let src = &file.source;
    let mut seen = BTreeMap::new();
    for client in &file.clients {
        check_name(src, "client", &client.name, &mut seen, errors);
        let name = client.name.get_ref();
        if client.roles.get_ref().is_empty() {
            errors.push(src.invalid(
                &client.roles.span(),
                "client.roles",
                format!("client `{name}` has no roles; give it at least one"),
            ));
        }
        let mut roles = BTreeSet::new();
        for role in client.roles.get_ref() {
            if !roles.insert(role.get_ref().as_str()) {
                errors.push(src.invalid(
                    &role.span(),
                    "client.roles",
                    format!(
                        "client `{name}` lists role `{}` twice; remove one",
                        role.get_ref()
                    ),
                ));
            }
        }
        if let Some(lifetime) = &client.token_lifetime
            && !(1..=i64::from(defaults::TOKEN_LIFETIME_MAX_SECS)).contains(lifetime.get_ref())
        {
            errors.push(src.invalid(
                &lifetime.span(),
                "client.token_lifetime",
                format!(
                    "{} is out of range; use a number of seconds from 1 to {} (default 300)",
                    lifetime.get_ref(),
                    defaults::TOKEN_LIFETIME_MAX_SECS
                ),
            ));
        }
        for (field, value) in [
            ("client.owner", &client.owner),
            ("client.purpose", &client.purpose),
        ] {
            if value.get_ref().trim().is_empty() {
                errors.push(src.invalid(
                    &value.span(),
                    field,
                    format!("client `{name}` needs a non-empty value here for security reviews"),
                ));
            }
        }
        match &client.vault_path {
            Some(path) => {
                if let Err(message) = check_vault_path(path.get_ref()) {
                    errors.push(src.invalid(&path.span(), "client.vault_path", message));
                }
            }
            None if !name.trim().is_empty() && slug(name).is_empty() => {
                errors.push(src.invalid(
                    &client.name.span(),
                    "client.vault_path",
                    format!(
                        "cannot derive a Vault path from client name `{name}`; set `vault_path`"
                    ),
                ));
            }
            None => {}
        }
        if let Some(schedule) = &client.rotation.schedule
            && let Err(e) = Schedule::parse(schedule.get_ref(), None)
        {
            errors.push(src.invalid(&schedule.span(), "client.rotation.schedule", e.to_string()));
        }
        if let Some(max_age) = &client.rotation.max_age {
            let range = Duration::from_secs(defaults::MAX_AGE_MIN_SECS)
                ..=Duration::from_secs(defaults::MAX_AGE_MAX_SECS);
            match parse_duration(max_age.get_ref()) {
                Ok(d) if d.is_zero() => errors.push(src.invalid(
                    &max_age.span(),
                    "client.rotation.max_age",
                    "max_age must be longer than zero; remove it to rotate on schedule only",
                )),
                Ok(d) => {
                    if let Err(message) = check_duration_range(d, &range) {
                        errors.push(src.invalid(
                            &max_age.span(),
                            "client.rotation.max_age",
                            message,
                        ));
                    }
                }
                Err(message) => {
                    errors.push(src.invalid(&max_age.span(), "client.rotation.max_age", message))
                }
            }
        }
    }
}
