//! The Prometheus endpoint (`[metrics] listen`): after a drift check that finds drift, a
//! rotation and an audit, the exposition holds their values (job states, drift items by kind,
//! findings by severity, the client's secret, rotation and mint counters, Jamf requests by
//! route pattern with latencies, secret-store operations, the change log and its last
//! verification, which turns 0 when a record was edited), never a secret or a client id; a
//! failed rotation counts as failed and mints nothing; `promtool check metrics` accepts it; a real Prometheus scrapes it and answers
//! the same values through its HTTP API, with the documented alert rules loaded. The endpoint
//! answers `GET /metrics` only and is bounded (connections, header size and time).
//!
//! promtool and Prometheus come from Debian's `prometheus` package, installed by
//! `scripts/install-prometheus.sh` when missing; without them the Prometheus parts fail under
//! CI and are skipped (said on stderr) elsewhere.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::rotation::{CLIENT, Managed, ROLE, desired_toml};
use common::{Cfg, DEADLINE, Daemon, Env, status, wait_for};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_core::protocol::JobKind as ProtoJob;
use warden_core::schedule::JobKind;

/// Every job runs once at start (none ran before), then yearly.
const ALL_AT_START: &str =
    "jitter = \"0s\"\nrotation = \"@yearly\"\ndrift = \"@yearly\"\naudit = \"@yearly\"";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A loopback port free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One sample of an exposition: metric name and labels.
type Series = (String, BTreeMap<String, String>);

/// Parses the samples of a Prometheus text exposition.
fn samples(text: &str) -> Vec<(Series, f64)> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().expect("a number"),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let mut labels = BTreeMap::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label");
                    // values here never hold an escaped quote
                    let end = after.find('"').expect("end of value");
                    labels.insert(key.to_owned(), after[..end].to_owned());
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_owned(), labels)
            }
        };
        out.push(((name, labels), value));
    }
    out
}

/// The value of `name` with exactly `labels`, if present.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples(text)
        .into_iter()
        .find(|((n, l), _)| n == name && *l == want)
        .map(|(_, v)| v)
}

fn must(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{text}"))
}

async fn scrape(port: u16) -> (String, String) {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.text().await.unwrap(), content_type)
}

/// A daemon with metrics on `port`, one managed client ([`CLIENT`]) and live drift (its role
/// has a privilege more than declared), whose first drift check, rotation and audit have run.
async fn started(env: &Env, port: u16) -> (Daemon, Managed) {
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    sim.create_role(ROLE, ["Read Computers", "Read Mobile Devices"])
        .unwrap();
    let managed = env.add_managed_client("alpha", CLIENT).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = ALL_AT_START.into();
    cfg.tables = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let daemon = env.start_wardend(None).await;
    wait_for("every job's first run", async || {
        let s = status(&daemon.socket).await;
        s.instances
            .iter()
            .flat_map(|i| &i.jobs)
            .all(|j| j.last_run.is_some() && !j.running)
            .then_some(())
    })
    .await;
    (daemon, managed)
}

