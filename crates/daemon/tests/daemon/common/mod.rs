//! Shared fixtures of wardend's integration tests: a secret store (a real OpenBao dev server,
//! or core's in-memory store for tests whose subject is not Vault), the Jamf Pro simulator
//! in-process, Warden's management credentials stored there, a config file in a short temp
//! dir, and the real `wardend` binary (or `warden_daemon::run` in-process).
//!
//! [`Env::start`] starts OpenBao: tests of what Vault does (policies, check-and-set, KV
//! metadata, the mount, token renewal, the head anchor, crash markers, bootstrap's writes) and
//! tests of the binary (exit codes, signals) use it. [`Env::start_memory`] keeps secrets in a
//! [`MemoryStore`] and runs every daemon in-process on it (`RunOptions::memory_store`); the
//! helpers that read or write secrets, markers and the head anchor work on either.
//!
//! Every test gets its own temp dir, store and simulator on free ports, so tests run in
//! parallel. Waits poll with generous deadlines; nothing asserts on wall-clock durations.

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jamf_sim::{Sim, SimInstance, SimOptions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use warden_core::changelog::Head;
use warden_core::config::Config;
use warden_core::protocol::{Request, Response, StatusReport, connect};
use warden_core::rotation::{MemoryStore, SecretStore};
use warden_daemon::{Clock, Control, RunOptions, StartError};
use warden_testkit::OpenBao;

pub mod apply;
pub mod audit;
pub mod drift;
pub mod rotation;

/// The built daemon.
pub const WARDEND: &str = env!("CARGO_BIN_EXE_wardend");

/// How long any wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The least privileges Warden's own management client needs (defined once, in core; core's
/// own test pins the list).
pub use warden_core::management::MANAGEMENT_PRIVILEGES;

/// Vault KV prefix of every test.
pub const PREFIX: &str = "warden-test";

/// One simulated Jamf Pro instance with Warden's management client.
pub struct TestInstance {
    pub name: String,
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    pub sim: SimInstance,
}

/// Where a test's secrets live.
pub enum Backend {
    /// A real OpenBao dev server; daemons run as the `wardend` binary or in-process.
    Bao(OpenBao),
    /// Core's in-memory store; daemons run in-process only (`RunOptions::memory_store`).
    Memory(Arc<MemoryStore>),
}

/// The secret store, the simulator and a temp dir holding config, token, socket, state and
/// logs.
pub struct Env {
    pub dir: TempDir,
    pub backend: Backend,
    pub sim: Sim,
    pub instances: Vec<TestInstance>,
    /// Where this test's daemons began writing to the in-process log ([`in_process_log`]).
    log_from: OnceLock<u64>,
}

/// What the generated config file says.
#[derive(Clone, Debug)]
pub struct Cfg {
    /// Instance names (each must have been created with [`Env::add_instance`]).
    pub instances: Vec<String>,
    pub socket_mode: String,
    pub socket_group: Option<u32>,
    pub admin_uids: Vec<u32>,
    /// Lines of `[defaults.schedules]`.
    pub schedules: String,
    /// Overrides the Vault address (e.g. a dead port).
    pub vault_address: Option<String>,
    /// Extra lines in `[daemon]` (e.g. an unknown key, to break the file).
    pub daemon_extra: String,
    /// Extra lines in an instance's table, by instance name (e.g. `prune = true`).
    pub instance_extra: Vec<(String, String)>,
    /// Top-level tables after `[defaults.schedules]` (e.g. `[audit]` and
    /// `[[audit.suppression]]`).
    pub tables: String,
}

impl Cfg {
    /// A config for `instances` with a 0600 socket and root as the only admin.
    pub fn new(instances: &[&str]) -> Cfg {
        Cfg {
            instances: instances.iter().map(|s| s.to_string()).collect(),
            socket_mode: "0600".into(),
            socket_group: None,
            admin_uids: vec![0],
            schedules: "jitter = \"0s\"".into(),
            vault_address: None,
            daemon_extra: String::new(),
            instance_extra: Vec::new(),
            tables: String::new(),
        }
    }

    /// Adds `line` to the table of instance `name`.
    pub fn instance_line(mut self, name: &str, line: &str) -> Cfg {
        self.instance_extra
            .push((name.to_string(), line.to_string()));
        self
    }
}

impl Env {
    /// Starts OpenBao and the simulator and sets up `names` as instances.
    pub async fn start(names: &[&str]) -> Env {
        let bao = OpenBao::start().await.expect("start openbao");
        Env::start_on(Backend::Bao(bao), names).await
    }

    /// As [`Env::start`], on a Raft cluster of `nodes` OpenBao servers (the config points at
    /// the last node; `env.bao_mut().stop_leader()` stops the active one under it).
    pub async fn start_raft(nodes: usize, names: &[&str]) -> Env {
        let bao = OpenBao::start_raft(nodes)
            .await
            .expect("start an openbao raft cluster");
        Env::start_on(Backend::Bao(bao), names).await
    }

    /// The simulator and `names` as instances, with secrets in an in-memory store: no OpenBao.
    /// Daemons of this environment run in-process.
    pub async fn start_memory(names: &[&str]) -> Env {
        Env::start_on(Backend::Memory(Arc::new(MemoryStore::new())), names).await
    }

    async fn start_on(backend: Backend, names: &[&str]) -> Env {
        // wardend refuses config and desired files the group may write; a developer's umask of
        // 002 would make every file these tests write so.
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        let dir = tempfile::Builder::new()
            .prefix("w")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
            .await
            .expect("start jamf-sim");
        let mut env = Env {
            dir,
            backend,
            sim,
            instances: Vec::new(),
            log_from: OnceLock::new(),
        };
        // The config names a token file either way; the memory store never reads it.
        let token = env.root_token().unwrap_or_else(|| "no-token".into());
        write_private(&env.token_file(), token.as_bytes());
        for name in names {
            env.add_instance(name).await;
        }
        env
    }

    /// Creates a simulated instance with Warden's least-privilege management role and client,
    /// and stores the client's credentials in Vault at `<prefix>/instances/<name>/management`.
    pub async fn add_instance(&mut self, name: &str) -> &TestInstance {
        let url = self.sim.add_instance(name);
        let sim = self.sim.instance(Some(name));
        sim.create_role("Jamf Warden", MANAGEMENT_PRIVILEGES)
            .expect("create the management role");
        let (id, client_id) = sim
            .create_client("Jamf Warden", ["Jamf Warden"], true, 300)
            .expect("create the management client");
        let client_secret = sim.mint_secret(id).expect("mint the management secret");
        self.store_credentials(name, &client_id, &client_secret)
            .await;
        self.instances.push(TestInstance {
            name: name.to_string(),
            url,
            client_id,
            client_secret,
            sim,
        });
        self.instances.last().unwrap()
    }

    /// Writes management credentials for `name` into the store.
    pub async fn store_credentials(&self, name: &str, client_id: &str, client_secret: &str) {
        self.write_secret(
            &format!("instances/{name}/management"),
            client_id,
            client_secret,
        )
        .await;
    }

    /// OpenBao; fails the test when it runs on the in-memory store.
    pub fn bao_mut(&mut self) -> &mut OpenBao {
        match &mut self.backend {
            Backend::Bao(bao) => bao,
            Backend::Memory(_) => panic!("this test runs on the in-memory store, without OpenBao"),
        }
    }

    pub fn bao(&self) -> &OpenBao {
        match &self.backend {
            Backend::Bao(bao) => bao,
            Backend::Memory(_) => panic!("this test runs on the in-memory store, without OpenBao"),
        }
    }

    /// The in-memory store, when the test runs on it.
    pub fn memory(&self) -> Option<&Arc<MemoryStore>> {
        match &self.backend {
            Backend::Bao(_) => None,
            Backend::Memory(m) => Some(m),
        }
    }

    /// OpenBao's root token (`None` on the in-memory store, which has none).
    pub fn root_token(&self) -> Option<String> {
        match &self.backend {
            Backend::Bao(bao) => Some(bao.root_token().to_string()),
            Backend::Memory(_) => None,
        }
    }

    /// Writes `{client_id, client_secret}` as a new version at `path` (below the prefix), as an
    /// operator would (no check-and-set).
    pub async fn write_secret(&self, path: &str, client_id: &str, client_secret: &str) {
        let data = json!({"client_id": client_id, "client_secret": client_secret});
        match &self.backend {
            Backend::Bao(bao) => {
                bao.api(
                    reqwest::Method::POST,
                    &format!("secret/data/{PREFIX}/{path}"),
                    Some(json!({ "data": data })),
                )
                .await
                .expect("store a secret in vault");
            }
            Backend::Memory(m) => {
                let current = m
                    .read_metadata(path)
                    .await
                    .expect("read the memory store")
                    .map_or(0, |meta| meta.current_version);
                m.write_json_cas(path, &data, current)
                    .await
                    .expect("store a secret in the memory store");
            }
        }
    }

    /// Replaces the custom metadata at `path` (below the prefix): a rotation marker.
    pub async fn write_marker(&self, path: &str, custom: Value) {
        match &self.backend {
            Backend::Bao(bao) => {
                bao.api(
                    reqwest::Method::POST,
                    &format!("secret/metadata/{PREFIX}/{path}"),
                    Some(json!({ "custom_metadata": custom })),
                )
                .await
                .expect("write a marker in vault");
            }
            Backend::Memory(m) => {
                let custom = serde_json::from_value(custom).expect("a marker is a string map");
                m.write_custom_metadata(path, &custom)
                    .await
                    .expect("write a marker in the memory store");
            }
        }
    }

    /// Version `version` of the data at `path` (below the prefix); `Null` when there is none.
    pub async fn read_version(&self, path: &str, version: u64) -> Value {
        match &self.backend {
            Backend::Bao(bao) => bao
                .api(
                    reqwest::Method::GET,
                    &format!("secret/data/{PREFIX}/{path}?version={version}"),
                    None,
                )
                .await
                .map(|v| v["data"]["data"].clone())
                .unwrap_or(Value::Null),
            Backend::Memory(m) => m.version(path, version).unwrap_or(Value::Null),
        }
    }

    pub fn instance(&self, name: &str) -> &TestInstance {
        self.instances
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no test instance {name}"))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn socket(&self) -> PathBuf {
        self.path("w.sock")
    }
    pub fn config_path(&self) -> PathBuf {
        self.path("wardend.toml")
    }
    pub fn token_file(&self) -> PathBuf {
        self.path("vault-token")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.path("log")
    }
    pub fn changelog(&self) -> PathBuf {
        self.state_dir().join("changelog.jsonl")
    }
    pub fn head_file(&self) -> PathBuf {
        self.state_dir().join("changelog.jsonl.head")
    }
    pub fn stdout_file(&self) -> PathBuf {
        self.path("wardend.out")
    }
    pub fn stderr_file(&self) -> PathBuf {
        self.path("wardend.err")
    }

    /// The config file text for `cfg`.
    pub fn config_text(&self, cfg: &Cfg) -> String {
        let d = self.dir.path().display();
        let group = cfg
            .socket_group
            .map(|g| format!("socket_group = {g}\n"))
            .unwrap_or_default();
        let address = cfg
            .vault_address
            .clone()
            .unwrap_or_else(|| match &self.backend {
                Backend::Bao(bao) => bao.addr().to_string(),
                // never contacted: the daemon runs on the memory store
                Backend::Memory(_) => "http://127.0.0.1:9".into(),
            });
        let mut text = format!(
            "version = 1\n\n[daemon]\nsocket = \"{d}/w.sock\"\nsocket_mode = \"{mode}\"\n{group}\
             state_dir = \"{d}/state\"\nlog_dir = \"{d}/log\"\nlog_level = \"info\"\n\
             admin_uids = {admins:?}\n{extra}\n\n[vault]\naddress = \"{address}\"\n\
             kv_mount = \"secret\"\npath_prefix = \"{PREFIX}\"\n\n[vault.auth]\nmethod = \"token\"\n\
             token_file = \"{d}/vault-token\"\n\n[defaults.schedules]\n{schedules}\n",
            mode = cfg.socket_mode,
            admins = cfg.admin_uids,
            extra = cfg.daemon_extra,
            schedules = cfg.schedules,
        );
        if !cfg.tables.is_empty() {
            text.push('\n');
            text.push_str(&cfg.tables);
            text.push('\n');
        }
        for name in &cfg.instances {
            let inst = self.instance(name);
            text.push_str(&format!(
                "\n[[instance]]\nname = \"{name}\"\nurl = \"{}\"\nconnect_timeout = \"2s\"\n\
                 request_timeout = \"10s\"\n",
                inst.url
            ));
            for (_, line) in cfg.instance_extra.iter().filter(|(n, _)| n == name) {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    /// Writes the config file (atomically, so a reload never reads half a file).
    pub fn write_config(&self, cfg: &Cfg) {
        let tmp = self.path("wardend.toml.tmp");
        std::fs::write(&tmp, self.config_text(cfg)).unwrap();
        std::fs::rename(&tmp, self.config_path()).unwrap();
    }

    /// `wardend --config <config> ARGS` with a clean environment plus `envs`, output appended
    /// to `wardend.out` / `wardend.err`.
    pub fn spawn(&self, args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        assert!(
            self.memory().is_none(),
            "the wardend binary needs OpenBao: start this test with Env::start"
        );
        let out = append(&self.stdout_file());
        let err = append(&self.stderr_file());
        let mut cmd = self.command(args, envs);
        cmd.stdout(out).stderr(err);
        let child = cmd.spawn().expect("spawn wardend");
        Daemon::process(child, self.socket(), self.stderr_file())
    }

    fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(WARDEND);
        cmd.arg("--config")
            .arg(self.config_path())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Writes `cfg`, starts wardend and waits until it answers on its socket (on the memory
    /// store: `run` in-process).
    pub async fn start_daemon(&self, cfg: &Cfg) -> Daemon {
        self.write_config(cfg);
        if self.memory().is_some() {
            return self.start_written_in_process(RunOptions::default()).await;
        }
        let mut d = self.spawn(&[], &[]);
        d.wait_ready().await;
        d
    }

    /// Runs wardend to completion (for start-up failures and `--check-config`).
    pub async fn run_to_exit(&self, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::from(self.command(args, &[]));
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(DEADLINE, cmd.output())
            .await
            .expect("wardend did not exit")
            .expect("run wardend");
        // Keep the output for the secret-leak scan.
        append(&self.stdout_file()).write_all(&out.stdout).unwrap();
        append(&self.stderr_file()).write_all(&out.stderr).unwrap();
        out
    }

    /// The text of every daemon log file.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.log_dir()) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                text.push_str(&std::fs::read_to_string(p).unwrap_or_default());
            }
        }
        text
    }

    /// Waits until the daemon log has a line containing every one of `needles`; returns it.
    pub async fn wait_log_line(&self, needles: &[&str]) -> String {
        wait_for(&format!("a log line with {needles:?}"), async || {
            self.log_text()
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
                .map(str::to_string)
        })
        .await
    }

    /// The change-log records.
    pub fn records(&self) -> Vec<Value> {
        read_records(&self.changelog())
    }

    /// The part of the in-process log written since this test's first in-process daemon
    /// started, copied to `in-process.log` in the test's directory for a leak scan; `None`
    /// when no daemon of this test ran in-process.
    pub fn in_process_log_copy(&self) -> Option<PathBuf> {
        let from = *self.log_from.get()?;
        let bytes = std::fs::read(in_process_log()).expect("read the in-process log");
        let copy = self.path("in-process.log");
        std::fs::write(&copy, bytes.get(from as usize..).unwrap_or_default()).unwrap();
        Some(copy)
    }

    /// The local head anchor file.
    pub fn file_head(&self) -> Option<Head> {
        let text = std::fs::read_to_string(self.head_file()).ok()?;
        Some(serde_json::from_str(&text).expect("head anchor is JSON"))
    }

    /// The head anchor kept in the store (per daemon, under `_warden/changelog-head/<daemon
    /// id>`; this fixture runs one daemon per prefix).
    pub async fn vault_head(&self) -> Option<Head> {
        let bao = match &self.backend {
            Backend::Bao(bao) => bao,
            Backend::Memory(m) => {
                let keys: Vec<String> = m
                    .paths()
                    .into_iter()
                    .filter(|p| p.starts_with("_warden/changelog-head/"))
                    .collect();
                if keys.is_empty() {
                    return None;
                }
                assert_eq!(keys.len(), 1, "one daemon, one head anchor: {keys:?}");
                let v = m.read_json(&keys[0]).await.ok()??;
                return Some(serde_json::from_value(v.value).expect("head in the store"));
            }
        };
        let list = bao
            .api(
                reqwest::Method::from_bytes(b"LIST").expect("LIST is a method"),
                &format!("secret/metadata/{PREFIX}/_warden/changelog-head"),
                None,
            )
            .await
            .ok()?;
        let keys = list["data"]["keys"].as_array()?;
        assert_eq!(keys.len(), 1, "one daemon, one head anchor: {keys:?}");
        let key = keys[0].as_str()?;
        let v = bao
            .api(
                reqwest::Method::GET,
                &format!("secret/data/{PREFIX}/_warden/changelog-head/{key}"),
                None,
            )
            .await
            .ok()?;
        Some(serde_json::from_value(v["data"]["data"].clone()).expect("head in vault"))
    }

    /// Fails if a management client secret or the Vault root token appears in the daemon's
    /// output, logs (in-process daemons: the in-process log since this test's first one
    /// started), change log or state.
    pub fn assert_no_secret_leaks(&self) {
        let mut files = vec![self.stdout_file(), self.stderr_file()];
        files.extend(self.in_process_log_copy());
        for dir in [self.log_dir(), self.state_dir()] {
            collect_files(&dir, &mut files);
        }
        let mut needles: Vec<(&str, String)> = Vec::new();
        if let Some(token) = self.root_token() {
            needles.push(("the vault root token", token));
        }
        for i in &self.instances {
            needles.push(("a management client secret", i.client_secret.clone()));
        }
        let mut scanned = 0;
        for f in &files {
            let Ok(bytes) = std::fs::read(f) else {
                continue;
            };
            scanned += bytes.len();
            for (what, needle) in &needles {
                assert!(
                    !contains(&bytes, needle.as_bytes()),
                    "{what} leaked into {}",
                    f.display()
                );
            }
        }
        assert!(
            scanned > 0,
            "nothing to scan for secrets: no output or logs"
        );
    }

    /// Starts `warden_daemon::run` in this process with the config file `cfg` and `options`
    /// (on the memory store: with it as `options.memory_store`).
    pub async fn run_in_process(&self, cfg: &Cfg, options: RunOptions) -> InProcess {
        self.write_config(cfg);
        self.run_written_in_process(options).await
    }

    /// [`Env::run_in_process`] of the config written last, as a [`Daemon`].
    pub async fn start_written_in_process(&self, options: RunOptions) -> Daemon {
        let run = self.run_written_in_process(options).await;
        Daemon::in_process(run, self.socket(), self.stderr_file())
    }

    async fn run_written_in_process(&self, mut options: RunOptions) -> InProcess {
        if let Some(m) = self.memory() {
            options.memory_store.get_or_insert_with(|| Arc::clone(m));
        }
        let log = in_process_log();
        self.log_from
            .get_or_init(|| std::fs::metadata(log).map_or(0, |m| m.len()));
        let config = Config::load(&self.config_path()).expect("valid config");
        let shutdown = CancellationToken::new();
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        let control = Control {
            shutdown: shutdown.clone(),
            force: CancellationToken::new(),
            reload: reload_rx,
        };
        let handle = tokio::spawn(warden_daemon::run(config, options, control));
        let socket = self.socket();
        wait_for("the in-process daemon to answer", async || {
            assert!(!handle.is_finished(), "run() ended during start-up");
            connect(&socket).await.ok().map(|_| ())
        })
        .await;
        InProcess {
            shutdown,
            reload: reload_tx,
            handle,
        }
    }
}

/// A running daemon: a `wardend` child process (killed when dropped), or `run` in-process
/// (stopped when dropped).
pub struct Daemon {
    run: Running,
    pub socket: PathBuf,
    stderr: PathBuf,
}

enum Running {
    Process(Child),
    /// `None` once stopped.
    InProcess(Option<InProcess>),
}

impl Daemon {
    /// A spawned `wardend` answering on `socket`, writing its stderr to `stderr`.
    pub fn process(child: Child, socket: PathBuf, stderr: PathBuf) -> Daemon {
        Daemon {
            run: Running::Process(child),
            socket,
            stderr,
        }
    }

    /// `run` in-process, answering on `socket`.
    pub fn in_process(run: InProcess, socket: PathBuf, stderr: PathBuf) -> Daemon {
        Daemon {
            run: Running::InProcess(Some(run)),
            socket,
            stderr,
        }
    }

    /// The child process; fails the test for an in-process daemon (no process to signal).
    pub fn child(&self) -> &Child {
        match &self.run {
            Running::Process(c) => c,
            Running::InProcess(_) => panic!("an in-process daemon has no process"),
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        match &mut self.run {
            Running::Process(c) => c,
            Running::InProcess(_) => panic!("an in-process daemon has no process"),
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child().id() as i32)
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal wardend");
    }

    /// Stops gracefully and fails unless the daemon stopped cleanly: SIGTERM and exit status
    /// 0 for `wardend`, the stop token and `Ok` from `run` in-process.
    pub async fn stop_cleanly(&mut self) {
        match &mut self.run {
            Running::Process(_) => {
                self.signal(Signal::SIGTERM);
                let status = self.wait_exit().await;
                assert!(status.success(), "wardend stopped with {status}");
            }
            Running::InProcess(run) => {
                let run = run.take().expect("the in-process daemon runs");
                run.stop().await.expect("run() stopped cleanly");
            }
        }
    }

    /// Waits until a hello on the socket succeeds; fails if wardend exits first.
    pub async fn wait_ready(&mut self) {
        if let Running::InProcess(_) = self.run {
            // run_in_process returned once it answered
            return;
        }
        let socket = self.socket.clone();
        let stderr = self.stderr.clone();
        let child = self.child_mut();
        wait_for("wardend to answer on its socket", async || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "wardend exited during start-up ({status}): {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            connect(&socket).await.ok().map(|_| ())
        })
        .await;
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let child = self.child_mut();
        wait_for("wardend to exit", async || child.try_wait().unwrap()).await
    }

    /// Whether the process (or `run` in-process) still runs.
    pub fn is_running(&mut self) -> bool {
        match &mut self.run {
            Running::Process(c) => c.try_wait().unwrap().is_none(),
            Running::InProcess(r) => r.as_ref().is_some_and(|r| !r.handle.is_finished()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        match &mut self.run {
            Running::Process(child) => {
                if child.try_wait().ok().flatten().is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
            Running::InProcess(run) => {
                if let Some(run) = run {
                    run.shutdown.cancel();
                }
            }
        }
    }
}

/// `warden_daemon::run` on a task of the test's runtime.
pub struct InProcess {
    pub shutdown: CancellationToken,
    pub reload: UnboundedSender<()>,
    pub handle: JoinHandle<Result<(), StartError>>,
}

impl InProcess {
    /// Stops gracefully and returns what `run` returned.
    pub async fn stop(self) -> Result<(), StartError> {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.handle)
            .await
            .expect("run() did not stop")
            .expect("run() panicked")
    }
}

/// A clock the test moves by hand. It counts how often the daemon read it, so a test can tell
/// that the daemon looked at the time it was set to (see [`TestClock::look`]).
#[derive(Clone)]
pub struct TestClock {
    millis: Arc<AtomicI64>,
    reads: Arc<AtomicU64>,
}

impl TestClock {
    pub fn at(t: DateTime<Utc>) -> TestClock {
        TestClock {
            millis: Arc::new(AtomicI64::new(t.timestamp_millis())),
            reads: Arc::new(AtomicU64::new(0)),
        }
    }
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.millis.load(Ordering::SeqCst)).unwrap()
    }
    pub fn set(&self, t: DateTime<Utc>) {
        self.millis.store(t.timestamp_millis(), Ordering::SeqCst);
    }
    /// How many times the daemon read the clock so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
    pub fn clock(&self) -> Clock {
        let (millis, reads) = (Arc::clone(&self.millis), Arc::clone(&self.reads));
        Arc::new(move || {
            reads.fetch_add(1, Ordering::SeqCst);
            DateTime::from_timestamp_millis(millis.load(Ordering::SeqCst)).unwrap()
        })
    }

    /// Makes the scheduler of a daemon run with `RunOptions { tick: Some(tick), .. }` look at
    /// what is due at the clock's time, and returns once that look is over: the scheduler reads
    /// the clock at the top of its loop, decides and starts what is due (synchronously), then
    /// waits for the next tick. So a tick, a read, a second tick and a second read mean the
    /// first look ran to its end. Call it while the daemon is otherwise idle (no job running,
    /// no request in flight): then the scheduler is the only reader of the clock.
    pub async fn look(&self, tick: &tokio::sync::Notify) {
        let before = self.reads();
        for n in 1..=2 {
            // A notification while the scheduler is busy is kept for its next wait.
            tick.notify_one();
            wait_for("the scheduler to read the clock", async || {
                (self.reads() >= before + n).then_some(())
            })
            .await;
        }
    }
}

/// The log of every daemon this test binary runs in-process, written as `wardend` writes its
/// log file (text at level `info`, each line scrubbed of every known secret). `tracing` has one
/// global subscriber per process, so daemons of tests running at the same time share it; a
/// test's leak scan reads it from where its first daemon started ([`Env::in_process_log_copy`]),
/// which covers its own daemons' lines and maybe others'.
pub fn in_process_log() -> &'static Path {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon-in-process.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .expect("open the in-process log");
        let file = warden_daemon::logging::Scrubbed(Arc::new(file));
        let subscriber = tracing_subscriber::registry()
            .with(warden_daemon::logging::filter("info"))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(file)
                    .with_ansi(false),
            );
        tracing::subscriber::set_global_default(subscriber)
            .expect("nothing else sets the test binary's subscriber");
        path
    })
}

