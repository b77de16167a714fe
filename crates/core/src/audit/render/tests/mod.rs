//! Tests of the report formats, on one realistic report built with `evaluate` and
//! `build_report` at a fixed time: findings of most rules, one finding suppressed by
//! configuration, Warden's own role suppressed by the built-in suppression, an expired
//! suppression (reported as JW-SUP-001), an instance that could not be audited, and names with
//! commas, quotes, a newline, HTML and Markdown special characters and a leading `=`.
//!
//! - JSON is validated against `docs/schemas/warden.audit-1.schema.json`;
//! - SARIF against the SARIF 2.1.0 JSON schema (`crates/core/tests/data/`, see its README);
//! - OSCAL against NIST's OSCAL 1.1.1 assessment-results JSON schema (the same directory);
//! - HTML is parsed with `scraper`;
//! - CSV is parsed back with the `csv` crate;
//! - Markdown is compared with the snapshot `crates/core/tests/snapshots/audit.md`. After an
//!   intended change of the Markdown output, regenerate it with
//!   `UPDATE_SNAPSHOTS=1 cargo test -p warden-core --lib audit::render` and review the diff.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use super::{Format, render};
use crate::audit::{
    AuditReport, AuditSettings, InstanceAudit, InstanceInput, ReportContext, RiskCatalogue,
    SecretFacts, Severity, SinceLast, SubjectKind, Suppression, SuppressionState, TrendPoint,
    WARDEN_MANAGEMENT, build_report, evaluate,
};
use crate::config::{ClientRotation, DesiredClient, DesiredState, RotationStrategy};
use crate::drift::{CatalogueInfo, DriftReport, Live};
use crate::jamf::{ApiIntegration, ApiRole, AppType};
use crate::management::MANAGEMENT_PRIVILEGES;
use crate::schedule::Schedule;

mod browser;
mod charts;
mod compliance;
mod oscal;
mod review;
mod structured;
mod text;

/// A role name with a comma, quotes and a leading `=` (a spreadsheet formula if not defused).
const OLD_ROLE: &str = "=Old, \"Wipe\"";
/// A role name with HTML and Markdown special characters.
const ESCROW_ROLE: &str = "Escrow <b>&</b>";
/// A client name with a newline.
const NIGHTLY: &str = "Deploy\nNightly";

/// The owner and purpose the desired state declares for `Deploy CI`.
const DEPLOY_OWNER: &str = "ci-team@example.com";
const DEPLOY_PURPOSE: &str = "Deploys policies from CI";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0)
        .single()
        .expect("a valid time")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn role(id: &str, name: &str, privileges: &[&str]) -> ApiRole {
    ApiRole {
        id: id.into(),
        display_name: name.into(),
        privileges: strings(privileges),
    }
}

fn client(id: i64, name: &str, roles: &[&str], lifetime: i64, app_type: AppType) -> ApiIntegration {
    ApiIntegration {
        id,
        authorization_scopes: strings(roles),
        display_name: name.into(),
        enabled: true,
        access_token_lifetime_seconds: Some(lifetime),
        app_type,
        client_id: format!("uuid-{id}"),
    }
}

fn declared(name: &str, roles: &[&str]) -> DesiredClient {
    DesiredClient {
        name: name.into(),
        roles: strings(roles),
        enabled: true,
        token_lifetime: 300,
        owner: "it@example.com".into(),
        purpose: "tests".into(),
        vault_path: Some(format!("clients/{name}")),
        rotation: ClientRotation {
            schedule: Some(Schedule::off()),
            max_age: None,
            strategy: RotationStrategy::Single,
            adopt: crate::config::AdoptPolicy::Hold,
        },
        source: Path::new("").into(),
    }
}

