//! A real OpenBao dev server for tests: `bao server -dev` on a free loopback port with a random
//! root token, stopped (killed and reaped) when the fixture is dropped.
//!
//! The binary is found through `WARDEN_BAO_BIN`, then the project venv (`.venv/bin/bao`, made by
//! `scripts/install-openbao.sh`), then `PATH`. When none exists the fixture fails loudly: a test
//! that needs OpenBao never passes silently without it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use rand::Rng;
use rand::distr::Alphanumeric;
use warden_core::clock::Stopwatch;

/// A running OpenBao: a dev server, or one node of a Raft cluster ([`OpenBao::start_raft`])
/// whose other nodes it owns. KV v2 is mounted at `secret/`.
pub struct OpenBao {
    child: Child,
    addr: String,
    root_token: String,
    bin: PathBuf,
    _home: tempfile::TempDir,
    /// The other nodes of a Raft cluster (empty for a dev server).
    peers: Vec<Peer>,
}

/// Another node of a Raft cluster.
struct Peer {
    child: Child,
    addr: String,
}

impl std::fmt::Debug for OpenBao {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenBao")
            .field("addr", &self.addr)
            .field("root_token", &"<redacted>")
            .finish()
    }
}

/// Where the `bao` binary is, or an error that says how to install it.
pub fn bao_bin() -> anyhow::Result<PathBuf> {
    find_bao(
        std::env::var_os("WARDEN_BAO_BIN").map(PathBuf::from),
        &workspace_root().join(".venv/bin/bao"),
        std::env::var_os("PATH"),
    )
}

fn find_bao(
    explicit: Option<PathBuf>,
    venv: &Path,
    path: Option<std::ffi::OsString>,
) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "WARDEN_BAO_BIN points to {}, which is not a file; run scripts/install-openbao.sh",
            p.display()
        );
    }
    if venv.is_file() {
        return Ok(venv.to_path_buf());
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("bao");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "openbao (`bao`) not found: run scripts/install-openbao.sh or set WARDEN_BAO_BIN; \
         tests that need a real Vault cannot run without it"
    )
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a probe socket on loopback")?;
    Ok(l.local_addr()?.port())
}

fn random_token() -> String {
    let s: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("warden-test-{s}")
}

impl OpenBao {
    /// Starts a dev server and waits until `GET /v1/sys/health` answers 200.
    /// Panics are left to the caller: this returns an error with context instead.
    pub async fn start() -> anyhow::Result<OpenBao> {
        Self::start_with_config(None).await
    }

    /// As [`OpenBao::start`], with an extra server `-config` file (HCL), e.g. declaring an audit
    /// device: OpenBao 2.x refuses to enable audit devices over its API.
    pub async fn start_with_config(config: Option<&Path>) -> anyhow::Result<OpenBao> {
        let bin = bao_bin()?;
        let mut last_err = None;
        for _ in 0..3 {
            match Self::try_start(&bin, config).await {
                Ok(b) => return Ok(b),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("openbao did not start")))
    }

