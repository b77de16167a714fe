//! `wardenctl bootstrap` end to end: the real `wardenctl` and `wardend` binaries, the Jamf Pro
//! simulator with an admin user account, and a real OpenBao. The instance starts without
//! Warden's management role, client or credentials; bootstrap creates them with the admin's
//! login, mints the secret into Vault and verifies it, and the admin's password and the secret
//! never show up in any output, log or the change log.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Cfg, Env, MANAGEMENT_PRIVILEGES, PREFIX, TestInstance, status, text, wait_for};
use jamf_sim::UserSpec;
use serde_json::Value;

const INSTANCE: &str = "fresh";
const ADMIN: &str = "jamf-admin";

use common::wardenctl;

/// `wardenctl --socket S bootstrap INSTANCE ARGS` with `input` on stdin (a pipe).
fn bootstrap(socket: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(wardenctl())
        .arg("--socket")
        .arg(socket)
        .args(["bootstrap", INSTANCE])
        .args(args)
        .env_remove("WARDEN_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wardenctl");
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().expect("wardenctl output")
}

/// A random password that no fixture or output contains by chance.
fn random_password() -> String {
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("pw-{hex}")
}

/// The management credentials in Vault: (version, client_id, client_secret).
async fn stored(env: &Env) -> (u64, String, String) {
    let path = format!("secret/data/{PREFIX}/instances/{INSTANCE}/management");
    let v = env
        .bao()
        .api(reqwest::Method::GET, &path, None)
        .await
        .expect("read the management credentials from vault");
    let data = &v["data"]["data"];
    (
        v["data"]["metadata"]["version"].as_u64().unwrap(),
        data["client_id"].as_str().unwrap().to_string(),
        data["client_secret"].as_str().unwrap().to_string(),
    )
}

