//! Never mint what cannot be stored, against the real `wardend`, a real OpenBao with a real
//! strict policy and the simulator.
//!
//! The daemon's token gets a policy allowing `create` and `read` but not `update` on the
//! clients' secret data paths (everything else Warden needs is granted):
//! (a) a rotation is refused before the mint, naming the path and the missing capability,
//!     zero mints, the old secret still works;
//! (b) once the policy is fixed, the next attempt rotates;
//! (c) writes denied only after the mint (the policy is broken while the rotation is paused
//!     between mint and store): the secret is lost, the daemon's recovery refuses to mint
//!     again while the policy is broken, and heals on its own once it is restored, without a
//!     restart.

use crate::common;

use common::rotation::{CLIENT, Managed, NO_JOBS, desired_toml, error_of, rotate, token_status};
use common::{Cfg, Daemon, Env, PREFIX, write_private};
use serde_json::json;
use warden_core::protocol::Response;

const POLICY: &str = "warden-strict";

/// Full access under the test prefix, and `data` of the clients' paths limited to
/// `client_caps`.
fn policy(client_caps: &str) -> String {
    format!(
        r#"
path "secret/data/{PREFIX}/*" {{ capabilities = ["create", "read", "update", "delete", "list"] }}
path "secret/metadata/{PREFIX}/*" {{ capabilities = ["create", "read", "update", "delete", "list"] }}
path "secret/data/{PREFIX}/instances/alpha/clients/*" {{ capabilities = [{client_caps}] }}
"#
    )
}

async fn set_policy(env: &Env, client_caps: &str) {
    env.bao()
        .api(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{POLICY}"),
            Some(json!({ "policy": policy(client_caps) })),
        )
        .await
        .expect("write the policy");
}

const STRICT: &str = r#""create", "read""#;
const FIXED: &str = r#""create", "read", "update""#;

/// One instance and managed client; the daemon's token file holds a token with only the
/// strict policy (plus OpenBao's default policy, which allows `sys/capabilities-self`).
async fn setup(daemon_extra: &str, pause: Option<&str>) -> (Env, Managed, Daemon) {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    env.mark_management_rotated("alpha").await;
    set_policy(&env, STRICT).await;
    let token = env
        .bao()
        .api(
            reqwest::Method::POST,
            "auth/token/create",
            Some(json!({ "policies": [POLICY], "ttl": "1h" })),
        )
        .await
        .expect("create a token");
    let token = token["auth"]["client_token"].as_str().unwrap().to_string();
    write_private(&env.token_file(), token.as_bytes());
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    cfg.daemon_extra = daemon_extra.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let daemon = match pause {
        None => env.start_wardend(None).await,
        Some(step) => {
            let resume = env.path("resume").display().to_string();
            let mut d = env.spawn(
                &[],
                &[
                    ("WARDEN_TEST_PAUSE_AT", step),
                    ("WARDEN_TEST_RESUME_FILE", resume.as_str()),
                ],
            );
            d.wait_ready().await;
            d
        }
    };
    (env, client, daemon)
}

fn data_path(client: &Managed) -> String {
    format!("secret/data/{PREFIX}/{}", client.vault_path)
}

/// (a) refused before the mint with the path and capability named, nothing minted, the old
/// secret works, the refusal recorded; (b) fixed policy: the next attempt rotates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_update_is_refused_before_the_mint() {
    let (env, client, _daemon) = setup("", None).await;
    let url = env.instance("alpha").url.clone();

    let (_, message) = error_of(&rotate(&env.socket(), "alpha", CLIENT).await);
    assert!(message.contains("nothing was minted"), "{message}");
    assert!(message.contains(&data_path(&client)), "{message}");
    assert!(message.contains("`update`"), "{message}");
    assert!(message.contains("vault policy"), "{message}");
    assert_eq!(env.mints("alpha"), 0, "nothing minted");
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        200,
        "the old secret still works"
    );
    let meta = env.vault_metadata(&client.vault_path).await;
    assert_ne!(meta["custom_metadata"]["state"], "pending", "{meta}");
    assert_eq!(meta["current_version"], 1);
    let failed = env
        .records()
        .into_iter()
        .find(|r| r["action"] == "rotate" && r["outcome"] == "failed")
        .expect("the refusal is recorded");
    assert_eq!(failed["after"]["minted"], false, "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("`update`"),
        "{failed}"
    );

    // (b) the policy is fixed: the next attempt rotates (no restart).
    set_policy(&env, FIXED).await;
    let response = rotate(&env.socket(), "alpha", CLIENT).await;
    assert!(matches!(response, Response::Rotated(_)), "{response:?}");
    assert_eq!(env.mints("alpha"), 1);
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(token_status(&url, &id, &secret).await, 200);
    let mut secrets = env.standing_secrets("alpha").await;
    secrets.push(("the initial secret", client.initial_secret.clone()));
    secrets.push(("the new secret", secret));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// (c) `update` revoked between the mint and the store: the secret is lost (the old one is
