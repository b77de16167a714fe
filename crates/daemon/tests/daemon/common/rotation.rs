//! Fixtures of the `rotation_*` tests: a managed API client in the simulator whose first secret
//! an operator stored in Vault, a desired-state file declaring it, reads of Vault versions and
//! rotation markers, token requests as a consumer makes them, a second daemon on the same Vault
//! prefix, and secret-leak scans of everything the daemons wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use warden_core::protocol::{ErrorCode, JobKind, Request, Response, RotateRequest};
use warden_core::rotation::SecretStore;

use super::{Cfg, Daemon, Env, PREFIX, WARDEND, append, collect_files, contains, status, wait_for};

/// The managed client of these tests and its role.
pub const CLIENT: &str = "Inventory Sync";
pub const ROLE: &str = "Inventory Read";
/// Warden's own management client.
pub const MANAGEMENT: &str = "Jamf Warden";
/// The mint request's route in the simulator's statistics.
pub const MINT_ROUTE: &str = "/api/v1/api-integrations/{id}/client-credentials";

/// The rotation job runs once at start-up (it never ran before), then yearly; drift and audit
/// are off. A client never rotated is due at once, so the first job rotates it.
pub const JOB_AT_START: &str =
    "jitter = \"0s\"\nrotation = \"@yearly\"\ndrift = \"off\"\naudit = \"off\"";
/// No scheduled job: only `Request::Rotate` and start-up recovery rotate.
pub const NO_JOBS: &str = "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"off\"\naudit = \"off\"";

/// A managed client in the simulator.
pub struct Managed {
    pub instance: String,
    pub name: String,
    /// Jamf integration id.
    pub id: u64,
    pub client_id: String,
    /// Vault path below the prefix.
    pub vault_path: String,
    /// The secret it had before Warden rotated it (Vault version 1).
    pub initial_secret: String,
}

/// A desired-state file declaring `clients`, each with [`ROLE`] and a yearly rotation (so one
/// rotation leaves it not due), plus `extra` TOML.
pub fn desired_toml(clients: &[&str], extra: &str) -> String {
    let mut text =
        format!("version = 1\n\n[[role]]\nname = \"{ROLE}\"\nprivileges = [\"Read Computers\"]\n");
    for c in clients {
        text.push_str(&format!(
            "\n[[client]]\nname = \"{c}\"\nroles = [\"{ROLE}\"]\nowner = \"it@example.com\"\n\
             purpose = \"rotation tests\"\n[client.rotation]\nschedule = \"@yearly\"\n"
        ));
    }
    text.push_str(extra);
    text
}

