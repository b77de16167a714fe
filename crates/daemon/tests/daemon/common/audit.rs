//! Fixtures of the `audit_*` tests: estates built without the simulator's built-in app, desired
//! roles and clients, secrets stored and marked as rotated the way an operator and Warden would,
//! audit requests with their reports decoded, finding and record filters, `wardenctl` runs and
//! secret-leak scans. The crafted estate (one role or client per rule) is in [`crafted`].

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warden_core::audit::{AuditReport, Category, Finding};
use warden_core::protocol::{AuditRequest, JobKind, JobOutcome, ReportKind, Request, Response};

use super::drift::report_body;
use super::{Env, send, status, wait_for, wardenctl};

pub mod crafted;

/// The audit job runs once at start-up (it never ran before), then yearly; rotation and drift
/// are off. Moving `jobs.json` aside before a start makes it run at start again.
pub const AUDIT_AT_START: &str =
    "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"off\"\naudit = \"@yearly\"";

/// Warden's own management role and client.
pub const WARDEN: &str = "Jamf Warden";

/// The escalation privileges of Warden's management role, sorted.
pub const WARDEN_ESCALATION: [&str; 4] = [
    "Create API Integrations",
    "Create API Roles",
    "Update API Integrations",
    "Update API Roles",
];

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The in-memory secret store, the simulator and `names` as instances created without the
/// built-in app, each with Warden's management role and client, its secret marked as rotated
/// by Warden. Daemons run in-process.
pub async fn start_empty(names: &[&str]) -> Env {
    let mut env = Env::start_memory(&[]).await;
    for name in names {
        env.sim
            .try_add_instance(name, Some(true))
            .expect("create an empty instance");
        env.add_instance(name).await;
        env.mark_management_rotated(name).await;
    }
    env
}

/// A desired role.
pub fn role_toml<S: AsRef<str>>(name: &str, privileges: &[S]) -> String {
    let list: Vec<&str> = privileges.iter().map(AsRef::as_ref).collect();
    format!("\n[[role]]\nname = \"{name}\"\nprivileges = {list:?}\n")
}

/// A desired client with `extra` lines (e.g. `token_lifetime = 900`) and `rotation` lines.
pub fn client_toml(name: &str, roles: &[&str], extra: &str, rotation: &str) -> String {
    format!(
        "\n[[client]]\nname = \"{name}\"\nroles = {roles:?}\nowner = \"it@example.com\"\n\
         purpose = \"audit tests\"\n{extra}[client.rotation]\nschedule = \"@yearly\"\n{rotation}"
    )
}

/// The default Vault path (below the prefix) of a declared client.
pub fn client_path(instance: &str, name: &str) -> String {
    let slug = name.to_lowercase().replace(' ', "-");
    format!("instances/{instance}/clients/{slug}")
}

/// Stores a client's first secret at its default path, as an operator would.
pub async fn store_secret(env: &Env, instance: &str, name: &str, client_id: &str, secret: &str) {
    env.write_secret(&client_path(instance, name), client_id, secret)
        .await;
}

/// Writes the marker the rotation engine leaves after rotating the secret at `path` at `at`.
pub async fn mark_rotated(env: &Env, path: &str, at: chrono::DateTime<Utc>) {
    let at = at.to_rfc3339_opts(SecondsFormat::Secs, true);
    env.write_marker(
        path,
        json!({"state": "ok", "rotated_at": at, "version": "1"}),
    )
    .await;
}

/// `Request::Audit`.
pub async fn audit_response(
    socket: &Path,
    instances: &[&str],
    client: Option<&str>,
    last: bool,
) -> Response {
    send(
        socket,
        Request::Audit(AuditRequest {
            instances: instances.iter().map(|s| s.to_string()).collect(),
            client: client.map(str::to_owned),
            last,
            stream: false,
        }),
    )
    .await
}

/// `Request::Audit`: the unsuppressed count the response states, and the report.
pub async fn audit(
    socket: &Path,
    instances: &[&str],
    client: Option<&str>,
    last: bool,
) -> (u64, AuditReport) {
    let (count, report): (u64, AuditReport) = report_body(
        audit_response(socket, instances, client, last).await,
        ReportKind::Audit,
    );
    assert_eq!(count, report.summary.total() as u64, "the response's count");
    (count, report)
}

/// `(rule, subject key)` of the findings, unsuppressed or suppressed.
pub fn keys(report: &AuditReport, suppressed: bool) -> BTreeSet<(String, String)> {
    report
        .findings()
        .filter(|f| f.suppressed_by.is_some() == suppressed)
        .map(|f| (f.rule.clone(), f.subject.key()))
        .collect()
}

pub fn key_set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
        .collect()
}

