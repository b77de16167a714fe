//! Warden's own objects in Jamf Pro: the management role and client that `wardenctl bootstrap`
//! creates, and the rule that keeps them (and the `(alternate)` twins of alternating clients)
//! out of drift, plans and pruning. The one definition of this policy: the daemon's bootstrap,
//! rotation and drift checks, the audit and `wardenctl` all take it from here.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::{ClientRotation, DesiredClient, DesiredState, RotationStrategy};
use crate::jamf::{ApiIntegration, ApiRole};
use crate::rotation::alternate_name;

/// Display name of Warden's own management role and of its management client.
pub const MANAGEMENT_NAME: &str = "Jamf Warden";

/// The least privileges Warden needs to manage API roles and clients and rotate their secrets
/// (`shared/jamf/API-NOTES.md` §8). With them the client can grant itself any privilege.
pub const MANAGEMENT_PRIVILEGES: [&str; 8] = [
    "Read API Roles",
    "Create API Roles",
    "Update API Roles",
    "Delete API Roles",
    "Read API Integrations",
    "Create API Integrations",
    "Update API Integrations",
    "Delete API Integrations",
];

/// Token lifetime of the management client, in seconds (Jamf's default).
pub const MANAGEMENT_TOKEN_LIFETIME: u32 = 300;

/// The management client as a rotation target: [`MANAGEMENT_NAME`] holding only the role of the
/// same name, enabled, [`MANAGEMENT_TOKEN_LIFETIME`], rotated alone (not alternating) on the
/// instance's schedule, its secret at `vault_path` (the instance's `credentials`).
pub fn management_client(vault_path: &str) -> DesiredClient {
    DesiredClient {
        name: MANAGEMENT_NAME.into(),
        roles: vec![MANAGEMENT_NAME.into()],
        enabled: true,
        token_lifetime: MANAGEMENT_TOKEN_LIFETIME,
        owner: "jamf-warden".into(),
        purpose: "Jamf Warden's own management client".into(),
        vault_path: Some(vault_path.to_owned()),
        rotation: ClientRotation {
            schedule: None,
            max_age: None,
            strategy: RotationStrategy::Single,
            adopt: crate::config::AdoptPolicy::Rotate,
        },
        source: Path::new("").into(),
    }
}

