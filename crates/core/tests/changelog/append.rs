//! Appending, reopening, concurrency, redaction, durability and the anchor.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use chrono::{TimeZone, Utc};
use serde_json::json;
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, ChangeLogError, FileHeadStore, GENESIS_PREV, Head,
    HeadStore, HeadStoreError, MemoryHeadStore, ObjectKind, ObjectRef, Outcome, REDACTED, tail,
    verify,
};

use super::{entry, log_with};

#[test]
fn appended_records_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 10);
    let head = store.get().unwrap();
    assert_eq!(head.seq, 10);
    assert_eq!(log.head(), Some(head.clone()));
    assert!(log.head_in_sync());

    let report = verify(&path, Some(head.clone()));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 10);
    assert_eq!(report.last, Some(head));
    assert_eq!(report.head_lag, None);
    assert!(
        report.to_string().starts_with("ok: 10 record(s)"),
        "{report}"
    );

    let records = tail(&path, 3).unwrap();
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [8, 9, 10]
    );
    assert_eq!(records[0].prev, tail(&path, 4).unwrap()[0].hash);
    assert_eq!(records[2].object.name.as_deref(), Some("role-10"));
    assert_eq!(tail(&path, 1).unwrap()[0].hash, log.head().unwrap().hash);
}

#[test]
fn first_record_starts_the_chain_and_time_comes_from_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let fixed = Utc.with_ymd_and_hms(2026, 11, 22, 19, 23, 0).unwrap();
    let log = ChangeLog::open(&path, Box::new(MemoryHeadStore::new()))
        .unwrap()
        .with_clock(warden_core::clock::fixed(fixed));
    let record = log.append(entry(1)).unwrap();
    assert_eq!((record.seq, record.prev.as_str()), (1, GENESIS_PREV));
    assert_eq!(record.time, fixed);
    let line = fs::read_to_string(&path).unwrap();
    assert!(line.starts_with(r#"{"seq":1,"time":"2026-11-22T19:23:00.000000Z","actor":{"kind":"schedule","job":"drift:prod"},"instance":"prod","object":{"kind":"role","name":"role-1","id":"1"},"action":"update","#), "{line}");
    assert!(line.ends_with(&format!(",\"hash\":\"{}\"}}\n", record.hash)));
}

#[test]
fn reopen_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 3);
    drop(log);
    let log = ChangeLog::open(&path, Box::new(store.clone())).unwrap();
    assert_eq!(log.head().map(|h| h.seq), Some(3));
    let record = log.append(entry(4)).unwrap();
    assert_eq!(record.seq, 4);
    log.append(entry(5)).unwrap();
    let report = verify(&path, store.get());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 5);
}

#[test]
fn file_is_private_and_every_append_is_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let head_path = dir.path().join("changes.head");
    let log = ChangeLog::open(&path, Box::new(FileHeadStore::new(&head_path))).unwrap();
    for i in 1..=5 {
        log.append(entry(i)).unwrap();
        assert_eq!(log.fsyncs(), i as u64);
    }
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let anchored = FileHeadStore::new(&head_path).load().unwrap();
    assert_eq!(anchored, log.head());
    drop(log);
    let report = verify(&path, anchored);
    assert!(report.is_ok(), "{report}");
}

#[test]
fn concurrent_appends_are_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 0);
    let log = Arc::new(log);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..100 {
                    seqs.push(log.append(entry(t * 1000 + i)).unwrap().seq);
                }
                seqs
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=800).collect::<Vec<_>>());
    assert_eq!(log.fsyncs(), 800);
    let report = verify(&path, store.get());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_appends_run_on_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 0);
    let log = Arc::new(log);
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                for i in 0..25 {
                    log.append_async(entry(t * 100 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let report = verify(&path, store.get());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 100);
}

#[test]
fn secrets_are_redacted_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, _store) = log_with(&path, 0);
    let rotation = ChangeEntry::new(
        Actor::User {
            uid: 1000,
            user: Some("alice".to_owned()),
            pid: Some(4242),
        },
        ObjectRef::named(ObjectKind::Secret, "backup").with_id("client-7"),
        Action::Rotate,
        Outcome::Ok,
    )
    .instance("prod")
    .after(json!({
        "client_id": "client-7",
        "vault_path": "jamf/prod/backup",
        "vault_version": 4,
        "client_secret": "hunter2-super-secret",
        "response": {"accessToken": "eyJhbGciOi", "clientSecret": "s3cr3t"},
    }));
    let record = log.append(rotation).unwrap();
    assert_eq!(record.after["client_secret"], REDACTED);
    assert_eq!(record.after["response"]["accessToken"], REDACTED);
    assert_eq!(record.after["vault_version"], 4);
    assert_eq!(record.after["vault_path"], "jamf/prod/backup");
    let content = fs::read_to_string(&path).unwrap();
    for secret in ["hunter2", "eyJhbGciOi", "s3cr3t"] {
        assert!(!content.contains(secret), "{secret} leaked: {content}");
    }
    assert_eq!(tail(&path, 1).unwrap()[0], record);
}