/// Connects, says hello and sends one request.
pub async fn send(socket: &Path, request: Request) -> Response {
    let mut conn = connect(socket).await.expect("connect to wardend");
    conn.request(request).await.expect("request")
}

/// `status`, unwrapped.
pub async fn status(socket: &Path) -> StatusReport {
    match send(socket, Request::Status).await {
        Response::Status(s) => s,
        other => panic!("status answered {other:?}"),
    }
}

/// Polls `f` until it returns `Some`, at most [`DEADLINE`].
pub async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = warden_core::clock::instant();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The records of a change-log file, parsed.
pub fn read_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a change-log line is JSON"))
        .collect()
}

/// Creates (or replaces) a file with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// Text of a process's output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `wardenctl`, built next to `wardend` (a no-op when the workspace's binaries are built).
pub fn wardenctl() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let wardend = Path::new(WARDEND);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .args(["build", "--quiet", "-p", "warden-ctl", "--bin", "wardenctl"])
            .current_dir(root);
        if wardend.parent().is_some_and(|p| p.ends_with("release")) {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build for wardenctl");
        assert!(status.success(), "cannot build wardenctl");
        let path = wardend.with_file_name("wardenctl");
        assert!(path.is_file(), "no wardenctl at {}", path.display());
        path
    })
}
