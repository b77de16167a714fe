//! The scheduled audit of the daemon in-process: before its first run `--last` says "not audited
//! yet"; the run at start records the new findings once; `--last` answers the kept report, which
//! a restart keeps while the job is not due; a new run that sees the same findings records
//! nothing, one that sees a finding fixed records it resolved; a suppression added to the
//! configuration applies to the kept report at once. No secret shows up in the daemon's files.

use crate::common;

use std::collections::BTreeSet;

use common::audit::{
    AUDIT_AT_START, all_secrets, audit, audit_records, finding, finding_keys, key_set, keys,
    new_keys, start_empty, wait_audit_job_done,
};
use common::drift::stop;
use common::rotation::NO_JOBS;
use common::{Cfg, Daemon, Env};
use serde_json::json;
use warden_core::audit::RULE_PACK_VERSION;

/// The finding about the wiping role, the one fixed in Jamf.
const WIPE_KEY: &str = "JW-DST-001/alpha/role:Wiper";

/// The desired state: nothing declared.
const DESIRED: &str = "version = 1\n";

/// `alpha` with an undeclared client on a read-only role and an undeclared client on a role
/// that can wipe devices; each client's secret minted in Jamf only.
struct Scheduled {
    env: Env,
    cfg: Cfg,
    /// The wiping role's id.
    wiper: String,
    minted: Vec<String>,
}

impl Scheduled {
    /// The estate, configured with no scheduled job (not started).
    async fn new() -> Scheduled {
        let env = start_empty(&["alpha"]).await;
        let sim = &env.instance("alpha").sim;
        sim.create_role("Shadow Role", ["Read Computers"]).unwrap();
        let (shadow, _) = sim
            .create_client("Shadow Client", ["Shadow Role"], true, 300)
            .unwrap();
        let wiper = sim
            .create_role(
                "Wiper",
                ["Read Computers", "Send Computer Remote Wipe Command"],
            )
            .unwrap();
        let (wipe, _) = sim
            .create_client("Wipe Client", ["Wiper"], true, 300)
            .unwrap();
        let minted = vec![
            sim.mint_secret(shadow).unwrap(),
            sim.mint_secret(wipe).unwrap(),
        ];
        let mut cfg = Cfg::new(&["alpha"]);
        cfg.schedules = NO_JOBS.into();
        env.write_rotation_config(&cfg, DESIRED);
        Scheduled {
            env,
            cfg,
            wiper,
            minted,
        }
    }

    /// The estate with the audit job due at start: wardend started, its audit run finished.
    async fn audited_at_start() -> (Scheduled, Daemon) {
        let mut s = Scheduled::new().await;
        s.cfg.schedules = AUDIT_AT_START.into();
        s.env.write_rotation_config(&s.cfg, DESIRED);
        let daemon = s.env.start_wardend(None).await;
        wait_audit_job_done(&daemon.socket).await;
        (s, daemon)
    }

    /// Stops `daemon`, makes the audit job due again and starts wardend until the run finished.
    async fn audit_again(&self, mut daemon: Daemon) -> Daemon {
        stop(&mut daemon).await;
        self.env.forget_job_runs();
        let daemon = self.env.start_wardend(None).await;
        wait_audit_job_done(&daemon.socket).await;
        daemon
    }

    /// Removes the wipe privilege from the wiping role in Jamf.
    fn fix_wiper(&self) {
        let sim = &self.env.instance("alpha").sim;
        sim.update_role(&self.wiper, "Wiper", ["Read Computers"])
            .unwrap();
    }

    /// No secret in the daemon's files.
    async fn assert_nothing_leaked(&self) {
        let env = &self.env;
        let secrets = all_secrets(env, "alpha", &[], &self.minted).await;
        env.assert_absent_from(&env.daemon_files(), &secrets);
    }
}