/// Unsuppressed findings of the kept audit, by severity.
fn kept_findings(env: &Env) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(env.state_dir().join("audit-state.json")).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    let mut by = BTreeMap::new();
    for f in state["instances"]["alpha"]["last"]["findings"]
        .as_array()
        .unwrap()
    {
        if f["suppressed_by"].is_null() {
            *by.entry(f["severity"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    by
}

/// Secrets and ids the exposition must never hold.
fn forbidden(env: &Env, managed: &Managed, new_secret: &str) -> Vec<(&'static str, String)> {
    let inst = env.instance("alpha");
    vec![
        (
            "the managed client's first secret",
            managed.initial_secret.clone(),
        ),
        ("the managed client's rotated secret", new_secret.to_owned()),
        ("the managed client's id", managed.client_id.clone()),
        ("the management secret", inst.client_secret.clone()),
        ("the management client id", inst.client_id.clone()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_holds_jobs_drift_findings_clients_and_requests() {
    let env = Env::start_memory(&["alpha"]).await;
    let port = free_port();
    let (daemon, managed) = started(&env, port).await;
    let (text, content_type) = scrape(port).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");

    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        must(&text, "warden_build_info", &[("version", version)]),
        1.0
    );
    assert!(must(&text, "warden_start_time_seconds", &[]) > 0.0);

    // Job states: every job ran once, successfully (drift found is not a failure).
    let report = status(&daemon.socket).await;
    for job in &report.instances[0].jobs {
        let kind = match job.kind {
            ProtoJob::Drift => "drift",
            ProtoJob::Audit => "audit",
            ProtoJob::Rotate => "rotation",
            other => panic!("{other:?}"),
        };
        let labels = [("jamf_instance", "alpha"), ("job_kind", kind)];
        let last_run = job.last_run.unwrap().timestamp_millis() as f64 / 1000.0;
        assert_eq!(
            must(&text, "warden_job_last_run_timestamp_seconds", &labels),
            last_run,
            "{kind}"
        );
        let last_success = job.last_success.unwrap().timestamp_millis() as f64 / 1000.0;
        assert_eq!(
            must(&text, "warden_job_last_success_timestamp_seconds", &labels),
            last_success
        );
        assert_eq!(must(&text, "warden_job_last_run_success", &labels), 1.0);
        assert_eq!(must(&text, "warden_job_consecutive_failures", &labels), 0.0);
        assert_eq!(must(&text, "warden_job_parked", &labels), 0.0);
        assert_eq!(must(&text, "warden_job_running", &labels), 0.0);
    }
    assert_eq!(report.instances[0].jobs.len(), JobKind::ALL.len());

    // Drift by kind: the role's extra privilege; every kind has a sample.
    let drift = |kind| {
        value(
            &text,
            "warden_drift_items",
            &[("jamf_instance", "alpha"), ("kind", kind)],
        )
    };
    assert_eq!(drift("privileges_removed"), Some(1.0));
    for kind in warden_core::drift::DriftKind::ALL {
        assert!(
            drift(kind.as_str()).is_some(),
            "no drift sample of {kind:?}"
        );
    }

    // Findings by severity, as the kept audit counts them.
    let kept = kept_findings(&env);
    for severity in ["low", "medium", "high", "critical"] {
        let n = must(
            &text,
            "warden_audit_findings",
            &[("jamf_instance", "alpha"), ("severity", severity)],
        );
        assert_eq!(n, *kept.get(severity).unwrap_or(&0) as f64, "{severity}");
    }

    // The managed client: rotated once by the job, not held.
    let client = [("jamf_instance", "alpha"), ("client", CLIENT)];
    assert_eq!(
        must(
            &text,
            "warden_rotations_total",
            &[
                ("jamf_instance", "alpha"),
                ("client", CLIENT),
                ("outcome", "ok")
            ]
        ),
        1.0
    );
    assert_eq!(
        must(
            &text,
            "warden_secret_mints_total",
            &[("jamf_instance", "alpha"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        must(&text, "warden_client_last_rotation_success", &client),
        1.0
    );
    assert_eq!(must(&text, "warden_client_adopted", &client), 0.0);
    assert_eq!(must(&text, "warden_client_rotation_refused", &client), 0.0);
    let age = must(&text, "warden_client_secret_age_seconds", &client);
    assert!((0.0..3600.0).contains(&age), "{age}");
    let due = must(
        &text,
        "warden_client_secret_next_due_timestamp_seconds",
        &client,
    );
    assert!(due > must(&text, "warden_start_time_seconds", &[]), "{due}");
    // Warden's own client is seen by the rotation job too (not due: marked rotated).
    let own = [
        ("jamf_instance", "alpha"),
        ("client", common::rotation::MANAGEMENT),
    ];
    assert_eq!(must(&text, "warden_client_adopted", &own), 0.0);

    // Jamf requests by route pattern (never a raw path with an id), with latencies.
    let mint = [
        ("jamf_instance", "alpha"),
        ("endpoint", common::rotation::MINT_ROUTE),
        ("method", "POST"),
        ("status", "200"),
    ];
    assert_eq!(must(&text, "warden_jamf_requests_total", &mint), 1.0);
    let timed = [
        ("jamf_instance", "alpha"),
        ("endpoint", "/api/v1/api-roles"),
        ("method", "GET"),
    ];
    assert!(must(&text, "warden_jamf_request_duration_seconds_count", &timed) >= 1.0);
    for ((name, labels), _) in samples(&text) {
        if let Some(endpoint) = labels.get("endpoint") {
            assert!(endpoint.starts_with("/api/"), "{name}: {endpoint}");
            assert!(
                !endpoint
                    .split('/')
                    .any(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit())),
                "a raw id in {name}: {endpoint}"
            );
        }
    }

    // Secret-store operations: the rotation wrote the new secret.
    assert!(
        must(
            &text,
            "warden_vault_requests_total",
            &[("operation", "write_secret")]
        ) >= 1.0
    );

    // The change log: its head's sequence number; verified at start-up.
    let records = env.records();
    let last_seq = records.last().unwrap()["seq"].as_u64().unwrap() as f64;
    assert_eq!(must(&text, "warden_changelog_records_total", &[]), last_seq);
    assert_eq!(
        must(&text, "warden_changelog_last_verify_success", &[]),
        1.0
    );

    // No secret, no client id.
    let new_secret = env.read_version(&managed.vault_path, 2).await["client_secret"]
        .as_str()
        .expect("the rotated secret in the store")
        .to_owned();
    for (what, needle) in forbidden(&env, &managed, &new_secret) {
        assert!(!text.contains(&needle), "{what} in the exposition");
    }

    // A record edited behind the daemon's back: `log verify` names it, and the metric says so.
    let log = std::fs::read_to_string(env.changelog()).unwrap();
    let (first, rest) = log.split_once('\n').unwrap();
    assert!(first.contains("\"outcome\":\"ok\""), "{first}");
    let edited = first.replacen("\"outcome\":\"ok\"", "\"outcome\":\"failed\"", 1);
    std::fs::write(env.changelog(), format!("{edited}\n{rest}")).unwrap();
    match common::send(&daemon.socket, warden_core::protocol::Request::LogVerify).await {
        warden_core::protocol::Response::LogVerify(report) => assert!(!report.is_ok(), "{report}"),
        other => panic!("log verify answered {other:?}"),
    }
    let (after, _) = scrape(port).await;
    assert_eq!(
        must(&after, "warden_changelog_last_verify_success", &[]),
        0.0
    );

    // promtool's linter accepts it.
    if let Some(promtool) = prometheus_tool("promtool") {
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut daemon = daemon;
    daemon.stop_cleanly().await;
    env.assert_no_secret_leaks();
}

/// Rotations that fail count as failed and mint nothing: refused in preflight (the client is
/// disabled in Jamf), then refused as changed out of band (its stored secret no longer gets a
/// token), which the client's metrics show; accepted by an operator, the next one counts as
/// ok, clears the refusal and sets the client's age and due date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_successful_rotations_are_counted_per_client() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let managed = env.add_managed_client("alpha", CLIENT).await;
    let port = free_port();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = common::rotation::NO_JOBS.into();
    cfg.tables = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    env.write_rotation_config(&cfg, &desired_toml(&[CLIENT], ""));
    let mut daemon = env.start_wardend(None).await;
    let sim = &env.instance("alpha").sim;
    let client = [("jamf_instance", "alpha"), ("client", CLIENT)];
    let outcome = |o| {
        [
            ("jamf_instance", "alpha"),
            ("client", CLIENT),
            ("outcome", o),
        ]
    };

    sim.set_enabled(managed.id, false).unwrap();
    let refused = common::rotation::rotate(&daemon.socket, "alpha", CLIENT).await;
    common::rotation::error_of(&refused);
    let (text, _) = scrape(port).await;
    assert_eq!(
        must(&text, "warden_rotations_total", &outcome("failed")),
        1.0
    );
    assert_eq!(value(&text, "warden_rotations_total", &outcome("ok")), None);
    assert_eq!(
        must(&text, "warden_client_last_rotation_success", &client),
        0.0
    );
    assert_eq!(must(&text, "warden_client_rotation_refused", &client), 0.0);
    assert_eq!(
        value(&text, "warden_client_secret_age_seconds", &client),
        None
    );
    let mints = [("jamf_instance", "alpha"), ("outcome", "ok")];
    assert_eq!(value(&text, "warden_secret_mints_total", &mints), None);

    // Enabled again, its stored secret no longer gets a token (the simulator dropped it with
    // the disable): refused as changed out of band, and shown as such.
    sim.set_enabled(managed.id, true).unwrap();
    let refused = common::rotation::rotate(&daemon.socket, "alpha", CLIENT).await;
    assert!(
        common::rotation::error_of(&refused)
            .1
            .contains("out-of-band"),
        "{refused:?}"
    );
    let (text, _) = scrape(port).await;
    assert_eq!(
        must(&text, "warden_rotations_total", &outcome("failed")),
        2.0
    );
    assert_eq!(must(&text, "warden_client_rotation_refused", &client), 1.0);
    assert_eq!(
        must(&text, "warden_client_last_rotation_success", &client),
        0.0
    );
    assert_eq!(value(&text, "warden_secret_mints_total", &mints), None);

    // Accepted by an operator: rotated, the refusal cleared.
    let rotated = common::send(
        &daemon.socket,
        warden_core::protocol::Request::Rotate(warden_core::protocol::RotateRequest {
            instance: "alpha".into(),
            client: CLIENT.into(),
            confirmed: true,
            recover: false,
            accept_out_of_band: true,
        }),
    )
    .await;
    assert!(
        !matches!(rotated, warden_core::protocol::Response::Error { .. }),
        "{rotated:?}"
    );
    let (text, _) = scrape(port).await;
    assert_eq!(
        must(&text, "warden_rotations_total", &outcome("failed")),
        2.0
    );
    assert_eq!(must(&text, "warden_rotations_total", &outcome("ok")), 1.0);
    assert_eq!(
        must(&text, "warden_client_last_rotation_success", &client),
        1.0
    );
    assert_eq!(must(&text, "warden_secret_mints_total", &mints), 1.0);
    assert_eq!(must(&text, "warden_client_rotation_refused", &client), 0.0);
    assert!(must(&text, "warden_client_secret_age_seconds", &client) >= 0.0);
    assert!(
        must(
            &text,
            "warden_client_secret_next_due_timestamp_seconds",
            &client
        ) > 0.0
    );
    daemon.stop_cleanly().await;
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_answers_get_metrics_only_and_is_bounded() {
    let env = Env::start_memory(&["alpha"]).await;
    let port = free_port();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = common::rotation::NO_JOBS.into();
    cfg.tables = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let daemon = env.start_daemon(&cfg).await;
    let base = format!("http://127.0.0.1:{port}");
    // no keep-alive: a pooled connection would hold one of the endpoint's slots
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    // GET /metrics only.
    assert_eq!(
        http.get(format!("{base}/")).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        http.get(format!("{base}/metric"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.post(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // An oversized request head gets no metrics.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = s.write_all(big.as_bytes()).await;
    let answer = read_to_end(&mut s).await;
    assert!(!answer.contains("warden_build_info"), "{answer}");

    // A flood: the connections over the cap are closed at once, while those within it stay
    // open (they have not sent their headers yet)...
    let max = 16;
    let mut idle = Vec::new();
    for _ in 0..max {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap(),
        );
    }
    // the server took them all (a request on a fresh connection would otherwise queue)
    let mut extra = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    assert_eq!(
        read_to_end(&mut extra).await,
        "",
        "a connection over the cap was served"
    );
    let mut probe = [0u8; 1];
    assert!(
        matches!(idle[0].try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection within the cap was closed with the one over it"
    );
    // ...and a peer that never sends its headers is closed by the header timeout, with
    // nothing sent.
    for s in &mut idle {
        assert_eq!(read_to_end(s).await, "", "a slow peer got an answer");
    }
    drop(idle);
    // Served again once they are gone.
    assert_eq!(
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut daemon = daemon;
    daemon.stop_cleanly().await;
}

/// Reads until the server closes the connection (bounded by the test deadline).
async fn read_to_end(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_wardend_and_loads_the_alert_rules() {
    let Some(prometheus) = prometheus_tool("prometheus") else {
        return;
    };
    let started_at = warden_core::clock::instant();
    let env = Env::start_memory(&["alpha"]).await;
    let port = free_port();
    let (daemon, managed) = started(&env, port).await;

    let rules = repo_root().join("deploy/prometheus/wardend-alerts.yml");
    let config = env.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: wardend\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
            rules.display()
        ),
    )
    .unwrap();
    let web = free_port();
    let prometheus_started = warden_core::clock::instant();
    let _prometheus = Running(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                env.path("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(env.path("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus"),
    );
    let api = format!("http://127.0.0.1:{web}/api/v1");
    let query = async |q: &str| -> Option<f64> {
        let resp = reqwest::Client::new()
            .get(format!("{api}/query"))
            .query(&[("query", q)])
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        let result = body["data"]["result"].as_array()?.first()?.clone();
        result["value"][1].as_str()?.parse().ok()
    };

    // The first scrape: wardend's target is up and its values arrive.
    let up = wait_for("prometheus to scrape wardend", async || {
        query("up{job=\"wardend\"}").await.filter(|v| *v == 1.0)
    })
    .await;
    assert_eq!(up, 1.0);
    let rotations =
        "warden_rotations_total{jamf_instance=\"alpha\",client=\"Inventory Sync\",outcome=\"ok\"}";
    assert_eq!(
        query(rotations).await,
        Some(1.0),
        "{}",
        prometheus_log(&env)
    );
    assert_eq!(
        query("warden_secret_mints_total{jamf_instance=\"alpha\",outcome=\"ok\"}").await,
        Some(1.0)
    );
    assert_eq!(
        query("warden_drift_items{jamf_instance=\"alpha\",kind=\"privileges_removed\"}").await,
        Some(1.0)
    );
    assert_eq!(
        query("warden_job_last_run_success{jamf_instance=\"alpha\",job_kind=\"rotation\"}").await,
        Some(1.0)
    );
    assert_eq!(query("warden_build_info").await, Some(1.0), "build info");
    assert_eq!(
        query("warden_changelog_last_verify_success").await,
        Some(1.0)
    );
    let requests =
        "sum(warden_jamf_requests_total{jamf_instance=\"alpha\",endpoint=\"/api/v1/api-roles\"})";
    assert!(query(requests).await.is_some_and(|v| v >= 1.0));

    // The alert rules loaded and evaluate without error.
    let rules: Value = reqwest::get(format!("{api}/rules"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loaded: Vec<&Value> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert!(loaded.len() >= 8, "{rules}");
    // The drift alert is pending (its `for` is 1 h): the rule sees the drift.
    wait_for("the drift alert to be pending", async || {
        let alerts: Value = reqwest::get(format!("{api}/alerts"))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .any(|a| {
                a["labels"]["alertname"] == "WardenDrift" && a["labels"]["jamf_instance"] == "alpha"
            })
            .then_some(())
    })
    .await;
    // Every rule evaluates without error once Prometheus has evaluated it (before its first
    // evaluation a rule's health is `unknown`).
    let rules = wait_for("every rule to be evaluated", async || {
        let rules: Value = reqwest::get(format!("{api}/rules"))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let all: Vec<Value> = rules["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        all.iter().all(|r| r["health"] != "unknown").then_some(all)
    })
    .await;
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }

    // Nothing Prometheus stored holds a secret.
    let new_secret = env.read_version(&managed.vault_path, 2).await["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let series: Value = reqwest::Client::new()
        .get(format!("{api}/series"))
        .query(&[("match[]", "{__name__=~\"warden_.+\"}")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let series = series.to_string();
    assert!(
        series.contains("warden_client_secret_age_seconds"),
        "{series}"
    );
    for (what, needle) in forbidden(&env, &managed, &new_secret) {
        assert!(!series.contains(&needle), "{what} reached Prometheus");
    }
    let mut daemon = daemon;
    daemon.stop_cleanly().await;
    eprintln!(
        "metrics: the real-Prometheus test took {:.1} s, {:.1} s of it from starting Prometheus",
        started_at.elapsed().as_secs_f64(),
        prometheus_started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_documented_alert_rules_pass_promtool_and_match_the_shipped_file() {
    let path = repo_root().join("deploy/prometheus/wardend-alerts.yml");
    let shipped = std::fs::read_to_string(&path).unwrap();
    let docs = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    // The docs show the file's rules verbatim (from `groups:` on).
    let rules = &shipped[shipped.find("groups:").unwrap()..];
    assert!(
        docs.contains(rules.trim_end()),
        "docs/operations.md does not show deploy/prometheus/wardend-alerts.yml as shipped"
    );
    if let Some(promtool) = prometheus_tool("promtool") {
        let out = Command::new(promtool)
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool check rules: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Kills the process on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_log(env: &Env) -> String {
    std::fs::read_to_string(env.path("prometheus.log")).unwrap_or_default()
}

/// `prometheus` or `promtool`: `WARDEN_PROMETHEUS_BIN`/`WARDEN_PROMTOOL_BIN`, else on PATH,
/// else installed by `scripts/install-prometheus.sh`. Missing: a failure under CI, else
/// `None` (the caller skips, said on stderr).
fn prometheus_tool(name: &str) -> Option<PathBuf> {
    let var = format!("WARDEN_{}_BIN", name.to_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        return Some(PathBuf::from(p));
    }
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    if let Some(p) = on_path() {
        return Some(p);
    }
    let script = repo_root().join("scripts/install-prometheus.sh");
    let installed = Command::new("bash").arg(&script).status();
    if let Some(p) = on_path() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{name} is missing and {} could not install it ({installed:?}); install Debian's prometheus package",
            script.display()
        );
    }
    eprintln!(
        "SKIPPED: {name} is not installed (scripts/install-prometheus.sh failed: {installed:?})"
    );
    None
}
