//! `wardenctl instances`: the configured Jamf Pro instances with their declared objects.

use warden_core::config::Config;
use warden_core::protocol::{InstanceSummary, Response};

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
        })
        .collect();
    Response::Instances { instances }
}