/// dead), recovery refuses to mint again while the policy is broken, then heals on its own once
/// it is restored, in the same process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_denied_after_the_mint_heals_once_the_policy_is_restored() {
    let (env, client, mut daemon) = setup(
        "store_retry_budget = \"2s\"\nrecovery_delay = \"1s\"\nrecovery_max_delay = \"2s\"",
        Some("store"),
    )
    .await;
    set_policy(&env, FIXED).await;
    let url = env.instance("alpha").url.clone();
    let socket = env.socket();
    let request = tokio::spawn(async move { rotate(&socket, "alpha", CLIENT).await });
    env.wait_log_line(&["test hook: paused at step store"])
        .await;
    assert_eq!(env.mints("alpha"), 1, "minted before the pause");
    set_policy(&env, STRICT).await;
    std::fs::write(env.path("resume"), b"").unwrap();

    let (_, message) = error_of(&request.await.unwrap());
    assert!(message.starts_with("secret lost"), "{message}");
    assert!(
        message.contains("wardenctl rotate --recover 'alpha/Inventory Sync'"),
        "{message}"
    );
    assert_eq!(
        token_status(&url, &client.client_id, &client.initial_secret).await,
        401,
        "the old secret died at the mint"
    );
    // The daemon's recovery tries while the policy is broken: refused, nothing minted.
    env.wait_log_line(&[
        "recovery of an interrupted rotation failed",
        "lacks the `update` capability",
    ])
    .await;
    assert_eq!(env.mints("alpha"), 1, "no mint while the store would fail");

    set_policy(&env, FIXED).await;
    env.wait_vault_state(&client.vault_path, "ok").await;
    assert!(daemon.is_running(), "healed without a restart");
    assert_eq!(env.mints("alpha"), 2);
    let versions = env.vault_versions(&client.vault_path).await;
    let (_, id, secret) = versions.last().unwrap().clone();
    assert_eq!(
        token_status(&url, &id, &secret).await,
        200,
        "the consumer works"
    );
    let mut secrets = env.standing_secrets("alpha").await;
    secrets.push(("the initial secret", client.initial_secret.clone()));
    secrets.push(("the new secret", secret));
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// Warden's own management client gets the same proof: with `update` denied on its
/// credentials path, its rotation is refused before the mint and its secret keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_rotation_is_refused_before_the_mint_too() {
    let (env, _client, _daemon) = setup("", None).await;
    let management = format!(
        "{}\npath \"secret/data/{PREFIX}/instances/alpha/management\" {{ capabilities = [\"create\", \"read\"] }}\n",
        policy(FIXED)
    );
    env.bao()
        .api(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{POLICY}"),
            Some(json!({ "policy": management })),
        )
        .await
        .expect("write the policy");
    let (_, message) = error_of(&rotate(&env.socket(), "alpha", "Jamf Warden").await);
    assert!(message.contains("nothing was minted"), "{message}");
    assert!(
        message.contains(&format!("secret/data/{PREFIX}/instances/alpha/management")),
        "{message}"
    );
    assert!(message.contains("`update`"), "{message}");
    assert_eq!(env.mints("alpha"), 0);
    let inst = env.instance("alpha");
    assert_eq!(
        token_status(&inst.url, &inst.client_id, &inst.client_secret).await,
        200,
        "the management secret still works"
    );
    env.assert_no_secret_leaks();
}

/// Bootstrap mints the first management secret: with `create` denied on its Vault path it
/// refuses before the mint, naming the path and the capability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_is_refused_before_the_mint_when_vault_would_refuse_the_store() {
    use jamf_sim::UserSpec;
    use secrecy::SecretString;
    use warden_core::protocol::{BootstrapRequest, Request};

    let mut env = Env::start(&[]).await;
    let password = "pw-bootstrap-policy-test-0123456789";
    let url = env.sim.add_instance("fresh");
    let sim = env.sim.instance(Some("fresh"));
    sim.add_user(UserSpec::admin("jamf-admin", password));
    env.instances.push(common::TestInstance {
        name: "fresh".into(),
        url,
        client_id: String::new(),
        client_secret: String::new(),
        sim,
    });
    let read_only = format!(
        "{}\npath \"secret/data/{PREFIX}/instances/fresh/management\" {{ capabilities = [\"read\"] }}\n",
        policy(FIXED)
    );
    env.bao()
        .api(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{POLICY}"),
            Some(json!({ "policy": read_only })),
        )
        .await
        .expect("write the policy");
    let token = env
        .bao()
        .api(
            reqwest::Method::POST,
            "auth/token/create",
            Some(json!({ "policies": [POLICY], "ttl": "1h" })),
        )
        .await
        .expect("create a token");
    write_private(
        &env.token_file(),
        token["auth"]["client_token"].as_str().unwrap().as_bytes(),
    );
    let _daemon = env.start_daemon(&Cfg::new(&["fresh"])).await;
    let response = common::send(
        &env.socket(),
        Request::Bootstrap(BootstrapRequest {
            instance: "fresh".into(),
            username: "jamf-admin".into(),
            password: SecretString::from(password.to_string()),
            force: false,
        }),
    )
    .await;
    let (_, message) = error_of(&response);
    assert!(message.contains("no secret was minted"), "{message}");
    assert!(
        message.contains(&format!("secret/data/{PREFIX}/instances/fresh/management")),
        "{message}"
    );
    assert!(message.contains("`create`"), "{message}");
    assert_eq!(env.mints("fresh"), 0, "nothing minted");
    env.assert_absent_from(
        &env.daemon_files(),
        &[("the admin password", password.to_string())],
    );
}
