//! OAuth client credentials, user tokens, token lifecycle and authorization.

use crate::common;

use std::time::Duration;

use common::*;
use jamf_sim::{SimInstance, SimOptions};
use serde_json::json;

/// Jamf Pro's answer to a missing, malformed, unknown or expired bearer token: no cause.
const UNAUTHORIZED: &str = r#"{"httpStatus":401,"errors":[]}"#;

/// A role with the given privileges and an enabled client holding it, with a secret.
fn client_with(
    inst: &SimInstance,
    role: &str,
    privs: &[&str],
    lifetime: u32,
) -> (String, u64, String, String) {
    let role_id = inst.create_role(role, privs).unwrap();
    let (id, client_id) = inst
        .create_client(&format!("{role} client"), [role], true, lifetime)
        .unwrap();
    let secret = inst.mint_secret(id).unwrap();
    (role_id, id, client_id, secret)
}

async fn assert_unauthorized(resp: reqwest::Response) {
    assert_eq!(resp.status(), 401);
    let body = json(resp).await;
    assert_eq!(
        body,
        serde_json::from_str::<serde_json::Value>(UNAUTHORIZED).unwrap()
    );
}

#[tokio::test]
async fn token_response_and_claims_on_both_paths() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (role, _, client_id, secret) = client_with(&inst, "Reader", &["Read API Roles"], 600);
    let http = http();
    for path in ["/api/v1/oauth/token", "/api/oauth/token"] {
        let resp = http
            .post(format!("{}{path}", sim.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let body = json(resp).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 599, "lifetime minus one");
        assert_eq!(body["scope"], format!("api-role:{role}"));
        let token = body["access_token"].as_str().unwrap();
        let (header, claims) = jwt_parts(token);
        assert_eq!(header, json!({"alg": "HS256"}));
        assert_eq!(claims["sub"], client_id.as_str());
        assert_eq!(claims["aud"], client_id.as_str());
        assert_eq!(claims["subject-type"], "REGISTERED_CLIENT_ID");
        assert_eq!(claims["authentication-type"], "CLIENT_CREDENTIALS");
        assert_eq!(claims["scope"], json!([format!("api-role:{role}")]));
        assert_eq!(claims["iss"], sim.url());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            600
        );
        assert!(uuid::Uuid::parse_str(claims["token-uuid"].as_str().unwrap()).is_ok());
        let resp = get(&http, &format!("{}/api/v1/api-roles", sim.url()), token).await;
        assert_eq!(resp.status(), 200);
    }
    // client_secret_basic works too
    let resp = http
        .post(format!("{}/api/v1/oauth/token", sim.url()))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn token_endpoint_errors() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (role, id, client_id, secret) = client_with(&inst, "Reader", &["Read API Roles"], 300);
    let other = inst.create_role("Other", ["Read API Roles"]).unwrap();
    let (http, base) = (http(), sim.url());
    let url = format!("{base}/api/v1/oauth/token");

    let resp = oauth(&http, &base, &client_id, "wrong", None).await;
    assert_eq!(resp.status(), 401);
    // Jamf Pro sends the code alone: no error_description, no error_uri.
    assert_eq!(json(resp).await, json!({"error": "invalid_client"}));
    let resp = oauth(&http, &base, "no-such-client", &secret, None).await;
    assert_eq!(resp.status(), 401);

    let resp = http
        .post(&url)
        .form(&[
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = json(resp).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "OAuth 2.0 Parameter: grant_type");
    let resp = http
        .post(&url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(json(resp).await["error"], "unsupported_grant_type");
    let resp = http
        .post(&url)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(&url)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "a JSON body is not a form");

    // scope: a subset of the secret's roles, else invalid_scope
    let resp = oauth(
        &http,
        &base,
        &client_id,
        &secret,
        Some(&format!("api-role:{role}")),
    )
    .await;
    assert_eq!(json(resp).await["scope"], format!("api-role:{role}"));
    for bad in [
        format!("api-role:{other}"),
        "api-role:x".to_owned(),
        "role:1".to_owned(),
    ] {
        let resp = oauth(&http, &base, &client_id, &secret, Some(&bad)).await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert_eq!(json(resp).await["error"], "invalid_scope");
    }

    // a disabled client cannot get tokens
    inst.set_enabled(id, false).unwrap();
    let resp = oauth(&http, &base, &client_id, &secret, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(json(resp).await["error"], "invalid_client");
}

#[tokio::test]
async fn scope_subset_limits_privileges() {
    let sim = start().await;
    let inst = sim.instance(None);
    let roles_reader = inst.create_role("Roles", ["Read API Roles"]).unwrap();
    let clients_reader = inst
        .create_role("Clients", ["Read API Integrations"])
        .unwrap();
    let (id, client_id) = inst
        .create_client("Both", ["Clients", "Roles"], true, 300)
        .unwrap();
    let secret = inst.mint_secret(id).unwrap();
    let (http, base) = (http(), sim.url());
    let all = json(oauth(&http, &base, &client_id, &secret, None).await).await;
    assert_eq!(
        all["scope"],
        format!("api-role:{roles_reader} api-role:{clients_reader}"),
        "sorted by id"
    );
    let only = json(
        oauth(
            &http,
            &base,
            &client_id,
            &secret,
            Some(&format!("api-role:{roles_reader}")),
        )
        .await,
    )
    .await;
    let token = only["access_token"].as_str().unwrap();
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), token)
            .await
            .status(),
        200
    );
    let resp = get(&http, &format!("{base}/api/v1/api-integrations"), token).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("x-required-privileges").is_none());
}

