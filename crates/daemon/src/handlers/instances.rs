//! `wardenctl instances`: the configured Jamf Pro instances with their declared objects.

use warden_core::config::Config;
use warden_core::protocol::{
    DeclaredClientSummary, DeclaredRoleSummary, InstanceSummary, Response,
};

use crate::services::schedule::Schedule;

pub fn handle(config: &Config, schedule: &Schedule) -> Response {
    let jobs = schedule.table();
    let instances = config
        .instances
        .iter()
        .map(|i| InstanceSummary {
            name: i.name.clone(),
            url: i.url.to_string(),
            roles: i.desired_state.roles.len(),
            clients: i.desired_state.clients.len(),
            parked: jobs.instance_parked(&i.name),
            declared_roles: i
                .desired_state
                .roles
                .iter()
                .map(|r| DeclaredRoleSummary {
                    name: r.name.clone(),
                    privileges: r.privileges.len(),
                    external: r.external,
                })
                .collect(),
            declared_clients: i
                .desired_state
                .clients
                .iter()
                .map(|c| DeclaredClientSummary {
                    name: c.name.clone(),
                    roles: c.roles.clone(),
                    enabled: c.enabled,
                    owner: c.owner.clone(),
                    vault_path: c.vault_path_in(&i.name),
                })
                .collect(),
        })
        .collect();
    Response::Instances { instances }
}
