//! The persisted job state file.

use chrono::TimeDelta;
use warden_core::schedule::{JobKey, JobKind, JobTable, Outcome, StateError, StateFile};

use crate::common::utc;

#[test]
fn state_file_round_trip_missing_and_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = StateFile::in_dir(dir.path());
    assert_eq!(file.path(), dir.path().join("jobs.json"));
    assert!(file.load().expect("missing file is empty").is_empty());

    let mut table = JobTable::default();
    let now = utc(2025, 5, 14, 9, 0);
    for (instance, outcome) in [
        ("acme", Outcome::Success),
        ("globex", Outcome::Failure("401".into())),
    ] {
        for kind in JobKind::ALL {
            let token = table
                .try_start(JobKey::new(instance, kind), now)
                .expect("start");
            table.finish(token, outcome.clone(), now + TimeDelta::seconds(3));
        }
    }
    file.save(table.states()).expect("save");
    assert_eq!(&file.load().expect("load"), table.states());
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert!(
        text.contains("\"rotation\"") && text.contains("\"version\": 1"),
        "{text}"
    );
    assert!(!dir.path().join("jobs.json.tmp").exists());

    std::fs::write(
        file.path(),
        "{\"version\": 1, \"jobs\": {\"acme\": {\"rotation\": 42",
    )
    .expect("write");
    let err = file.load().unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("corrupt") && msg.contains("move it aside") && msg.contains("jobs.json"),
        "{msg}"
    );

    std::fs::write(file.path(), "{\"version\": 9}").expect("write");
    assert!(matches!(
        file.load(),
        Err(StateError::UnsupportedVersion { found: 9, .. })
    ));
}

/// Saves of one state file from many threads at once (jobs finishing together) all succeed:
/// each writes its own temporary file (a shared `jobs.json.tmp` had one save rename or remove
/// another's file: "cannot write job state … No such file or directory"), and the file left
/// is one of the saved documents, whole.
#[test]
fn concurrent_saves_never_fail_and_leave_a_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::sync::Arc::new(StateFile::in_dir(dir.path()));
    let now = utc(2025, 5, 14, 9, 0);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let file = std::sync::Arc::clone(&file);
            std::thread::spawn(move || {
                let mut table = JobTable::default();
                let token = table
                    .try_start(JobKey::new(format!("inst{t}"), JobKind::Rotation), now)
                    .expect("start");
                table.finish(token, Outcome::Success, now);
                for _ in 0..50 {
                    file.save(table.states()).expect("a concurrent save failed");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a saving thread panicked");
    }
    let loaded = file.load().expect("the file left is whole");
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "jobs.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
