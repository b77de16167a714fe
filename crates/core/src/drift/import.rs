//! `import`: the live roles and clients of an instance as a desired-state file.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Live, is_foreign_client, lifetime};

#[derive(Serialize)]
struct File {
    version: i64,
    role: Vec<Role>,
    client: Vec<Client>,
}

#[derive(Serialize)]
struct Role {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    privileges: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external: bool,
}

#[derive(Serialize)]
struct Client {
    name: String,
    roles: Vec<String>,
    enabled: bool,
    token_lifetime: i64,
    owner: String,
    purpose: String,
    rotation: Rotation,
}

/// `[client.rotation]` of an imported client: `adopt = "hold"`, so that loading the file
/// changes nothing (its consumers hold a secret Warden never saw).
#[derive(Serialize)]
struct Rotation {
    adopt: crate::config::AdoptPolicy,
}

/// Placeholder for the required `owner` of an imported client.
pub const OWNER_PLACEHOLDER: &str = "TODO: owner";
/// Placeholder for the required `purpose` of an imported client.
pub const PURPOSE_PLACEHOLDER: &str = "TODO: purpose";

/// The live state of `instance` as a desired-state TOML file that shows no drift against the
/// same live state (apart from secrets Warden has not rotated yet).
///
/// Foreign clients (`NATIVE_APP_OAUTH`) are left out. Foreign roles (Jamf app roles) are left
/// out unless an imported client uses one; it is then declared `external = true`, as is a role
/// without privileges (a managed role needs at least one). `owner` and `purpose` are required
/// by the schema and Jamf does not know them, so they are placeholders to fill in.
pub fn import(live: &Live, instance: &str) -> String {
    let foreign = live.foreign_roles(|_| false);
    // a desired client needs at least one role; Jamf allows none (such a client cannot get a
    // token), so those are listed in the header instead
    let roleless: Vec<&str> = live
        .clients
        .iter()
        .filter(|c| !is_foreign_client(c) && c.authorization_scopes.is_empty())
        .map(|c| c.display_name.as_str())
        .collect();
    let clients: Vec<Client> = live
        .clients
        .iter()
        .filter(|c| !is_foreign_client(c) && !c.authorization_scopes.is_empty())
        .map(|c| Client {
            name: c.display_name.clone(),
            roles: c.authorization_scopes.clone(),
            enabled: c.enabled,
            token_lifetime: lifetime(c),
            owner: OWNER_PLACEHOLDER.to_owned(),
            purpose: PURPOSE_PLACEHOLDER.to_owned(),
            rotation: Rotation {
                adopt: crate::config::AdoptPolicy::Hold,
            },
        })
        .collect();
    let used: BTreeSet<&str> = clients
        .iter()
        .flat_map(|c| c.roles.iter().map(String::as_str))
        .collect();
    let role = live
        .roles
        .iter()
        .filter(|r| !foreign.contains(&r.display_name) || used.contains(r.display_name.as_str()))
        .map(|r| {
            let external = foreign.contains(&r.display_name) || r.privileges.is_empty();
            let privileges: Vec<String> = if external {
                Vec::new()
            } else {
                r.privilege_set().into_iter().map(str::to_owned).collect()
            };
            Role {
                name: r.display_name.clone(),
                privileges,
                external,
            }
        })
        .collect();
    let file = File {
        version: crate::config::CONFIG_VERSION,
        role,
        client: clients,
    };
    let mut header = format!(
        "# Desired state of instance `{instance}`, imported from Jamf by `wardenctl import`.\n\
         # `owner` and `purpose` are required for every client and unknown to Jamf: replace the\n\
         # \"{OWNER_PLACEHOLDER}\" and \"{PURPOSE_PLACEHOLDER}\" placeholders before use.\n\
         # Jamf app roles used by these clients are declared `external = true` (not managed);\n\
         # NATIVE_APP_OAUTH clients are left out.\n\
         # Every client is `adopt = \"hold\"`: Warden does not rotate it (its consumers hold a\n\
         # secret Warden never saw) until `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME`.\n"
    );
    for name in roleless {
        header.push_str(&format!(
            "# Left out: client {name:?} has no role in Jamf; declare it with a role to manage it.\n"
        ));
    }
    header.push('\n');
    match toml::to_string_pretty(&file) {
        Ok(body) => header + &body,
        Err(e) => format!("# cannot render the imported state: {e}\n"),
    }
}
