//! Fault injection and statistics.

use crate::common;

use std::time::Duration;

use common::*;
use jamf_sim::{FAULT_HEADER, FaultRule, SimOptions};
use serde_json::json;

const CREDS: &str = "POST /api/v1/api-integrations/{id}/client-credentials";
const CREDS_ROUTE: &str = "/api/v1/api-integrations/{id}/client-credentials";

#[tokio::test]
async fn fail_next_is_deterministic_and_changes_nothing() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R", ["Read API Roles"]).unwrap();
    let (id, _) = inst.create_client("C", ["R"], true, 300).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    inst.add_fault(FaultRule::fail_next(CREDS, 2, 503)).unwrap();
    let url = format!("{base}/api/v1/api-integrations/{id}/client-credentials");
    for _ in 0..2 {
        let resp = post_empty(&http, &url, &t).await;
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()[FAULT_HEADER], "injected");
        assert_eq!(
            inst.client(id).unwrap().client_secret,
            None,
            "no state change"
        );
    }
    // other endpoints are not affected, and the rule is used up
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), &t)
            .await
            .status(),
        200
    );
    assert_eq!(post_empty(&http, &url, &t).await.status(), 200);
    assert!(inst.client(id).unwrap().client_secret.is_some());
    assert!(inst.faults().is_empty());
    let stats = inst.stats();
    assert_eq!(stats.count_status("POST", CREDS_ROUTE, 503), 2);
    assert_eq!(stats.count_status("POST", CREDS_ROUTE, 200), 1);
    assert_eq!(stats.count("POST", CREDS_ROUTE), 3);
}

