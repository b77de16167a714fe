//! The risk audit of the real `wardend` against the Jamf simulator and OpenBao: a clean estate
//! has no finding but Warden's own role (suppressed by the built-in suppression); a crafted
//! estate makes every rule fire with the exact privileges as evidence; suppressions from the
//! configuration apply until they expire (then they are reported themselves); the client view
//! keeps one client's privileges and the findings through its roles; the scheduled audit keeps
//! its report and records new and resolved findings once; the real `wardenctl` writes the
//! Markdown, HTML and SARIF reports and exits by `--fail-on` (2 for an unreachable instance).
//! No secret shows up in any report, output, log or state file.
//!
//! Every instance is created without the simulator's built-in "Jamf Reset" app (it holds a wipe
//! privilege), so each estate holds exactly what the test puts there.
//!
//! Not tested here: JW-CAT-001 (unclassified privileges). The simulator refuses any privilege
//! outside its 522-name catalogue (API, admin API and fixtures alike) and the built-in risk
//! catalogue classifies all 522, so no live role can hold an unclassified privilege; the rule
//! is covered by the core unit tests (`every_rule_fires_on_a_crafted_estate`).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::{Duration, SecondsFormat, Utc};
use common::drift::{report_body, stop, with_action};
use common::rotation::{NO_JOBS, error_of, rotate};
use common::{Cfg, Env, PREFIX, send, status, wait_for, wardenctl};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warden_core::audit::{
    AUDIT_SCHEMA, AuditReport, Category, Class, Finding, RULE_PACK_VERSION, RULES, RiskCatalogue,
    Severity, SuppressionState,
};
use warden_core::protocol::{
    AuditRequest, ErrorCode, JobKind, JobOutcome, ReportKind, Request, Response,
};

/// The audit job runs once at start-up (it never ran before), then yearly; rotation and drift
/// are off. Moving `jobs.json` aside before a start makes it run at start again.
const AUDIT_AT_START: &str =
    "jitter = \"0s\"\nrotation = \"off\"\ndrift = \"off\"\naudit = \"@yearly\"";

/// Warden's own management role and client.
const WARDEN: &str = "Jamf Warden";

/// The escalation privileges of Warden's management role, sorted.
const WARDEN_ESCALATION: [&str; 4] = [
    "Create API Integrations",
    "Create API Roles",
    "Update API Integrations",
    "Update API Roles",
];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// OpenBao, the simulator and `names` as instances created without the built-in app, each
/// with Warden's management role and client, its secret marked as rotated by Warden.
async fn start_empty(names: &[&str]) -> Env {
    let mut env = Env::start(&[]).await;
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
fn role_toml<S: AsRef<str>>(name: &str, privileges: &[S]) -> String {
    let list: Vec<&str> = privileges.iter().map(AsRef::as_ref).collect();
    format!("\n[[role]]\nname = \"{name}\"\nprivileges = {list:?}\n")
}

/// A desired client with `extra` lines (e.g. `token_lifetime = 900`) and `rotation` lines.
fn client_toml(name: &str, roles: &[&str], extra: &str, rotation: &str) -> String {
    format!(
        "\n[[client]]\nname = \"{name}\"\nroles = {roles:?}\nowner = \"it@example.com\"\n\
         purpose = \"audit tests\"\n{extra}[client.rotation]\nschedule = \"@yearly\"\n{rotation}"
    )
}

/// The default Vault path (below the prefix) of a declared client.
fn client_path(instance: &str, name: &str) -> String {
    let slug = name.to_lowercase().replace(' ', "-");
    format!("instances/{instance}/clients/{slug}")
}

/// Stores a client's first secret in Vault at its default path, as an operator would.
async fn store_secret(env: &Env, instance: &str, name: &str, client_id: &str, secret: &str) {
    env.bao
        .api(
            reqwest::Method::POST,
            &format!("secret/data/{PREFIX}/{}", client_path(instance, name)),
            Some(json!({"data": {"client_id": client_id, "client_secret": secret}})),
        )
        .await
        .expect("store a client secret in vault");
}

/// Writes the marker the rotation engine leaves after rotating the secret at `path` at `at`.
async fn mark_rotated(env: &Env, path: &str, at: chrono::DateTime<Utc>) {
    let at = at.to_rfc3339_opts(SecondsFormat::Secs, true);
    env.bao
        .api(
            reqwest::Method::POST,
            &format!("secret/metadata/{PREFIX}/{path}"),
            Some(json!({"custom_metadata": {"state": "ok", "rotated_at": at, "version": "1"}})),
        )
        .await
        .expect("mark a secret as rotated");
}

/// `Request::Audit`.
async fn audit_response(
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
        }),
    )
    .await
}

/// `Request::Audit`: the unsuppressed count the response states, and the report.
async fn audit(
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
fn keys(report: &AuditReport, suppressed: bool) -> BTreeSet<(String, String)> {
    report
        .findings()
        .filter(|f| f.suppressed_by.is_some() == suppressed)
        .map(|f| (f.rule.clone(), f.subject.key()))
        .collect()
}

fn key_set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
        .collect()
}

/// The finding of `rule` about `subject` (`role:NAME`, `client:NAME`).
fn finding<'a>(report: &'a AuditReport, rule: &str, subject: &str) -> &'a Finding {
    let hits: Vec<&Finding> = report
        .findings()
        .filter(|f| f.rule == rule && f.subject.key() == subject)
        .collect();
    assert_eq!(hits.len(), 1, "{rule} on {subject}: {hits:#?}");
    hits[0]
}

/// A fact of a finding's evidence.
fn fact(f: &Finding, name: &str) -> Value {
    f.evidence.facts.get(name).cloned().unwrap_or_else(|| {
        panic!(
            "{} on {} has no fact {name}: {f:#?}",
            f.rule,
            f.subject.key()
        )
    })
}

