//! Tests of the report formats, on one realistic report built with `evaluate` and
//! `build_report` at a fixed time: findings of most rules, one finding suppressed by
//! configuration, Warden's own role suppressed by the built-in suppression, an expired
//! suppression (reported as JW-SUP-001), an instance that could not be audited, and names with
//! commas, quotes, a newline, HTML and Markdown special characters and a leading `=`.
//!
//! - JSON is validated against `docs/schemas/warden.audit-1.schema.json`;
//! - SARIF against the SARIF 2.1.0 JSON schema (`crates/core/tests/data/`, see its README);
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
    SecretFacts, Severity, SubjectKind, Suppression, SuppressionState, WARDEN_MANAGEMENT,
    build_report, evaluate,
};
use crate::config::{ClientRotation, DesiredClient, DesiredState, RotationStrategy};
use crate::drift::{CatalogueInfo, DriftReport, Live};
use crate::jamf::{ApiIntegration, ApiRole, AppType};
use crate::schedule::Schedule;

/// A role name with a comma, quotes and a leading `=` (a spreadsheet formula if not defused).
const OLD_ROLE: &str = "=Old, \"Wipe\"";
/// A role name with HTML and Markdown special characters.
const ESCROW_ROLE: &str = "Escrow <b>&</b>";
/// A client name with a newline.
const NIGHTLY: &str = "Deploy\nNightly";

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
        },
        source: PathBuf::new(),
    }
}

const WARDEN_PRIVILEGES: [&str; 8] = [
    "Create API Integrations",
    "Create API Roles",
    "Delete API Integrations",
    "Delete API Roles",
    "Read API Integrations",
    "Read API Roles",
    "Update API Integrations",
    "Update API Roles",
];

/// The live state of `prod`.
fn live() -> Live {
    let mut privileges = strings(&WARDEN_PRIVILEGES);
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
            role("1", WARDEN_MANAGEMENT, &WARDEN_PRIVILEGES),
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
            declared("Deploy CI", &["Deploy"]),
            declared("Inventory Sync", &["Inventory"]),
        ],
    };
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "Inventory Sync".to_owned(),
        SecretFacts {
            rotated_at: Some(now() - Duration::days(10)),
            max_age: Some(Duration::days(90)),
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
    };
    let ctx = ReportContext {
        now: now(),
        warden_version: "0.1.0",
        catalogue: &catalogue,
        settings: &settings,
    };
    build_report(&ctx, vec![prod, staging])
}

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
    assert_eq!(names, ["table", "json", "markdown", "html", "csv", "sarif"]);
    assert_eq!(Format::default(), Format::Table);
    let e = "xml".parse::<Format>().unwrap_err();
    assert_eq!(
        e,
        "unknown report format \"xml\": use table, json, markdown, html, csv or sarif"
    );
}

#[test]
fn json_is_the_report_and_matches_its_schema() {
    let r = report();
    let text = render(&r, Format::Json, true);
    assert!(!text.contains('\x1b'), "colour never applies to JSON");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let schema = validator(&repo_file("../../docs/schemas/warden.audit-1.schema.json"));
    assert_eq!(errors(&schema, &doc), Vec::<String>::new());
    let back: AuditReport = serde_json::from_value(doc.clone()).expect("reads back");
    assert_eq!(back, r);

    // The schema is strict: a wrong enum value, a missing field, an unknown field and a bad
    // suppressed_by are refused.
    let mut bad = doc.clone();
    bad["instances"][0]["findings"][0]["severity"] = "severe".into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad.as_object_mut().map(|o| o.remove("rule_pack"));
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad["summary"]["info"] = 3.into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad["instances"][0]["findings"][0]["suppressed_by"] = (-1).into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc;
    bad["suppressions"][1]["state"] = "lapsed".into();
    assert!(!schema.is_valid(&bad));
}

