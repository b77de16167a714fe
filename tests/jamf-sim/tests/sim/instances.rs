//! Multiple instances, fixtures, state dumps and the admin API.

use crate::common;

use std::io::Write;

use common::*;
use jamf_sim::{FaultRule, Sim, SimOptions, UserSpec};
use serde_json::json;

#[tokio::test]
async fn instances_are_independent() {
    let sim = start().await;
    let a = sim.add_instance("tenant-a");
    let b = sim.add_instance("tenant-b");
    assert_eq!(a, format!("{}/instances/tenant-a", sim.url()));
    assert_eq!(sim.add_instance("tenant-a"), a, "idempotent");
    let http = http();
    let ta = admin_token(&http, &a).await;
    let tb = admin_token(&http, &b).await;
    let resp = post_json(
        &http,
        &format!("{a}/api/v1/api-roles"),
        &ta,
        &json!({"displayName": "Only A", "privileges": []}),
    )
    .await;
    assert_eq!(json(resp).await["id"], "2", "after the built-in role");
    let list_b = json(
        get(
            &http,
            &format!("{b}/api/v1/api-roles?filter=displayName=='Only A'"),
            &tb,
        )
        .await,
    )
    .await;
    assert_eq!(list_b["totalCount"], 0);
    // tokens are per instance
    let resp = get(&http, &format!("{b}/api/v1/api-roles"), &ta).await;
    assert_eq!(resp.status(), 401);
    // users, faults, stats and clocks are per instance
    sim.instance(Some("tenant-b"))
        .add_user(UserSpec::admin("bob", "pw"));
    let resp = http
        .post(format!("{a}/api/v1/auth/token"))
        .basic_auth("bob", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(user_token(&http, &b, ("bob", "pw")).await.len() > 10);
    sim.instance(Some("tenant-a"))
        .add_fault(FaultRule::fail_next("*", 1, 502))
        .unwrap();
    assert_eq!(
        get(&http, &format!("{b}/api/v1/api-roles"), &tb)
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&http, &format!("{a}/api/v1/api-roles"), &ta)
            .await
            .status(),
        502
    );
    assert_eq!(
        sim.instance(Some("tenant-a"))
            .stats()
            .count_status("GET", "/api/v1/api-roles", 502),
        1
    );
    assert_eq!(
        sim.instance(Some("tenant-b"))
            .stats()
            .count_status("GET", "/api/v1/api-roles", 502),
        0
    );
    assert_eq!(sim.instance(None).stats().total(), 0);
    sim.instance(Some("tenant-a"))
        .advance_clock(std::time::Duration::from_secs(3600));
    assert_eq!(
        get(&http, &format!("{a}/api/v1/api-roles"), &ta)
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&http, &format!("{b}/api/v1/api-roles"), &tb)
            .await
            .status(),
        200
    );
    // unknown instance
    let resp = http
        .get(format!("{}/instances/nope/api/v1/api-roles", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn instances_through_the_admin_api() {
    let sim = start_with(SimOptions {
        instances: vec!["pre".into()],
        ..opts()
    })
    .await;
    let http = http();
    let base = sim.url();
    let resp = http
        .post(format!("{base}/_sim/instances"))
        .json(&json!({"name": "blank", "empty": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created = json(resp).await;
    assert_eq!(created["url"], format!("{base}/instances/blank"));
    let resp = http
        .post(format!("{base}/_sim/instances"))
        .json(&json!({"name": "blank"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "already there");
    let resp = http
        .post(format!("{base}/_sim/instances"))
        .json(&json!({"name": "bad/name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let list = json(
        http.get(format!("{base}/_sim/instances"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["blank", "default", "pre"]);
    // the named instance has its own admin API
    let roles = json(
        http.get(format!("{base}/instances/blank/_sim/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(roles, json!([]));
    let roles = json(
        http.get(format!("{base}/instances/pre/_sim/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(roles.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_api_changes_state_like_the_console() {
    let sim = start().await;
    let http = http();
    let base = sim.url();
    let admin = |p: &str| format!("{base}/_sim{p}");
    let role = json(
        http.post(admin("/roles"))
            .json(&json!({"displayName": "Console", "privileges": ["Read API Roles"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let role_id = role["id"].as_str().unwrap().to_owned();
    let resp = http
        .post(admin("/roles"))
        .json(&json!({"displayName": "Console", "privileges": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "same validation as the API");
    let resp = http
        .put(admin(&format!("/roles/{role_id}")))
        .json(&json!({"displayName": "Console", "privileges": ["Read API Integrations"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(resp).await["privileges"],
        json!(["Read API Integrations"])
    );

    let c = json(
        http.post(admin("/clients"))
            .json(&json!({"displayName": "CC", "authorizationScopes": ["Console"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cid = c["id"].as_u64().unwrap();
    assert_eq!(c["enabled"], false);
    assert_eq!(c["clientSecret"], serde_json::Value::Null);
    let resp = http
        .post(admin(&format!("/clients/{cid}/secret")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "disabled");
    let c = json(
        http.post(admin(&format!("/clients/{cid}/enable")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(c["enabled"], true);
    let creds = json(
        http.post(admin(&format!("/clients/{cid}/secret")))
            .json(&json!({"clientSecret": "demo-secret"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(creds["clientSecret"], "demo-secret");
    let client_id = creds["clientId"].as_str().unwrap().to_owned();
    let token = client_token(&http, &base, &client_id, "demo-secret").await;
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-integrations"), &token)
            .await
            .status(),
        200
    );
    let minted = json(
        http.post(admin(&format!("/clients/{cid}/secret")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(minted["clientSecret"].as_str().unwrap().len(), 64);
    let c = json(
        http.patch(admin(&format!("/clients/{cid}")))
            .json(&json!({"accessTokenLifetimeSeconds": 120}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(c["accessTokenLifetimeSeconds"], 120);
    assert_eq!(c["appType"], "CLIENT_CREDENTIALS");
    let c = json(
        http.post(admin(&format!("/clients/{cid}/disable")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(c["appType"], "NONE");
    let resp = http
        .delete(admin(&format!("/roles/{role_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(
        http.delete(admin(&format!("/clients/{cid}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.delete(admin(&format!("/roles/{role_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.get(admin(&format!("/clients/{cid}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // users, config, clock
    let users = json(
        http.post(admin("/users"))
            .json(&json!({"name": "eve", "password": "pw", "kind": "auditor"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(users.as_array().unwrap().len(), 3);
    let t = user_token(&http, &base, ("eve", "pw")).await;
    assert_eq!(
        post_json(
            &http,
            &format!("{base}/api/v1/api-roles"),
            &t,
            &json!({"displayName": "x", "privileges": []})
        )
        .await
        .status(),
        403
    );
    let cfg = json(
        http.post(admin("/config"))
            .json(&json!({"create_status_201": true, "user_token_lifetime_secs": 60}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        cfg,
        json!({"create_status_201": true, "node_lag_ms": null, "user_token_lifetime_secs": 60})
    );
    assert_eq!(
        http.post(admin("/config"))
            .json(&json!({"bogus": 1}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let clock = json(http.get(admin("/clock")).send().await.unwrap()).await;
    assert_eq!(clock["offset_ms"], 0);
    assert_eq!(
        http.post(admin("/clock"))
            .json(&json!({"advance_secs": "soon"}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        http.get(admin("/nothing")).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        http.post(admin("/roles"))
            .body("not json")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn fixture_load_and_dump_round_trip() {
    let fixture = json!({
        "instances": {
            "default": {
                "users": [{"name": "fx", "password": "fxpw", "kind": "admin"}],
                "roles": [
                    {"displayName": "Warden Role", "privileges": ["Read API Roles", "Create API Roles"]},
                    {"id": "10", "displayName": "Fixed Id", "privileges": []}
                ],
                "clients": [
                    {"displayName": "Demo Client", "authorizationScopes": ["Warden Role"], "enabled": true,
                     "accessTokenLifetimeSeconds": 900, "clientId": "11111111-2222-4333-8444-555555555555",
                     "clientSecret": "demo-known-secret"}
                ]
            },
            "other": {"empty": true, "node_lag_ms": 500, "create_status_201": true}
        }
    });
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "{fixture}").unwrap();
    let sim = Sim::start(
        local(),
        SimOptions {
            fixture: Some(file.path().to_path_buf()),
            ..opts()
        },
    )
    .await
    .unwrap();
    let inst = sim.instance(None);
    assert_eq!(
        inst.role_by_name("Warden Role").unwrap().id,
        "2",
        "after the built-in"
    );
    assert_eq!(inst.role("10").unwrap().display_name, "Fixed Id");
    let http = http();
    let base = sim.url();
    let token = client_token(
        &http,
        &base,
        "11111111-2222-4333-8444-555555555555",
        "demo-known-secret",
    )
    .await;
    let created = json(
        post_json(
            &http,
            &format!("{base}/api/v1/api-roles"),
            &token,
            &json!({"displayName": "Next", "privileges": []}),
        )
        .await,
    )
    .await;
    assert_eq!(created["id"], "11", "ids continue after the highest");
    user_token(&http, &base, ("fx", "fxpw")).await;
    user_token(&http, &base, ADMIN).await;
    let other = sim.instance(Some("other"));
    assert!(other.roles().is_empty());
    let dump = other.dump();
    assert_eq!(dump.node_lag_ms, Some(500));
    assert_eq!(dump.create_status_201, Some(true));

    // dump → load gives the same state
    let state = json(http.get(format!("{base}/_sim/state")).send().await.unwrap()).await;
    assert_eq!(state["empty"], true);
    assert_eq!(state["clients"][1]["clientSecret"], "demo-known-secret");
    let all = json(
        http.get(format!("{base}/_sim/state/all"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(all["instances"].as_object().unwrap().len(), 2);
    let mut file2 = tempfile::NamedTempFile::new().unwrap();
    write!(file2, "{state}").unwrap();
    let sim2 = Sim::start(
        local(),
        SimOptions {
            fixture: Some(file2.path().to_path_buf()),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let state2 = json(
        http.get(format!("{}/_sim/state", sim2.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(state2, state);
    assert_eq!(
        serde_json::to_value(sim2.dump()).unwrap()["instances"]["default"],
        state
    );
    client_token(
        &http,
        &sim2.url(),
        "11111111-2222-4333-8444-555555555555",
        "demo-known-secret",
    )
    .await;
}

#[tokio::test]
async fn bad_fixtures_fail_to_start() {
    for bad in [
        json!({"roles": [{"displayName": "R", "privileges": ["Not A Privilege"]}]}),
        json!({"clients": [{"displayName": "C", "authorizationScopes": ["Missing"]}]}),
        json!({"clients": [{"displayName": "C", "authorizationScopes": ["Jamf Reset"], "clientSecret": "s"}]}),
        json!({"roles": [{"id": "1", "displayName": "Clash"}]}),
        json!({"instances": {"bad name": {}}}),
        json!({"unknown_key": true}),
    ] {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "{bad}").unwrap();
        let started = Sim::start(
            local(),
            SimOptions {
                fixture: Some(file.path().to_path_buf()),
                ..SimOptions::default()
            },
        )
        .await;
        assert!(started.is_err(), "{bad}");
    }
    let missing = Sim::start(
        local(),
        SimOptions {
            fixture: Some("/nonexistent/fixture.json".into()),
            ..SimOptions::default()
        },
    )
    .await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn garbage_and_extreme_input_never_crashes() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R", ["Read API Roles"]).unwrap();
    inst.create_client("C", ["R"], true, 300).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let bodies = [
        "",
        "null",
        "[]",
        "{",
        "\"x\"",
        "42",
        "{\"displayName\":null}",
        "{\"displayName\":{}}",
        "{\"displayName\":\"Z\",\"privileges\":[null],\"authorizationScopes\":[1]}",
        "{\"displayName\":\"Z\",\"authorizationScopes\":[\"R\"],\"accessTokenLifetimeSeconds\":99999999999999}",
        "grant_type=client_credentials&client_id=%ZZ&scope=api-role:99999999999999999999999",
    ];
    let paths = [
        "/api/v1/oauth/token",
        "/api/oauth/token",
        "/api/v1/auth/token",
        "/api/v1/auth/keep-alive",
        "/api/v1/auth/invalidate-token",
        "/api/v1/auth",
        "/api/v1/api-roles",
        "/api/v1/api-roles/2",
        "/api/v1/api-roles/99999999999999999999999",
        "/api/v1/api-role-privileges/search?name=%FF&limit=-1",
        "/api/v1/api-integrations?page=99999999999999999999&page-size=99999999999999999999",
        "/api/v1/api-integrations/2",
        "/api/v1/api-integrations/2/client-credentials",
        "/api/v1/api-roles?filter=%22&sort=%3A",
        "/_sim/roles",
        "/_sim/roles/2",
        "/_sim/clients",
        "/_sim/clients/2",
        "/_sim/clients/2/secret",
        "/_sim/clients/x/enable",
        "/_sim/users",
        "/_sim/faults",
        "/_sim/clock",
        "/_sim/config",
        "/_sim/instances",
    ];
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        for path in paths {
            for body in bodies {
                let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let resp = http
                    .request(m, format!("{base}{path}"))
                    .bearer_auth(&t)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    resp.status().as_u16() < 500,
                    "{method} {path} {body}: {}",
                    resp.status()
                );
            }
        }
    }
    // extreme settings through the admin API
    for cfg in [
        json!({"node_lag_ms": i64::MAX}),
        json!({"user_token_lifetime_secs": i64::MAX}),
        json!({"node_lag_ms": -1}),
    ] {
        let resp = http
            .post(format!("{base}/_sim/config"))
            .json(&cfg)
            .send()
            .await
            .unwrap();
        assert!(resp.status().as_u16() < 500, "{cfg}");
    }
    for adv in [
        json!({"advance_secs": i64::MAX}),
        json!({"advance_ms": i64::MIN}),
    ] {
        let resp = http
            .post(format!("{base}/_sim/clock"))
            .json(&adv)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let resp = http
        .post(format!("{base}/api/v1/auth/token"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().as_u16() < 500);
    let resp = get(&http, &format!("{base}/api/v1/api-roles"), &t).await;
    assert!(resp.status().as_u16() < 500);
    let resp = http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"kind": "latency", "ms": u64::MAX}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    http.delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert!(
        http.get(format!("{base}/_sim/state"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn a_named_instance_on_a_port_of_its_own_shares_its_state() {
    let sim = start().await;
    let named = sim.add_instance("blue");
    let own = sim
        .serve_instance_on("blue", local())
        .await
        .expect("own port");
    assert!(own.starts_with("http://127.0.0.1:"), "{own}");
    assert_ne!(own, sim.url(), "a port other than the main one");
    assert_eq!(
        sim.instance_port_urls(),
        vec![("blue".to_owned(), own.clone())]
    );
    let http = http();
    // An off-the-shelf client: URLs built from the host root.
    let token = admin_token(&http, &own).await;
    let resp = post_json(
        &http,
        &format!("{own}/api/v1/api-roles"),
        &token,
        &json!({"displayName": "Made at the root", "privileges": ["Read API Roles"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let id = json(resp).await["id"].as_str().unwrap().to_owned();
    // The same state behind /instances/blue/ on the main port, and in the handle.
    let via_path = admin_token(&http, &named).await;
    let role = json(get(&http, &format!("{named}/api/v1/api-roles/{id}"), &via_path).await).await;
    assert_eq!(role["displayName"], "Made at the root");
    assert!(
        sim.instance(Some("blue"))
            .role_by_name("Made at the root")
            .is_some()
    );
    // Tokens are the instance's: one minted through the path works at the root and back.
    assert_eq!(
        get(&http, &format!("{own}/api/v1/api-roles/{id}"), &via_path)
            .await
            .status(),
        200
    );
    // Not the default instance's state.
    let default_token = admin_token(&http, &sim.url()).await;
    assert_eq!(
        get(
            &http,
            &format!("{}/api/v1/api-roles/{id}", sim.url()),
            &default_token
        )
        .await
        .status(),
        404
    );
    // The admin API is there too, at the root.
    let resp = http.get(format!("{own}/_sim/clock")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // /instances/... on the instance's own port is just an unknown path.
    assert_eq!(
        http.get(format!("{own}/instances/blue/api/v1/api-roles"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    sim.shutdown().await;
    assert!(
        http.get(format!("{own}/_sim/clock")).send().await.is_err(),
        "the instance port closes with the simulator"
    );
}