/// SHA-256 (hex) of the sorted privilege names, one per line: the catalogue's evidence.
fn catalogue_sha256(privileges: &[&str]) -> String {
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
fn category_rule(category: Category) -> &'static str {
    match category {
        Category::PrivilegeEscalation => "JW-ESC-001",
        Category::CodeExecution => "JW-EXE-001",
        Category::SecretDisclosure => "JW-SEC-001",
        Category::Destructive => "JW-DST-001",
        Category::Infrastructure => "JW-INF-001",
    }
}

/// The simulator's whole privilege catalogue (what every instance offers).
fn catalogue() -> Vec<&'static str> {
    jamf_sim::privilege_catalogue().to_vec()
}

/// Fails if a secret shows up in `text` (a report or an output held in memory).
fn assert_text_clean(what: &str, text: &str, secrets: &[(&str, String)]) {
    for (kind, secret) in secrets {
        assert!(
            !secret.is_empty() && !text.contains(secret.as_str()),
            "{kind} leaked into {what}"
        );
    }
}

/// The management secret, the Vault root token and every version of every secret Vault holds
/// at `paths` (below the prefix), besides `minted`.
async fn all_secrets(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_estate_has_no_unsuppressed_finding_and_states_its_evidence() {
    let env = start_empty(&["alpha"]).await;
    let inst = env.instance("alpha");
    let sim = &inst.sim;
    let estate = [
        (
            "CMDB Sync",
            "Inventory Read",
            vec!["Read Computers", "Read Mobile Devices"],
        ),
        (
            "Patch Dashboard",
            "Patch Reporting",
            vec!["Read Patch Management Software Titles"],
        ),
    ];
    let mut desired = String::from("version = 1\n");
    let mut minted = Vec::new();
    let mut paths = Vec::new();
    for (client, role, privileges) in &estate {
        sim.create_role(role, privileges).unwrap();
        let (id, client_id) = sim.create_client(client, [role], true, 300).unwrap();
        let secret = sim.mint_secret(id).unwrap();
        store_secret(&env, "alpha", client, &client_id, &secret).await;
        minted.push(secret);
        paths.push(client_path("alpha", client));
        desired.push_str(&role_toml(role, privileges));
        desired.push_str(&client_toml(client, &[role], "", ""));
    }
    let daemon = env.start_declaring(&["alpha"], &desired).await;
    let socket = &daemon.socket;

    // Warden rotates both secrets (the first ones were made by hand).
    for (client, _, _) in &estate {
        let answer = rotate(socket, "alpha", client).await;
        assert!(matches!(answer, Response::Rotated(_)), "{answer:?}");
    }
    for p in &paths {
        assert_eq!(env.vault_versions(p).await.len(), 2, "{p} rotated once");
    }

    let (count, report) = audit(socket, &["alpha"], None, false).await;
    assert_eq!(count, 0, "{report:#?}");
    assert_eq!(report.summary.total(), 0);
    assert_eq!(report.summary.errors, 0);
    assert!(keys(&report, false).is_empty(), "{report:#?}");

    // Only Warden's own role is found, suppressed by the built-in suppression.
    assert_eq!(
        keys(&report, true),
        key_set(&[("JW-ESC-001", "role:Jamf Warden")])
    );
    let own = finding(&report, "JW-ESC-001", "role:Jamf Warden");
    assert_eq!(own.suppressed_by, Some(0));
    assert_eq!(own.severity, Severity::Critical);
    assert_eq!(own.evidence.privileges, strings(&WARDEN_ESCALATION));
    assert_eq!(own.evidence.clients, [WARDEN]);
    assert_eq!(report.summary.suppressed, 1);
    assert_eq!(report.suppressions.len(), 1, "{:#?}", report.suppressions);
    let builtin = &report.suppressions[0];
    assert!(builtin.builtin);
    assert_eq!(builtin.rule, "JW-ESC-001");
    assert_eq!(builtin.instance, "*");
    assert_eq!(builtin.object, "role:Jamf Warden");
    assert_eq!(builtin.state, SuppressionState::Active);
    assert_eq!(builtin.matched, 1);
    assert!(builtin.expires.is_none());

    // The evidence a review needs.
    assert_eq!(report.schema, AUDIT_SCHEMA);
    assert_eq!(report.warden_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(report.rule_pack, RULE_PACK_VERSION);
    assert_eq!(
        report.risk_catalogue,
        RiskCatalogue::builtin().unwrap().version()
    );
    assert_eq!(report.rules.len(), RULES.len());
    assert_eq!(report.settings["max_token_lifetime_seconds"], 1800);
    assert_eq!(report.instances.len(), 1);
    let audited = &report.instances[0];
    assert_eq!(audited.instance, "alpha");
    assert_eq!(audited.url.trim_end_matches('/'), inst.url);
    assert!(audited.error.is_none());
    assert!(audited.checked_at.is_some());
    let offered = catalogue();
    let cat = audited.catalogue.as_ref().expect("catalogue evidence");
    assert_eq!(cat.size, offered.len());
    assert_eq!(cat.size, 522);
    assert_eq!(cat.sha256, catalogue_sha256(&offered));
    assert_eq!((audited.roles, audited.clients), (3, 3));

    // Every client's effective privileges.
    let clients: BTreeMap<&str, _> = audited
        .client_privileges
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    assert_eq!(
        clients.keys().copied().collect::<Vec<_>>(),
        ["CMDB Sync", WARDEN, "Patch Dashboard"]
    );
    let cmdb = clients["CMDB Sync"];
    assert!(cmdb.declared && cmdb.enabled);
    assert_eq!(cmdb.app_type, "CLIENT_CREDENTIALS");
    assert_eq!(cmdb.roles, ["Inventory Read"]);
    assert_eq!(cmdb.privileges, ["Read Computers", "Read Mobile Devices"]);
    assert!(cmdb.by_category.is_empty() && cmdb.unclassified.is_empty());
    assert_eq!(cmdb.token_lifetime, 300);
    let own = clients[WARDEN];
    assert!(!own.declared);
    assert_eq!(own.privileges.len(), 8);
    assert_eq!(
        own.by_category[&Category::PrivilegeEscalation],
        strings(&WARDEN_ESCALATION)
    );

    // An audit now is read-only: nothing recorded.
    assert!(with_action(&env.records(), "audit").is_empty());

    let secrets = all_secrets(&env, "alpha", &paths, &minted).await;
    let body = serde_json::to_string(&report).unwrap();
    assert_text_clean("the audit report", &body, &secrets);
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// The crafted estate: what a test puts in the simulator, the desired state, the secrets.
struct Crafted {
    desired: String,
    minted: Vec<String>,
    paths: Vec<String>,
    /// The broad role's privileges (known, not risky, no `Create`): 300 of 522.
    broad: Vec<String>,
    /// Full CRUD over ten object types.
    many_writes: Vec<String>,
}

/// How a crafted client's secret stands.
#[derive(Clone, Copy, PartialEq)]
enum Secret {
    /// Minted in Jamf and rotated by Warden just now.
    Rotated,
    /// Minted in Jamf and stored in Vault by hand; Warden never rotated it.
    NeverRotated,
    /// Rotated by Warden 90 days ago (its policy allows 30).
    Aged,
    /// Minted in Jamf only (an undeclared client).
    JamfOnly,
    /// No secret (Jamf's `appType` NONE).
    None,
}

/// A crafted role: its name, its live privileges and the privileges the desired state declares
/// (`None`: undeclared).
type RoleSpec = (&'static str, (Vec<String>, Option<Vec<String>>));

/// A crafted client: its name, roles, whether it is enabled, its token lifetime, its secret and
/// whether the desired state declares it.
type ClientSpec = (&'static str, Vec<&'static str>, bool, u32, Secret, bool);

/// Builds the crafted estate on `alpha`: one role or client per rule.
async fn craft(env: &Env) -> Crafted {
    let sim = &env.instance("alpha").sim;
    let risk = RiskCatalogue::builtin().unwrap();
    let all = catalogue();
    let broad: Vec<String> = all
        .iter()
        .filter(|p| risk.class(p) == Class::Known && !p.starts_with("Create "))
        .take(300)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(broad.len(), 300);
    let offered: BTreeSet<&str> = all.iter().copied().collect();
    let types: Vec<&str> = all
        .iter()
        .filter_map(|p| p.strip_prefix("Create "))
        .filter(|t| {
            ["Create", "Read", "Update", "Delete"].iter().all(|v| {
                let p = format!("{v} {t}");
                offered.contains(p.as_str()) && risk.class(&p) == Class::Known
            })
        })
        .take(10)
        .collect();
    assert_eq!(
        types.len(),
        10,
        "ten object types with known CRUD privileges"
    );
    let many_writes: Vec<String> = types
        .iter()
        .flat_map(|t| ["Create", "Read", "Update", "Delete"].map(|v| format!("{v} {t}")))
        .collect();
    let everything: Vec<String> = all.iter().map(|p| p.to_string()).collect();

    let one = |p: &str| vec![p.to_owned()];
    let same = |live: Vec<String>| (live.clone(), Some(live));
    let roles: Vec<RoleSpec> = vec![
        ("Escalator", same(one("Update API Integrations"))),
        ("Deployer", same(one("Create Scripts"))),
        ("Escrow", same(one("View Disk Encryption Recovery Key"))),
        ("Wiper", same(one("Send Computer Remote Wipe Command"))),
        ("Plumber", same(one("Update Webhooks"))),
        ("Broad", same(broad.clone())),
        ("Everything", same(everything)),
        ("Many Writes", same(many_writes.clone())),
        ("Shared Read", same(one("Read Buildings"))),
        ("Multi One", same(one("Read Departments"))),
        ("Multi Two", same(one("Read Sites"))),
        ("Long Token Role", same(one("Read Printers"))),
        ("Idle Role", same(one("Read Classes"))),
        ("Retired Role", same(one("Read Categories"))),
        ("Orphan Role", same(one("Read Buildings"))),
        ("Legacy Read", same(one("Read Computers"))),
        ("Aged Read", same(one("Read Computers"))),
        // Widened in Jamf beyond what the desired state declares.
        (
            "Drifted Read",
            (
                strings(&["Read Computers", "Read Mobile Devices"]),
                Some(one("Read Computers")),
            ),
        ),
        ("Shadow Role", (one("Read Computers"), None)),
    ];
    let mut desired = String::from("version = 1\n");
    for (name, (live, declared)) in &roles {
        sim.create_role(name, live).unwrap();
        if let Some(d) = declared {
            desired.push_str(&role_toml(name, d));
        }
    }

    // Enabled, lifetime 300, declared, its secret rotated by Warden.
    let fine = |name: &'static str, roles: &[&'static str]| -> ClientSpec {
        (name, roles.to_vec(), true, 300, Secret::Rotated, true)
    };
    let clients: Vec<ClientSpec> = vec![
        fine("Escalator Client", &["Escalator"]),
        fine("Deployer Client", &["Deployer"]),
        fine("Escrow Client", &["Escrow"]),
        fine("Wipe Client", &["Wiper"]),
        fine("Plumber Client", &["Plumber"]),
        fine("Broad Client", &["Broad"]),
        fine("Admin Client", &["Everything"]),
        fine("Writer Client", &["Many Writes"]),
        fine("Shared A", &["Shared Read"]),
        fine("Shared B", &["Shared Read"]),
        fine("Multi Client", &["Multi One", "Multi Two"]),
        fine("Drift Client", &["Drifted Read"]),
        (
            "Long Token Client",
            vec!["Long Token Role"],
            true,
            86_400,
            Secret::Rotated,
            true,
        ),
        (
            "No Secret Client",
            vec!["Idle Role"],
            true,
            300,
            Secret::None,
            true,
        ),
        (
            "Retired Client",
            vec!["Retired Role"],
            false,
            300,
            Secret::None,
            true,
        ),
        (
            "Shadow Client",
            vec!["Shadow Role"],
            true,
            300,
            Secret::JamfOnly,
            false,
        ),
        (
            "Legacy Sync",
            vec!["Legacy Read"],
            true,
            300,
            Secret::NeverRotated,
            true,
        ),
        (
            "Aged Client",
            vec!["Aged Read"],
            true,
            300,
            Secret::Aged,
            true,
        ),
    ];
    let mut minted = Vec::new();
    let mut paths = Vec::new();
    for (name, roles, enabled, lifetime, secret, declared) in &clients {
        let (id, client_id) = sim
            .create_client(name, roles.iter().copied(), *enabled, *lifetime)
            .unwrap();
        if !matches!(secret, Secret::None) {
            let s = sim.mint_secret(id).unwrap();
            if *secret != Secret::JamfOnly {
                store_secret(env, "alpha", name, &client_id, &s).await;
                paths.push(client_path("alpha", name));
            }
            minted.push(s);
        }
        let path = client_path("alpha", name);
        match secret {
            Secret::Rotated => mark_rotated(env, &path, Utc::now()).await,
            Secret::Aged => mark_rotated(env, &path, Utc::now() - Duration::days(90)).await,
            _ => {}
        }
        if *declared {
            let mut extra = String::new();
            if !enabled {
                extra.push_str("enabled = false\n");
            }
            if *lifetime != 300 {
                extra.push_str(&format!("token_lifetime = {lifetime}\n"));
            }
            let rotation = if *secret == Secret::Aged {
                "max_age = \"30d\"\n"
            } else {
                ""
            };
            desired.push_str(&client_toml(name, roles, &extra, rotation));
        }
    }
    Crafted {
        desired,
        minted,
        paths,
        broad,
        many_writes,
    }
}

/// Suppressions of the crafted estate: one active that matches, one expired, one active that
/// matches nothing.
const SUPPRESSIONS: &str = "[audit]\nmax_token_lifetime = \"1h\"\n\n\
[[audit.suppression]]\nrule = \"JW-SEC-001\"\ninstance = \"alpha\"\nobject = \"role:Escrow\"\n\
reason = \"the recovery-key escrow integration\"\nowner = \"secops@example.com\"\n\
expires = 2099-12-31\n\n\
[[audit.suppression]]\nrule = \"JW-INF-001\"\ninstance = \"*\"\nobject = \"role:Plumber\"\n\
reason = \"webhook migration\"\nowner = \"ops@example.com\"\nexpires = 2020-01-31\n\n\
[[audit.suppression]]\nrule = \"JW-HYG-007\"\ninstance = \"alpha\"\nobject = \"client:Nobody\"\n\
reason = \"vendor client\"\nowner = \"it@example.com\"\nexpires = \"2099-12-31\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_fires_on_a_crafted_estate_with_suppressions_and_client_views() {
    let env = start_empty(&["alpha"]).await;
    let crafted = craft(&env).await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    cfg.tables = SUPPRESSIONS.into();
    env.write_rotation_config(&cfg, &crafted.desired);
    let daemon = env.start_wardend(None).await;
    let socket = &daemon.socket;

    let (count, report) = audit(socket, &["alpha"], None, false).await;
    assert_eq!(report.summary.errors, 0, "{:?}", report.instances[0].error);
    let expired_subject = "suppression:JW-INF-001 on */role:Plumber";
    let expected = key_set(&[
        ("JW-ESC-001", "role:Escalator"),
        ("JW-ESC-001", "role:Everything"),
        ("JW-EXE-001", "role:Deployer"),
        ("JW-EXE-001", "role:Everything"),
        ("JW-SEC-001", "role:Everything"),
        ("JW-DST-001", "role:Wiper"),
        ("JW-DST-001", "role:Everything"),
        ("JW-INF-001", "role:Plumber"),
        ("JW-INF-001", "role:Everything"),
        ("JW-BRD-001", "role:Broad"),
        ("JW-BRD-001", "client:Broad Client"),
        ("JW-BRD-002", "role:Many Writes"),
        ("JW-BRD-002", "client:Writer Client"),
        ("JW-BRD-002", "role:Everything"),
        ("JW-BRD-002", "client:Admin Client"),
        ("JW-BRD-003", "role:Everything"),
        ("JW-BRD-003", "client:Admin Client"),
        ("JW-HYG-001", "role:Shared Read"),
        ("JW-HYG-002", "client:Multi Client"),
        ("JW-HYG-003", "client:Long Token Client"),
        ("JW-HYG-004", "client:No Secret Client"),
        ("JW-HYG-005", "client:Retired Client"),
        ("JW-HYG-006", "role:Orphan Role"),
        ("JW-HYG-007", "client:Shadow Client"),
        ("JW-HYG-008", "client:Legacy Sync"),
        ("JW-HYG-008", "client:Aged Client"),
        ("JW-HYG-009", "role:Drifted Read"),
        ("JW-SUP-001", expired_subject),
    ]);
    let got = keys(&report, false);
    assert_eq!(
        got,
        expected,
        "missing: {:#?}\nunexpected: {:#?}",
        expected.difference(&got).collect::<Vec<_>>(),
        got.difference(&expected).collect::<Vec<_>>()
    );
    assert_eq!(
        keys(&report, true),
        key_set(&[
            ("JW-ESC-001", "role:Jamf Warden"),
            ("JW-SEC-001", "role:Escrow")
        ])
    );
    // Every rule of the pack fired, but JW-CAT-001 (see the module comment).
    let fired: BTreeSet<&str> = report.findings().map(|f| f.rule.as_str()).collect();
    let not_fired: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !fired.contains(id))
        .collect();
    assert_eq!(not_fired, ["JW-CAT-001"]);
    let s = &report.summary;
    assert_eq!(
        (s.critical, s.high, s.medium, s.low, s.suppressed),
        (4, 8, 11, 5, 2),
        "{s:?}"
    );
    assert_eq!(count, 28);
    // Most severe first.
    let severities: Vec<Severity> = report.instances[0]
        .findings
        .iter()
        .map(|f| f.severity)
        .collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "{severities:?}"
    );

    // The category rules: the exact privileges and who holds the role.
    for (rule, role, privilege, client) in [
        (
            "JW-ESC-001",
            "Escalator",
            "Update API Integrations",
            "Escalator Client",
        ),
        (
            "JW-EXE-001",
            "Deployer",
            "Create Scripts",
            "Deployer Client",
        ),
        (
            "JW-SEC-001",
            "Escrow",
            "View Disk Encryption Recovery Key",
            "Escrow Client",
        ),
        (
            "JW-DST-001",
            "Wiper",
            "Send Computer Remote Wipe Command",
            "Wipe Client",
        ),
        ("JW-INF-001", "Plumber", "Update Webhooks", "Plumber Client"),
    ] {
        let f = finding(&report, rule, &format!("role:{role}"));
        assert_eq!(f.evidence.privileges, [privilege], "{rule}");
        assert_eq!(f.evidence.clients, [client], "{rule}");
        assert_eq!(f.instance, "alpha");
        let info = RULES.iter().find(|r| r.id == rule).unwrap();
        assert_eq!((f.severity, f.title.as_str()), (info.severity, info.title));
        assert!(!f.fix.is_empty() && !f.rationale.is_empty());
    }
    // The near-admin role: each category with every privilege of it.
    let risk = RiskCatalogue::builtin().unwrap();
    for category in Category::ALL {
        let mut expected: Vec<String> = catalogue()
            .into_iter()
            .filter(|p| matches!(risk.class(p), Class::Risky(c, _) if c == category))
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert!(!expected.is_empty());
        let f = finding(&report, category_rule(category), "role:Everything");
        assert_eq!(f.evidence.privileges, expected, "{category:?}");
        assert_eq!(f.evidence.clients, ["Admin Client"]);
    }
    // Breadth, near-admin and CRUD, with their measures.
    let broad = finding(&report, "JW-BRD-001", "role:Broad");
    assert_eq!(fact(broad, "held"), 300);
    assert_eq!(fact(broad, "catalogue"), 522);
    assert_eq!(fact(broad, "threshold_share"), 0.5);
    assert_eq!(broad.evidence.clients, ["Broad Client"]);
    let broad_client = finding(&report, "JW-BRD-001", "client:Broad Client");
    assert_eq!(fact(broad_client, "held"), 300);
    assert_eq!(broad_client.evidence.roles, ["Broad"]);
    for subject in ["role:Everything", "client:Admin Client"] {
        let f = finding(&report, "JW-BRD-003", subject);
        assert_eq!(fact(f, "held"), 522, "{subject}");
        assert_eq!(fact(f, "share"), 1.0, "{subject}");
        assert_eq!(fact(f, "threshold_share"), 0.9, "{subject}");
    }
    for subject in ["role:Many Writes", "client:Writer Client"] {
        let f = finding(&report, "JW-BRD-002", subject);
        assert_eq!(f.evidence.privileges, crafted.many_writes, "{subject}");
        assert_eq!(fact(f, "object_types"), 10);
        assert_eq!(fact(f, "threshold"), 10);
    }
    let everything_crud = finding(&report, "JW-BRD-002", "role:Everything");
    assert!(
        crafted
            .many_writes
            .iter()
            .all(|p| everything_crud.evidence.privileges.contains(p))
    );
    // Hygiene.
    let shared = finding(&report, "JW-HYG-001", "role:Shared Read");
    assert_eq!(shared.evidence.clients, ["Shared A", "Shared B"]);
    let multi = finding(&report, "JW-HYG-002", "client:Multi Client");
    let multi_roles: BTreeSet<&str> = multi.evidence.roles.iter().map(String::as_str).collect();
    assert_eq!(multi_roles, BTreeSet::from(["Multi One", "Multi Two"]));
    let long = finding(&report, "JW-HYG-003", "client:Long Token Client");
    assert_eq!(fact(long, "token_lifetime_seconds"), 86_400);
    assert_eq!(
        fact(long, "threshold_seconds"),
        3600,
        "the configured threshold"
    );
    assert_eq!(report.settings["max_token_lifetime_seconds"], 3600);
    assert_eq!(
        finding(&report, "JW-HYG-004", "client:No Secret Client")
            .evidence
            .roles,
        ["Idle Role"]
    );
    assert_eq!(
        finding(&report, "JW-HYG-005", "client:Retired Client")
            .evidence
            .roles,
        ["Retired Role"]
    );
    assert!(
        finding(&report, "JW-HYG-006", "role:Orphan Role")
            .evidence
            .clients
            .is_empty()
    );
    assert_eq!(
        finding(&report, "JW-HYG-007", "client:Shadow Client")
            .evidence
            .roles,
        ["Shadow Role"]
    );
    let legacy = finding(&report, "JW-HYG-008", "client:Legacy Sync");
    assert_eq!(fact(legacy, "rotated_by_warden"), false);
    let aged = finding(&report, "JW-HYG-008", "client:Aged Client");
    assert_eq!(fact(aged, "age_days"), 90);
    assert_eq!(fact(aged, "max_age_days"), 30);
    let widened = finding(&report, "JW-HYG-009", "role:Drifted Read");
    assert_eq!(widened.evidence.privileges, ["Read Mobile Devices"]);
    assert_eq!(widened.severity, Severity::High);

    // Suppressions: every one listed, the active one applied, the expired one reported.
    let sup = &report.suppressions;
    assert_eq!(sup.len(), 4, "{sup:#?}");
    assert!(sup[0].builtin && sup[0].matched == 1);
    assert_eq!(
        (sup[1].rule.as_str(), sup[1].object.as_str(), sup[1].state),
        ("JW-SEC-001", "role:Escrow", SuppressionState::Active)
    );
    assert_eq!(sup[1].matched, 1);
    assert_eq!(sup[1].owner, "secops@example.com");
    assert_eq!(sup[1].expires.unwrap().to_string(), "2099-12-31");
    assert_eq!(
        (sup[2].rule.as_str(), sup[2].state, sup[2].matched),
        ("JW-INF-001", SuppressionState::Expired, 0)
    );
    assert_eq!(
        (sup[3].rule.as_str(), sup[3].state, sup[3].matched),
        ("JW-HYG-007", SuppressionState::Active, 0)
    );
    let escrow = finding(&report, "JW-SEC-001", "role:Escrow");
    assert_eq!(escrow.suppressed_by, Some(1));
    assert_eq!(
        escrow.evidence.privileges,
        ["View Disk Encryption Recovery Key"]
    );
    assert_eq!(
        finding(&report, "JW-INF-001", "role:Plumber").suppressed_by,
        None,
        "an expired suppression suppresses nothing"
    );
    let expired = finding(&report, "JW-SUP-001", expired_subject);
    assert_eq!(expired.severity, Severity::Medium);
    assert_eq!(fact(expired, "rule"), "JW-INF-001");
    assert_eq!(fact(expired, "object"), "role:Plumber");
    assert_eq!(fact(expired, "owner"), "ops@example.com");
    assert_eq!(fact(expired, "expired"), "2020-01-31");

    // Effective privileges per client.
    let audited = &report.instances[0];
    assert_eq!((audited.roles, audited.clients), (20, 19));
    let cp = |name: &str| {
        audited
            .client_privileges
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no client {name}"))
    };
    assert_eq!(cp("Admin Client").privileges.len(), 522);
    assert_eq!(cp("Broad Client").privileges.len(), crafted.broad.len());
    assert_eq!(
        cp("Multi Client").privileges,
        ["Read Departments", "Read Sites"]
    );
    assert!(!cp("Shadow Client").declared);
    assert!(!cp("Retired Client").enabled);
    assert_eq!(cp("No Secret Client").app_type, "NONE");
    assert_eq!(cp("Long Token Client").token_lifetime, 86_400);

    // The client view: its privileges and the findings through its roles.
    let (count, view) = audit(socket, &["alpha"], Some("Escalator Client"), false).await;
    assert_eq!(count, 1);
    assert_eq!(
        keys(&view, false),
        key_set(&[("JW-ESC-001", "role:Escalator")])
    );
    assert!(keys(&view, true).is_empty());
    let only = &view.instances[0].client_privileges;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].name, "Escalator Client");
    assert_eq!(only[0].privileges, ["Update API Integrations"]);
    assert_eq!(
        only[0].by_category,
        BTreeMap::from([(
            Category::PrivilegeEscalation,
            strings(&["Update API Integrations"])
        )])
    );
    assert_eq!(
        view.suppressions.len(),
        4,
        "the suppressions are still listed"
    );

    let (count, view) = audit(socket, &["alpha"], Some("Multi Client"), false).await;
    assert_eq!(count, 1);
    assert_eq!(
        keys(&view, false),
        key_set(&[("JW-HYG-002", "client:Multi Client")])
    );
    assert_eq!(
        view.instances[0].client_privileges[0].privileges,
        ["Read Departments", "Read Sites"]
    );

    let (count, view) = audit(socket, &["alpha"], Some("Admin Client"), false).await;
    let admin: BTreeSet<(String, String)> = expected
        .iter()
        .filter(|(_, s)| s == "role:Everything" || s == "client:Admin Client")
        .cloned()
        .collect();
    assert_eq!(admin.len(), 9);
    assert_eq!(keys(&view, false), admin);
    assert_eq!(count, 9);

    // A suppressed finding through its role stays suppressed in the view.
    let (count, view) = audit(socket, &["alpha"], Some("Escrow Client"), false).await;
    assert_eq!(count, 0);
    assert_eq!(view.summary.suppressed, 1);
    assert_eq!(keys(&view, true), key_set(&[("JW-SEC-001", "role:Escrow")]));

    // An unknown client, and a client view without exactly one instance.
    let (code, message) =
        error_of(&audit_response(socket, &["alpha"], Some("Nobody"), false).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");
    assert!(message.contains("Nobody"), "{message}");
    let (code, message) =
        error_of(&audit_response(socket, &[], Some("Escalator Client"), false).await);
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    let (code, message) = error_of(&audit_response(socket, &["nowhere"], None, false).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");

    // Audits now record nothing and change nothing.
    assert!(with_action(&env.records(), "audit").is_empty());

    let secrets = all_secrets(&env, "alpha", &crafted.paths, &crafted.minted).await;
    assert_text_clean(
        "the audit report",
        &serde_json::to_string(&report).unwrap(),
        &secrets,
    );
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// Waits until the audit job of every instance has finished a run; fails if one failed.
async fn wait_audit_job_done(socket: &Path) {
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
fn audit_records(env: &Env) -> Vec<Value> {
    env.records()
        .into_iter()
        .filter(|r| r["action"] == "audit")
        .collect()
}

/// `key` of each entry of `after.new` of a record.
fn new_keys(record: &Value) -> BTreeSet<String> {
    record["after"]["new"]
        .as_array()
        .expect("after.new")
        .iter()
        .map(|n| n["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Finding keys (`RULE/instance/kind:name`) of the unsuppressed findings of a report.
fn finding_keys(report: &AuditReport) -> BTreeSet<String> {
    report
        .findings()
        .filter(|f| f.suppressed_by.is_none())
        .map(Finding::key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_audit_keeps_its_report_and_records_new_and_resolved_findings_once() {
    let env = start_empty(&["alpha"]).await;
    let sim = &env.instance("alpha").sim;
    sim.create_role("Shadow Role", ["Read Computers"]).unwrap();
    let (shadow, _) = sim
        .create_client("Shadow Client", ["Shadow Role"], true, 300)
        .unwrap();
    let wiper = sim
        .create_role(
            "Wiper",
            ["Read Computers", "Send Computer Remote Wipe Command"],
        )
        .unwrap();
    let (wipe, _) = sim
        .create_client("Wipe Client", ["Wiper"], true, 300)
        .unwrap();
    let minted = vec![
        sim.mint_secret(shadow).unwrap(),
        sim.mint_secret(wipe).unwrap(),
    ];
    let desired = "version = 1\n";

    // Before the first scheduled audit: "not audited yet", nothing recorded.
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, desired);
    let mut daemon = env.start_wardend(None).await;
    let (_, never) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(never.summary.errors, 1);
    let error = never.instances[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("not audited yet"), "{error}");
    assert!(never.instances[0].findings.is_empty());
    assert!(never.instances[0].checked_at.is_none());
    stop(&mut daemon).await;
    assert!(audit_records(&env).is_empty());

    // The audit job at start: one record listing the findings.
    cfg.schedules = AUDIT_AT_START.into();
    env.write_rotation_config(&cfg, desired);
    let mut daemon = env.start_wardend(None).await;
    wait_audit_job_done(&daemon.socket).await;
    let records = audit_records(&env);
    assert_eq!(records.len(), 1, "{records:#?}");
    let first = &records[0];
    assert_eq!(first["actor"]["kind"], "schedule");
    assert_eq!(first["actor"]["job"], "audit:alpha");
    assert_eq!(first["object"]["kind"], "instance");
    assert_eq!(first["object"]["name"], "alpha");
    assert_eq!(first["instance"], "alpha");
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["after"]["rule_pack"], RULE_PACK_VERSION);
    assert_eq!(first["after"]["resolved"], json!([]));
    let wipe_key = "JW-DST-001/alpha/role:Wiper";
    let initial: BTreeSet<String> = [
        wipe_key,
        "JW-HYG-007/alpha/client:Shadow Client",
        "JW-HYG-007/alpha/client:Wipe Client",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        new_keys(first),
        initial,
        "the suppressed finding is not new"
    );
    let wipe_entry = first["after"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["key"] == wipe_key)
        .unwrap();
    assert_eq!(wipe_entry["rule"], "JW-DST-001");
    assert_eq!(wipe_entry["severity"], "high");
    assert_eq!(
        wipe_entry["title"],
        "Role can wipe, lock or unmanage devices"
    );
    assert_eq!(
        wipe_entry["privileges"],
        json!(["Send Computer Remote Wipe Command"])
    );

    // --last answers the kept audit, with the built-in suppression applied.
    let (count, last) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(count, 3);
    assert_eq!(finding_keys(&last), initial);
    assert_eq!(
        keys(&last, true),
        key_set(&[("JW-ESC-001", "role:Jamf Warden")])
    );
    let first_run = last.instances[0].checked_at.expect("checked at");
    assert_eq!(last.instances[0].catalogue.as_ref().unwrap().size, 522);

    // A restart keeps the report (the job is not due, so it does not run).
    stop(&mut daemon).await;
    let mut daemon = env.start_wardend(None).await;
    let (_, kept) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(kept.instances[0].checked_at, Some(first_run));
    assert_eq!(finding_keys(&kept), initial);

    // The same findings seen again by a new run: no new record.
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    wait_audit_job_done(&daemon.socket).await;
    let (_, again) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_ne!(
        again.instances[0].checked_at,
        Some(first_run),
        "the audit ran again"
    );
    assert_eq!(finding_keys(&again), initial);
    assert_eq!(audit_records(&env).len(), 1);

    // One finding fixed in Jamf: one record with it resolved and nothing new.
    sim.update_role(&wiper, "Wiper", ["Read Computers"])
        .unwrap();
    stop(&mut daemon).await;
    env.forget_job_runs();
    let mut daemon = env.start_wardend(None).await;
    wait_audit_job_done(&daemon.socket).await;
    let records = audit_records(&env);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[1]["after"]["new"], json!([]));
    assert_eq!(records[1]["after"]["resolved"], json!([wipe_key]));
    assert_eq!(records[1]["actor"]["job"], "audit:alpha");
    let (count, fixed) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(count, 2);
    let mut remaining = initial.clone();
    remaining.remove(wipe_key);
    assert_eq!(finding_keys(&fixed), remaining);
    let fixed_at = fixed.instances[0].checked_at;

    // A suppression added to the configuration applies to the kept report at once, without a
    // new audit (the job is not due) and without a record.
    stop(&mut daemon).await;
    cfg.tables = "[[audit.suppression]]\nrule = \"JW-HYG-007\"\ninstance = \"alpha\"\n\
                  object = \"client:Shadow Client\"\nreason = \"being replaced\"\n\
                  owner = \"it@example.com\"\nexpires = 2099-12-31\n"
        .into();
    env.write_rotation_config(&cfg, desired);
    let mut daemon = env.start_wardend(None).await;
    let (count, suppressed) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(suppressed.instances[0].checked_at, fixed_at);
    assert_eq!(count, 1);
    assert_eq!(
        finding(&suppressed, "JW-HYG-007", "client:Shadow Client").suppressed_by,
        Some(1)
    );
    assert_eq!(suppressed.suppressions[1].matched, 1);
    stop(&mut daemon).await;
    assert_eq!(audit_records(&env).len(), 2);

    let secrets = all_secrets(&env, "alpha", &[], &minted).await;
    env.assert_absent_from(&env.daemon_files(), &secrets);
}

/// `wardenctl --socket S ARGS` with a clean environment; its output is kept in `ctl.out` /
/// `ctl.err` for the secret-leak scan.
pub(crate) fn ctl(env: &Env, socket: &Path, args: &[&str]) -> Output {
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
fn code(out: &Output) -> i32 {
    out.status.code().expect("wardenctl exited normally")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wardenctl_writes_the_reports_and_exits_by_severity_and_on_unreachable_instances() {
    let mut env = start_empty(&["alpha"]).await;
    // A second instance whose Jamf is gone: its credentials are in Vault, nothing listens.
    env.sim.try_add_instance("dead", Some(true)).unwrap();
    env.add_instance("dead").await;
    let dead_url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let sim = &env.instance("alpha").sim;
    sim.create_role("Escalator", ["Update API Integrations"])
        .unwrap();
    let (id, _) = sim
        .create_client("Escalator Client", ["Escalator"], true, 300)
        .unwrap();
    let minted = vec![sim.mint_secret(id).unwrap()];

    let mut cfg = Cfg::new(&["alpha", "dead"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, "version = 1\n");
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace(
        &format!("url = \"{}\"", env.instance("dead").url),
        &format!("url = \"{dead_url}\""),
    );
    assert!(text.contains(&dead_url));
    std::fs::write(env.config_path(), text).unwrap();
    let daemon = env.start_wardend(None).await;
    let socket = daemon.socket.clone();
    let alpha_url = env.instance("alpha").url.clone();

    // Markdown to a file: exit 1 (an unsuppressed finding at or above the default, low).
    let md = env.path("audit.md");
    let out = ctl(
        &env,
        &socket,
        &[
            "audit",
            "alpha",
            "--format",
            "markdown",
            "--output",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    assert!(out.stdout.is_empty(), "the report went to the file");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.starts_with("# Jamf Warden audit report\n"),
        "{markdown}"
    );
    for needle in [
        "JW-ESC-001",
        "JW-HYG-007",
        "Escalator Client",
        "Update API Integrations",
        alpha_url.as_str(),
        RULE_PACK_VERSION,
        "522",
    ] {
        assert!(markdown.contains(needle), "{needle} not in {markdown}");
    }

    // HTML: one self-contained file (no script, no external resource).
    let html_path = env.path("audit.html");
    let out = ctl(
        &env,
        &socket,
        &[
            "audit",
            "alpha",
            "--format",
            "html",
            "--output",
            html_path.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<style>"));
    for banned in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the HTML report");
    }
    for needle in ["JW-ESC-001", "Escalator Client", "Update API Integrations"] {
        assert!(html.contains(needle), "{needle} not in the HTML report");
    }

    // SARIF on stdout parses as SARIF 2.1.0 with the findings and the accepted suppression.
    let out = ctl(&env, &socket, &["audit", "alpha", "--format", "sarif"]);
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let esc: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "JW-ESC-001")
        .collect();
    assert_eq!(esc.len(), 2, "the escalator and Warden's own role");
    let escalator = esc
        .iter()
        .find(|r| r["properties"]["subject"] == "Escalator")
        .unwrap();
    assert_eq!(
        escalator["properties"]["privileges"],
        json!(["Update API Integrations"])
    );
    assert!(escalator.get("suppressions").is_none());
    let own = esc
        .iter()
        .find(|r| r["properties"]["subject"] == WARDEN)
        .unwrap();
    assert_eq!(own["suppressions"][0]["status"], "accepted");

    // --fail-on: a critical finding exists (the escalator role).
    let out = ctl(
        &env,
        &socket,
        &[
            "audit",
            "alpha",
            "--format",
            "json",
            "--fail-on",
            "critical",
        ],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let report: AuditReport = serde_json::from_slice(&out.stdout).expect("the JSON report");
    assert_eq!(report.summary.critical, 1);
    assert_eq!(report.summary.medium, 1, "the undeclared client");
    let out = ctl(&env, &socket, &["audit", "alpha", "--fail-on", "never"]);
    assert_eq!(code(&out), 0, "{}", common::text(&out.stderr));
    assert!(common::text(&out.stdout).contains("JW-ESC-001"));

    // The client view.
    let out = ctl(
        &env,
        &socket,
        &["audit", "client", "alpha/Escalator Client"],
    );
    assert_eq!(code(&out), 1, "{}", common::text(&out.stderr));
    let view = common::text(&out.stdout);
    for needle in [
        "Client \"Escalator Client\" on alpha",
        "Effective privileges: 1",
        "Update API Integrations",
        "JW-ESC-001",
        "JW-HYG-007",
    ] {
        assert!(view.contains(needle), "{needle} not in {view}");
    }
    let out = ctl(&env, &socket, &["audit", "client", "alpha/Nobody"]);
    assert_eq!(code(&out), 2);
    assert!(common::text(&out.stderr).contains("Nobody"));

    // --last before any scheduled audit: the instance could not be audited.
    let out = ctl(&env, &socket, &["audit", "alpha", "--last"]);
    assert_eq!(code(&out), 2);
    assert!(
        common::text(&out.stderr).contains("not audited yet"),
        "{}",
        common::text(&out.stderr)
    );

    // Every instance, one unreachable: exit 2, the report still written with both.
    let all = env.path("all.json");
    let out = ctl(
        &env,
        &socket,
        &[
            "audit",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--output",
            all.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 2, "{}", common::text(&out.stderr));
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("could not be audited"), "{stderr}");
    assert!(stderr.contains("dead"), "{stderr}");
    let report: AuditReport =
        serde_json::from_str(&std::fs::read_to_string(&all).unwrap()).unwrap();
    assert_eq!(report.instances.len(), 2);
    assert!(report.instances[0].error.is_none());
    assert!(report.instances[1].error.is_some());
    assert_eq!(report.instances[1].instance, "dead");
    assert_eq!(report.summary.errors, 1);

    let mut secrets = all_secrets(&env, "alpha", &[], &minted).await;
    secrets.extend(env.standing_secrets("dead").await);
    let mut files = env.daemon_files();
    for f in ["audit.md", "audit.html", "all.json", "ctl.out", "ctl.err"] {
        files.push(env.path(f));
    }
    env.assert_absent_from(&files, &secrets);
    drop(daemon);
}
