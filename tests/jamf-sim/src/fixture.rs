//! Fixtures: the JSON a simulator starts from (`--state FILE`) and the dump of
//! `GET /_sim/state`. Role and client objects use Jamf's camelCase field names;
//! the simulator's own settings are snake_case.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::faults::FaultRule;
use crate::instance::{Instance, InstanceDefaults};
use crate::model::{AppType, ClientInput, ClientSeed, RoleInput, parse_id};
use crate::options::UserSpec;

/// A whole fixture: instances by name (`default` is the one served at the root).
/// A file holding a bare [`InstanceFixture`] (no `instances` key) is the default instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceFixture>,
}

/// One instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFixture {
    /// No built-in "Jamf Reset" role and client (dumps always say true: they list everything).
    #[serde(default)]
    pub empty: bool,
    /// Added to the users given at start (same name: the fixture wins).
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub roles: Vec<RoleFixture>,
    #[serde(default)]
    pub clients: Vec<ClientFixture>,
    #[serde(default)]
    pub create_status_201: Option<bool>,
    /// Two-node mode with this lag.
    #[serde(default)]
    pub node_lag_ms: Option<u64>,
    #[serde(default)]
    pub user_token_lifetime_secs: Option<u64>,
    /// Replaces the faults given at start when present.
    #[serde(default)]
    pub faults: Option<Vec<FaultRule>>,
    #[serde(default)]
    pub next_role_id: Option<u64>,
    #[serde(default)]
    pub next_client_id: Option<u64>,
}

/// A role. Without `id` it gets the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleFixture {
    #[serde(default)]
    pub id: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub privileges: Vec<String>,
}

/// A client. `authorizationScopes` are role display names. A `clientSecret` needs
/// `enabled: true`; its role snapshot is `secretRoleIds` or else the current roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientFixture {
    #[serde(default)]
    pub id: Option<u64>,
    pub display_name: String,
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub access_token_lifetime_seconds: Option<u32>,
    /// Only `NATIVE_APP_OAUTH` changes anything; the others follow from the secret.
    #[serde(default)]
    pub app_type: Option<AppType>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub secret_role_ids: Option<Vec<String>>,
}

/// Reads a fixture file (either form).
pub(crate) fn load_file(path: &Path) -> anyhow::Result<Fixture> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading fixture {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing fixture {}", path.display()))
}

/// Parses fixture JSON (either form).
pub(crate) fn parse(text: &str) -> anyhow::Result<Fixture> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    if value.get("instances").is_some() {
        Ok(serde_json::from_value(value)?)
    } else {
        let single: InstanceFixture = serde_json::from_value(value)?;
        let mut instances = BTreeMap::new();
        instances.insert(crate::server::DEFAULT_INSTANCE.to_owned(), single);
        Ok(Fixture { instances })
    }
}

/// Builds an instance from its fixture.
pub(crate) fn build(
    name: &str,
    base_url: String,
    defaults: &InstanceDefaults,
    f: &InstanceFixture,
) -> Result<Instance, SimError> {
    let inst = Instance::new(name, base_url, defaults, f.empty);
    {
        let mut st = inst.state();
        for u in &f.users {
            st.upsert_user(u);
        }
        if let Some(on) = f.create_status_201 {
            st.config.create_status_201 = on;
        }
        if let Some(lag) = f.node_lag_ms {
            st.set_node_lag(Some(i64::try_from(lag).unwrap_or(i64::MAX)));
        }
        if let Some(secs) = f.user_token_lifetime_secs {
            st.config.user_token_lifetime_ms =
                i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        }
        for r in &f.roles {
            let id = match &r.id {
                Some(s) => Some(parse_id(s).ok_or_else(|| {
                    SimError::bad_request(format!("role id '{s}' is not a number"))
                })?),
                None => None,
            };
            let input = RoleInput {
                display_name: r.display_name.clone(),
                privileges: r.privileges.clone(),
            };
            st.insert_role(id, &input, None)?;
        }
        for c in &f.clients {
            let secret_role_ids = match &c.secret_role_ids {
                Some(ids) => Some(
                    ids.iter()
                        .map(|s| {
                            parse_id(s).ok_or_else(|| {
                                SimError::bad_request(format!("role id '{s}' is not a number"))
                            })
                        })
                        .collect::<Result<Vec<u64>, SimError>>()?,
                ),
                None => None,
            };
            let seed = ClientSeed {
                id: c.id,
                input: ClientInput {
                    display_name: c.display_name.clone(),
                    scopes: c.authorization_scopes.clone(),
                    enabled: c.enabled,
                    lifetime: i64::from(c.access_token_lifetime_seconds.unwrap_or(300)),
                },
                client_id: c.client_id.clone(),
                native: c.app_type == Some(AppType::NativeAppOauth),
                secret: c.client_secret.clone(),
                secret_role_ids,
            };
            st.insert_client(seed, None)?;
        }
        if let Some(n) = f.next_role_id {
            st.next_role_id = st.next_role_id.max(n);
        }
        if let Some(n) = f.next_client_id {
            st.next_client_id = st.next_client_id.max(n);
        }
    }
    if let Some(rules) = &f.faults {
        inst.faults().set(rules.clone())?;
    }
    Ok(inst)
}

/// The instance's state as a fixture.
pub(crate) fn dump(inst: &Instance) -> InstanceFixture {
    let faults = inst.faults().rules();
    let st = inst.state();
    InstanceFixture {
        empty: true,
        users: st.user_specs(),
        roles: st
            .roles
            .values()
            .map(|r| RoleFixture {
                id: Some(r.id.to_string()),
                display_name: r.display_name.clone(),
                privileges: r.privileges.clone(),
            })
            .collect(),
        clients: st
            .clients
            .values()
            .map(|c| {
                let sim = st.to_sim_client(c);
                ClientFixture {
                    id: Some(c.id),
                    display_name: sim.display_name,
                    authorization_scopes: sim.authorization_scopes,
                    enabled: sim.enabled,
                    access_token_lifetime_seconds: Some(sim.access_token_lifetime_seconds),
                    app_type: Some(sim.app_type),
                    client_id: Some(sim.client_id),
                    secret_role_ids: sim.client_secret.as_ref().map(|_| sim.secret_role_ids),
                    client_secret: sim.client_secret,
                }
            })
            .collect(),
        create_status_201: Some(st.config.create_status_201),
        node_lag_ms: st.config.node_lag_ms.and_then(|l| u64::try_from(l).ok()),
        user_token_lifetime_secs: u64::try_from(st.config.user_token_lifetime_ms / 1000).ok(),
        faults: Some(faults),
        next_role_id: Some(st.next_role_id),
        next_client_id: Some(st.next_client_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_form_is_the_default_instance() {
        let f =
            parse(r#"{"roles":[{"displayName":"R","privileges":["Read API Roles"]}]}"#).unwrap();
        assert_eq!(f.instances.len(), 1);
        assert_eq!(f.instances["default"].roles[0].display_name, "R");
        let f = parse(r#"{"instances":{"a":{"empty":true},"b":{}}}"#).unwrap();
        assert_eq!(f.instances.len(), 2);
        assert!(parse(r#"{"rolez":[]}"#).is_err());
    }
}
