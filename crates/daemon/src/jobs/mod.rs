//! Scheduled jobs: what runs for one (instance, job kind), and the daemon's own recovery of
//! interrupted rotations. Jobs call services; they never import handlers.
//!
//! Every job uses Warden's management credentials (read from Vault). The rotation job
//! (`rotation.rs`) rotates the secrets that are due; the drift job (`drift.rs`) checks drift,
//! records changes of it and, with `remediation = "auto"`, applies the plan; the audit job
//! (`audit.rs`) runs the risk rules and records new and resolved findings; `recovery.rs`
//! finishes interrupted rotations at start-up and then on its own backoff.

mod audit;
mod drift;
pub mod recovery;
mod rotation;

use warden_core::schedule::JobKind;

use crate::services::Services;
use crate::services::apply::ApplyError;
use crate::services::audit::AuditError;
use crate::services::drift::DriftError;
use crate::services::instances::InstanceError;

/// Why a job failed; its message is what `wardenctl status` shows as the job's last error.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("instance {0} is no longer configured")]
    NotConfigured(String),
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error(transparent)]
    Drift(#[from] DriftError),
    #[error("{0}")]
    Check(String),
    #[error("drift: {summary}; automatic remediation skipped until it is fixed")]
    RemediationSkipped { summary: String },
    #[error("drift: {summary}; automatic apply could not start: {source}")]
    AutoApply {
        summary: String,
        #[source]
        source: ApplyError,
    },
    #[error("drift: automatic apply stopped after {done} of {total} step(s): {failed}")]
    AutoApplyStopped {
        done: usize,
        total: usize,
        failed: String,
    },
    #[error(
        "rotation: {} failed ({}); {rotated} rotated, {recovered} recovered",
        failed.len(),
        failed.join("; ")
    )]
    Rotation {
        failed: Vec<String>,
        rotated: u32,
        recovered: u32,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("stopped by a forced shutdown")]
    Forced,
}

/// Runs one job; `Ok` carries a one-line summary.
pub async fn run(s: &Services, instance: &str, kind: JobKind) -> Result<String, JobError> {
    let config = s.config.get();
    let inst = config
        .instance(instance)
        .ok_or_else(|| JobError::NotConfigured(instance.to_owned()))?;
    match kind {
        JobKind::Rotation => rotation::run(&s.rotation, &s.lifecycle, inst).await,
        JobKind::Drift => drift::run(&s.drift, &s.apply, inst).await,
        JobKind::Audit => audit::run(&s.audit, inst).await,
    }
}
