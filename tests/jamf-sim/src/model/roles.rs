//! API roles.

use serde::{Deserialize, Serialize};

use super::{At, State, json_object, parse_id, req_string, req_strings};
use crate::error::SimError;
use crate::paging::Listed;
use crate::privileges::java_hashset_order;
use crate::rsql::{FieldValue, Record};

/// A stored API role; `privileges` is kept in the order Jamf returns it.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub id: u64,
    pub display_name: String,
    pub privileges: Vec<String>,
}

/// An API role as Jamf returns it (`ApiRole`: id is a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRole {
    pub id: String,
    pub display_name: String,
    pub privileges: Vec<String>,
}

impl Role {
    pub(crate) fn to_sim(&self) -> SimRole {
        SimRole {
            id: self.id.to_string(),
            display_name: self.display_name.clone(),
            privileges: self.privileges.clone(),
        }
    }
}

impl Record for Role {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        match name {
            "id" => Some(FieldValue::Int(self.id)),
            "displayName" => Some(FieldValue::Str(&self.display_name)),
            _ => None,
        }
    }
}

impl Listed for Role {
    fn list_id(&self) -> u64 {
        self.id
    }
    fn list_name(&self) -> &str {
        &self.display_name
    }
}

/// The body of a role create or update (`ApiRoleRequest`).
#[derive(Debug, Clone)]
pub(crate) struct RoleInput {
    pub display_name: String,
    pub privileges: Vec<String>,
}

impl RoleInput {
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, SimError> {
        let obj = json_object(body)?;
        Ok(Self {
            display_name: req_string(&obj, "displayName")?,
            privileges: req_strings(&obj, "privileges")?,
        })
    }
}

fn role_not_found() -> SimError {
    SimError::not_found("Role not found")
}

impl State {
    pub(crate) fn role_id_by_name(&self, name: &str) -> Option<u64> {
        self.role_names.get(name).copied()
    }

    /// Validates a role body; returns the privileges in stored order.
    fn check_role(&self, input: &RoleInput, self_id: Option<u64>) -> Result<Vec<String>, SimError> {
        if input.display_name.trim().is_empty() {
            return Err(SimError::invalid_field(
                "displayName",
                "displayName must not be blank",
            ));
        }
        let mut invalid: Vec<&str> = Vec::new();
        for p in &input.privileges {
            if !self.privilege_known(p) && !invalid.contains(&p.as_str()) {
                invalid.push(p);
            }
        }
        if !invalid.is_empty() {
            return Err(SimError::bad_request(format!(
                "privilege(s) are not valid [{}]",
                invalid.join(", ")
            )));
        }
        if let Some(existing) = self.role_names.get(&input.display_name)
            && Some(*existing) != self_id
        {
            return Err(SimError::bad_request("role display name must be unique"));
        }
        Ok(java_hashset_order(input.privileges.clone()))
    }

    /// Creates a role with the next id, or with `id` (fixtures).
    pub(crate) fn insert_role(
        &mut self,
        id: Option<u64>,
        input: &RoleInput,
        at: Option<At>,
    ) -> Result<SimRole, SimError> {
        let privileges = self.check_role(input, None)?;
        let id = match id {
            Some(id) if self.roles.contains_key(&id) || id == 0 => {
                return Err(SimError::bad_request(format!(
                    "role id {id} is already taken"
                )));
            }
            Some(id) => id,
            None => self.next_role_id,
        };
        self.next_role_id = self.next_role_id.max(id + 1);
        let role = Role {
            id,
            display_name: input.display_name.clone(),
            privileges,
        };
        self.role_names.insert(role.display_name.clone(), id);
        self.roles.insert(id, role.clone());
        if let Some(at) = at {
            self.record_role(id, at, None, Some(role.clone()));
        }
        Ok(role.to_sim())
    }

    pub(crate) fn create_role(&mut self, input: &RoleInput, at: At) -> Result<SimRole, SimError> {
        self.prune(at.now_ms);
        self.insert_role(None, input, Some(at))
    }

    fn record_role(&mut self, id: u64, at: At, before: Option<Role>, after: Option<Role>) {
        if self.config.node_lag_ms.is_some() {
            self.role_lag.record(id, at, before, after);
        }
    }

    /// What `at.node` sees of role `id`.
    fn role_view(&self, id: u64, at: At) -> Option<&Role> {
        match self.config.node_lag_ms {
            None => self.roles.get(&id),
            Some(lag) => self.role_lag.view(id, self.roles.get(&id), at, lag),
        }
    }

    /// Resolves a path id to a role id visible on `at.node`; 404 otherwise.
    fn visible_role_id(&mut self, id: &str, at: At) -> Result<u64, SimError> {
        self.prune(at.now_ms);
        let id = parse_id(id).ok_or_else(role_not_found)?;
        if self.role_view(id, at).is_some() {
            Ok(id)
        } else if self.roles.contains_key(&id) {
            Err(role_not_found().lag())
        } else {
            Err(role_not_found())
        }
    }

    pub(crate) fn get_role(&mut self, id: &str, at: At) -> Result<SimRole, SimError> {
        let id = self.visible_role_id(id, at)?;
        self.role_view(id, at)
            .map(Role::to_sim)
            .ok_or_else(role_not_found)
    }

    /// Full replace of a role's name and privileges.
    pub(crate) fn update_role(
        &mut self,
        id: &str,
        input: &RoleInput,
        at: At,
    ) -> Result<SimRole, SimError> {
        let id = self.visible_role_id(id, at)?;
        let before = self.roles.get(&id).cloned().ok_or_else(role_not_found)?;
        let privileges = self.check_role(input, Some(id))?;
        let after = Role {
            id,
            display_name: input.display_name.clone(),
            privileges,
        };
        self.role_names.remove(&before.display_name);
        self.role_names.insert(after.display_name.clone(), id);
        self.roles.insert(id, after.clone());
        self.record_role(id, at, Some(before), Some(after.clone()));
        Ok(after.to_sim())
    }

    /// Deletes a role; 409 while any client's `authorizationScopes` names it.
    pub(crate) fn delete_role(&mut self, id: &str, at: At) -> Result<(), SimError> {
        let id = self.visible_role_id(id, at)?;
        if !self.roles.contains_key(&id) {
            return Err(role_not_found());
        }
        if self.clients.values().any(|c| c.role_ids.contains(&id)) {
            return Err(SimError::new(
                409,
                None,
                "Role in use by an Integration/Client",
            ));
        }
        if let Some(before) = self.roles.remove(&id) {
            self.role_names.remove(&before.display_name);
            self.record_role(id, at, Some(before), None);
        }
        Ok(())
    }

    /// The roles `at.node` sees (unordered).
    pub(crate) fn visible_roles(&mut self, at: At) -> Vec<&Role> {
        self.prune(at.now_ms);
        let Some(lag) = self.config.node_lag_ms else {
            return self.roles.values().collect();
        };
        let mut out: Vec<&Role> = self
            .roles
            .values()
            .filter(|r| !self.role_lag.has(r.id))
            .collect();
        for id in self.role_lag.ids() {
            if let Some(r) = self.role_lag.view(id, self.roles.get(&id), at, lag) {
                out.push(r);
            }
        }
        out
    }
}