#[test]
fn sarif_matches_the_sarif_2_1_0_schema() {
    let r = report();
    let text = render(&r, Format::Sarif, false);
    let log: Value = serde_json::from_str(&text).expect("valid JSON");
    let schema = sarif_validator();
    assert_eq!(errors(&schema, &log), Vec::<String>::new());

    // The validator is not vacuous: an unknown level is refused.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema.is_valid(&bad));

    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.ends_with("sarif-schema-2.1.0.json"))
    );
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "Jamf Warden");
    assert_eq!(driver["version"], "0.1.0");
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), r.rules.len());
    let esc = &rules[0];
    assert_eq!(esc["id"], "JW-ESC-001");
    assert_eq!(esc["name"], "RoleCanEscalatePrivileges");
    assert_eq!(esc["defaultConfiguration"]["level"], "error");
    assert_eq!(esc["properties"]["security-severity"], "9.5");
    assert_eq!(esc["fullDescription"]["text"], r.rules[0].rationale);
    assert_eq!(esc["help"]["text"], r.rules[0].fix);

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), r.findings().count());
    for (result, finding) in results.iter().zip(r.findings()) {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], finding.rule);
        assert_eq!(result["ruleId"], finding.rule);
        assert_eq!(
            result["partialFingerprints"]["wardenFindingKey/v1"],
            finding.key()
        );
        let location = &result["locations"][0]["logicalLocations"][0];
        assert_eq!(
            location["fullyQualifiedName"],
            format!("prod/{}", finding.subject.key())
        );
        assert_eq!(location["kind"], "object");
        let text = result["message"]["text"].as_str().expect("message");
        assert!(
            text.contains(&format!("{:?}", finding.subject.name)),
            "{text}"
        );
        for p in &finding.evidence.privileges {
            assert!(text.contains(p.as_str()), "{text} lacks {p}");
        }
        assert_eq!(
            result["suppressions"].is_array(),
            finding.suppressed_by.is_some()
        );
    }

    let wipe = results
        .iter()
        .find(|x| x["ruleId"] == "JW-DST-001")
        .expect("the wipe role's finding");
    assert_eq!(wipe["level"], "error");
    assert_eq!(
        wipe["properties"]["privileges"][0],
        "Send Computer Remote Wipe Command"
    );
    assert!(
        wipe.get("suppressions").is_none(),
        "an expired suppression hides nothing"
    );
    let expired = results
        .iter()
        .find(|x| x["ruleId"] == "JW-SUP-001")
        .expect("the expired suppression's finding");
    assert_eq!(expired["level"], "warning");
    let escrow = results
        .iter()
        .find(|x| x["ruleId"] == "JW-SEC-001")
        .expect("the escrow finding");
    assert_eq!(escrow["suppressions"][0]["kind"], "external");
    assert_eq!(escrow["suppressions"][0]["status"], "accepted");
    assert_eq!(
        escrow["suppressions"][0]["justification"],
        "escrow is this client's purpose, see ticket SEC-42"
    );
    let long_token = results
        .iter()
        .find(|x| x["ruleId"] == "JW-HYG-003")
        .expect("the long token finding");
    assert_eq!(long_token["level"], "warning");
    let unclassified = results
        .iter()
        .find(|x| x["ruleId"] == "JW-CAT-001")
        .expect("the unclassified finding");
    assert_eq!(unclassified["level"], "note");

    let props = &run["properties"];
    assert_eq!(props["generatedAt"], "2026-11-20T09:30:00Z");
    assert_eq!(props["rulePack"], r.rule_pack);
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    assert_eq!(
        props["instances"][0]["catalogue"]["sha256"],
        catalogue.sha256
    );
    assert_eq!(props["instances"][0]["catalogue"]["size"], catalogue.size);
    assert_eq!(props["instances"][0]["url"], "https://prod.example.com");
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = invocation["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .expect("notification");
    assert!(
        note.contains("staging") && note.contains("connection refused"),
        "{note}"
    );
}