#[test]
fn known_secrets_are_scrubbed_on_append_wherever_they_are() {
    // a secret under an innocent key, in an error and nested: only its value betrays it
    let secret = "append-known-secret-4Rt9";
    warden_core::changelog::remember_secret("test:append", &secrecy::SecretString::from(secret));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, _store) = log_with(&path, 0);
    let failed = ChangeEntry::new(
        Actor::Daemon,
        ObjectRef::named(ObjectKind::Secret, "backup"),
        Action::Rotate,
        Outcome::Failed,
    )
    .before(json!({"note": format!("jamf said {secret}")}))
    .after(json!([{"detail": secret}]))
    .error(format!("token request refused: client_secret={secret}"));
    let record = log.append(failed).unwrap();
    warden_core::changelog::forget_secret("test:append");
    let content = fs::read_to_string(&path).unwrap();
    assert!(!content.contains(secret), "{content}");
    assert_eq!(record.before["note"], format!("jamf said {REDACTED}"));
    assert_eq!(
        record.error.as_deref(),
        Some(format!("token request refused: client_secret={REDACTED}").as_str())
    );
    assert!(verify(&path, None).is_ok());
}

#[test]
fn oversized_record_is_refused_and_the_log_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 1);
    let huge = entry(2).after(json!({"blob": "x".repeat(2 * 1024 * 1024)}));
    let err = log.append(huge).unwrap_err();
    assert!(
        matches!(err, ChangeLogError::RecordTooLarge { seq: 2, .. }),
        "{err}"
    );
    assert_eq!(log.append(entry(2)).unwrap().seq, 2);
    assert!(verify(&path, store.get()).is_ok());
}

/// An anchor that fails while `failing` is set.
#[derive(Default)]
struct FlakyHeadStore {
    failing: AtomicBool,
    head: Mutex<Option<Head>>,
}

impl HeadStore for FlakyHeadStore {
    fn load(&self) -> Result<Option<Head>, HeadStoreError> {
        Ok(self.head.lock().unwrap().clone())
    }

    fn store(&self, head: &Head) -> Result<(), HeadStoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HeadStoreError::Backend("vault is sealed".into()));
        }
        *self.head.lock().unwrap() = Some(head.clone());
        Ok(())
    }
}

#[test]
fn anchor_failure_does_not_fail_the_append_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let store = Arc::new(FlakyHeadStore::default());
    let log = ChangeLog::open(&path, Box::new(Arc::clone(&store))).unwrap();
    log.append(entry(1)).unwrap();
    store.failing.store(true, Ordering::SeqCst);
    assert_eq!(log.append(entry(2)).unwrap().seq, 2);
    assert!(!log.head_in_sync());
    assert_eq!(store.load().unwrap().map(|h| h.seq), Some(1));

    // The anchor lags: the file is consistent with it.
    let report = verify(&path, store.load().unwrap());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head_lag, Some(1));

    store.failing.store(false, Ordering::SeqCst);
    log.append(entry(3)).unwrap();
    assert!(log.head_in_sync());
    assert_eq!(store.load().unwrap(), log.head());
}

#[test]
fn reopen_catches_up_a_lagging_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 5);
    let third = tail(&path, 3).unwrap()[0].clone();
    drop(log);
    // A crash between the fsync of records 4 and 5 and their anchor updates.
    store.set(Some(Head {
        seq: third.seq,
        hash: third.hash,
    }));
    let log = ChangeLog::open(&path, Box::new(store.clone())).unwrap();
    assert!(log.head_in_sync());
    assert_eq!(store.get().map(|h| h.seq), Some(5));
}

#[test]
fn tail_reads_from_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (_log, _store) = log_with(&path, 2000);
    let seqs = |n| {
        tail(&path, n)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(5), [1996, 1997, 1998, 1999, 2000]);
    assert!(seqs(0).is_empty());
    assert_eq!(seqs(5000).len(), 2000);
    assert_eq!(seqs(5000)[0], 1);
}
