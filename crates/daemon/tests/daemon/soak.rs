//! The soak test: 30 simulated days of schedules over 20 instances, with time as an input.
//!
//! `warden_daemon::run` runs in this process on a runtime of its own, with a clock the test
//! moves by hand (`RunOptions::clock`) and a tick it notifies after each move
//! (`RunOptions::tick`), against the Jamf simulator (20 instances) and a real OpenBao dev
//! server reached through a TCP proxy the test can cut. The clock advances in steps of
//! [`STEP_HOURS`]; at each step the scheduler runs what is due, the test waits until no job is
//! due or running, then every consumer asks Jamf for a token as a real one would. While a
//! consumer is down the clock moves in 5-minute sub-steps until it works again.
//!
//! Per instance: Warden's management client (single, on the instance's rotation schedule), a
//! weekly alternating, a monthly single and a max-age-only (4 days) alternating client. Ten
//! instances also have a daily single client and run their rotation job daily; the other ten
//! run it on Mondays. Drift twice a day, audit daily. 70 consumers, 940 rotations in all; about
//! 2.5 minutes in a debug build on 2 cores shared with other builds (load average 12).
//!
//! Faults along the way (between steps, never in the middle of a job): Jamf 503s and timeouts
//! on reads, on token requests and on the mint (before the commit, and after it: the secret is
//! minted and the answer lost, by a 503 or a hang), Vault unreachable for half a day (the proxy
//! refuses and cuts connections), Vault updates of the clients' secret paths denied by the
//! daemon's policy for a day, and a day of random 5xx. Then [`HEAL_DAYS`] without faults.
//!
//! At the end: every consumer gets a token (0 broken) and none was down for more than
//! [`MAX_OUTAGE_MINUTES`] of simulated time; every job is healthy; every client was rotated as
//! often as its schedule demands (at most one fewer, never more, no gap longer than its period
//! plus a day); Jamf answered exactly one mint per recorded rotation (no secret minted and
//! thrown away); the change log verifies against the head anchored in Vault; no secret a
//! consumer read is in the change log or state; and the daemon's memory is flat: the live heap
//! allocated by the daemon runtime's threads, and its number of live tasks, on day 30 against
//! day 10 (why this measure: the process also holds the simulator and the consumers, whose
//! memory grows with the requests they served, and glibc's RSS does not shrink when memory is
//! freed; the daemon's own threads' live allocations and tasks are what would grow if it
//! leaked — about 1.0 MiB and 17 tasks here: the daemon's six long-lived tasks, and one per
//! keep-alive connection its HTTP pools hold, which the Vault pool's cap bounds).

use crate::common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::rotation::MINT_ROUTE;
use common::{Cfg, Env, PREFIX, TestClock, read_records, status, write_private};
use jamf_sim::FaultRule;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use warden_core::config::{ClientRotation, Config, RotationStrategy};
use warden_core::protocol::StatusReport;
use warden_core::rotation::{RotationTarget, next_due};
use warden_core::schedule::Schedule;
use warden_daemon::{Control, RunOptions};

/// Simulated days, then days without faults before the end state is checked.
const DAYS: i64 = 30;
const HEAL_DAYS: i64 = 3;
/// The clock moves this much per step.
const STEP_HOURS: i64 = 6;
const INSTANCES: usize = 20;
/// How long one step (its jobs) may take in real time before the test fails.
const STEP_DEADLINE: Duration = Duration::from_secs(90);
/// While a consumer is down, the clock moves in sub-steps of this many minutes (at most
/// [`MAX_SUB_STEPS`] of them) until it works again; its longest outage must stay within
/// [`MAX_OUTAGE_MINUTES`] of simulated time.
const SUB_STEP_MINUTES: i64 = 5;
const MAX_SUB_STEPS: i64 = 12;
const MAX_OUTAGE_MINUTES: i64 = 30;

const ROLE: &str = "Inventory Read";
const MANAGEMENT: &str = "Jamf Warden";
/// `(name, schedule, max_age, strategy)` of the declared clients of every instance; the first
/// only on the first [`DAILY_INSTANCES`] (in `daily.toml`), to keep the test within its time.
const CLIENTS: [(&str, &str, Option<&str>, &str); 4] = [
    (DAILY, "0 4 * * *", None, "single"),
    ("Weekly Agent", "0 4 * * MON", None, "alternating"),
    ("Monthly Report", "0 4 1 * *", None, "single"),
    ("Aged Export", "off", Some("4d"), "alternating"),
];
const DAILY: &str = "Daily Sync";
const DAILY_INSTANCES: usize = 10;
/// The other instances run their rotation job weekly (so their management client and max-age
/// client rotate weekly too).
const WEEKLY_JOB: &str = "[instance.schedules]\nrotation = \"0 4 * * MON\"";
const SCHEDULES: &str = "jitter = \"0s\"\nrotation = \"0 4 * * *\"\ndrift = \"0 */12 * * *\"\n\
                         audit = \"30 5 * * *\"";

