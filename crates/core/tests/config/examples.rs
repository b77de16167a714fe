//! Every file under `config/` loads, the shipped examples mean what they say, and defaults are
//! filled in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use warden_core::config::values::normalize;
use warden_core::config::{
    Config, LoadOptions, LogFormat, RotationStrategy, SocketGroup, VaultAuth, check_desired_file,
};

use crate::common::{Dir, assert_contains, with};

const CREDENTIALS: &str = "/run/credentials/wardend.service";

fn repo() -> PathBuf {
    normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn options() -> LoadOptions {
    LoadOptions {
        credentials_directory: Some(PathBuf::from(CREDENTIALS)),
        ..LoadOptions::default()
    }
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read config dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Configs are told apart from desired-state files by content: a config has a `[vault]` table.
#[test]
fn every_file_under_config_loads_and_validates() {
    let mut files = Vec::new();
    toml_files(&repo().join("config"), &mut files);
    let mut configs = 0;
    let mut desired = BTreeSet::new();
    let mut used = BTreeSet::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read");
        let table: toml::Table = toml::from_str(&text).expect("valid TOML");
        if table.contains_key("vault") {
            let config = Config::load_with(path, &options())
                .unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()));
            configs += 1;
            for instance in &config.instances {
                used.extend(instance.desired.iter().cloned());
            }
            // The effective config loads back to the same configuration.
            let dir = Dir::new();
            let rendered = dir.write("effective.toml", &config.render_effective());
            let again = Config::load_with(&rendered, &options())
                .unwrap_or_else(|e| panic!("rendered {} does not load:\n{e}", path.display()));
            assert_eq!(again.daemon, config.daemon);
            assert_eq!(again.vault, config.vault);
            assert_eq!(again.instances, config.instances);
        } else {
            check_desired_file(path)
                .unwrap_or_else(|e| panic!("{} is not a valid desired file:\n{e}", path.display()));
            desired.insert(path.clone());
        }
    }
    assert!(
        configs >= 2,
        "expected wardend.toml and demo.toml, found {configs} configs"
    );
    assert!(
        desired.len() >= 4,
        "expected at least 4 desired files, found {}",
        desired.len()
    );
    let unused: Vec<_> = desired.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "desired files no config uses: {unused:?}"
    );
}

#[test]
fn demo_config() {
    let repo = repo();
    let config = Config::load_with(&repo.join("config/demo.toml"), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let demo = repo.join("target/demo");
    assert_eq!(config.daemon.state_dir, demo.join("state"));
    assert_eq!(config.daemon.log_dir, demo.join("log"));
    assert_eq!(config.daemon.changelog, demo.join("state/changelog.jsonl"));
    assert_eq!(config.daemon.socket_mode, 0o600);
    // The token file does not exist: loading never reads secrets.
    assert_eq!(
        config.vault.auth,
        VaultAuth::Token {
            token_file: demo.join("vault-token")
        }
    );
    assert_eq!(config.vault.address.as_str(), "http://127.0.0.1:18200/");

    let names: Vec<_> = config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["clean", "drifty"]);
    let clean = config.instance("clean").expect("clean");
    let drifty = config.instance("drifty").expect("drifty");
    assert_eq!(clean.url.as_str(), "http://127.0.0.1:18080/instances/clean");
    assert!(!clean.allow_insecure_http);
    assert_eq!(clean.connect_timeout, Duration::from_secs(2));
    assert_eq!(clean.schedules.rotation.expr(), "*/10 * * * *");
    assert_eq!(drifty.schedules.rotation.expr(), "@hourly");
    assert_eq!(drifty.schedules.jitter, Duration::from_secs(5));
    assert!(drifty.prune && !clean.prune);

    // drifty widens the baseline role with `override = true`; clean keeps the baseline one.
    let widened = drifty.desired_state.role("Inventory Read").expect("role");
    assert!(
        widened
            .privileges
            .contains(&"Read Computer Security".to_owned())
    );
    assert!(widened.source.ends_with("desired/drifty.toml"));
    let baseline = clean.desired_state.role("Inventory Read").expect("role");
    assert!(baseline.source.ends_with("baseline.toml"));
    assert!(
        drifty
            .desired_state
            .role("Jamf Reset")
            .expect("stub")
            .external
    );

    let legacy = drifty
        .desired_state
        .client("Legacy Provisioning Script")
        .expect("client");
    assert_eq!(
        legacy.vault_path_in("drifty"),
        "instances/drifty/clients/legacy-provisioning-script"
    );
    assert_eq!(legacy.token_lifetime, 3600);
    assert!(legacy.enabled);
    let export = drifty
        .desired_state
        .client("Recovery Key Export")
        .expect("client");
    assert_eq!(
        export.vault_path.as_deref(),
        Some("instances/drifty/clients/filevault-export")
    );
    assert_eq!(
        export.rotation.max_age,
        Some(Duration::from_secs(7 * 86_400))
    );
    let cmdb = clean
        .desired_state
        .client("CMDB Inventory Sync")
        .expect("client");
    assert_eq!(
        cmdb.rotation.schedule, None,
        "the instance's schedule applies"
    );
    assert_eq!(cmdb.rotation.strategy, RotationStrategy::Single);
    let patch = clean
        .desired_state
        .client("Patch Dashboard")
        .expect("client");
    assert_eq!(
        patch.rotation.schedule.as_ref().map(|s| s.expr()),
        Some("0 4 * * SUN")
    );
    assert_eq!(patch.rotation.strategy, RotationStrategy::Alternating);
    assert_eq!(patch.token_lifetime, 300);
}

