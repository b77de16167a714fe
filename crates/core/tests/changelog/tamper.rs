//! Tampering and crashes: what `verify` names and what `open` refuses.

use std::fs::{self, OpenOptions};
use std::io::Write;

use warden_core::changelog::{
    Action, ChangeLog, ChangeLogError, ChangeLogOptions, MemoryHeadStore, ObjectKind, ProblemKind,
    tail, verify,
};

use super::{edit_lines, entry, log_with};

/// Replaces the first occurrence of `from` in `line`.
fn replace(line: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(line.clone()).unwrap();
    assert!(text.contains(from), "{text} lacks {from}");
    *line = text.replacen(from, to, 1).into_bytes();
}

#[test]
fn edited_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 10);
    drop(log);
    edit_lines(&path, |lines| {
        replace(&mut lines[4], "Update Thing 5", "Update Thing 6")
    });
    let report = verify(&path, store.get());
    let problem = report.problem.clone().unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Edited, 5, Some(5))
    );
    assert_eq!(report.records, 4);
    assert!(
        report.to_string().contains("line 5 (seq 5): edited"),
        "{report}"
    );
}

#[test]
fn edited_and_rehashed_record_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 6);
    drop(log);
    // Record 3 of another log: same seq, its own hash checks out, but another `prev`.
    let other_dir = tempfile::tempdir().unwrap();
    let other_path = other_dir.path().join("other.jsonl");
    let (other, _) = log_with(&other_path, 0);
    other.append(entry(100)).unwrap();
    other.append(entry(200)).unwrap();
    other.append(entry(300)).unwrap();
    drop(other);
    let other_lines = fs::read(&other_path).unwrap();
    let other_third = other_lines.split(|&b| b == b'\n').nth(2).unwrap().to_vec();
    edit_lines(&path, |lines| lines[2] = other_third);
    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::ChainBroken, 3, Some(3))
    );
}

#[test]
fn deleted_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 10);
    drop(log);
    edit_lines(&path, |lines| {
        lines.remove(3);
    });
    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Deleted, 4, Some(5))
    );
    assert!(
        problem.message.contains("seq 4 is missing"),
        "{}",
        problem.message
    );
}

#[test]
fn reordered_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 10);
    drop(log);
    edit_lines(&path, |lines| lines.swap(3, 4));
    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Reordered, 4, Some(5))
    );
}

#[test]
fn truncated_file_is_caught_by_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 10);
    drop(log);
    edit_lines(&path, |lines| lines.truncate(7));
    // The chain alone cannot tell.
    assert!(verify(&path, None).is_ok());
    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Truncated, 8, Some(8))
    );
    assert!(
        problem.message.contains("last 3 record(s)"),
        "{}",
        problem.message
    );

    let err = ChangeLog::open(&path, Box::new(store.clone())).unwrap_err();
    assert!(matches!(err, ChangeLogError::HeadMismatch { .. }), "{err}");
    assert!(err.to_string().contains("wardenctl log verify"), "{err}");

    // Cutting everything is caught as well.
    fs::write(&path, b"").unwrap();
    assert_eq!(
        verify(&path, store.get()).problem.unwrap().kind,
        ProblemKind::Truncated
    );
    assert!(ChangeLog::open(&path, Box::new(store)).is_err());
}

#[test]
fn whole_file_rewrite_is_caught_by_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 5);
    drop(log);
    // The attacker writes a fresh, internally valid log of the same length over the file.
    fs::remove_file(&path).unwrap();
    let (forged, _) = log_with(&path, 0);
    for i in 1..=5 {
        forged.append(entry(i + 50)).unwrap();
    }
    drop(forged);
    assert!(verify(&path, None).is_ok());
    let report = verify(&path, store.get());
    let problem = report.problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::Rewritten, 5, Some(5))
    );

    let err = ChangeLog::open(&path, Box::new(store)).unwrap_err();
    assert!(err.to_string().contains("rewritten"), "{err}");
}

#[test]
fn torn_last_line_is_refused_unless_repair_is_requested() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 3);
    drop(log);
    let complete = fs::metadata(&path).unwrap().len();
    let torn = br#"{"seq":4,"time":"2026-11-22T19:23:00.000000Z","actor":{"ki"#;
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(torn)
        .unwrap();

    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.line, problem.seq),
        (ProblemKind::TornLastLine, 4, Some(4))
    );
    // tail skips the torn part.
    assert_eq!(tail(&path, 10).unwrap().len(), 3);

    let err = ChangeLog::open(&path, Box::new(store.clone())).unwrap_err();
    assert!(matches!(err, ChangeLogError::TornTail { bytes, .. } if bytes == torn.len() as u64));
    let message = err.to_string();
    assert!(
        message.contains("torn") && message.contains("wardenctl log verify"),
        "{message}"
    );
    assert!(message.contains("--repair-torn-tail"), "{message}");

    let options = ChangeLogOptions {
        repair_torn_tail: true,
        ..ChangeLogOptions::default()
    };
    let log = ChangeLog::open_with(&path, Box::new(store.clone()), options).unwrap();
    let saved = dir.path().join(format!("changes.jsonl.torn-at-{complete}"));
    assert_eq!(fs::read(&saved).unwrap(), torn);
    let repair = &tail(&path, 1).unwrap()[0];
    assert_eq!(
        (repair.seq, repair.action, repair.object.kind),
        (4, Action::Repair, ObjectKind::Changelog)
    );
    assert_eq!(repair.after["torn_bytes"], torn.len());
    assert_eq!(log.append(entry(5)).unwrap().seq, 5);
    let report = verify(&path, store.get());
    assert!(report.is_ok(), "{report}");
}

#[test]
fn missing_anchor_is_refused_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, _store) = log_with(&path, 3);
    drop(log);
    let fresh = MemoryHeadStore::new();
    let err = ChangeLog::open(&path, Box::new(fresh.clone())).unwrap_err();
    assert!(
        matches!(err, ChangeLogError::HeadMissing { records: 3, .. }),
        "{err}"
    );
    let options = ChangeLogOptions {
        accept_missing_head: true,
        ..ChangeLogOptions::default()
    };
    let log = ChangeLog::open_with(&path, Box::new(fresh.clone()), options).unwrap();
    assert_eq!(fresh.get(), log.head());
}

#[test]
fn edited_last_record_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 3);
    drop(log);
    edit_lines(&path, |lines| replace(&mut lines[2], "role-3", "role-X"));
    let err = ChangeLog::open(&path, Box::new(store)).unwrap_err();
    assert!(matches!(err, ChangeLogError::CorruptTail { .. }), "{err}");
}

#[test]
fn garbage_line_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let (log, store) = log_with(&path, 3);
    drop(log);
    edit_lines(&path, |lines| lines.insert(1, b"not json".to_vec()));
    let problem = verify(&path, store.get()).problem.unwrap();
    assert_eq!((problem.kind, problem.line), (ProblemKind::Malformed, 2));
}