// ---------------------------------------------------------------------------------------------
// Memory: live heap bytes allocated by the daemon runtime's threads.

/// The global allocator of this test binary: the system allocator, counting the live bytes
/// allocated on threads marked as the daemon's.
struct CountingAlloc;

static DAEMON_LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static DAEMON_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn on_daemon_thread() -> bool {
    DAEMON_THREAD.try_with(Cell::get).unwrap_or(false)
}

fn count(delta: isize) {
    if on_daemon_thread() {
        DAEMON_LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counting touches only an atomic and
// a const-initialised thread-local without destructor (no allocation, no reentrancy).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One memory sample of the daemon, taken when no job runs.
#[derive(Debug, Clone, Copy)]
struct Sample {
    day: f64,
    heap: isize,
    tasks: usize,
}

// ---------------------------------------------------------------------------------------------
// Vault behind a proxy the test can cut.

/// A TCP proxy in front of OpenBao: while down it refuses (accepts and closes) new connections
/// and has cut the open ones, as a Vault that went away would.
struct VaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<(bool, CancellationToken)>>,
}

impl VaultProxy {
    async fn start(upstream: &str) -> VaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("openbao address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new((true, CancellationToken::new())));
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let (up, cut) = st.lock().unwrap().clone();
                if !up {
                    drop(inbound);
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.cancelled() => {}
                    }
                });
            }
        });
        VaultProxy { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_up(&self, up: bool) {
        let mut s = self.state.lock().unwrap();
        s.0 = up;
        if !up {
            s.1.cancel();
            s.1 = CancellationToken::new();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Consumers.

/// What a consumer got at one step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Token,
    /// Jamf or Vault answered 5xx or not at all (not the secret's fault).
    Unavailable(String),
    /// 401 with the secret Vault holds: the consumer is down.
    Broken(String),
}

/// A program that reads its client's credentials from Vault and asks Jamf for tokens.
/// `single`: re-reads Vault on 401 (as Warden's docs tell it to). `alternating`: re-reads once a
/// day (its client's shortest rotation period is 4 days) and also on 401.
struct Consumer {
    instance: String,
    client: String,
    alternating: bool,
    url: String,
    vault_path: String,
    creds: Option<(String, String)>,
    last_read: Option<DateTime<Utc>>,
    broken_steps: u32,
    unauthorized: u32,
    /// Since when the consumer has been down, and its longest outage so far (simulated time).
    broken_since: Option<DateTime<Utc>>,
    longest_outage: TimeDelta,
    /// Every secret it read, for the leak scan.
    seen: Vec<String>,
}

struct Http {
    client: reqwest::Client,
    vault: String,
    token: String,
}

impl Consumer {
    async fn read_vault(&mut self, http: &Http, now: DateTime<Utc>) -> Result<(), String> {
        let resp = http
            .client
            .get(format!(
                "{}/v1/secret/data/{PREFIX}/{}",
                http.vault, self.vault_path
            ))
            .header("X-Vault-Token", &http.token)
            .send()
            .await
            .map_err(|e| format!("vault: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("vault answered {}", resp.status()));
        }
        let v: Value = resp.json().await.map_err(|e| format!("vault: {e}"))?;
        let d = &v["data"]["data"];
        let (Some(id), Some(secret)) = (d["client_id"].as_str(), d["client_secret"].as_str())
        else {
            return Err("vault holds no credentials".into());
        };
        if self.seen.last().is_none_or(|s| s != secret) {
            self.seen.push(secret.to_string());
        }
        self.creds = Some((id.to_string(), secret.to_string()));
        self.last_read = Some(now);
        Ok(())
    }

    /// The HTTP status of a token request with the credentials held, retried twice on 5xx.
    async fn token(&self, http: &Http) -> Result<u16, String> {
        let (id, secret) = self.creds.as_ref().ok_or("no credentials")?;
        let mut last = String::new();
        for _ in 0..3 {
            match http
                .client
                .post(format!("{}/api/v1/oauth/token", self.url))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret),
                ])
                .send()
                .await
            {
                Ok(r) if r.status().is_server_error() => last = format!("jamf {}", r.status()),
                Ok(r) => return Ok(r.status().as_u16()),
                Err(e) => last = format!("jamf: {e}"),
            }
        }
        Err(last)
    }

    async fn step(&mut self, http: &Http, now: DateTime<Utc>) -> Got {
        let stale = self
            .last_read
            .is_none_or(|t| self.alternating && now - t >= TimeDelta::days(1));
        // a failed read keeps the credentials held, if any
        if stale
            && let Err(e) = self.read_vault(http, now).await
            && self.creds.is_none()
        {
            return Got::Unavailable(e);
        }
        let got = match self.token(http).await {
            Ok(200) => Got::Token,
            Ok(401) => {
                self.unauthorized += 1;
                match self.read_vault(http, now).await {
                    Err(e) => Got::Unavailable(e),
                    Ok(()) => match self.token(http).await {
                        Ok(200) => Got::Token,
                        Ok(s) => Got::Broken(format!("jamf answered {s} to the secret in vault")),
                        Err(e) => Got::Unavailable(e),
                    },
                }
            }
            Ok(s) => Got::Broken(format!("jamf answered {s}")),
            Err(e) => Got::Unavailable(e),
        };
        match got {
            Got::Broken(_) => {
                self.broken_steps += 1;
                self.broken_since.get_or_insert(now);
            }
            Got::Token => {
                if let Some(since) = self.broken_since.take() {
                    self.longest_outage = self.longest_outage.max(now - since);
                }
            }
            Got::Unavailable(_) => {}
        }
        got
    }
}

