//! Merging an instance's desired files, in order, into one [`DesiredState`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::file::{DesiredFile, RawClient};
use super::{ClientRotation, DesiredClient, DesiredRole, DesiredState};
use crate::config::errors::{ConfigError, Location, Source};
use crate::schedule::Schedule;

/// What the merge needs to know about the instance.
pub(crate) struct MergeContext<'a> {
    /// Instance name, for messages and default Vault paths.
    pub(crate) instance: &'a str,
    /// The instance's (valid) time zone for client schedules.
    pub(crate) timezone: Option<&'a str>,
}

/// A merged object and where its winning definition is.
struct Entry<'f, T> {
    value: T,
    loc: Location,
    source: &'f Source,
    /// `source.path`, shared by every object of the file.
    path: Arc<Path>,
}

/// Merges `files` in order. Pushes every cross-file problem onto `errors` and returns the merged
/// state plus, for each client, where it is defined (for cross-instance checks).
pub(crate) fn merge(
    ctx: &MergeContext<'_>,
    files: &[&DesiredFile],
    errors: &mut Vec<ConfigError>,
) -> (DesiredState, Vec<Location>) {
    let mut roles: Vec<Entry<'_, DesiredRole>> = Vec::new();
    let mut role_index = BTreeMap::new();
    let mut clients: Vec<Entry<'_, &RawClient>> = Vec::new();
    let mut client_index = BTreeMap::new();
    for file in files {
        let source = &file.source;
        let path: Arc<Path> = Arc::from(source.path.as_path());
        for raw in &file.roles {
            let role = DesiredRole {
                name: raw.name.get_ref().clone(),
                privileges: raw.privileges.iter().map(|p| p.get_ref().clone()).collect(),
                description: raw.description.clone(),
                external: raw.external,
                source: Arc::clone(&path),
            };
            let entry = Entry {
                value: role,
                loc: source.loc(&raw.name.span()),
                source,
                path: Arc::clone(&path),
            };
            place(
                ctx,
                "role",
                &mut roles,
                &mut role_index,
                raw.name.get_ref(),
                entry,
                raw.override_,
                errors,
            );
        }
        for raw in &file.clients {
            let entry = Entry {
                value: raw,
                loc: source.loc(&raw.name.span()),
                source,
                path: Arc::clone(&path),
            };
            place(
                ctx,
                "client",
                &mut clients,
                &mut client_index,
                raw.name.get_ref(),
                entry,
                raw.override_,
                errors,
            );
        }
    }
    case_collisions(
        ctx,
        "role",
        roles.iter().map(|e| (e.value.name.as_str(), &e.loc)),
        errors,
    );
    case_collisions(
        ctx,
        "client",
        clients
            .iter()
            .map(|e| (e.value.name.get_ref().as_str(), &e.loc)),
        errors,
    );

    let mut state = DesiredState::default();
    let mut client_locations = Vec::new();
    for entry in &clients {
        check_role_refs(ctx, entry, &role_index, errors);
        state.clients.push(effective_client(ctx, entry));
        client_locations.push(entry.loc.clone());
    }
    // Collected in place, the roles would keep the bigger allocation of their entries; a fleet
    // holds a merged state per instance for as long as the daemon runs.
    state.roles = roles.into_iter().map(|e| e.value).collect();
    state.roles.shrink_to_fit();
    state.clients.shrink_to_fit();
    (state, client_locations)
}

/// Adds `entry` under `name`, or replaces the earlier definition if `override_` is set.
#[allow(clippy::too_many_arguments)]
fn place<'f, T>(
    ctx: &MergeContext<'_>,
    kind: &str,
    entries: &mut Vec<Entry<'f, T>>,
    index: &mut BTreeMap<String, usize>,
    name: &str,
    entry: Entry<'f, T>,
    override_: bool,
    errors: &mut Vec<ConfigError>,
) {
    let instance = ctx.instance;
    match index.get(name).copied() {
        // A duplicate inside one file was reported when the file was checked.
        Some(i) if entries[i].loc.file == entry.loc.file => {}
        Some(i) if override_ => entries[i] = entry,
        Some(i) => errors.push(ConfigError::Invalid {
            field: format!("{kind}.name"),
            message: format!(
                "instance `{instance}`: {kind} `{name}` is already defined at {}; set \
                 `override = true` here to replace that definition, or rename one",
                entries[i].loc
            ),
            location: entry.loc,
        }),
        None => {
            if override_ {
                errors.push(ConfigError::Invalid {
                    location: entry.loc.clone(),
                    field: "override".into(),
                    message: format!(
                        "instance `{instance}`: `override = true`, but no earlier desired file of \
                         this instance defines {kind} `{name}`; remove `override`"
                    ),
                });
            }
            index.insert(name.to_owned(), entries.len());
            entries.push(entry);
        }
    }
}

