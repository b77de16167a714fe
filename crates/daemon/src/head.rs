//! The change log's head anchor, kept in two places: a file in the state directory (written
//! synchronously on every append) and Vault (published by a background task, latest head wins).
//! The Vault copy is what detects a rewrite of the whole state directory: at start-up and on
//! `wardenctl log verify` the log is checked against it.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::watch;
use warden_core::changelog::{FileHeadStore, Head, HeadStore, HeadStoreError};
use warden_core::vault::{Vault, VaultError};

/// Vault path (relative to the prefix) of daemon `daemon_id`'s head anchor. Per daemon, so two
/// daemons sharing a prefix (by mistake, or a standby) never overwrite each other's anchor.
pub fn vault_head_path(daemon_id: &str) -> String {
    format!("_warden/changelog-head/{daemon_id}")
}

/// A [`HeadStore`] that writes the file anchor and hands each new head to the Vault publisher.
pub struct MirroredHeadStore {
    file: FileHeadStore,
    tx: watch::Sender<Option<Head>>,
}

impl MirroredHeadStore {
    /// A store over `file`; heads go to the returned receiver.
    pub fn new(file: FileHeadStore) -> (MirroredHeadStore, watch::Receiver<Option<Head>>) {
        let (tx, rx) = watch::channel(None);
        (MirroredHeadStore { file, tx }, rx)
    }
}

impl HeadStore for MirroredHeadStore {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        self.file.load()
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        self.file.store(head)?;
        self.tx.send_replace(Some(head.clone()));
        Ok(())
    }
}

/// Reads the head anchor kept in Vault.
pub async fn load_vault_head(vault: &Vault, path: &str) -> Result<Option<Head>, VaultError> {
    let Some(v) = vault.read_json(path).await? else {
        return Ok(None);
    };
    let seq = v.value.get("seq").and_then(|s| s.as_u64());
    let hash = v.value.get("hash").and_then(|s| s.as_str());
    match (seq, hash) {
        (Some(seq), Some(hash)) => Ok(Some(Head {
            seq,
            hash: hash.to_string(),
        })),
        _ => Err(VaultError::Decode {
            path: path.into(),
            detail: "expected {seq, hash}".into(),
        }),
    }
}

/// Writes a head to Vault.
pub async fn publish_head(vault: &Vault, path: &str, head: &Head) -> Result<(), VaultError> {
    vault
        .write_json(path, &json!({"seq": head.seq, "hash": head.hash}), None)
        .await
        .map(|_| ())
}

/// Publishes every new head to Vault until the channel closes; a failed publish is retried with
/// the next head or after 5 s. Returns the last head it could not publish, if any.
pub async fn publisher(vault: Arc<Vault>, path: String, mut rx: watch::Receiver<Option<Head>>) {
    let mut pending: Option<Head> = None;
    loop {
        let changed = if pending.is_some() {
            tokio::select! {
                r = rx.changed() => r,
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => Ok(()),
            }
        } else {
            rx.changed().await
        };
        if let Some(h) = rx.borrow_and_update().clone() {
            pending = Some(h);
        }
        if let Some(head) = pending.clone() {
            match publish_head(&vault, &path, &head).await {
                Ok(()) => pending = None,
                Err(e) => {
                    tracing::warn!(error = %e, seq = head.seq, "cannot publish the change-log head to vault; retrying")
                }
            }
        }
        if changed.is_err() {
            // Sender gone: the log is closed. One last attempt happened above.
            return;
        }
    }
}
