//! `wardenctl drift`, `plan`, `apply` and `import` end to end, against a fake daemon: what is
//! sent, what is printed (text and `--json`), exit codes, confirmation and files written.

#[allow(dead_code)]
use crate::support;

use chrono::{DateTime, Utc};
use serde_json::json;
use warden_core::drift::{
    APPLY_SCHEMA, Action, ApplyReport, CheckSource, DriftDocument, DriftItem, DriftKind,
    DriftReport, InstanceDrift, ObjectKind, PLAN_SCHEMA, Plan, PlanDocument, PlanStep, StepResult,
    StepStatus,
};
use warden_core::protocol::{
    ApplyRequest, DriftRequest, ErrorCode, ImportRequest, PlanRequest, ReportBody, ReportFormat,
    ReportKind, ReportResponse, Request, Response,
};

use support::{FakeDaemon, stderr, stdout};

/// A fixed time for the documents the fake daemon sends (nothing here is relative to now).
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_765_000_000, 0).unwrap()
}

fn report(kind: ReportKind, findings: u64, body: serde_json::Value) -> Response {
    Response::Report(ReportResponse {
        kind,
        instance: None,
        format: ReportFormat::Json,
        findings,
        body: ReportBody::encode(&body).unwrap(),
    })
}

fn drifted(instance: &str) -> InstanceDrift {
    InstanceDrift {
        instance: instance.into(),
        source: CheckSource::Scheduled,
        checked_at: Some(t0()),
        error: None,
        invalid: Vec::new(),
        report: DriftReport {
            items: vec![DriftItem {
                kind: DriftKind::PrivilegesRemoved,
                object: ObjectKind::Role,
                name: "Inventory Read".into(),
                field: Some("privileges".into()),
                before: Some(json!(["View Local Admin Password"])),
                after: None,
                managed: true,
                evidence: None,
            }],
            foreign: vec!["client \"Jamf Teacher\"".into()],
            held: Vec::new(),
        },
        catalogue: None,
        catalogue_change: None,
    }
}

fn step(action: Action, name: &str) -> PlanStep {
    PlanStep {
        action,
        name: name.into(),
        id: Some("4".into()),
        body: None,
        note: None,
        diff: None,
    }
}

fn plan_doc(steps: Vec<PlanStep>) -> PlanDocument {
    PlanDocument {
        schema: PLAN_SCHEMA.into(),
        instance: "prod".into(),
        checked_at: t0(),
        plan: Plan { steps },
        unresolved: 0,
        fingerprints: None,
        proposed: Vec::new(),
        drift: None,
    }
}

