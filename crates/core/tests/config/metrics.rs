//! `[metrics]`: off unless `listen` is set; loopback only unless `allow_remote = true`;
//! located errors that say what to do; a change needs a restart.

use warden_core::config::Config;

use crate::common::{Dir, assert_contains, with};

#[test]
fn metrics_are_off_by_default_and_listen_on_loopback() {
    let dir = Dir::new();
    assert_eq!(dir.load(&with("")).expect("valid").metrics, None);
    assert_eq!(dir.load(&with("[metrics]\n")).expect("valid").metrics, None);
    for (listen, addr) in [
        ("127.0.0.1:9464", "127.0.0.1:9464"),
        ("[::1]:9464", "[::1]:9464"),
        ("127.0.0.1:0", "127.0.0.1:0"),
    ] {
        let config = dir
            .load(&with(&format!("[metrics]\nlisten = \"{listen}\"\n")))
            .expect("valid");
        let m = config.metrics.expect("metrics on");
        assert_eq!(m.listen.to_string(), addr);
        assert!(!m.allow_remote);
    }
}

#[test]
fn a_non_loopback_address_needs_allow_remote() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with("[metrics]\nlisten = \"0.0.0.0:9464\"\n"));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &[
            "wardend.toml:",
            "`metrics.listen`",
            "0.0.0.0:9464 is not a loopback address",
            "allow_remote = true",
        ],
    );
    let config = dir
        .load(&with(
            "[metrics]\nlisten = \"192.0.2.10:9464\"\nallow_remote = true\n",
        ))
        .expect("valid");
    let m = config.metrics.clone().expect("metrics on");
    assert_eq!(m.listen.to_string(), "192.0.2.10:9464");
    assert!(m.allow_remote);
    // the effective config shows the section
    assert!(config.render_effective().contains("allow_remote = true"));
}

#[test]
fn bad_metrics_settings_are_located_errors() {
    let dir = Dir::new();
    for bad in ["localhost:9464", "9464", "127.0.0.1", "127.0.0.1:99999"] {
        let (msg, n) = dir.errors(&with(&format!("[metrics]\nlisten = \"{bad}\"\n")));
        assert_eq!(n, 1, "{msg}");
        assert_contains(
            &msg,
            &[
                "`metrics.listen`",
                &format!("`{bad}` is not an IP address and port"),
                "127.0.0.1:9464",
            ],
        );
    }
    let (msg, _) = dir.errors(&with("[metrics]\nallow_remote = true\n"));
    assert_contains(&msg, &["`metrics.listen`", "`listen` is missing"]);
    let (msg, _) = dir.errors(&with("[metrics]\nlisen = \"127.0.0.1:9464\"\n"));
    assert_contains(&msg, &["unknown field `lisen`"]);
}

#[test]
fn a_metrics_change_needs_a_restart() {
    let dir = Dir::new();
    let old = dir.load(&with("")).expect("valid");
    let new = dir
        .load(&with("[metrics]\nlisten = \"127.0.0.1:9464\"\n"))
        .expect("valid");
    let diff = Config::diff(&old, &new);
    assert_eq!(diff.restart_required, ["metrics"]);
    assert!(diff.needs_restart());
}
