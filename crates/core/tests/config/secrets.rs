//! `read_secret_file`: trimming, empty files and permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use secrecy::ExposeSecret;
use warden_core::config::{ConfigError, read_secret_file};

use crate::common::Dir;

fn secret(dir: &Dir, content: &str, mode: u32) -> PathBuf {
    let path = dir.write("secret", content);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

#[test]
fn trailing_newline_is_trimmed() {
    let dir = Dir::new();
    let got = read_secret_file(&secret(&dir, "s3cr3t\n", 0o600)).expect("read");
    assert_eq!(got.expose_secret(), "s3cr3t");
    let got = read_secret_file(&secret(&dir, "s3cr3t\r\n", 0o400)).expect("read");
    assert_eq!(got.expose_secret(), "s3cr3t");
    let got = read_secret_file(&secret(&dir, " keep inner  spaces ", 0o600)).expect("read");
    assert_eq!(got.expose_secret(), " keep inner  spaces ");
}

#[test]
fn empty_file_is_refused() {
    let dir = Dir::new();
    for content in ["", "\n"] {
        let err = read_secret_file(&secret(&dir, content, 0o600)).expect_err("empty");
        assert!(matches!(err, ConfigError::SecretEmpty { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is empty; write the secret into it"),
            "{err}"
        );
    }
}

#[test]
fn world_readable_or_writable_file_is_refused() {
    let dir = Dir::new();
    for mode in [0o644, 0o604, 0o602, 0o666] {
        let err = read_secret_file(&secret(&dir, "s3cr3t", mode)).expect_err("too open");
        assert!(
            matches!(err, ConfigError::SecretWorldAccessible { .. }),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("accessible to every user") && msg.contains("chmod o-rwx"),
            "{msg}"
        );
        assert!(
            !msg.contains("s3cr3t"),
            "the secret must never appear in errors: {msg}"
        );
    }
    // Group-readable is accepted (with a logged warning).
    assert!(read_secret_file(&secret(&dir, "s3cr3t", 0o640)).is_ok());
}

#[test]
fn missing_file_is_a_read_error() {
    let dir = Dir::new();
    let err = read_secret_file(&dir.path().join("nope")).expect_err("missing");
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}