#[tokio::test]
async fn role_changes_on_a_client_need_a_new_secret() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (_, id, client_id, secret) = client_with(&inst, "Roles", &["Read API Roles"], 300);
    let clients_role = inst
        .create_role("Clients", ["Read API Integrations"])
        .unwrap();
    inst.update_client(
        id,
        jamf_sim::ClientPatch {
            authorization_scopes: Some(vec!["Roles".into(), "Clients".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let (http, base) = (http(), sim.url());
    // the old secret still mints tokens with the old role set
    let t = client_token(&http, &base, &client_id, &secret).await;
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-integrations"), &t)
            .await
            .status(),
        403
    );
    let resp = oauth(
        &http,
        &base,
        &client_id,
        &secret,
        Some(&format!("api-role:{clients_role}")),
    )
    .await;
    assert_eq!(json(resp).await["error"], "invalid_scope");
    // a new secret snapshots the new roles
    let secret2 = inst.mint_secret(id).unwrap();
    assert_eq!(inst.client(id).unwrap().secret_role_ids.len(), 2);
    let t2 = client_token(&http, &base, &client_id, &secret2).await;
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-integrations"), &t2)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn privileges_are_resolved_at_request_time() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (role, id, client_id, secret) = client_with(&inst, "Flexible", &["Read API Roles"], 300);
    let (http, base) = (http(), sim.url());
    let t = client_token(&http, &base, &client_id, &secret).await;
    let url = format!("{base}/api/v1/api-integrations");
    assert_eq!(get(&http, &url, &t).await.status(), 403);
    inst.update_role(
        &role,
        "Flexible",
        ["Read API Roles", "Read API Integrations"],
    )
    .unwrap();
    assert_eq!(
        get(&http, &url, &t).await.status(),
        200,
        "existing token gains the privilege"
    );
    inst.update_role(&role, "Flexible", ["Read API Integrations"])
        .unwrap();
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), &t)
            .await
            .status(),
        403
    );
    // a deleted role contributes nothing
    inst.update_client(
        id,
        jamf_sim::ClientPatch {
            authorization_scopes: Some(vec![jamf_sim::BUILTIN_APP_NAME.into()]),
            ..Default::default()
        },
    )
    .unwrap();
    inst.delete_role(&role).unwrap();
    assert_eq!(get(&http, &url, &t).await.status(), 403);
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (_, _, client_id, secret) = client_with(&inst, "Reader", &["Read API Roles"], 60);
    let (http, base) = (http(), sim.url());
    let t = client_token(&http, &base, &client_id, &secret).await;
    let url = format!("{base}/api/v1/api-roles");
    inst.advance_clock(Duration::from_secs(50));
    assert_eq!(get(&http, &url, &t).await.status(), 200);
    inst.advance_clock(Duration::from_secs(11));
    assert_unauthorized(get(&http, &url, &t).await).await;
    // the same through the admin API, for a user token (30 min default)
    let u = admin_token(&http, &base).await;
    assert_eq!(get(&http, &url, &u).await.status(), 200);
    let resp = http
        .post(format!("{base}/_sim/clock"))
        .json(&json!({"advance_secs": 30 * 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["offset_ms"], (61 + 30 * 60) * 1000);
    assert_unauthorized(get(&http, &url, &u).await).await;
}

#[tokio::test]
async fn tokens_survive_rotation_disable_and_delete() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (_, id, client_id, secret) = client_with(&inst, "Reader", &["Read API Roles"], 300);
    let (http, base) = (http(), sim.url());
    let url = format!("{base}/api/v1/api-roles");
    let t1 = client_token(&http, &base, &client_id, &secret).await;
    let s2 = inst.mint_secret(id).unwrap();
    let t2 = client_token(&http, &base, &client_id, &s2).await;
    assert_eq!(get(&http, &url, &t1).await.status(), 200, "after rotation");
    inst.set_enabled(id, false).unwrap();
    assert_eq!(get(&http, &url, &t1).await.status(), 200, "after disable");
    assert_eq!(get(&http, &url, &t2).await.status(), 200);
    inst.delete_client(id).unwrap();
    assert_eq!(get(&http, &url, &t2).await.status(), 200, "after delete");
    inst.advance_clock(Duration::from_secs(301));
    assert_unauthorized(get(&http, &url, &t2).await).await;
}

