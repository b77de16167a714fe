//! An in-memory [`SecretStore`] with KV v2 check-and-set semantics, and failure injection
//! (also as a wrapper, [`FaultyStore`], around any store such as the real Vault). For tests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::store::SecretStore;
use crate::vault::{KvMetadata, SecretMap, VaultError, VersionInfo, Versioned};

/// Injected failures, shared by [`MemoryStore`] and [`FaultyStore`]. Every injected failure is
/// [`VaultError::Unavailable`], which is what a Vault outage looks like to the engine.
#[derive(Debug, Default)]
pub struct Faults {
    down: AtomicBool,
    fail_writes: AtomicU32,
    fail_secret_writes: AtomicU32,
    failed: AtomicU64,
    writes: AtomicU64,
}

/// Which kind of operation is being checked against the injected faults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    SecretWrite,
    OtherWrite,
}

impl Faults {
    /// Makes every operation fail (`true`) or work again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Makes the next `n` writes of any kind (secret data, JSON data, metadata) fail.
    pub fn fail_next_writes(&self, n: u32) {
        self.fail_writes.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` secret data writes (`write_secret_cas` only) fail; metadata and lock
    /// writes keep working.
    pub fn fail_next_secret_writes(&self, n: u32) {
        self.fail_secret_writes.store(n, Ordering::SeqCst);
    }

    /// How many operations failed because of an injected fault.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// How many writes got through (whatever their result).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn check(&self, op: Op) -> Result<(), VaultError> {
        let take = |counter: &AtomicU32| {
            counter
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        };
        let fail = self.down.load(Ordering::SeqCst)
            || (op == Op::SecretWrite && take(&self.fail_secret_writes))
            || (op != Op::Read && take(&self.fail_writes));
        if fail {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(VaultError::Unavailable {
                address: "test-store".into(),
                detail: "injected failure".into(),
            });
        }
        if op != Op::Read {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// One KV v2 path: its versions and custom metadata.
#[derive(Default)]
struct Entry {
    current_version: u64,
    versions: BTreeMap<u64, Value>,
    custom: BTreeMap<String, String>,
}

/// An in-memory KV v2 store with check-and-set, whole-map custom metadata and
/// [`Faults`]. `Debug` shows paths and versions, never data.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Entry>>,
    faults: Faults,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let versions: Vec<(String, u64)> = self
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.current_version))
            .collect();
        f.debug_struct("MemoryStore")
            .field("paths", &versions)
            .field("faults", &self.faults)
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The injected failures.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every path that has data or metadata, sorted (a test's view, like a `LIST`; no fault
    /// applies).
    pub fn paths(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Version `version` of the data at `path`, as written (a test's view, like a read with
    /// `?version=N`; no fault applies).
    pub fn version(&self, path: &str, version: u64) -> Option<Value> {
        self.lock()
            .get(path)
            .and_then(|e| e.versions.get(&version).cloned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn read_value(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        self.faults.check(Op::Read)?;
        let entries = self.lock();
        Ok(entries.get(path).and_then(|e| {
            e.versions.get(&e.current_version).map(|v| Versioned {
                version: e.current_version,
                value: v.clone(),
            })
        }))
    }

    fn write_value(&self, path: &str, value: Value, cas: u64, op: Op) -> Result<u64, VaultError> {
        self.faults.check(op)?;
        let mut entries = self.lock();
        let entry = entries.entry(path.to_string()).or_default();
        if entry.current_version != cas {
            return Err(VaultError::CasConflict {
                path: path.to_string(),
            });
        }
        entry.current_version += 1;
        entry.versions.insert(entry.current_version, value);
        Ok(entry.current_version)
    }
}

impl SecretStore for MemoryStore {
    fn full_path(&self, path: &str) -> String {
        path.to_string()
    }

    async fn read_secret(&self, path: &str) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        let Some(v) = self.read_value(path)? else {
            return Ok(None);
        };
        let Value::Object(obj) = v.value else {
            return Err(VaultError::Decode {
                path: path.to_string(),
                detail: "the secret's data is not an object".into(),
            });
        };
        let mut map = SecretMap::new();
        for (k, v) in obj {
            let s = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            map.insert(k, SecretString::from(s));
        }
        Ok(Some(Versioned {
            version: v.version,
            value: map,
        }))
    }

    async fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> Result<u64, VaultError> {
        let json = Value::Object(
            data.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_string())))
                .collect(),
        );
        self.write_value(path, json, cas, Op::SecretWrite)
    }

    async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        self.read_value(path)
    }

    async fn write_json_cas(&self, path: &str, data: &Value, cas: u64) -> Result<u64, VaultError> {
        self.write_value(path, data.clone(), cas, Op::OtherWrite)
    }

    async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
        self.faults.check(Op::Read)?;
        let entries = self.lock();
        Ok(entries.get(path).map(|e| KvMetadata {
            current_version: e.current_version,
            custom: e.custom.clone(),
            versions: e
                .versions
                .keys()
                .map(|v| {
                    (
                        *v,
                        VersionInfo {
                            created_time: String::new(),
                            deleted: false,
                            destroyed: false,
                        },
                    )
                })
                .collect(),
        }))
    }

    async fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        self.faults.check(Op::OtherWrite)?;
        let mut entries = self.lock();
        entries.entry(path.to_string()).or_default().custom = custom.clone();
        Ok(())
    }
}

/// Any [`SecretStore`] with [`Faults`] injected in front of it, e.g. the real Vault in
/// integration tests ("the first N writes after the mint fail").
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    faults: Faults,
}

impl<S> FaultyStore<S> {
    /// Wraps a store; no fault is injected until one is set.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            faults: Faults::default(),
        }
    }

    /// The injected failures.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: SecretStore> SecretStore for FaultyStore<S> {
    fn full_path(&self, path: &str) -> String {
        self.inner.full_path(path)
    }

    async fn read_secret(&self, path: &str) -> Result<Option<Versioned<SecretMap>>, VaultError> {
        self.faults.check(Op::Read)?;
        self.inner.read_secret(path).await
    }

    async fn write_secret_cas(
        &self,
        path: &str,
        data: &SecretMap,
        cas: u64,
    ) -> Result<u64, VaultError> {
        self.faults.check(Op::SecretWrite)?;
        self.inner.write_secret_cas(path, data, cas).await
    }

    async fn read_json(&self, path: &str) -> Result<Option<Versioned<Value>>, VaultError> {
        self.faults.check(Op::Read)?;
        self.inner.read_json(path).await
    }

    async fn write_json_cas(&self, path: &str, data: &Value, cas: u64) -> Result<u64, VaultError> {
        self.faults.check(Op::OtherWrite)?;
        self.inner.write_json_cas(path, data, cas).await
    }

    async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, VaultError> {
        self.faults.check(Op::Read)?;
        self.inner.read_metadata(path).await
    }

    async fn write_custom_metadata(
        &self,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        self.faults.check(Op::OtherWrite)?;
        self.inner.write_custom_metadata(path, custom).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(v: &str) -> SecretMap {
        let mut m = SecretMap::new();
        m.insert("client_secret", SecretString::from(v.to_string()));
        m
    }

    #[tokio::test]
    async fn cas_semantics_match_kv_v2() {
        let s = MemoryStore::new();
        assert!(s.read_secret("a").await.unwrap().is_none());
        assert_eq!(s.write_secret_cas("a", &secret("x"), 0).await.unwrap(), 1);
        let err = s.write_secret_cas("a", &secret("y"), 0).await.unwrap_err();
        assert!(matches!(err, VaultError::CasConflict { .. }));
        assert_eq!(s.write_secret_cas("a", &secret("y"), 1).await.unwrap(), 2);
        let latest = s.read_secret("a").await.unwrap().unwrap();
        assert_eq!(latest.version, 2);
        assert_eq!(
            latest.value.get("client_secret").unwrap().expose_secret(),
            "y"
        );
        // metadata on a fresh path creates an entry at version 0; cas 0 still creates
        let mut custom = BTreeMap::new();
        custom.insert("state".to_string(), "pending".to_string());
        s.write_custom_metadata("b", &custom).await.unwrap();
        assert_eq!(
            s.read_metadata("b").await.unwrap().unwrap().current_version,
            0
        );
        assert_eq!(s.write_json_cas("b", &Value::Null, 0).await.unwrap(), 1);
        assert_eq!(s.paths(), ["a", "b"]);
        assert_eq!(
            s.version("a", 1).unwrap()["client_secret"],
            Value::String("x".into())
        );
        assert!(s.version("a", 3).is_none());
        // the whole map is replaced
        s.write_custom_metadata("b", &BTreeMap::new())
            .await
            .unwrap();
        assert!(
            s.read_metadata("b")
                .await
                .unwrap()
                .unwrap()
                .custom
                .is_empty()
        );
    }

    #[tokio::test]
    async fn injected_failures_count_down() {
        let s = MemoryStore::new();
        s.faults().fail_next_writes(2);
        assert!(s.write_secret_cas("a", &secret("x"), 0).await.is_err());
        assert!(s.write_json_cas("a", &Value::Null, 0).await.is_err());
        assert_eq!(s.write_secret_cas("a", &secret("x"), 0).await.unwrap(), 1);
        s.faults().fail_next_secret_writes(1);
        s.write_custom_metadata("a", &BTreeMap::new())
            .await
            .unwrap();
        let err = s.write_secret_cas("a", &secret("y"), 1).await.unwrap_err();
        assert!(err.is_transient());
        s.faults().set_down(true);
        assert!(s.read_metadata("a").await.is_err());
        s.faults().set_down(false);
        assert_eq!(s.faults().failed(), 4);
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("\"x\""), "{dbg}");
    }

    #[tokio::test]
    async fn faulty_store_wraps_another_store() {
        let s = FaultyStore::new(MemoryStore::new());
        s.faults().fail_next_secret_writes(1);
        assert!(s.write_secret_cas("a", &secret("x"), 0).await.is_err());
        assert_eq!(s.write_secret_cas("a", &secret("x"), 0).await.unwrap(), 1);
        assert_eq!(
            s.inner().read_secret("a").await.unwrap().unwrap().version,
            1
        );
    }
}
