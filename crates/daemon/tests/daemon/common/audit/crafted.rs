//! The crafted estate of the `audit_*` tests: one role or client on `alpha` for each rule of the
//! pack, the suppressions that go with it, and wardend started on it with no scheduled job.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Duration;
use warden_core::audit::{AuditReport, Class, RiskCatalogue};

use super::super::drift::with_action;
use super::super::rotation::NO_JOBS;
use super::super::{Cfg, Daemon, Env};
use super::{
    all_secrets, assert_text_clean, audit, catalogue, client_path, client_toml, key_set,
    mark_rotated, role_toml, start_empty, store_secret, strings,
};

/// The crafted estate: what a test puts in the simulator, the desired state, the secrets.
pub struct Crafted {
    pub desired: String,
    pub minted: Vec<String>,
    pub paths: Vec<String>,
    /// The broad role's privileges (known, not risky, no `Create`): 300 of 522.
    pub broad: Vec<String>,
    /// Full CRUD over ten object types.
    pub many_writes: Vec<String>,
}

/// How a crafted client's secret stands.
#[derive(Clone, Copy, PartialEq)]
pub enum Secret {
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
pub type RoleSpec = (&'static str, (Vec<String>, Option<Vec<String>>));

/// A crafted client: its name, roles, whether it is enabled, its token lifetime, its secret and
/// whether the desired state declares it.
pub type ClientSpec = (&'static str, Vec<&'static str>, bool, u32, Secret, bool);

/// Builds the crafted estate on `alpha`: one role or client per rule.
pub async fn craft(env: &Env) -> Crafted {
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
            Secret::Rotated => mark_rotated(env, &path, warden_core::clock::system()()).await,
            Secret::Aged => {
                mark_rotated(
                    env,
                    &path,
                    warden_core::clock::system()() - Duration::days(90),
                )
                .await
            }
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
pub const SUPPRESSIONS: &str = "[audit]\nmax_token_lifetime = \"1h\"\n\n\
[[audit.suppression]]\nrule = \"JW-SEC-001\"\ninstance = \"alpha\"\nobject = \"role:Escrow\"\n\
reason = \"the recovery-key escrow integration\"\nowner = \"secops@example.com\"\n\
expires = 2099-12-31\n\n\
[[audit.suppression]]\nrule = \"JW-INF-001\"\ninstance = \"*\"\nobject = \"role:Plumber\"\n\
reason = \"webhook migration\"\nowner = \"ops@example.com\"\nexpires = 2020-01-31\n\n\
[[audit.suppression]]\nrule = \"JW-HYG-007\"\ninstance = \"alpha\"\nobject = \"client:Nobody\"\n\
reason = \"vendor client\"\nowner = \"it@example.com\"\nexpires = \"2099-12-31\"\n";

/// The subject of the finding about the expired suppression of [`SUPPRESSIONS`].
pub const EXPIRED_SUBJECT: &str = "suppression:JW-INF-001 on */role:Plumber";

/// `(rule, subject key)` of every unsuppressed finding of the crafted estate.
pub fn expected_findings() -> BTreeSet<(String, String)> {
    key_set(&[
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
        ("JW-SUP-001", EXPIRED_SUBJECT),
    ])
}

/// The crafted estate on `alpha`, configured with [`SUPPRESSIONS`], and wardend running on it
/// with no scheduled job.
pub struct CraftedDaemon {
    pub env: Env,
    pub crafted: Crafted,
    pub daemon: Daemon,
}

impl CraftedDaemon {
    pub async fn start() -> CraftedDaemon {
        let env = start_empty(&["alpha"]).await;
        let crafted = craft(&env).await;
        let mut cfg = Cfg::new(&["alpha"]);
        cfg.schedules = NO_JOBS.into();
        cfg.tables = SUPPRESSIONS.into();
        env.write_rotation_config(&cfg, &crafted.desired);
        let daemon = env.start_wardend(None).await;
        CraftedDaemon {
            env,
            crafted,
            daemon,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.daemon.socket
    }

    /// An audit of `alpha` now: the unsuppressed count the response states, and the report.
    /// Fails if the instance could not be audited.
    pub async fn audit(&self) -> (u64, AuditReport) {
        let (count, report) = audit(self.socket(), &["alpha"], None, false).await;
        assert_eq!(report.summary.errors, 0, "{:?}", report.instances[0].error);
        (count, report)
    }

    /// Audits record nothing; no secret shows up in `reports` or the daemon's files.
    pub async fn assert_nothing_recorded_or_leaked(&self, reports: &[&AuditReport]) {
        let env = &self.env;
        assert!(with_action(&env.records(), "audit").is_empty());
        let secrets = all_secrets(env, "alpha", &self.crafted.paths, &self.crafted.minted).await;
        for report in reports {
            assert_text_clean(
                "the audit report",
                &serde_json::to_string(report).unwrap(),
                &secrets,
            );
        }
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}
