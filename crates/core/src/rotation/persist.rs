//! Writing to Vault during a rotation: the new secret (check-and-set, retried with backoff for
//! a bounded time while it exists only in memory) and the marker (read, patch, write back).

use std::collections::BTreeMap;
use std::time::Duration;

use super::marker::{keys, set};
use super::outcome::Anomaly;
use super::store::{SecretStore, current_version};
use super::verify::same_credentials;
use crate::clock::Stopwatch;
use crate::vault::{SecretMap, VaultError};

/// How long and how often writes are retried after the mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Total time spent retrying one write.
    pub budget: Duration,
    /// First pause between attempts; doubled each time.
    pub initial_delay: Duration,
    /// Longest pause between attempts.
    pub max_delay: Duration,
}

/// A write that did not succeed within the budget.
#[derive(Debug)]
pub(crate) struct WriteFailure {
    pub attempts: u32,
    pub elapsed: Duration,
    pub source: VaultError,
}

/// Changes to Warden's marker keys: `Some` sets a key, `None` removes it.
pub(crate) type Patch = Vec<(&'static str, Option<String>)>;

/// Writes `map` as a new version of `path` with check-and-set on `cas`, retrying every failure
/// within the budget. On a conflict the path is re-read: if it already holds these credentials
/// (our earlier attempt landed although its answer was lost) that version is ours; otherwise
/// someone wrote by hand while we hold the lock, the conflict is recorded as an [`Anomaly`]
/// and the secret is written on top (it is the only valid one).
pub(crate) async fn store_secret<S: SecretStore>(
    store: &S,
    retry: &RetryBudget,
    path: &str,
    map: &SecretMap,
    mut cas: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Result<u64, WriteFailure> {
    // the budget is a timeout: measured on the monotonic clock (see `crate::clock`)
    let start = Stopwatch::start();
    let mut attempts = 0u32;
    let mut delay = retry.initial_delay;
    let mut conflicts = 0u32;
    loop {
        attempts += 1;
        let err = match store.write_secret_cas(path, map, cas).await {
            Ok(version) => return Ok(version),
            Err(VaultError::CasConflict { .. }) => match resolve_conflict(store, path, map).await {
                Ok(Resolved::Ours(version)) => return Ok(version),
                Ok(Resolved::Other(found)) => {
                    conflicts += 1;
                    let anomaly = Anomaly::CasConflict {
                        path: store.full_path(path),
                        expected: cas,
                        found,
                    };
                    tracing::warn!(%anomaly, "check-and-set conflict while holding the rotation lock");
                    anomalies.push(anomaly);
                    cas = found;
                    if conflicts <= 3 {
                        continue;
                    }
                    VaultError::CasConflict {
                        path: store.full_path(path),
                    }
                }
                Err(e) => e,
            },
            Err(e) => e,
        };
        let elapsed = start.elapsed();
        if elapsed >= retry.budget {
            return Err(WriteFailure {
                attempts,
                elapsed,
                source: err,
            });
        }
        tracing::warn!(
            attempt = attempts,
            error = %err,
            "vault write failed while the new secret is held only in memory; retrying"
        );
        tokio::time::sleep(delay.min(retry.budget - elapsed)).await;
        delay = (delay * 2).min(retry.max_delay);
    }
}

enum Resolved {
    Ours(u64),
    Other(u64),
}

async fn resolve_conflict<S: SecretStore>(
    store: &S,
    path: &str,
    map: &SecretMap,
) -> Result<Resolved, VaultError> {
    match store.read_secret(path).await? {
        Some(latest) if same_credentials(&latest.value, map) => Ok(Resolved::Ours(latest.version)),
        Some(latest) => Ok(Resolved::Other(latest.version)),
        None => Ok(Resolved::Other(current_version(store, path).await?)),
    }
}

/// Reads the custom metadata of `path`, applies `patch` and writes it back; retried within
/// `retry` if given, else tried once. Returns the map written.
pub(crate) async fn update_marker<S: SecretStore>(
    store: &S,
    retry: Option<&RetryBudget>,
    path: &str,
    patch: &Patch,
) -> Result<BTreeMap<String, String>, WriteFailure> {
    // the budget is a timeout: measured on the monotonic clock (see `crate::clock`)
    let start = Stopwatch::start();
    let mut attempts = 0u32;
    let mut delay = retry.map(|r| r.initial_delay).unwrap_or_default();
    loop {
        attempts += 1;
        let err = match write_patch(store, path, patch).await {
            Ok(map) => return Ok(map),
            Err(e) => e,
        };
        let elapsed = start.elapsed();
        let Some(retry) = retry.filter(|r| elapsed < r.budget) else {
            return Err(WriteFailure {
                attempts,
                elapsed,
                source: err,
            });
        };
        tracing::warn!(attempt = attempts, error = %err, "writing the rotation marker failed; retrying");
        tokio::time::sleep(delay.min(retry.budget - elapsed)).await;
        delay = (delay * 2).min(retry.max_delay);
    }
}

async fn write_patch<S: SecretStore>(
    store: &S,
    path: &str,
    patch: &Patch,
) -> Result<BTreeMap<String, String>, VaultError> {
    let mut custom = store
        .read_metadata(path)
        .await?
        .map(|m| m.custom)
        .unwrap_or_default();
    apply(&mut custom, patch);
    store.write_custom_metadata(path, &custom).await?;
    Ok(custom)
}

/// Applies a patch to a map.
pub(crate) fn apply(custom: &mut BTreeMap<String, String>, patch: &Patch) {
    for (k, v) in patch {
        match v {
            Some(v) => set(custom, k, v.clone()),
            None => {
                custom.remove(*k);
            }
        }
    }
}

/// The patch that removes every in-progress key.
pub(crate) fn clear_progress() -> Patch {
    [
        keys::PENDING_SINCE,
        keys::EXPIRES_AT,
        keys::BASE_VERSION,
        keys::SLOT,
        keys::STORED_VERSION,
        keys::LAST_ERROR,
        keys::REFUSED_AT,
        keys::REFUSED,
    ]
    .into_iter()
    .map(|k| (k, None))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::MemoryStore;
    use secrecy::SecretString;

    fn creds(secret: &str) -> SecretMap {
        let mut m = SecretMap::new();
        m.insert("client_id", SecretString::from("cid".to_string()));
        m.insert("client_secret", SecretString::from(secret.to_string()));
        m
    }

    fn budget(ms: u64) -> RetryBudget {
        RetryBudget {
            budget: Duration::from_millis(ms),
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_within_the_budget() {
        let s = MemoryStore::new();
        s.faults().fail_next_secret_writes(3);
        let mut anomalies = vec![];
        let v = store_secret(&s, &budget(2000), "p", &creds("x"), 0, &mut anomalies)
            .await
            .unwrap();
        assert_eq!(v, 1);
        assert!(anomalies.is_empty());
        s.faults().fail_next_secret_writes(1000);
        let err = store_secret(&s, &budget(60), "p", &creds("y"), 1, &mut anomalies)
            .await
            .unwrap_err();
        assert!(err.attempts > 1);
        assert!(err.source.is_transient());
    }

    #[tokio::test]
    async fn conflicts_adopt_our_own_write_or_record_an_anomaly() {
        let s = MemoryStore::new();
        let mut anomalies = vec![];
        // our own write already landed: adopted, no anomaly
        s.write_secret_cas("p", &creds("x"), 0).await.unwrap();
        let v = store_secret(&s, &budget(100), "p", &creds("x"), 0, &mut anomalies)
            .await
            .unwrap();
        assert_eq!((v, anomalies.len()), (1, 0));
        // someone else's version: written on top, recorded
        let v = store_secret(&s, &budget(100), "p", &creds("z"), 0, &mut anomalies)
            .await
            .unwrap();
        assert_eq!(v, 2);
        assert_eq!(
            anomalies,
            vec![Anomaly::CasConflict {
                path: "p".into(),
                expected: 0,
                found: 1
            }]
        );
    }

    #[tokio::test]
    async fn marker_patches_keep_foreign_keys() {
        let s = MemoryStore::new();
        let mut m = BTreeMap::new();
        m.insert("owner_note".to_string(), "keep".to_string());
        m.insert(keys::LAST_ERROR.to_string(), "old".to_string());
        s.write_custom_metadata("p", &m).await.unwrap();
        let mut patch = clear_progress();
        patch.push((keys::STATE, Some("ok".into())));
        let written = update_marker(&s, None, "p", &patch).await.unwrap();
        assert_eq!(written.get("owner_note").map(String::as_str), Some("keep"));
        assert_eq!(written.get(keys::STATE).map(String::as_str), Some("ok"));
        assert!(!written.contains_key(keys::LAST_ERROR));
        s.faults().fail_next_writes(2);
        assert!(update_marker(&s, None, "p", &patch).await.is_err());
        assert!(
            update_marker(&s, Some(&budget(500)), "p", &patch)
                .await
                .is_ok()
        );
    }
}
