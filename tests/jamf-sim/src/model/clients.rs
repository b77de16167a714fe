//! API clients (Jamf calls them API integrations) and their secrets.

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{At, State, json_object, parse_id, req_string, req_strings};
use crate::error::SimError;
use crate::paging::Listed;
use crate::rsql::{FieldValue, Record};

/// Default `accessTokenLifetimeSeconds`.
pub(crate) const DEFAULT_LIFETIME: u32 = 300;

/// `appType` of an API integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppType {
    /// A client id and secret have been generated.
    ClientCredentials,
    /// A native app (Jamf Reset) is linked through Managed App Config.
    NativeAppOauth,
    /// No client secret.
    None,
}

/// A client secret with the role ids it snapshotted when it was generated.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub value: String,
    pub role_ids: Vec<u64>,
}

/// A stored API client.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub id: u64,
    pub display_name: String,
    pub role_ids: Vec<u64>,
    pub enabled: bool,
    pub lifetime: u32,
    pub client_id: String,
    pub native: bool,
    pub secret: Option<Secret>,
}

impl Client {
    pub(crate) fn app_type(&self) -> AppType {
        if self.native {
            AppType::NativeAppOauth
        } else if self.secret.is_some() {
            AppType::ClientCredentials
        } else {
            AppType::None
        }
    }
}

impl Record for Client {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        match name {
            "id" => Some(FieldValue::Int(self.id)),
            "displayName" => Some(FieldValue::Str(&self.display_name)),
            _ => None,
        }
    }
}

impl Listed for Client {
    fn list_id(&self) -> u64 {
        self.id
    }
    fn list_name(&self) -> &str {
        &self.display_name
    }
}

/// Everything the simulator knows about a client (for tests; includes the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimClient {
    pub id: u64,
    pub display_name: String,
    /// Role display names, as `authorizationScopes`.
    pub authorization_scopes: Vec<String>,
    /// The same roles, by id.
    pub role_ids: Vec<String>,
    pub enabled: bool,
    pub access_token_lifetime_seconds: u32,
    pub app_type: AppType,
    pub client_id: String,
    /// The current secret, if one was generated and not revoked.
    pub client_secret: Option<String>,
    /// Role ids snapshotted by the current secret (what new tokens carry).
    pub secret_role_ids: Vec<String>,
}

/// An `ApiIntegrationResponse` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiIntegration {
    authorization_scopes: Vec<String>,
    display_name: String,
    enabled: bool,
    access_token_lifetime_seconds: u32,
    id: u64,
    app_type: AppType,
    client_id: String,
}

/// A partial update of a client, as the admin API and [`crate::SimInstance`] take it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientPatch {
    pub display_name: Option<String>,
    pub authorization_scopes: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub access_token_lifetime_seconds: Option<i64>,
}

/// The body of a client create or update (`ApiIntegrationRequest`).
#[derive(Debug, Clone)]
pub(crate) struct ClientInput {
    pub display_name: String,
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub lifetime: i64,
}

impl ClientInput {
    /// Parses a body; omitted optional fields take their defaults (PUT is a full replace).
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, SimError> {
        let obj = json_object(body)?;
        let enabled = match obj.get("enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(SimError::invalid_field(
                    "enabled",
                    "enabled must be a boolean",
                ));
            }
        };
        let lifetime = match obj.get("accessTokenLifetimeSeconds") {
            None | Some(Value::Null) => i64::from(DEFAULT_LIFETIME),
            Some(v) => v
                .as_i64()
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(|| {
                    SimError::invalid_field(
                        "accessTokenLifetimeSeconds",
                        "accessTokenLifetimeSeconds must be an integer",
                    )
                })?,
        };
        Ok(Self {
            display_name: req_string(&obj, "displayName")?,
            scopes: req_strings(&obj, "authorizationScopes")?,
            enabled,
            lifetime,
        })
    }
}

/// A client to insert as is (fixtures, built-ins).
#[derive(Debug, Clone)]
pub(crate) struct ClientSeed {
    pub id: Option<u64>,
    pub input: ClientInput,
    pub client_id: Option<String>,
    pub native: bool,
    pub secret: Option<String>,
    pub secret_role_ids: Option<Vec<u64>>,
}

fn client_not_found() -> SimError {
    SimError::not_found("Specified api integration object does not exist.")
}