#[test]
fn html_is_self_contained_escaped_and_complete() {
    let r = report();
    let text = render(&r, Format::Html, true);
    assert!(text.starts_with("<!DOCTYPE html>\n"));
    assert!(!text.contains('\x1b'));
    let lower = text.to_lowercase();
    for banned in [
        "<script", "src=", "href=", "<link", "<img", "<iframe", "url(", "@import",
    ] {
        assert!(!lower.contains(banned), "the HTML contains {banned}");
    }
    assert!(text.contains("@media print"));

    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "parse errors: {:?}", doc.errors);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    assert_eq!(
        doc.select(&select("[src], [href], script, link")).count(),
        0
    );
    assert_eq!(doc.select(&select("style")).count(), 1);
    // The escrow role's name is text, not markup.
    assert_eq!(doc.select(&select("body b")).count(), 0);
    let body_text: String = doc.select(&select("body")).flat_map(|b| b.text()).collect();
    assert!(body_text.contains(ESCROW_ROLE));
    assert!(body_text.contains(OLD_ROLE));

    // Every unsuppressed finding is an article holding its exact privileges.
    let articles: Vec<_> = doc.select(&select("article.finding")).collect();
    // In report order: instances, then severities, most severe first.
    let shown: Vec<_> = r
        .instances
        .iter()
        .flat_map(super::by_severity)
        .flat_map(|(_, list)| list)
        .collect();
    assert_eq!(shown.len(), r.summary.total());
    assert_eq!(articles.len(), shown.len());
    for (article, finding) in articles.iter().zip(&shown) {
        let items: Vec<String> = article
            .select(&select("dd ul.items li"))
            .map(|li| li.text().collect())
            .collect();
        for p in &finding.evidence.privileges {
            assert!(items.contains(p), "{} lacks {p}", finding.key());
        }
        let text: String = article.text().collect();
        assert!(text.contains(&finding.rule) && text.contains(&finding.fix));
    }
    // The evidence: versions, time, each instance's URL and catalogue.
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    for needle in [
        "2026-11-20T09:30:00Z",
        "0.1.0",
        r.rule_pack.as_str(),
        r.risk_catalogue.as_str(),
        "https://prod.example.com",
        "https://staging.example.com",
        catalogue.sha256.as_str(),
        "not audited: cannot reach Jamf Pro: connection refused",
    ] {
        assert!(body_text.contains(needle), "the HTML lacks {needle}");
    }
    // Every suppression is listed, the built-in and the expired one included.
    let rows: Vec<String> = doc
        .select(&select("#suppressions tbody tr"))
        .map(|tr| tr.text().collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].contains("built-in") && rows[0].contains(WARDEN_MANAGEMENT));
    assert!(rows[2].contains("expired") && rows[2].contains("2026-10-31"));
    // Each client's effective privileges.
    let clients: Vec<String> = doc
        .select(&select("div.client h4"))
        .map(|h| h.text().collect())
        .collect();
    assert_eq!(clients.len(), 5);
    assert!(
        clients.contains(&"Deploy Nightly".to_owned()),
        "{clients:?}"
    );
}

#[test]
fn csv_parses_back_one_row_per_finding() {
    let r = report();
    let text = render(&r, Format::Csv, true);
    assert!(text.ends_with("\r\n"));
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, super::csv::COLUMNS);
    let rows: Vec<::csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every row parses");
    let findings: Vec<_> = r.findings().collect();
    assert_eq!(rows.len(), findings.len());
    for (row, f) in rows.iter().zip(&findings) {
        assert_eq!(row.len(), 13);
        assert_eq!(&row[0], "prod");
        assert_eq!(&row[1], "https://prod.example.com");
        assert_eq!(&row[2], f.rule);
        assert_eq!(&row[3], f.severity.as_str());
        assert_eq!(&row[5], f.subject.kind.as_str());
        assert_eq!(&row[7], f.evidence.privileges.join("; "));
        assert_eq!(
            &row[10],
            if f.suppressed_by.is_some() {
                "true"
            } else {
                "false"
            }
        );
        assert_eq!(&row[12], f.fix);
    }
    // Names with a comma, quotes or a newline come back whole; one starting with `=` is
    // defused for spreadsheets.
    let subject = |rule: &str| -> String {
        rows.iter()
            .find(|row| &row[2] == rule)
            .map(|row| row[6].to_owned())
            .unwrap_or_default()
    };
    assert_eq!(subject("JW-DST-001"), format!("'{OLD_ROLE}"));
    assert_eq!(subject("JW-HYG-002"), NIGHTLY);
    assert_eq!(subject("JW-HYG-003"), "Escrow | Bot");
    let shared = rows
        .iter()
        .find(|row| &row[2] == "JW-HYG-001")
        .expect("the shared role");
    assert_eq!(&shared[8], format!("Deploy CI; {NIGHTLY}"));
    // Suppressed rows say so and why.
    let suppressed: Vec<_> = rows.iter().filter(|row| &row[10] == "true").collect();
    assert_eq!(suppressed.len(), r.summary.suppressed);
    assert!(suppressed.iter().all(|row| !row[11].is_empty()));
    assert!(
        text.contains(",\"'=Old, \"\"Wipe\"\"\","),
        "quoted as RFC 4180 says"
    );
}

