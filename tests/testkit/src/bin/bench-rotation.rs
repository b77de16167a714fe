//! `bench-rotation`: rotation throughput of the real `wardend` binary.
//!
//! Set-up (not timed): a dev OpenBao with a file audit device (so every Vault write is counted
//! exactly), the Jamf Pro simulator in this process with N instances (default 20) of M live and
//! declared clients each (default 50, one role per client), a fixed latency on every Jamf request
//! (default 20 ms), Warden's management client per instance with its secret in Vault, and a
//! config in a temp dir: rotation `@yearly` (every never-rotated secret is due at start, nothing
//! after), drift and audit `off`, no jitter.
//!
//! Timed: `wardend` is started and rotates every secret (the declared clients and each
//! instance's management client); the program waits until every instance's rotation job has
//! finished, reads the daemon's peak memory, stops it with SIGTERM and prints rotations per
//! second, Jamf requests and Vault writes per rotation, failures and peak memory.
//!
//! ```sh
//! cargo build --release -p warden-daemon
//! cargo run --release -p warden-testkit --bin bench-rotation            # defaults: 20 x 50, 20 ms
//! cargo run --release -p warden-testkit --bin bench-rotation -- --help
//! ```
//!
//! Exit status: 0 when every rotation succeeded and every secret in Vault matches Jamf, 1 when
//! the run shows failures, 2 when the benchmark itself could not run. Everything listens on
//! loopback only; every wait has a deadline; child processes are stopped on exit.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Utc};
use clap::Parser;
use jamf_sim::{Sim, SimInstance, SimOptions};
use serde_json::Value;
use warden_core::clock::{self, Stopwatch};
use warden_core::config::Config;
use warden_core::config::defaults::MAX_ROTATIONS_PER_MINUTE_MAX;
use warden_core::protocol::{JobKind, StatusReport};
use warden_testkit::bench::{
    Bao, JamfTally, KV_MOUNT, MANAGEMENT, Memory, PREFIX, Wardend, add_management, cpu_model,
    file_len, kernel, loadavg, locate_wardend, nproc, proc_cpu_secs, proc_memory, secs, status,
    step, wait_ready, write_private,
};

/// Privileges of every benchmark role (two reads, as a typical read-only integration).
const BENCH_PRIVILEGES: [&str; 2] = ["Read Computers", "Read Mobile Devices"];

