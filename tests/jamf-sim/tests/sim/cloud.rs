//! Jamf Cloud: the `jpro-ingress` cookie, two nodes and replication lag.

use crate::common;

use std::time::Duration;

use common::*;
use jamf_sim::{NODE_HEADER, SimOptions};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

fn set_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn node(resp: &reqwest::Response) -> String {
    resp.headers()[NODE_HEADER].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn single_node_sets_the_cookie_when_missing_or_invalid() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let url = format!("{base}/api/v1/api-roles");
    let resp = get(&http, &url, &t).await;
    let cookie = set_cookie(&resp).expect("cookie set");
    assert!(cookie.starts_with("jpro-ingress=node-a"), "{cookie}");
    let resp = http
        .get(&url)
        .bearer_auth(&t)
        .header(COOKIE, "jpro-ingress=node-a")
        .send()
        .await
        .unwrap();
    assert_eq!(set_cookie(&resp), None, "a valid cookie is not set again");
    let resp = http
        .get(&url)
        .bearer_auth(&t)
        .header(COOKIE, "other=1; jpro-ingress=bogus")
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&resp).is_some(), "an invalid cookie is replaced");
    // node-b is not valid on a single-node instance
    let resp = http
        .get(&url)
        .bearer_auth(&t)
        .header(COOKIE, "jpro-ingress=node-b")
        .send()
        .await
        .unwrap();
    assert_eq!(node(&resp), "a");
    assert!(set_cookie(&resp).is_some());
    // even the token endpoint and errors carry it
    let resp = http
        .post(format!("{base}/api/v1/oauth/token"))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&resp).is_some());
}

#[tokio::test]
async fn two_nodes_alternate_and_lag_hides_writes() {
    let sim = start_with(SimOptions {
        node_lag: Some(Duration::from_secs(60)),
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    // user tokens are not lagged
    let t = admin_token(&http, &base).await;
    let pin = |n: &str| format!("jpro-ingress=node-{n}");

    // round-robin without a cookie
    let url = format!("{base}/api/v1/api-role-privileges");
    let a = node(&get(&http, &url, &t).await);
    let b = node(&get(&http, &url, &t).await);
    assert_ne!(a, b);

    // create on node A
    let resp = http
        .post(format!("{base}/api/v1/api-roles"))
        .bearer_auth(&t)
        .header(COOKIE, pin("a"))
        .json(&json!({"displayName": "Fresh", "privileges": ["Read API Roles"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(node(&resp), "a");
    let id = json(resp).await["id"].as_str().unwrap().to_owned();
    let role_url = format!("{base}/api/v1/api-roles/{id}");
    let on = |n: &'static str| {
        let http = http.clone();
        let t = t.clone();
        let cookie = pin(n);
        move |url: String| {
            let http = http.clone();
            let t = t.clone();
            let cookie = cookie.clone();
            async move {
                http.get(url)
                    .bearer_auth(t)
                    .header(COOKIE, cookie)
                    .send()
                    .await
                    .unwrap()
            }
        }
    };
    assert_eq!(
        on("a")(role_url.clone()).await.status(),
        200,
        "visible at once where written"
    );
    let resp = on("b")(role_url.clone()).await;
    assert_eq!(resp.status(), 404, "not yet on the other node");
    assert_eq!(inst.stats().lag_404s, 1);
    let list_b =
        json(on("b")(format!("{base}/api/v1/api-roles?filter=displayName==Fresh")).await).await;
    assert_eq!(list_b["totalCount"], 0, "lists exclude it");
    // writes on B to an entity B cannot see are 404 too
    let resp = http
        .delete(&role_url)
        .bearer_auth(&t)
        .header(COOKIE, pin("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(inst.stats().lag_404s, 2);

    // after the lag both nodes agree
    inst.advance_clock(Duration::from_secs(61));
    assert_eq!(on("b")(role_url.clone()).await.status(), 200);

    // updates show stale data on the other node
    let resp = http
        .put(&role_url)
        .bearer_auth(&t)
        .header(COOKIE, pin("b"))
        .json(&json!({"displayName": "Renamed", "privileges": ["Read API Roles"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json(on("b")(role_url.clone()).await).await["displayName"],
        "Renamed"
    );
    assert_eq!(
        json(on("a")(role_url.clone()).await).await["displayName"],
        "Fresh",
        "stale on A"
    );
    inst.advance_clock(Duration::from_secs(61));
    assert_eq!(
        json(on("a")(role_url.clone()).await).await["displayName"],
        "Renamed"
    );

    // deletes: still visible on the other node until the lag passes
    inst.delete_role(&id).unwrap(); // admin writes land on node A
    assert_eq!(on("a")(role_url.clone()).await.status(), 404);
    assert_eq!(on("b")(role_url.clone()).await.status(), 200);
    inst.advance_clock(Duration::from_secs(61));
    assert_eq!(on("b")(role_url.clone()).await.status(), 404);
    assert_eq!(inst.stats().lag_404s, 2, "plain 404s are not lag 404s");
}

#[tokio::test]
async fn a_cookie_jar_pins_create_then_use() {
    let sim = start_with(SimOptions {
        node_lag: Some(Duration::from_secs(60)),
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    inst.create_role("R", ["Read API Roles"]).unwrap();
    inst.advance_clock(Duration::from_secs(61));
    let (http, base) = (http_with_cookies(), sim.url());
    let t = admin_token(&http, &base).await;
    let mut nodes = Vec::new();
    for i in 0..5 {
        let resp = post_json(
            &http,
            &format!("{base}/api/v1/api-integrations"),
            &t,
            &json!({"displayName": format!("C{i}"), "authorizationScopes": ["R"], "enabled": true}),
        )
        .await;
        nodes.push(node(&resp));
        assert!(set_cookie(&resp).is_none(), "the jar sends the cookie back");
        let id = json(resp).await["id"].as_i64().unwrap();
        let resp = post_empty(
            &http,
            &format!("{base}/api/v1/api-integrations/{id}/client-credentials"),
            &t,
        )
        .await;
        assert_eq!(resp.status(), 200, "same node sees its own write");
    }
    assert!(nodes.windows(2).all(|w| w[0] == w[1]), "pinned: {nodes:?}");
    assert_eq!(inst.stats().lag_404s, 0);

    // without a jar, create-then-use alternates nodes and trips over the lag
    let plain = common::http();
    let resp = post_json(
        &plain,
        &format!("{base}/api/v1/api-integrations"),
        &t,
        &json!({"displayName": "Unpinned", "authorizationScopes": ["R"], "enabled": true}),
    )
    .await;
    let id = json(resp).await["id"].as_i64().unwrap();
    let resp = post_empty(
        &plain,
        &format!("{base}/api/v1/api-integrations/{id}/client-credentials"),
        &t,
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(inst.stats().lag_404s, 1);
    assert_eq!(inst.client(id as u64).unwrap().client_secret, None);
}

#[tokio::test]
async fn node_lag_can_be_switched_at_run_time() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let resp = http
        .post(format!("{base}/_sim/config"))
        .json(&json!({"node_lag_ms": 30000}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["node_lag_ms"], 30000);
    let id = inst.create_role("Lagged", ["Read API Roles"]).unwrap();
    let resp = http
        .get(format!("{base}/api/v1/api-roles/{id}"))
        .bearer_auth(&t)
        .header(COOKIE, "jpro-ingress=node-b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    inst.set_node_lag(None);
    let resp = get(&http, &format!("{base}/api/v1/api-roles/{id}"), &t).await;
    assert_eq!(resp.status(), 200);
}
