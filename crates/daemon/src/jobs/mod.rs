//! Scheduled jobs: what runs for one (instance, job kind).
//!
//! Every job uses Warden's management credentials (read from Vault). The rotation job
//! (`rotation.rs`) rotates the secrets that are due; the drift job (`drift.rs`) checks drift,
//! records changes of it and, with `remediation = "auto"`, applies the plan; the audit job
//! (`crate::audit::scheduled`) runs the risk rules and records new and resolved findings.

mod client;
mod drift;
mod rotation;

use std::sync::Arc;

use warden_core::schedule::JobKind;

use crate::shared::Shared;

pub use client::{client_config, management_client};

/// Runs one job; `Ok` carries a one-line summary, `Err` a message saying what to do.
pub async fn run(shared: &Arc<Shared>, instance: &str, kind: JobKind) -> Result<String, String> {
    match kind {
        JobKind::Rotation => rotation::run(shared, instance).await,
        JobKind::Drift => drift::run(shared, instance).await,
        JobKind::Audit => {
            let config = shared.config();
            let inst = config
                .instance(instance)
                .ok_or_else(|| format!("instance {instance} is no longer configured"))?;
            crate::audit::scheduled(shared, inst).await
        }
    }
}