/// The live state of `prod`.
fn live() -> Live {
    let mut privileges = strings(&MANAGEMENT_PRIVILEGES);
    privileges.extend(strings(&[
        "Create Policies",
        "Update Scripts",
        "Read Computers",
        "Read Mobile Devices",
        "View Disk Encryption Recovery Key",
        "Send Computer Remote Wipe Command",
        "Read Buildings",
        "Read Departments",
        "Read Sites",
        "Read Categories",
        "Read Scripts",
        "Read Policies",
        "Read Smart Computer Groups",
        "Read Static Computer Groups",
        "Read Quantum Flux",
    ]));
    // Make the catalogue big enough that no role is "broad".
    privileges.extend((1..=20).map(|i| format!("Read Filler {i:02}")));
    Live {
        roles: vec![
            role("1", WARDEN_MANAGEMENT, &MANAGEMENT_PRIVILEGES),
            role(
                "2",
                "Deploy",
                &[
                    "Create Policies",
                    "Update Scripts",
                    "Read Computers",
                    "Read Quantum Flux",
                ],
            ),
            role(
                "3",
                ESCROW_ROLE,
                &["View Disk Encryption Recovery Key", "Read Computers"],
            ),
            role("4", OLD_ROLE, &["Send Computer Remote Wipe Command"]),
            role("5", "Inventory", &["Read Computers", "Read Mobile Devices"]),
        ],
        clients: vec![
            client(
                1,
                WARDEN_MANAGEMENT,
                &[WARDEN_MANAGEMENT],
                300,
                AppType::ClientCredentials,
            ),
            client(2, "Deploy CI", &["Deploy"], 300, AppType::ClientCredentials),
            client(
                3,
                NIGHTLY,
                &["Deploy", "Inventory"],
                300,
                AppType::ClientCredentials,
            ),
            client(
                4,
                "Escrow | Bot",
                &[ESCROW_ROLE],
                7200,
                AppType::ClientCredentials,
            ),
            client(
                5,
                "Inventory Sync",
                &["Inventory"],
                300,
                AppType::ClientCredentials,
            ),
        ],
        privileges: Arc::new(privileges),
    }
}

fn settings() -> AuditSettings {
    AuditSettings {
        suppressions: vec![
            Suppression {
                rule: "JW-SEC-001".into(),
                instance: "prod".into(),
                object: format!("role:{ESCROW_ROLE}"),
                reason: "escrow is this client's purpose, see ticket SEC-42".into(),
                owner: "secops@example.com".into(),
                expires: NaiveDate::from_ymd_opt(2027, 3, 31).expect("a valid date"),
            },
            Suppression {
                rule: "JW-DST-001".into(),
                instance: "*".into(),
                object: format!("role:{OLD_ROLE}"),
                reason: "kept until the kiosks are decommissioned".into(),
                owner: "it-ops".into(),
                expires: NaiveDate::from_ymd_opt(2026, 10, 31).expect("a valid date"),
            },
        ],
        ..AuditSettings::default()
    }
}

/// The report every test renders: `prod` audited, `staging` unreachable.
fn report() -> AuditReport {
    let catalogue = RiskCatalogue::builtin().expect("the built-in catalogue parses");
    let settings = settings();
    let live = live();
    let desired = DesiredState {
        roles: Vec::new(),
        clients: vec![
            DesiredClient {
                owner: DEPLOY_OWNER.into(),
                purpose: DEPLOY_PURPOSE.into(),
                ..declared("Deploy CI", &["Deploy"])
            },
            declared("Inventory Sync", &["Inventory"]),
        ],
    };
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "Inventory Sync".to_owned(),
        SecretFacts {
            rotated_at: Some(now() - Duration::days(10)),
            max_age: Some(Duration::days(90)),
            adopted: None,
            strategy: "single".into(),
            next_due: Some(now() + Duration::days(80)),
            verified: Some(true),
            error: None,
        },
    );
    secrets.insert(
        "Deploy CI".to_owned(),
        SecretFacts {
            strategy: "alternating".into(),
            ..SecretFacts::default()
        },
    );
    let warden_owned: BTreeSet<String> = [WARDEN_MANAGEMENT.to_owned()].into();
    let drift = DriftReport::default();
    let input = InstanceInput {
        instance: "prod",
        live: &live,
        desired: &desired,
        secrets: &secrets,
        drift: &drift,
        warden_owned: &warden_owned,
        now: now(),
        catalogue_change: None,
    };
    let (findings, client_privileges) = evaluate(&input, &catalogue, &settings);
    let prod = InstanceAudit {
        instance: "prod".into(),
        url: "https://prod.example.com".into(),
        checked_at: Some(now() - Duration::minutes(2)),
        error: None,
        catalogue: Some(CatalogueInfo::of(
            &live.privileges,
            now() - Duration::hours(3),
        )),
        roles: live.roles.len(),
        clients: live.clients.len(),
        findings,
        client_privileges,
        since_last: None,
        trend: Vec::new(),
    };
    let staging = InstanceAudit {
        instance: "staging".into(),
        url: "https://staging.example.com".into(),
        checked_at: None,
        error: Some("cannot reach Jamf Pro: connection refused".into()),
        catalogue: None,
        roles: 0,
        clients: 0,
        findings: Vec::new(),
        client_privileges: Vec::new(),
        since_last: None,
        trend: Vec::new(),
    };
    let ctx = ReportContext {
        now: now(),
        warden_version: "0.1.0",
        catalogue: &catalogue,
        settings: &settings,
    };
    let mut report = build_report(&ctx, vec![prod, staging]);
    // kept by the daemon: what changed since the scheduled audit before, the trend, and (a
    // `--last` report) when the data was gathered
    let prod = &mut report.instances[0];
    prod.since_last = Some(SinceLast {
        since: now() - Duration::days(1),
        new: vec![NEW_KEY.to_owned()],
        resolved: vec![RESOLVED_KEY.to_owned()],
    });
    prod.trend = vec![
        TrendPoint {
            at: now() - Duration::days(2),
            high: 3,
            medium: 4,
            low: 5,
            suppressed: 2,
            ..TrendPoint::default()
        },
        TrendPoint::of(now() - Duration::minutes(2), &report.summary),
    ];
    report.gathered_at = Some(now() - Duration::minutes(2));
    report
}

