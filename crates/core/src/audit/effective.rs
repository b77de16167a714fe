//! A live client's or role's privileges as the audit sees them: the union over roles (looked up
//! through one index per evaluation, so the audit stays linear in what Jamf sends), who holds
//! each role, and the privileges grouped by the risk catalogue's categories. Pure set work;
//! the rules that turn it into findings are in `rules.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::catalogue::{Class, RiskCatalogue};
use super::model::{Category, Name};
use crate::drift::Live;
use crate::jamf::ApiRole;

/// Role name → names of the clients holding it.
pub(super) fn role_holders(live: &Live) -> BTreeMap<&str, Vec<String>> {
    let mut map: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for client in &live.clients {
        for role in &client.authorization_scopes {
            map.entry(role.as_str())
                .or_default()
                .push(client.display_name.clone());
        }
    }
    map
}

/// The union of the privileges of `roles` (unknown role names contribute nothing).
pub fn effective_privileges<'a>(live: &'a Live, roles: &[String]) -> BTreeSet<&'a str> {
    privileges_of(&role_index(live), roles)
}

/// Live roles by name (a name may repeat), built once per evaluation: looking each client's
/// roles up in it keeps the audit linear in the live state, which Jamf controls.
pub(super) fn role_index(live: &Live) -> HashMap<&str, Vec<&ApiRole>> {
    let mut map: HashMap<&str, Vec<&ApiRole>> = HashMap::new();
    for r in &live.roles {
        map.entry(r.display_name.as_str()).or_default().push(r);
    }
    map
}

pub(super) fn privileges_of<'a>(
    index: &HashMap<&str, Vec<&'a ApiRole>>,
    roles: &[String],
) -> BTreeSet<&'a str> {
    let wanted: std::collections::HashSet<&str> = roles.iter().map(String::as_str).collect();
    wanted
        .into_iter()
        .filter_map(|name| index.get(name))
        .flatten()
        .flat_map(|r| r.privileges.iter().map(String::as_str))
        .collect()
}

pub(super) fn by_category(
    privileges: &BTreeSet<&str>,
    catalogue: &RiskCatalogue,
) -> Vec<(Category, Vec<Name>)> {
    let mut map: BTreeMap<Category, Vec<Name>> = BTreeMap::new();
    for p in privileges {
        if let Class::Risky(category, _) = catalogue.class(p) {
            map.entry(category).or_default().push(catalogue.name(p));
        }
    }
    map.into_iter().collect()
}

pub(super) fn unclassified(privileges: &BTreeSet<&str>, catalogue: &RiskCatalogue) -> Vec<String> {
    privileges
        .iter()
        .filter(|p| catalogue.class(p) == Class::Unclassified)
        .map(|p| (*p).to_owned())
        .collect()
}
