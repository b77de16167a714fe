//! Alerts and the change log off the host, in-process on the memory store with local receivers
//! the test starts: a webhook receiver (axum) that checks nothing itself, and bound Unix
//! datagram sockets standing in for journald and syslog.
//!
//! - drift appeared, changed and resolved, and new audit findings, each arrive once at a webhook, signed
//!   with the shared secret (HMAC-SHA256 over the body, whose `delivery.sent_at` is the
//!   timestamp header); a sink with `min_severity = "high"` gets only findings at or above it;
//!   an `exec` sink gets the event JSON on stdin;
//! - every change-log record reaches journald (structured fields) and syslog (RFC 5424) and a
//!   webhook listing `changelog`, with the hash the local change log holds;
//! - a receiver that is down and then up gets the retried delivery; one that hangs does not
//!   hold up the drift job (its request is open and unanswered when the job has finished);
//! - out-of-band refusals and failed rotations alert once each;
//! - no secret of the test shows in any payload, datagram or log.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::drift::{DRIFT_AT_START, stop};
use common::rotation::{JOB_AT_START, ROLE, desired_toml};
use common::{Cfg, Env, wait_for};
use jamf_sim::FaultRule;
use serde_json::Value;
use warden_core::notify::verify_signature;

/// The shared HMAC key of the webhook sinks (a secret: it must never be delivered or logged).
const HMAC_KEY: &str = "alerts-test-hmac-key-5f1c0d2e";

/// `(path, headers, body)` of one answered request.
type Hit = (String, HeaderMap, Vec<u8>);

/// What a receiver got.
#[derive(Clone, Default)]
struct Receiver {
    /// `(path, headers, body)` of every answered request.
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Requests that arrived (answered or not).
    started: Arc<AtomicUsize>,
    hang: bool,
}

impl Receiver {
    /// Serves on `listener`; with `hang`, every request is left unanswered.
    fn serve(listener: tokio::net::TcpListener, hang: bool) -> Receiver {
        let rx = Receiver {
            hang,
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .route("/{path}", axum::routing::post(receive))
            .with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        rx
    }

    /// The events delivered to `path`, parsed, in arrival order.
    fn events(&self, path: &str) -> Vec<Value> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, _, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }

    /// The kinds of the events delivered to `path`, `changelog` left out.
    fn kinds(&self, path: &str) -> Vec<String> {
        self.events(path)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .filter(|k| k != "changelog")
            .collect()
    }

    fn bytes(&self) -> Vec<u8> {
        let hits = self.hits.lock().unwrap();
        let mut all = Vec::new();
        for (_, headers, body) in hits.iter() {
            all.extend_from_slice(format!("{headers:?}").as_bytes());
            all.extend_from_slice(body);
        }
        all
    }
}

async fn receive(
    State(rx): State<Receiver>,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    rx.started.fetch_add(1, Ordering::SeqCst);
    if rx.hang {
        std::future::pending::<()>().await;
    }
    rx.hits.lock().unwrap().push((path, headers, body.to_vec()));
    StatusCode::NO_CONTENT
}

async fn listen() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// A bound datagram socket collecting what arrives.
fn datagrams(path: &Path) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let socket = tokio::net::UnixDatagram::bind(path).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&got);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(n) = socket.recv(&mut buf).await {
            out.lock().unwrap().push(buf[..n].to_vec());
        }
    });
    got
}

/// The fields of a journald native datagram (binary-safe values decoded).
fn journal_fields(datagram: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let nl = rest.iter().position(|b| *b == b'\n').unwrap();
        let line = &rest[..nl];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            let key = String::from_utf8(line[..eq].to_vec()).unwrap();
            fields.insert(key, String::from_utf8(line[eq + 1..].to_vec()).unwrap());
            rest = &rest[nl + 1..];
        } else {
            let key = String::from_utf8(line.to_vec()).unwrap();
            let len = u64::from_le_bytes(rest[nl + 1..nl + 9].try_into().unwrap()) as usize;
            let value = &rest[nl + 9..nl + 9 + len];
            fields.insert(key, String::from_utf8(value.to_vec()).unwrap());
            rest = &rest[nl + 9 + len + 1..];
        }
    }
    fields
}

