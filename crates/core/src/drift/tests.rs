//! Tests of validation, detection, rendering and import; fixtures shared with `tests_plan`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::{ClientRotation, DesiredClient, DesiredRole, DesiredState, RotationStrategy};
use crate::jamf::{ApiIntegration, ApiRole, AppType};
use crate::schedule::Schedule;

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

pub(super) fn d_role(name: &str, privileges: &[&str]) -> DesiredRole {
    DesiredRole {
        name: name.into(),
        privileges: strings(privileges),
        description: None,
        external: false,
        source: Path::new("").into(),
    }
}

pub(super) fn d_external(name: &str) -> DesiredRole {
    DesiredRole {
        external: true,
        ..d_role(name, &[])
    }
}

pub(super) fn d_client(name: &str, roles: &[&str]) -> DesiredClient {
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

pub(super) fn l_role(id: &str, name: &str, privileges: &[&str]) -> ApiRole {
    ApiRole {
        id: id.into(),
        display_name: name.into(),
        privileges: strings(privileges),
    }
}

pub(super) fn l_client(id: i64, name: &str, roles: &[&str], app_type: AppType) -> ApiIntegration {
    ApiIntegration {
        id,
        authorization_scopes: strings(roles),
        display_name: name.into(),
        enabled: app_type != AppType::None,
        access_token_lifetime_seconds: Some(300),
        app_type,
        client_id: format!("uuid-{id}"),
    }
}

/// Desired: roles A, B, external "Jamf Reset"; client Sync holds A.
pub(super) fn desired() -> DesiredState {
    DesiredState {
        roles: vec![
            d_role("A", &["Read Computers", "Read Mobile Devices"]),
            d_role("B", &["Read Users"]),
            d_external("Jamf Reset"),
        ],
        clients: vec![d_client("Sync", &["A"])],
    }
}

/// Live that matches [`desired`], plus a foreign app client and its role.
pub(super) fn matching_live() -> Live {
    Live {
        roles: vec![
            l_role("1", "A", &["Read Mobile Devices", "Read Computers"]),
            l_role("2", "B", &["Read Users"]),
            l_role("3", "Jamf Reset", &["Something"]),
            l_role("4", "Teacher", &["Read Teacher App Settings"]),
        ],
        clients: vec![
            l_client(1, "Sync", &["A"], AppType::ClientCredentials),
            l_client(9, "Jamf Teacher", &["Teacher"], AppType::NativeAppOauth),
        ],
        privileges: Arc::new(strings(&[
            "Read Computers",
            "Read Mobile Devices",
            "Read Users",
        ])),
    }
}

pub(super) fn all_rotated(_: &str) -> bool {
    true
}

fn kinds(report: &DriftReport) -> Vec<(DriftKind, &str)> {
    report
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str()))
        .collect()
}

