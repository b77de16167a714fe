//! `wardenctl plan --desired`, the fleet-wide plan, `plan --out` and `apply --plan`, against a
//! fake daemon: what is sent (proposed files read here, fingerprints), what is printed (per-step
//! privilege changes, the fleet summary), exit codes and the saved file.

use crate::support;

use chrono::{DateTime, Utc};
use warden_core::drift::{
    Action, FleetPlanDocument, FleetPlanEntry, PLAN_SCHEMA, Plan, PlanBody, PlanDocument,
    PlanFingerprints, PlanStep, SetDiff,
};
use warden_core::jamf::ApiRoleRequest;
use warden_core::protocol::{
    ApplyRequest, ErrorCode, PlanRequest, ProposedFile, ReportBody, ReportFormat, ReportKind,
    ReportResponse, Request, Response,
};

use support::{FakeDaemon, stderr, stdout};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_765_000_000, 0).unwrap()
}

fn report<T: serde::Serialize>(findings: u64, body: &T) -> Response {
    Response::Report(ReportResponse {
        kind: ReportKind::Plan,
        instance: None,
        format: ReportFormat::Json,
        findings,
        body: ReportBody::encode(body).unwrap(),
    })
}

fn fingerprints() -> PlanFingerprints {
    PlanFingerprints {
        live: "11".repeat(32),
        desired: "22".repeat(32),
        plan: "33".repeat(32),
    }
}

/// A plan of `instance` with one role update adding and removing a privilege.
fn doc(instance: &str) -> PlanDocument {
    PlanDocument {
        schema: PLAN_SCHEMA.into(),
        instance: instance.into(),
        checked_at: t0(),
        plan: Plan {
            steps: vec![PlanStep {
                action: Action::UpdateRole,
                name: "Helpdesk".into(),
                id: Some("4".into()),
                body: Some(PlanBody::Role(ApiRoleRequest {
                    display_name: "Helpdesk".into(),
                    privileges: vec!["Read Computers".into()],
                })),
                note: None,
                diff: Some(SetDiff {
                    added: vec!["Read Computers".into()],
                    removed: vec!["View Local Admin Password".into()],
                }),
            }],
        },
        unresolved: 0,
        fingerprints: Some(fingerprints()),
        proposed: Vec::new(),
        drift: None,
    }
}

fn fleet(failed: bool) -> FleetPlanDocument {
    let mut entries = vec![
        FleetPlanEntry {
            instance: "prod".into(),
            error: None,
            plan: Some(doc("prod")),
        },
        FleetPlanEntry {
            instance: "lab".into(),
            error: None,
            plan: Some(PlanDocument {
                plan: Plan::default(),
                ..doc("lab")
            }),
        },
    ];
    if failed {
        entries.push(FleetPlanEntry {
            instance: "edge".into(),
            error: Some("jamf pro is unreachable: connect timeout".into()),
            plan: None,
        });
    }
    FleetPlanDocument::new(entries)
}

fn plan_daemon(failed: bool) -> FakeDaemon {
    FakeDaemon::start(move |request| match request {
        Request::Plan(r) if r.instance.is_empty() => report(1, &fleet(failed)).into(),
        Request::Plan(r) => {
            let mut d = doc(&r.instance);
            // "old" plays a daemon that predates --desired: it ignores the files
            if r.instance != "old" {
                d.proposed = r.desired.iter().map(|f| f.name.clone()).collect();
            }
            report(1, &d).into()
        }
        Request::Apply(r) if r.plan.is_some() && r.instance == "stale" => Response::error(
            ErrorCode::Conflict,
            "the saved plan of stale is out of date: the live state in Jamf changed since it \
             was made; nothing was changed",
        )
        .into(),
        Request::Apply(r) => {
            let report_ = warden_core::drift::ApplyReport {
                schema: warden_core::drift::APPLY_SCHEMA.into(),
                instance: r.instance.clone(),
                started_at: t0(),
                steps: Vec::new(),
            };
            Response::Report(ReportResponse {
                kind: ReportKind::Apply,
                instance: None,
                format: ReportFormat::Json,
                findings: 0,
                body: ReportBody::encode(&report_).unwrap(),
            })
            .into()
        }
        _ => Response::error(ErrorCode::Unsupported, "no").into(),
    })
}

#[test]
fn plan_shows_the_privileges_each_step_adds_and_removes() {
    let daemon = plan_daemon(false);
    let out = daemon.ctl(&["plan", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("+ privilege \"Read Computers\""), "{text}");
    assert!(
        text.contains("- privilege \"View Local Admin Password\""),
        "{text}"
    );
    // --json passes the document through, diff and fingerprints included
    let json = daemon.ctl(&["plan", "prod", "--json"]);
    let parsed: PlanDocument = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed, doc("prod"));
}