/// Removes from the live `roles` and `clients` what Warden keeps for itself, and returns the
/// names it removed. Those are neither drift nor, with prune, something to delete:
///
/// - the role [`MANAGEMENT_NAME`], unless `desired` declares a role of that name;
/// - unless `desired` declares a client [`MANAGEMENT_NAME`]: that client, and the roles it holds
///   that `desired` does not declare (Jamf refuses to delete a role in use, which would fail
///   every apply);
/// - the `(alternate)` twin ([`alternate_name`]) of every declared alternating client.
///
/// Everything else keeps its order. O(n log n) in the sizes of the lists (live lists may be as
/// long as `instance.max_list_objects`).
pub fn split_warden_owned(
    desired: &DesiredState,
    roles: &mut Vec<ApiRole>,
    clients: &mut Vec<ApiIntegration>,
) -> BTreeSet<String> {
    let declared_roles: BTreeSet<&str> = desired.roles.iter().map(|r| r.name.as_str()).collect();
    let client_declared = desired.clients.iter().any(|c| c.name == MANAGEMENT_NAME);
    let mut dropped_roles: BTreeSet<String> = BTreeSet::new();
    if !declared_roles.contains(MANAGEMENT_NAME) {
        dropped_roles.insert(MANAGEMENT_NAME.to_owned());
    }
    let mut dropped_clients: BTreeSet<String> = desired
        .clients
        .iter()
        .filter(|c| c.rotation.strategy == RotationStrategy::Alternating)
        .map(|c| alternate_name(&c.name))
        .collect();
    if !client_declared {
        dropped_clients.insert(MANAGEMENT_NAME.to_owned());
        dropped_roles.extend(
            clients
                .iter()
                .filter(|c| c.display_name == MANAGEMENT_NAME)
                .flat_map(|c| c.authorization_scopes.iter())
                .filter(|role| !declared_roles.contains(role.as_str()))
                .cloned(),
        );
    }
    let mut owned = BTreeSet::new();
    roles.retain(|r| {
        let drop = dropped_roles.contains(&r.display_name);
        if drop {
            owned.insert(r.display_name.clone());
        }
        !drop
    });
    clients.retain(|c| {
        let drop = dropped_clients.contains(&c.display_name);
        if drop {
            owned.insert(c.display_name.clone());
        }
        !drop
    });
    owned
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::DesiredRole;
    use crate::jamf::AppType;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn d_role(name: &str) -> DesiredRole {
        DesiredRole {
            name: name.into(),
            privileges: strings(&["Read Computers"]),
            description: None,
            external: false,
            source: Path::new("").into(),
        }
    }

    fn d_client(name: &str, roles: &[&str], strategy: RotationStrategy) -> DesiredClient {
        DesiredClient {
            name: name.into(),
            roles: strings(roles),
            enabled: true,
            token_lifetime: 300,
            owner: "it@example.com".into(),
            purpose: "tests".into(),
            vault_path: None,
            rotation: ClientRotation {
                schedule: None,
                max_age: None,
                strategy,
                adopt: crate::config::AdoptPolicy::Rotate,
            },
            source: Path::new("").into(),
        }
    }

    fn l_role(name: &str) -> ApiRole {
        ApiRole {
            id: name.len().to_string(),
            display_name: name.into(),
            privileges: strings(&["Read Computers"]),
        }
    }

    fn l_client(name: &str, roles: &[&str]) -> ApiIntegration {
        ApiIntegration {
            id: 1,
            authorization_scopes: strings(roles),
            display_name: name.into(),
            enabled: true,
            access_token_lifetime_seconds: Some(300),
            app_type: AppType::ClientCredentials,
            client_id: format!("uuid-{name}"),
        }
    }

    fn names<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
        names.into_iter().map(String::as_str).collect()
    }

    /// The live state of an instance after bootstrap: Warden's role and client, an extra role
    /// only Warden's client holds, a role it shares with a declared client, and two clients.
    fn live() -> (Vec<ApiRole>, Vec<ApiIntegration>) {
        let roles = vec![
            l_role("Inventory Read"),
            l_role(MANAGEMENT_NAME),
            l_role("Warden Extra"),
            l_role("Shared"),
            l_role("Stray"),
        ];
        let clients = vec![
            l_client("Sync", &["Inventory Read", "Shared"]),
            l_client(
                MANAGEMENT_NAME,
                &[MANAGEMENT_NAME, "Warden Extra", "Shared"],
            ),
            l_client("Stray Client", &["Stray"]),
        ];
        (roles, clients)
    }

    #[test]
    fn undeclared_management_client_and_its_undeclared_roles_are_warden_owned() {
        let desired = DesiredState {
            roles: vec![d_role("Inventory Read"), d_role("Shared")],
            clients: vec![d_client(
                "Sync",
                &["Inventory Read", "Shared"],
                RotationStrategy::Single,
            )],
        };
        let (mut roles, mut clients) = live();
        let owned = split_warden_owned(&desired, &mut roles, &mut clients);
        assert_eq!(
            names(roles.iter().map(|r| &r.display_name)),
            ["Inventory Read", "Shared", "Stray"],
            "a declared role the management client holds stays; an undeclared one of another \
             client is unmanaged drift, not Warden's"
        );
        assert_eq!(
            names(clients.iter().map(|c| &c.display_name)),
            ["Sync", "Stray Client"]
        );
        assert_eq!(names(&owned), [MANAGEMENT_NAME, "Warden Extra"]);
    }

    #[test]
    fn a_declared_management_role_is_kept() {
        let desired = DesiredState {
            roles: vec![d_role(MANAGEMENT_NAME)],
            clients: vec![],
        };
        let (mut roles, mut clients) = live();
        let owned = split_warden_owned(&desired, &mut roles, &mut clients);
        assert!(roles.iter().any(|r| r.display_name == MANAGEMENT_NAME));
        assert!(!clients.iter().any(|c| c.display_name == MANAGEMENT_NAME));
        assert_eq!(names(&owned), [MANAGEMENT_NAME, "Shared", "Warden Extra"]);
    }

    #[test]
    fn a_declared_management_client_keeps_its_roles_but_not_an_undeclared_management_role() {
        let desired = DesiredState {
            roles: vec![],
            clients: vec![d_client(
                MANAGEMENT_NAME,
                &[MANAGEMENT_NAME],
                RotationStrategy::Single,
            )],
        };
        let (mut roles, mut clients) = live();
        let owned = split_warden_owned(&desired, &mut roles, &mut clients);
        assert_eq!(
            names(roles.iter().map(|r| &r.display_name)),
            ["Inventory Read", "Warden Extra", "Shared", "Stray"]
        );
        assert_eq!(clients.len(), 3);
        assert_eq!(names(&owned), [MANAGEMENT_NAME]);
    }

    #[test]
    fn twins_are_dropped_only_for_alternating_clients() {
        let desired = DesiredState {
            roles: vec![d_role("Inventory Read")],
            clients: vec![
                d_client("Sync", &["Inventory Read"], RotationStrategy::Alternating),
                d_client("Export", &["Inventory Read"], RotationStrategy::Single),
            ],
        };
        let mut roles = vec![l_role("Inventory Read")];
        let mut clients = vec![
            l_client("Sync", &["Inventory Read"]),
            l_client(&alternate_name("Sync"), &["Inventory Read"]),
            l_client("Export", &["Inventory Read"]),
            l_client(&alternate_name("Export"), &["Inventory Read"]),
        ];
        let owned = split_warden_owned(&desired, &mut roles, &mut clients);
        assert_eq!(
            names(clients.iter().map(|c| &c.display_name)),
            ["Sync", "Export", "Export (alternate)"]
        );
        assert_eq!(roles.len(), 1);
        assert_eq!(names(&owned), ["Sync (alternate)"]);
    }

    #[test]
    fn nothing_of_warden_live_leaves_everything_in_place() {
        let desired = DesiredState::default();
        let mut roles = vec![l_role("A"), l_role("B")];
        let mut clients = vec![l_client("C", &["A"])];
        let owned = split_warden_owned(&desired, &mut roles, &mut clients);
        assert!(owned.is_empty());
        assert_eq!((roles.len(), clients.len()), (2, 1));
    }

    #[test]
    fn the_management_client_holds_exactly_its_role() {
        let client = management_client("instances/prod/management");
        assert_eq!(client.name, MANAGEMENT_NAME);
        assert_eq!(client.roles, [MANAGEMENT_NAME]);
        assert_eq!(client.token_lifetime, MANAGEMENT_TOKEN_LIFETIME);
        assert_eq!(
            client.vault_path_in("prod"),
            "instances/prod/management",
            "its secret is at the instance's credentials path, not a default client path"
        );
        assert_eq!(client.rotation.strategy, RotationStrategy::Single);
        assert_eq!(MANAGEMENT_PRIVILEGES.len(), 8);
    }
}
