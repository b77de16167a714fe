//! Recording to the change log, and verifying it: the one room that writes records. Every
//! record is fsynced before [`Changes::record`] returns; a failure is returned, and the caller
//! must not report the action as done.

use std::path::PathBuf;
use std::sync::Arc;

use warden_core::changelog::{
    self, ChangeEntry, ChangeLog, FileHeadStore, Head, HeadStore, Record, VerifyReport,
};
use warden_core::protocol::ErrorCode;

use super::ServiceError;
use super::notifier::Notifier;
use crate::runtime::head::load_vault_head;
use crate::runtime::store::Store;

/// Why a record could not be written or the log not verified.
#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    #[error(
        "cannot write the change log: {0}; free space or fix the permissions of the change log's directory (nothing was reported as done)"
    )]
    Unwritable(String),
    #[error("cannot read the change log: {0}")]
    Read(String),
    #[error("cannot verify the change log: {0}")]
    Verify(String),
}

impl ServiceError for ChangesError {
    fn code(&self) -> ErrorCode {
        match self {
            ChangesError::Unwritable(_) => ErrorCode::Unavailable,
            ChangesError::Read(_) | ChangesError::Verify(_) => ErrorCode::Internal,
        }
    }
}

/// The change log and where its head anchors live.
pub struct Changes {
    log: Arc<ChangeLog>,
    vault: Store,
    vault_head_path: String,
    head_file: PathBuf,
    notifier: Arc<Notifier>,
}

impl Changes {
    /// Records to `log`; its head is anchored in `head_file` and at `vault_head_path`.
    pub fn new(
        log: Arc<ChangeLog>,
        vault: Store,
        vault_head_path: String,
        head_file: PathBuf,
        notifier: Arc<Notifier>,
    ) -> Changes {
        Changes {
            log,
            vault,
            vault_head_path,
            head_file,
            notifier,
        }
    }

    /// Appends `entry` (fsynced before this returns), then hands the record to the notifier
    /// to forward (never waiting for it). A failure is logged loudly and returned.
    pub async fn record(&self, entry: ChangeEntry) -> Result<Record, ChangesError> {
        match self.log.append_async(entry).await {
            Ok(r) => {
                self.notifier.changelog(&r);
                Ok(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot write the change log");
                Err(ChangesError::Unwritable(e.to_string()))
            }
        }
    }

    /// The notifier: services that record also alert through it.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }

    /// The log itself (its path, its head).
    pub fn log(&self) -> &Arc<ChangeLog> {
        &self.log
    }

    /// The last `n` records.
    pub async fn tail(&self, n: usize) -> Result<Vec<Record>, ChangesError> {
        let path = self.log.path().to_path_buf();
        match tokio::task::spawn_blocking(move || changelog::tail(&path, n)).await {
            Ok(Ok(records)) => Ok(records),
            Ok(Err(e)) => Err(ChangesError::Read(e.to_string())),
            Err(e) => Err(ChangesError::Read(e.to_string())),
        }
    }

    /// The whole chain, checked against the head anchor kept in Vault (so a rewritten file is
    /// caught), or the local anchor when Vault cannot be read, and every record's MAC.
    pub async fn verify(&self) -> Result<VerifyReport, ChangesError> {
        let head = match load_vault_head(&self.vault, &self.vault_head_path).await {
            Ok(Some(h)) => Some(h),
            Ok(None) => self.local_head(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change-log head from vault; verifying against the local anchor");
                self.local_head()
            }
        };
        let log = Arc::clone(&self.log);
        let verify = move || changelog::verify_with(log.path(), head, log.mac_key());
        let report = tokio::task::spawn_blocking(verify)
            .await
            .map_err(|e| ChangesError::Verify(e.to_string()))?;
        if let Some(problem) = &report.problem {
            let n = &self.notifier;
            n.emit(
                n.event(
                    warden_core::notify::EventKind::ChangelogVerifyFailed,
                    format!("the change log failed verification: {report}"),
                )
                .details(serde_json::json!({
                    "problem": problem.kind.as_str(),
                    "records": report.records,
                })),
            );
        }
        Ok(report)
    }

    fn local_head(&self) -> Option<Head> {
        FileHeadStore::new(self.head_file.clone())
            .load()
            .ok()
            .flatten()
    }
}
