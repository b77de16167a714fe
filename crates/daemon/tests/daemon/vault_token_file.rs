//! wardend against a real OpenBao with a token file (the Vault Agent sink pattern) and a token
//! holding only the daemon policy of `docs/operations.md` § Vault: it rotates a client; a
//! consumer token holding only the consumer policy reads the rotated secret and nothing else;
//! the token file rewritten with a new token while the daemon runs (the old one revoked) is
//! used by the next Vault operation, without a restart; `status` shows Vault's state.

use reqwest::Method;
use serde_json::{Value, json};
use warden_core::protocol::Response;

use crate::common;

use common::rotation::{CLIENT, NO_JOBS, desired_toml, rotate};
use common::{Cfg, Env, PREFIX, send};

/// The HCL of `<!-- policy: NAME -->` in docs/operations.md, for the tests' mount and prefix.
fn documented_policy(name: &str) -> String {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md"),
    )
    .expect("read docs/operations.md");
    let marker = format!("<!-- policy: {name} -->\n```hcl\n");
    let start = doc.find(&marker).expect("policy marker") + marker.len();
    let end = start + doc[start..].find("```").expect("end of the policy block");
    doc[start..end].replace("jamf-warden/", &format!("{PREFIX}/"))
}

/// A token holding only policy `name` (not even `default`).
async fn token_with(env: &Env, name: &str, hcl: &str) -> String {
    let bao = env.bao();
    bao.api(
        Method::PUT,
        &format!("sys/policies/acl/{name}"),
        Some(json!({ "policy": hcl })),
    )
    .await
    .unwrap();
    let t = bao
        .api(
            Method::POST,
            "auth/token/create",
            Some(json!({"policies": [name], "no_default_policy": true, "ttl": "1h"})),
        )
        .await
        .unwrap();
    t["auth"]["client_token"].as_str().unwrap().to_string()
}

/// Writes `token` to the daemon's token file as Vault Agent does: a new file renamed over it.
fn write_token_file(env: &Env, token: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = env.path("vault-token.new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .unwrap();
    std::io::Write::write_all(&mut f, token.as_bytes()).unwrap();
    std::fs::rename(&tmp, env.token_file()).unwrap();
}

/// A consumer's read of `path` (under the prefix) with `token`: status and body.
async fn consumer_read(env: &Env, token: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/secret/data/{PREFIX}/{path}",
            env.bao().addr()
        ))
        .header("X-Vault-Token", token)
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_file_needs_no_restart_and_the_documented_policies_suffice() {
    let env = Env::start(&["alpha"]).await;
    let client = env.add_managed_client("alpha", CLIENT).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let daemon_policy = documented_policy("jamf-warden-daemon");
    let first = token_with(&env, "jamf-warden-daemon", &daemon_policy).await;
    write_token_file(&env, &first);
    let _daemon = env.start_wardend(None).await;

    // the daemon policy alone: a rotation (capabilities proved, secret and marker written)
    let Response::Rotated(r) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("the rotation with the documented daemon policy failed");
    };
    assert_eq!(r.vault_version, 2, "{r:?}");

    // the consumer policy alone: reads its secret, nothing else
    let consumer_policy = documented_policy("jamf-warden-consumer")
        .replace("instances/acme/clients/inventory-sync", &client.vault_path);
    let consumer = token_with(&env, "jamf-warden-consumer", &consumer_policy).await;
    let (code, body) = consumer_read(&env, &consumer, &client.vault_path).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["metadata"]["version"], 2);
    let (code, _) = consumer_read(&env, &consumer, "instances/alpha/management").await;
    assert_eq!(code, 403, "the consumer policy reads more than its secret");

    // Vault Agent writes a new token and the old one is revoked: the next operation works
    let second = token_with(&env, "jamf-warden-daemon", &daemon_policy).await;
    write_token_file(&env, &second);
    env.bao()
        .api(
            Method::POST,
            "auth/token/revoke",
            Some(json!({ "token": first })),
        )
        .await
        .unwrap();
    let Response::Rotated(r) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("the rotation after the token file was rewritten failed");
    };
    assert_eq!(r.vault_version, 3, "{r:?}");

    let status = common::status(&env.socket()).await;
    let vault = status.vault.expect("the status report shows vault");
    assert_eq!(vault.auth_method, "token_file");
    assert_eq!(
        vault.token_file.as_deref(),
        Some(env.token_file().as_path())
    );
    assert!(vault.token_ttl_secs.is_some_and(|t| t > 3000), "{vault:?}");
    assert!(vault.last_authenticated.is_some());
    assert!(vault.last_error.is_none(), "{vault:?}");
    let wire =
        serde_json::to_string(&send(&env.socket(), warden_core::protocol::Request::Status).await)
            .unwrap();
    for t in [&first, &second, &consumer] {
        assert!(
            !wire.contains(t.as_str()),
            "a token is in the status answer"
        );
    }
    let out = std::process::Command::new(common::wardenctl())
        .arg("--socket")
        .arg(env.socket())
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("auth token_file ({})", env.token_file().display())),
        "{text}"
    );
    assert!(!text.contains("vault error"), "{text}");
    env.assert_no_secret_leaks();
}