/// The unsuppressed findings of the estate as built.
fn initial() -> BTreeSet<String> {
    [
        WIPE_KEY,
        "JW-HYG-007/alpha/client:Shadow Client",
        "JW-HYG-007/alpha/client:Wipe Client",
    ]
    .map(str::to_owned)
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_first_scheduled_audit_last_says_not_audited_yet_and_nothing_is_recorded() {
    let s = Scheduled::new().await;
    let env = &s.env;

    let mut daemon = env.start_wardend(None).await;
    let (_, never) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(never.summary.errors, 1);
    let error = never.instances[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("not audited yet"), "{error}");
    assert!(never.instances[0].findings.is_empty());
    assert!(never.instances[0].checked_at.is_none());
    stop(&mut daemon).await;
    assert!(audit_records(env).is_empty());

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_job_at_start_records_the_new_findings_once() {
    let (s, _daemon) = Scheduled::audited_at_start().await;
    let env = &s.env;
    let initial = initial();
    let wipe_key = WIPE_KEY;

    let records = audit_records(env);
    assert_eq!(records.len(), 1, "{records:#?}");
    let first = &records[0];
    assert_eq!(first["actor"]["kind"], "schedule");
    assert_eq!(first["actor"]["job"], "audit:alpha");
    assert_eq!(first["object"]["kind"], "instance");
    assert_eq!(first["object"]["name"], "alpha");
    assert_eq!(first["instance"], "alpha");
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["after"]["rule_pack"], RULE_PACK_VERSION);
    assert_eq!(first["after"]["resolved"], json!([]));
    assert_eq!(
        new_keys(first),
        initial,
        "the suppressed finding is not new"
    );
    let wipe_entry = first["after"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["key"] == wipe_key)
        .unwrap();
    assert_eq!(wipe_entry["rule"], "JW-DST-001");
    assert_eq!(wipe_entry["severity"], "high");
    assert_eq!(
        wipe_entry["title"],
        "Role can wipe, lock or unmanage devices"
    );
    assert_eq!(
        wipe_entry["privileges"],
        json!(["Send Computer Remote Wipe Command"])
    );

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_answers_the_kept_audit_with_the_builtin_suppression_applied() {
    let (s, daemon) = Scheduled::audited_at_start().await;
    let initial = initial();

    let (count, last) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(count, 3);
    assert_eq!(finding_keys(&last), initial);
    assert_eq!(
        keys(&last, true),
        key_set(&[("JW-ESC-001", "role:Jamf Warden")])
    );
    assert!(last.instances[0].checked_at.is_some(), "checked at");
    assert_eq!(last.instances[0].catalogue.as_ref().unwrap().size, 522);

    s.assert_nothing_leaked().await;
}

/// The time of the kept audit `--last` answers.
async fn last_checked_at(daemon: &Daemon) -> chrono::DateTime<chrono::Utc> {
    let (_, last) = audit(&daemon.socket, &["alpha"], None, true).await;
    last.instances[0].checked_at.expect("checked at")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_report_while_the_job_is_not_due() {
    let (s, mut daemon) = Scheduled::audited_at_start().await;
    let first_run = last_checked_at(&daemon).await;

    // A restart keeps the report (the job is not due, so it does not run).
    stop(&mut daemon).await;
    let daemon = s.env.start_wardend(None).await;
    let (_, kept) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(kept.instances[0].checked_at, Some(first_run));
    assert_eq!(finding_keys(&kept), initial());

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_run_that_sees_the_same_findings_records_nothing() {
    let (s, daemon) = Scheduled::audited_at_start().await;
    let first_run = last_checked_at(&daemon).await;

    // The same findings seen again by a new run: no new record.
    let daemon = s.audit_again(daemon).await;
    let (_, again) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_ne!(
        again.instances[0].checked_at,
        Some(first_run),
        "the audit ran again"
    );
    assert_eq!(finding_keys(&again), initial());
    assert_eq!(audit_records(&s.env).len(), 1);

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_fixed_in_jamf_is_recorded_resolved_once() {
    let (s, daemon) = Scheduled::audited_at_start().await;
    let env = &s.env;
    let initial = initial();
    let wipe_key = WIPE_KEY;

    // One finding fixed in Jamf: one record with it resolved and nothing new.
    s.fix_wiper();
    let daemon = s.audit_again(daemon).await;
    let records = audit_records(env);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[1]["after"]["new"], json!([]));
    assert_eq!(records[1]["after"]["resolved"], json!([wipe_key]));
    assert_eq!(records[1]["actor"]["job"], "audit:alpha");
    let (count, fixed) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(count, 2);
    let mut remaining = initial.clone();
    remaining.remove(wipe_key);
    assert_eq!(finding_keys(&fixed), remaining);

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppression_added_to_the_configuration_applies_to_the_kept_report_at_once() {
    let (mut s, daemon) = Scheduled::audited_at_start().await;
    // The kept report is the one of a run after the wiping role was fixed.
    s.fix_wiper();
    let mut daemon = s.audit_again(daemon).await;
    let fixed_at = audit(&daemon.socket, &["alpha"], None, true)
        .await
        .1
        .instances[0]
        .checked_at;
    assert_eq!(audit_records(&s.env).len(), 2);

    // A suppression added to the configuration applies to the kept report at once, without a
    // new audit (the job is not due) and without a record.
    stop(&mut daemon).await;
    s.cfg.tables = "[[audit.suppression]]\nrule = \"JW-HYG-007\"\ninstance = \"alpha\"\n\
                  object = \"client:Shadow Client\"\nreason = \"being replaced\"\n\
                  owner = \"it@example.com\"\nexpires = 2099-12-31\n"
        .into();
    s.env.write_rotation_config(&s.cfg, DESIRED);
    let mut daemon = s.env.start_wardend(None).await;
    let (count, suppressed) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(suppressed.instances[0].checked_at, fixed_at);
    assert_eq!(count, 1);
    assert_eq!(
        finding(&suppressed, "JW-HYG-007", "client:Shadow Client").suppressed_by,
        Some(1)
    );
    assert_eq!(suppressed.suppressions[1].matched, 1);
    stop(&mut daemon).await;
    assert_eq!(audit_records(&s.env).len(), 2);

    s.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_show_what_is_new_and_resolved_since_the_last_audit_and_the_trend() {
    let (s, daemon) = Scheduled::audited_at_start().await;
    let first_run = last_checked_at(&daemon).await;

    // The first scheduled audit: nothing before it; one point of trend; the --last report
    // says when its data was gathered.
    let (_, first) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(first.gathered_at, Some(first_run));
    assert!(first.generated_at >= first_run);
    let kept = &first.instances[0];
    assert_eq!(kept.since_last, None);
    assert_eq!(kept.trend.len(), 1);
    let point = &kept.trend[0];
    // kept to the second; Warden's own role is suppressed (built in)
    assert_eq!(
        (
            point.at.timestamp(),
            point.high,
            point.medium,
            point.suppressed
        ),
        (first_run.timestamp(), 1, 2, 1)
    );

    // A live audit after a fix in Jamf: compared with the kept audit.
    s.fix_wiper();
    let (_, live) = audit(&daemon.socket, &["alpha"], None, false).await;
    assert_eq!(live.gathered_at, None, "a live audit is as of now");
    let since = live.instances[0].since_last.clone().expect("a kept audit");
    assert_eq!(since.since, first_run);
    assert_eq!(
        (since.new, since.resolved),
        (vec![], vec![WIPE_KEY.to_owned()])
    );

    // The next scheduled audit keeps the comparison with the one before it, and the trend
    // its run (the last run of each UTC day is kept).
    let daemon = s.audit_again(daemon).await;
    let second_run = last_checked_at(&daemon).await;
    let (_, last) = audit(&daemon.socket, &["alpha"], None, true).await;
    assert_eq!(last.gathered_at, Some(second_run));
    let kept = &last.instances[0];
    let since = kept.since_last.clone().expect("the audit before");
    assert_eq!(since.since, first_run);
    assert_eq!(
        (since.new, since.resolved),
        (vec![], vec![WIPE_KEY.to_owned()])
    );
    let same_day = first_run.date_naive() == second_run.date_naive();
    assert_eq!(kept.trend.len(), if same_day { 1 } else { 2 });
    let point = kept.trend.last().expect("a point");
    assert_eq!(
        (point.at.timestamp(), point.high, point.medium),
        (second_run.timestamp(), 0, 2)
    );

    s.assert_nothing_leaked().await;
}