/// A new client secret: 64 characters of `[A-Za-z0-9_-]`.
pub(crate) fn new_secret() -> String {
    const CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

impl State {
    pub(crate) fn client_db_id(&self, client_id: &str) -> Option<u64> {
        self.client_uuids.get(client_id).copied()
    }

    pub(crate) fn client_id_by_name(&self, name: &str) -> Option<u64> {
        self.client_names.get(name).copied()
    }

    fn scope_names(&self, role_ids: &[u64]) -> Vec<String> {
        role_ids
            .iter()
            .filter_map(|id| self.roles.get(id).map(|r| r.display_name.clone()))
            .collect()
    }

    pub(crate) fn to_sim_client(&self, c: &Client) -> SimClient {
        SimClient {
            id: c.id,
            display_name: c.display_name.clone(),
            authorization_scopes: self.scope_names(&c.role_ids),
            role_ids: c.role_ids.iter().map(u64::to_string).collect(),
            enabled: c.enabled,
            access_token_lifetime_seconds: c.lifetime,
            app_type: c.app_type(),
            client_id: c.client_id.clone(),
            client_secret: c.secret.as_ref().map(|s| s.value.clone()),
            secret_role_ids: c
                .secret
                .as_ref()
                .map(|s| s.role_ids.iter().map(u64::to_string).collect())
                .unwrap_or_default(),
        }
    }

    pub(crate) fn api_client(&self, c: &Client) -> ApiIntegration {
        ApiIntegration {
            authorization_scopes: self.scope_names(&c.role_ids),
            display_name: c.display_name.clone(),
            enabled: c.enabled,
            access_token_lifetime_seconds: c.lifetime,
            id: c.id,
            app_type: c.app_type(),
            client_id: c.client_id.clone(),
        }
    }

    /// Validates a client body; returns the role ids and the lifetime.
    fn check_client(
        &self,
        input: &ClientInput,
        self_id: Option<u64>,
    ) -> Result<(Vec<u64>, u32), SimError> {
        if input.display_name.trim().is_empty() {
            return Err(SimError::invalid_field(
                "displayName",
                "displayName must not be blank",
            ));
        }
        if input.scopes.is_empty() {
            return Err(SimError::invalid_field(
                "authorizationScopes",
                "authorizationScopes must contain at least one api role",
            ));
        }
        let mut role_ids = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for name in &input.scopes {
            match self.role_id_by_name(name) {
                Some(id) if !role_ids.contains(&id) => role_ids.push(id),
                Some(_) => {}
                None => unknown.push(name),
            }
        }
        if !unknown.is_empty() {
            return Err(SimError::invalid_field(
                "authorizationScopes",
                format!("api role(s) are not valid [{}]", unknown.join(", ")),
            ));
        }
        let lifetime = u32::try_from(input.lifetime)
            .ok()
            .filter(|l| *l >= 1)
            .ok_or_else(|| {
                SimError::invalid_field(
                    "accessTokenLifetimeSeconds",
                    "accessTokenLifetimeSeconds must be greater than 0",
                )
            })?;
        if let Some(existing) = self.client_names.get(&input.display_name)
            && Some(*existing) != self_id
        {
            return Err(SimError::bad_request(
                "api integration display name must be unique",
            ));
        }
        Ok((role_ids, lifetime))
    }

    /// Inserts a client (fixtures and creates).
    pub(crate) fn insert_client(
        &mut self,
        seed: ClientSeed,
        at: Option<At>,
    ) -> Result<SimClient, SimError> {
        let (role_ids, lifetime) = self.check_client(&seed.input, None)?;
        let id = match seed.id {
            Some(id) if self.clients.contains_key(&id) || id == 0 => {
                return Err(SimError::bad_request(format!(
                    "api integration id {id} is already taken"
                )));
            }
            Some(id) => id,
            None => self.next_client_id,
        };
        let client_id = seed
            .client_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if self.client_uuids.contains_key(&client_id) {
            return Err(SimError::bad_request(format!(
                "clientId {client_id} is already taken"
            )));
        }
        let secret = match seed.secret {
            Some(_) if !seed.input.enabled || seed.native => {
                return Err(SimError::bad_request(
                    "a client secret needs an enabled client-credentials client",
                ));
            }
            Some(value) if value.is_empty() => {
                return Err(SimError::bad_request("client secret must not be empty"));
            }
            Some(value) => Some(Secret {
                value,
                role_ids: seed.secret_role_ids.unwrap_or_else(|| role_ids.clone()),
            }),
            None => None,
        };
        self.next_client_id = self.next_client_id.max(id + 1);
        let client = Client {
            id,
            display_name: seed.input.display_name.clone(),
            role_ids,
            enabled: seed.input.enabled,
            lifetime,
            client_id: client_id.clone(),
            native: seed.native,
            secret,
        };
        self.client_names.insert(client.display_name.clone(), id);
        self.client_uuids.insert(client_id, id);
        self.clients.insert(id, client.clone());
        if let Some(at) = at {
            self.record_client(id, at, None, Some(client.clone()));
        }
        Ok(self.to_sim_client(&client))
    }

    pub(crate) fn create_client(&mut self, input: ClientInput, at: At) -> Result<Client, SimError> {
        self.prune(at.now_ms);
        let seed = ClientSeed {
            id: None,
            input,
            client_id: None,
            native: false,
            secret: None,
            secret_role_ids: None,
        };
        let created = self.insert_client(seed, Some(at))?;
        self.clients
            .get(&created.id)
            .cloned()
            .ok_or_else(client_not_found)
    }

    fn record_client(&mut self, id: u64, at: At, before: Option<Client>, after: Option<Client>) {
        if self.config.node_lag_ms.is_some() {
            self.client_lag.record(id, at, before, after);
        }
    }

    fn client_view(&self, id: u64, at: At) -> Option<&Client> {
        match self.config.node_lag_ms {
            None => self.clients.get(&id),
            Some(lag) => self.client_lag.view(id, self.clients.get(&id), at, lag),
        }
    }

    fn visible_client_id(&mut self, id: &str, at: At) -> Result<u64, SimError> {
        self.prune(at.now_ms);
        let id = parse_id(id).ok_or_else(client_not_found)?;
        if self.client_view(id, at).is_some() {
            Ok(id)
        } else if self.clients.contains_key(&id) {
            Err(client_not_found().lag())
        } else {
            Err(client_not_found())
        }
    }

    pub(crate) fn get_client(&mut self, id: &str, at: At) -> Result<Client, SimError> {
        let id = self.visible_client_id(id, at)?;
        self.client_view(id, at)
            .cloned()
            .ok_or_else(client_not_found)
    }

    /// Full replace; disabling revokes the secret (`appType` back to `NONE`). A role change
    /// does not touch the secret's snapshot: it takes effect with the next secret.
    pub(crate) fn update_client(
        &mut self,
        id: &str,
        input: &ClientInput,
        at: At,
    ) -> Result<Client, SimError> {
        let id = self.visible_client_id(id, at)?;
        let before = self
            .clients
            .get(&id)
            .cloned()
            .ok_or_else(client_not_found)?;
        let (role_ids, lifetime) = self.check_client(input, Some(id))?;
        let mut after = before.clone();
        after.display_name = input.display_name.clone();
        after.role_ids = role_ids;
        after.enabled = input.enabled;
        after.lifetime = lifetime;
        if !after.enabled {
            after.secret = None;
        }
        self.client_names.remove(&before.display_name);
        self.client_names.insert(after.display_name.clone(), id);
        self.clients.insert(id, after.clone());
        self.record_client(id, at, Some(before), Some(after.clone()));
        Ok(after)
    }

    /// A partial update (admin API): unspecified fields keep their value.
    pub(crate) fn patch_client(
        &mut self,
        id: u64,
        patch: ClientPatch,
        at: At,
    ) -> Result<Client, SimError> {
        let current = self.clients.get(&id).ok_or_else(client_not_found)?;
        let input = ClientInput {
            display_name: patch
                .display_name
                .unwrap_or_else(|| current.display_name.clone()),
            scopes: patch
                .authorization_scopes
                .unwrap_or_else(|| self.scope_names(&current.role_ids)),
            enabled: patch.enabled.unwrap_or(current.enabled),
            lifetime: patch
                .access_token_lifetime_seconds
                .unwrap_or(i64::from(current.lifetime)),
        };
        self.update_client(&id.to_string(), &input, at)
    }

    /// Deletes a client; tokens it issued stay valid until they expire.
    pub(crate) fn delete_client(&mut self, id: &str, at: At) -> Result<(), SimError> {
        let id = self.visible_client_id(id, at)?;
        let before = self.clients.remove(&id).ok_or_else(client_not_found)?;
        self.client_names.remove(&before.display_name);
        self.client_uuids.remove(&before.client_id);
        self.record_client(id, at, Some(before), None);
        Ok(())
    }

    /// Generates (or, with `value`, sets) the client's secret, replacing the previous one
    /// at once, and snapshots the client's current role ids on it.
    pub(crate) fn mint_secret(
        &mut self,
        id: &str,
        value: Option<String>,
        at: At,
    ) -> Result<(String, String), SimError> {
        let id = self.visible_client_id(id, at)?;
        let before = self
            .clients
            .get(&id)
            .cloned()
            .ok_or_else(client_not_found)?;
        if before.native {
            return Err(SimError::bad_request(
                "Client credentials could not be created for this api integration: it is linked to a native app",
            ));
        }
        if !before.enabled {
            return Err(SimError::bad_request(
                "Client credentials could not be created for this api integration: the integration is disabled",
            ));
        }
        let value = match value {
            Some(v) if v.is_empty() => {
                return Err(SimError::bad_request("client secret must not be empty"));
            }
            Some(v) => v,
            None => new_secret(),
        };
        let mut after = before.clone();
        after.secret = Some(Secret {
            value: value.clone(),
            role_ids: before.role_ids.clone(),
        });
        self.clients.insert(id, after.clone());
        self.record_client(id, at, Some(before), Some(after.clone()));
        Ok((after.client_id, value))
    }

    /// The clients `at.node` sees (unordered).
    pub(crate) fn visible_clients(&mut self, at: At) -> Vec<&Client> {
        self.prune(at.now_ms);
        let Some(lag) = self.config.node_lag_ms else {
            return self.clients.values().collect();
        };
        let mut out: Vec<&Client> = self
            .clients
            .values()
            .filter(|c| !self.client_lag.has(c.id))
            .collect();
        for id in self.client_lag.ids() {
            if let Some(c) = self.client_lag.view(id, self.clients.get(&id), at, lag) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_64_url_safe_chars() {
        let s = new_secret();
        assert_eq!(s.len(), 64);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(s, new_secret());
    }
}