/// `POST /api/v1/oauth/token` with the credentials: the HTTP status and the body.
async fn token_request(url: &str, client_id: &str, secret: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Whether any of `files` (or any file under them) contains `needle`.
fn found_in(paths: &[PathBuf], needle: &str) -> Option<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files);
    }
    files.into_iter().find(|f| {
        std::fs::read(f)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            collect(&e.path(), out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

fn records_of<'a>(records: &'a [Value], kind: &str, action: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["object"]["kind"] == kind && r["action"] == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_sets_up_the_management_client_once() {
    let mut env = Env::start(&[]).await;
    let password = random_password();
    let url = env.sim.add_instance(INSTANCE);
    let sim = env.sim.instance(Some(INSTANCE));
    sim.add_user(UserSpec::admin(ADMIN, &password));
    env.instances.push(TestInstance {
        name: INSTANCE.into(),
        url: url.clone(),
        client_id: String::new(),
        client_secret: String::new(),
        sim: sim.clone(),
    });
    let _daemon = env.start_daemon(&Cfg::new(&[INSTANCE])).await;
    let socket = env.socket();
    let login = format!("{ADMIN}\n{password}\n");
    let mut ctl_outputs = Vec::new();

    // A wrong password is refused by Jamf Pro and changes nothing.
    let out = bootstrap(
        &socket,
        &["--password-stdin"],
        &format!("{ADMIN}\nnot-the-password\n"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rerun bootstrap with the right admin user name and password"),
        "{}",
        text(&out.stderr)
    );
    assert!(sim.role_by_name("Jamf Warden").is_none());
    ctl_outputs.push(out);

    // The first run sets everything up.
    let out = bootstrap(&socket, &["--password-stdin"], &login);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    for wanted in [
        "bootstrapped Warden's management client on fresh",
        "the admin user account is no longer needed by Warden; disable or remove its API access",
        "can grant itself any privilege",
        "the admin's Jamf Pro token was invalidated",
    ] {
        assert!(printed.contains(wanted), "{wanted:?} not in\n{printed}");
    }
    ctl_outputs.push(out);

    // Jamf: the role has exactly the eight privileges; the client is enabled with that role only.
    let role = sim
        .role_by_name("Jamf Warden")
        .expect("the management role");
    let mut privileges = role.privileges.clone();
    privileges.sort();
    let mut wanted = MANAGEMENT_PRIVILEGES.map(String::from).to_vec();
    wanted.sort();
    assert_eq!(privileges, wanted);
    let client = sim
        .client_by_name("Jamf Warden")
        .expect("the management client");
    assert!(client.enabled);
    assert_eq!(client.authorization_scopes, ["Jamf Warden"]);
    assert_eq!(client.role_ids, std::slice::from_ref(&role.id));
    assert_eq!(client.access_token_lifetime_seconds, 300);

    // Vault holds the client's id and current secret, and the secret gets a token.
    let (version, client_id, secret) = stored(&env).await;
    assert_eq!(version, 1);
    assert_eq!(client_id, client.client_id);
    assert_eq!(Some(&secret), client.client_secret.as_ref());
    let (code, body) = token_request(&url, &client_id, &secret).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["scope"], format!("api-role:{}", role.id));

    // The admin's session token was invalidated (the verification's one-shot token was too).
    let stats = sim.stats();
    assert!(
        stats.count("POST", "/api/v1/auth/invalidate-token") >= 2,
        "{stats:?}"
    );

    // The change log: role and client created, the secret's rotation started and done, by the
    // socket peer; the Vault path and version, never the secret.
    let records = env.records();
    let uid = nix::unistd::getuid().as_raw();
    let role_created = records_of(&records, "role", "create");
    assert_eq!(role_created.len(), 1, "{records:#?}");
    assert_eq!(role_created[0]["object"]["id"], role.id);
    assert_eq!(role_created[0]["instance"], INSTANCE);
    assert_eq!(role_created[0]["actor"]["kind"], "user");
    assert_eq!(role_created[0]["actor"]["uid"], uid);
    let client_created = records_of(&records, "client", "create");
    assert_eq!(client_created.len(), 1, "{records:#?}");
    assert_eq!(client_created[0]["object"]["id"], client_id);
    let rotated = records_of(&records, "secret", "rotate");
    let outcomes: Vec<&Value> = rotated.iter().map(|r| &r["outcome"]).collect();
    assert_eq!(outcomes, ["started", "ok"], "{records:#?}");
    assert_eq!(rotated[1]["after"]["client_id"], client_id);
    assert_eq!(rotated[1]["after"]["vault_version"], 1);
    assert_eq!(
        rotated[1]["after"]["vault_path"],
        format!("secret/{PREFIX}/instances/{INSTANCE}/management")
    );

    // The daemon's jobs, which failed without credentials, now run with the new ones at once.
    wait_for(
        "the jobs to use the new management credentials",
        async || {
            let report = status(&socket).await;
            let inst = &report.instances[0];
            (inst.reachable == Some(true) && inst.consecutive_failures == 0).then_some(())
        },
    )
    .await;

    // Running it again does not replace the working secret.
    let out = bootstrap(&socket, &["--password-stdin"], &login);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let refusal = text(&out.stderr);
    assert!(
        refusal.contains("still work") && refusal.contains("--force"),
        "{refusal}"
    );
    assert!(
        refusal.contains("wardenctl rotate fresh/Jamf Warden"),
        "{refusal}"
    );
    assert_eq!(stored(&env).await.0, 1);
    assert_eq!(token_request(&url, &client_id, &secret).await.0, 200);
    ctl_outputs.push(out);

    // --force replaces it: a new version, the old secret is dead, nothing else changes.
    let out = bootstrap(
        &socket,
        &["--username", ADMIN, "--password-stdin", "--force", "--json"],
        &format!("{password}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json answer");
    assert_eq!(answer["role"], "unchanged");
    assert_eq!(answer["client"], "unchanged");
    assert_eq!(answer["replaced_working"], true);
    assert_eq!(answer["verified_scope"], serde_json::json!([role.id]));
    assert_eq!(answer["vault_version"], 2);
    ctl_outputs.push(out);
    let (version, client_id2, secret2) = stored(&env).await;
    assert_eq!((version, client_id2.as_str()), (2, client_id.as_str()));
    assert_ne!(secret2, secret);
    assert_ne!(token_request(&url, &client_id, &secret).await.0, 200);
    assert_eq!(token_request(&url, &client_id, &secret2).await.0, 200);
    assert_eq!(records_of(&env.records(), "role", "create").len(), 1);

    // Neither the password nor a secret is in the daemon's output, logs, state (change log
    // included) or in wardenctl's output.
    let mut places = vec![
        env.stdout_file(),
        env.stderr_file(),
        env.log_dir(),
        env.state_dir(),
    ];
    let ctl_dir = env.path("ctl-output");
    std::fs::create_dir_all(&ctl_dir).unwrap();
    for (i, out) in ctl_outputs.iter().enumerate() {
        std::fs::write(ctl_dir.join(format!("{i}.out")), &out.stdout).unwrap();
        std::fs::write(ctl_dir.join(format!("{i}.err")), &out.stderr).unwrap();
    }
    places.push(ctl_dir);
    assert!(
        !env.log_text().is_empty(),
        "the daemon wrote no log to scan"
    );
    for (what, needle) in [
        ("the admin password", &password),
        ("the first management secret", &secret),
        ("the second management secret", &secret2),
    ] {
        if let Some(file) = found_in(&places, needle) {
            panic!("{what} leaked into {}", file.display());
        }
    }
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_fixes_an_existing_role_and_client_and_stale_credentials() {
    let mut env = Env::start(&[]).await;
    let password = random_password();
    let url = env.sim.add_instance(INSTANCE);
    let sim = env.sim.instance(Some(INSTANCE));
    sim.add_user(UserSpec::admin(ADMIN, &password));
    // A management role with a wrong privilege set, a client that is disabled, has an extra
    // role and another lifetime, and credentials in Vault that no longer work.
    sim.create_role("Jamf Warden", ["Read API Roles", "Read Computers"])
        .unwrap();
    sim.create_role("Other", ["Read Computers"]).unwrap();
    let (_, client_id) = sim
        .create_client("Jamf Warden", ["Jamf Warden", "Other"], false, 600)
        .unwrap();
    env.store_credentials(INSTANCE, &client_id, "stale-secret")
        .await;
    env.instances.push(TestInstance {
        name: INSTANCE.into(),
        url: url.clone(),
        client_id: client_id.clone(),
        client_secret: String::new(),
        sim: sim.clone(),
    });
    let _daemon = env.start_daemon(&Cfg::new(&[INSTANCE])).await;

    let out = bootstrap(
        &env.socket(),
        &["--password-stdin", "--json"],
        &format!("{ADMIN}\n{password}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json answer");
    assert_eq!(answer["role"], "updated");
    assert_eq!(answer["client"], "updated");
    assert_eq!(answer["replaced_working"], false);
    let notes = answer["notes"].to_string();
    assert!(notes.contains("no longer worked"), "{notes}");
    assert!(notes.contains("removed: Read Computers"), "{notes}");
    assert!(notes.contains("existed with other settings"), "{notes}");

    let role = sim.role_by_name("Jamf Warden").unwrap();
    let mut privileges = role.privileges.clone();
    privileges.sort();
    let mut wanted = MANAGEMENT_PRIVILEGES.map(String::from).to_vec();
    wanted.sort();
    assert_eq!(privileges, wanted);
    let client = sim.client_by_name("Jamf Warden").unwrap();
    assert_eq!(client.client_id, client_id);
    assert!(client.enabled);
    assert_eq!(client.authorization_scopes, ["Jamf Warden"]);
    assert_eq!(client.access_token_lifetime_seconds, 300);
    let (version, stored_id, secret) = stored(&env).await;
    assert_eq!((version, stored_id.as_str()), (2, client_id.as_str()));
    let (code, body) = token_request(&url, &client_id, &secret).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["scope"], format!("api-role:{}", role.id));

    let records = env.records();
    let role_updated = records_of(&records, "role", "update");
    assert_eq!(role_updated.len(), 1, "{records:#?}");
    assert!(
        role_updated[0]["before"]["privileges"]
            .to_string()
            .contains("Read Computers")
    );
    assert_eq!(records_of(&records, "client", "update").len(), 1);
    assert!(records_of(&records, "role", "create").is_empty());
    for (what, needle) in [("the admin password", &password), ("the secret", &secret)] {
        if let Some(file) = found_in(
            &[
                env.stdout_file(),
                env.stderr_file(),
                env.log_dir(),
                env.state_dir(),
            ],
            needle,
        ) {
            panic!("{what} leaked into {}", file.display());
        }
        assert!(!text(&out.stdout).contains(needle.as_str()));
        assert!(!text(&out.stderr).contains(needle.as_str()));
    }
}