/// A running `bao agent` (killed when dropped).
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The documented Vault Agent configuration, pointed at this OpenBao and these files.
fn agent_config(env: &Env) -> String {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md"),
    )
    .unwrap();
    let marker = "<!-- vault-agent -->\n```hcl\n";
    let start = doc.find(marker).expect("agent marker") + marker.len();
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end]
        .replace("https://vault.example.com:8200", env.bao().addr())
        .replace(
            "/etc/jamf-warden/credentials/vault-role-id",
            &env.path("role-id").display().to_string(),
        )
        .replace(
            "/etc/jamf-warden/credentials/vault-secret-id",
            &env.path("secret-id").display().to_string(),
        )
        .replace(
            "/run/jamf-warden/vault-token",
            &env.token_file().display().to_string(),
        )
}

/// Starts the agent and waits until it wrote a token other than `previous` to the sink.
async fn start_agent(env: &Env, previous: &str) -> (Agent, String) {
    let child = env
        .bao()
        .cli()
        .env_remove("BAO_TOKEN")
        .arg("agent")
        .arg(format!("-config={}", env.path("agent.hcl").display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(env.path("agent.log")).unwrap())
        .spawn()
        .expect("start bao agent");
    let agent = Agent(child);
    for _ in 0..200 {
        if let Ok(token) = std::fs::read_to_string(env.token_file())
            && !token.trim().is_empty()
            && token.trim() != previous
        {
            return (agent, token.trim().to_string());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the agent wrote no token: {}",
        std::fs::read_to_string(env.path("agent.log")).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardend_reads_the_documented_vault_agent_sink_and_follows_a_new_token() {
    let env = Env::start(&["alpha"]).await;
    env.add_managed_client("alpha", CLIENT).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    // the agent logs in with an approle holding the documented daemon policy
    let bao = env.bao();
    let creds = bao
        .approle("jamf-warden-agent", PREFIX, "1h", false)
        .await
        .unwrap();
    token_with(
        &env,
        "jamf-warden-daemon",
        &documented_policy("jamf-warden-daemon"),
    )
    .await;
    bao.api(
        Method::POST,
        "auth/approle/role/jamf-warden-agent",
        Some(json!({"token_policies": ["jamf-warden-daemon"], "token_no_default_policy": true, "token_ttl": "1h"})),
    )
    .await
    .unwrap();
    std::fs::write(env.path("role-id"), &creds.role_id).unwrap();
    std::fs::write(env.path("secret-id"), &creds.secret_id).unwrap();
    std::fs::write(env.path("agent.hcl"), agent_config(&env)).unwrap();
    let root = env.root_token().unwrap();
    let (agent, first) = start_agent(&env, &root).await;
    let _daemon = env.start_wardend(None).await;
    let Response::Rotated(_) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("the rotation with the agent's token failed");
    };

    // the agent restarts (a new login, a new token in the sink) and the old token is revoked
    drop(agent);
    let (_agent, second) = start_agent(&env, &first).await;
    bao.api(
        Method::POST,
        "auth/token/revoke",
        Some(json!({ "token": first })),
    )
    .await
    .unwrap();
    let Response::Rotated(r) = rotate(&env.socket(), "alpha", CLIENT).await else {
        panic!("the rotation after the agent wrote a new token failed");
    };
    assert_eq!(r.vault_version, 3);
    let vault = common::status(&env.socket()).await.vault.unwrap();
    assert!(vault.last_error.is_none(), "{vault:?}");
    assert!(vault.renewable, "{vault:?}");
    let log = env.log_text();
    assert!(log.contains("the vault token file changed"), "{log}");
    for t in [&first, &second] {
        assert!(!log.contains(t.as_str()), "a token is in the daemon's log");
    }
}
