//! The risk audit of a clean estate against the daemon in-process, the Jamf simulator and the
//! in-memory secret store:
//! two declared clients with read-only roles whose secrets Warden rotated. It has no finding but
//! Warden's own role (suppressed by the built-in suppression); the report states the evidence a
//! review needs and every client's effective privileges; an audit records nothing, and no secret
//! shows up in the report, the output, the logs or the state.

use crate::common;

use std::collections::BTreeMap;

use common::audit::{
    WARDEN, WARDEN_ESCALATION, all_secrets, assert_text_clean, audit, catalogue, catalogue_sha256,
    client_path, client_toml, finding, key_set, keys, role_toml, start_empty, store_secret,
    strings,
};
use common::drift::with_action;
use common::rotation::rotate;
use common::{Daemon, Env};
use warden_core::audit::{
    AUDIT_SCHEMA, AuditReport, Category, RULE_PACK_VERSION, RULES, RiskCatalogue, Severity,
    SuppressionState,
};
use warden_core::protocol::Response;

/// The clean estate on `alpha`, wardend declaring it, and the secrets Warden rotated.
struct Clean {
    env: Env,
    daemon: Daemon,
    minted: Vec<String>,
    paths: Vec<String>,
}

impl Clean {
    /// Two read-only clients whose first secrets were made by hand, then rotated by Warden.
    async fn start() -> Clean {
        let env = start_empty(&["alpha"]).await;
        let sim = &env.instance("alpha").sim;
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
        Clean {
            env,
            daemon,
            minted,
            paths,
        }
    }

    /// An audit of `alpha` now.
    async fn audit(&self) -> (u64, AuditReport) {
        audit(&self.daemon.socket, &["alpha"], None, false).await
    }

    /// An audit is read-only: nothing recorded; no secret in `report` or the daemon's files.
    async fn assert_nothing_recorded_or_leaked(&self, report: &AuditReport) {
        let env = &self.env;
        // An audit now is read-only: nothing recorded.
        assert!(with_action(&env.records(), "audit").is_empty());
        let secrets = all_secrets(env, "alpha", &self.paths, &self.minted).await;
        let body = serde_json::to_string(report).unwrap();
        assert_text_clean("the audit report", &body, &secrets);
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_estate_has_no_finding_but_wardens_own_role_suppressed_by_the_builtin() {
    let clean = Clean::start().await;
    let (count, report) = clean.audit().await;
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

    clean.assert_nothing_recorded_or_leaked(&report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_states_its_evidence_and_every_client_s_effective_privileges() {
    let clean = Clean::start().await;
    let inst = clean.env.instance("alpha");
    let (_, report) = clean.audit().await;

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

    clean.assert_nothing_recorded_or_leaked(&report).await;
}
