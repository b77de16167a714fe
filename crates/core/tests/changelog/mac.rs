//! Record MACs (issue 12 item 7): a record not written by the key holder is detected even when
//! it is chained correctly; logs written before MACs stay verifiable; the documented script and
//! `openssl` line agree with the Rust verifier.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use warden_core::changelog::{
    ChangeLog, ChangeLogOptions, MacKey, MemoryHeadStore, ProblemKind, verify, verify_with,
};

use super::{edit_lines, entry};

const FORMAT_DOC: &str = include_str!("../../../../docs/changelog-format.md");

fn keyed_log(path: &Path, store: &MemoryHeadStore, key: &Arc<MacKey>) -> ChangeLog {
    ChangeLog::open_keyed(
        path,
        Box::new(store.clone()),
        ChangeLogOptions::default(),
        Some(Arc::clone(key)),
    )
    .unwrap()
}

/// A record chained after the last line of `path`, as someone who can write the file but has
/// no key computes it, with `mac` as given.
fn forge(path: &Path, mac: impl FnOnce(&[u8]) -> Option<String>) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let body = format!(
        r#"{{"seq":{},"time":"2026-12-01T10:00:00.000000Z","actor":{{"kind":"daemon"}},"instance":null,"object":{{"kind":"config","name":"x","id":null}},"action":"reload","before":null,"after":null,"outcome":"ok","error":null,"prev":"{}"}}"#,
        last["seq"].as_u64().unwrap() + 1,
        last["hash"].as_str().unwrap()
    );
    let mut unhashed = body.as_bytes()[..body.len() - 1].to_vec();
    if let Some(mac) = mac(body.as_bytes()) {
        unhashed.extend_from_slice(format!(r#","mac":"{mac}""#).as_bytes());
    }
    unhashed.push(b'}');
    let hash = hex::encode(Sha256::digest(&unhashed));
    let mut line = unhashed[..unhashed.len() - 1].to_vec();
    line.extend_from_slice(format!(r#","hash":"{hash}"}}"#).as_bytes());
    line
}

#[test]
fn a_keyed_log_verifies_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let key = Arc::new(MacKey::generate());
    let store = MemoryHeadStore::new();
    let log = keyed_log(&path, &store, &key);
    for i in 1..=5 {
        let record = log.append(entry(i)).unwrap();
        assert!(record.mac.is_some());
    }
    drop(log);
    let report = verify_with(&path, store.get(), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.legacy_records), (5, 0));
    assert!(report.macs_checked);
    let other = MacKey::generate();
    let report = verify_with(&path, store.get(), Some(&other));
    let problem = report.problem.expect("another key");
    assert_eq!(
        (problem.kind, problem.seq, problem.line),
        (ProblemKind::MacInvalid, Some(1), 1)
    );
    // Without a key: chain and hashes only, and it says so.
    let report = verify(&path, store.get());
    assert!(report.is_ok());
    assert!(
        report.to_string().contains("not checked (no key)"),
        "{report}"
    );
}

#[test]
fn forged_records_chained_correctly_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let key = Arc::new(MacKey::generate());
    let store = MemoryHeadStore::new();
    drop({
        let log = keyed_log(&path, &store, &key);
        for i in 1..=3 {
            log.append(entry(i)).unwrap();
        }
        log
    });
    let genuine = std::fs::read(&path).unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(genuine.split(|&b| b == b'\n').next().unwrap()).unwrap();
    let copied = first["mac"].as_str().unwrap().to_owned();
    let guess = MacKey::generate();
    type Mac<'a> = Box<dyn FnOnce(&[u8]) -> Option<String> + 'a>;
    let cases: [(&str, Mac<'_>, ProblemKind); 3] = [
        ("no mac", Box::new(|_| None), ProblemKind::MacMissing),
        (
            "another key",
            Box::new(|m: &[u8]| Some(guess.mac_hex(m))),
            ProblemKind::MacInvalid,
        ),
        (
            "a copied mac",
            Box::new(|_| Some(copied.clone())),
            ProblemKind::MacInvalid,
        ),
    ];
    for (what, mac, kind) in cases {
        std::fs::write(&path, &genuine).unwrap();
        let line = forge(&path, mac);
        edit_lines(&path, |lines| lines.push(line));
        let report = verify_with(&path, store.get(), Some(&key));
        let problem = report.problem.clone().expect(what);
        assert_eq!(
            (problem.kind, problem.seq, problem.line),
            (kind, Some(4), 4),
            "{what}: {report}"
        );
        assert_eq!(report.records, 3, "{what}");
        assert!(problem.message.contains("record seq 4"), "{problem:?}");
        assert!(problem.message.contains("restore the log"), "{problem:?}");
        // A missing MAC after MAC'd records is caught even without the key.
        let unkeyed = verify(&path, store.get());
        assert_eq!(unkeyed.is_ok(), kind == ProblemKind::MacInvalid, "{what}");
    }
}

#[test]
fn logs_from_before_macs_stay_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let store = MemoryHeadStore::new();
    drop({
        let log = ChangeLog::open(&path, Box::new(store.clone())).unwrap();
        for i in 1..=3 {
            assert!(log.append(entry(i)).unwrap().mac.is_none());
        }
        log
    });
    let key = Arc::new(MacKey::generate());
    // Legacy only: verified by hash, reported as such.
    let report = verify_with(&path, store.get(), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.legacy_records, 3);
    drop({
        let log = keyed_log(&path, &store, &key);
        log.append(entry(4)).unwrap();
        log.append(entry(5)).unwrap();
        log
    });
    let report = verify_with(&path, store.get(), Some(&key));
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.legacy_records), (5, 3));
    assert!(
        report
            .to_string()
            .contains("the first 3 record(s) predate MACs and were verified by hash only"),
        "{report}"
    );
    // A legacy-looking record after the MAC'd ones is not accepted.
    let line = forge(&path, |_| None);
    edit_lines(&path, |lines| lines.push(line));
    let problem = verify_with(&path, None, Some(&key)).problem.unwrap();
    assert_eq!(
        (problem.kind, problem.seq),
        (ProblemKind::MacMissing, Some(6))
    );
}

