//! The auditor's Python script in `docs/changelog-format.md` agrees with the Rust verifier.

use std::path::Path;
use std::process::{Command, Output};

use warden_core::changelog::{FileHeadStore, HeadStore};

use super::{edit_lines, log_with};

const FORMAT_DOC: &str = include_str!("../../../../docs/changelog-format.md");

/// The ```python block of the format document.
fn script() -> &'static str {
    let start = FORMAT_DOC.find("```python\n").unwrap() + "```python\n".len();
    let len = FORMAT_DOC[start..].find("```").unwrap();
    &FORMAT_DOC[start..start + len]
}

/// Runs the script, or returns `None` when `python3` is not installed.
fn run(args: &[&Path]) -> Option<Output> {
    let mut command = Command::new("python3");
    command.arg("-c").arg(script()).args(args);
    match command.output() {
        Ok(output) => Some(output),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("python3 not found; skipping the script check");
            None
        }
        Err(err) => panic!("running python3: {err}"),
    }
}

#[test]
fn documented_script_verifies_and_detects_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let head_path = dir.path().join("changes.head");
    let (log, store) = log_with(&path, 12);
    FileHeadStore::new(&head_path)
        .store(&store.get().unwrap())
        .unwrap();
    drop(log);

    let Some(ok) = run(&[&path, &head_path]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.starts_with("ok: 12 records"), "{stdout}");

    edit_lines(&path, |lines| lines.truncate(10));
    let Some(cut) = run(&[&path, &head_path]) else {
        return;
    };
    assert!(!cut.status.success());
    assert!(String::from_utf8_lossy(&cut.stderr).contains("head anchor"));

    edit_lines(&path, |lines| {
        let text = String::from_utf8(lines[4].clone()).unwrap();
        lines[4] = text.replace("role-5", "role-9").into_bytes();
    });
    let Some(edited) = run(&[&path]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&edited.stderr);
    assert!(!edited.status.success());
    assert!(stderr.contains("line 5 (seq 5): edited"), "{stderr}");
}

/// A segment (first record `recover`, continuing from an anchored head) verifies with the
/// documented script too, which names where it continues from.
#[test]
fn documented_script_verifies_a_segment() {
    use std::sync::Arc;
    use warden_core::changelog::{
        Action, Actor, ChangeEntry, ChangeLog, ChangeLogOptions, MacKey, MemoryHeadStore,
        ObjectKind, ObjectRef, Outcome, segment_entry_after,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let key = Arc::new(MacKey::generate());
    let anchored = warden_core::changelog::Head {
        seq: 41,
        hash: "cd".repeat(32),
    };
    let log = ChangeLog::open_keyed(
        &path,
        Box::new(MemoryHeadStore::new()),
        ChangeLogOptions::default(),
        Some(key),
    )
    .unwrap();
    let entry = ChangeEntry::new(
        Actor::User {
            uid: 0,
            user: Some("root".into()),
            pid: None,
        },
        ObjectRef::named(ObjectKind::Changelog, "changes.jsonl"),
        Action::Recover,
        Outcome::Ok,
    )
    .after(segment_entry_after(
        Some(&anchored),
        None,
        Default::default(),
    ));
    log.start_segment(Some(anchored), entry).unwrap();
    log.append(super::entry(1)).unwrap();
    drop(log);
    let Some(out) = run(&[&path]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("segment: continues from seq 41"),
        "{stdout}"
    );
    assert!(stdout.contains("ok: 43 records"), "{stdout}");
}
