//! Helpers shared by the benchmark programs (`src/bin/bench-*.rs`, not tests): finding the
//! `wardend` binary, running it as a child process that is always stopped, a dev OpenBao with
//! an optional file audit device and root-token HTTP access to it, Warden's management role and
//! client on a simulated instance, waiting on the daemon's socket, `/proc` readings and the Jamf
//! request tally of the simulator.
//!
//! Everything listens on loopback only and every wait has a deadline.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail, ensure};
use jamf_sim::SimInstance;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use warden_core::protocol::{Request, Response, StatusReport, connect};

use crate::openbao::{OpenBao, workspace_root};
use warden_core::clock::Stopwatch;

/// Vault KV v2 mount of the benchmarks.
pub const KV_MOUNT: &str = "secret";
/// Vault path prefix of the benchmarks (`vault.path_prefix`).
pub const PREFIX: &str = "bench";
/// Display name of Warden's own management role and client, and its least privileges (defined
/// once, in core).
pub use warden_core::management::{MANAGEMENT_NAME as MANAGEMENT, MANAGEMENT_PRIVILEGES};

/// The running program's name (`bench-rotation`, `bench-drift`), for messages.
pub fn program() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bench".into())
}

/// Prints a section heading.
pub fn step(what: &str) {
    println!("== {what}");
}

// ---------------------------------------------------------------------------------------------
// The wardend binary
// ---------------------------------------------------------------------------------------------

/// The `wardend` binary a benchmark runs.
pub struct Wardend {
    /// Where it is.
    pub path: PathBuf,
    /// `release`, `debug` or `given`.
    pub profile: &'static str,
    /// When it was built.
    pub modified: Option<SystemTime>,
}

impl Wardend {
    /// Profile, path and age, e.g. `release build target/release/wardend, built 3 min ago`.
    pub fn describe(&self) -> String {
        let age = self
            .modified
            .and_then(|m| m.elapsed().ok())
            .map(|a| format!(", built {} ago", fmt_age(a)))
            .unwrap_or_default();
        format!("{} build {}{age}", self.profile, self.path.display())
    }

    /// A source file of the daemon or the core library changed after the binary was built.
    pub fn older_than_sources(&self) -> Option<PathBuf> {
        let built = self.modified?;
        let root = workspace_root();
        let mut newest: Option<(SystemTime, PathBuf)> = None;
        let mut dirs = vec![root.join("crates/core"), root.join("crates/daemon")];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if p.file_name().is_some_and(|n| n != "tests") {
                        dirs.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "rs" || x == "toml")
                    && let Ok(m) = e.metadata().and_then(|m| m.modified())
                    && newest.as_ref().is_none_or(|(t, _)| m > *t)
                {
                    newest = Some((m, p));
                }
            }
        }
        newest.filter(|(t, _)| *t > built).map(|(_, p)| p)
    }

    /// Prints which binary runs, and a warning when it is older than the sources.
    pub fn announce(&self) {
        let me = program();
        println!("{me}: wardend {}", self.describe());
        if let Some(newer) = self.older_than_sources() {
            println!(
                "{me}: WARNING: wardend is older than {}; rebuild it (cargo build --release -p warden-daemon) to measure the current code",
                newer.display()
            );
        }
    }

    /// Starts `wardend --config CONFIG` with a clean environment (`HOME` = `dir`), its stdout
    /// and stderr in `dir/wardend.out` and `dir/wardend.err`.
    pub fn spawn(&self, config: &Path, dir: &Path) -> anyhow::Result<ChildGuard> {
        let child = Command::new(&self.path)
            .arg("--config")
            .arg(config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(create(&dir.join("wardend.out"))?)
            .stderr(create(&dir.join("wardend.err"))?)
            .spawn()
            .with_context(|| format!("starting {}", self.path.display()))?;
        Ok(ChildGuard::new("wardend", child))
    }
}

