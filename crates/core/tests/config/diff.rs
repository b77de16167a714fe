//! `Config::diff` for SIGHUP reloads.

use warden_core::config::{Config, InstanceChange};

use crate::common::{Dir, with};

fn instances(specs: &[(&str, &str)]) -> String {
    specs
        .iter()
        .map(|(name, extra)| {
            format!("[[instance]]\nname = \"{name}\"\nurl = \"https://{name}.example\"\n{extra}\n")
        })
        .collect()
}

#[test]
fn identical_configs_have_an_empty_diff() {
    let dir = Dir::new();
    let text = with(&instances(&[("a", ""), ("b", "")]));
    let old = dir.load(&text).expect("valid");
    let new = dir.load(&text).expect("valid");
    let diff = Config::diff(&old, &new);
    assert!(diff.is_empty(), "{diff:?}");
    assert!(!diff.needs_restart());
}

#[test]
fn instances_added_removed_and_changed() {
    let dir = Dir::new();
    dir.write(
        "d.toml",
        "version = 1\n[[role]]\nname = \"R\"\nprivileges = [\"Read Computers\"]\n",
    );
    let old = dir
        .load(&with(&instances(&[
            ("a", ""),
            ("b", "desired = [\"d.toml\"]"),
            ("c", ""),
        ])))
        .expect("valid");
    dir.write(
        "d.toml",
        "version = 1\n[[role]]\nname = \"R\"\nprivileges = [\"Read Mobile Devices\"]\n",
    );
    let new = dir
        .load(&with(&instances(&[
            ("b", "desired = [\"d.toml\"]"),
            (
                "c",
                "request_timeout = \"1m\"\n[instance.schedules]\nrotation = \"@daily\"",
            ),
            ("d", ""),
        ])))
        .expect("valid");
    let diff = Config::diff(&old, &new);
    assert_eq!(diff.instances_added, ["d"]);
    assert_eq!(diff.instances_removed, ["a"]);
    assert_eq!(
        diff.instances_changed,
        [
            InstanceChange {
                name: "b".into(),
                fields: vec!["desired_state"]
            },
            InstanceChange {
                name: "c".into(),
                fields: vec!["request_timeout", "schedules.rotation"]
            },
        ]
    );
    assert!(!diff.vault_changed && !diff.needs_restart());
}

#[test]
fn daemon_and_vault_changes() {
    let dir = Dir::new();
    let old = dir
        .load(&with("[daemon]\nlog_level = \"info\"\n"))
        .expect("valid");
    let new_text =
        with("[daemon]\nlog_level = \"debug\"\nsocket = \"/run/other.sock\"\nadmin_gids = [10]\n")
            .replace("jamf-warden", "x")
            .replace("vault.example.com", "vault2.example.com");
    let new = dir.load(&new_text).expect("valid");
    let diff = Config::diff(&old, &new);
    assert_eq!(diff.restart_required, ["socket"]);
    assert_eq!(diff.daemon_reloaded, ["admin_gids", "log_level"]);
    assert!(diff.vault_changed);
    assert!(diff.needs_restart());
}

#[test]
fn a_new_daemon_id_needs_a_restart() {
    let dir = Dir::new();
    let old = dir.load(&with("")).expect("valid");
    let new = dir
        .load(&with("[daemon]\nid = \"pinned-id\"\n"))
        .expect("valid");
    let diff = Config::diff(&old, &new);
    assert_eq!(diff.restart_required, ["id"]);
    assert!(diff.needs_restart());
}