/// Flags names that differ only by case: Jamf would treat them as the same object.
fn case_collisions<'a>(
    ctx: &MergeContext<'_>,
    kind: &str,
    names: impl Iterator<Item = (&'a str, &'a Location)>,
    errors: &mut Vec<ConfigError>,
) {
    let mut seen: BTreeMap<String, (&str, &Location)> = BTreeMap::new();
    for (name, loc) in names {
        match seen.get(&name.to_lowercase()) {
            Some((other, other_loc)) => errors.push(ConfigError::Invalid {
                location: loc.clone(),
                field: format!("{kind}.name"),
                message: format!(
                    "instance `{}`: {kind} `{name}` and {kind} `{other}` (at {other_loc}) differ \
                     only by case, and Jamf compares names case-insensitively; rename one",
                    ctx.instance
                ),
            }),
            None => {
                seen.insert(name.to_lowercase(), (name, loc));
            }
        }
    }
}

/// Every role a client references must be defined (or declared external) in the merged state.
fn check_role_refs(
    ctx: &MergeContext<'_>,
    entry: &Entry<'_, &RawClient>,
    role_index: &BTreeMap<String, usize>,
    errors: &mut Vec<ConfigError>,
) {
    let client = entry.value.name.get_ref();
    for role in entry.value.roles.get_ref() {
        let name = role.get_ref();
        if role_index.contains_key(name) {
            continue;
        }
        let hint = role_index
            .keys()
            .find(|known| known.eq_ignore_ascii_case(name))
            .map(|known| format!(" (did you mean `{known}`?)"))
            .unwrap_or_default();
        errors.push(entry.source.invalid(
            &role.span(),
            "client.roles",
            format!(
                "instance `{}`: client `{client}` references role `{name}`{hint}, which no desired \
                 file of this instance defines; define it, or add a `[[role]]` with \
                 `external = true` if it exists in Jamf but is not managed here",
                ctx.instance
            ),
        ));
    }
}

/// The effective client: defaults filled in for this instance.
fn effective_client(ctx: &MergeContext<'_>, entry: &Entry<'_, &RawClient>) -> DesiredClient {
    let raw = entry.value;
    let name = raw.name.get_ref().clone();
    // Nothing here depends on the instance but the time zone of a written schedule: the
    // default Vault path and schedule are the instance's, filled in where they are used.
    let vault_path = raw.vault_path.as_ref().map(|p| p.get_ref().clone());
    // A schedule that failed to parse was reported with its file; the instance's applies.
    let schedule = raw
        .rotation
        .schedule
        .as_ref()
        .and_then(|s| Schedule::parse(s.get_ref(), ctx.timezone).ok());
    let max_age = raw
        .rotation
        .max_age
        .as_ref()
        .and_then(|d| crate::config::values::parse_duration(d.get_ref()).ok());
    DesiredClient {
        name,
        roles: raw
            .roles
            .get_ref()
            .iter()
            .map(|r| r.get_ref().clone())
            .collect(),
        enabled: raw.enabled.unwrap_or(true),
        token_lifetime: raw
            .token_lifetime
            .as_ref()
            .and_then(|t| u32::try_from(*t.get_ref()).ok())
            .unwrap_or(crate::config::defaults::TOKEN_LIFETIME_SECS),
        owner: raw.owner.get_ref().trim().to_owned(),
        purpose: raw.purpose.get_ref().trim().to_owned(),
        vault_path,
        rotation: ClientRotation {
            schedule,
            max_age,
            strategy: raw.rotation.strategy.unwrap_or_default(),
            adopt: raw.rotation.adopt.unwrap_or_default(),
        },
        source: Arc::clone(&entry.path),
    }
}
