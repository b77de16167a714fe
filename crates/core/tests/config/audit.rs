//! `[audit]`: thresholds, site classifications and suppressions, with located errors.

use chrono::NaiveDate;
use warden_core::audit::{Category, Suppression};

use crate::common::{Dir, assert_contains, with};

const INSTANCE: &str = "[[instance]]\nname = \"prod\"\nurl = \"https://prod.jamfcloud.com\"\n";

#[test]
fn defaults_and_a_full_section() {
    let dir = Dir::new();
    let config = dir.load(&with(INSTANCE)).expect("valid");
    assert_eq!(config.audit.breadth_share, 0.5);
    assert_eq!(config.audit.max_token_lifetime, 1800);
    assert_eq!(
        config.audit.history_days, 400,
        "a yearly review period and some"
    );
    assert!(config.audit.suppressions.is_empty());

    let text = with(&format!(
        "{INSTANCE}\n[audit]\nbreadth_share = 0.4\nbreadth_count = 120\nnear_admin_share = 0.8\n\
         crud_object_types = 5\nmax_token_lifetime = \"15m\"\nhistory = \"730d\"\n\n\
         [[audit.classify]]\nprivilege = \"Read Computers\"\ncategory = \"secret_disclosure\"\n\
         source = \"serial numbers are sensitive here\"\n\n\
         [[audit.suppression]]\nrule = \"JW-SEC-001\"\ninstance = \"prod\"\nobject = \"role:Escrow\"\n\
         reason = \"escrow job\"\nowner = \"secops\"\nexpires = 2027-01-31\n\n\
         [[audit.suppression]]\nrule = \"JW-HYG-001\"\ninstance = \"*\"\nobject = \"*\"\n\
         reason = \"legacy\"\nowner = \"it\"\nexpires = \"2026-12-31\"\n"
    ));
    let config = dir.load(&text).expect("valid");
    let a = &config.audit;
    assert_eq!((a.breadth_share, a.breadth_count), (0.4, Some(120)));
    assert_eq!((a.near_admin_share, a.crud_object_types), (0.8, 5));
    assert_eq!(a.max_token_lifetime, 900);
    assert_eq!(a.history_days, 730);
    assert_eq!(a.classify[0].category, Category::SecretDisclosure);
    assert_eq!(
        a.suppressions[0],
        Suppression {
            rule: "JW-SEC-001".into(),
            instance: "prod".into(),
            object: "role:Escrow".into(),
            reason: "escrow job".into(),
            owner: "secops".into(),
            expires: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(),
        }
    );
    assert_eq!(
        a.suppressions[1].expires,
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
    );
    // the effective config renders [audit] so that it loads again
    let effective = config.render_effective();
    let again = dir.load(&effective).expect("effective config loads");
    assert_eq!(again.audit, config.audit);
}

#[test]
fn every_bad_value_is_reported_with_what_to_do() {
    let dir = Dir::new();
    let text = with(&format!(
        "{INSTANCE}\n[audit]\nbreadth_share = 1.5\nmax_token_lifetime = \"soon\"\nhistory = \"4000d\"\n\n\
         [[audit.classify]]\nprivilege = \"Read Computers\"\ncategory = \"secrets\"\nsource = \"\"\n\n\
         [[audit.suppression]]\nrule = \"JW-SEC-01\"\ninstance = \"staging\"\nobject = \"Escrow\"\n\
         reason = \" \"\nowner = \"secops\"\nexpires = \"someday\"\n"
    ));
    let (msg, n) = dir.errors(&text);
    assert_eq!(n, 10, "{msg}");
    assert_contains(
        &msg,
        &[
            "`audit.breadth_share`: must be a share of the catalogue above 0 and at most 1",
            "`audit.max_token_lifetime`",
            "`audit.history`",
            "`audit.classify.category`: unknown category \"secrets\"",
            "`audit.classify.source`: must not be empty",
            "`audit.suppression.rule`: unknown rule \"JW-SEC-01\"; did you mean JW-SEC-001",
            "`audit.suppression.reason`: must not be empty: say why the finding is accepted",
            "`audit.suppression.instance`: no instance named \"staging\" is configured; use one of prod or \"*\"",
            "`audit.suppression.object`: must be \"role:NAME\", \"client:NAME\" or \"*\"",
            "`audit.suppression.expires`: must be a date such as 2027-01-31",
        ],
    );
    let unknown = with("[audit]\nbreadth = 0.5\n");
    let (msg, _) = dir.errors(&unknown);
    assert_contains(&msg, &["unknown field `breadth`"]);
}
