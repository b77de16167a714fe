//! The ordered list of Jamf calls that brings the live state to the desired state.
//!
//! Order, shaped by Jamf's rules (API-NOTES §6.3):
//! 1. create roles (a new client's roles must exist first);
//! 2. update role privileges (effective at once, no rotation needed);
//! 3. create clients, each followed by a secret rotation if enabled (a new client has none);
//! 4. update clients, followed by a rotation when the roles changed (a scope change only takes
//!    effect with a new secret) or the client is enabled without a secret; disabling revokes the
//!    secret, which the step's note says;
//! 5. delete unmanaged clients (prune only);
//! 6. delete unmanaged roles (prune only), after every client that used them has been updated
//!    or deleted (409 otherwise); a role some remaining client still uses is kept.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Live, Renames, is_foreign_client, lifetime};
use crate::config::{DesiredClient, DesiredState};
use crate::jamf::{ApiIntegration, ApiIntegrationRequest, ApiRoleRequest, AppType, privilege_set};

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST /api/v1/api-roles`.
    CreateRole,
    /// `PUT /api/v1/api-roles/{id}`.
    UpdateRole,
    /// `POST /api/v1/api-integrations`.
    CreateClient,
    /// `PUT /api/v1/api-integrations/{id}`.
    UpdateClient,
    /// `POST /api/v1/api-integrations/{id}/client-credentials`, storing the secret in Vault.
    RotateSecret,
    /// `DELETE /api/v1/api-integrations/{id}`.
    DeleteClient,
    /// `DELETE /api/v1/api-roles/{id}`.
    DeleteRole,
}

/// A request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanBody {
    /// For role creates and updates.
    Role(ApiRoleRequest),
    /// For client creates and updates.
    Client(ApiIntegrationRequest),
}

/// One Jamf call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    /// What to do.
    pub action: Action,
    /// The role's or client's display name.
    pub name: String,
    /// The live id (role ids are strings of digits; client ids are rendered as strings), if the
    /// object exists already. A rotation after a create has none: use the created id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The request body, for creates and updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<PlanBody>,
    /// Why, or a consequence worth knowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For updates: the privileges (role) or roles (client) the step adds and removes, so a
    /// reviewer sees the change and not only the new full set. Absent for creates, deletes and
    /// rotations, and from daemons before it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<SetDiff>,
}

/// Members a step adds to and removes from a set (privileges of a role, roles of a client),
/// each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDiff {
    /// Members added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Members removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

impl SetDiff {
    /// `want` against `have`; `None` when they hold the same members.
    pub fn between<'a>(have: &BTreeSet<&'a str>, want: &BTreeSet<&'a str>) -> Option<SetDiff> {
        let diff = SetDiff {
            added: want.difference(have).map(|s| (*s).to_owned()).collect(),
            removed: have.difference(want).map(|s| (*s).to_owned()).collect(),
        };
        (!diff.added.is_empty() || !diff.removed.is_empty()).then_some(diff)
    }
}

/// The steps, in the order they must run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Steps in order.
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The plan that makes `live` match `desired`; `prune` adds deletions of unmanaged objects.
/// Foreign objects and external roles are never part of it. Secrets that exist but were never
/// rotated by Warden are left to the rotation scheduler.
pub fn plan(desired: &DesiredState, live: &Live, prune: bool) -> Plan {
    let mut steps = Vec::new();
    let mut role_updates = Vec::new();
    let renames = Renames::find(desired, live);
    for role in desired.roles.iter().filter(|r| !r.external) {
        let body = Some(PlanBody::Role(ApiRoleRequest {
            display_name: role.name.clone(),
            privileges: role.privileges.clone(),
        }));
        match renames.role(live, &role.name) {
            None => steps.push(step(Action::CreateRole, &role.name, None, body, None)),
            Some((have, renamed)) if renamed || !have.same_privileges(&role.privileges) => {
                let id = Some(have.id.clone());
                let note = renamed.then(|| rename_note(&have.display_name));
                let mut update = step(Action::UpdateRole, &role.name, id, body, note);
                update.diff =
                    SetDiff::between(&have.privilege_set(), &privilege_set(&role.privileges));
                role_updates.push(update);
            }
            Some(_) => {}
        }
    }
    steps.extend(role_updates);
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for client in &desired.clients {
        match renames.client(live, &client.name) {
            None => {
                let body = Some(PlanBody::Client(request(client)));
                creates.push(step(Action::CreateClient, &client.name, None, body, None));
                if client.enabled {
                    let note = Some("initial secret for the new client".to_owned());
                    creates.push(step(Action::RotateSecret, &client.name, None, None, note));
                }
            }
            Some((have, _)) if is_foreign_client(have) => {}
            Some((have, renamed)) => update_client(&mut updates, client, have, renamed, &renames),
        }
    }
    steps.extend(creates);
    steps.extend(updates);
    if prune {
        prune_steps(desired, live, &renames, &mut steps);
    }
    Plan { steps }
}

fn rename_note(live_name: &str) -> String {
    format!("renames {live_name:?}: the names differ in case alone; the id is kept")
}

fn update_client(
    steps: &mut Vec<PlanStep>,
    client: &DesiredClient,
    have: &ApiIntegration,
    renamed: bool,
    renames: &Renames,
) {
    // a role renamed by case is the same role (Jamf shows the client its new name)
    let scopes = renames.scopes(have);
    let roles_changed = privilege_set(&client.roles) != scopes;
    let changed = roles_changed
        || renamed
        || client.enabled != have.enabled
        || i64::from(client.token_lifetime) != lifetime(have);
    let id = Some(have.id.to_string());
    if changed {
        let note = if !client.enabled && have.enabled {
            Some(
                "disabling revokes the client's secret (appType becomes NONE); enabling it again \
                 needs a new secret"
                    .to_owned(),
            )
        } else {
            renamed.then(|| rename_note(&have.display_name))
        };
        let body = Some(PlanBody::Client(request(client)));
        let mut update = step(Action::UpdateClient, &client.name, id.clone(), body, note);
        update.diff = SetDiff::between(&scopes, &privilege_set(&client.roles));
        steps.push(update);
    }
    if !client.enabled {
        return;
    }
    let note = if !have.enabled || have.app_type == AppType::None {
        Some("the client has no secret")
    } else if roles_changed {
        Some("a role change takes effect only with a new secret")
    } else {
        None
    };
    if let Some(note) = note {
        steps.push(step(
            Action::RotateSecret,
            &client.name,
            id,
            None,
            Some(note.to_owned()),
        ));
    }
}

fn prune_steps(desired: &DesiredState, live: &Live, renames: &Renames, steps: &mut Vec<PlanStep>) {
    let mut remaining: Vec<Vec<String>> = Vec::new();
    for client in &live.clients {
        if is_foreign_client(client) {
            remaining.push(client.authorization_scopes.clone());
        } else if let Some(want) = renames
            .declares_client(&client.display_name)
            .then(|| desired.client(&client.display_name))
            .flatten()
            .or_else(|| {
                // renamed in place: it holds its declared roles afterwards
                renames
                    .client_renamed_from(&client.display_name)
                    .and_then(|new| desired.client(new))
            })
        {
            remaining.push(want.roles.clone());
        } else {
            let id = Some(client.id.to_string());
            let name = &client.display_name;
            steps.push(step(Action::DeleteClient, name, id, None, None));
        }
    }
    let still_used: BTreeSet<&str> = remaining.iter().flatten().map(String::as_str).collect();
    let foreign = live.foreign_roles(|n| renames.declares_role(n));
    for role in &live.roles {
        let name = role.display_name.as_str();
        if renames.declares_role(name)
            || renames.renames_role(name)
            || foreign.contains(name)
            || still_used.contains(name)
        {
            continue;
        }
        let id = Some(role.id.clone());
        steps.push(step(Action::DeleteRole, name, id, None, None));
    }
}

/// The full-replace request for a desired client.
fn request(client: &DesiredClient) -> ApiIntegrationRequest {
    ApiIntegrationRequest {
        authorization_scopes: client.roles.clone(),
        display_name: client.name.clone(),
        enabled: Some(client.enabled),
        access_token_lifetime_seconds: Some(i64::from(client.token_lifetime)),
    }
}

fn step(
    action: Action,
    name: &str,
    id: Option<String>,
    body: Option<PlanBody>,
    note: Option<String>,
) -> PlanStep {
    PlanStep {
        action,
        name: name.to_owned(),
        id,
        body,
        note,
        diff: None,
    }
}
