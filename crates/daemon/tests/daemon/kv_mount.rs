//! A missing or moved KV mount, against the real `wardend` and OpenBao: start-up exits 2 with
//! the mount named (it used to run and warn every 5 s), for a root token and for a strict
//! policy (whose token cannot read the mount table); a KV v1 mount is refused too; and a mount
//! moved while the daemon runs is reported as a missing mount, never as missing credentials
//! to bootstrap.

use crate::common;

use common::rotation::{CLIENT, NO_JOBS, desired_toml, error_of, rotate};
use common::{Cfg, Env, PREFIX, text, write_private};
use serde_json::json;

/// Writes the config of `alpha` with `kv_mount = "<mount>"`.
fn write_config_with_mount(env: &Env, mount: &str) {
    let text = env
        .config_text(&Cfg::new(&["alpha"]))
        .replace("kv_mount = \"secret\"", &format!("kv_mount = \"{mount}\""));
    std::fs::write(env.config_path(), text).unwrap();
}

/// Exit 2 with every needle on stderr, no advice to bootstrap, no socket.
fn assert_exit_2(env: &Env, out: &std::process::Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    assert!(!stderr.contains("bootstrap"), "{stderr}");
    assert!(!env.socket().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_kv_mount_stops_start_up_with_the_mount_named() {
    let env = Env::start(&["alpha"]).await;

    // root token: the mount table says there is no such mount
    write_config_with_mount(&env, "moved");
    let out = env.run_to_exit(&[]).await;
    assert_exit_2(&env, &out, &["kv mount `moved` does not exist"]);

    // a strict policy that names the configured mount but cannot read the mount table: the
    // data path itself tells ("no handler for route")
    let policy = format!(
        r#"path "moved/data/{PREFIX}/*" {{ capabilities = ["create", "read", "update"] }}
path "moved/metadata/{PREFIX}/*" {{ capabilities = ["create", "read", "update"] }}
path "moved/metadata/{PREFIX}" {{ capabilities = ["read"] }}"#
    );
    env.bao()
        .api(
            reqwest::Method::PUT,
            "sys/policies/acl/moved-only",
            Some(json!({ "policy": policy })),
        )
        .await
        .unwrap();
    let token = env
        .bao()
        .api(
            reqwest::Method::POST,
            "auth/token/create",
            Some(json!({ "policies": ["moved-only"], "ttl": "1h" })),
        )
        .await
        .unwrap();
    let root = env.bao().root_token().to_string();
    write_private(
        &env.token_file(),
        token["auth"]["client_token"].as_str().unwrap().as_bytes(),
    );
    let out = env.run_to_exit(&[]).await;
    assert_exit_2(&env, &out, &["kv mount `moved` does not exist"]);
    write_private(&env.token_file(), root.as_bytes());

    // a KV version 1 mount is not what Warden writes to
    env.bao()
        .api(
            reqwest::Method::POST,
            "sys/mounts/kv1",
            Some(json!({ "type": "kv", "options": { "version": "1" } })),
        )
        .await
        .unwrap();
    write_config_with_mount(&env, "kv1");
    let out = env.run_to_exit(&[]).await;
    assert_exit_2(&env, &out, &["`kv1` is not a kv version 2 engine"]);
    env.assert_no_secret_leaks();
}

/// The mount is moved while the daemon runs: a rotation says the mount is missing, not that
/// the management credentials should be bootstrapped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_moved_at_run_time_is_named_not_bootstrapped() {
    let env = Env::start(&["alpha"]).await;
    env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let _daemon = env.start_wardend(None).await;
    env.bao()
        .api(
            reqwest::Method::POST,
            "sys/remount",
            Some(json!({ "from": "secret", "to": "elsewhere" })),
        )
        .await
        .unwrap();
    // the remount is asynchronous in recent versions: wait until the old mount is gone
    common::wait_for("the remount", async || {
        env.bao()
            .api(reqwest::Method::GET, "sys/mounts", None)
            .await
            .ok()
            .filter(|m| m["data"].get("secret/").is_none() && m.get("secret/").is_none())
            .map(|_| ())
    })
    .await;
    let (_, message) = error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    assert!(
        message.contains("kv mount `secret` does not exist"),
        "{message}"
    );
    assert!(!message.contains("bootstrap"), "{message}");
    assert_eq!(env.mints("alpha"), 0);
}