#[test]
fn markdown_matches_its_snapshot() {
    let r = report();
    let text = render(&r, Format::Markdown, true);
    let path = repo_file("tests/snapshots/audit.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("write the snapshot");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        text == expected,
        "the Markdown differs from {}; if the change is intended, rerun with UPDATE_SNAPSHOTS=1 \
         and review the diff\n--- rendered ---\n{text}",
        path.display()
    );
    // What a reviewer relies on, checked outright as well.
    assert!(text.contains("| High | 2 |"));
    assert!(text.contains("## Instance prod"));
    assert!(
        text.contains("Escrow \\<b\\>\\&\\</b\\>"),
        "HTML in names is escaped"
    );
    assert!(
        text.contains("Escrow \\| Bot"),
        "pipes in names are escaped"
    );
    assert!(
        text.contains("Deploy Nightly"),
        "newlines in names become spaces"
    );
    assert!(text.contains("\\[\\[audit.classify\\]\\]"));
    assert!(text.contains("- **Privileges (1):** Send Computer Remote Wipe Command"));
    assert!(text.contains("**Not audited:** cannot reach Jamf Pro: connection refused"));
    assert!(text.contains("expired: no longer suppresses, reported as JW-SUP-001"));
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    assert!(text.contains(&format!("`{}`", catalogue.sha256)));
}

#[test]
fn table_fits_100_columns_and_colours_only_when_asked() {
    let r = report();
    let plain = render(&r, Format::Table, false);
    assert!(!plain.contains('\x1b'), "{plain}");
    for line in plain.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
    let mut lines = plain.lines();
    assert_eq!(
        lines.next(),
        Some(
            "0 critical, 2 high, 5 medium, 5 low (12 finding(s)); 2 suppressed; 1 instance(s) not audited"
        )
    );
    assert!(plain.contains("\n  SEVERITY  RULE        SUBJECT"));
    assert!(plain.contains("2 suppressed finding(s) not shown"));
    assert!(plain.contains("  not audited: cannot reach Jamf Pro: connection refused"));
    // A row, then its exact privileges under it.
    let rows: Vec<&str> = plain.lines().collect();
    let wipe = rows
        .iter()
        .position(|l| l.contains("JW-DST-001  role"))
        .expect("the wipe row");
    assert!(
        rows[wipe].starts_with("  high      JW-DST-001  role =Old, \"Wipe\""),
        "{}",
        rows[wipe]
    );
    assert!(rows[wipe].ends_with("Role can wipe, lock or unmanage devices"));
    assert_eq!(
        rows[wipe + 1],
        "            privileges: Send Computer Remote Wipe Command"
    );
    assert!(plain.contains("\n            privileges: Create Policies, Update Scripts\n"));
    // Suppressed findings are counted, not listed.
    assert!(!plain.lines().any(|l| l.contains("JW-SEC-001")));
    // A newline in a name does not break a row.
    assert!(plain.contains("client Deploy Nightly"));

    let colored = render(&r, Format::Table, true);
    assert!(colored.contains("\x1b[31mhigh    \x1b[0m"), "{colored}");
    assert!(colored.contains("\x1b[33mmedium  \x1b[0m"));
    assert!(colored.contains("\x1b[36mlow     \x1b[0m"));
    // Without the escape codes it is the same text.
    let stripped = strip_ansi(&colored);
    assert_eq!(stripped, plain);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
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