#[test]
fn plan_without_instances_is_fleet_wide_with_a_summary() {
    let daemon = plan_daemon(false);
    let out = daemon.ctl(&["plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let prod = text.find("# instance prod").expect(&text);
    let lab = text.find("# instance lab").expect(&text);
    assert!(prod < lab);
    assert!(
        text.contains("Fleet: 1 of 2 instance(s) with changes, 0 could not be planned; 0 to create, 1 to update, 0 to delete, 0 secret(s) to rotate."),
        "{text}"
    );
    assert_eq!(daemon.requests()[0], Request::Plan(PlanRequest::default()));
    // several names: a fleet plan of those
    let _ = daemon.ctl(&["plan", "prod", "lab"]);
    assert_eq!(
        daemon.requests()[1],
        Request::Plan(PlanRequest {
            instances: vec!["prod".into(), "lab".into()],
            ..Default::default()
        })
    );

    // an instance that cannot be planned is listed with its error and exits 2
    let failing = plan_daemon(true);
    let out = failing.ctl(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("# instance edge\n! cannot plan: jamf pro is unreachable"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("1 instance(s) could not be planned: edge"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_desired_sends_the_proposed_files_read_here() {
    let daemon = plan_daemon(false);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.toml"), "version = 1\n").unwrap();
    std::fs::write(dir.path().join("a.toml"), "version = 1\n# a\n").unwrap();
    std::fs::write(dir.path().join("notes.md"), "not sent").unwrap();
    let path = dir.path().to_str().unwrap();
    let out = daemon.ctl(&["plan", "--desired", path, "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let file = |name: &str, text: &str| ProposedFile {
        name: dir.path().join(name).display().to_string(),
        text: text.into(),
    };
    assert_eq!(
        daemon.requests()[0],
        Request::Plan(PlanRequest {
            instance: "prod".into(),
            desired: vec![
                file("a.toml", "version = 1\n# a\n"),
                file("b.toml", "version = 1\n")
            ],
            ..Default::default()
        })
    );
    // one file, no instance: a fleet plan of the instances that list it
    let one = dir.path().join("a.toml");
    let _ = daemon.ctl(&["plan", "--desired", one.to_str().unwrap()]);
    assert_eq!(
        daemon.requests()[1],
        Request::Plan(PlanRequest {
            desired: vec![file("a.toml", "version = 1\n# a\n")],
            ..Default::default()
        })
    );
    // a daemon that ignores the files: its plan of the loaded state is not shown as the
    // proposal's
    let old = daemon.ctl(&["plan", "--desired", one.to_str().unwrap(), "old"]);
    assert_eq!(old.status.code(), Some(2));
    assert!(
        stderr(&old).contains("predates --desired"),
        "{}",
        stderr(&old)
    );
    assert!(stdout(&old).is_empty());
    // over the cap: refused here, nothing sent
    std::fs::write(dir.path().join("c.toml"), "#".repeat(800 * 1024)).unwrap();
    let big = daemon.ctl(&["plan", "--desired", path]);
    assert_eq!(big.status.code(), Some(2));
    assert!(stderr(&big).contains("768 KiB"), "{}", stderr(&big));
    assert_eq!(daemon.requests().len(), 3);
}

#[test]
fn a_saved_plan_is_written_then_applied_by_its_fingerprints() {
    let daemon = plan_daemon(false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let path = file.to_str().unwrap();
    let out = daemon.ctl(&["plan", "prod", "--out", path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let saved: PlanDocument =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved, doc("prod"));
    // never over an existing file; --out needs exactly one instance
    assert_eq!(
        daemon.ctl(&["plan", "prod", "--out", path]).status.code(),
        Some(2)
    );
    assert_eq!(daemon.ctl(&["plan", "--out", path]).status.code(), Some(2));

    let out = daemon.ctl(&["apply", "prod", "--plan", path, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("- privilege \"View Local Admin Password\""));
    let last = daemon.requests().last().cloned().unwrap();
    assert_eq!(
        last,
        Request::Apply(ApplyRequest {
            instance: "prod".into(),
            confirmed: true,
            plan: Some(fingerprints()),
        })
    );
    // one plan made now, to check the daemon can check a saved plan, then the apply
    assert_eq!(daemon.requests().len(), 3);
    // a plan of another instance is refused here
    let other = daemon.ctl(&["apply", "lab", "--plan", path, "--yes"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(stderr(&other).contains("is a plan of instance prod, not lab"));
}

#[test]
fn a_stale_saved_plan_is_refused_with_the_daemons_reason() {
    let daemon = plan_daemon(false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stale.json");
    std::fs::write(&file, serde_json::to_string(&doc("stale")).unwrap()).unwrap();
    let out = daemon.ctl(&["apply", "stale", "--plan", file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("out of date"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
}
