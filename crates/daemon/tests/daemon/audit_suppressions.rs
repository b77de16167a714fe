//! Suppressions of the crafted estate's audit (see `common::audit::crafted`): every suppression
//! is listed with what it matched, the active one applies, and the expired one suppresses
//! nothing and is reported itself.

use crate::common;

use common::audit::crafted::{CraftedDaemon, EXPIRED_SUBJECT};
use common::audit::{fact, finding};
use warden_core::audit::{Severity, SuppressionState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppressions_are_listed_and_apply_until_they_expire_then_are_reported() {
    let estate = CraftedDaemon::start().await;
    let (_, report) = estate.audit().await;

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
    let expired = finding(&report, "JW-SUP-001", EXPIRED_SUBJECT);
    assert_eq!(expired.severity, Severity::Medium);
    assert_eq!(fact(expired, "rule"), "JW-INF-001");
    assert_eq!(fact(expired, "object"), "role:Plumber");
    assert_eq!(fact(expired, "owner"), "ops@example.com");
    assert_eq!(fact(expired, "expired"), "2020-01-31");

    estate.assert_nothing_recorded_or_leaked(&[&report]).await;
}