#[tokio::test]
async fn after_commit_performs_the_action_then_fails() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R", ["Read API Roles"]).unwrap();
    let (id, client_id) = inst.create_client("C", ["R"], true, 300).unwrap();
    let old = inst.mint_secret(id).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    inst.add_fault(FaultRule::fail_next(CREDS, 1, 503).after_commit())
        .unwrap();
    let resp = post_empty(
        &http,
        &format!("{base}/api/v1/api-integrations/{id}/client-credentials"),
        &t,
    )
    .await;
    assert_eq!(resp.status(), 503);
    // the secret was minted, but the answer was lost: the old secret no longer works
    let minted = inst.client(id).unwrap().client_secret.unwrap();
    assert_ne!(minted, old);
    assert_eq!(
        oauth(&http, &base, &client_id, &old, None).await.status(),
        401
    );
    assert_eq!(
        oauth(&http, &base, &client_id, &minted, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    inst.add_fault(FaultRule::rate_limit("GET *", 2, 7))
        .unwrap();
    let url = format!("{base}/api/v1/api-roles");
    for _ in 0..2 {
        let resp = get(&http, &url, &t).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
    }
    assert_eq!(get(&http, &url, &t).await.status(), 200);
}

#[tokio::test]
async fn error_rate_extremes() {
    let sim = start_with(SimOptions {
        error_rate: 1.0,
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    for _ in 0..10 {
        let resp = http
            .post(format!("{base}/api/v1/auth/token"))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(resp.status().as_u16(), 500 | 503),
            "{}",
            resp.status()
        );
    }
    inst.set_faults([FaultRule::error_rate("*", 0.0)]).unwrap();
    let t = admin_token(&http, &base).await;
    for _ in 0..10 {
        assert_eq!(
            get(&http, &format!("{base}/api/v1/api-roles"), &t)
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn latency_and_peak_in_flight() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    // hang the next 4 reads so that exactly 4 are in flight at once
    inst.add_fault(FaultRule::hang("GET /api/v1/api-roles", Some(4)))
        .unwrap();
    inst.reset_stats();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, url, t) = (http.clone(), format!("{base}/api/v1/api-roles"), t.clone());
        tasks.push(tokio::spawn(async move {
            http.get(url).bearer_auth(t).send().await
        }));
    }
    let mut waited = 0;
    while inst.stats().in_flight < 4 {
        assert!(waited < 500, "requests never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let stats = inst.stats();
    assert_eq!(stats.peak_in_flight, 4);
    assert_eq!(
        stats.count_status("GET", "/api/v1/api-roles", 0),
        4,
        "hung requests count as status 0"
    );
    for task in &tasks {
        task.abort();
    }
    // the client gave up: the hung requests go away, the next one is served
    let mut waited = 0;
    while inst.stats().in_flight > 0 {
        assert!(waited < 500, "hung requests never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), &t)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn latency_delays_only_matching_requests() {
    let sim = start().await;
    let inst = sim.instance(None);
    let base = sim.url();
    let t = admin_token(&common::http(), &base).await;
    inst.set_faults([FaultRule::latency(
        "GET /api/v1/api-roles",
        Duration::from_secs(3),
    )])
    .unwrap();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{base}/api/v1/api-roles"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_timeout(),
        "the answer cannot come before the latency"
    );
    let resp = get(
        &common::http(),
        &format!("{base}/api/v1/api-role-privileges"),
        &t,
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn hang_times_out_the_client_and_shutdown_releases() {
    let sim = start().await;
    let inst = sim.instance(None);
    let base = sim.url();
    inst.add_fault(FaultRule::hang("POST /api/v1/auth/token", None))
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = http
        .post(format!("{base}/api/v1/auth/token"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // a request still hanging at shutdown is answered 503
    let patient = common::http();
    let pending = tokio::spawn(async move {
        patient
            .post(format!("{base}/api/v1/auth/token"))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
    });
    let mut waited = 0;
    while inst.stats().count_status("POST", "/api/v1/auth/token", 0) < 2 {
        assert!(waited < 500);
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    sim.shutdown().await;
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 503);
}

#[tokio::test]
async fn faults_through_the_admin_api() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let resp = http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"endpoint": "POST /api/v1/auth/token", "kind": "fail_next", "count": 1, "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await.as_array().unwrap().len(), 1);
    let resp = http
        .post(format!("{base}/api/v1/auth/token"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let rules = json(
        http.get(format!("{base}/_sim/faults"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rules, json!([]));
    // PUT replaces, DELETE clears, bad rules are 400
    let resp = http
        .put(format!("{base}/_sim/faults"))
        .json(&json!([{"kind": "latency", "ms": 1}, {"endpoint": "GET *", "kind": "hang"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await.as_array().unwrap().len(), 2);
    let resp = http
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    for bad in [
        json!({"kind": "explode"}),
        json!({"endpoint": "nonsense", "kind": "hang"}),
        json!({"kind": "error_rate", "rate": 2.0}),
    ] {
        let resp = http
            .post(format!("{base}/_sim/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    assert!(sim.instance(None).faults().is_empty());
}

#[tokio::test]
async fn stats_through_the_admin_api() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    get(&http, &format!("{base}/api/v1/api-roles/77"), &t).await;
    http.get(format!("{base}/api/v2/nothing"))
        .send()
        .await
        .unwrap();
    http.patch(format!("{base}/api/v1/api-roles"))
        .send()
        .await
        .unwrap();
    let stats = json(http.get(format!("{base}/_sim/stats")).send().await.unwrap()).await;
    let reqs = stats["requests"].as_array().unwrap();
    let find = |route: &str, method: &str, status: u64| {
        reqs.iter().any(|r| {
            r["route"] == route && r["method"] == method && r["status"] == status && r["count"] == 1
        })
    };
    assert!(find("/api/v1/auth/token", "POST", 200), "{stats}");
    assert!(find("/api/v1/api-roles/{id}", "GET", 404), "{stats}");
    assert!(find("<unknown>", "GET", 404), "{stats}");
    assert!(find("/api/v1/api-roles", "PATCH", 405), "{stats}");
    assert_eq!(stats["peak_in_flight"], 1);
    assert_eq!(stats["lag_404s"], 0);
    let resp = http
        .delete(format!("{base}/_sim/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(sim.instance(None).stats().total(), 0);
}