/// The finding new since the last audit, and one resolved since.
const NEW_KEY: &str = "JW-HYG-007/prod/client:Escrow | Bot";
const RESOLVED_KEY: &str = "JW-HYG-004/prod/client:Gone";

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &Path) -> jsonschema::Validator {
    compile(&read_json(schema), schema)
}

fn compile(schema: &Value, path: &Path) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `language` pattern of the SARIF 2.1.0 schema as published in 2020: its stray `]` is no
/// valid regular expression (ECMA 262 without Annex B), so the draft-07 meta-schema refuses the
/// schema. SARIF 2.1.0 Errata 01 gives the pattern without it.
const SARIF_BROKEN_LANGUAGE: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
const SARIF_ERRATA_LANGUAGE: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}?$";

/// The SARIF 2.1.0 schema with the Errata 01 `language` pattern (the file stays as published).
fn sarif_validator() -> jsonschema::Validator {
    fn fix(value: &mut Value, fixed: &mut usize) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key == "pattern" && v == SARIF_BROKEN_LANGUAGE {
                        *v = SARIF_ERRATA_LANGUAGE.into();
                        *fixed += 1;
                    } else {
                        fix(v, fixed);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| fix(v, fixed)),
            _ => {}
        }
    }
    let path = repo_file("tests/data/sarif-schema-2.1.0.json");
    let mut schema = read_json(&path);
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    let mut fixed = 0;
    fix(&mut schema, &mut fixed);
    assert_eq!(fixed, 2, "toolComponent.language and run.language");
    compile(&schema, &path)
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_fixture_has_what_the_formats_must_show() {
    let r = report();
    let prod = &r.instances[0];
    let rules: BTreeSet<&str> = prod.findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in [
        "JW-ESC-001",
        "JW-EXE-001",
        "JW-SEC-001",
        "JW-DST-001",
        "JW-CAT-001",
        "JW-HYG-001",
        "JW-HYG-002",
        "JW-HYG-003",
        "JW-HYG-006",
        "JW-HYG-007",
        "JW-HYG-008",
        "JW-SUP-001",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
    // Warden's own role (built-in) and the escrow role (configured) are suppressed; the
    // expired suppression no longer hides the wipe role.
    let suppressed: Vec<String> = prod
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_some())
        .map(|f| f.key())
        .collect();
    assert_eq!(
        suppressed,
        vec![
            format!("JW-ESC-001/prod/role:{WARDEN_MANAGEMENT}"),
            format!("JW-SEC-001/prod/role:{ESCROW_ROLE}"),
        ]
    );
    assert_eq!(r.suppressions.len(), 3);
    assert_eq!(r.suppressions[2].state, SuppressionState::Expired);
    assert_eq!(r.summary.suppressed, 2);
    assert_eq!(r.summary.errors, 1);
    assert_eq!(r.summary.critical, 0);
    assert_eq!(r.summary.high, 2, "code execution and the wipe role");
}

#[test]
fn formats_parse_and_print_their_names() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        assert_eq!(f.to_string(), f.as_str());
    }
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "table",
            "json",
            "markdown",
            "html",
            "csv",
            "sarif",
            "review-csv",
            "grc-json",
            "oscal"
        ]
    );
    assert_eq!(Format::default(), Format::Table);
    let e = "xml".parse::<Format>().unwrap_err();
    assert_eq!(
        e,
        "unknown report format \"xml\": use table, json, markdown, html, csv, sarif, review-csv, grc-json or oscal"
    );
}

#[test]
fn severity_counts_agree_across_formats() {
    let r = report();
    let unsuppressed = |sev: Severity| {
        r.findings()
            .filter(|f| f.severity == sev && f.suppressed_by.is_none())
            .count()
    };
    assert_eq!(unsuppressed(Severity::High), r.summary.high);
    let sarif: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("valid JSON");
    let errors_unsuppressed = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| x["level"] == "error" && x.get("suppressions").is_none())
        .count();
    assert_eq!(errors_unsuppressed, r.summary.critical + r.summary.high);
    let expired = r
        .findings()
        .find(|f| f.rule == "JW-SUP-001")
        .expect("expired suppression finding");
    assert_eq!(expired.subject.kind, SubjectKind::Suppression);
}
