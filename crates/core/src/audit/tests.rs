//! Tests of the rule pack and report building: every rule fires on a crafted estate and the
//! clean estate has no finding; suppressions, their expiry and the built-in one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use super::*;
use crate::config::{ClientRotation, DesiredClient, DesiredRole, DesiredState, RotationStrategy};
use crate::drift::{self, Live};
use crate::jamf::{ApiIntegration, ApiRole, AppType};
use crate::schedule::Schedule;

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

fn client(id: i64, name: &str, roles: &[&str]) -> ApiIntegration {
    ApiIntegration {
        id,
        authorization_scopes: strings(roles),
        display_name: name.into(),
        enabled: true,
        access_token_lifetime_seconds: Some(300),
        app_type: AppType::ClientCredentials,
        client_id: format!("uuid-{id}"),
    }
}

fn d_client(name: &str, roles: &[&str]) -> DesiredClient {
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
            max_age: Some(Duration::days(30).to_std().unwrap()),
            strategy: RotationStrategy::Single,
            adopt: crate::config::AdoptPolicy::Hold,
        },
        source: std::path::Path::new("").into(),
    }
}

fn d_role(name: &str, privileges: &[&str]) -> DesiredRole {
    DesiredRole {
        name: name.into(),
        privileges: strings(privileges),
        description: None,
        external: false,
        source: std::path::Path::new("").into(),
    }
}

/// The whole built-in catalogue as the instance's privilege list.
fn catalogue_privileges() -> Vec<String> {
    let text = include_str!("../../data/risk-catalogue.toml");
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.strip_suffix("\","))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// A clean estate: one read-only role per client, declared, rotated recently.
fn clean() -> (Live, DesiredState, BTreeMap<String, SecretFacts>) {
    let live = Live {
        roles: vec![
            role(
                "1",
                "Inventory Read",
                &["Read Computers", "Read Mobile Devices"],
            ),
            role(
                "2",
                "Patch Reporting",
                &["Read Patch Management Software Titles"],
            ),
        ],
        clients: vec![
            client(1, "CMDB Sync", &["Inventory Read"]),
            client(2, "Patch Dashboard", &["Patch Reporting"]),
        ],
        privileges: Arc::new(catalogue_privileges()),
    };
    let desired = DesiredState {
        roles: vec![
            d_role("Inventory Read", &["Read Computers", "Read Mobile Devices"]),
            d_role(
                "Patch Reporting",
                &["Read Patch Management Software Titles"],
            ),
        ],
        clients: vec![
            d_client("CMDB Sync", &["Inventory Read"]),
            d_client("Patch Dashboard", &["Patch Reporting"]),
        ],
    };
    let secrets = ["CMDB Sync", "Patch Dashboard"]
        .into_iter()
        .map(|n| {
            (
                n.to_owned(),
                SecretFacts {
                    rotated_at: Some(now() - Duration::days(2)),
                    max_age: Some(Duration::days(30)),
                    adopted: None,
                    ..SecretFacts::default()
                },
            )
        })
        .collect();
    (live, desired, secrets)
}

fn run(
    live: &Live,
    desired: &DesiredState,
    secrets: &BTreeMap<String, SecretFacts>,
) -> Vec<Finding> {
    run_with(live, desired, secrets, None, &BTreeMap::new())
}

/// [`run`] with a catalogue change and the scopes the clients' secrets were minted with.
fn run_with(
    live: &Live,
    desired: &DesiredState,
    secrets: &BTreeMap<String, SecretFacts>,
    catalogue_change: Option<&drift::CatalogueChange>,
    minted: &BTreeMap<String, crate::rotation::MintedScope>,
) -> Vec<Finding> {
    evaluate_with(live, desired, secrets, catalogue_change, minted).0
}