#[test]
fn production_example_uses_systemd_credentials() {
    let path = repo().join("config/wardend.toml");
    let config = Config::load_with(&path, &options()).unwrap_or_else(|e| panic!("{e}"));
    let creds = Path::new(CREDENTIALS);
    assert_eq!(
        config.vault.auth,
        VaultAuth::AppRole {
            role_id_file: creds.join("vault-role-id"),
            secret_id_file: creds.join("vault-secret-id"),
            mount: "approle".into(),
        }
    );
    assert_eq!(
        config.daemon.socket_group,
        Some(SocketGroup::Name("jamf-warden".into()))
    );
    assert_eq!(config.daemon.log_format, LogFormat::Json);
    let acme = config.instance("acme").expect("acme");
    let globex = config.instance("globex").expect("globex");
    assert_eq!(acme.schedules.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(acme.schedules.jitter, Duration::from_secs(120));
    assert_eq!(
        globex.schedules.timezone.as_deref(),
        Some("America/New_York")
    );
    assert!(globex.schedules.audit.is_off());
    assert_eq!(globex.schedules.drift.expr(), "*/15 * * * *");
    assert_eq!(globex.credentials, "instances/globex/management");

    // Outside systemd, `credential:` paths cannot be resolved, and the error says why.
    let errors = Config::load_with(&path, &LoadOptions::default()).expect_err("needs creds dir");
    assert_eq!(errors.len(), 2);
    assert_contains(
        &errors.to_string(),
        &[
            "vault.auth.role_id_file",
            "CREDENTIALS_DIRECTORY",
            "LoadCredential=vault-role-id",
        ],
    );
}

#[test]
fn defaults_are_filled_in() {
    let dir = Dir::new();
    let config = dir
        .load(&with(
            "[[instance]]\nname = \"a\"\nurl = \"https://a.jamfcloud.com\"\n",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = &config.daemon;
    assert_eq!(d.socket, PathBuf::from("/run/jamf-warden/wardend.sock"));
    assert_eq!((d.socket_mode, d.socket_group.as_ref()), (0o660, None));
    assert_eq!(
        (d.admin_uids.as_slice(), d.admin_gids.as_slice()),
        (&[0][..], &[][..])
    );
    assert_eq!(d.state_dir, PathBuf::from("/var/lib/jamf-warden"));
    assert_eq!(d.log_dir, PathBuf::from("/var/log/jamf-warden"));
    assert_eq!(
        d.changelog,
        PathBuf::from("/var/lib/jamf-warden/changelog.jsonl")
    );
    assert_eq!(
        (d.log_format, d.log_retention_days, d.log_level.as_str()),
        (LogFormat::Text, 14, "info")
    );
    assert_eq!(d.max_rotations_per_minute, 10);
    assert_eq!(
        (d.recovery_delay.as_secs(), d.recovery_max_delay.as_secs()),
        (30, 300)
    );
    assert_eq!(d.store_retry_budget.as_secs(), 300);
    let v = &config.vault;
    assert_eq!(
        (v.kv_mount.as_str(), v.path_prefix.as_str()),
        ("secret", "jamf-warden")
    );
    assert_eq!(
        v.auth,
        VaultAuth::Token {
            token_file: dir.path().join("vault-token")
        }
    );
    assert_eq!(
        v.kv_path("instances/a/management"),
        "jamf-warden/instances/a/management"
    );
    let i = &config.instances[0];
    assert_eq!(i.credentials, "instances/a/management");
    assert_eq!(i.max_in_flight, 5);
    assert_eq!(
        (i.connect_timeout, i.request_timeout),
        (Duration::from_secs(5), Duration::from_secs(30))
    );
    assert!(!i.allow_insecure_http && !i.prune && i.desired.is_empty());
    let s = &i.schedules;
    assert_eq!(
        (s.rotation.expr(), s.drift.expr(), s.audit.expr()),
        ("0 3 * * MON", "*/15 * * * *", "0 6 * * *")
    );
    assert_eq!(
        (s.timezone.as_ref(), s.jitter),
        (None, Duration::from_secs(30))
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);

    let rendered = config.render_effective();
    assert_contains(
        &rendered,
        &[
            "# effective configuration",
            "socket_mode = \"0660\"",
            "[[instance]]",
            "jitter = \"30s\"",
        ],
    );
}

#[test]
fn high_concurrency_is_accepted_with_a_warning() {
    let dir = Dir::new();
    let config = dir
        .load(&with(
            "[[instance]]\nname = \"a\"\nurl = \"https://a.example\"\nmax_in_flight = 8\n",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.instances[0].max_in_flight, 8);
    assert_eq!(config.warnings.len(), 1);
    assert_contains(&config.warnings[0], &["max_in_flight", "Jamf's guidance"]);
}