/// The finding of `rule` about `subject` (`role:NAME`, `client:NAME`).
pub fn finding<'a>(report: &'a AuditReport, rule: &str, subject: &str) -> &'a Finding {
    let hits: Vec<&Finding> = report
        .findings()
        .filter(|f| f.rule == rule && f.subject.key() == subject)
        .collect();
    assert_eq!(hits.len(), 1, "{rule} on {subject}: {hits:#?}");
    hits[0]
}

/// A fact of a finding's evidence.
pub fn fact(f: &Finding, name: &str) -> Value {
    f.evidence.facts.get(name).cloned().unwrap_or_else(|| {
        panic!(
            "{} on {} has no fact {name}: {f:#?}",
            f.rule,
            f.subject.key()
        )
    })
}

/// SHA-256 (hex) of the sorted privilege names, one per line: the catalogue's evidence.
pub fn catalogue_sha256(privileges: &[&str]) -> String {
    let mut sorted = privileges.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for p in sorted {
        hasher.update(p.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The rule id of findings in `category`.
pub fn category_rule(category: Category) -> &'static str {
    match category {
        Category::PrivilegeEscalation => "JW-ESC-001",
        Category::CodeExecution => "JW-EXE-001",
        Category::SecretDisclosure => "JW-SEC-001",
        Category::Destructive => "JW-DST-001",
        Category::Infrastructure => "JW-INF-001",
    }
}

/// The simulator's whole privilege catalogue (what every instance offers).
pub fn catalogue() -> Vec<&'static str> {
    jamf_sim::privilege_catalogue().to_vec()
}

/// Fails if a secret shows up in `text` (a report or an output held in memory).
pub fn assert_text_clean(what: &str, text: &str, secrets: &[(&str, String)]) {
    for (kind, secret) in secrets {
        assert!(
            !secret.is_empty() && !text.contains(secret.as_str()),
            "{kind} leaked into {what}"
        );
    }
}

/// The management secret, the Vault root token and every version of every secret Vault holds
/// at `paths` (below the prefix), besides `minted`.
pub async fn all_secrets(
    env: &Env,
    instance: &str,
    paths: &[String],
    minted: &[String],
) -> Vec<(&'static str, String)> {
    let mut out = env.standing_secrets(instance).await;
    for p in paths {
        for (_, _, s) in env.vault_versions(p).await {
            out.push(("a client secret in vault", s));
        }
    }
    for s in minted {
        out.push(("a client secret minted in jamf", s.clone()));
    }
    out
}

/// Waits until the audit job of every instance has finished a run; fails if one failed.
pub async fn wait_audit_job_done(socket: &Path) {
    let s = wait_for("the audit job to finish", async || {
        let s = status(socket).await;
        let jobs: Vec<_> = s
            .instances
            .iter()
            .flat_map(|i| &i.jobs)
            .filter(|j| j.kind == JobKind::Audit)
            .collect();
        (!jobs.is_empty() && jobs.iter().all(|j| j.last_run.is_some() && !j.running)).then_some(s)
    })
    .await;
    for i in &s.instances {
        for j in i.jobs.iter().filter(|j| j.kind == JobKind::Audit) {
            assert_eq!(
                j.last_outcome,
                Some(JobOutcome::Ok),
                "audit job of {}: {:?}",
                i.name,
                i.last_error
            );
        }
    }
}

/// The `audit` records of the change log.
pub fn audit_records(env: &Env) -> Vec<Value> {
    env.records()
        .into_iter()
        .filter(|r| r["action"] == "audit")
        .collect()
}

/// `key` of each entry of `after.new` of a record.
pub fn new_keys(record: &Value) -> BTreeSet<String> {
    record["after"]["new"]
        .as_array()
        .expect("after.new")
        .iter()
        .map(|n| n["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Finding keys (`RULE/instance/kind:name`) of the unsuppressed findings of a report.
pub fn finding_keys(report: &AuditReport) -> BTreeSet<String> {
    report
        .findings()
        .filter(|f| f.suppressed_by.is_none())
        .map(Finding::key)
        .collect()
}

/// `wardenctl --socket S ARGS` with a clean environment; its output is kept in `ctl.out` /
/// `ctl.err` for the secret-leak scan.
pub fn ctl(env: &Env, socket: &Path, args: &[&str]) -> Output {
    let out = Command::new(wardenctl())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run wardenctl");
    for (file, bytes) in [("ctl.out", &out.stdout), ("ctl.err", &out.stderr)] {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.path(file))
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }
    out
}

/// The exit status of a `wardenctl` run.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("wardenctl exited normally")
}

/// Fails unless `doc` is valid against the published `warden.access-review/1` schema
/// (`docs/schemas/`), listing every error.
pub fn assert_valid_access_review(doc: &Value) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas/warden.access-review-1.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
}