    async fn try_start(bin: &Path, config: Option<&Path>) -> anyhow::Result<OpenBao> {
        let port = free_port()?;
        let root_token = random_token();
        let home = tempfile::tempdir().context("creating a HOME for openbao")?;
        let log = std::fs::File::create(home.path().join("bao.log"))?;
        let child = Command::new(bin)
            .args([
                "server",
                "-dev",
                "-dev-no-store-token",
                &format!("-dev-root-token-id={root_token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .args(config.map(|c| format!("-config={}", c.display())))
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} server -dev", bin.display()))?;
        let mut bao = OpenBao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            bin: bin.to_path_buf(),
            _home: home,
            peers: Vec::new(),
        };
        bao.wait_ready(Duration::from_secs(30)).await?;
        Ok(bao)
    }

    /// A Raft cluster of `nodes` OpenBao servers on loopback (integrated storage, one unseal
    /// key): the first is initialised and unsealed, the others join it (`retry_join`) and are
    /// unsealed, KV v2 is mounted at `secret/`. This fixture talks to the **last** node (a
    /// standby at first, which forwards to the active node), so the leader can be stopped
    /// under it ([`OpenBao::stop_leader`]).
    pub async fn start_raft(nodes: usize) -> anyhow::Result<OpenBao> {
        anyhow::ensure!(nodes >= 2, "a Raft cluster here has at least 2 nodes");
        let bin = bao_bin()?;
        let home = tempfile::tempdir().context("creating a HOME for the openbao cluster")?;
        let mut api = Vec::new();
        for _ in 0..nodes {
            api.push((free_port()?, free_port()?));
        }
        let addr = |i: usize| format!("http://127.0.0.1:{}", api[i].0);
        // initialising Raft storage and electing a leader can take tens of seconds on a busy
        // machine: each call may take a minute
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut children = Vec::new();
        let mut unseal = String::new();
        let mut root_token = String::new();
        for (i, &(api_port, cluster_port)) in api.iter().enumerate() {
            let dir = home.path().join(format!("node{i}"));
            std::fs::create_dir_all(&dir)?;
            let join = if i == 0 {
                String::new()
            } else {
                format!(
                    "  retry_join {{\n    leader_api_addr = \"{}\"\n  }}\n",
                    addr(0)
                )
            };
            let config = format!(
                "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"node{i}\"\n{join}}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{}\"\n  \
                 cluster_address = \"127.0.0.1:{}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"{}\"\ncluster_addr = \"https://127.0.0.1:{}\"\n\
                 disable_mlock = true\nui = false\n",
                dir.display(),
                api_port,
                cluster_port,
                addr(i),
                cluster_port
            );
            let file = home.path().join(format!("node{i}.hcl"));
            std::fs::write(&file, config)?;
            let log = std::fs::File::create(home.path().join(format!("node{i}.log")))?;
            let child = Command::new(&bin)
                .arg("server")
                .arg(format!("-config={}", file.display()))
                .env_clear()
                .env("HOME", home.path())
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting OpenBao node {i}"))?;
            children.push(child);
            wait_health(&http, &addr(i), |_| true, "to listen").await?;
            if i == 0 {
                let init = put(
                    &http,
                    &addr(0),
                    "sys/init",
                    None,
                    serde_json::json!({"secret_shares": 1, "secret_threshold": 1}),
                )
                .await?;
                unseal = init["keys_base64"][0]
                    .as_str()
                    .context("no unseal key from sys/init")?
                    .to_owned();
                root_token = init["root_token"]
                    .as_str()
                    .context("no root token from sys/init")?
                    .to_owned();
            }
            // a joining node may need a moment before it accepts the key
            let started = Stopwatch::start();
            loop {
                let r = put(
                    &http,
                    &addr(i),
                    "sys/unseal",
                    None,
                    serde_json::json!({"key": unseal}),
                )
                .await;
                match r {
                    Ok(v) if v["sealed"] == false => break,
                    _ if started.elapsed() > Duration::from_secs(60) => {
                        bail!("OpenBao node {i} did not unseal: {r:?}")
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            // active (200) or standby (429 without standbyok)
            wait_health(
                &http,
                &addr(i),
                |s| s == 200 || s == 429,
                "to be active or a standby",
            )
            .await?;
        }
        put(
            &http,
            &addr(0),
            "sys/mounts/secret",
            Some(&root_token),
            serde_json::json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await?;
        // a new KV v2 mount upgrades itself for a moment: wait until a write goes through
        let started = Stopwatch::start();
        loop {
            let probe = put(
                &http,
                &addr(nodes - 1),
                "secret/data/openbao-fixture-probe",
                Some(&root_token),
                serde_json::json!({"data": {"ready": "yes"}}),
            )
            .await;
            match probe {
                Ok(_) => break,
                Err(e) if started.elapsed() > Duration::from_secs(60) => {
                    bail!("the KV v2 mount of the OpenBao cluster never took a write: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        // autopilot makes a joined node a voter only once it has been healthy for a while;
        // until every node votes, losing the leader loses the quorum
        let started = Stopwatch::start();
        loop {
            let conf = http
                .get(format!("{}/v1/sys/storage/raft/configuration", addr(0)))
                .header("X-Vault-Token", &root_token)
                .send()
                .await;
            let voters = match conf {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["data"]["config"]["servers"].as_array().cloned())
                    .map_or(0, |servers| {
                        servers.iter().filter(|s| s["voter"] == true).count()
                    }),
                Err(_) => 0,
            };
            if voters == nodes {
                break;
            }
            if started.elapsed() > Duration::from_secs(90) {
                bail!("only {voters} of the {nodes} OpenBao nodes became Raft voters in 90 s");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let mut peers: Vec<Peer> = Vec::new();
        let last = children.pop().context("no node")?;
        for (i, child) in children.into_iter().enumerate() {
            peers.push(Peer {
                child,
                addr: addr(i),
            });
        }
        Ok(OpenBao {
            child: last,
            addr: addr(nodes - 1),
            root_token,
            bin,
            _home: home,
            peers,
        })
    }

    /// The API address of the cluster's active node, as this node reports it.
    pub async fn leader_addr(&self) -> anyhow::Result<String> {
        let v = self.api(reqwest::Method::GET, "sys/leader", None).await?;
        Ok(v["leader_address"].as_str().unwrap_or_default().to_owned())
    }

    /// Stops the active node of a Raft cluster (it must be one of the other nodes) and waits
    /// until the remaining nodes elected a new one; returns the new leader's address.
    pub async fn stop_leader(&mut self) -> anyhow::Result<String> {
        let leader = self.leader_addr().await?;
        let Some(i) = self.peers.iter().position(|p| p.addr == leader) else {
            bail!("the leader {leader:?} is not one of the other nodes of this cluster");
        };
        let mut peer = self.peers.remove(i);
        let _ = peer.child.kill();
        let _ = peer.child.wait();
        let started = Stopwatch::start();
        loop {
            let now = self.leader_addr().await;
            let mounts = self.api(reqwest::Method::GET, "sys/mounts", None).await;
            if let Ok(now) = &now
                && !now.is_empty()
                && *now != leader
                && mounts.is_ok()
            {
                return Ok(now.clone());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let full = self.api(reqwest::Method::GET, "sys/leader", None).await;
                let log = std::fs::read_to_string(
                    self._home
                        .path()
                        .join(format!("node{}.log", self.peers.len() + 1)),
                )
                .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                bail!(
                    "no new leader within 60 s after stopping {leader} (pid {}): last leader \
                     {now:?}, sys/mounts {:?}, sys/leader {full:?}, log {tail:#?}",
                    peer.child.id(),
                    mounts.err()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let start = Stopwatch::start();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("openbao exited early with {status}: {}", self.log_tail());
            }
            if let Ok(resp) = http
                .get(format!("{}/v1/sys/health", self.addr))
                .send()
                .await
                && resp.status().as_u16() == 200
            {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!(
                    "openbao did not become healthy in {limit:?}: {}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self._home.path().join("bao.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// `http://127.0.0.1:PORT`
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The random root token of this dev server (test-only secret).
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The `bao` binary this server runs, for CLI checks (`bao kv get`).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A `bao` CLI command pointed at this server with the root token, environment cleared.
    pub fn cli(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_clear()
            .env("HOME", self._home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.root_token);
        c
    }

    /// The server's process id, e.g. to pause it with SIGSTOP and simulate a stalled Vault.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server now, and the other nodes of a cluster (also done on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for p in &mut self.peers {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogus_override_is_a_loud_error() {
        let err = find_bao(
            Some(PathBuf::from("/nonexistent/bao")),
            Path::new("/nonexistent/venv/bao"),
            None,
        )
        .unwrap_err();
        assert!(format!("{err}").contains("scripts/install-openbao.sh"));
    }

    #[test]
    fn nothing_found_is_a_loud_error() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_bao(
            None,
            &empty.path().join("bao"),
            Some(empty.path().as_os_str().to_owned()),
        )
        .unwrap_err();
        assert!(format!("{err}").contains("not found"));
    }

    #[test]
    fn path_lookup_finds_bao() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bao"), b"").unwrap();
        let found = find_bao(
            None,
            Path::new("/nonexistent/bao"),
            Some(dir.path().as_os_str().to_owned()),
        )
        .unwrap();
        assert_eq!(found, dir.path().join("bao"));
    }
}

/// Polls `GET /v1/sys/health` of `addr` until its status satisfies `ok` (60 s at most).
async fn wait_health(
    http: &reqwest::Client,
    addr: &str,
    ok: impl Fn(u16) -> bool,
    what: &str,
) -> anyhow::Result<()> {
    let started = Stopwatch::start();
    loop {
        if let Ok(r) = http.get(format!("{addr}/v1/sys/health")).send().await
            && ok(r.status().as_u16())
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("OpenBao at {addr} did not come {what} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `PUT /v1/<path>` with a JSON body (and a token when given); the answer's JSON.
async fn put(
    http: &reqwest::Client,
    addr: &str,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut req = http.put(format!("{addr}/v1/{path}")).json(&body);
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("PUT {path} on {addr} answered {status}: {text}");
    }
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    Ok(serde_json::from_str(&text)?)
}

/// AppRole credentials made by [`OpenBao::approle`].
#[derive(Debug, Clone)]
pub struct AppRoleCreds {
    pub role_id: String,
    pub secret_id: String,
}

impl OpenBao {
    /// Root-token HTTP call against this server; fails on a non-2xx answer.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let http = reqwest::Client::new();
        let mut req = http
            .request(
                method.clone(),
                format!("{}/v1/{}", self.addr, path.trim_start_matches('/')),
            )
            .header("X-Vault-Token", &self.root_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {text}");
        }
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// Enables AppRole (once), writes a policy granting full KV v2 access under
    /// `secret/<prefix>/`, and creates role `name` with it. `batch` makes its tokens batch tokens
    /// (not renewable). Returns a role id and a fresh secret id.
    pub async fn approle(
        &self,
        name: &str,
        prefix: &str,
        token_ttl: &str,
        batch: bool,
    ) -> anyhow::Result<AppRoleCreds> {
        let auths = self.api(reqwest::Method::GET, "sys/auth", None).await?;
        if auths.get("approle/").is_none() && auths["data"].get("approle/").is_none() {
            self.api(
                reqwest::Method::POST,
                "sys/auth/approle",
                Some(serde_json::json!({"type": "approle"})),
            )
            .await?;
        }
        let policy = format!(
            "path \"secret/data/{prefix}/*\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\"] }}\n\
             path \"secret/metadata/{prefix}/*\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\"] }}\n"
        );
        self.api(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{name}"),
            Some(serde_json::json!({ "policy": policy })),
        )
        .await?;
        self.api(
            reqwest::Method::POST,
            &format!("auth/approle/role/{name}"),
            Some(serde_json::json!({
                "token_ttl": token_ttl,
                "token_max_ttl": "24h",
                "token_policies": ["default", name],
                "token_type": if batch { "batch" } else { "service" },
            })),
        )
        .await?;
        let role = self
            .api(
                reqwest::Method::GET,
                &format!("auth/approle/role/{name}/role-id"),
                None,
            )
            .await?;
        let secret = self
            .api(
                reqwest::Method::POST,
                &format!("auth/approle/role/{name}/secret-id"),
                None,
            )
            .await?;
        let role_id = role["data"]["role_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no role_id in {role}"))?
            .to_string();
        let secret_id = secret["data"]["secret_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no secret_id in answer"))?
            .to_string();
        Ok(AppRoleCreds { role_id, secret_id })
    }
}
