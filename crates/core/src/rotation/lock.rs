//! The rotation lock: one rotation per client at a time, across every daemon sharing a Vault.
//!
//! KV v2 metadata writes have no check-and-set, so the lock is a KV v2 **data** write with
//! check-and-set on `_warden/locks/<instance>/<client-slug>`: read the lock's version `v`
//! (absent → 0), then write `{daemon, since, attempt, expires_at, token}` with `cas = v`. A CAS
//! conflict means another daemon wrote first and won. Released by writing a `released` record
//! with `cas` = the version we wrote, so an expired lock taken over by someone else is never
//! released by us. An expired lock, or one held by this same daemon id (a previous run of this
//! daemon that was killed), is taken over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::marker::fmt_time;
use super::store::SecretStore;
use crate::config::values::slug;
use crate::vault::VaultError;

/// The lock path of a client (relative to the store's prefix).
pub fn lock_path(instance: &str, client: &str) -> String {
    let s = slug(client);
    let s = if s.is_empty() { "client".into() } else { s };
    format!("_warden/locks/{}/{s}", slug_instance(instance))
}

fn slug_instance(instance: &str) -> String {
    let s = slug(instance);
    if s.is_empty() { "instance".into() } else { s }
}

/// What a lock path holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LockRecord {
    pub daemon: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default)]
    pub expires_at: String,
    /// Random per acquisition: tells two acquisitions of the same daemon apart in logs.
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub released: bool,
    /// In a cluster: the fencing counter of the instance lease the holder held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<u64>,
}

impl LockRecord {
    fn expires(&self) -> Option<DateTime<Utc>> {
        super::marker::parse_time(&self.expires_at)
    }

    fn since(&self) -> Option<DateTime<Utc>> {
        super::marker::parse_time(&self.since)
    }
}

/// A lock this daemon holds.
#[derive(Debug, Clone)]
pub(crate) struct HeldLock {
    pub path: String,
    pub version: u64,
    pub record: LockRecord,
}

/// Why the lock was not acquired.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another daemon holds it.
    Held {
        holder: String,
        since: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// Vault failed.
    Store(VaultError),
}

impl From<VaultError> for LockError {
    fn from(e: VaultError) -> Self {
        LockError::Store(e)
    }
}

