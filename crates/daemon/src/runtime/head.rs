//! The change log's head anchor, kept in two places: a file in the state directory (written
//! synchronously on every append) and Vault (published by a background task, latest head wins).
//! Every function here takes any [`SecretStore`]: the daemon's [`Store`](super::store::Store),
//! Vault in production.
//! The Vault copy is what detects a rewrite of the whole state directory: at start-up and on
//! `wardenctl log verify` the log is checked against it.
//!
//! The key of the per-record MAC is kept in Vault too, next to the anchor
//! (`_warden/changelog-key/<daemon id>`): created at the first start with check-and-set (so two
//! racing starts end up with one key), read at every start into memory, never written to disk.

use serde_json::json;
use tokio::sync::watch;
use warden_core::changelog::{FileHeadStore, Head, HeadStore, HeadStoreError, MacKey};
use warden_core::rotation::SecretStore;
use warden_core::vault::{SecretMap, VaultError};

/// Vault path (relative to the prefix) of daemon `daemon_id`'s head anchor. Per daemon, so two
/// daemons sharing a prefix (by mistake, or a standby) never overwrite each other's anchor.
pub fn vault_head_path(daemon_id: &str) -> String {
    format!("_warden/changelog-head/{daemon_id}")
}

/// Vault path (relative to the prefix) of daemon `daemon_id`'s change-log MAC key.
pub fn vault_key_path(daemon_id: &str) -> String {
    format!("_warden/changelog-key/{daemon_id}")
}

/// Field of the key secret holding the key's hex digits.
const KEY_FIELD: &str = "hmac_sha256_key";

/// Why the MAC key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(
        "the change-log MAC key at vault path `{path}` has no valid `{KEY_FIELD}` field; restore \
         it from a backup of Vault (records written under another key no longer verify)"
    )]
    Corrupt { path: String },
}

/// Reads the change-log MAC key from Vault, creating it (check-and-set, version 0) if absent.
pub async fn load_or_create_key<S: SecretStore>(vault: &S, path: &str) -> Result<MacKey, KeyError> {
    for _ in 0..2 {
        if let Some(stored) = vault.read_secret(path).await? {
            return stored
                .value
                .get(KEY_FIELD)
                .and_then(|hex| MacKey::from_hex(hex).ok())
                .ok_or_else(|| KeyError::Corrupt { path: path.into() });
        }
        let key = MacKey::generate();
        let mut data = SecretMap::new();
        data.insert(KEY_FIELD, key.to_hex());
        match vault.write_secret_cas(path, &data, 0).await {
            Ok(_) => {
                tracing::info!(path, "created the change-log MAC key in vault");
                return Ok(key);
            }
            // Another start created it first: read that one.
            Err(VaultError::CasConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(KeyError::Corrupt { path: path.into() })
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
pub async fn load_vault_head<S: SecretStore>(
    vault: &S,
    path: &str,
) -> Result<Option<Head>, VaultError> {
    let Some(v) = vault.read_json(path).await? else {
        return Ok(None);
    };
    let seq = v.value.get("seq").and_then(|s| s.as_u64());
    let hash = v.value.get("hash").and_then(|s| s.as_str());
    match (seq, hash) {
        (Some(seq), Some(hash)) if is_sha256_hex(hash) => Ok(Some(Head {
            seq,
            hash: hash.to_string(),
        })),
        _ => Err(VaultError::Decode {
            path: path.into(),
            detail: "expected {seq, hash} with hash 64 lowercase hex digits".into(),
        }),
    }
}

/// Whether `hash` is a lowercase hex SHA-256, as every record's `hash` is: anything else in
/// Vault's anchor was not written by a daemon, and is never echoed back at length.
fn is_sha256_hex(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Writes a head to Vault, never replacing a newer one: the write is a check-and-set on the
/// version read, and a stored head with a higher `seq` is kept. So a slow publish of an old
/// head that lands after the final one at stop cannot move the anchor back.
pub async fn publish_head<S: SecretStore>(
    vault: &S,
    path: &str,
    head: &Head,
) -> Result<(), VaultError> {
    let data = json!({"seq": head.seq, "hash": head.hash});
    for _ in 0..5 {
        let cas = match vault.read_json(path).await? {
            Some(stored) => {
                let stored_seq = stored.value.get("seq").and_then(|s| s.as_u64());
                if stored_seq.is_some_and(|seq| seq > head.seq) {
                    return Ok(());
                }
                stored.version
            }
            None => 0,
        };
        match vault.write_json_cas(path, &data, cas).await {
            Ok(_) => return Ok(()),
            // Another write got in between: look again (it may be newer).
            Err(VaultError::CasConflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(VaultError::CasConflict { path: path.into() })
}

/// Publishes every new head to Vault until the channel closes; a failed publish is retried with
/// the next head or after 5 s. Returns the last head it could not publish, if any.
pub async fn publisher<S: SecretStore>(
    vault: S,
    path: String,
    mut rx: watch::Receiver<Option<Head>>,
) {
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

#[cfg(test)]
mod tests {
    use super::is_sha256_hex;

    #[test]
    fn only_a_lowercase_hex_sha256_is_an_anchor_hash() {
        let good = "0123456789abcdef".repeat(4);
        assert!(is_sha256_hex(&good));
        assert!(!is_sha256_hex(&good.to_uppercase()));
        assert!(!is_sha256_hex(&good[..63]));
        assert!(!is_sha256_hex(&format!("{good}0")));
        assert!(!is_sha256_hex(&"g".repeat(64)));
        assert!(!is_sha256_hex(&"é".repeat(32)));
    }
}
