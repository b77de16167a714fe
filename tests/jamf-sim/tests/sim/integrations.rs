//! API integrations (clients): validation, defaults, appType, secrets.

use crate::common;

use common::*;
use jamf_sim::{AppType, BUILTIN_APP_NAME, ClientPatch};
use serde_json::json;

#[tokio::test]
async fn create_defaults_and_shape() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let resp = post_json(
        &http,
        &format!("{base}/api/v1/api-integrations"),
        &t,
        &json!({"authorizationScopes": ["R1"], "displayName": "Client One"}),
    )
    .await;
    assert_eq!(resp.status(), 200, "real servers answer 200");
    let c = json(resp).await;
    assert_eq!(c["enabled"], false);
    assert_eq!(c["accessTokenLifetimeSeconds"], 300);
    assert_eq!(c["appType"], "NONE");
    assert_eq!(c["authorizationScopes"], json!(["R1"]));
    assert_eq!(c["id"], 2, "integer ids; the built-in client is 1");
    let client_id = c["clientId"].as_str().unwrap();
    let parsed = uuid::Uuid::parse_str(client_id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    let got = json(get(&http, &format!("{base}/api/v1/api-integrations/2"), &t).await).await;
    assert_eq!(got, c);

    // the spec's 201, switchable per instance
    inst.set_create_status_201(true);
    let resp = post_json(
        &http,
        &format!("{base}/api/v1/api-integrations"),
        &t,
        &json!({"authorizationScopes": ["R1"], "displayName": "Client Two", "enabled": true, "accessTokenLifetimeSeconds": 60}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let c2 = json(resp).await;
    assert_eq!(c2["enabled"], true);
    assert_eq!(c2["accessTokenLifetimeSeconds"], 60);
}

#[tokio::test]
async fn client_validation_errors() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    inst.create_client("Taken", ["R1"], false, 300).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let url = format!("{base}/api/v1/api-integrations");
    let cases = [
        (
            json!({"authorizationScopes": [], "displayName": "A"}),
            "authorizationScopes must contain at least one api role",
        ),
        (
            json!({"authorizationScopes": ["R1", "Nope"], "displayName": "A"}),
            "api role(s) are not valid [Nope]",
        ),
        (
            json!({"authorizationScopes": ["r1"], "displayName": "A"}),
            "api role(s) are not valid [r1]",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": "Taken"}),
            "api integration display name must be unique",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": "A", "accessTokenLifetimeSeconds": 0}),
            "accessTokenLifetimeSeconds must be greater than 0",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": "A", "accessTokenLifetimeSeconds": -5}),
            "accessTokenLifetimeSeconds must be greater than 0",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": ""}),
            "displayName must not be blank",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": "A", "enabled": "yes"}),
            "enabled must be a boolean",
        ),
        (
            json!({"authorizationScopes": ["R1"], "displayName": "A", "accessTokenLifetimeSeconds": 1.5}),
            "accessTokenLifetimeSeconds must be an integer",
        ),
        (
            json!({"displayName": "A"}),
            "authorizationScopes must not be null",
        ),
    ];
    for (body, text) in cases {
        let err = api_error(post_json(&http, &url, &t, &body).await, 400).await;
        assert_eq!(err["description"], text, "body {body}");
    }
    assert_eq!(inst.clients().len(), 2, "nothing was created");
    // the same rules on PUT
    let (id, _) = inst.create_client("B", ["R1"], false, 300).unwrap();
    let err = api_error(
        put_json(
            &http,
            &format!("{url}/{id}"),
            &t,
            &json!({"authorizationScopes": [], "displayName": "B"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        err["description"],
        "authorizationScopes must contain at least one api role"
    );
    api_error(get(&http, &format!("{url}/999"), &t).await, 404).await;
    api_error(
        post_empty(&http, &format!("{url}/999/client-credentials"), &t).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn app_type_transitions_and_secret_rotation() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let (id, client_id) = inst.create_client("C", ["R1"], false, 300).unwrap();
    let creds = format!("{base}/api/v1/api-integrations/{id}/client-credentials");

    // disabled: refused, no state change
    let err = api_error(post_empty(&http, &creds, &t).await, 400).await;
    assert!(
        err["description"]
            .as_str()
            .unwrap()
            .contains("could not be created for this api integration")
    );
    assert_eq!(inst.client(id).unwrap().app_type, AppType::None);

    inst.set_enabled(id, true).unwrap();
    let resp = post_empty(&http, &creds, &t).await;
    assert_eq!(resp.status(), 200);
    let body = json(resp).await;
    assert_eq!(body["clientId"], client_id);
    let s1 = body["clientSecret"].as_str().unwrap().to_owned();
    assert_eq!(s1.len(), 64);
    assert!(
        s1.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let c = json(get(&http, &format!("{base}/api/v1/api-integrations/{id}"), &t).await).await;
    assert_eq!(c["appType"], "CLIENT_CREDENTIALS");
    assert_eq!(
        oauth(&http, &base, &client_id, &s1, None).await.status(),
        200
    );

    // rotation replaces the secret at once; clientId unchanged
    let s2 = json(post_empty(&http, &creds, &t).await).await["clientSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(s1, s2);
    assert_eq!(
        oauth(&http, &base, &client_id, &s1, None).await.status(),
        401
    );
    assert_eq!(
        oauth(&http, &base, &client_id, &s2, None).await.status(),
        200
    );
    assert_eq!(
        inst.client(id).unwrap().client_secret.as_deref(),
        Some(s2.as_str())
    );

    // disabling through PUT revokes the secret and goes back to NONE
    let resp = put_json(
        &http,
        &format!("{base}/api/v1/api-integrations/{id}"),
        &t,
        &json!({"authorizationScopes": ["R1"], "displayName": "C", "enabled": false}),
    )
    .await;
    assert_eq!(json(resp).await["appType"], "NONE");
    assert_eq!(
        oauth(&http, &base, &client_id, &s2, None).await.status(),
        401
    );
    // re-enabling needs a new secret
    inst.set_enabled(id, true).unwrap();
    assert_eq!(inst.client(id).unwrap().app_type, AppType::None);
    assert_eq!(
        oauth(&http, &base, &client_id, &s2, None).await.status(),
        401
    );
}

#[tokio::test]
async fn put_is_a_full_replace() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    inst.create_role("R2", ["Read API Integrations"]).unwrap();
    let (id, _) = inst.create_client("C", ["R1"], true, 900).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let resp = put_json(
        &http,
        &format!("{base}/api/v1/api-integrations/{id}"),
        &t,
        &json!({"authorizationScopes": ["R2", "R1"], "displayName": "C2"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let c = json(resp).await;
    assert_eq!(c["displayName"], "C2");
    assert_eq!(c["authorizationScopes"], json!(["R2", "R1"]));
    assert_eq!(
        c["enabled"], false,
        "omitted optional fields take their defaults"
    );
    assert_eq!(c["accessTokenLifetimeSeconds"], 300);
    // a role rename shows in authorizationScopes
    let r1 = inst.role_by_name("R1").unwrap();
    inst.update_role(&r1.id, "R1-renamed", r1.privileges.clone())
        .unwrap();
    let c = json(get(&http, &format!("{base}/api/v1/api-integrations/{id}"), &t).await).await;
    assert_eq!(c["authorizationScopes"], json!(["R2", "R1-renamed"]));
}

#[tokio::test]
async fn delete_client() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    let (id, _) = inst.create_client("C", ["R1"], true, 300).unwrap();
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let url = format!("{base}/api/v1/api-integrations/{id}");
    assert_eq!(delete(&http, &url, &t).await.status(), 204);
    api_error(get(&http, &url, &t).await, 404).await;
    api_error(delete(&http, &url, &t).await, 404).await;
    // the name is free again
    inst.create_client("C", ["R1"], true, 300).unwrap();
}

#[tokio::test]
async fn builtin_native_app_client() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let list = json(get(&http, &format!("{base}/api/v1/api-integrations"), &t).await).await;
    assert_eq!(list["totalCount"], 1);
    let c = &list["results"][0];
    assert_eq!(c["displayName"], BUILTIN_APP_NAME);
    assert_eq!(c["appType"], "NATIVE_APP_OAUTH");
    assert_eq!(c["authorizationScopes"], json!([BUILTIN_APP_NAME]));
    // no client secret for a native-app link
    let resp = post_empty(
        &http,
        &format!("{base}/api/v1/api-integrations/1/client-credentials"),
        &t,
    )
    .await;
    api_error(resp, 400).await;
}

#[tokio::test]
async fn handle_patch_and_known_secret() {
    let sim = start().await;
    let inst = sim.instance(None);
    inst.create_role("R1", ["Read API Roles"]).unwrap();
    let (id, client_id) = inst.create_client("C", ["R1"], true, 300).unwrap();
    inst.set_client_secret(id, "known-demo-secret").unwrap();
    let (http, base) = (http(), sim.url());
    assert_eq!(
        oauth(&http, &base, &client_id, "known-demo-secret", None)
            .await
            .status(),
        200
    );
    let patched = inst
        .update_client(
            id,
            ClientPatch {
                access_token_lifetime_seconds: Some(42),
                ..ClientPatch::default()
            },
        )
        .unwrap();
    assert_eq!(patched.access_token_lifetime_seconds, 42);
    assert!(patched.enabled);
    assert_eq!(patched.client_secret.as_deref(), Some("known-demo-secret"));
    let err = inst.set_client_secret(id, "").unwrap_err();
    assert_eq!(err.status(), 400);
    let err = inst.mint_secret(999).unwrap_err();
    assert_eq!(err.status(), 404);
}
