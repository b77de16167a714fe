//! Scheduled jobs: what runs for one (instance, job kind).
//!
//! Every job uses Warden's management credentials (read from Vault). The rotation job
//! (`rotation.rs`) rotates the secrets that are due; the drift job (`drift.rs`) checks drift,
//! records changes of it and, with `remediation = "auto"`, applies the plan. The audit job makes
//! sure the instance is reachable and takes a live inventory of roles and clients; the risk
//! audit builds on that inventory as it lands, and until then those runs are exactly this
//! reachability and inventory check, and say so in their result.

mod client;
mod drift;
mod rotation;

use std::sync::Arc;

use warden_core::jamf::JamfError;
use warden_core::schedule::JobKind;

use crate::shared::Shared;

pub use client::{client_config, management_client};

/// Runs one job; `Ok` carries a one-line summary, `Err` a message saying what to do.
pub async fn run(shared: &Arc<Shared>, instance: &str, kind: JobKind) -> Result<String, String> {
    match kind {
        JobKind::Rotation => return rotation::run(shared, instance).await,
        JobKind::Drift => return drift::run(shared, instance).await,
        _ => {}
    }
    let client = management_client(shared, instance).await?;
    let inventory = async {
        let roles = client.list_roles().await?;
        let clients = client.list_integrations().await?;
        Ok::<_, JamfError>((roles.len(), clients.len()))
    }
    .await;
    let mut runtime = shared.instances();
    let rt = runtime.entry(instance.to_string()).or_default();
    match inventory {
        Ok((roles, clients)) => {
            rt.reachable = Some(true);
            rt.last_error = None;
            rt.live_roles = Some(roles);
            rt.live_clients = Some(clients);
            Ok(format!(
                "{kind}: instance reachable; {roles} roles and {clients} clients live"
            ))
        }
        Err(e) => {
            let message = e.to_string();
            rt.reachable = Some(!matches!(e, JamfError::Transport { .. }));
            rt.last_error = Some(message.clone());
            Err(message)
        }
    }
}
