//! Helpers: write config files into a temporary directory and load them.

use std::path::{Path, PathBuf};

use warden_core::config::{Config, ConfigErrors, LoadOptions};

/// A minimal valid config body without instances.
pub const MINIMAL: &str = r#"version = 1

[vault]
address = "https://vault.example.com:8200"

[vault.auth]
method = "token"
token_file = "vault-token"
"#;

/// A temporary directory holding config files.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        // Config and desired files the group may write are refused; a developer's umask of 002
        // would make every file these tests write so.
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        Dir(tempfile::tempdir().expect("tempdir"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` to `name` (creating parent directories) and returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Writes `wardend.toml` and loads it without a credentials directory.
    pub fn load(&self, text: &str) -> Result<Config, ConfigErrors> {
        let path = self.write("wardend.toml", text);
        Config::load_with(&path, &LoadOptions::default())
    }

    /// Like [`Dir::load`] but expects failure; returns the rendered errors and their count.
    pub fn errors(&self, text: &str) -> (String, usize) {
        match self.load(text) {
            Ok(_) => panic!("expected the config to be rejected:\n{text}"),
            Err(errors) => (errors.to_string(), errors.len()),
        }
    }
}

/// `MINIMAL` plus `extra`.
pub fn with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

/// Asserts that `haystack` contains every needle.
#[track_caller]
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected `{needle}` in:\n{haystack}"
        );
    }
}
