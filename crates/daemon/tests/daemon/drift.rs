//! `Request::Drift` and `Request::Plan` against the daemon in-process: declared versus live, checked
//! now, read-only. A live role with an extra privilege, a missing declared client and an
//! unmanaged live client are reported; Warden's own management role and client are not; the
//! built-in Jamf app client is foreign; a misspelt privilege is rejected with a suggestion; the
//! plan is ordered and nothing in Jamf changes.

use crate::common;

use common::rotation::{NO_JOBS, ROLE, desired_toml};
use common::{Cfg, Env, send};
use warden_core::drift::{DriftDocument, PlanDocument, render_drift, render_plan_doc};
use warden_core::protocol::{DriftRequest, ErrorCode, PlanRequest, ReportKind, Request, Response};

/// Findings and the report rendered as `wardenctl` prints it (no colour).
fn report_text(response: &Response) -> (u64, String) {
    match response {
        Response::Report(r) => {
            let text = match r.kind {
                ReportKind::Drift => {
                    let doc: DriftDocument = r.body.decode().unwrap();
                    render_drift(&doc, false)
                }
                ReportKind::Plan => {
                    let doc: PlanDocument = r.body.decode().unwrap();
                    render_plan_doc(&doc, false)
                }
                other => panic!("unexpected report kind {other:?}"),
            };
            (r.findings, text)
        }
        other => panic!("expected a report, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_plan_report_differences_without_changing_anything() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let managed = env.add_managed_client("alpha", "Inventory Sync").await;
    let sim = &env.instance("alpha").sim;
    // live drift: the declared role grew a privilege; an unmanaged client exists
    let role = sim.role_by_name(ROLE).unwrap();
    sim.update_role(
        &role.id,
        ROLE,
        ["Read Computers", "View Local Admin Password"],
    )
    .unwrap();
    sim.create_client("Old Jenkins", [ROLE], true, 3600)
        .unwrap();
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(
        &cfg,
        &desired_toml(&["Inventory Sync", "Missing Client"], ""),
    );
    let daemon = env.start_wardend(None).await;
    let roles_before = sim.roles();
    let clients_before = sim.clients();

    let drift = send(
        &daemon.socket,
        Request::Drift(DriftRequest {
            instances: vec!["alpha".into()],
            now: true,
            refresh_catalogue: false,
        }),
    )
    .await;
    let (findings, text) = report_text(&drift);
    assert!(findings >= 3, "{text}");
    assert!(text.contains("View Local Admin Password"), "{text}");
    assert!(text.contains("Missing Client"), "{text}");
    assert!(text.contains("Old Jenkins"), "{text}");
    assert!(
        !text.contains("Jamf Warden"),
        "the management client is Warden's own: {text}"
    );
    if let Response::Report(r) = &drift {
        assert_eq!(r.kind, ReportKind::Drift);
    }

    let plan = send(
        &daemon.socket,
        Request::Plan(PlanRequest {
            instance: "alpha".into(),
            refresh_catalogue: false,
            ..Default::default()
        }),
    )
    .await;
    let (steps, text) = report_text(&plan);
    assert!(steps >= 2, "{text}");
    // the role is fixed before the missing client that uses it is created
    let role_at = text.find(ROLE).expect("role step");
    let client_at = text.find("Missing Client").expect("client step");
    assert!(role_at < client_at, "{text}");
    // without prune the unmanaged client is left alone
    assert!(!text.contains("Old Jenkins"), "{text}");

    // read-only: Jamf is unchanged and the managed client's secret still works
    assert_eq!(sim.roles(), roles_before);
    assert_eq!(sim.clients(), clients_before);
    assert_eq!(
        common::rotation::token_status(
            &env.instance("alpha").url,
            &managed.client_id,
            &managed.initial_secret
        )
        .await,
        200
    );

    // unknown instance
    let missing = send(
        &daemon.socket,
        Request::Plan(PlanRequest {
            instance: "nope".into(),
            refresh_catalogue: false,
            ..Default::default()
        }),
    )
    .await;
    assert!(
        matches!(
            missing,
            Response::Error {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misspelt_privileges_are_rejected_with_suggestions() {
    let env = Env::start_memory(&["alpha"]).await;
    env.mark_management_rotated("alpha").await;
    let mut cfg = Cfg::new(&["alpha"]);
    cfg.schedules = NO_JOBS.into();
    let desired = "version = 1\n\n[[role]]\nname = \"Readers\"\nprivileges = [\"Read Computer\"]\n";
    env.write_rotation_config(&cfg, desired);
    let daemon = env.start_wardend(None).await;
    let plan = send(
        &daemon.socket,
        Request::Plan(PlanRequest {
            instance: "alpha".into(),
            refresh_catalogue: false,
            ..Default::default()
        }),
    )
    .await;
    match plan {
        Response::Error { code, message } => {
            assert_eq!(code, ErrorCode::BadRequest);
            assert!(message.contains("Read Computer"), "{message}");
            assert!(message.contains("did you mean"), "{message}");
            assert!(message.contains("Read Computers"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let drift = send(
        &daemon.socket,
        Request::Drift(DriftRequest {
            instances: vec![],
            now: true,
            refresh_catalogue: false,
        }),
    )
    .await;
    let (findings, text) = report_text(&drift);
    assert!(findings >= 1 && text.contains("did you mean"), "{text}");
}
