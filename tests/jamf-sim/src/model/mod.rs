//! The state of one simulated Jamf Pro instance: roles, clients (API integrations),
//! secrets, users and tokens. All operations are synchronous and run under the
//! instance's mutex.

mod clients;
mod lag;
mod roles;
mod tokens;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

pub use clients::{AppType, ClientPatch, SimClient};
pub(crate) use clients::{Client, ClientInput, ClientSeed};
pub use lag::Node;
pub(crate) use lag::{At, LagLog};
pub use roles::SimRole;
pub(crate) use roles::{Role, RoleInput};
pub(crate) use tokens::{OAuthFailure, Subject};

use crate::error::SimError;
use crate::options::{UserKind, UserSpec};

/// Per-instance settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub create_status_201: bool,
    /// `Some(lag)`: two-node mode.
    pub node_lag_ms: Option<i64>,
    pub user_token_lifetime_ms: i64,
    /// Round user-token expiries down to a whole second, so `expires` is served without
    /// milliseconds (Java drops them when they are zero). Tests turn it on to get that form
    /// deterministically; otherwise it appears whenever the milliseconds happen to be zero.
    pub whole_second_expiry: bool,
}

/// A Jamf Pro user account.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub name: String,
    pub password: String,
    pub kind: UserKind,
}

/// The whole mutable state of an instance.
#[derive(Debug)]
pub(crate) struct State {
    pub roles: BTreeMap<u64, Role>,
    role_names: HashMap<String, u64>,
    pub clients: BTreeMap<u64, Client>,
    client_names: HashMap<String, u64>,
    client_uuids: HashMap<String, u64>,
    pub next_role_id: u64,
    pub next_client_id: u64,
    pub users: Vec<User>,
    next_user_id: u64,
    tokens: HashMap<String, tokens::TokenRecord>,
    tokens_issued: u64,
    role_lag: LagLog<Role>,
    client_lag: LagLog<Client>,
    pub config: Config,
    /// Issuer (`iss`) of client tokens: the instance's base URL.
    pub issuer: String,
    /// The instance's privilege catalogue when it differs from the shipped one (a Jamf upgrade
    /// simulated at run time); `None`: [`privilege_catalogue`](crate::privilege_catalogue).
    pub catalogue: Option<Vec<String>>,
}

/// Parses a path id: decimal digits only.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a JSON request body into an object.
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, SimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(SimError::bad_request(
            "Bad Request, could not parse input: expected a JSON object",
        )),
        Err(e) => Err(SimError::bad_request(format!(
            "Bad Request, could not parse input: {e}"
        ))),
    }
}

/// A required string field.
pub(crate) fn req_string(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<String, SimError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(SimError::invalid_field(
            field,
            format!("{field} must not be null"),
        )),
        Some(_) => Err(SimError::invalid_field(
            field,
            format!("{field} must be a string"),
        )),
    }
}

/// A required array of strings.
pub(crate) fn req_strings(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Vec<String>, SimError> {
    match obj.get(field) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(SimError::invalid_field(
                    field,
                    format!("{field} must be an array of strings"),
                )),
            })
            .collect(),
        Some(Value::Null) | None => Err(SimError::invalid_field(
            field,
            format!("{field} must not be null"),
        )),
        Some(_) => Err(SimError::invalid_field(
            field,
            format!("{field} must be an array of strings"),
        )),
    }
}

impl State {
    pub(crate) fn new(config: Config, issuer: String) -> Self {
        Self {
            roles: BTreeMap::new(),
            role_names: HashMap::new(),
            clients: BTreeMap::new(),
            client_names: HashMap::new(),
            client_uuids: HashMap::new(),
            next_role_id: 1,
            next_client_id: 1,
            users: Vec::new(),
            next_user_id: 1,
            tokens: HashMap::new(),
            tokens_issued: 0,
            role_lag: LagLog::default(),
            client_lag: LagLog::default(),
            config,
            issuer,
            catalogue: None,
        }
    }

    /// The instance's privilege catalogue, in its order.
    pub(crate) fn privileges(&self) -> Vec<String> {
        match &self.catalogue {
            Some(list) => list.clone(),
            None => crate::privileges::privilege_catalogue()
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
        }
    }

    /// Whether `name` is in the instance's catalogue (exact, case-sensitive).
    pub(crate) fn privilege_known(&self, name: &str) -> bool {
        match &self.catalogue {
            Some(list) => list.iter().any(|p| p == name),
            None => crate::privileges::is_valid(name),
        }
    }

    /// Adds a user, or replaces the password and kind of one with the same name.
    pub(crate) fn upsert_user(&mut self, spec: &UserSpec) {
        if let Some(u) = self.users.iter_mut().find(|u| u.name == spec.name) {
            u.password = spec.password.clone();
            u.kind = spec.kind;
            return;
        }
        self.users.push(User {
            id: self.next_user_id,
            name: spec.name.clone(),
            password: spec.password.clone(),
            kind: spec.kind,
        });
        self.next_user_id += 1;
    }

    pub(crate) fn user_specs(&self) -> Vec<UserSpec> {
        self.users
            .iter()
            .map(|u| UserSpec {
                name: u.name.clone(),
                password: u.password.clone(),
                kind: u.kind,
            })
            .collect()
    }

    /// Turns two-node mode on (`Some(lag)`) or off; pending writes are dropped.
    pub(crate) fn set_node_lag(&mut self, lag_ms: Option<i64>) {
        self.config.node_lag_ms = lag_ms;
        self.role_lag.clear();
        self.client_lag.clear();
    }

    fn prune(&mut self, now_ms: i64) {
        if let Some(lag) = self.config.node_lag_ms {
            self.role_lag.prune(now_ms, lag);
            self.client_lag.prune(now_ms, lag);
        }
    }
}