/// `expires` as Jamf Pro formats it: milliseconds, or none when they are zero (Java).
fn assert_expires_form(expires: &str) {
    let with_millis = expires.len() == "2020-04-21T21:09:31.626Z".len()
        && expires.as_bytes()[19] == b'.'
        && !expires.ends_with(".000Z");
    let without = expires.len() == "2020-04-21T21:09:31Z".len();
    assert!(
        expires.ends_with('Z') && (with_millis || without),
        "{expires}"
    );
}

#[tokio::test]
async fn user_token_expires_drops_zero_milliseconds() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    let issue = || async {
        let resp = http
            .post(format!("{base}/api/v1/auth/token"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        json(resp).await["expires"].as_str().unwrap().to_owned()
    };
    inst.set_whole_second_expiry(true);
    let whole = issue().await;
    assert_eq!(whole.len(), "2020-04-21T21:09:31Z".len(), "{whole}");
    assert!(whole.ends_with('Z') && !whole.contains('.'), "{whole}");
    let exp = chrono::DateTime::parse_from_rfc3339(&whole).unwrap();
    assert_eq!(exp.timestamp_subsec_millis(), 0);
    // keep-alive answers in the same form
    let token = json(
        http.post(format!("{base}/api/v1/auth/token"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap(),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept =
        json(post_empty(&http, &format!("{base}/api/v1/auth/keep-alive"), &token).await).await;
    assert!(!kept["expires"].as_str().unwrap().contains('.'), "{kept}");

    inst.set_whole_second_expiry(false);
    // Back to milliseconds (unless they happen to be zero, one time in a thousand).
    let forms: Vec<String> = [issue().await, issue().await].into();
    for f in &forms {
        assert_expires_form(f);
    }
    assert!(forms.iter().any(|f| f.contains('.')), "{forms:?}");
}

#[tokio::test]
async fn user_tokens_keep_alive_and_invalidate() {
    let sim = start_with(SimOptions {
        user_token_lifetime: Duration::from_secs(600),
        ..opts()
    })
    .await;
    let (http, base) = (http(), sim.url());
    let resp = http
        .post(format!("{base}/api/v1/auth/token"))
        .basic_auth("admin", Some("secret"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = json(resp).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let expires = body["expires"].as_str().unwrap();
    assert_expires_form(expires);
    let exp = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
    let lifetime = exp.timestamp() - sim.instance(None).now().timestamp();
    assert!(
        (598..=600).contains(&lifetime),
        "configured lifetime, got {lifetime}"
    );
    let (header, claims) = jwt_parts(&token);
    assert_eq!(header, json!({"alg": "HS512"}));
    assert_eq!(claims["subject-type"], "JSS_USER_ID");
    assert_eq!(claims["authentication-type"], "JSS");
    assert_eq!(claims["sub"], "1");

    // bad credentials
    for (u, p) in [("admin", "nope"), ("ghost", "secret")] {
        let resp = http
            .post(format!("{base}/api/v1/auth/token"))
            .basic_auth(u, Some(p))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(json(resp).await["httpStatus"], 401);
    }
    let resp = http
        .post(format!("{base}/api/v1/auth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // keep-alive: new token, old one invalidated
    let resp = post_empty(&http, &format!("{base}/api/v1/auth/keep-alive"), &token).await;
    assert_eq!(resp.status(), 200);
    let renewed = json(resp).await["token"].as_str().unwrap().to_owned();
    assert_ne!(renewed, token);
    assert_unauthorized(get(&http, &format!("{base}/api/v1/api-roles"), &token).await).await;
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), &renewed)
            .await
            .status(),
        200
    );

    // GET /v1/auth
    let me = json(get(&http, &format!("{base}/api/v1/auth"), &renewed).await).await;
    assert_eq!(me["account"]["username"], "admin");
    assert_eq!(me["account"]["privilegeSet"], "ADMINISTRATOR");
    assert_eq!(me["authenticationType"], "JSS");
    assert_eq!(
        me["account"]["privilegesBySite"]["-1"]
            .as_array()
            .unwrap()
            .len(),
        522
    );
    let auditor = user_token(&http, &base, AUDITOR).await;
    let me = json(get(&http, &format!("{base}/api/v1/auth"), &auditor).await).await;
    assert_eq!(me["account"]["privilegeSet"], "AUDITOR");

    // invalidate-token
    let resp = post_empty(
        &http,
        &format!("{base}/api/v1/auth/invalidate-token"),
        &renewed,
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_unauthorized(get(&http, &format!("{base}/api/v1/api-roles"), &renewed).await).await;
    assert_unauthorized(
        post_empty(
            &http,
            &format!("{base}/api/v1/auth/invalidate-token"),
            &renewed,
        )
        .await,
    )
    .await;
    assert_unauthorized(
        post_empty(&http, &format!("{base}/api/v1/auth/keep-alive"), &renewed).await,
    )
    .await;
}

#[tokio::test]
async fn client_tokens_on_auth_endpoints() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (_, _, client_id, secret) = client_with(&inst, "Reader", &["Read API Roles"], 300);
    let (http, base) = (http(), sim.url());
    let t = client_token(&http, &base, &client_id, &secret).await;
    let err = api_error(
        post_empty(&http, &format!("{base}/api/v1/auth/keep-alive"), &t).await,
        403,
    )
    .await;
    assert_eq!(err["code"], "BAD_PERMISSIONS");
    assert_eq!(
        get(&http, &format!("{base}/api/v1/api-roles"), &t)
            .await
            .status(),
        200,
        "still valid"
    );
    let err = api_error(get(&http, &format!("{base}/api/v1/auth"), &t).await, 403).await;
    assert_eq!(err["code"], "BAD_PERMISSIONS");
    assert_eq!(
        post_empty(&http, &format!("{base}/api/v1/auth/invalidate-token"), &t)
            .await
            .status(),
        204
    );
    assert_unauthorized(get(&http, &format!("{base}/api/v1/api-roles"), &t).await).await;
}

#[tokio::test]
async fn every_protected_endpoint_checks_token_and_privilege() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (_, _, client_id, secret) = client_with(&inst, "Nothing", &[], 300);
    let (http, base) = (http(), sim.url());
    let weak = client_token(&http, &base, &client_id, &secret).await;
    // One client per privilege, holding only that privilege.
    let mut holders = std::collections::HashMap::new();
    for privilege in [
        "Read API Roles",
        "Create API Roles",
        "Update API Roles",
        "Delete API Roles",
        "Read API Integrations",
        "Create API Integrations",
        "Update API Integrations",
        "Delete API Integrations",
    ] {
        let (_, _, id, secret) =
            client_with(&inst, &format!("Only {privilege}"), &[privilege], 300);
        holders.insert(privilege, client_token(&http, &base, &id, &secret).await);
    }
    let endpoints = [
        ("GET", "/api/v1/api-roles", "Read API Roles"),
        ("POST", "/api/v1/api-roles", "Create API Roles"),
        ("GET", "/api/v1/api-roles/1", "Read API Roles"),
        ("PUT", "/api/v1/api-roles/1", "Update API Roles"),
        ("DELETE", "/api/v1/api-roles/1", "Delete API Roles"),
        ("GET", "/api/v1/api-role-privileges", "Read API Roles"),
        (
            "GET",
            "/api/v1/api-role-privileges/search?name=x",
            "Read API Roles",
        ),
        ("GET", "/api/v1/api-integrations", "Read API Integrations"),
        (
            "POST",
            "/api/v1/api-integrations",
            "Create API Integrations",
        ),
        ("GET", "/api/v1/api-integrations/1", "Read API Integrations"),
        (
            "PUT",
            "/api/v1/api-integrations/1",
            "Update API Integrations",
        ),
        (
            "DELETE",
            "/api/v1/api-integrations/1",
            "Delete API Integrations",
        ),
        (
            "POST",
            "/api/v1/api-integrations/1/client-credentials",
            "Create API Integrations",
        ),
    ];
    for (method, path, privilege) in endpoints {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = format!("{base}{path}");
        for auth in [None, Some("not-a-token")] {
            let mut req = http.request(m.clone(), &url);
            if let Some(a) = auth {
                req = req.bearer_auth(a);
            }
            assert_unauthorized(req.send().await.unwrap()).await;
        }
        let resp = http
            .request(m.clone(), &url)
            .bearer_auth(&weak)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        assert!(
            resp.headers().get("x-required-privileges").is_none(),
            "jamf pro does not name the privilege: {method} {path}"
        );
        // The privilege named in the table is the one that lets the request through.
        let resp = http
            .request(m.clone(), &url)
            .bearer_auth(&holders[privilege])
            .send()
            .await
            .unwrap();
        assert_ne!(resp.status(), 403, "{method} {path} with {privilege:?}");
        assert_ne!(resp.status(), 401, "{method} {path} with {privilege:?}");
    }
    assert_unauthorized(get(&http, &format!("{base}/api/v1/auth"), "nope").await).await;
}
