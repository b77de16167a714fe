//! The scheduled audit of one instance: audit, keep it, and record new and resolved findings.

use warden_core::config::Instance;

use super::JobError;
use crate::services::audit::Audit;

/// Runs the audit job; `Ok` carries a one-line summary.
pub async fn run(audit: &Audit, inst: &Instance) -> Result<String, JobError> {
    let done = audit.scheduled(inst).await?;
    let s = &done.summary;
    Ok(format!(
        "audit: {} finding(s) ({} critical, {} high, {} medium, {} low, {} suppressed); {} new, {} resolved",
        s.total(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.suppressed,
        done.new,
        done.resolved
    ))
}
