//! The risk audit of a crafted estate (one role or client per rule, see
//! `common::audit::crafted`): every rule of the pack fires, most severe first; the category rules
//! name the exact privileges and who holds the role; the breadth and hygiene rules state their
//! measures. No secret shows up in any report, output, log or state file.
//!
//! Not tested here: JW-CAT-001 (unclassified privileges). The simulator refuses any privilege
//! outside its 522-name catalogue (API, admin API and fixtures alike) and the built-in risk
//! catalogue classifies all 522, so no live role can hold an unclassified privilege; the rule
//! is covered by the core unit tests (`every_rule_fires_on_a_crafted_estate`).
//! Nor JW-CAT-002/003 (a Jamf upgrade changed the catalogue) and JW-HYG-010 (a secret minted
//! with other roles): they need a change over time, and `upgrade_scope` makes both and checks
//! the audit's findings there.

use crate::common;

use std::collections::BTreeSet;

use common::audit::crafted::{CraftedDaemon, expected_findings};
use common::audit::{catalogue, category_rule, fact, finding, key_set, keys};
use warden_core::audit::{Category, Class, RULES, RiskCatalogue, Severity};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_fires_on_a_crafted_estate_most_severe_first() {
    let estate = CraftedDaemon::start().await;
    let (count, report) = estate.audit().await;
    let expected = expected_findings();
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
    // Every rule of the pack fired, but those the module comment names.
    let fired: BTreeSet<&str> = report.findings().map(|f| f.rule.as_str()).collect();
    let not_fired: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !fired.contains(id))
        .collect();
    assert_eq!(
        not_fired,
        ["JW-CAT-001", "JW-CAT-002", "JW-CAT-003", "JW-HYG-010"]
    );
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

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_findings_name_the_exact_privileges_and_who_holds_the_role() {
    let estate = CraftedDaemon::start().await;
    let (_, report) = estate.audit().await;

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

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breadth_and_hygiene_findings_state_their_measures() {
    let estate = CraftedDaemon::start().await;
    let crafted = &estate.crafted;
    let (_, report) = estate.audit().await;

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
        crafted.many_writes.iter().all(|p| everything_crud
            .evidence
            .privileges
            .iter()
            .any(|q| q == p))
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

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}
