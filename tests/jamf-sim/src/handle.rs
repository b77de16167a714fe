//! [`SimInstance`]: direct access to an instance's state, as if someone clicked in the
//! Jamf console. Writes land on node A. The admin HTTP API calls these same methods.

use std::sync::Arc;
use std::time::Duration;

use crate::error::SimError;
use crate::faults::FaultRule;
use crate::fixture::{self, InstanceFixture};
use crate::instance::{Instance, duration_ms};
use crate::model::{ClientInput, ClientPatch, RoleInput, SimClient, SimRole};
use crate::options::UserSpec;
use crate::stats::SimStats;

/// A handle on one simulated instance. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SimInstance {
    pub(crate) inst: Arc<Instance>,
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl SimInstance {
    pub(crate) fn new(inst: Arc<Instance>) -> Self {
        Self { inst }
    }

    /// The instance name (`default` for the one served at the root).
    pub fn name(&self) -> &str {
        &self.inst.name
    }

    /// Base URL: `http://ADDR` or `http://ADDR/instances/NAME` (append `/api/...`).
    pub fn url(&self) -> String {
        self.inst.base_url.clone()
    }

    /// Creates a role; returns its id. Validated like `POST /api/v1/api-roles`.
    pub fn create_role<I, S>(&self, name: &str, privileges: I) -> Result<String, SimError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let input = RoleInput {
            display_name: name.to_owned(),
            privileges: strings(privileges),
        };
        let at = self.inst.at_admin();
        Ok(self.inst.state().create_role(&input, at)?.id)
    }

    /// Replaces a role's name and privileges.
    pub fn update_role<I, S>(
        &self,
        id: &str,
        name: &str,
        privileges: I,
    ) -> Result<SimRole, SimError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let input = RoleInput {
            display_name: name.to_owned(),
            privileges: strings(privileges),
        };
        let at = self.inst.at_admin();
        self.inst.state().update_role(id, &input, at)
    }

    /// Deletes a role (409 while a client names it).
    pub fn delete_role(&self, id: &str) -> Result<(), SimError> {
        let at = self.inst.at_admin();
        self.inst.state().delete_role(id, at)
    }

    /// A role by id (current state, ignoring node lag).
    pub fn role(&self, id: &str) -> Option<SimRole> {
        let id = crate::model::parse_id(id)?;
        self.inst.state().roles.get(&id).map(|r| r.to_sim())
    }

    /// A role by exact display name.
    pub fn role_by_name(&self, name: &str) -> Option<SimRole> {
        let st = self.inst.state();
        let id = st.role_id_by_name(name)?;
        st.roles.get(&id).map(|r| r.to_sim())
    }

    /// Every role, by id.
    pub fn roles(&self) -> Vec<SimRole> {
        self.inst
            .state()
            .roles
            .values()
            .map(|r| r.to_sim())
            .collect()
    }

    /// Creates a client with roles given by display name; returns its id and `clientId`.
    pub fn create_client<I, S>(
        &self,
        name: &str,
        roles: I,
        enabled: bool,
        lifetime_secs: u32,
    ) -> Result<(u64, String), SimError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let input = ClientInput {
            display_name: name.to_owned(),
            scopes: strings(roles),
            enabled,
            lifetime: i64::from(lifetime_secs),
        };
        let at = self.inst.at_admin();
        let c = self.inst.state().create_client(input, at)?;
        Ok((c.id, c.client_id))
    }

    /// Changes some fields of a client (disabling revokes its secret).
    pub fn update_client(&self, id: u64, patch: ClientPatch) -> Result<SimClient, SimError> {
        let at = self.inst.at_admin();
        let mut st = self.inst.state();
        let c = st.patch_client(id, patch, at)?;
        Ok(st.to_sim_client(&c))
    }

    /// Enables or disables a client.
    pub fn set_enabled(&self, id: u64, enabled: bool) -> Result<(), SimError> {
        let patch = ClientPatch {
            enabled: Some(enabled),
            ..ClientPatch::default()
        };
        self.update_client(id, patch).map(|_| ())
    }

    /// Deletes a client; tokens it issued stay valid until they expire.
    pub fn delete_client(&self, id: u64) -> Result<(), SimError> {
        let at = self.inst.at_admin();
        self.inst.state().delete_client(&id.to_string(), at)
    }

    /// The instance's privilege catalogue, in the order `GET /api/v1/api-role-privileges`
    /// returns it.
    pub fn privileges(&self) -> Vec<String> {
        self.inst.state().privileges()
    }

    /// Replaces the instance's privilege catalogue at run time (a simulated Jamf upgrade);
    /// `None` restores the shipped one. Stored roles are left as they are.
    pub fn set_privileges(&self, privileges: Option<Vec<String>>) {
        self.inst.state().catalogue = privileges;
    }

    /// A simulated upgrade that renames one privilege: in the catalogue and in every stored
    /// role that holds it (a guess: how Jamf migrates stored roles is not documented).
    pub fn rename_privilege(&self, from: &str, to: &str) -> Result<(), SimError> {
        let mut st = self.inst.state();
        let mut list = st.privileges();
        let Some(at) = list.iter().position(|p| p == from) else {
            return Err(SimError::not_found(&format!(
                "no privilege {from:?} in the catalogue"
            )));
        };
        list[at] = to.to_owned();
        st.catalogue = Some(list);
        for role in st.roles.values_mut() {
            for p in role.privileges.iter_mut().filter(|p| *p == from) {
                *p = to.to_owned();
            }
        }
        Ok(())
    }

    /// Generates a new secret (like the API) and returns it.
    pub fn mint_secret(&self, id: u64) -> Result<String, SimError> {
        let at = self.inst.at_admin();
        let (_, secret) = self.inst.state().mint_secret(&id.to_string(), None, at)?;
        Ok(secret)
    }

    /// Sets a known secret (demos), snapshotting the client's roles like a new secret.
    pub fn set_client_secret(&self, id: u64, secret: &str) -> Result<(), SimError> {
        let at = self.inst.at_admin();
        self.inst
            .state()
            .mint_secret(&id.to_string(), Some(secret.to_owned()), at)
            .map(|_| ())
    }

    /// A client by id, with its current secret (current state, ignoring node lag).
    pub fn client(&self, id: u64) -> Option<SimClient> {
        let st = self.inst.state();
        st.clients.get(&id).map(|c| st.to_sim_client(c))
    }

    /// A client by exact display name.
    pub fn client_by_name(&self, name: &str) -> Option<SimClient> {
        let st = self.inst.state();
        let id = st.client_id_by_name(name)?;
        st.clients.get(&id).map(|c| st.to_sim_client(c))
    }

    /// Every client, by id.
    pub fn clients(&self) -> Vec<SimClient> {
        let st = self.inst.state();
        st.clients.values().map(|c| st.to_sim_client(c)).collect()
    }

    /// Adds a user account (or changes the password and kind of an existing one).
    pub fn add_user(&self, user: UserSpec) {
        self.inst.state().upsert_user(&user);
    }

    /// The user accounts.
    pub fn users(&self) -> Vec<UserSpec> {
        self.inst.state().user_specs()
    }

    /// Replaces the fault rules.
    pub fn set_faults<I: IntoIterator<Item = FaultRule>>(&self, rules: I) -> Result<(), SimError> {
        self.inst.faults().set(rules.into_iter().collect())
    }

    /// Adds one fault rule.
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), SimError> {
        self.inst.faults().add(rule)
    }

    /// Removes every fault rule (including those from `--latency-ms`/`--error-rate`).
    pub fn clear_faults(&self) {
        self.inst.faults().clear();
    }

    /// The active fault rules, with their remaining counts.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.inst.faults().rules()
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> SimStats {
        self.inst.stats.snapshot()
    }

    /// Resets the statistics.
    pub fn reset_stats(&self) {
        self.inst.stats.reset();
    }

    /// Moves the instance's clock forward (expires tokens without sleeping).
    pub fn advance_clock(&self, by: Duration) {
        self.inst.advance_clock_ms(duration_ms(by));
    }

    /// The clock offset in milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.inst.clock_offset_ms()
    }

    /// The instance's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.inst.now_ms()).unwrap_or_default()
    }

    /// Answer `POST /api/v1/api-integrations` with 201 (spec) instead of 200 (real servers).
    pub fn set_create_status_201(&self, on: bool) {
        self.inst.state().config.create_status_201 = on;
    }

    /// Two-node mode with this lag (`None`: one node). Pending writes are dropped.
    pub fn set_node_lag(&self, lag: Option<Duration>) {
        self.inst.state().set_node_lag(lag.map(duration_ms));
    }

    /// Lifetime of user tokens issued from now on.
    pub fn set_user_token_lifetime(&self, lifetime: Duration) {
        self.inst.state().config.user_token_lifetime_ms = duration_ms(lifetime);
    }

    /// `true`: user tokens issued from now on expire on a whole second, so `expires` comes
    /// without milliseconds (`2026-01-01T00:30:00Z`), as Java formats it; `false` (the
    /// default): that form appears only when the milliseconds happen to be zero.
    pub fn set_whole_second_expiry(&self, on: bool) {
        self.inst.state().config.whole_second_expiry = on;
    }

    /// The state as a fixture (loadable with `--state`).
    pub fn dump(&self) -> InstanceFixture {
        fixture::dump(&self.inst)
    }
}