async fn consumers_step(
    consumers: Vec<Consumer>,
    http: &Arc<Http>,
    now: DateTime<Utc>,
) -> (Vec<Consumer>, Vec<(String, String, Got)>) {
    let mut set = tokio::task::JoinSet::new();
    for (i, mut c) in consumers.into_iter().enumerate() {
        let http = Arc::clone(http);
        set.spawn(async move {
            let got = c.step(&http, now).await;
            (i, c, got)
        });
    }
    let mut out: Vec<(usize, Consumer, Got)> = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("a consumer panicked"));
    }
    out.sort_by_key(|(i, _, _)| *i);
    let results = out
        .iter()
        .map(|(_, c, g)| (c.instance.clone(), c.client.clone(), g.clone()))
        .collect();
    (out.into_iter().map(|(_, c, _)| c).collect(), results)
}

// ---------------------------------------------------------------------------------------------
// Faults.

/// A fault the test injects or lifts at a point of simulated time (before that step's jobs).
#[derive(Debug, Clone)]
enum Fault {
    /// Adds rules to the simulator instances `from..to`.
    Jamf(std::ops::Range<usize>, Vec<FaultRule>),
    /// Clears the simulator faults of instances `from..to`.
    ClearJamf(std::ops::Range<usize>),
    /// Loses the answer of the next mint of Warden's own management client on instances
    /// `from..to`: a 503 after the commit (`false`) or no answer (`true`).
    LoseManagementMint(std::ops::Range<usize>, bool),
    /// Vault unreachable (`false`) or back (`true`).
    Vault(bool),
    /// The daemon's policy denies `update` on the client secret paths of instances `from..to`
    /// (`Some`), or grants it again (`None`).
    DenyWrites(Option<std::ops::Range<usize>>),
}

/// The faults, at times after the start. Each takes effect at the first step at or after its
/// time, before that step's jobs run, and hits the first client due in that instance's
/// rotation job. Instances `0..DAILY_INSTANCES` have the daily single client and a daily
/// rotation job; the others rotate on Mondays (days 6, 13, 20 and 27).
fn fault_plan() -> Vec<(TimeDelta, Fault)> {
    let at = |day: i64, hour: i64| TimeDelta::days(day) + TimeDelta::hours(hour);
    let mint = format!("POST {MINT_ROUTE}");
    let token = "POST /api/v1/oauth/token";
    let mut plan = vec![
        // Jamf reads: half of them 5xx on five instances for a day
        (
            at(2, 6),
            Fault::Jamf(0..5, vec![FaultRule::error_rate("GET *", 0.5)]),
        ),
        (at(3, 0), Fault::ClearJamf(0..5)),
        // Jamf reads time out (the instances' request_timeout is 2 s)
        (
            at(4, 6),
            Fault::Jamf(5..8, vec![FaultRule::hang("GET *", Some(2))]),
        ),
        (at(5, 0), Fault::ClearJamf(5..8)),
        // token requests: 503s, and one that never answers (a Monday)
        (
            at(6, 6),
            Fault::Jamf(8..11, vec![FaultRule::fail_next(token, 3, 503)]),
        ),
        (
            at(6, 6),
            Fault::Jamf(11..12, vec![FaultRule::hang(token, Some(1))]),
        ),
        (at(7, 0), Fault::ClearJamf(8..12)),
        // the mint fails before Jamf commits it (day 8: the max-age alternating client is due
        // first; day 13, a Monday: the weekly alternating one)
        (
            at(8, 6),
            Fault::Jamf(2..4, vec![FaultRule::fail_next(&mint, 1, 503)]),
        ),
        (at(9, 0), Fault::ClearJamf(2..4)),
        (
            at(13, 6),
            Fault::Jamf(12..14, vec![FaultRule::fail_next(&mint, 1, 503)]),
        ),
        (at(14, 0), Fault::ClearJamf(12..14)),
        // Jamf commits the mint and the answer is lost, by a 503 or no answer at all: the daily
        // single client (day 9), and Warden's own management client (day 13, a Monday)
        (
            at(9, 6),
            Fault::Jamf(
                6..9,
                vec![FaultRule::fail_next(&mint, 1, 503).after_commit()],
            ),
        ),
        (
            at(9, 6),
            Fault::Jamf(9..10, vec![FaultRule::hang(&mint, Some(1)).after_commit()]),
        ),
        (at(10, 0), Fault::ClearJamf(6..10)),
        (at(13, 6), Fault::LoseManagementMint(14..16, false)),
        (at(13, 6), Fault::LoseManagementMint(16..18, true)),
        (at(14, 0), Fault::ClearJamf(14..18)),
        // Vault unreachable for half a day, over the daily rotation
        (at(12, 6), Fault::Vault(false)),
        (at(12, 18), Fault::Vault(true)),
        // for a day the daemon's Vault policy denies updates of four instances' client secrets
        // (the daily single client, and the max-age alternating one is due that day)
        (at(16, 6), Fault::DenyWrites(Some(0..4))),
        (at(17, 0), Fault::DenyWrites(None)),
        // a day of random 5xx on every request to half of the instances (a Monday)
        (
            at(20, 6),
            Fault::Jamf(10..20, vec![FaultRule::error_rate("*", 0.1)]),
        ),
        (at(21, 0), Fault::ClearJamf(10..20)),
    ];
    // in time order (stable: faults at the same time keep their order)
    plan.sort_by_key(|(at, _)| *at);
    plan
}

