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
