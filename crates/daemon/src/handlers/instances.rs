//! `wardenctl instances`: the configured Jamf Pro instances with their declared objects.

use std::sync::Arc;

use warden_core::protocol::{InstanceSummary, Response};

use crate::shared::Shared;

pub fn handle(shared: &Arc<Shared>) -> Response {
    let config = shared.config();
    let jobs = shared.jobs();
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
