//! A fleet audit asked in parts (what `wardenctl audit` asks for): `report_start`, parts of at
//! most 64 instances, `report_end`. Put back together it is the one-frame report, no frame
//! carries a secret, and the connection takes the next request.

use crate::common;

use common::Cfg;
use common::audit::{all_secrets, audit, keys, start_empty};
use common::rotation::NO_JOBS;
use warden_core::audit::{AuditReport, InstanceAudit};
use warden_core::protocol::{AuditRequest, PART_ITEMS, Request, Response, connect};

#[tokio::test]
async fn a_fleet_audit_in_parts_reassembles_to_the_one_frame_report() {
    let names: Vec<String> = (0..PART_ITEMS + 6).map(|i| format!("site{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let env = start_empty(&refs).await;
    // a client that can escalate on the last instance, so some part carries findings
    let sim = &env.instance(refs[refs.len() - 1]).sim;
    sim.create_role("Escalator", ["Update API Integrations"])
        .unwrap();
    let (id, _) = sim
        .create_client("Escalator Client", ["Escalator"], true, 300)
        .unwrap();
    let minted = vec![sim.mint_secret(id).unwrap()];
    let mut cfg = Cfg::new(&refs);
    cfg.schedules = NO_JOBS.into();
    env.write_rotation_config(&cfg, "version = 1\n");
    let daemon = env.start_wardend(None).await;

    let (count, whole) = audit(&daemon.socket, &[], None, false).await;
    assert!(count > 0, "the escalating client is found");

    let mut conn = connect(&daemon.socket).await.unwrap();
    let request = Request::Audit(AuditRequest {
        stream: true,
        ..AuditRequest::default()
    });
    let start = match conn.request(request).await.unwrap() {
        Response::ReportStart(start) => start,
        other => panic!("expected report_start, got {other:?}"),
    };
    assert_eq!(start.split, "instances");
    assert_eq!(start.findings, count);
    let mut report: AuditReport = start.body.decode().unwrap();
    assert!(report.instances.is_empty(), "the start carries no instance");
    let mut frames = vec![start.body.json().to_owned()];
    let mut sizes = Vec::new();
    loop {
        match conn.next_part().await.unwrap() {
            Response::ReportPart(part) => {
                assert_eq!(part.index, sizes.len() as u64, "parts arrive in order");
                frames.push(part.items.json().to_owned());
                let items: Vec<InstanceAudit> = part.items.decode().unwrap();
                sizes.push(items.len());
                report.instances.extend(items);
            }
            Response::ReportEnd(end) => {
                assert_eq!(end.parts, sizes.len() as u64);
                assert_eq!(end.items, names.len() as u64);
                break;
            }
            other => panic!("expected a part or the end, got {other:?}"),
        }
    }
    assert_eq!(
        sizes,
        [PART_ITEMS, 6],
        "at most {PART_ITEMS} instances a part"
    );

    let order: Vec<&str> = report
        .instances
        .iter()
        .map(|i| i.instance.as_str())
        .collect();
    assert_eq!(order, refs, "every instance once, in config order");
    assert_eq!(report.summary, whole.summary);
    assert_eq!(keys(&report, false), keys(&whole, false));
    assert_eq!(keys(&report, true), keys(&whole, true));

    let secrets = all_secrets(&env, refs[refs.len() - 1], &[], &minted).await;
    for frame in &frames {
        for (what, secret) in &secrets {
            assert!(!frame.contains(secret.as_str()), "{what} in a report frame");
        }
    }

    // the answer ended cleanly: the same connection takes the next request
    match conn.request(Request::Status).await.unwrap() {
        Response::Status(_) => {}
        other => panic!("expected status, got {other:?}"),
    }
}