#[test]
fn no_drift_when_matching_and_foreign_reported() {
    let report = detect(&desired(), &matching_live(), &all_rotated, false);
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(
        report.foreign,
        vec![r#"role "Teacher""#, r#"client "Jamf Teacher""#]
    );
    assert!(render_report(&report, false).contains("No drift"));
}

#[test]
fn every_drift_kind() {
    let mut desired = desired();
    desired.clients.push(d_client("New", &["B"]));
    desired.clients.push(d_client("Bare", &["B"]));
    desired.clients[0].roles = strings(&["B"]);
    desired.clients[0].enabled = false;
    desired.clients[0].token_lifetime = 600;
    desired.roles.push(d_role("C", &["Read Users"]));
    desired.clients.push(d_client("Old", &["A"]));
    let mut live = matching_live();
    live.roles[0].privileges = strings(&["Read Computers", "Delete Computers"]);
    live.roles.push(l_role("5", "Stray", &["Read Users"]));
    live.clients
        .push(l_client(2, "Other", &["Stray"], AppType::ClientCredentials));
    live.clients
        .push(l_client(3, "Bare", &["B"], AppType::None));
    live.clients[3].enabled = true;
    live.clients
        .push(l_client(4, "Old", &["A"], AppType::ClientCredentials));
    let report = detect(&desired, &live, &|n: &str| n != "Old", false);
    use DriftKind::*;
    assert_eq!(
        kinds(&report),
        vec![
            (PrivilegesAdded, "A"),
            (PrivilegesRemoved, "A"),
            (Missing, "C"),
            (Unmanaged, "Stray"),
            (RolesAdded, "Sync"),
            (RolesRemoved, "Sync"),
            (EnabledChanged, "Sync"),
            (LifetimeChanged, "Sync"),
            (Missing, "New"),
            (NoSecret, "Bare"),
            (NeverRotated, "Old"),
            (Unmanaged, "Other"),
        ]
    );
    let a = &report.items[0];
    assert_eq!(a.after, Some(serde_json::json!(["Read Mobile Devices"])));
    assert_eq!(
        report.items[1].before,
        Some(serde_json::json!(["Delete Computers"]))
    );
    let lifetime = &report.items[7];
    assert_eq!(lifetime.field.as_deref(), Some("token_lifetime"));
    assert_eq!(
        (lifetime.before.clone(), lifetime.after.clone()),
        (Some(300.into()), Some(600.into()))
    );
    assert!(
        !report.items[3].managed,
        "unmanaged without prune is report-only"
    );
    let pruned = detect(&desired, &live, &all_rotated, true);
    assert!(
        pruned
            .items
            .iter()
            .filter(|i| i.kind == Unmanaged)
            .all(|i| i.managed)
    );
    // Stable snake_case kinds on the wire.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["items"][0]["kind"], "privileges_added");
    assert_eq!(json["items"][0]["object"], "role");
    let back: DriftReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);

    let text = render_report(&report, false);
    for line in [
        "~ role \"A\"",
        "    + privilege \"Read Mobile Devices\"",
        "    - privilege \"Delete Computers\"",
        "+ role \"C\"",
        "- role \"Stray\" (unmanaged: kept, prune is off)",
        "~ client \"Sync\"",
        "    + role \"B\"",
        "    - role \"A\"",
        "    ~ enabled: true -> false",
        "    ~ token_lifetime: 300 -> 600",
        "+ client \"New\"",
        "    ~ secret: none (appType NONE)",
        "    ~ secret: never rotated by Warden",
        "client \"Jamf Teacher\" (foreign: left alone)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains('\x1b'));
    assert!(render_report(&report, true).contains("\x1b[32m+\x1b[0m role \"C\""));
}

#[test]
fn external_role_never_drifts_and_disabled_client_needs_no_secret() {
    let mut live = matching_live();
    live.roles[2].privileges = strings(&["Anything Else"]);
    let mut desired = desired();
    desired.clients[0].enabled = false;
    live.clients[0].enabled = false;
    live.clients[0].app_type = AppType::None;
    let report = detect(&desired, &live, &|_: &str| false, false);
    assert!(report.is_empty(), "{report:?}");
    live.roles.remove(2);
    let report = detect(&desired, &live, &all_rotated, false);
    assert_eq!(kinds(&report), vec![(DriftKind::Missing, "Jamf Reset")]);
    assert!(!report.items[0].managed);
    assert!(render_report(&report, false).contains("(external: not created)"));
}

#[test]
fn validation_with_suggestions() {
    let mut desired = desired();
    desired.roles[0].privileges = strings(&["read computers", "Read Mobile Device", "Zzz"]);
    desired.clients.push(d_client("Empty", &[]));
    desired.clients.push(d_client("Lost", &["Nope"]));
    let catalogue = matching_live().privileges;
    let errors = validate(&desired, &catalogue).unwrap_err();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert_eq!(
        errors[0],
        ValidationError::UnknownPrivilege {
            role: "A".into(),
            privilege: "read computers".into(),
            suggestions: strings(&["Read Computers"]),
        }
    );
    assert_eq!(
        errors[1].to_string(),
        "role `A`: unknown privilege `Read Mobile Device`; did you mean `Read Mobile Devices`?"
    );
    assert_eq!(errors[2].to_string(), "role `A`: unknown privilege `Zzz`");
    assert!(
        matches!(&errors[3], ValidationError::ClientWithoutRoles { client } if client == "Empty")
    );
    assert!(matches!(&errors[4], ValidationError::UnknownRole { role, .. } if role == "Nope"));
    assert!(validate(&self::desired(), &catalogue).is_ok());
    let many = strings(&["Read A", "Read B", "Read C", "Read D"]);
    assert_eq!(
        suggest("Read X", &many),
        strings(&["Read A", "Read B", "Read C"])
    );
}

/// Builds a `DesiredState` from the generated file (after checking it with the real parser),
/// filling the defaults the config merge would.
fn load_imported(text: &str) -> DesiredState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imported.toml");
    std::fs::write(&path, text).unwrap();
    crate::config::check_desired_file(&path).unwrap();
    let value: toml::Table = text.parse().unwrap();
    let list = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let names = |v: &toml::Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(|a| a.as_array())
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let roles = list("role")
        .iter()
        .map(|r| DesiredRole {
            external: r.get("external").and_then(|e| e.as_bool()).unwrap_or(false),
            ..d_role(r["name"].as_str().unwrap(), &[])
        })
        .zip(list("role"))
        .map(|(mut role, raw)| {
            role.privileges = names(&raw, "privileges");
            role
        })
        .collect();
    let clients = list("client")
        .iter()
        .map(|c| DesiredClient {
            roles: names(c, "roles"),
            enabled: c["enabled"].as_bool().unwrap(),
            token_lifetime: u32::try_from(c["token_lifetime"].as_integer().unwrap()).unwrap(),
            ..d_client(c["name"].as_str().unwrap(), &[])
        })
        .collect();
    DesiredState { roles, clients }
}

