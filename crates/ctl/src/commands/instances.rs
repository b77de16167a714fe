//! `wardenctl instances`: the configured Jamf Pro instances.

use warden_core::protocol::{InstanceSummary, Request, Response, StatusReport};

use crate::client::unexpected;
use crate::commands::status::reachable;
use crate::output::Table;
use crate::{Ctx, Exit};

/// Asks the daemon for its instances (and, for the reachability column, its status) and prints
/// them.
pub async fn run(ctx: &Ctx) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let instances = match client.call("instances", Request::Instances).await? {
        Response::Instances { instances } => instances,
        other => return Err(unexpected("instances", &other)),
    };
    if ctx.json() {
        ctx.print_json(&serde_json::json!({ "instances": instances }))?;
        return Ok(Exit::Ok);
    }
    // Reachability is only in the status; without it the column says `unknown`.
    let status = match client.call("status", Request::Status).await {
        Ok(Response::Status(status)) => Some(status),
        _ => None,
    };
    ctx.print(&render(&instances, status.as_ref()))?;
    Ok(Exit::Ok)
}

/// The text output of `instances`, with reachability taken from `status` when given.
pub fn render(instances: &[InstanceSummary], status: Option<&StatusReport>) -> String {
    if instances.is_empty() {
        return "no instances configured\n".to_owned();
    }
    let mut table = Table::new(["NAME", "URL", "REACHABLE", "ROLES", "CLIENTS", "PARKED"]);
    for instance in instances {
        let reach = status
            .and_then(|s| s.instances.iter().find(|i| i.name == instance.name))
            .and_then(|i| i.reachable);
        table.row([
            instance.name.clone(),
            instance.url.clone(),
            reachable(reach).to_owned(),
            instance.roles.to_string(),
            instance.clients.to_string(),
            if instance.parked { "PARKED" } else { "no" }.to_owned(),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use warden_core::protocol::InstanceStatus;

    use super::*;

    #[test]
    fn renders_a_table() {
        let instances = vec![
            InstanceSummary {
                name: "prod".into(),
                url: "https://prod.example".into(),
                roles: 3,
                clients: 2,
                parked: false,
                declared_roles: Vec::new(),
                declared_clients: Vec::new(),
            },
            InstanceSummary {
                name: "lab".into(),
                url: "https://lab.example".into(),
                roles: 0,
                clients: 1,
                parked: true,
                declared_roles: Vec::new(),
                declared_clients: Vec::new(),
            },
        ];
        let status = StatusReport {
            version: "0.1.0".into(),
            uptime_secs: 1,
            config_path: "/x".into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            vault: None,
            cluster: None,
            instances: vec![InstanceStatus {
                name: "prod".into(),
                url: "https://prod.example".into(),
                reachable: Some(true),
                last_error: None,
                parked: false,
                consecutive_failures: 0,
                jobs: Vec::new(),
                remediation_waits: None,
            }],
        };
        assert_eq!(
            render(&instances, Some(&status)),
            "\
NAME  URL                   REACHABLE  ROLES  CLIENTS  PARKED
prod  https://prod.example  yes        3      2        no
lab   https://lab.example   unknown    0      1        PARKED
"
        );
        assert_eq!(render(&[], None), "no instances configured\n");
    }
}