fn name(i: usize) -> String {
    format!("i{i:02}")
}

fn policy(deny: Option<&std::ops::Range<usize>>) -> String {
    let all = r#"["create", "read", "update", "delete", "list"]"#;
    let mut p = format!(
        "path \"secret/data/{PREFIX}/*\" {{ capabilities = {all} }}\n\
         path \"secret/metadata/{PREFIX}/*\" {{ capabilities = {all} }}\n"
    );
    for i in deny.into_iter().flat_map(|r| r.clone()) {
        p.push_str(&format!(
            "path \"secret/data/{PREFIX}/instances/{}/clients/*\" {{ capabilities = [\"create\", \"read\", \"list\"] }}\n",
            name(i)
        ));
    }
    p
}

async fn write_policy(env: &Env, deny: Option<&std::ops::Range<usize>>) {
    env.bao()
        .api(
            reqwest::Method::PUT,
            "sys/policies/acl/warden-soak",
            Some(json!({ "policy": policy(deny) })),
        )
        .await
        .expect("write the daemon's vault policy");
}

// ---------------------------------------------------------------------------------------------
// Waiting for a step.

/// Whether no job is due at `now` or running.
fn idle(report: &StatusReport, now: DateTime<Utc>) -> bool {
    report.instances.iter().all(|i| {
        i.jobs
            .iter()
            .all(|j| !j.running && j.next_run.is_none_or(|t| t > now))
    })
}

