//! Which live object each declared role and client manages.
//!
//! Exactly the one with its name, else a rename: the only live object whose name differs from
//! the declared one in case alone, that no declared object names exactly and no other declared
//! object claimed first. Whether Jamf's name uniqueness ignores case is unknown (API-NOTES
//! §11): updating the object in place (its id kept, its display name corrected) works either
//! way, where creating a second object next to it might be refused as a duplicate, and keeps
//! the clients that hold a renamed role working.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Live, is_foreign_client};
use crate::config::DesiredState;
use crate::jamf::{ApiIntegration, ApiRole};

/// Renames by case: declared name → the live name it manages.
///
/// Also the hash indexes every lookup on live data goes through (live name → position, live
/// name → declared name of its rename), so that matching a desired state against a live state
/// of `n` objects costs O(n), not O(n × declared): live lists come from Jamf and may be as long
/// as `instance.max_list_objects`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Renames {
    /// Roles, declared name → live name.
    pub roles: BTreeMap<String, String>,
    /// Clients, declared name → live name.
    pub clients: BTreeMap<String, String>,
    live_roles: HashMap<String, usize>,
    live_clients: HashMap<String, usize>,
    /// Lengths of the live lists indexed (to notice a different `Live`).
    indexed: (usize, usize),
    role_from: HashMap<String, String>,
    client_from: HashMap<String, String>,
    declared_roles: HashSet<String>,
    declared_clients: HashSet<String>,
}

/// Name → position of its first object.
fn index<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, name) in names.enumerate() {
        out.entry(name.to_owned()).or_insert(i);
    }
    out
}

fn reverse(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter()
        .map(|(new, old)| (old.clone(), new.clone()))
        .collect()
}

impl Renames {
    /// Finds the renames of `desired` in `live`.
    pub fn find(desired: &DesiredState, live: &Live) -> Renames {
        let declared_roles: HashSet<String> =
            desired.roles.iter().map(|r| r.name.clone()).collect();
        let declared_clients: HashSet<String> =
            desired.clients.iter().map(|c| c.name.clone()).collect();
        let foreign = live.foreign_roles(|n| declared_roles.contains(n));
        let live_roles = index(live.roles.iter().map(|r| r.display_name.as_str()));
        let live_clients = index(live.clients.iter().map(|c| c.display_name.as_str()));
        let roles = pair(
            desired
                .roles
                .iter()
                .map(|r| r.name.as_str())
                .filter(|n| !live_roles.contains_key(*n)),
            live.roles
                .iter()
                .map(|r| r.display_name.as_str())
                .filter(|n| !declared_roles.contains(*n) && !foreign.contains(*n)),
        );
        let clients = pair(
            desired
                .clients
                .iter()
                .map(|c| c.name.as_str())
                .filter(|n| !live_clients.contains_key(*n)),
            live.clients
                .iter()
                .filter(|c| !is_foreign_client(c))
                .map(|c| c.display_name.as_str())
                .filter(|n| !declared_clients.contains(*n)),
        );
        Renames {
            role_from: reverse(&roles),
            client_from: reverse(&clients),
            roles,
            clients,
            live_roles,
            live_clients,
            indexed: (live.roles.len(), live.clients.len()),
            declared_roles,
            declared_clients,
        }
    }

    /// Whether the desired state declares a role called exactly `name` (a hash lookup).
    pub fn declares_role(&self, name: &str) -> bool {
        self.declared_roles.contains(name)
    }

    /// Whether the desired state declares a client called exactly `name` (a hash lookup).
    pub fn declares_client(&self, name: &str) -> bool {
        self.declared_clients.contains(name)
    }

    /// The live role called `name`, through the index (checked against `live`, falling back
    /// to a scan if `live` is not the state these renames were found in).
    fn live_role<'l>(&self, live: &'l Live, name: &str) -> Option<&'l ApiRole> {
        match self.live_roles.get(name).and_then(|i| live.roles.get(*i)) {
            Some(r) if r.display_name == name => Some(r),
            _ if self.indexed.0 == live.roles.len() => None,
            _ => live.role(name),
        }
    }

    fn live_client<'l>(&self, live: &'l Live, name: &str) -> Option<&'l ApiIntegration> {
        match self
            .live_clients
            .get(name)
            .and_then(|i| live.clients.get(*i))
        {
            Some(c) if c.display_name == name => Some(c),
            _ if self.indexed.1 == live.clients.len() => None,
            _ => live.client(name),
        }
    }

    /// The live role that declared role `name` manages, and whether it is a rename.
    pub fn role<'l>(&self, live: &'l Live, name: &str) -> Option<(&'l ApiRole, bool)> {
        match self.roles.get(name) {
            Some(old) => self.live_role(live, old).map(|r| (r, true)),
            None => self.live_role(live, name).map(|r| (r, false)),
        }
    }

    /// The live client that declared client `name` manages, and whether it is a rename.
    pub fn client<'l>(&self, live: &'l Live, name: &str) -> Option<(&'l ApiIntegration, bool)> {
        match self.clients.get(name) {
            Some(old) => self.live_client(live, old).map(|c| (c, true)),
            None => self.live_client(live, name).map(|c| (c, false)),
        }
    }

    /// Whether live role `name` is renamed by a declared role.
    pub fn renames_role(&self, name: &str) -> bool {
        self.role_from.contains_key(name)
    }

    /// Whether live client `name` is renamed by a declared client.
    pub fn renames_client(&self, name: &str) -> bool {
        self.client_renamed_from(name).is_some()
    }

    /// The declared name of the client that renames live client `name`.
    pub fn client_renamed_from(&self, name: &str) -> Option<&str> {
        self.client_from.get(name).map(String::as_str)
    }

    /// A live client's role names as they will read once the renamed roles carry their
    /// declared names (Jamf renders a client's scopes from its roles' current names).
    pub fn scopes<'a>(&'a self, client: &'a ApiIntegration) -> BTreeSet<&'a str> {
        client
            .authorization_scopes
            .iter()
            .map(|scope| {
                self.role_from
                    .get(scope)
                    .map_or(scope.as_str(), String::as_str)
            })
            .collect()
    }
}

/// `declared` names (none of them live), each paired with the one unclaimed candidate that
/// equals it ignoring case; `candidates` are the live names no declared object names exactly.
/// One pass over the candidates (grouped by their lowercase form), not one per declared name.
fn pair<'a>(
    declared: impl Iterator<Item = &'a str>,
    candidates: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, String> {
    let declared: Vec<&str> = declared.collect();
    let mut out = BTreeMap::new();
    if declared.is_empty() {
        return out;
    }
    let mut by_fold: HashMap<String, Vec<&str>> = HashMap::new();
    for c in candidates {
        by_fold.entry(c.to_lowercase()).or_default().push(c);
    }
    let mut claimed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for name in declared {
        let Some(group) = by_fold.get(&name.to_lowercase()) else {
            continue;
        };
        let mut found = group.iter().filter(|c| !claimed.contains(**c));
        if let (Some(one), None) = (found.next(), found.next()) {
            claimed.insert(one);
            out.insert(name.to_owned(), (*one).to_owned());
        }
    }
    out
}
