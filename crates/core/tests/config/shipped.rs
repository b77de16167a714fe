//! Declared privileges against the catalogue shipped in the binary (warnings at file:line:column
//! with "did you mean"), and `credential:NAME` paths outside systemd (`--credentials-dir`, or
//! checked for form only with a note).

use std::path::PathBuf;

use warden_core::config::{Config, LoadOptions};

use crate::common::{Dir, assert_contains, with};

fn instance(files: &str) -> String {
    with(&format!(
        "[[instance]]\nname = \"acme\"\nurl = \"https://acme.example\"\ndesired = [{files}]\n"
    ))
}

#[test]
fn a_privilege_unknown_to_the_shipped_catalogue_is_a_located_warning_with_suggestions() {
    let dir = Dir::new();
    let desired = dir.write(
        "acme.toml",
        "version = 1\n\n[[role]]\nname = \"Inventory\"\nprivileges = [\n  \"Read Computers\",\n  \
         \"Read Computer\",\n  \"Read Quantum Flux Capacitors\",\n]\n\n[[role]]\nname = \"Ext\"\n\
         external = true\n",
    );
    let config = dir
        .load(&instance("\"acme.toml\""))
        .expect("warnings do not refuse the config");
    assert_eq!(config.warnings.len(), 2, "{:#?}", config.warnings);
    assert_contains(
        &config.warnings[0],
        &[
            &format!("{}:7:3: `role.privileges`", desired.display()),
            "role `Inventory`: privilege `Read Computer` is not in the catalogue shipped",
            "Jamf Pro 11.25 to 11.30",
            "did you mean `Read Computers`",
            "the live catalogue decides at plan time",
        ],
    );
    assert_contains(
        &config.warnings[1],
        &[
            &format!("{}:8:3:", desired.display()),
            "`Read Quantum Flux Capacitors` is not in the catalogue shipped",
        ],
    );
    assert!(
        !config.warnings[1].contains("did you mean"),
        "{}",
        config.warnings[1]
    );
}

#[test]
fn a_wrong_case_privilege_suggests_the_exact_name() {
    let dir = Dir::new();
    dir.write(
        "acme.toml",
        "version = 1\n[[role]]\nname = \"R\"\nprivileges = [\"read computers\"]\n",
    );
    let config = dir.load(&instance("\"acme.toml\"")).expect("loads");
    assert_eq!(config.warnings.len(), 1, "{:#?}", config.warnings);
    assert_contains(
        &config.warnings[0],
        &[":4:15:", "did you mean `Read Computers`"],
    );
}

#[test]
fn a_file_listed_by_two_instances_is_warned_about_once_and_shipped_names_never() {
    let dir = Dir::new();
    dir.write(
        "base.toml",
        "version = 1\n[[role]]\nname = \"R\"\nprivileges = [\"Read Computers\", \"Raed Buildings\"]\n",
    );
    let text = with(
        "[[instance]]\nname = \"a\"\nurl = \"https://a.example\"\ndesired = [\"base.toml\"]\n\
         [[instance]]\nname = \"b\"\nurl = \"https://b.example\"\ndesired = [\"base.toml\"]\n",
    );
    let config = dir.load(&text).expect("loads");
    assert_eq!(config.warnings.len(), 1, "{:#?}", config.warnings);
    assert_contains(
        &config.warnings[0],
        &["`Raed Buildings`", "did you mean `Read Buildings`"],
    );
}

const CREDENTIAL_CONFIG: &str = r#"version = 1

[vault]
address = "https://vault.example.com:8200"

[vault.auth]
method = "approle"
role_id_file = "credential:vault-role-id"
secret_id_file = "credential:vault-secret-id"
"#;

#[test]
fn credentials_dir_resolves_credential_paths() {
    let dir = Dir::new();
    let path = dir.write("wardend.toml", CREDENTIAL_CONFIG);
    let creds = PathBuf::from("/etc/jamf-warden/credentials");
    let options = LoadOptions {
        credentials_directory: Some(creds.clone()),
        credentials_form_only: true,
    };
    let config = Config::load_with(&path, &options).expect("loads");
    assert!(config.notes.is_empty(), "{:?}", config.notes);
    let rendered = config.render_effective();
    assert_contains(
        &rendered,
        &[&creds.join("vault-role-id").display().to_string()],
    );
}

#[test]
fn without_a_credentials_dir_credential_paths_are_checked_for_form_only_with_a_note() {
    let dir = Dir::new();
    let path = dir.write("wardend.toml", CREDENTIAL_CONFIG);
    // The daemon itself (form-only not asked for) refuses them, as before.
    let refused = Config::load_with(&path, &LoadOptions::default()).expect_err("refused");
    assert_contains(&refused.to_string(), &["needs $CREDENTIALS_DIRECTORY"]);
    let options = LoadOptions {
        credentials_directory: None,
        credentials_form_only: true,
    };
    let config = Config::load_with(&path, &options).expect("form only");
    assert_eq!(config.notes.len(), 2, "{:?}", config.notes);
    assert_contains(
        &config.notes[0],
        &[
            &format!("{}:8:16: `vault.auth.role_id_file`", path.display()),
            "`credential:vault-role-id` checked for form only",
            "--credentials-dir DIR",
        ],
    );
    // A malformed name is still an error.
    let bad = dir.write(
        "bad.toml",
        &CREDENTIAL_CONFIG.replace("credential:vault-role-id", "credential:../x"),
    );
    let errors = Config::load_with(&bad, &options).expect_err("bad name");
    assert_contains(&errors.to_string(), &["bad.toml:8:16", "plain file name"]);
}
