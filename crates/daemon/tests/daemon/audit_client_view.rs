//! One client's view of the crafted estate's audit (see `common::audit::crafted`): the report
//! lists every client's effective privileges; a client view keeps that client's privileges and
//! the findings through its roles (suppressed ones stay suppressed); a view of an unknown client
//! or without exactly one instance is refused.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::audit::crafted::{CraftedDaemon, expected_findings};
use common::audit::{audit, audit_response, key_set, keys};
use common::rotation::error_of;
use warden_core::audit::Category;
use warden_core::protocol::ErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_lists_every_client_s_effective_privileges() {
    let estate = CraftedDaemon::start().await;
    let crafted = &estate.crafted;
    let (_, report) = estate.audit().await;

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

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_s_view_carries_its_owner_purpose_and_secret_from_vault() {
    let estate = CraftedDaemon::start().await;
    let (_, report) = estate.audit().await;
    let audited = &report.instances[0];
    let cp = |name: &str| {
        audited
            .client_privileges
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no client {name}"))
    };

    // Owner and purpose come from the desired state; an undeclared client has neither.
    let escalator = cp("Escalator Client");
    assert_eq!(escalator.owner.as_deref(), Some("it@example.com"));
    assert_eq!(escalator.purpose.as_deref(), Some("audit tests"));
    let shadow = cp("Shadow Client");
    assert_eq!(
        (shadow.owner.as_deref(), shadow.owner_label()),
        (None, "undeclared")
    );
    assert!(shadow.secret.is_none(), "not managed: no secret view");

    // The secret, from the rotation marker in Vault: rotated and verified just now...
    let secret = escalator
        .secret
        .as_ref()
        .expect("a managed client's secret");
    assert_eq!(secret.strategy, "single");
    assert!(secret.rotated_at.is_some());
    assert_eq!(secret.age_days, Some(0));
    assert_eq!(secret.verified, Some(true));
    assert!(
        secret.next_due.is_some(),
        "its @yearly schedule makes it due"
    );
    assert_eq!((secret.held.as_deref(), secret.stale_scope), (None, false));
    assert!(secret.error.is_none());
    // ... 90 days ago under a 30-day policy: due since long ago ...
    let aged = cp("Aged Client").secret.clone().expect("aged secret");
    assert_eq!((aged.age_days, aged.verified), (Some(90), Some(true)));
    assert_eq!(aged.max_age_days, Some(30), "its policy's maximum age");
    assert!(aged.next_due.expect("due") < report.generated_at);
    // ... or never rotated by Warden: age and verification unknown.
    let legacy = cp("Legacy Sync").secret.clone().expect("legacy secret");
    assert_eq!(
        (legacy.rotated_at, legacy.age_days, legacy.verified),
        (None, None, None)
    );

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_view_keeps_its_privileges_and_the_findings_through_its_roles() {
    let estate = CraftedDaemon::start().await;
    let socket = estate.socket();

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
            vec![warden_core::audit::Name::from("Update API Integrations")]
        )])
    );
    assert_eq!(
        view.suppressions.len(),
        4,
        "the suppressions are still listed"
    );
    let escalator = view;

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

    estate
        .assert_nothing_recorded_or_leaked(&[&escalator, &view])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_of_a_near_admin_client_holds_every_finding_of_its_role_and_itself() {
    let estate = CraftedDaemon::start().await;
    let socket = estate.socket();
    let expected = expected_findings();

    let (count, view) = audit(socket, &["alpha"], Some("Admin Client"), false).await;
    let admin: BTreeSet<(String, String)> = expected
        .iter()
        .filter(|(_, s)| s == "role:Everything" || s == "client:Admin Client")
        .cloned()
        .collect();
    assert_eq!(admin.len(), 9);
    assert_eq!(keys(&view, false), admin);
    assert_eq!(count, 9);

    estate.assert_nothing_recorded_or_leaked(&[&view]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_suppressed_through_its_role_stays_suppressed_in_the_client_view() {
    let estate = CraftedDaemon::start().await;
    let socket = estate.socket();

    let (count, view) = audit(socket, &["alpha"], Some("Escrow Client"), false).await;
    assert_eq!(count, 0);
    assert_eq!(view.summary.suppressed, 1);
    assert_eq!(keys(&view, true), key_set(&[("JW-SEC-001", "role:Escrow")]));

    estate.assert_nothing_recorded_or_leaked(&[&view]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_an_unknown_client_or_without_exactly_one_instance_is_refused() {
    let estate = CraftedDaemon::start().await;
    let socket = estate.socket();

    // An unknown client, and a client view without exactly one instance (and an unknown one).
    let (code, message) =
        error_of(&audit_response(socket, &["alpha"], Some("Nobody"), false).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");
    assert!(message.contains("Nobody"), "{message}");
    let (code, message) =
        error_of(&audit_response(socket, &[], Some("Escalator Client"), false).await);
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    let (code, message) = error_of(&audit_response(socket, &["nowhere"], None, false).await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");

    estate.assert_nothing_recorded_or_leaked(&[]).await;
}