/// A consumer's token request: the HTTP status.
pub async fn token_status(url: &str, client_id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

/// `Request::Rotate` of `instance/client`, confirmed.
pub async fn rotate(socket: &Path, instance: &str, client: &str) -> Response {
    super::send(
        socket,
        Request::Rotate(RotateRequest {
            instance: instance.into(),
            client: client.into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: false,
        }),
    )
    .await
}

/// The error code and message of an error response.
pub fn error_of(response: &Response) -> (ErrorCode, String) {
    match response {
        Response::Error { code, message } => (*code, message.clone()),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// `(object name, outcome)` of every `rotate` record of a change log.
pub fn rotate_records(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|r| r["action"] == "rotate")
        .map(|r| {
            (
                r["object"]["name"].as_str().unwrap_or("").to_string(),
                r["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

impl Env {
    /// Creates [`ROLE`] (once) and the client `name` with it on `instance`, mints its first
    /// secret and stores it at the default path (version 1), as an operator would.
    pub async fn add_managed_client(&self, instance: &str, name: &str) -> Managed {
        let sim = &self.instance(instance).sim;
        if sim.role_by_name(ROLE).is_none() {
            sim.create_role(ROLE, ["Read Computers"]).unwrap();
        }
        let (id, client_id) = sim.create_client(name, [ROLE], true, 300).unwrap();
        let initial_secret = sim.mint_secret(id).unwrap();
        let slug = name.to_lowercase().replace(' ', "-");
        let vault_path = format!("instances/{instance}/clients/{slug}");
        self.write_secret(&vault_path, &client_id, &initial_secret)
            .await;
        Managed {
            instance: instance.into(),
            name: name.into(),
            id,
            client_id,
            vault_path,
            initial_secret,
        }
    }

    /// Marks the management secret of `instance` as rotated by Warden just now, as bootstrap
    /// does, so the rotation job leaves it alone until its next scheduled slot (and a test
    /// counts only its own client's mints).
    pub async fn mark_management_rotated(&self, instance: &str) {
        self.mark_management_rotated_at(instance, warden_core::clock::system()())
            .await;
    }

    /// [`Env::mark_management_rotated`] at `at` (for tests with a clock of their own).
    pub async fn mark_management_rotated_at(
        &self,
        instance: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let now = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.write_marker(
            &format!("instances/{instance}/management"),
            json!({"state": "ok", "rotated_at": now, "version": "1"}),
        )
        .await;
    }

    /// Writes `desired.toml` and the config for `cfg` with every instance declaring it.
    pub fn write_rotation_config(&self, cfg: &Cfg, desired: &str) {
        std::fs::write(self.path("desired.toml"), desired).unwrap();
        let text = self.rotation_config_text(cfg);
        let tmp = self.path("wardend.toml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.config_path()).unwrap();
    }

    fn rotation_config_text(&self, cfg: &Cfg) -> String {
        let mut text = self.config_text(cfg);
        for name in &cfg.instances {
            let table = format!("\n[[instance]]\nname = \"{name}\"\n");
            text = text.replace(&table, &format!("{table}desired = [\"desired.toml\"]\n"));
        }
        text
    }

    /// Writes `desired` for every one of `instances`, with no scheduled job (checks run on
    /// request only), and starts wardend on it.
    pub async fn start_declaring(&self, instances: &[&str], desired: &str) -> Daemon {
        let mut cfg = Cfg::new(instances);
        cfg.schedules = NO_JOBS.into();
        self.write_rotation_config(&cfg, desired);
        self.start_wardend(None).await
    }

    /// Starts wardend on the config written last, with `WARDEN_TEST_PAUSE_AT=<pause_at>` if
    /// given, and waits until it answers (on the memory store: `run` in-process, which pauses
    /// nowhere).
    pub async fn start_wardend(&self, pause_at: Option<&str>) -> Daemon {
        if self.memory().is_some() {
            assert!(
                pause_at.is_none(),
                "pausing a rotation needs the wardend binary"
            );
            return self
                .start_written_in_process(warden_daemon::RunOptions::default())
                .await;
        }
        let envs: Vec<(&str, &str)> = pause_at
            .map(|s| ("WARDEN_TEST_PAUSE_AT", s))
            .into_iter()
            .collect();
        let mut d = self.spawn(&[], &envs);
        d.wait_ready().await;
        d
    }

    /// A second wardend on the same Vault prefix and simulator, with its own socket, state and
    /// log directories under `<dir>/<name>/` (so its own daemon id) and a fresh change log: each
    /// daemon keeps its own head anchor in Vault, so sharing a prefix does not stop either.
    pub async fn start_second_daemon(&self, cfg: &Cfg, name: &str) -> Daemon {
        let d = self.dir.path().display().to_string();
        let sub = self.path(name);
        std::fs::create_dir_all(&sub).unwrap();
        let mut text = self.rotation_config_text(cfg);
        for leaf in ["w.sock", "state", "log"] {
            text = text.replace(
                &format!("\"{d}/{leaf}\""),
                &format!("\"{d}/{name}/{leaf}\""),
            );
        }
        let config = self.path(&format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        let mut cmd = Command::new(WARDEND);
        cmd.arg("--config")
            .arg(&config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(append(&sub.join("wardend.out")))
            .stderr(append(&sub.join("wardend.err")));
        let mut daemon = Daemon::process(
            cmd.spawn().expect("spawn the second wardend"),
            sub.join("w.sock"),
            sub.join("wardend.err"),
        );
        daemon.wait_ready().await;
        daemon
    }

    /// Mint requests the simulator received for `instance` (any client).
    pub fn mints(&self, instance: &str) -> u64 {
        self.instance(instance)
            .sim
            .stats()
            .count("POST", MINT_ROUTE)
    }

    /// Every version at `path` (below the prefix): `(version, client_id, client_secret)`.
    pub async fn vault_versions(&self, path: &str) -> Vec<(u64, String, String)> {
        let meta = self.vault_metadata(path).await;
        let current = meta["current_version"].as_u64().unwrap_or(0);
        let mut out = Vec::new();
        for v in 1..=current {
            let d = &self.read_version(path, v).await;
            assert!(d.is_object(), "{path} version {v} cannot be read");
            out.push((
                v,
                d["client_id"].as_str().unwrap_or_default().to_string(),
                d["client_secret"].as_str().unwrap_or_default().to_string(),
            ));
        }
        out
    }

    /// The KV v2 metadata at `path` (below the prefix), as Vault shows it
    /// (`current_version`, `custom_metadata`, `versions`); `Null` when there is none.
    pub async fn vault_metadata(&self, path: &str) -> Value {
        if let Some(m) = self.memory() {
            let Some(meta) = m.read_metadata(path).await.expect("read the memory store") else {
                return Value::Null;
            };
            let versions: serde_json::Map<String, Value> = meta
                .versions
                .iter()
                .map(|(v, info)| {
                    let info =
                        json!({"created_time": info.created_time, "destroyed": info.destroyed});
                    (v.to_string(), info)
                })
                .collect();
            return json!({
                "current_version": meta.current_version,
                "custom_metadata": meta.custom,
                "versions": versions,
            });
        }
        self.bao()
            .api(
                reqwest::Method::GET,
                &format!("secret/metadata/{PREFIX}/{path}"),
                None,
            )
            .await
            .map(|v| v["data"].clone())
            .unwrap_or(Value::Null)
    }

    /// Waits until the rotation marker at `path` says `state`; returns the metadata.
    pub async fn wait_vault_state(&self, path: &str, state: &str) -> Value {
        wait_for(&format!("state={state} at {path}"), async || {
            let m = self.vault_metadata(path).await;
            (m["custom_metadata"]["state"] == state).then_some(m)
        })
        .await
    }

    /// Waits until the daemon at `socket` has finished a rotation job run of every instance.
    pub async fn wait_rotation_job_done(&self, socket: &Path) {
        wait_for("the rotation job to finish", async || {
            let s = status(socket).await;
            s.instances
                .iter()
                .flat_map(|i| &i.jobs)
                .filter(|j| j.kind == JobKind::Rotate)
                .all(|j| j.last_run.is_some() && !j.running)
                .then_some(())
        })
        .await
    }

    /// Fails if any of `secrets` appears in any file under `paths` (output files, log and state
    /// directories).
    pub fn assert_absent_from(&self, paths: &[PathBuf], secrets: &[(&str, String)]) {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                collect_files(p, &mut files);
            } else {
                files.push(p.clone());
            }
        }
        let mut scanned = 0;
        for f in &files {
            let Ok(bytes) = std::fs::read(f) else {
                continue;
            };
            scanned += bytes.len();
            for (what, secret) in secrets {
                assert!(
                    !contains(&bytes, secret.as_bytes()),
                    "{what} leaked into {}",
                    f.display()
                );
            }
        }
        assert!(scanned > 0, "nothing to scan for secrets");
    }

    /// The first daemon's output files and its log and state directories (and for daemons
    /// run in-process, the in-process log since the first one started).
    pub fn daemon_files(&self) -> Vec<PathBuf> {
        let mut files = vec![
            self.stdout_file(),
            self.stderr_file(),
            self.log_dir(),
            self.state_dir(),
        ];
        files.extend(self.in_process_log_copy());
        files
    }

    /// The secrets a leak scan looks for besides the ones a test minted: the Vault root token
    /// and every management secret Vault holds for `instance`.
    pub async fn standing_secrets(&self, instance: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(token) = self.root_token() {
            out.push(("the vault root token", token));
        }
        let path = format!("instances/{instance}/management");
        for (v, _, s) in self.vault_versions(&path).await {
            assert!(!s.is_empty(), "management version {v} has no secret");
            out.push(("a management secret", s));
        }
        out
    }
}

impl Daemon {
    /// SIGKILLs the daemon and reaps it.
    pub async fn kill_hard(&mut self) {
        self.signal(Signal::SIGKILL);
        let status = self.wait_exit().await;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(Signal::SIGKILL as i32)
        );
    }
}
