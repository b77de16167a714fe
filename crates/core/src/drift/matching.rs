//! Which live object each declared role and client manages.
//!
//! Exactly the one with its name, else a rename: the only live object whose name differs from
//! the declared one in case alone, that no declared object names exactly and no other declared
//! object claimed first. Whether Jamf's name uniqueness ignores case is unknown (API-NOTES
//! §11): updating the object in place (its id kept, its display name corrected) works either
//! way, where creating a second object next to it might be refused as a duplicate, and keeps
//! the clients that hold a renamed role working.

use std::collections::{BTreeMap, BTreeSet};

use super::{Live, is_foreign_client};
use crate::config::DesiredState;
use crate::jamf::{ApiIntegration, ApiRole};

/// Renames by case: declared name → the live name it manages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Renames {
    /// Roles, declared name → live name.
    pub roles: BTreeMap<String, String>,
    /// Clients, declared name → live name.
    pub clients: BTreeMap<String, String>,
}

impl Renames {
    /// Finds the renames of `desired` in `live`.
    pub fn find(desired: &DesiredState, live: &Live) -> Renames {
        let foreign = live.foreign_roles(|n| desired.role(n).is_some());
        let roles = pair(
            desired
                .roles
                .iter()
                .map(|r| r.name.as_str())
                .filter(|n| live.role(n).is_none()),
            live.roles
                .iter()
                .map(|r| r.display_name.as_str())
                .filter(|n| desired.role(n).is_none() && !foreign.contains(*n)),
        );
        let clients = pair(
            desired
                .clients
                .iter()
                .map(|c| c.name.as_str())
                .filter(|n| live.client(n).is_none()),
            live.clients
                .iter()
                .filter(|c| !is_foreign_client(c))
                .map(|c| c.display_name.as_str())
                .filter(|n| desired.client(n).is_none()),
        );
        Renames { roles, clients }
    }

    /// The live role that declared role `name` manages, and whether it is a rename.
    pub fn role<'l>(&self, live: &'l Live, name: &str) -> Option<(&'l ApiRole, bool)> {
        match self.roles.get(name) {
            Some(old) => live.role(old).map(|r| (r, true)),
            None => live.role(name).map(|r| (r, false)),
        }
    }

    /// The live client that declared client `name` manages, and whether it is a rename.
    pub fn client<'l>(&self, live: &'l Live, name: &str) -> Option<(&'l ApiIntegration, bool)> {
        match self.clients.get(name) {
            Some(old) => live.client(old).map(|c| (c, true)),
            None => live.client(name).map(|c| (c, false)),
        }
    }

    /// Whether live role `name` is renamed by a declared role.
    pub fn renames_role(&self, name: &str) -> bool {
        self.roles.values().any(|old| old == name)
    }

    /// Whether live client `name` is renamed by a declared client.
    pub fn renames_client(&self, name: &str) -> bool {
        self.client_renamed_from(name).is_some()
    }

    /// The declared name of the client that renames live client `name`.
    pub fn client_renamed_from(&self, name: &str) -> Option<&str> {
        self.clients
            .iter()
            .find(|(_, old)| *old == name)
            .map(|(new, _)| new.as_str())
    }

    /// A live client's role names as they will read once the renamed roles carry their
    /// declared names (Jamf renders a client's scopes from its roles' current names).
    pub fn scopes<'a>(&'a self, client: &'a ApiIntegration) -> BTreeSet<&'a str> {
        client
            .authorization_scopes
            .iter()
            .map(|scope| {
                self.roles
                    .iter()
                    .find(|(_, old)| *old == scope)
                    .map_or(scope.as_str(), |(new, _)| new.as_str())
            })
            .collect()
    }
}

/// `declared` names (none of them live), each paired with the one unclaimed candidate that
/// equals it ignoring case; `candidates` are the live names no declared object names exactly.
fn pair<'a>(
    declared: impl Iterator<Item = &'a str>,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    for name in declared {
        let folded = name.to_lowercase();
        let mut found = candidates
            .clone()
            .filter(|c| !claimed.contains(c) && c.to_lowercase() == folded);
        if let (Some(one), None) = (found.next(), found.next()) {
            claimed.insert(one);
            out.insert(name.to_owned(), one.to_owned());
        }
    }
    out
}