#[test]
fn import_round_trip_shows_no_drift() {
    let mut live = matching_live();
    // A normal client that also uses the Teacher app role, a disabled one, odd names.
    live.clients.push(l_client(
        5,
        "Mixed \"quoted\"",
        &["B", "Teacher"],
        AppType::ClientCredentials,
    ));
    live.clients.push(l_client(6, "Off", &["B"], AppType::None));
    live.clients[3].access_token_lifetime_seconds = None;
    live.roles.push(l_role("7", "Empty", &[]));
    let text = import(&live, "acme");
    assert!(text.starts_with("# Desired state of instance `acme`"));
    assert!(text.contains("TODO: owner") && text.contains("TODO: purpose"));
    assert!(
        !text.contains("Jamf Teacher"),
        "foreign client left out:\n{text}"
    );
    let desired = load_imported(&text);
    assert!(desired.role("Teacher").is_some_and(|r| r.external));
    assert!(desired.role("Empty").is_some_and(|r| r.external));
    assert!(desired.role("Jamf Reset").is_some_and(|r| !r.external));
    assert!(
        validate(&desired, &live.privileges).is_err(),
        "Jamf Reset's privilege is unknown"
    );
    let report = detect(&desired, &live, &all_rotated, true);
    assert!(report.is_empty(), "{report:?}\n{text}");
    assert_eq!(report.foreign, vec![r#"client "Jamf Teacher""#]);
    assert!(plan(&desired, &live, true).is_empty());
    let names: BTreeSet<&str> = desired.clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["Sync", "Mixed \"quoted\"", "Off"]));
    // every imported client is held: loading the file rotates nothing
    assert!(
        desired
            .clients
            .iter()
            .all(|c| c.rotation.adopt == crate::config::AdoptPolicy::Hold),
        "{text}"
    );
    assert_eq!(text.matches("\nadopt = \"hold\"").count(), 3, "{text}");
}

#[test]
fn import_lists_roleless_clients_instead_of_writing_an_invalid_file() {
    let mut live = matching_live();
    live.clients
        .push(l_client(7, "No Roles", &[], AppType::ClientCredentials));
    let text = import(&live, "acme");
    assert!(
        text.contains("# Left out: client \"No Roles\" has no role in Jamf"),
        "{text}"
    );
    // the file still passes the real checker
    let desired = load_imported(&text);
    assert!(desired.client("No Roles").is_none());
}

/// A fixed "now" (nothing here depends on the real time).
fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap()
}

fn drift_of(items: Vec<DriftItem>, invalid: Vec<String>) -> InstanceDrift {
    InstanceDrift {
        instance: "acme".into(),
        source: CheckSource::Scheduled,
        checked_at: Some(t0()),
        error: None,
        invalid,
        report: DriftReport {
            items,
            foreign: Vec::new(),
            held: Vec::new(),
        },
        catalogue: None,
        catalogue_change: None,
    }
}

