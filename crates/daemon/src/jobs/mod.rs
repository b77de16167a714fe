//! Scheduled jobs: what runs for one (instance, job kind).
//!
//! Every job starts by making sure the instance is reachable with Warden's management
//! credentials (read from Vault) and takes a live inventory of roles and clients. The drift
//! comparison, the risk audit and the rotation engine build on that inventory in their own
//! modules as they land; until then each kind's run is exactly this reachability and inventory
//! check, and says so in its result.

mod client;

use std::sync::Arc;

use warden_core::jamf::JamfError;
use warden_core::schedule::JobKind;

use crate::shared::Shared;

pub use client::{client_config, management_client};

/// Runs one job; `Ok` carries a one-line summary, `Err` a message saying what to do.
pub async fn run(shared: &Arc<Shared>, instance: &str, kind: JobKind) -> Result<String, String> {
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
