//! Segments: after a lost state directory the log continues in a new file whose first record
//! (`recover`, MAC'd) cites the head anchored in Vault; verification accepts it in place of
//! `seq 1`, shows the recovery point and checks the earlier file against the cited head.

use std::sync::Arc;

use serde_json::json;
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, ChangeLogOptions, MacKey, MemoryHeadStore, ObjectKind,
    ObjectRef, Outcome, ProblemKind, segment_entry_after, verify_with,
};

use super::entry;

fn recover_entry(after: serde_json::Value) -> ChangeEntry {
    ChangeEntry::new(
        Actor::User {
            uid: 1234,
            user: None,
            pid: None,
        },
        ObjectRef::named(ObjectKind::Changelog, "changes.jsonl"),
        Action::Recover,
        Outcome::Ok,
    )
    .after(after)
}

fn open(path: &std::path::Path, key: &Arc<MacKey>) -> (ChangeLog, MemoryHeadStore) {
    let store = MemoryHeadStore::new();
    let log = ChangeLog::open_keyed(
        path,
        Box::new(store.clone()),
        ChangeLogOptions::default(),
        Some(Arc::clone(key)),
    )
    .unwrap();
    (log, store)
}

#[test]
fn a_segment_continues_the_chain_from_the_anchored_head_and_verifies_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(MacKey::generate());
    let path = dir.path().join("changes.jsonl");
    let (log, _) = open(&path, &key);
    for i in 1..=3 {
        log.append(entry(i)).unwrap();
    }
    let anchored = log.head().unwrap();
    drop(log);
    let moved = dir.path().join("changes.jsonl.before-recovery");
    std::fs::rename(&path, &moved).unwrap();

    let (log, _) = open(&path, &key);
    let after = segment_entry_after(
        Some(&anchored),
        Some(&moved),
        serde_json::Map::from_iter([("jobs_rebuilt".to_string(), json!(2))]),
    );
    let first = log
        .start_segment(Some(anchored.clone()), recover_entry(after.clone()))
        .unwrap();
    assert_eq!(first.seq, 4);
    assert_eq!(first.prev, anchored.hash);
    // only an empty log starts a segment
    assert!(log.start_segment(None, recover_entry(after)).is_err());
    log.append(entry(5)).unwrap();
    let head = log.head().unwrap();
    assert_eq!(head.seq, 5);

    let report = verify_with(&path, Some(head.clone()), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 5);
    assert_eq!(report.recovery_points.len(), 1, "{report}");
    let point = &report.recovery_points[0];
    assert_eq!(point.seq, 4);
    assert_eq!(point.uid, Some(1234));
    assert_eq!(point.continues_from.as_ref(), Some(&anchored));
    assert!(
        point.previous.starts_with("ok: 3 record(s)"),
        "{}",
        point.previous
    );
    assert!(
        point.previous.contains("matches the head anchor"),
        "{}",
        point.previous
    );
    let text = report.to_string();
    assert!(text.contains("recovery point at seq 4"), "{text}");
    assert!(text.contains("by uid 1234"), "{text}");

    // the anchor still at the cited head (re-anchoring not yet done): consistent, lagging
    let report = verify_with(&path, Some(anchored.clone()), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head_lag, Some(2));

    // the earlier file edited: reported in the recovery point; this segment still verifies
    let text = std::fs::read_to_string(&moved).unwrap();
    std::fs::write(&moved, text.replacen("role-2", "role-X", 1)).unwrap();
    let report = verify_with(&path, Some(head.clone()), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert!(
        report.recovery_points[0].previous.starts_with("FAILED"),
        "{}",
        report.recovery_points[0].previous
    );
    // the earlier file gone: said so
    std::fs::remove_file(&moved).unwrap();
    let report = verify_with(&path, Some(head), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert!(
        report.recovery_points[0]
            .previous
            .contains("is not present"),
        "{}",
        report.recovery_points[0].previous
    );
}

#[test]
fn a_segment_start_not_written_by_the_key_holder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(MacKey::generate());
    let other = Arc::new(MacKey::generate());
    let path = dir.path().join("changes.jsonl");
    let anchored = warden_core::changelog::Head {
        seq: 9,
        hash: "ab".repeat(32),
    };
    // written with another key: its MAC does not verify under the daemon's
    let (log, _) = open(&path, &other);
    let after = segment_entry_after(Some(&anchored), None, serde_json::Map::new());
    log.start_segment(Some(anchored.clone()), recover_entry(after))
        .unwrap();
    let report = verify_with(&path, None, Some(&key));
    assert_eq!(
        report.problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::MacInvalid),
        "{report}"
    );
    // an ordinary record at seq 10 (not a recover record) does not start a segment
    let path = dir.path().join("plain.jsonl");
    let (log, _) = open(&path, &key);
    let entry = entry(1);
    log.start_segment(Some(anchored), entry).unwrap();
    let report = verify_with(&path, None, Some(&key));
    assert!(report.problem.is_some(), "{report}");
}