/// A webhook sink's table.
fn webhook(name: &str, url: &str, key_file: &Path, extra: &str) -> String {
    format!(
        "[[notify]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
         secret_file = \"{}\"\nretry_delay = \"100ms\"\nmax_retry_delay = \"500ms\"\n{extra}\n",
        key_file.display()
    )
}

fn key_file(env: &Env) -> PathBuf {
    let path = env.path("hmac-key");
    common::write_private(&path, format!("{HMAC_KEY}\n").as_bytes());
    path
}

/// Every delivery to `rx` carries a valid signature and a timestamp equal to the signed
/// `delivery.sent_at`.
fn assert_signed(rx: &Receiver) {
    let hits = rx.hits.lock().unwrap();
    assert!(!hits.is_empty());
    for (_, headers, body) in hits.iter() {
        let sig = headers["x-warden-signature"].to_str().unwrap();
        assert!(
            verify_signature(HMAC_KEY.as_bytes(), body, sig),
            "bad signature"
        );
        assert!(!verify_signature(b"another key", body, sig));
        let event: Value = serde_json::from_slice(body).unwrap();
        let ts: i64 = headers["x-warden-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(event["delivery"]["sent_at"], ts);
        assert_eq!(event["schema"], "warden.event/1");
        assert_eq!(headers["x-warden-event"], event["kind"].as_str().unwrap());
    }
}

fn assert_clean(what: &str, bytes: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(bytes);
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret leaked into {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_once_signed_and_every_record_goes_off_host_with_its_hash() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    // drift: the declared role has a privilege too many; audit: an undeclared wiping role
    let role_id = sim
        .create_role(ROLE, ["Read Computers", "Read Mobile Devices"])
        .unwrap();
    let wiper = sim
        .create_role("Wiper", ["Send Computer Remote Wipe Command"])
        .unwrap();
    let (wipe, _) = sim
        .create_client("Wipe Client", ["Wiper"], true, 300)
        .unwrap();
    let minted = sim.mint_secret(wipe).unwrap();
    let desired =
        format!("version = 1\n\n[[role]]\nname = \"{ROLE}\"\nprivileges = [\"Read Computers\"]\n");

    let listener = listen().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let rx = Receiver::serve(listener, false);
    let journal = datagrams(&env.path("journal.sock"));
    let syslog = datagrams(&env.path("syslog.sock"));
    let exec_out = env.path("exec.jsonl");
    let key = key_file(&env);
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules =
        "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"@yearly\"\naudit = \"@yearly\"".into();
    let all: Vec<String> = warden_core::notify::EventKind::ALL
        .iter()
        .map(|k| format!("\"{}\"", k.as_str()))
        .collect();
    cfg.tables = [
        webhook("all", &format!("{base}/all"), &key, &format!("events = [{}]", all.join(", "))),
        webhook(
            "high",
            &format!("{base}/high"),
            &key,
            "events = [\"audit_finding\"]\nmin_severity = \"high\"",
        ),
        format!(
            "[[notify]]\nname = \"run\"\nkind = \"exec\"\ncommand = [\"/usr/bin/tee\", \"-a\", \"{}\"]\n\
             events = [\"drift_appeared\", \"drift_resolved\"]\ninstances = [\"alpha\"]\n",
            exec_out.display()
        ),
        format!(
            "[changelog_forward]\njournald_socket = \"{}\"\nsyslog = \"unix:{}\"\n",
            env.path("journal.sock").display(),
            env.path("syslog.sock").display()
        ),
    ]
    .concat();
    env.write_rotation_config(&cfg, &desired);
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    common::audit::wait_audit_job_done(&daemon.socket).await;
    wait_for("drift and audit alerts", async || {
        let k = rx.kinds("all");
        (k.contains(&"drift_appeared".into()) && k.contains(&"audit_finding".into())).then_some(())
    })
    .await;

    // other drift: an unmanaged client appears
    let (old, _) = sim.create_client("Old Jenkins", [ROLE], true, 300).unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    common::audit::wait_audit_job_done(&daemon.socket).await;

    // fixed in Jamf: the drift resolves (and the wiping role's finding with it)
    sim.delete_client(old).unwrap();
    sim.update_role(&role_id, ROLE, ["Read Computers"]).unwrap();
    sim.delete_client(wipe).unwrap();
    sim.delete_role(&wiper).unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    env.wait_drift_job_done(&daemon.socket).await;
    common::audit::wait_audit_job_done(&daemon.socket).await;
    // what `wardenctl log` shows
    let shown = common::audit::ctl(
        &env,
        &daemon.socket,
        &["--json", "log", "tail", "-n", "1000"],
    );
    assert!(shown.status.success(), "{}", common::text(&shown.stderr));
    let shown: BTreeMap<u64, String> = serde_json::Deserializer::from_slice(&shown.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    stop(&mut daemon).await;

    // every record of the local change log arrives everywhere, with its hash
    let records = env.records();
    let by_seq: BTreeMap<u64, String> = records
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    wait_for(
        "every record at journald, syslog and the webhook",
        async || {
            let j = journal.lock().unwrap().len();
            let s = syslog.lock().unwrap().len();
            let w = rx
                .events("all")
                .iter()
                .filter(|e| e["kind"] == "changelog")
                .count();
            (j == records.len() && s == records.len() && w == records.len()).then_some(())
        },
    )
    .await;
    for datagram in journal.lock().unwrap().iter() {
        let f = journal_fields(datagram);
        let seq: u64 = f["WARDEN_SEQ"].parse().unwrap();
        assert_eq!(
            f["WARDEN_RECORD_HASH"], by_seq[&seq],
            "journald record {seq}"
        );
        assert_eq!(f["SYSLOG_IDENTIFIER"], "wardend");
        assert!(!f["WARDEN_ACTION"].is_empty() && !f["WARDEN_OUTCOME"].is_empty());
        let record: Value = serde_json::from_str(&f["WARDEN_RECORD"]).unwrap();
        assert_eq!(record["hash"], by_seq[&seq].as_str());
        if f["WARDEN_ACTION"] == "drift" {
            assert_eq!(f["WARDEN_INSTANCE"], "alpha");
            assert_eq!(f["WARDEN_OBJECT"], "instance:alpha");
        }
    }
    for datagram in syslog.lock().unwrap().iter() {
        let text = String::from_utf8(datagram.clone()).unwrap();
        assert!(
            text.starts_with("<29>1 ") || text.starts_with("<28>1 "),
            "{text}"
        );
        assert!(text.contains("[warden@32473 seq=\""), "{text}");
        let seq: u64 = text
            .split("seq=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            text.contains(&format!("record_hash=\"{}\"", by_seq[&seq])),
            "{text}"
        );
    }
    for e in rx.events("all").iter().filter(|e| e["kind"] == "changelog") {
        let seq = e["details"]["seq"].as_u64().unwrap();
        assert_eq!(e["details"]["hash"], by_seq[&seq].as_str());
    }
    // `wardenctl log` showed the same hashes as the file for every record it listed
    assert!(!shown.is_empty());
    for (seq, hash) in &shown {
        assert_eq!(&by_seq[seq], hash, "record {seq}");
    }

    // each event once, signed
    let kinds = rx.kinds("all");
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(count("drift_appeared"), 1, "{kinds:?}");
    assert_eq!(count("drift_resolved"), 1, "{kinds:?}");
    assert_eq!(count("drift_changed"), 1, "{kinds:?}");
    let drift_order: Vec<&String> = kinds.iter().filter(|k| k.starts_with("drift_")).collect();
    assert_eq!(
        drift_order,
        ["drift_appeared", "drift_changed", "drift_resolved"]
    );
    let findings: Vec<Value> = rx
        .events("all")
        .into_iter()
        .filter(|e| e["kind"] == "audit_finding")
        .collect();
    let keys: Vec<&str> = findings
        .iter()
        .map(|e| e["details"]["key"].as_str().unwrap())
        .collect();
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(
        keys.len(),
        unique.len(),
        "a finding alerted twice: {keys:?}"
    );
    assert!(keys.contains(&"JW-DST-001/alpha/role:Wiper"), "{keys:?}");
    let ids: std::collections::BTreeSet<String> = rx
        .events("all")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), rx.events("all").len(), "event ids are unique");
    assert_signed(&rx);
    // only findings at or above `high` on the filtered sink
    let high = rx.events("high");
    assert!(!high.is_empty());
    for e in &high {
        assert_eq!(e["kind"], "audit_finding");
        assert!(
            ["high", "critical"].contains(&e["severity"].as_str().unwrap()),
            "{e}"
        );
    }
    assert!(findings.len() >= high.len());

    // the command got the event JSON on stdin, once per event
    let text = std::fs::read_to_string(&exec_out).unwrap();
    let got: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    let exec_kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(exec_kinds, ["drift_appeared", "drift_resolved"]);
    assert_eq!(got[0]["instance"], "alpha");

    // no secret anywhere
    let mut secrets = vec![HMAC_KEY.to_owned(), minted];
    secrets.extend(env.instances.iter().map(|i| i.client_secret.clone()));
    assert_clean("a webhook delivery", &rx.bytes(), &secrets);
    assert_clean("the exec sink's input", text.as_bytes(), &secrets);
    for d in journal
        .lock()
        .unwrap()
        .iter()
        .chain(syslog.lock().unwrap().iter())
    {
        assert_clean("a journald or syslog datagram", d, &secrets);
    }
    if let Some(log) = env.in_process_log_copy() {
        assert_clean("the log", &std::fs::read(log).unwrap(), &secrets);
    }
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_gets_the_retry_and_a_hanging_one_delays_no_job() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let sim = &env.instance("alpha").sim;
    sim.create_role(ROLE, ["Read Computers", "Read Mobile Devices"])
        .unwrap();
    let desired =
        format!("version = 1\n\n[[role]]\nname = \"{ROLE}\"\nprivileges = [\"Read Computers\"]\n");

    // down: a port nobody listens on (yet)
    let reserved = listen().await;
    let down_addr = reserved.local_addr().unwrap();
    drop(reserved);
    let stuck_listener = listen().await;
    let stuck_url = format!("http://{}/stuck", stuck_listener.local_addr().unwrap());
    let stuck = Receiver::serve(stuck_listener, true);
    let key = key_file(&env);
    let late = format!("late-{}", down_addr.port());
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = DRIFT_AT_START.into();
    cfg.tables = [
        webhook(
            &late,
            &format!("http://{down_addr}/late"),
            &key,
            "max_attempts = 100",
        ),
        webhook("stuck", &stuck_url, &key, "timeout = \"600s\""),
    ]
    .concat();
    env.write_rotation_config(&cfg, &desired);
    let mut daemon = env.start_wardend(None).await;

    // the drift job finishes while the hanging receiver holds its request unanswered
    env.wait_drift_job_done(&daemon.socket).await;
    let drift = env
        .records()
        .into_iter()
        .filter(|r| r["action"] == "drift")
        .count();
    assert_eq!(drift, 1, "the job recorded its drift");
    wait_for("the hanging receiver to get the request", async || {
        (stuck.started.load(Ordering::SeqCst) >= 1).then_some(())
    })
    .await;
    assert!(
        stuck.hits.lock().unwrap().is_empty(),
        "the stuck receiver never answered"
    );
    // a second job, a drift check now, is not held up either
    let now = common::drift::drift_of(&daemon.socket, "alpha", true).await;
    assert!(now.error.is_none(), "{now:?}");

    // the dead receiver's failures are logged (without the URL's path) and retried...
    wait_for("a logged delivery failure", async || {
        let log = std::fs::read_to_string(common::in_process_log()).unwrap_or_default();
        log.lines()
            .find(|l| l.contains("notification delivery failed") && l.contains(&late))
            .map(str::to_owned)
    })
    .await;
    let log = std::fs::read_to_string(common::in_process_log()).unwrap();
    assert!(
        !log.lines()
            .any(|l| l.contains(&late) && l.contains("/late")),
        "the webhook URL's path was logged"
    );
    // ...until it is up
    let up = tokio::net::TcpListener::bind(down_addr).await.unwrap();
    let late_rx = Receiver::serve(up, false);
    let delivered = wait_for("the retried delivery", async || {
        let e = late_rx.events("late");
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["kind"], "drift_appeared");
    assert!(delivered[0]["delivery"]["attempt"].as_u64().unwrap() >= 2);
    assert_signed(&late_rx);
    stop(&mut daemon).await;
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_and_a_failed_rotation_alert_once_each() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let refused = env.add_managed_client("alpha", "Inventory Sync").await;
    let failing = env.add_managed_client("alpha", "Patch Bot").await;
    let sim = &env.instance("alpha").sim;
    // rotated in the Jamf console: Vault's secret no longer works, the rotation is refused
    let console = sim.mint_secret(refused.id).unwrap();
    // the other client's mint fails once
    sim.set_faults([FaultRule::fail_next(
        "POST /api/v1/api-integrations/{id}/client-credentials",
        1,
        400,
    )])
    .unwrap();

    let listener = listen().await;
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let rx = Receiver::serve(listener, false);
    let key = key_file(&env);
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = JOB_AT_START.into();
    cfg.tables = webhook(
        "hook",
        &url,
        &key,
        "events = [\"rotation_failed\", \"rotation_refused\"]",
    );
    env.write_rotation_config(&cfg, &desired_toml(&["Inventory Sync", "Patch Bot"], ""));
    let mut daemon = env.start_wardend(None).await;
    env.wait_rotation_job_done(&daemon.socket).await;
    let events = wait_for("both rotation alerts", async || {
        let e = rx.events("hook");
        (e.len() >= 2).then_some(e)
    })
    .await;
    stop(&mut daemon).await;
    let mut kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["details"]["client"].as_str().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("rotation_failed", "Patch Bot"),
            ("rotation_refused", "Inventory Sync")
        ],
        "{events:?}"
    );
    for e in &events {
        assert_eq!(e["instance"], "alpha");
        assert_eq!(e["severity"], "high");
    }
    assert_signed(&rx);
    let secrets = vec![
        HMAC_KEY.to_owned(),
        console,
        refused.initial_secret.clone(),
        failing.initial_secret.clone(),
        refused.client_id.clone(),
        failing.client_id.clone(),
    ];
    assert_clean("a webhook delivery", &rx.bytes(), &secrets);
    env.assert_no_secret_leaks();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_instance_alerts_once_then_its_recovery_and_a_broken_log_alerts() {
    use chrono::TimeDelta;
    use warden_core::protocol::{JobOutcome, Request};
    use warden_core::schedule::BackoffPolicy;

    let env = Env::start_memory(&["bad"]).await;
    // bad's management secret in Vault is wrong: every job fails at the token request
    let inst = env.instance("bad");
    let (client_id, secret) = (inst.client_id.clone(), inst.client_secret.clone());
    env.store_credentials("bad", &client_id, "not-the-secret")
        .await;

    let listener = listen().await;
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let rx = Receiver::serve(listener, false);
    let key = key_file(&env);
    let mut cfg = Cfg::new(&["bad"]);
    cfg.schedules =
        "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"* * * * *\"\naudit = \"off\"".into();
    cfg.tables = webhook(
        "hook",
        &url,
        &key,
        "events = [\"instance_parked\", \"instance_recovered\", \"changelog_verify_failed\"]",
    );
    env.write_config(&cfg);
    let mut now: chrono::DateTime<chrono::Utc> = "2030-01-10T12:00:00Z".parse().unwrap();
    let clock = common::TestClock::at(now);
    let options = warden_daemon::RunOptions {
        clock: clock.clock(),
        max_tick: std::time::Duration::from_millis(200),
        ..warden_daemon::RunOptions::default()
    };
    let daemon = env.run_in_process(&cfg, options).await;
    let socket = env.socket();
    let round = async |now| {
        wait_for(&format!("the drift job to run at {now}"), async || {
            let s = common::status(&socket).await;
            let job = s.instances[0]
                .jobs
                .iter()
                .find(|j| j.last_run == Some(now) && !j.running)?;
            Some((s.instances[0].parked, job.last_outcome))
        })
        .await
    };
    let policy = BackoffPolicy::default();
    for failures in 1..=6u32 {
        let (parked, outcome) = round(now).await;
        assert_eq!(outcome, Some(JobOutcome::Failed));
        assert_eq!(parked, failures >= 5, "round {failures}");
        now += TimeDelta::from_std(policy.delay(failures)).unwrap();
        clock.set(now);
    }
    // fixed: the next run succeeds
    env.store_credentials("bad", &client_id, &secret).await;
    let (parked, outcome) = round(now).await;
    assert_eq!((parked, outcome), (false, Some(JobOutcome::Ok)));
    let events = wait_for("the parked and recovered alerts", async || {
        let k = rx.kinds("hook");
        (k.len() >= 2).then_some(k)
    })
    .await;
    assert_eq!(events, ["instance_parked", "instance_recovered"]);
    let parked = &rx.events("hook")[0];
    assert_eq!(parked["instance"], "bad");
    assert_eq!(parked["details"]["job"], "drift");
    assert_eq!(parked["severity"], "high");

    // someone edits the change log: `log verify` fails and alerts
    let log = env.changelog();
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replacen("\"outcome\":\"ok\"", "\"outcome\":\"failed\"", 1),
    )
    .unwrap();
    let report = common::send(&socket, Request::LogVerify).await;
    assert!(
        format!("{report:?}").contains("problem: Some"),
        "{report:?}"
    );
    wait_for("the verify alert", async || {
        rx.kinds("hook")
            .contains(&"changelog_verify_failed".to_owned())
            .then_some(())
    })
    .await;
    let verify = rx
        .events("hook")
        .into_iter()
        .find(|e| e["kind"] == "changelog_verify_failed")
        .unwrap();
    assert_eq!(verify["severity"], "critical");
    assert_eq!(rx.kinds("hook").len(), 3);
    assert_signed(&rx);
    let secrets = [HMAC_KEY.to_owned(), secret];
    assert_clean("a webhook delivery", &rx.bytes(), &secrets);
    daemon.stop().await.expect("run() stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_sink_changes_and_refuses_a_sink_without_its_secret() {
    use warden_core::protocol::{Request, Response};

    let env = Env::start_memory(&["alpha"]).await;
    let listener = listen().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let rx = Receiver::serve(listener, false);
    let key = key_file(&env);
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = common::rotation::NO_JOBS.into();
    cfg.tables = webhook("a", &format!("{base}/a"), &key, "events = [\"changelog\"]");
    env.write_config(&cfg);
    let daemon = env
        .run_in_process(&cfg, warden_daemon::RunOptions::default())
        .await;
    let socket = env.socket();
    let actions = |path: &str| -> Vec<String> {
        rx.events(path)
            .iter()
            .map(|e| e["details"]["action"].as_str().unwrap().to_owned())
            .collect()
    };
    wait_for("the start record at a", async || {
        (actions("a") == ["start"]).then_some(())
    })
    .await;

    // sink a replaced by sink b: the reload's own record still goes to a, the next to b
    cfg.tables = webhook("b", &format!("{base}/b"), &key, "events = [\"changelog\"]");
    env.write_config(&cfg);
    let answer = common::send(&socket, Request::Reload).await;
    assert!(matches!(answer, Response::Reloaded { .. }), "{answer:?}");
    assert!(
        format!("{answer:?}").contains("notification sinks"),
        "{answer:?}"
    );
    let answer = common::send(&socket, Request::Reload).await;
    assert!(matches!(answer, Response::Reloaded { .. }), "{answer:?}");
    wait_for("the second reload record at b", async || {
        (actions("b") == ["reload"]).then_some(())
    })
    .await;
    wait_for("the first reload record at a", async || {
        (actions("a") == ["start", "reload"]).then_some(())
    })
    .await;

    // a sink whose secret file is missing: refused, b stays in force
    cfg.tables = webhook(
        "c",
        &format!("{base}/c"),
        &env.path("no-such-key"),
        "events = [\"changelog\"]",
    );
    env.write_config(&cfg);
    let answer = common::send(&socket, Request::Reload).await;
    let text = format!("{answer:?}");
    assert!(
        text.contains("notify sink c") && text.contains("no-such-key"),
        "{text}"
    );
    wait_for("the refused reload's record at b", async || {
        (actions("b") == ["reload", "reload"]).then_some(())
    })
    .await;
    assert!(rx.events("c").is_empty());
    daemon.stop().await.expect("run() stopped cleanly");
}