/// [`run_with`], with the clients' views.
fn evaluate_with(
    live: &Live,
    desired: &DesiredState,
    secrets: &BTreeMap<String, SecretFacts>,
    catalogue_change: Option<&drift::CatalogueChange>,
    minted: &BTreeMap<String, crate::rotation::MintedScope>,
) -> (Vec<Finding>, Vec<ClientPrivileges>) {
    let mut drift = drift::detect(desired, live, &|_| true, false);
    drift.items.extend(drift::stale_scopes(
        desired,
        live,
        &drift::ScopeEvidence {
            minted: Some(minted),
            tokens: None,
        },
    ));
    let owned = BTreeSet::from([WARDEN_MANAGEMENT.to_owned()]);
    let input = InstanceInput {
        instance: "acme",
        live,
        desired,
        secrets,
        drift: &drift,
        warden_owned: &owned,
        now: now(),
        catalogue_change,
    };
    let catalogue = RiskCatalogue::builtin().unwrap();
    evaluate(&input, &catalogue, &AuditSettings::default())
}

fn rules_of(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| (f.rule.clone(), f.subject.key()))
        .collect()
}

#[test]
fn the_clean_estate_has_no_finding() {
    let (live, desired, secrets) = clean();
    let findings = run(&live, &desired, &secrets);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn every_rule_fires_on_a_crafted_estate() {
    let (mut live, desired, mut secrets) = clean();
    let all = catalogue_privileges();
    let add_role = |live: &mut Live, id: &str, name: &str, privileges: Vec<String>| {
        live.roles.push(ApiRole {
            id: id.into(),
            display_name: name.into(),
            privileges,
        });
    };
    // one role per category, each used by one undeclared client
    let cases = [
        ("Escalator", "Update API Integrations"),
        ("Deployer", "Create Scripts"),
        ("Escrow", "View Disk Encryption Recovery Key"),
        ("Wiper", "Send Computer Remote Wipe Command"),
        ("Plumber", "Update Webhooks"),
    ];
    for (n, (name, privilege)) in cases.iter().enumerate() {
        add_role(&mut live, &format!("1{n}"), name, strings(&[privilege]));
        live.clients
            .push(client(10 + n as i64, &format!("{name} Client"), &[name]));
    }
    // breadth: 60% of the catalogue; near-admin: all of it; CRUD over many types
    let share: Vec<String> = all.iter().take(all.len() * 6 / 10).cloned().collect();
    add_role(&mut live, "20", "Broad", share);
    add_role(&mut live, "21", "Everything", all.clone());
    let crud: Vec<String> = all
        .iter()
        .filter(|p| {
            [
                "Buildings",
                "Categories",
                "Departments",
                "Sites",
                "Printers",
                "Dock Items",
                "Directory Bindings",
                "Disk Encryption Configurations",
                "Network Segments",
                "Classes",
            ]
            .iter()
            .any(|t| p.ends_with(t))
        })
        .cloned()
        .collect();
    add_role(&mut live, "22", "Many Writes", crud);
    live.clients
        .push(client(30, "Bagel", &["Broad", "Everything", "Many Writes"]));
    // unclassified privilege, a role nobody uses, a shared role
    Arc::make_mut(&mut live.privileges).push("Read Quantum Flux".into());
    add_role(&mut live, "23", "Orphan", strings(&["Read Quantum Flux"]));
    live.clients
        .push(client(31, "Second Reader", &["Inventory Read"]));
    // long token, no secret, disabled with roles
    live.clients[0].access_token_lifetime_seconds = Some(86_400);
    let mut no_secret = client(32, "Idle", &["Patch Reporting"]);
    no_secret.app_type = AppType::None;
    live.clients.push(no_secret);
    let mut disabled = client(33, "Retired", &["Patch Reporting"]);
    disabled.enabled = false;
    disabled.app_type = AppType::None;
    live.clients.push(disabled);
    // secrets: one never rotated, one past max_age
    secrets.insert("CMDB Sync".into(), SecretFacts::default());
    secrets.insert(
        "Patch Dashboard".into(),
        SecretFacts {
            rotated_at: Some(now() - Duration::days(90)),
            max_age: Some(Duration::days(30)),
            adopted: None,
            ..SecretFacts::default()
        },
    );
    // widening drift: a declared role grew a privilege
    live.roles[1].privileges.push("Read Computers".into());

    // a Jamf upgrade dropped a declared privilege and added one of a family a role holds
    let mut upgraded: Vec<String> = live
        .privileges
        .iter()
        .filter(|p| *p != "Read Mobile Devices")
        .cloned()
        .collect();
    upgraded.push("Read Mobile Device Inventory".into());
    let change =
        drift::CatalogueChange::between(&live.privileges, &upgraded, "old", "new", now(), &desired)
            .unwrap();
    // Patch Dashboard's secret was minted when it held another role
    let minted = BTreeMap::from([(
        "Patch Dashboard".to_owned(),
        crate::rotation::MintedScope::of(&strings(&["Inventory Read"])),
    )]);

    let findings = run_with(&live, &desired, &secrets, Some(&change), &minted);
    let got = rules_of(&findings);
    let expect = [
        ("JW-CAT-002", "role:Inventory Read"),
        ("JW-CAT-003", "role:Inventory Read"),
        ("JW-HYG-010", "client:Patch Dashboard"),
        ("JW-ESC-001", "role:Escalator"),
        ("JW-EXE-001", "role:Deployer"),
        ("JW-SEC-001", "role:Escrow"),
        ("JW-DST-001", "role:Wiper"),
        ("JW-INF-001", "role:Plumber"),
        ("JW-BRD-001", "role:Broad"),
        ("JW-BRD-003", "role:Everything"),
        ("JW-BRD-003", "client:Bagel"),
        ("JW-BRD-002", "role:Many Writes"),
        ("JW-CAT-001", "role:Orphan"),
        ("JW-HYG-006", "role:Orphan"),
        ("JW-HYG-001", "role:Inventory Read"),
        ("JW-HYG-002", "client:Bagel"),
        ("JW-HYG-003", "client:CMDB Sync"),
        ("JW-HYG-004", "client:Idle"),
        ("JW-HYG-005", "client:Retired"),
        ("JW-HYG-007", "client:Bagel"),
        ("JW-HYG-008", "client:CMDB Sync"),
        ("JW-HYG-008", "client:Patch Dashboard"),
        ("JW-HYG-009", "role:Patch Reporting"),
    ];
    for (rule, subject) in expect {
        assert!(
            got.contains(&(rule.to_owned(), subject.to_owned())),
            "{rule} on {subject} missing; got {got:#?}"
        );
    }
    // every rule of the pack but the expired-suppression one fired
    let fired: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    for r in RULES.iter().filter(|r| r.id != "JW-SUP-001") {
        assert!(fired.contains(r.id), "{} never fired", r.id);
    }
    // evidence: the exact privileges behind a finding, and who holds the role
    let esc = findings
        .iter()
        .find(|f| f.rule == "JW-ESC-001" && f.subject.name == "Escalator")
        .unwrap();
    assert_eq!(esc.evidence.privileges, vec!["Update API Integrations"]);
    assert_eq!(esc.evidence.clients, vec!["Escalator Client"]);
    assert_eq!(esc.severity, Severity::Critical);
    let widening = findings.iter().find(|f| f.rule == "JW-HYG-009").unwrap();
    assert_eq!(widening.evidence.privileges, vec!["Read Computers"]);
    // most severe first
    assert!(findings.windows(2).all(|w| w[0].severity >= w[1].severity));
}

#[test]
fn foreign_and_warden_owned_clients_are_not_undeclared() {
    let (mut live, desired, secrets) = clean();
    let mut teacher = client(9, "Jamf Teacher", &["Teacher"]);
    teacher.app_type = AppType::NativeAppOauth;
    live.clients.push(teacher);
    live.roles
        .push(role("9", "Teacher", &["Read Teacher App Settings"]));
    live.clients
        .push(client(8, WARDEN_MANAGEMENT, &[WARDEN_MANAGEMENT]));
    live.roles.push(role(
        "8",
        WARDEN_MANAGEMENT,
        &[
            "Read API Roles",
            "Create API Roles",
            "Update API Integrations",
        ],
    ));
    let findings = run(&live, &desired, &secrets);
    let got = rules_of(&findings);
    assert!(!got.iter().any(|(r, _)| r == "JW-HYG-007"), "{got:?}");
    // Warden's own role is found (and suppressed by the built-in suppression below)
    assert!(got.contains(&("JW-ESC-001".into(), format!("role:{WARDEN_MANAGEMENT}"))));
}

fn instance_of(findings: Vec<Finding>, name: &str) -> InstanceAudit {
    InstanceAudit {
        instance: name.into(),
        url: format!("https://{name}.jamfcloud.com"),
        checked_at: Some(now()),
        error: None,
        catalogue: None,
        roles: 0,
        clients: 0,
        findings,
        client_privileges: Vec::new(),
        since_last: None,
        trend: Vec::new(),
    }
}

#[test]
fn suppressions_apply_until_they_expire_and_are_all_listed() {
    let (mut live, desired, secrets) = clean();
    live.roles
        .push(role("5", "Escrow", &["View Disk Encryption Recovery Key"]));
    live.roles
        .push(role("6", "Wiper", &["Send Computer Remote Wipe Command"]));
    live.roles
        .push(role("8", WARDEN_MANAGEMENT, &["Create API Roles"]));
    for (id, name) in [(5, "Escrow"), (6, "Wiper"), (8, WARDEN_MANAGEMENT)] {
        live.clients
            .push(client(id, &format!("{name} User"), &[name]));
    }
    let findings = run(&live, &desired, &secrets);
    let settings = AuditSettings {
        suppressions: vec![
            Suppression {
                rule: "JW-SEC-001".into(),
                instance: "acme".into(),
                object: "role:Escrow".into(),
                reason: "escrow to the key vault".into(),
                owner: "secops".into(),
                expires: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            },
            Suppression {
                rule: "JW-DST-001".into(),
                instance: "*".into(),
                object: "*".into(),
                reason: "temporary".into(),
                owner: "ops".into(),
                expires: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            },
            Suppression {
                rule: "JW-SEC-001".into(),
                instance: "other".into(),
                object: "*".into(),
                reason: "another instance".into(),
                owner: "ops".into(),
                expires: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            },
        ],
        ..AuditSettings::default()
    };
    let catalogue = RiskCatalogue::builtin().unwrap();
    let ctx = ReportContext {
        now: now(),
        warden_version: "0.1.0",
        catalogue: &catalogue,
        settings: &settings,
    };
    let report = build_report(&ctx, vec![instance_of(findings, "acme")]);
    // built-in + the two that concern acme; the one for "other" is not listed
    assert_eq!(report.suppressions.len(), 3, "{:#?}", report.suppressions);
    assert!(report.suppressions[0].builtin);
    assert_eq!(report.suppressions[0].matched, 1, "Warden's own role");
    assert_eq!(report.suppressions[1].state, SuppressionState::Active);
    assert_eq!(report.suppressions[1].matched, 1);
    assert_eq!(report.suppressions[2].state, SuppressionState::Expired);
    assert_eq!(
        report.suppressions[2].matched, 0,
        "expired: suppresses nothing"
    );
    let find = |rule: &str| {
        report
            .findings()
            .filter(|f| f.rule == rule)
            .collect::<Vec<_>>()
    };
    assert!(find("JW-SEC-001")[0].suppressed_by.is_some());
    assert!(find("JW-DST-001")[0].suppressed_by.is_none());
    let expired = find("JW-SUP-001");
    assert_eq!(expired.len(), 1);
    assert!(
        expired[0].subject.name.contains("JW-DST-001"),
        "{:?}",
        expired[0]
    );
    // counts exclude suppressed findings
    assert_eq!(report.summary.suppressed, 2);
    assert_eq!(report.summary.high, 1, "the destructive role");
    assert_eq!(
        report.summary.medium, 4,
        "the expired suppression and the three undeclared clients"
    );
    assert_eq!(report.summary.at_or_above(Severity::High), 1);
    assert_eq!(
        report.summary.at_or_above(Severity::Low),
        report.summary.total()
    );
    assert_eq!(report.schema, AUDIT_SCHEMA);
    assert_eq!(report.rules.len(), RULES.len());
}

#[test]
fn an_expired_suppression_is_reported_in_severity_order() {
    let (mut live, desired, secrets) = clean();
    live.roles.push(role("7", "Orphan", &["Read Computers"]));
    let findings = run(&live, &desired, &secrets);
    assert_eq!(
        rules_of(&findings),
        BTreeSet::from([("JW-HYG-006".to_owned(), "role:Orphan".to_owned())])
    );
    let settings = AuditSettings {
        suppressions: vec![Suppression {
            rule: "JW-HYG-006".into(),
            instance: "*".into(),
            object: "role:Orphan".into(),
            reason: "kept for a migration".into(),
            owner: "ops".into(),
            expires: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        }],
        ..AuditSettings::default()
    };
    let catalogue = RiskCatalogue::builtin().unwrap();
    let ctx = ReportContext {
        now: now(),
        warden_version: "0.1.0",
        catalogue: &catalogue,
        settings: &settings,
    };
    let report = build_report(&ctx, vec![instance_of(findings, "acme")]);
    // the expired suppression (medium) comes before the low finding it no longer hides
    let order: Vec<&str> = report.instances[0]
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(order, ["JW-SUP-001", "JW-HYG-006"]);
}

#[test]
fn severities_and_categories_parse() {
    assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
    assert!("severe".parse::<Severity>().is_err());
    assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
    assert_eq!(
        "secret_disclosure".parse::<Category>(),
        Ok(Category::SecretDisclosure)
    );
    assert!(
        "secrets"
            .parse::<Category>()
            .unwrap_err()
            .contains("secret_disclosure")
    );
}

#[test]
fn an_alternating_twin_is_not_a_second_holder_nor_a_client_without_secret() {
    let (mut live, desired, secrets) = clean();
    let mut twin = client(7, "Patch Dashboard (alternate)", &["Patch Reporting"]);
    twin.app_type = AppType::None;
    live.clients.push(twin);
    let drift = drift::detect(&desired, &live, &|_| true, false);
    let owned = BTreeSet::from(["Patch Dashboard (alternate)".to_owned()]);
    let input = InstanceInput {
        instance: "acme",
        live: &live,
        desired: &desired,
        secrets: &secrets,
        drift: &drift,
        warden_owned: &owned,
        now: now(),
        catalogue_change: None,
    };
    let catalogue = RiskCatalogue::builtin().unwrap();
    let (findings, privileges) = evaluate(&input, &catalogue, &AuditSettings::default());
    assert!(findings.is_empty(), "{findings:#?}");
    // it is still listed with its effective privileges
    assert!(
        privileges
            .iter()
            .any(|c| c.name == "Patch Dashboard (alternate)")
    );
}

#[test]
fn a_client_named_in_another_case_is_the_declared_one() {
    let (mut live, desired, secrets) = clean();
    live.clients[0].display_name = live.clients[0].display_name.to_uppercase();
    live.roles[0].display_name = live.roles[0].display_name.to_lowercase();
    let scope = live.roles[0].display_name.clone();
    live.clients[0].authorization_scopes = vec![scope];
    let findings = run(&live, &desired, &secrets);
    assert!(
        findings.is_empty(),
        "neither undeclared nor a never-rotated secret: {findings:#?}"
    );
}

#[test]
fn an_adopted_secret_is_shown_as_held_not_overdue() {
    let (live, desired, mut secrets) = clean();
    secrets.insert(
        "CMDB Sync".into(),
        SecretFacts {
            adopted: Some("adopted: held until cutover".into()),
            ..SecretFacts::default()
        },
    );
    let findings = run(&live, &desired, &secrets);
    let stale = findings
        .iter()
        .find(|f| f.rule == "JW-HYG-008" && f.subject.key() == "client:CMDB Sync")
        .expect("the adopted secret is still listed");
    assert_eq!(stale.evidence.facts["adopted"], "held");
    assert!(
        stale.rationale.contains("Adopted, held until cutover")
            && stale.rationale.contains("adopted: held until cutover"),
        "{}",
        stale.rationale
    );
}

#[test]
fn a_managed_clients_view_carries_its_owner_and_secret() {
    let (mut live, desired, mut secrets) = clean();
    let rotated = now() - Duration::days(10);
    let due = now() + Duration::days(20);
    secrets.insert(
        "Patch Dashboard".into(),
        SecretFacts {
            rotated_at: Some(rotated),
            max_age: Some(Duration::days(30)),
            strategy: "alternating".into(),
            next_due: Some(due),
            verified: Some(true),
            ..SecretFacts::default()
        },
    );
    secrets.insert(
        "CMDB Sync".into(),
        SecretFacts {
            adopted: Some("held until cutover".into()),
            strategy: "single".into(),
            ..SecretFacts::default()
        },
    );
    live.clients.push(client(9, "Stray", &["Inventory Read"]));
    // Patch Dashboard's secret was minted when it held another role: its scope is stale
    let minted = BTreeMap::from([(
        "Patch Dashboard".to_owned(),
        crate::rotation::MintedScope::of(&strings(&["Inventory Read"])),
    )]);
    let (_, views) = evaluate_with(&live, &desired, &secrets, None, &minted);
    let view = |name: &str| views.iter().find(|c| c.name == name).unwrap();

    let patch = view("Patch Dashboard");
    assert_eq!(patch.owner.as_deref(), Some("it@example.com"));
    assert_eq!(patch.purpose.as_deref(), Some("tests"));
    assert_eq!(
        patch.secret,
        Some(SecretView {
            strategy: "alternating".into(),
            rotated_at: Some(rotated),
            age_days: Some(10),
            next_due: Some(due),
            max_age_days: Some(30),
            held: None,
            stale_scope: true,
            verified: Some(true),
            error: None,
        })
    );
    let summary = patch.secret.as_ref().unwrap().summary();
    assert!(summary.contains("10 days, verified"), "{summary}");
    assert!(summary.contains("scope stale"), "{summary}");

    let cmdb = view("CMDB Sync").secret.clone().unwrap();
    assert_eq!(cmdb.state_label(), "adopted, held");
    assert_eq!(
        (cmdb.age_days, cmdb.verified, cmdb.stale_scope),
        (None, None, false)
    );
    assert!(cmdb.summary().contains("never rotated by Warden"));

    let stray = view("Stray");
    assert_eq!(
        (stray.owner.as_deref(), stray.secret.as_ref()),
        (None, None)
    );
    assert_eq!(stray.owner_label(), "undeclared");
}

#[test]
fn jamf_app_roles_get_a_fix_that_restricts_who_holds_them() {
    let (mut live, desired, secrets) = clean();
    let wipe = "Send Computer Remote Wipe Command";
    // Jamf Reset, named as Jamf names it, held by its app's client and by another client
    live.roles.push(role("7", "Jamf Reset", &[wipe]));
    let mut app = client(7, "Jamf Reset", &["Jamf Reset"]);
    app.app_type = AppType::NativeAppOauth;
    live.clients.push(app);
    live.clients
        .push(client(8, "Kiosk Helper", &["Jamf Reset"]));
    // a role an app's own client holds, whatever its name
    live.roles.push(role("9", "Classroom", &[wipe]));
    let mut teacher = client(9, "Jamf Teacher", &["Classroom"]);
    teacher.app_type = AppType::NativeAppOauth;
    live.clients.push(teacher);
    // an ordinary role with the same privilege
    live.roles.push(role("10", "Wiper", &[wipe]));
    live.clients.push(client(10, "Wipe Bot", &["Wiper"]));

    let findings = run(&live, &desired, &secrets);
    let on = |role: &str| {
        findings
            .iter()
            .find(|f| f.rule == "JW-DST-001" && f.subject.name == role)
            .unwrap_or_else(|| panic!("JW-DST-001 on {role}"))
    };
    for app_role in ["Jamf Reset", "Classroom"] {
        let f = on(app_role);
        assert_eq!(f.fix, rules::APP_ROLE_FIX);
        assert!(f.fix.contains("Restrict which") && !f.fix.contains("Remove these privileges"));
        assert_eq!(f.evidence.facts["jamf_app_role"], true);
    }
    assert_eq!(
        on("Jamf Reset").evidence.clients,
        ["Jamf Reset", "Kiosk Helper"]
    );
    let ordinary = on("Wiper");
    assert_eq!(ordinary.fix, rules::DESTRUCTIVE.fix);
    assert!(!ordinary.evidence.facts.contains_key("jamf_app_role"));
    assert_eq!(
        rules::app_roles(&live),
        BTreeSet::from(["Classroom", "Jamf Reset"])
    );
}

#[test]
fn privilege_names_are_shared_and_shared_again_after_reading_back() {
    let (mut live, desired, secrets) = clean();
    // a second reader, and a risky role held by two clients: names in several clients'
    // privileges, their categories and findings' evidence
    live.roles
        .push(role("3", "Deploy", &["Create Policies", "Read Computers"]));
    live.clients
        .push(client(3, "Asset Export", &["Inventory Read", "Deploy"]));
    live.clients.push(client(4, "Deployer", &["Deploy"]));
    let (findings, client_privileges) =
        evaluate_with(&live, &desired, &secrets, None, &BTreeMap::new());
    assert!(
        findings.iter().any(|f| !f.evidence.privileges.is_empty()),
        "a finding names privileges"
    );
    let mut audit = instance_of(findings, "acme");
    audit.client_privileges = client_privileges;
    // every entry naming a privilege, grouped by the name
    let groups = |audit: &InstanceAudit| -> BTreeMap<String, Vec<Name>> {
        let mut groups: BTreeMap<String, Vec<Name>> = BTreeMap::new();
        let lists = audit
            .client_privileges
            .iter()
            .flat_map(|c| std::iter::once(&c.privileges).chain(c.by_category.values()))
            .chain(audit.findings.iter().map(|f| &f.evidence.privileges));
        for name in lists.flatten() {
            groups
                .entry(name.to_string())
                .or_default()
                .push(name.clone());
        }
        groups
    };
    let all_shared = |audit: &InstanceAudit| {
        groups(audit)
            .values()
            .all(|g| g.iter().all(|n| n.shares_with(&g[0])))
    };
    assert!(
        groups(&audit).values().any(|g| g.len() > 1),
        "the estate names a privilege more than once"
    );
    assert!(all_shared(&audit), "evaluate shares the catalogue's names");

    // read back from JSON (as the daemon loads its kept audits): equal, not shared
    let json = serde_json::to_string(&audit).unwrap();
    let mut back: InstanceAudit = serde_json::from_str(&json).unwrap();
    assert_eq!(back, audit);
    assert!(!all_shared(&back));
    RiskCatalogue::builtin().unwrap().share_names(&mut back);
    assert!(all_shared(&back));
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}
