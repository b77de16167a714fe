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

/// A running OpenBao dev server. KV v2 is mounted at `secret/`.
pub struct OpenBao {
    child: Child,
    addr: String,
    root_token: String,
    bin: PathBuf,
    _home: tempfile::TempDir,
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
        };
        bao.wait_ready(Duration::from_secs(30)).await?;
        Ok(bao)
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

    /// Stops the server now (also done on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