#[test]
fn fingerprint_depends_on_the_drift_only() {
    let mut live = matching_live();
    live.roles[0].privileges.push("Read Users".into());
    let report = detect(&desired(), &live, &all_rotated, false);
    let a = drift_of(report.items.clone(), Vec::new());
    let mut b = a.clone();
    b.checked_at = Some(t0() + chrono::Duration::hours(3));
    b.source = CheckSource::Now;
    b.catalogue = Some(CatalogueInfo::of(&live.privileges, t0()));
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert!(a.has_drift());
    assert_eq!(a.findings(), 1);
    let c = drift_of(report.items, vec!["unknown privilege".into()]);
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_eq!(c.findings(), 2);
    let failed = InstanceDrift {
        error: Some("unreachable".into()),
        ..drift_of(Vec::new(), Vec::new())
    };
    assert!(!failed.has_drift());
    assert_eq!(failed.findings(), 1);
    assert_eq!(InstanceDrift::never_checked("acme").findings(), 0);
}

#[test]
fn catalogue_hash_ignores_order() {
    let now = t0();
    let a = CatalogueInfo::of(&strings(&["Read Users", "Read Computers"]), now);
    let b = CatalogueInfo::of(&strings(&["Read Computers", "Read Users"]), now);
    assert_eq!(a, b);
    assert_eq!(a.size, 2);
    assert_eq!(a.sha256.len(), 64);
    let c = CatalogueInfo::of(&strings(&["Read Computers"]), now);
    assert_ne!(a.sha256, c.sha256);
}

#[test]
fn documents_render_for_people() {
    let mut live = matching_live();
    live.roles[0].privileges.push("Read Users".into());
    let report = detect(&desired(), &live, &all_rotated, false);
    let doc = DriftDocument::new(vec![
        drift_of(report.items, vec!["role \"B\": unknown privilege".into()]),
        InstanceDrift::never_checked("beta"),
        InstanceDrift {
            instance: "gamma".into(),
            error: Some("connection refused".into()),
            ..drift_of(Vec::new(), Vec::new())
        },
    ]);
    assert_eq!(doc.schema, DRIFT_SCHEMA);
    assert_eq!(doc.findings(), 3);
    let text = render_drift(&doc, false);
    assert!(
        text.contains("# instance acme: scheduled check at"),
        "{text}"
    );
    assert!(text.contains("- privilege \"Read Users\""), "{text}");
    assert!(text.contains("unknown privilege"), "{text}");
    assert!(text.contains("# instance beta: not checked yet"), "{text}");
    assert!(
        text.contains("! cannot check gamma: connection refused"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour unless asked");
    assert!(render_drift(&doc, true).contains("\x1b[31m-\x1b[0m"));

    let steps = plan(&desired(), &live, false).steps;
    let mut results: Vec<StepResult> = steps
        .into_iter()
        .map(|step| StepResult {
            step,
            status: StepStatus::Done,
            error: None,
            change_seq: Some(7),
        })
        .collect();
    let report = ApplyReport {
        schema: APPLY_SCHEMA.into(),
        instance: "acme".into(),
        started_at: t0(),
        steps: results.clone(),
    };
    let text = render_apply(&report, false);
    assert!(
        text.contains("update role \"A\" (id 1): done [change #7]"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete: 1 of 1 step(s) done."),
        "{text}"
    );
    results[0].status = StepStatus::Failed;
    results[0].error = Some("503".into());
    let failed = ApplyReport {
        steps: results,
        ..report
    };
    assert!(failed.failed());
    let text = render_apply(&failed, false);
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("error: 503"), "{text}");
    assert!(text.contains("0 of 1 step(s) done, 0 not run"), "{text}");
}

#[test]
fn adopted_clients_are_held_not_drift() {
    let mut live = matching_live();
    live.clients
        .push(l_client(9, "Legacy", &["B"], AppType::ClientCredentials));
    let mut desired = desired();
    let mut legacy = desired.clients[0].clone();
    legacy.name = "Legacy".into();
    legacy.roles = vec!["B".into()];
    desired.clients.push(legacy);
    let rotated = |n: &str| n != "Legacy";
    let mut report = detect(&desired, &live, &rotated, false);
    assert!(
        report
            .items
            .iter()
            .any(|i| i.kind == DriftKind::NeverRotated && i.name == "Legacy"),
        "{report:?}"
    );
    let adopted = std::collections::BTreeMap::from([(
        "Legacy".to_string(),
        "adopted: held until cutover".to_string(),
    )]);
    report.hold_adopted(&adopted);
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(report.held[0].name, "Legacy");
    let text = crate::drift::render_report(&report, false);
    assert!(
        text.contains("client \"Legacy\" secret: adopted: held until cutover"),
        "{text}"
    );
    assert!(text.contains("No drift"), "{text}");
    assert!(plan(&desired, &live, false).is_empty());
}