/// Waits until no job is due at `now` or running; `faults` (the faults of the last day) go into
/// the failure message.
async fn wait_idle(env: &Env, now: DateTime<Utc>, faults: &[String]) -> StatusReport {
    let start = warden_core::clock::instant();
    loop {
        let report = status(&env.socket()).await;
        if idle(&report, now) {
            return report;
        }
        if start.elapsed() > STEP_DEADLINE {
            let busy: Vec<String> = report
                .instances
                .iter()
                .flat_map(|i| {
                    i.jobs
                        .iter()
                        .filter(|j| j.running || j.next_run.is_some_and(|t| t <= now))
                        .map(move |j| format!("{}/{:?} running={}", i.name, j.kind, j.running))
                })
                .collect();
            // what the busy instances' rotations did: the mint answers Jamf gave and the
            // last change-log records
            let records = read_records(&env.changelog());
            let detail: Vec<String> = report
                .instances
                .iter()
                .filter(|i| i.jobs.iter().any(|j| j.running))
                .map(|i| {
                    let stats = env.instance(&i.name).sim.stats();
                    let minted: u64 = (200..300)
                        .map(|s| stats.count_status("POST", MINT_ROUTE, s))
                        .sum();
                    let mine: Vec<&Value> = records
                        .iter()
                        .filter(|r| r["instance"] == i.name.as_str())
                        .collect();
                    let tail: Vec<String> = mine[mine.len().saturating_sub(2)..]
                        .iter()
                        .map(|r| {
                            format!(
                                "{} {} {} {}",
                                r["action"], r["object"]["name"], r["outcome"], r["error"]
                            )
                        })
                        .collect();
                    let rotated = mine
                        .iter()
                        .filter(|r| r["action"] == "rotate" && r["outcome"] == "ok")
                        .count();
                    format!(
                        "{}: Jamf answered {minted} mints, the change log records {rotated} rotations; last records {tail:?}",
                        i.name
                    )
                })
                .collect();
            panic!(
                "{now}: jobs still due or running after {STEP_DEADLINE:?} of real time: {busy:?}; \
                 faults of the last day: {faults:#?}; {detail:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Expected rotations.

/// The times a client with `policy` rotates when nothing fails, the instance's rotation job
/// runs on `job` and the clock visits `steps`.
fn ideal_rotations(
    policy: &ClientRotation,
    job: &Schedule,
    steps: &[DateTime<Utc>],
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let (mut last, mut job_last) = (None, None::<DateTime<Utc>>);
    for &now in steps {
        // a job that never ran runs at once, then at its first slot after its last run
        if job_last.is_some_and(|l| job.next_after(l).is_none_or(|t| t > now)) {
            continue;
        }
        job_last = Some(now);
        if next_due(policy, last, now).is_some_and(|t| t <= now) {
            out.push(now);
            last = Some(now);
        }
    }
    out
}

fn max_gap(times: &[DateTime<Utc>]) -> TimeDelta {
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(TimeDelta::zero())
}

/// `desired.toml` (every instance: the role and every client but the daily one), or
/// `daily.toml` (the daily client, which refers to the role of the first).
fn desired_text(daily: bool) -> String {
    let mut text = if daily {
        "version = 1\n".to_string()
    } else {
        format!("version = 1\n\n[[role]]\nname = \"{ROLE}\"\nprivileges = [\"Read Computers\"]\n")
    };
    for (client, schedule, max_age, strategy) in CLIENTS {
        if (client == DAILY) != daily {
            continue;
        }
        text.push_str(&format!(
            "\n[[client]]\nname = \"{client}\"\nroles = [\"{ROLE}\"]\nowner = \"it@example.com\"\n\
             purpose = \"soak test consumer\"\n[client.rotation]\nschedule = \"{schedule}\"\n\
             strategy = \"{strategy}\"\n"
        ));
        if let Some(age) = max_age {
            text.push_str(&format!("max_age = \"{age}\"\n"));
        }
    }
    text
}

fn contains(haystack: &str, needle: &str) -> bool {
    !needle.is_empty() && haystack.contains(needle)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn thirty_days_of_schedules_and_faults_over_twenty_instances_leave_no_consumer_broken() {
    let started = warden_core::clock::instant();
    let daemon_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("wardend-soak")
        .on_thread_start(|| DAEMON_THREAD.with(|c| c.set(true)))
        .enable_all()
        .build()
        .unwrap();
    let test_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    test_rt.block_on(soak(daemon_rt.handle().clone()));
    drop(daemon_rt);
    eprintln!("soak: {:.1} s in all", started.elapsed().as_secs_f64());
}

async fn soak(daemon_rt: tokio::runtime::Handle) {
    let setup = warden_core::clock::instant();
    let names: Vec<String> = (0..INSTANCES).map(name).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let env = Env::start(&refs).await;

    // the operator's first secrets of every declared client (Vault version 1)
    for (i, n) in names.iter().enumerate() {
        for (client, ..) in CLIENTS {
            if client == DAILY && i >= DAILY_INSTANCES {
                continue;
            }
            env.add_managed_client(n, client).await;
        }
    }
    // the daemon authenticates with a token of its own policy (not root), so that the test can
    // deny writes the way a strict Vault policy does
    write_policy(&env, None).await;
    let token = env
        .bao()
        .api(
            reqwest::Method::POST,
            "auth/token/create",
            Some(json!({"policies": ["warden-soak"], "ttl": "24h", "no_parent": true})),
        )
        .await
        .expect("create the daemon's vault token");
    let token = token["auth"]["client_token"].as_str().unwrap().to_string();
    write_private(&env.token_file(), token.as_bytes());
    let proxy = VaultProxy::start(env.bao().addr()).await;

    let mut cfg = Cfg::new(&refs);
    cfg.schedules = SCHEDULES.into();
    for n in &names[DAILY_INSTANCES..] {
        cfg = cfg.instance_line(n, WEEKLY_JOB);
    }
    cfg.vault_address = Some(proxy.url());
    cfg.daemon_extra = "max_rotations_per_minute = 1000".into();
    env.write_rotation_config(&cfg, &desired_text(false));
    std::fs::write(env.path("daily.toml"), desired_text(true)).unwrap();
    let mut text = std::fs::read_to_string(env.config_path())
        .unwrap()
        .replace("request_timeout = \"10s\"", "request_timeout = \"2s\"");
    for n in &names[..DAILY_INSTANCES] {
        let table = format!("name = \"{n}\"\ndesired = [\"desired.toml\"]\n");
        assert!(text.contains(&table), "{text}");
        text = text.replace(
            &table,
            &format!("name = \"{n}\"\ndesired = [\"desired.toml\", \"daily.toml\"]\n"),
        );
    }
    std::fs::write(env.config_path(), text).unwrap();
    let config = Config::load(&env.config_path()).expect("valid config");

    // 2030-01-15 is a Tuesday: the monthly client is due on day 17 (February 1st)
    let start: DateTime<Utc> = "2030-01-15T00:00:00Z".parse().unwrap();
    let steps: Vec<DateTime<Utc>> = (0..=(DAYS * 24 / STEP_HOURS))
        .map(|i| start + TimeDelta::hours(i * STEP_HOURS))
        .collect();
    let mut ideal: BTreeMap<(String, String), Vec<DateTime<Utc>>> = BTreeMap::new();
    for inst in &config.instances {
        for target in warden_daemon_targets(inst) {
            let times = ideal_rotations(&target.client.rotation, &inst.schedules.rotation, &steps);
            ideal.insert((inst.name.clone(), target.client.name.clone()), times);
        }
    }

    let clock = TestClock::at(start);
    let tick = Arc::new(tokio::sync::Notify::new());
    let options = RunOptions {
        clock: clock.clock(),
        tick: Some(Arc::clone(&tick)),
        ..RunOptions::default()
    };
    let shutdown = CancellationToken::new();
    let (_reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let control = Control {
        shutdown: shutdown.clone(),
        force: CancellationToken::new(),
        reload: reload_rx,
    };
    let handle = daemon_rt.spawn(warden_daemon::run(config, options, control));
    let socket = env.socket();
    common::wait_for("the in-process daemon to answer", async || {
        assert!(!handle.is_finished(), "run() ended during start-up");
        warden_core::protocol::connect(&socket)
            .await
            .ok()
            .map(|_| ())
    })
    .await;

    let http = Arc::new(Http {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        vault: proxy.url(),
        token: env.bao().root_token().to_string(),
    });
    let mut consumers: Vec<Consumer> = Vec::new();
    for (i, inst) in env.instances.iter().enumerate() {
        for (client, _, _, strategy) in CLIENTS {
            if client == DAILY && i >= DAILY_INSTANCES {
                continue;
            }
            let slug = client.to_lowercase().replace(' ', "-");
            consumers.push(Consumer {
                instance: inst.name.clone(),
                client: client.to_string(),
                alternating: strategy == "alternating",
                url: inst.url.clone(),
                vault_path: format!("instances/{}/clients/{slug}", inst.name),
                creds: None,
                last_read: None,
                broken_steps: 0,
                unauthorized: 0,
                broken_since: None,
                longest_outage: TimeDelta::zero(),
                seen: Vec::new(),
            });
        }
    }
    eprintln!("soak: set up in {:.1} s", setup.elapsed().as_secs_f64());

    let mut plan = fault_plan().into_iter().peekable();
    let mut lost_mints: HashMap<String, u64> = HashMap::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut unavailable_steps = 0u32;
    let mut faults_active = false;
    let mut fault_log: Vec<(DateTime<Utc>, String)> = Vec::new();
    let (mut jobs_time, mut consumers_time) = (Duration::ZERO, Duration::ZERO);
    let run = warden_core::clock::instant();
    for (i, &now) in steps.iter().enumerate() {
        let day = (now - start).num_minutes() as f64 / 1440.0;
        while let Some((_, fault)) = plan.next_if(|(at, _)| start + *at <= now) {
            faults_active = true;
            fault_log.push((now, format!("{now}: {fault:?}")));
            match fault {
                Fault::Jamf(range, rules) => {
                    for i in range {
                        for rule in &rules {
                            env.instances[i].sim.add_fault(rule.clone()).unwrap();
                            if rule.after_commit {
                                *lost_mints.entry(env.instances[i].name.clone()).or_default() += 1;
                            }
                        }
                    }
                }
                Fault::ClearJamf(range) => {
                    for i in range {
                        let sim = &env.instances[i].sim;
                        // a lost answer must have happened, or the test proved nothing
                        let left = sim.faults();
                        assert!(
                            left.iter().all(|r| !r.after_commit),
                            "day {day}: {}: the mint whose answer is lost was never attempted: {left:?}",
                            env.instances[i].name
                        );
                        sim.clear_faults();
                    }
                }
                Fault::LoseManagementMint(range, hang) => {
                    for i in range {
                        let inst = &env.instances[i];
                        let id = inst.sim.client_by_name(MANAGEMENT).unwrap().id;
                        let route =
                            format!("POST /api/v1/api-integrations/{id}/client-credentials");
                        let rule = if hang {
                            FaultRule::hang(&route, Some(1))
                        } else {
                            FaultRule::fail_next(&route, 1, 503)
                        };
                        inst.sim.add_fault(rule.after_commit()).unwrap();
                        *lost_mints.entry(inst.name.clone()).or_default() += 1;
                    }
                }
                Fault::Vault(up) => proxy.set_up(up),
                Fault::DenyWrites(range) => write_policy(&env, range.as_ref()).await,
            }
        }
        if i > 0 {
            clock.set(now);
            tick.notify_one();
        }
        let recent: Vec<String> = fault_log
            .iter()
            .filter(|(t, _)| now - *t <= TimeDelta::days(1))
            .map(|(_, f)| f.clone())
            .collect();
        let t0 = warden_core::clock::instant();
        wait_idle(&env, now, &recent).await;
        let t1 = warden_core::clock::instant();
        let (next, mut results) = consumers_step(consumers, &http, now).await;
        consumers = next;
        // while a consumer is down, follow it minute by minute (the daemon heals by itself)
        let mut sub = 0;
        while sub < MAX_SUB_STEPS && results.iter().any(|(_, _, g)| matches!(g, Got::Broken(_))) {
            sub += 1;
            let t = now + TimeDelta::minutes(sub * SUB_STEP_MINUTES);
            clock.set(t);
            tick.notify_one();
            wait_idle(&env, t, &recent).await;
            let (next, r) = consumers_step(consumers, &http, t).await;
            consumers = next;
            results = r;
        }
        jobs_time += t1 - t0;
        consumers_time += t1.elapsed();
        unavailable_steps += results
            .iter()
            .filter(|(_, _, g)| matches!(g, Got::Unavailable(_)))
            .count() as u32;
        if !faults_active && i > 0 {
            // before the first fault, every consumer works at every step
            for (inst, client, got) in &results {
                assert_eq!(*got, Got::Token, "day {day}: {inst}/{client}");
            }
        }
        samples.push(Sample {
            day,
            heap: DAEMON_LIVE_BYTES.load(Ordering::Relaxed),
            tasks: daemon_rt.metrics().num_alive_tasks(),
        });
    }
    assert!(plan.next().is_none(), "faults planned after the last day");
    eprintln!(
        "soak: {} steps of {STEP_HOURS} h in {:.1} s ({:.1} s running jobs, {:.1} s consumers)",
        steps.len(),
        run.elapsed().as_secs_f64(),
        jobs_time.as_secs_f64(),
        consumers_time.as_secs_f64()
    );

    // ---- the end state, after HEAL_DAYS without faults ----
    let last_fault = fault_plan().iter().map(|(at, _)| *at).max().unwrap();
    assert!(last_fault <= TimeDelta::days(DAYS - HEAL_DAYS));
    let now = *steps.last().unwrap();

    // 0 consumers broken
    let (consumers, results) = consumers_step(consumers, &http, now).await;
    let broken: Vec<String> = results
        .iter()
        .filter(|(_, _, g)| *g != Got::Token)
        .map(|(i, c, g)| format!("{i}/{c}: {g:?}"))
        .collect();
    let long_outages: Vec<String> = consumers
        .iter()
        .filter(|c| c.longest_outage > TimeDelta::minutes(MAX_OUTAGE_MINUTES))
        .map(|c| format!("{}/{}: down for {}", c.instance, c.client, c.longest_outage))
        .collect();
    let longest = consumers
        .iter()
        .map(|c| c.longest_outage)
        .max()
        .unwrap_or_default();
    let broken_steps: u32 = consumers.iter().map(|c| c.broken_steps).sum();
    let unauthorized: u32 = consumers.iter().map(|c| c.unauthorized).sum();
    eprintln!(
        "soak: {} consumers; during the run {broken_steps} broken consumer-steps, {unauthorized} 401s, {unavailable_steps} unavailable; longest outage {} min (simulated)",
        consumers.len(),
        longest.num_minutes()
    );

    // every job healthy again
    let report = status(&env.socket()).await;
    let unhealthy: Vec<String> = report
        .instances
        .iter()
        .filter(|i| i.parked || i.consecutive_failures > 0)
        .map(|i| format!("{}: {:?}", i.name, i.last_error))
        .collect();

    // rotations against the schedules, from the change log (record times are the test clock)
    let records = read_records(&env.changelog());
    let mut rotated: BTreeMap<(String, String), Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut minted: HashMap<String, u64> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| r["action"] == "rotate" && r["outcome"] == "ok")
    {
        let inst = r["instance"].as_str().unwrap_or_default().to_string();
        let client = r["object"]["name"].as_str().unwrap_or_default().to_string();
        let time: DateTime<Utc> = r["time"].as_str().unwrap().parse().unwrap();
        rotated
            .entry((inst.clone(), client))
            .or_default()
            .push(time);
        // one mint each: `rotated` minted in this attempt, `verified` in an earlier one whose
        // verification failed
        *minted.entry(inst).or_default() += 1;
    }
    let mut schedule_problems = Vec::new();
    for (key, want) in &ideal {
        let got = rotated.get(key).cloned().unwrap_or_default();
        let (lo, hi) = (want.len().saturating_sub(1), want.len());
        if got.len() < lo || got.len() > hi {
            schedule_problems.push(format!(
                "{}/{}: rotated {} times, the schedule demands {}",
                key.0,
                key.1,
                got.len(),
                want.len()
            ));
        }
        let allowed = max_gap(want) + TimeDelta::days(1);
        let last_gap = got.last().map(|t| now - *t).unwrap_or(TimeDelta::MAX);
        if max_gap(&got) > allowed || last_gap > allowed {
            schedule_problems.push(format!(
                "{}/{}: {} without a rotation (its schedule allows {allowed})",
                key.0,
                key.1,
                max_gap(&got).max(last_gap)
            ));
        }
    }
    eprintln!(
        "soak: {} rotations recorded, the schedules demand {}",
        rotated.values().map(Vec::len).sum::<usize>(),
        ideal.values().map(Vec::len).sum::<usize>()
    );

    // no extra mints: Jamf minted once per recorded rotation, plus the answers lost on purpose
    let mut mint_problems = Vec::new();
    for inst in &env.instances {
        let stats = inst.sim.stats();
        let ok: u64 = (200..300)
            .map(|s| stats.count_status("POST", MINT_ROUTE, s))
            .sum();
        let recorded = minted.get(&inst.name).copied().unwrap_or(0);
        if ok != recorded {
            let failures: Vec<String> = records
                .iter()
                .filter(|r| {
                    r["action"] == "rotate"
                        && r["instance"] == inst.name.as_str()
                        && r["outcome"] == "failed"
                })
                .map(|r| format!("{} {}: {}", r["time"], r["object"]["name"], r["error"]))
                .collect();
            mint_problems.push(format!(
                "{}: Jamf answered {ok} mints, the change log records {recorded} rotations (and {} mint answers were lost on purpose); failed rotations: {failures:#?}",
                inst.name,
                lost_mints.get(&inst.name).copied().unwrap_or(0)
            ));
        }
    }

    // memory: day 10 against day 30 (the mean of each day's samples)
    let mean = |from: f64, to: f64| {
        let s: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.day > from && s.day <= to)
            .collect();
        let heap = s.iter().map(|s| s.heap as f64).sum::<f64>() / s.len() as f64;
        let tasks = s.iter().map(|s| s.tasks).max().unwrap_or(0);
        (heap, tasks)
    };
    let (heap10, tasks10) = mean(9.0, 10.0);
    let (heap30, tasks30) = mean(DAYS as f64 - 1.0, DAYS as f64);
    eprintln!(
        "soak: daemon live heap {:.2} MiB on day 10, {:.2} MiB on day 30; live tasks {tasks10} / {tasks30}",
        heap10 / 1048576.0,
        heap30 / 1048576.0
    );

    // stop, then the change log verifies against the head anchored in Vault
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(120), handle)
        .await
        .expect("run() did not stop")
        .expect("run() panicked");
    assert!(stopped.is_ok(), "run() failed: {stopped:?}");
    let head = env.vault_head().await.expect("a head anchored in vault");
    let report_cl = warden_core::changelog::verify(&env.changelog(), Some(head));

    // no secret a consumer ever read is in the change log or the state
    let mut state_text = String::new();
    for e in std::fs::read_dir(env.state_dir()).unwrap().flatten() {
        if e.path().is_file() {
            state_text.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    let leaked: Vec<String> = consumers
        .iter()
        .filter(|c| c.seen.iter().any(|s| contains(&state_text, s)))
        .map(|c| format!("{}/{}", c.instance, c.client))
        .collect();
    let scanned: usize = consumers.iter().map(|c| c.seen.len()).sum();
    assert!(
        scanned > consumers.len() && !state_text.is_empty(),
        "nothing to scan for secrets"
    );

    assert!(
        broken.is_empty(),
        "consumers broken at the end: {broken:#?}"
    );
    assert!(
        long_outages.is_empty(),
        "consumers down for longer than {MAX_OUTAGE_MINUTES} min of simulated time before the daemon healed them: {long_outages:#?}"
    );
    assert!(
        unhealthy.is_empty(),
        "jobs failing at the end: {unhealthy:#?}"
    );
    assert!(
        schedule_problems.is_empty(),
        "rotations do not follow the schedules: {schedule_problems:#?}"
    );
    assert!(mint_problems.is_empty(), "extra mints: {mint_problems:#?}");
    assert!(
        report_cl.problem.is_none(),
        "the change log does not verify: {report_cl}"
    );
    assert!(
        leaked.is_empty(),
        "secrets in the state directory: {leaked:?}"
    );
    // flat: at most a quarter plus 512 KiB more (about 1.4 MiB either day when this was written;
    // twenty more days are 800 more rotations and 800 more drift and audit runs)
    assert!(
        heap30 <= heap10 * 1.25 + 512.0 * 1024.0,
        "the daemon's live heap grew from {heap10:.0} bytes on day 10 to {heap30:.0} on day 30"
    );
    // the tasks are the daemon's long-lived ones plus one per open keep-alive connection; the
    // clock moves faster than the pools' idle timeouts (real time), so an uncapped pool would
    // keep the busiest moment's connections (it did: 46 on day 10, 65 after day 13's bursts)
    assert!(
        tasks30 <= tasks10 + 4,
        "the daemon's live tasks grew from {tasks10} on day 10 to {tasks30} on day 30"
    );
}

/// The rotation targets of `inst` as the daemon builds them: the declared clients, then the
/// management client on the instance's rotation schedule.
fn warden_daemon_targets(inst: &warden_core::config::Instance) -> Vec<RotationTarget> {
    let mut out: Vec<RotationTarget> = inst
        .desired_state
        .clients
        .iter()
        .map(|c| RotationTarget::new(inst.name.clone(), &inst.schedules.rotation, c.clone()))
        .collect();
    let mut management = inst.desired_state.clients[0].clone();
    management.name = MANAGEMENT.into();
    management.rotation = ClientRotation {
        schedule: None,
        max_age: None,
        strategy: RotationStrategy::Single,
        adopt: warden_core::config::AdoptPolicy::Hold,
    };
    out.push(RotationTarget::new(
        inst.name.clone(),
        &inst.schedules.rotation,
        management,
    ));
    out
}