/// Acquires the lock for `daemon` until `expires_at`.
pub(crate) async fn acquire<S: SecretStore>(
    store: &S,
    path: &str,
    daemon: &str,
    attempt: u32,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    fence: Option<u64>,
) -> Result<HeldLock, LockError> {
    let record = LockRecord {
        daemon: daemon.to_string(),
        since: fmt_time(now),
        attempt,
        expires_at: fmt_time(expires_at),
        token: uuid::Uuid::new_v4().to_string(),
        released: false,
        fence,
    };
    let value = serde_json::to_value(&record).map_err(|e| {
        LockError::Store(VaultError::Decode {
            path: path.to_string(),
            detail: format!("cannot encode the lock record: {e}"),
        })
    })?;
    // Two tries: a conflict against a lock that was released in between is retried once.
    for _ in 0..2 {
        let cas = match store.read_json(path).await? {
            None => 0,
            Some(current) => {
                check_free(&current.value, daemon, now, fence)?;
                current.version
            }
        };
        match store.write_json_cas(path, &value, cas).await {
            Ok(version) => {
                return Ok(HeldLock {
                    path: path.to_string(),
                    version,
                    record,
                });
            }
            Err(VaultError::CasConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // Lost twice: whoever holds it now is the answer.
    match store.read_json(path).await? {
        Some(current) => {
            check_free(&current.value, daemon, now, fence)?;
            Err(held(&parse(&current.value), now))
        }
        None => Err(LockError::Held {
            holder: "unknown".into(),
            since: now,
            expires_at: now,
        }),
    }
}

/// Ok when the current record does not stop `daemon`; a takeover is logged. In a cluster
/// (`fence`: the lease counter `daemon` holds the instance under) a lock taken under an older
/// counter is taken over at once: its holder lost the instance.
fn check_free(
    current: &Value,
    daemon: &str,
    now: DateTime<Utc>,
    fence: Option<u64>,
) -> Result<(), LockError> {
    let rec = parse(current);
    if rec.released || rec.daemon.is_empty() {
        return Ok(());
    }
    if let Some(f) = fence
        && rec.daemon != daemon
        && rec.fence.unwrap_or(0) < f
    {
        tracing::warn!(
            lock.holder = %rec.daemon,
            lock.fence = rec.fence.unwrap_or(0),
            fence = f,
            "taking over the rotation lock of a daemon that lost the instance's lease"
        );
        return Ok(());
    }
    let expired = rec.expires().is_none_or(|e| e <= now);
    if rec.daemon == daemon {
        tracing::warn!(
            lock.holder = %rec.daemon,
            lock.since = %rec.since,
            "taking over a rotation lock left by a previous run of this daemon"
        );
        return Ok(());
    }
    if expired {
        tracing::warn!(
            lock.holder = %rec.daemon,
            lock.expires_at = %rec.expires_at,
            "taking over an expired rotation lock of another daemon"
        );
        return Ok(());
    }
    Err(held(&rec, now))
}

fn held(rec: &LockRecord, now: DateTime<Utc>) -> LockError {
    LockError::Held {
        holder: rec.daemon.clone(),
        since: rec.since().unwrap_or(now),
        expires_at: rec.expires().unwrap_or(now),
    }
}

/// [`check_free`] for the fuzz tests: `Err` names the holder.
pub(crate) fn check_free_for_fuzzing(
    current: &Value,
    daemon: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    check_free(current, daemon, now, None).map_err(|e| match e {
        LockError::Held { holder, .. } => format!("held by {holder}"),
        LockError::Store(e) => e.to_string(),
    })
}

/// An unreadable record counts as released (it cannot name a holder).
fn parse(v: &Value) -> LockRecord {
    serde_json::from_value(v.clone()).unwrap_or(LockRecord {
        daemon: String::new(),
        since: String::new(),
        attempt: 0,
        expires_at: String::new(),
        token: String::new(),
        released: true,
        fence: None,
    })
}

/// Releases a held lock (check-and-set on the version we wrote). A conflict means our lock had
/// expired and another daemon took it over: nothing to release.
pub(crate) async fn release<S: SecretStore>(
    store: &S,
    lock: &HeldLock,
    now: DateTime<Utc>,
) -> Result<(), VaultError> {
    let record = LockRecord {
        released: true,
        expires_at: fmt_time(now),
        ..lock.record.clone()
    };
    let value = serde_json::to_value(&record).map_err(|e| VaultError::Decode {
        path: lock.path.clone(),
        detail: format!("cannot encode the lock record: {e}"),
    })?;
    match store.write_json_cas(&lock.path, &value, lock.version).await {
        Ok(_) => Ok(()),
        Err(VaultError::CasConflict { .. }) => {
            tracing::warn!(
                lock.path = %lock.path,
                "the rotation lock was taken over by another daemon before it was released"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::MemoryStore;
    use chrono::{Duration, TimeZone};

    fn t(m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(m)
    }

    #[test]
    fn paths_are_slugged() {
        assert_eq!(
            lock_path("acme-prod", "Inventory Sync (read-only)"),
            "_warden/locks/acme-prod/inventory-sync-read-only"
        );
        assert_eq!(lock_path("x", "!!!"), "_warden/locks/x/client");
    }

    #[tokio::test]
    async fn one_holder_at_a_time() {
        let s = MemoryStore::new();
        let p = "_warden/locks/i/c";
        let a = acquire(&s, p, "d1", 1, t(0), t(10), None).await.unwrap();
        match acquire(&s, p, "d2", 1, t(1), t(11), None).await {
            Err(LockError::Held { holder, since, .. }) => {
                assert_eq!(holder, "d1");
                assert_eq!(since, t(0));
            }
            other => panic!("expected held, got {other:?}"),
        }
        release(&s, &a, t(2)).await.unwrap();
        let b = acquire(&s, p, "d2", 1, t(3), t(13), None).await.unwrap();
        // d1's release after d2 took over (stale version) does not free d2's lock
        release(&s, &a, t(4)).await.unwrap();
        assert!(matches!(
            acquire(&s, p, "d1", 1, t(5), t(15), None).await,
            Err(LockError::Held { .. })
        ));
        // expired: taken over; same daemon: taken over
        let c = acquire(&s, p, "d1", 1, t(14), t(24), None).await.unwrap();
        assert!(c.version > b.version);
        acquire(&s, p, "d1", 2, t(15), t(25), None).await.unwrap();
    }

    /// In a cluster a lock taken under an older lease counter stops nobody holding a newer
    /// one; a lock under the same or a newer counter still does.
    #[tokio::test]
    async fn a_lock_of_a_daemon_that_lost_the_lease_is_taken_over_at_once() {
        let s = MemoryStore::new();
        let p = "_warden/locks/i/c";
        acquire(&s, p, "d1", 1, t(0), t(100), Some(3))
            .await
            .unwrap();
        assert!(matches!(
            acquire(&s, p, "d2", 1, t(1), t(101), Some(3)).await,
            Err(LockError::Held { .. })
        ));
        let taken = acquire(&s, p, "d2", 1, t(1), t(101), Some(4))
            .await
            .unwrap();
        assert_eq!(taken.record.fence, Some(4));
        // the old holder, under its old counter, is stopped by the new lock
        assert!(matches!(
            acquire(&s, p, "d1", 2, t(2), t(102), Some(3)).await,
            Err(LockError::Held { holder, .. }) if holder == "d2"
        ));
        // a lock written before clustering (no counter) yields to any lease holder
        let q = "_warden/locks/i/other";
        acquire(&s, q, "d1", 1, t(0), t(100), None).await.unwrap();
        acquire(&s, q, "d2", 1, t(1), t(101), Some(1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn store_failures_are_reported() {
        let s = MemoryStore::new();
        s.faults().set_down(true);
        assert!(matches!(
            acquire(&s, "l", "d1", 1, t(0), t(1), None).await,
            Err(LockError::Store(e)) if e.is_transient()
        ));
    }
}
