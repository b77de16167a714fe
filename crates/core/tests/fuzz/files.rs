//! Parsers that read files: the config and desired-state files (TOML, written by operators but
//! possibly by anyone who can write them), the schedule state file, the change log and its
//! head anchor file (the state directory, which an intruder may have written).

use std::path::Path;

use proptest::prelude::*;
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, FileHeadStore, HeadStore, MemoryHeadStore, ObjectKind,
    ObjectRef, Outcome, tail, verify,
};
use warden_core::config::{Config, LoadOptions, check_desired_file};
use warden_core::schedule::StateFile;

use crate::common::{
    assert_clear, bytes, cases, mutated_json, mutated_toml, oversize_inputs, within_memory,
    within_memory_factor,
};

/// The `toml` crate tokenises a whole document before parsing it: on malformed input it holds
/// about 53 bytes per input byte (a million `[`) and 77 (inline tables nested 170,000 deep).
/// Linear, but more than JSON: the config and desired files get this factor, and their size
/// cap (see `docs/fuzzing.md`) is what keeps the absolute number small.
const TOML_FACTOR: usize = 96;

const WARDEND: &str = include_str!("../../../../config/wardend.toml");
const DEMO: &str = include_str!("../../../../config/demo.toml");
const BASELINE: &str = include_str!("../../../../config/baseline.toml");
const ACME: &str = include_str!("../../../../config/desired/acme.toml");
const DRIFTY: &str = include_str!("../../../../config/desired/drifty.toml");

/// A directory with the shipped desired files where the shipped configs expect them, so that
/// mutated configs reach the desired-state merge too.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("desired")).expect("mkdir");
    for (name, text) in [
        ("baseline.toml", BASELINE),
        ("desired/acme.toml", ACME),
        ("desired/clean.toml", ACME),
        ("desired/drifty.toml", DRIFTY),
    ] {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn load_config(dir: &Path, text: &[u8]) {
    let path = dir.join("wardend.toml");
    std::fs::write(&path, text).expect("write");
    let r = within_memory_factor("config", text, TOML_FACTOR, |_| {
        Config::load_with(&path, &LoadOptions::default())
    });
    if let Err(errors) = r {
        assert!(!errors.is_empty(), "an error list with no error");
        assert_clear("config", &errors);
    }
}

fn check_desired(dir: &Path, text: &[u8]) {
    let path = dir.join("desired.toml");
    std::fs::write(&path, text).expect("write");
    if let Err(errors) =
        within_memory_factor("desired", text, TOML_FACTOR, |_| check_desired_file(&path))
    {
        assert!(!errors.is_empty(), "an error list with no error");
        assert_clear("desired", &errors);
    }
}

fn load_state(dir: &Path, text: &[u8]) {
    let path = dir.join("schedule-state.json");
    std::fs::write(&path, text).expect("write");
    if let Err(e) = within_memory("state", text, |_| StateFile::at(&path).load()) {
        assert_clear("state", &e);
    }
}

fn state_samples() -> Vec<Vec<u8>> {
    vec![
        br#"{"version":1,"jobs":{"prod":{"drift":{"last_success":"2026-12-01T00:00:00Z","last_attempt":"2026-12-01T00:00:05Z","consecutive_failures":0},"rotation":{"last_attempt":"2026-12-01T00:00:05Z","last_error":"jamf pro server error 503","consecutive_failures":3}}}}"#.to_vec(),
        br#"{"version":1,"jobs":{}}"#.to_vec(),
    ]
}

/// A valid change log of a few records, as the daemon writes it.
fn changelog_sample() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("changes.jsonl");
    let log = ChangeLog::open(&path, Box::new(MemoryHeadStore::new())).expect("open");
    for (i, action) in [Action::Create, Action::Rotate, Action::Delete]
        .into_iter()
        .enumerate()
    {
        let entry = ChangeEntry::new(
            Actor::Schedule {
                job: format!("rotate:prod:client-{i}"),
            },
            ObjectRef::named(ObjectKind::Role, format!("Reader {i}")).with_id(i.to_string()),
            action,
            Outcome::Ok,
        )
        .instance("prod")
        .before(serde_json::json!({"privileges": ["Read Computers"]}))
        .after(serde_json::json!({"privileges": ["Read Computers", "Read Mobile Devices"]}));
        log.append(entry).expect("append");
    }
    drop(log);
    std::fs::read(&path).expect("read")
}

/// One damaged line of a valid log, kept between the intact ones.
fn damaged_log() -> impl Strategy<Value = Vec<u8>> {
    let sample = changelog_sample();
    let lines: Vec<Vec<u8>> = sample
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let n = lines.len();
    (
        0..n,
        prop_oneof![mutated_json(lines.clone()), bytes(256)],
        any::<bool>(),
    )
        .prop_map(move |(at, damaged, newline)| {
            let mut out = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                out.extend_from_slice(if i == at { &damaged } else { line });
                if i + 1 < n || newline {
                    out.push(b'\n');
                }
            }
            out
        })
}

fn read_log(dir: &Path, bytes: &[u8]) {
    let path = dir.join("changes.jsonl");
    std::fs::write(&path, bytes).expect("write");
    let report = within_memory("log verify", bytes, |_| verify(&path, None));
    if let Some(p) = &report.problem {
        assert_clear("log verify", &p.message);
    }
    if let Err(e) = within_memory("log tail", bytes, |_| tail(&path, 5)) {
        assert_clear("log tail", &e);
    }
    let head = dir.join("head.json");
    std::fs::write(&head, bytes).expect("write");
    if let Err(e) = within_memory("head anchor", bytes, |_| FileHeadStore::new(&head).load()) {
        assert_clear("head anchor", &e);
    }
}

proptest! {
    #![proptest_config(cases(96))]

    #[test]
    fn configs(text in prop_oneof![
        3 => mutated_toml(vec![WARDEND, DEMO]),
        1 => bytes(512),
    ]) {
        let dir = config_dir();
        load_config(dir.path(), &text);
    }

    #[test]
    fn desired_files(text in prop_oneof![
        3 => mutated_toml(vec![BASELINE, ACME, DRIFTY]),
        1 => bytes(512),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        check_desired(dir.path(), &text);
    }

    #[test]
    fn schedule_state_files(text in prop_oneof![bytes(512), mutated_json(state_samples())]) {
        let dir = tempfile::tempdir().unwrap();
        load_state(dir.path(), &text);
    }

    #[test]
    fn change_logs_and_head_anchors(log in prop_oneof![3 => damaged_log(), 1 => bytes(512)]) {
        let dir = tempfile::tempdir().unwrap();
        read_log(dir.path(), &log);
    }
}

#[test]
fn the_samples_are_valid() {
    let dir = config_dir();
    std::fs::write(dir.path().join("desired.toml"), ACME).unwrap();
    check_desired_file(&dir.path().join("desired.toml")).expect("acme.toml is valid");
    for s in state_samples() {
        std::fs::write(dir.path().join("s.json"), &s).unwrap();
        StateFile::at(dir.path().join("s.json"))
            .load()
            .expect("a valid state file");
    }
    std::fs::write(dir.path().join("log"), changelog_sample()).unwrap();
    let report = verify(&dir.path().join("log"), None);
    assert!(report.is_ok(), "{:?}", report.problem);
}

#[test]
fn oversize_files_are_read_or_refused_within_bounds() {
    let dir = config_dir();
    for (_, input) in oversize_inputs() {
        load_config(dir.path(), &input);
        check_desired(dir.path(), &input);
        load_state(dir.path(), &input);
        read_log(dir.path(), &input);
    }
}