/// The ```python block of the format document.
fn script() -> &'static str {
    let start = FORMAT_DOC.find("```python\n").unwrap() + "```python\n".len();
    let len = FORMAT_DOC[start..].find("```").unwrap();
    &FORMAT_DOC[start..start + len]
}

fn run_script(path: &Path, key: Option<&str>) -> std::process::Output {
    let mut command = Command::new("python3");
    command
        .arg("-c")
        .arg(script())
        .arg(path)
        .env_remove("WARDEN_CHANGELOG_KEY");
    if let Some(key) = key {
        command.env("WARDEN_CHANGELOG_KEY", key);
    }
    command
        .output()
        .expect("python3 is needed for the documented auditor script")
}

#[test]
fn documented_script_and_openssl_line_check_macs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let key = Arc::new(MacKey::generate());
    let store = MemoryHeadStore::new();
    drop({
        let log = keyed_log(&path, &store, &key);
        for i in 1..=4 {
            log.append(entry(i)).unwrap();
        }
        log
    });
    let key_hex = key.to_hex();
    let key_hex = key_hex.expose_secret();

    let ok = run_script(&path, Some(key_hex));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("MACs checked"), "{stdout}");
    let wrong = run_script(&path, Some(MacKey::generate().to_hex().expose_secret()));
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("line 1 (seq 1): mac_invalid"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // The documented openssl line recomputes the MAC of line 3.
    let start = FORMAT_DOC.find("sed -n 3p changes.jsonl").unwrap();
    let len = FORMAT_DOC[start..].find('\n').unwrap();
    let line = FORMAT_DOC[start..start + len].replace("changes.jsonl", &path.display().to_string());
    let out = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("WARDEN_CHANGELOG_KEY", key_hex)
        .output()
        .expect("sh and openssl are needed for the documented line");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let third: serde_json::Value = serde_json::from_str(text.lines().nth(2).unwrap()).unwrap();
    let mac = third["mac"].as_str().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim_end()
            .ends_with(mac),
        "openssl printed {} but the record says {mac}",
        String::from_utf8_lossy(&out.stdout)
    );

    let line = forge(&path, |_| None);
    edit_lines(&path, |lines| lines.push(line));
    let missing = run_script(&path, None);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("line 5 (seq 5): mac_missing"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