/// `--wardend`, else `target/release/wardend`, else `target/debug/wardend`, looking in
/// `CARGO_TARGET_DIR`, next to this program, and in the workspace's `target/`.
pub fn locate_wardend(explicit: Option<&Path>) -> anyhow::Result<Wardend> {
    let with_meta = |path: PathBuf, profile: &'static str| {
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        Wardend {
            path,
            profile,
            modified,
        }
    };
    if let Some(p) = explicit {
        ensure!(p.is_file(), "--wardend {} is not a file", p.display());
        let profile = if p.components().any(|c| c.as_os_str() == "release") {
            "release"
        } else if p.components().any(|c| c.as_os_str() == "debug") {
            "debug"
        } else {
            "given"
        };
        return Ok(with_meta(p.to_path_buf(), profile));
    }
    let mut target_dirs: Vec<PathBuf> = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        target_dirs.push(PathBuf::from(t));
    }
    // this program is target/<profile>/bench-*
    if let Some(t) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
    {
        target_dirs.push(t);
    }
    target_dirs.push(workspace_root().join("target"));
    for profile in ["release", "debug"] {
        for t in &target_dirs {
            let p = t.join(profile).join("wardend");
            if p.is_file() {
                return Ok(with_meta(p, profile));
            }
        }
    }
    bail!(
        "no wardend binary found in {}: run `cargo build --release -p warden-daemon` first \
         (or pass --wardend PATH)",
        target_dirs
            .iter()
            .map(|t| t.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

/// A child process stopped (SIGTERM, then SIGKILL) and reaped when dropped.
pub struct ChildGuard {
    name: &'static str,
    child: Child,
    exited: Option<ExitStatus>,
}

impl ChildGuard {
    /// Guards `child`, called `name` in messages.
    pub fn new(name: &'static str, child: Child) -> ChildGuard {
        ChildGuard {
            name,
            child,
            exited: None,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the child has exited.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            self.exited = self
                .child
                .try_wait()
                .with_context(|| format!("checking on {}", self.name))?;
        }
        Ok(self.exited)
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = i32::try_from(self.pid()).context("pid out of range")?;
        kill(Pid::from_raw(pid), signal)
            .with_context(|| format!("sending {signal} to {} (pid {pid})", self.name))
    }

    /// SIGTERM, then up to `grace` for the exit, then SIGKILL.
    pub async fn terminate(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(s) = self.try_wait()? {
            return Ok(s);
        }
        self.signal(Signal::SIGTERM)?;
        let start = Stopwatch::start();
        while start.elapsed() < grace {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "{}: {} did not stop within {grace:?} of SIGTERM; killing it",
            program(),
            self.name
        );
        self.child.kill().ok();
        let status = self.child.wait().context("reaping a killed child")?;
        self.exited = Some(status);
        Ok(status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.signal(Signal::SIGTERM);
        let start = Stopwatch::start();
        while start.elapsed() < Duration::from_secs(10) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// OpenBao, optionally with a file audit device
// ---------------------------------------------------------------------------------------------

/// A dev OpenBao (the test fixture) with, when asked, a file audit device declared in an extra
/// `-config` file: OpenBao 2.x refuses to enable audit devices over the API.
pub struct Bao {
    /// The server.
    pub server: OpenBao,
    /// Root-token access.
    pub api: VaultApi,
    /// `None` when started without the audit device.
    pub audit_log: Option<PathBuf>,
}

/// Root-token HTTP access to the dev server.
#[derive(Clone)]
pub struct VaultApi {
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    /// The root token.
    pub token: String,
    http: reqwest::Client,
}

impl Bao {
    /// Starts the server, with files (audit config and log) in `dir`.
    pub async fn start(dir: &Path, audit: bool) -> anyhow::Result<Bao> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let audit_log = dir.join("audit.log");
        let hcl = dir.join("audit.hcl");
        if audit {
            std::fs::write(
                &hcl,
                format!(
                    "audit \"file\" \"bench\" {{\n  options {{\n    file_path = {:?}\n  }}\n}}\n",
                    audit_log.display().to_string()
                ),
            )
            .with_context(|| format!("writing {}", hcl.display()))?;
        }
        let server = OpenBao::start_with_config(audit.then_some(hcl.as_path())).await?;
        let bao = Bao {
            api: VaultApi {
                addr: server.addr().to_string(),
                token: server.root_token().to_string(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()?,
            },
            server,
            audit_log: audit.then_some(audit_log),
        };
        if audit {
            let audits = bao
                .api
                .call(reqwest::Method::GET, "sys/audit", None)
                .await?;
            ensure!(
                audits.get("bench/").is_some() || audits["data"].get("bench/").is_some(),
                "the file audit device is not enabled: {audits}"
            );
        }
        Ok(bao)
    }
}

impl VaultApi {
    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path.trim_start_matches('/'))
    }

    /// A root-token call; `None` on 404, an error on any other non-2xx answer.
    pub async fn api_opt(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Option<Value>> {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .header("X-Vault-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if status.as_u16() == 404 {
            return Ok(None);
        }
        ensure!(
            status.is_success(),
            "{method} {path} answered {status}: {text}"
        );
        if text.trim().is_empty() {
            return Ok(Some(Value::Null));
        }
        Ok(Some(serde_json::from_str(&text).with_context(|| {
            format!("{method} {path}: the answer is not JSON")
        })?))
    }

    /// A root-token call; an error on any non-2xx answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.api_opt(method.clone(), path, body)
            .await?
            .ok_or_else(|| anyhow!("{method} {path} answered 404"))
    }
}

/// Creates Warden's management role and client (the least privileges, token lifetime 300 s,
/// as `wardenctl bootstrap` does) on `inst`, mints its secret and stores it in Vault at the
/// instance's default `credentials` path; returns the client's Jamf id.
pub async fn add_management(inst: &SimInstance, vault: &VaultApi) -> anyhow::Result<u64> {
    let name = inst.name();
    inst.create_role(MANAGEMENT, MANAGEMENT_PRIVILEGES)
        .map_err(|e| anyhow!("{name}: creating the management role: {e}"))?;
    let (management_id, client_id) = inst
        .create_client(MANAGEMENT, [MANAGEMENT], true, 300)
        .map_err(|e| anyhow!("{name}: creating the management client: {e}"))?;
    let secret = inst
        .mint_secret(management_id)
        .map_err(|e| anyhow!("{name}: minting the management secret: {e}"))?;
    vault
        .call(
            reqwest::Method::POST,
            &format!("{KV_MOUNT}/data/{PREFIX}/instances/{name}/management"),
            Some(json!({"data": {"client_id": client_id, "client_secret": secret}})),
        )
        .await
        .with_context(|| format!("{name}: storing the management credentials in Vault"))?;
    Ok(management_id)
}

// ---------------------------------------------------------------------------------------------
// Waiting on the daemon
// ---------------------------------------------------------------------------------------------

/// Waits until the daemon answers `status` on `socket`, at most `deadline`; fails early (with
/// its stderr) when it exits.
pub async fn wait_ready(
    daemon: &mut ChildGuard,
    socket: &Path,
    stderr: &Path,
    deadline: Duration,
) -> anyhow::Result<()> {
    let start = Stopwatch::start();
    loop {
        if let Some(s) = daemon.try_wait()? {
            bail!(
                "wardend exited at start ({s}): {}",
                std::fs::read_to_string(stderr).unwrap_or_default().trim()
            );
        }
        if let Ok(mut conn) = connect(socket).await
            && conn.request(Request::Status).await.is_ok()
        {
            return Ok(());
        }
        ensure!(
            start.elapsed() < deadline,
            "wardend did not answer on {} within {} s",
            socket.display(),
            deadline.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The daemon's `status`.
pub async fn status(socket: &Path) -> anyhow::Result<StatusReport> {
    let mut conn = connect(socket)
        .await
        .with_context(|| format!("connecting to wardend at {}", socket.display()))?;
    match conn
        .request(Request::Status)
        .await
        .context("status request")?
    {
        Response::Status(s) => Ok(s),
        other => bail!("status answered {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/// Memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Peak resident set (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// Resident set now (`VmRSS`), KiB.
    pub rss_kib: u64,
}

/// Reads `VmHWM` and `VmRSS` of `pid`.
pub fn proc_memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow!("no {name} in {path}"))
    };
    Ok(Memory {
        hwm_kib: field("VmHWM:")?,
        rss_kib: field("VmRSS:")?,
    })
}

/// User plus system CPU seconds of a process (`/proc/<pid>/stat`).
pub fn proc_cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // fields after the command name (which may contain spaces) start at field 3
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("unexpected {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("unexpected {path}"))
    };
    // utime is field 14, stime field 15 (1-based); `rest` starts at field 3
    let total = ticks(14 - 3)? + ticks(15 - 3)?;
    Ok(total as f64 / clock_ticks_per_sec())
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Jamf requests since the last stats reset, summed over instances, per (method, route).
pub struct JamfTally {
    /// (method, route pattern) → requests.
    pub by_route: BTreeMap<(String, String), u64>,
    /// Requests answered outside 2xx.
    pub non_2xx: u64,
    /// Every request.
    pub total: u64,
    /// The highest number of concurrent requests seen on one instance.
    pub peak_in_flight_max: u64,
}

impl JamfTally {
    /// Sums the simulator statistics of `instances`.
    pub fn collect<'a>(instances: impl IntoIterator<Item = &'a SimInstance>) -> JamfTally {
        let mut tally = JamfTally {
            by_route: BTreeMap::new(),
            non_2xx: 0,
            total: 0,
            peak_in_flight_max: 0,
        };
        for inst in instances {
            let stats = inst.stats();
            tally.total += stats.total();
            tally.peak_in_flight_max = tally.peak_in_flight_max.max(stats.peak_in_flight);
            for r in &stats.requests {
                *tally
                    .by_route
                    .entry((r.method.clone(), r.route.clone()))
                    .or_default() += r.count;
                if !(200..300).contains(&r.status) {
                    tally.non_2xx += r.count;
                }
            }
        }
        tally
    }

    /// Requests to one route.
    pub fn count(&self, method: &str, route: &str) -> u64 {
        self.by_route
            .get(&(method.to_string(), route.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Seconds of a chrono duration.
pub fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
pub fn fmt_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// CPUs available to this process.
pub fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The CPU model from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The 1-minute load average.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// `Linux <release>`.
pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| "unknown kernel".into())
}

/// The size of a file.
pub fn file_len(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len())
}

/// Creates (truncates) a file.
pub fn create(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
