//! Integration tests of `warden_core::changelog`.

mod append;
mod mac;
mod python;
mod segment;
mod tamper;

use std::fs;
use std::path::Path;

use serde_json::json;
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, MemoryHeadStore, ObjectKind, ObjectRef, Outcome,
};

/// A typical drift-fix entry for role number `i`.
pub fn entry(i: usize) -> ChangeEntry {
    ChangeEntry::new(
        Actor::Schedule {
            job: "drift:prod".to_owned(),
        },
        ObjectRef::named(ObjectKind::Role, format!("role-{i}")).with_id(i.to_string()),
        Action::Update,
        Outcome::Ok,
    )
    .instance("prod")
    .before(json!({"privileges": ["Read Computers"]}))
    .after(json!({"privileges": ["Read Computers", format!("Update Thing {i}")]}))
}

/// A log at `path` with `n` records and the in-memory anchor it uses.
pub fn log_with(path: &Path, n: usize) -> (ChangeLog, MemoryHeadStore) {
    let store = MemoryHeadStore::new();
    let log = ChangeLog::open(path, Box::new(store.clone())).unwrap();
    for i in 1..=n {
        log.append(entry(i)).unwrap();
    }
    (log, store)
}

/// Rewrites the complete lines of `path` through `edit` (newlines are re-added).
pub fn edit_lines(path: &Path, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let content = fs::read(path).unwrap();
    let mut lines: Vec<Vec<u8>> = content
        .split_inclusive(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\n").unwrap().to_vec())
        .collect();
    edit(&mut lines);
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    fs::write(path, out).unwrap();
}