#[derive(Debug, Parser)]
#[command(
    name = "bench-rotation",
    about = "Measures the rotation throughput of the real wardend against a dev OpenBao and the \
             Jamf Pro simulator (loopback only)"
)]
struct Args {
    /// Simulated Jamf Pro instances.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
    instances: u32,
    /// Declared (and live) clients per instance, one role each.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    clients: u32,
    /// Latency added by the simulator to every Jamf request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// `instance.max_in_flight` (concurrent Jamf requests per instance).
    #[arg(long, default_value_t = 5)]
    max_in_flight: u32,
    /// `daemon.max_rotations_per_minute` (default: the largest the config accepts).
    #[arg(long, default_value_t = MAX_ROTATIONS_PER_MINUTE_MAX)]
    max_rotations_per_minute: u32,
    /// Longest wait for the daemon to finish rotating, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// The wardend binary (default: target/release/wardend, else target/debug/wardend).
    #[arg(long, env = "WARDEN_WARDEND_BIN")]
    wardend: Option<PathBuf>,
    /// Keep the temp dir (config, daemon logs, change log, audit log) and print its path.
    #[arg(long)]
    keep: bool,
    /// Run OpenBao without the file audit device (Vault writes are then not counted); shows
    /// what the audit device costs.
    #[arg(long)]
    no_audit: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted; child processes stopped")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench-rotation: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when the run shows failures.
async fn run(args: Args) -> anyhow::Result<bool> {
    let started = Stopwatch::start();
    let wardend = locate_wardend(args.wardend.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("bench-rotation-")
        .tempdir_in("/tmp")
        .context("creating a temp dir in /tmp")?;
    let d = dir.path().to_path_buf();
    println!("bench-rotation: temp dir {}", d.display());
    wardend.announce();

    step("set-up (not timed)");
    let bao = Bao::start(&d.join("bao"), !args.no_audit)
        .await
        .context("starting OpenBao")?;
    println!(
        "  OpenBao dev server on {} ({})",
        bao.api.addr,
        if bao.audit_log.is_some() {
            "file audit device"
        } else {
            "no audit device"
        }
    );
    write_private(&d.join("vault-token"), bao.api.token.as_bytes())?;

    let latency = Duration::from_millis(args.latency_ms);
    let sim = Sim::start(
        "127.0.0.1:0".parse()?,
        SimOptions {
            latency,
            ..SimOptions::default()
        },
    )
    .await
    .context("starting the Jamf Pro simulator")?;
    let fleet = Fleet::build(&sim, &bao, &d, &args)
        .await
        .context("setting up the simulated instances")?;
    println!(
        "  jamf-sim on {}: {} instances x {} clients (+ the management client each), {} ms latency on every request",
        sim.url(),
        args.instances,
        args.clients,
        args.latency_ms
    );
    let config_path = write_config(&d, &bao, &fleet, &args)?;
    let config = Config::load(&config_path)
        .map_err(|e| anyhow!("{e}"))
        .context("the generated config is invalid")?;
    let declared: usize = config
        .instances
        .iter()
        .map(|i| i.desired_state.clients.len())
        .sum();
    ensure!(
        declared == fleet.clients.len(),
        "the config declares {declared} clients, expected {}",
        fleet.clients.len()
    );
    println!(
        "  config {}: rotation @yearly, drift/audit off, jitter 0s, max_in_flight {}, max_rotations_per_minute {}",
        config_path.display(),
        args.max_in_flight,
        args.max_rotations_per_minute
    );
    for inst in &fleet.instances {
        inst.sim.reset_stats();
    }
    let audit_start = bao.audit_log.as_deref().map(file_len).transpose()?;

    step("timed: wardend");
    let load_before = loadavg();
    let t0_utc = clock::system()();
    let t0 = Stopwatch::start();
    let mut daemon = wardend.spawn(&config_path, &d)?;
    let socket = d.join("w.sock");
    wait_ready(
        &mut daemon,
        &socket,
        &d.join("wardend.err"),
        Duration::from_secs(60),
    )
    .await?;
    println!(
        "  wardend pid {} answering after {:.2} s",
        daemon.pid(),
        t0.elapsed().as_secs_f64()
    );

    let expected = fleet.clients.len() + fleet.instances.len();
    let changelog = d.join("state/changelog.jsonl");
    let deadline = Duration::from_secs(args.timeout_secs);
    let mut progress = ChangeLogTail::new(changelog.clone());
    let mut last_print = Stopwatch::start();
    loop {
        if let Some(status) = daemon.try_wait()? {
            bail!(
                "wardend exited during the run ({status}); see {}",
                d.join("wardend.err").display()
            );
        }
        progress.poll()?;
        let report = status(&socket).await?;
        if all_rotation_jobs_finished(&report) {
            break;
        }
        if t0.elapsed() > deadline {
            bail!(
                "timed out after {} s: {} of {expected} rotations finished ({} failed); raise --timeout-secs or see {}",
                deadline.as_secs(),
                progress.ok.len() + progress.failed.len(),
                progress.failed.len(),
                d.display()
            );
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            last_print = Stopwatch::start();
            println!(
                "  {:>6.1} s: {:>5}/{expected} rotated, {} failed",
                t0.elapsed().as_secs_f64(),
                progress.ok.len(),
                progress.failed.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let jobs_done = t0.elapsed();
    // Everything below is read right after the last rotation job finished, before the stop.
    let load_after = loadavg();
    let memory = proc_memory(daemon.pid())?;
    let daemon_cpu = proc_cpu_secs(daemon.pid())?;
    let bao_cpu = proc_cpu_secs(bao.server.pid())?;
    let own_cpu = proc_cpu_secs(std::process::id())?;
    let audit_end = bao.audit_log.as_deref().map(file_len).transpose()?;
    let jamf = JamfTally::collect(fleet.instances.iter().map(|i| &i.sim));
    println!(
        "  every rotation job finished after {:.2} s; stopping wardend (SIGTERM)",
        jobs_done.as_secs_f64()
    );
    let exit = daemon.terminate(Duration::from_secs(60)).await?;
    println!("  wardend exited: {exit}");

    step("checks (not timed)");
    progress.poll()?;
    let records = RotationRecords::read(&changelog)?;
    let vault_check = check_vault(&bao, &fleet).await?;
    let audit = match (&bao.audit_log, audit_start, audit_end) {
        (Some(log), Some(from), Some(to)) => Some(AuditTally::read(log, from, to, &fleet)?),
        _ => None,
    };
    let figures = Figures {
        args: &args,
        wardend: &wardend,
        t0: t0_utc,
        expected,
        records: &records,
        vault: &vault_check,
        audit: audit.as_ref(),
        jamf: &jamf,
        memory,
        daemon_cpu,
        bao_cpu,
        own_cpu,
        load: (load_before, load_after),
        exit,
    };
    let ok = figures.print(&fleet);
    println!(
        "\nbench-rotation: total run time {:.1} s (set-up, run and checks)",
        started.elapsed().as_secs_f64()
    );
    drop(sim);
    drop(bao);
    if args.keep {
        let kept = dir.keep();
        println!("bench-rotation: kept {}", kept.display());
    }
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// The simulated fleet and the config
// ---------------------------------------------------------------------------------------------

struct BenchInstance {
    name: String,
    url: String,
    sim: SimInstance,
    /// Jamf id of the management client.
    management_id: u64,
}

struct BenchClient {
    /// Index into `Fleet::instances`.
    instance: usize,
    jamf_id: u64,
    /// Vault path relative to the prefix (the desired-state default).
    vault_path: String,
}

struct Fleet {
    instances: Vec<BenchInstance>,
    clients: Vec<BenchClient>,
}

impl Fleet {
    async fn build(sim: &Sim, bao: &Bao, dir: &Path, args: &Args) -> anyhow::Result<Fleet> {
        let mut fleet = Fleet {
            instances: Vec::new(),
            clients: Vec::new(),
        };
        for i in 1..=args.instances {
            let name = format!("bench-{i:02}");
            let url = sim
                .try_add_instance(&name, None)
                .map_err(|e| anyhow!("adding instance {name}: {e}"))?;
            let inst = sim.instance(Some(&name));
            ensure!(
                !inst.faults().is_empty() || args.latency_ms == 0,
                "instance {name} has no latency rule"
            );
            let management_id = add_management(&inst, &bao.api).await?;

            let mut desired =
                String::from("# bench-rotation: one role and one client per number\nversion = 1\n");
            for c in 1..=args.clients {
                let role = format!("Bench Role {c:02}");
                let client = format!("Bench Client {c:02}");
                inst.create_role(&role, BENCH_PRIVILEGES)
                    .map_err(|e| anyhow!("{name}: creating role {role}: {e}"))?;
                let (jamf_id, _) = inst
                    .create_client(&client, [role.as_str()], true, 300)
                    .map_err(|e| anyhow!("{name}: creating client {client}: {e}"))?;
                inst.mint_secret(jamf_id)
                    .map_err(|e| anyhow!("{name}: minting a first secret of {client}: {e}"))?;
                write!(
                    desired,
                    "\n[[role]]\nname = \"{role}\"\nprivileges = {BENCH_PRIVILEGES:?}\n\n\
                     [[client]]\nname = \"{client}\"\nroles = [\"{role}\"]\n\
                     owner = \"bench@example.invalid\"\npurpose = \"rotation benchmark\"\n"
                )?;
                fleet.clients.push(BenchClient {
                    instance: fleet.instances.len(),
                    vault_path: format!(
                        "instances/{name}/clients/{}",
                        warden_core::config::values::slug(&client)
                    ),
                    jamf_id,
                });
            }
            let file = dir.join(format!("{name}.toml"));
            std::fs::write(&file, desired)
                .with_context(|| format!("writing {}", file.display()))?;
            fleet.instances.push(BenchInstance {
                name,
                url,
                sim: inst,
                management_id,
            });
        }
        Ok(fleet)
    }
}

fn write_config(dir: &Path, bao: &Bao, fleet: &Fleet, args: &Args) -> anyhow::Result<PathBuf> {
    let d = dir.display();
    let mut text = format!(
        "# bench-rotation\nversion = 1\n\n[daemon]\nsocket = \"{d}/w.sock\"\nsocket_mode = \"0600\"\n\
         state_dir = \"{d}/state\"\nlog_dir = \"{d}/log\"\nlog_level = \"info\"\nadmin_uids = [0]\n\
         max_rotations_per_minute = {}\n\n[vault]\naddress = \"{}\"\nkv_mount = \"{KV_MOUNT}\"\n\
         path_prefix = \"{PREFIX}\"\n\n[vault.auth]\nmethod = \"token\"\ntoken_file = \"{d}/vault-token\"\n\n\
         [defaults.schedules]\nrotation = \"@yearly\"\ndrift = \"off\"\naudit = \"off\"\njitter = \"0s\"\n",
        args.max_rotations_per_minute, bao.api.addr
    );
    for inst in &fleet.instances {
        write!(
            text,
            "\n[[instance]]\nname = \"{}\"\nurl = \"{}\"\ndesired = [\"{}.toml\"]\n\
             max_in_flight = {}\nconnect_timeout = \"5s\"\nrequest_timeout = \"30s\"\n",
            inst.name, inst.url, inst.name, args.max_in_flight
        )?;
    }
    let path = dir.join("wardend.toml");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Every instance's rotation job has run (and is not running again).
fn all_rotation_jobs_finished(report: &StatusReport) -> bool {
    !report.instances.is_empty()
        && report.instances.iter().all(|i| {
            i.jobs
                .iter()
                .filter(|j| j.kind == JobKind::Rotate)
                .all(|j| j.last_run.is_some() && !j.running)
        })
}

/// Follows the change log for progress: `rotate` records with outcome `ok` / `failed`.
struct ChangeLogTail {
    path: PathBuf,
    offset: u64,
    partial: String,
    ok: BTreeSet<(String, String)>,
    failed: BTreeSet<(String, String)>,
}

impl ChangeLogTail {
    fn new(path: PathBuf) -> ChangeLogTail {
        ChangeLogTail {
            path,
            offset: 0,
            partial: String::new(),
            ok: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    fn poll(&mut self) -> anyhow::Result<()> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(()); // not created yet
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = String::new();
        let n = f
            .read_to_string(&mut buf)
            .context("reading the change log")?;
        self.offset += n as u64;
        self.partial.push_str(&buf);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["action"] != "rotate" {
                continue;
            }
            let key = (
                v["instance"].as_str().unwrap_or_default().to_string(),
                v["object"]["name"].as_str().unwrap_or_default().to_string(),
            );
            match v["outcome"].as_str() {
                Some("ok") => {
                    self.ok.insert(key);
                }
                Some("failed") => {
                    self.failed.insert(key);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One rotation as the change log tells it.
#[derive(Debug, Default, Clone)]
struct RotationTimes {
    started: Option<DateTime<Utc>>,
    ok: Option<DateTime<Utc>>,
    /// (actor kind, error) of each `rotate failed` record.
    failed: Vec<(String, String)>,
}

struct RotationRecords {
    /// (instance, client name) → times.
    by_client: BTreeMap<(String, String), RotationTimes>,
    /// Every `rotate started` time, sorted.
    starts: Vec<DateTime<Utc>>,
}

impl RotationRecords {
    fn read(path: &Path) -> anyhow::Result<RotationRecords> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = RotationRecords {
            by_client: BTreeMap::new(),
            starts: Vec::new(),
        };
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            let v: Value = serde_json::from_str(&line)
                .with_context(|| format!("{} line {} is not JSON", path.display(), n + 1))?;
            if v["action"] != "rotate" {
                continue;
            }
            let time: DateTime<Utc> = serde_json::from_value(v["time"].clone())
                .with_context(|| format!("{} line {}: bad time", path.display(), n + 1))?;
            let key = (
                v["instance"].as_str().unwrap_or_default().to_string(),
                v["object"]["name"].as_str().unwrap_or_default().to_string(),
            );
            let entry = out.by_client.entry(key).or_default();
            match v["outcome"].as_str() {
                Some("started") => {
                    entry.started.get_or_insert(time);
                    out.starts.push(time);
                }
                Some("ok") => entry.ok = Some(time),
                Some("failed") => entry.failed.push((
                    v["actor"]["kind"].as_str().unwrap_or("?").to_string(),
                    v["error"]
                        .as_str()
                        .unwrap_or("(no error message)")
                        .to_string(),
                )),
                _ => {}
            }
        }
        out.starts.sort();
        Ok(out)
    }

    fn first_started(&self) -> Option<DateTime<Utc>> {
        self.starts.first().copied()
    }

    fn last_ok(&self) -> Option<DateTime<Utc>> {
        self.by_client.values().filter_map(|t| t.ok).max()
    }

    /// (instance and client, times, actor, error) of every `rotate failed` record.
    fn failures(&self) -> Vec<(&(String, String), &RotationTimes, &str, &str)> {
        self.by_client
            .iter()
            .flat_map(|(k, t)| {
                t.failed
                    .iter()
                    .map(move |(actor, e)| (k, t, actor.as_str(), e.as_str()))
            })
            .collect()
    }
}

/// What Vault holds after the run.
struct VaultCheck {
    clients_ok: usize,
    management_ok: usize,
    /// Secrets whose stored client_secret is Jamf's current one.
    matching: usize,
    problems: Vec<String>,
}

async fn check_vault(bao: &Bao, fleet: &Fleet) -> anyhow::Result<VaultCheck> {
    // (vault path, instance index, jamf id, is management)
    let mut items: Vec<(String, usize, u64, bool)> = fleet
        .clients
        .iter()
        .map(|c| (c.vault_path.clone(), c.instance, c.jamf_id, false))
        .collect();
    for (i, inst) in fleet.instances.iter().enumerate() {
        items.push((
            format!("instances/{}/management", inst.name),
            i,
            inst.management_id,
            true,
        ));
    }
    let api = Arc::new(bao.api.clone());
    let mut check = VaultCheck {
        clients_ok: 0,
        management_ok: 0,
        matching: 0,
        problems: Vec::new(),
    };
    for chunk in items.chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for (path, inst, jamf_id, management) in chunk.iter().cloned() {
            let api = Arc::clone(&api);
            set.spawn(async move {
                let meta = api
                    .api_opt(
                        reqwest::Method::GET,
                        &format!("{KV_MOUNT}/metadata/{PREFIX}/{path}"),
                        None,
                    )
                    .await?;
                let data = api
                    .api_opt(
                        reqwest::Method::GET,
                        &format!("{KV_MOUNT}/data/{PREFIX}/{path}"),
                        None,
                    )
                    .await?;
                let state = meta
                    .as_ref()
                    .and_then(|m| m["data"]["custom_metadata"]["state"].as_str())
                    .unwrap_or("(none)")
                    .to_string();
                let secret = data
                    .as_ref()
                    .and_then(|d| d["data"]["data"]["client_secret"].as_str())
                    .map(str::to_string);
                anyhow::Ok((path, inst, jamf_id, management, state, secret))
            });
        }
        while let Some(joined) = set.join_next().await {
            let (path, inst, jamf_id, management, state, secret) =
                joined.context("a vault check task panicked")??;
            if state == "ok" {
                if management {
                    check.management_ok += 1;
                } else {
                    check.clients_ok += 1;
                }
            } else {
                check
                    .problems
                    .push(format!("{path}: metadata state {state}, expected ok"));
            }
            let live = fleet.instances[inst]
                .sim
                .client(jamf_id)
                .and_then(|c| c.client_secret);
            if secret.is_some() && secret == live {
                check.matching += 1;
            } else {
                check.problems.push(format!(
                    "{path}: the secret in Vault is not Jamf's current one"
                ));
            }
        }
    }
    Ok(check)
}

/// Vault requests of the timed window, from the audit log.
#[derive(Default)]
struct AuditTally {
    /// (object kind, "data"|"metadata", operation) → writes.
    writes: BTreeMap<(&'static str, &'static str, String), u64>,
    reads: u64,
    /// Writes to paths outside the benchmark's prefix.
    other_paths: BTreeMap<String, u64>,
    requests: u64,
}

impl AuditTally {
    fn read(path: &Path, from: u64, to: u64, fleet: &Fleet) -> anyhow::Result<AuditTally> {
        let mut f =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        f.seek(SeekFrom::Start(from))?;
        let mut tally = AuditTally::default();
        let reader = std::io::BufReader::new(f.take(to.saturating_sub(from)));
        let management: BTreeSet<String> = fleet
            .instances
            .iter()
            .map(|i| format!("instances/{}/management", i.name))
            .collect();
        for line in reader.split(b'\n') {
            let line = line.context("reading the audit log")?;
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                continue; // a line cut by the end of the window
            };
            if v["type"] != "request" {
                continue;
            }
            tally.requests += 1;
            let op = v["request"]["operation"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let p = v["request"]["path"].as_str().unwrap_or("?");
            if !matches!(op.as_str(), "create" | "update" | "delete" | "patch") {
                tally.reads += 1;
                continue;
            }
            let (part, rest) =
                if let Some(r) = p.strip_prefix(&format!("{KV_MOUNT}/data/{PREFIX}/")) {
                    ("data", r)
                } else if let Some(r) = p.strip_prefix(&format!("{KV_MOUNT}/metadata/{PREFIX}/")) {
                    ("metadata", r)
                } else {
                    *tally.other_paths.entry(format!("{op} {p}")).or_default() += 1;
                    continue;
                };
            let kind = if rest.starts_with("_warden/locks/") {
                "rotation lock"
            } else if rest == "_warden/changelog-head"
                || rest.starts_with("_warden/changelog-head/")
            {
                "change-log head anchor"
            } else if rest.starts_with("_warden/") {
                "other warden state"
            } else if management.contains(rest) {
                "management secret"
            } else if rest.starts_with("instances/") && rest.contains("/clients/") {
                "client secret"
            } else {
                "other"
            };
            *tally.writes.entry((kind, part, op)).or_default() += 1;
        }
        Ok(tally)
    }

    fn total_writes(&self) -> u64 {
        self.writes.values().sum::<u64>() + self.other_paths.values().sum::<u64>()
    }

    fn writes_of(&self, kind: &str) -> u64 {
        self.writes
            .iter()
            .filter(|((k, _, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

struct Figures<'a> {
    args: &'a Args,
    wardend: &'a Wardend,
    t0: DateTime<Utc>,
    expected: usize,
    records: &'a RotationRecords,
    vault: &'a VaultCheck,
    audit: Option<&'a AuditTally>,
    jamf: &'a JamfTally,
    memory: Memory,
    daemon_cpu: f64,
    bao_cpu: f64,
    own_cpu: f64,
    /// 1-minute load average before the daemon started and after the last job finished.
    load: (String, String),
    exit: ExitStatus,
}

impl Figures<'_> {
    /// Prints everything; `true` when the run is clean.
    fn print(&self, fleet: &Fleet) -> bool {
        let r = self.records;
        let rotated = r.by_client.values().filter(|t| t.ok.is_some()).count();
        let management_names: BTreeSet<(String, String)> = fleet
            .instances
            .iter()
            .map(|i| (i.name.clone(), MANAGEMENT.to_string()))
            .collect();
        let rotated_mgmt = r
            .by_client
            .iter()
            .filter(|(k, t)| t.ok.is_some() && management_names.contains(*k))
            .count();
        let rotated_clients = rotated - rotated_mgmt;
        let failures = r.failures();
        let (first, last) = (r.first_started(), r.last_ok());
        let window = match (first, last) {
            (Some(a), Some(b)) => secs(b - a),
            _ => 0.0,
        };
        let from_spawn = last.map(|b| secs(b - self.t0)).unwrap_or(0.0);
        let per = |n: u64| n as f64 / rotated.max(1) as f64;

        step("results");
        println!(
            "  machine           {} CPU(s) ({}), {}",
            nproc(),
            cpu_model(),
            kernel()
        );
        println!(
            "  load average      {} before the run, {} after it (1 min; other work on the machine skews the figures)",
            self.load.0, self.load.1
        );
        println!("  wardend           {}", self.wardend.describe());
        println!(
            "  workload          {} instances x {} clients + {} management clients, {} ms Jamf latency, max_in_flight {}, max_rotations_per_minute {}",
            self.args.instances,
            self.args.clients,
            fleet.instances.len(),
            self.args.latency_ms,
            self.args.max_in_flight,
            self.args.max_rotations_per_minute
        );
        println!(
            "  rotations         {rotated} of {} ({rotated_clients} clients of {}, {rotated_mgmt} management of {})",
            self.expected,
            fleet.clients.len(),
            fleet.instances.len()
        );
        println!(
            "  elapsed           {window:.2} s from the first `rotate started` to the last `rotate ok` (change log); {from_spawn:.2} s from spawning wardend"
        );
        println!(
            "  rotations/s       {:.1} (over the change-log window); {:.1} counting from the spawn",
            rotated as f64 / window.max(f64::EPSILON),
            rotated as f64 / from_spawn.max(f64::EPSILON)
        );
        self.print_latency(fleet);
        self.print_rate_limit();

        // Jamf
        let j = self.jamf;
        let mints = j.count("POST", "/api/v1/api-integrations/{id}/client-credentials");
        let tokens = j.count("POST", "/api/v1/oauth/token");
        // every rotation's verify step asks one token with its new secret: the other token
        // requests are the daemon's own management sessions (one per management client built)
        let management_tokens = tokens.saturating_sub(mints);
        println!(
            "  Jamf requests     {:.2} per rotation, all requests ({} in total, {} non-2xx, peak {} in flight on one instance)",
            per(j.total),
            j.total,
            j.non_2xx,
            j.peak_in_flight_max
        );
        println!(
            "                    {:.2} per rotation without the daemon's {management_tokens} management-session token requests (token requests - mints)",
            per(j.total - management_tokens)
        );
        for ((method, route), n) in &j.by_route {
            println!(
                "                      {:>7.3}  {method} {route} ({n})",
                per(*n)
            );
        }

        // Vault
        match self.audit {
            Some(a) => {
                let rotation_writes = a.writes_of("client secret")
                    + a.writes_of("management secret")
                    + a.writes_of("rotation lock");
                println!(
                    "  Vault writes      {:.2} per rotation for the rotation itself (secret data + metadata + lock), {:.2} with everything ({} writes, {} reads, {} requests in the audit log)",
                    per(rotation_writes),
                    per(a.total_writes()),
                    a.total_writes(),
                    a.reads,
                    a.requests
                );
                for ((kind, part, op), n) in &a.writes {
                    println!(
                        "                      {:>7.3}  {op:<6} {kind} {part} ({n})",
                        per(*n)
                    );
                }
                for (p, n) in &a.other_paths {
                    println!("                      {:>7.3}  {p} ({n})", per(*n));
                }
                println!(
                    "                    reads: {:.2} per rotation",
                    per(a.reads)
                );
            }
            None => println!("  Vault writes      not counted (--no-audit)"),
        }

        println!(
            "  failures          {} (`rotate failed` records in the change log)",
            failures.len()
        );
        for ((inst, name), times, actor, e) in failures.iter().take(20) {
            let later = if times.ok.is_some() {
                "; the client's rotation itself finished ok"
            } else {
                ""
            };
            println!("                    {inst}/{name} (actor {actor}{later}): {e}");
        }
        println!(
            "  Vault state       {} of {} clients and {} of {} management secrets have metadata state ok; {} of {} stored secrets are Jamf's current ones",
            self.vault.clients_ok,
            fleet.clients.len(),
            self.vault.management_ok,
            fleet.instances.len(),
            self.vault.matching,
            self.expected
        );
        for p in self.vault.problems.iter().take(20) {
            println!("                    {p}");
        }
        println!(
            "  daemon memory     peak {:.1} MiB (VmHWM), {:.1} MiB resident at the end (VmRSS), read before SIGTERM",
            self.memory.hwm_kib as f64 / 1024.0,
            self.memory.rss_kib as f64 / 1024.0
        );
        println!(
            "  CPU time          wardend {:.2} s ({:.2} ms per rotation), OpenBao {:.2} s, this program (simulator) {:.2} s",
            self.daemon_cpu,
            1000.0 * self.daemon_cpu / rotated.max(1) as f64,
            self.bao_cpu,
            self.own_cpu
        );
        println!("  wardend exit      {}", self.exit);

        let clean = failures.is_empty()
            && rotated == self.expected
            && self.vault.problems.is_empty()
            && self.exit.success();
        if clean {
            println!("\nbench-rotation: OK, 0 failures");
        } else {
            println!(
                "\nbench-rotation: FAILED: {} failed rotation(s), {rotated} of {} rotated, {} Vault problem(s), wardend {}",
                failures.len(),
                self.expected,
                self.vault.problems.len(),
                self.exit
            );
        }
        clean
    }

    /// Per-rotation latency (started → ok) and per-instance job spans.
    fn print_latency(&self, fleet: &Fleet) {
        let mut lat: Vec<f64> = self
            .records
            .by_client
            .values()
            .filter_map(|t| Some(secs(t.ok? - t.started?) * 1000.0))
            .collect();
        lat.sort_by(f64::total_cmp);
        if lat.is_empty() {
            return;
        }
        let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
        let mean = lat.iter().sum::<f64>() / lat.len() as f64;
        println!(
            "  one rotation      {mean:.0} ms mean, {:.0} ms median, {:.0} ms p95, {:.0} ms max (`started` to `ok`)",
            pct(0.5),
            pct(0.95),
            pct(1.0)
        );
        let mut spans: Vec<f64> = fleet
            .instances
            .iter()
            .filter_map(|inst| {
                let times: Vec<&RotationTimes> = self
                    .records
                    .by_client
                    .iter()
                    .filter(|((i, _), _)| *i == inst.name)
                    .map(|(_, t)| t)
                    .collect();
                let first = times.iter().filter_map(|t| t.started).min()?;
                let last = times.iter().filter_map(|t| t.ok).max()?;
                Some(secs(last - first))
            })
            .collect();
        spans.sort_by(f64::total_cmp);
        if let (Some(min), Some(max)) = (spans.first(), spans.last()) {
            let median = spans[spans.len() / 2];
            println!(
                "  per instance      rotation job spans {min:.2} / {median:.2} / {max:.2} s (min / median / max); rotations within one instance run one after another"
            );
        }
    }

    /// Whether `max_rotations_per_minute` held rotations back: the limit is a sliding minute, so
    /// rotation N+1 of a run faster than N per minute waits until a minute after the first one.
    fn print_rate_limit(&self) {
        let cap = self.args.max_rotations_per_minute as usize;
        let starts = &self.records.starts;
        if starts.len() <= cap {
            println!(
                "  rate limit        not reached ({} rotations started, limit {cap} per minute)",
                starts.len()
            );
            return;
        }
        let first = starts[0];
        let over = starts[cap];
        let gap = secs(over - starts[cap - 1]);
        let at = secs(over - first);
        if at < 59.0 || gap <= 1.0 {
            println!(
                "  rate limit        not binding ({} rotations started, rotation {} at +{at:.1} s)",
                starts.len(),
                cap + 1
            );
            return;
        }
        let before: Vec<DateTime<Utc>> = self
            .records
            .by_client
            .values()
            .filter_map(|t| t.ok)
            .filter(|ok| *ok < over)
            .collect();
        let last = before.iter().max().copied().unwrap_or(first);
        let w = secs(last - first);
        let (mut clients, mut management) = (0, 0);
        for ((_, name), t) in &self.records.by_client {
            if t.started.is_some_and(|s| s >= over) {
                if name == MANAGEMENT {
                    management += 1;
                } else {
                    clients += 1;
                }
            }
        }
        println!(
            "  rate limit        REACHED (limit {cap} per minute): rotation {} started at +{at:.1} s, {gap:.1} s after rotation {cap}; \
             {clients} client and {management} management rotations waited",
            cap + 1
        );
        println!(
            "  before the limit  {} rotations finished in {w:.2} s = {:.1} rotations/s",
            before.len(),
            before.len() as f64 / w.max(f64::EPSILON)
        );
    }
}