#[test]
fn drift_prints_the_last_report_and_exits_1_on_drift() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Drift(r) => {
            let doc = DriftDocument::new(
                r.instances
                    .iter()
                    .map(|n| {
                        if n == "clean" {
                            InstanceDrift {
                                report: DriftReport::default(),
                                ..drifted(n)
                            }
                        } else if n == "down" {
                            InstanceDrift {
                                report: DriftReport::default(),
                                error: Some("jamf is unreachable: connection refused".into()),
                                ..drifted(n)
                            }
                        } else {
                            drifted(n)
                        }
                    })
                    .collect(),
            );
            report(
                ReportKind::Drift,
                doc.findings(),
                serde_json::to_value(doc).unwrap(),
            )
            .into()
        }
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let out = daemon.ctl(&["drift", "prod", "clean"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("# instance prod: scheduled check at"),
        "{text}"
    );
    assert!(text.contains("~ role \"Inventory Read\""), "{text}");
    assert!(
        text.contains("- privilege \"View Local Admin Password\""),
        "{text}"
    );
    assert!(
        text.contains("client \"Jamf Teacher\" (foreign: left alone)"),
        "{text}"
    );
    assert!(text.contains("# instance clean"), "{text}");
    assert!(text.contains("No drift"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let clean = daemon.ctl(&["drift", "clean", "--now", "--refresh-catalogue"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));

    let json_out = daemon.ctl(&["drift", "prod", "--json"]);
    assert_eq!(json_out.status.code(), Some(1));
    let doc: DriftDocument = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(doc.schema, "warden.drift/1");
    assert_eq!(doc.instances[0].report.items.len(), 1);

    assert_eq!(
        daemon.requests()[..2],
        [
            Request::Drift(DriftRequest {
                instances: vec!["prod".into(), "clean".into()],
                now: false,
                refresh_catalogue: false,
            }),
            Request::Drift(DriftRequest {
                instances: vec!["clean".into()],
                now: true,
                refresh_catalogue: true,
            }),
        ]
    );
    // --refresh-catalogue only makes sense with --now
    let bad = daemon.ctl(&["drift", "--refresh-catalogue"]);
    assert_eq!(bad.status.code(), Some(2));
    // an instance that could not be checked: 2, like audit, after the report
    let down = daemon.ctl(&["drift", "prod", "down", "--now"]);
    assert_eq!(down.status.code(), Some(2), "{}", stderr(&down));
    assert!(
        stdout(&down).contains("# instance prod"),
        "{}",
        stdout(&down)
    );
    assert!(
        stderr(&down).contains("1 instance(s) could not be checked:\n  down: jamf is unreachable"),
        "{}",
        stderr(&down)
    );
}

#[test]
fn plan_exits_1_when_there_are_changes() {
    let daemon = FakeDaemon::start(|request| match request {
        Request::Plan(r) => {
            let steps = if r.instance == "prod" {
                vec![step(Action::UpdateRole, "Inventory Read")]
            } else {
                Vec::new()
            };
            let doc = plan_doc(steps);
            report(
                ReportKind::Plan,
                doc.plan.steps.len() as u64,
                serde_json::to_value(doc).unwrap(),
            )
            .into()
        }
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let out = daemon.ctl(&["plan", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("~ update role \"Inventory Read\" (id 4)"));
    assert!(stdout(&out).contains("Plan: 0 to create, 1 to change, 0 to delete."));
    let none = daemon.ctl(&["plan", "clean", "--refresh-catalogue"]);
    assert_eq!(none.status.code(), Some(0));
    assert!(stdout(&none).contains("No changes"));
    assert_eq!(
        daemon.requests()[1],
        Request::Plan(PlanRequest {
            instance: "clean".into(),
            refresh_catalogue: true,
            ..Default::default()
        })
    );
}

fn apply_daemon(fail: bool) -> FakeDaemon {
    FakeDaemon::start(move |request| match request {
        Request::Plan(_) => {
            let doc = plan_doc(vec![
                step(Action::CreateRole, "New Role"),
                step(Action::UpdateClient, "Sync"),
            ]);
            report(ReportKind::Plan, 2, serde_json::to_value(doc).unwrap()).into()
        }
        Request::Apply(_) => {
            let statuses = if fail {
                [StepStatus::Done, StepStatus::Failed]
            } else {
                [StepStatus::Done, StepStatus::Done]
            };
            let steps = [
                step(Action::CreateRole, "New Role"),
                step(Action::UpdateClient, "Sync"),
            ]
            .into_iter()
            .zip(statuses)
            .map(|(step, status)| StepResult {
                step,
                status,
                error: (status == StepStatus::Failed).then(|| "jamf answered 503".into()),
                change_seq: Some(12),
            })
            .collect();
            let report_ = ApplyReport {
                schema: APPLY_SCHEMA.into(),
                instance: "prod".into(),
                started_at: t0(),
                steps,
            };
            report(ReportKind::Apply, 0, serde_json::to_value(report_).unwrap()).into()
        }
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    })
}

#[test]
fn apply_shows_the_plan_then_applies_with_yes() {
    let daemon = apply_daemon(false);
    let out = daemon.ctl(&["apply", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let plan_at = text.find("Plan: 1 to create, 1 to change").expect(&text);
    let done_at = text
        .find("Apply complete: 2 of 2 step(s) done.")
        .expect(&text);
    assert!(plan_at < done_at, "{text}");
    assert_eq!(
        daemon.requests()[1],
        Request::Apply(ApplyRequest {
            instance: "prod".into(),
            confirmed: true,
            ..Default::default()
        })
    );
    // without --yes and without a terminal nothing is asked of the daemon
    let refused = daemon.ctl(&["apply", "prod"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("pass --yes"));
    assert_eq!(daemon.requests().len(), 2);
}

#[test]
fn a_failed_step_exits_2_and_says_what_was_done() {
    let daemon = apply_daemon(true);
    let out = daemon.ctl(&["apply", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("update client \"Sync\" (id 4): FAILED"),
        "{text}"
    );
    assert!(text.contains("error: jamf answered 503"), "{text}");
    assert!(text.contains("1 of 2 step(s) done"), "{text}");
    assert!(
        stderr(&out).contains("apply of prod stopped at a failed step (1 of 2 done)"),
        "{}",
        stderr(&out)
    );
    let json_out = daemon.ctl(&["apply", "prod", "--yes", "--json"]);
    assert_eq!(json_out.status.code(), Some(2));
    let parsed: ApplyReport = serde_json::from_slice(&json_out.stdout).unwrap();
    assert!(parsed.failed());
}

#[test]
fn import_writes_a_new_file_and_never_overwrites_without_force() {
    const FILE: &str = "version = 1\n\n[[role]]\nname = \"A\"\nprivileges = [\"Read Computers\"]\n";
    let daemon = FakeDaemon::start(|request| match request {
        Request::Import(_) => Response::Report(ReportResponse {
            kind: ReportKind::Import,
            instance: Some("prod".into()),
            format: ReportFormat::Text,
            findings: 0,
            body: FILE.into(),
        })
        .into(),
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    });
    let printed = daemon.ctl(&["import", "prod"]);
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    assert_eq!(stdout(&printed), FILE);
    let json_out = daemon.ctl(&["import", "prod", "--json"]);
    assert_eq!(json_out.status.code(), Some(0), "{}", stderr(&json_out));
    let doc: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(doc["schema"], "warden.import/1");
    assert_eq!(doc["instance"], "prod");
    assert_eq!(doc["desired"]["role"][0]["name"], "A");
    assert_eq!(doc["toml"], FILE);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.toml");
    let file = path.to_str().unwrap();
    let wrote = daemon.ctl(&["import", "prod", "--output", file]);
    assert_eq!(wrote.status.code(), Some(0), "{}", stderr(&wrote));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    assert!(stderr(&wrote).contains("fill in each client's owner and purpose"));

    std::fs::write(&path, "keep me").unwrap();
    let refused = daemon.ctl(&["import", "prod", "-o", file]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("pass --force"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    let forced = daemon.ctl(&["import", "prod", "-o", file, "--force"]);
    assert_eq!(forced.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    assert_eq!(
        daemon.requests()[0],
        Request::Import(ImportRequest {
            instance: "prod".into()
        })
    );
}
