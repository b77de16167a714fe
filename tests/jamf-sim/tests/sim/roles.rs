//! API roles and API role privileges.

use crate::common;

use common::*;
use jamf_sim::{BUILTIN_APP_NAME, SimOptions};
use serde_json::json;

#[tokio::test]
async fn role_crud_and_reordered_privileges() {
    let sim = start_with(SimOptions {
        empty: true,
        ..opts()
    })
    .await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let privs = [
        "Create Static Computer Groups",
        "Read Static Computer Groups",
        "Update Static Computer Groups",
    ];
    let resp = post_json(
        &http,
        &format!("{base}/api/v1/api-roles"),
        &t,
        &json!({"displayName": "Amend Static Groups", "privileges": privs}),
    )
    .await;
    assert_eq!(resp.status(), 200, "POST returns 200, not 201");
    let role = json(resp).await;
    assert_eq!(role["id"], "1", "ids are strings");
    assert_eq!(
        role["privileges"],
        json!([
            "Create Static Computer Groups",
            "Update Static Computer Groups",
            "Read Static Computer Groups"
        ]),
        "stored as a set, returned in a different order"
    );
    let second = json(
        post_json(
            &http,
            &format!("{base}/api/v1/api-roles"),
            &t,
            &json!({"displayName": "Second", "privileges": []}),
        )
        .await,
    )
    .await;
    assert_eq!(second["id"], "2", "ids increase; empty privileges allowed");

    let got = json(get(&http, &format!("{base}/api/v1/api-roles/1"), &t).await).await;
    assert_eq!(got, role);

    // PUT is a full replace.
    let resp = put_json(
        &http,
        &format!("{base}/api/v1/api-roles/1"),
        &t,
        &json!({"displayName": "Renamed", "privileges": ["Read API Roles"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let updated = json(resp).await;
    assert_eq!(
        updated,
        json!({"id": "1", "displayName": "Renamed", "privileges": ["Read API Roles"]})
    );
    assert_eq!(
        sim.instance(None).role("1").unwrap().display_name,
        "Renamed"
    );

    let resp = delete(&http, &format!("{base}/api/v1/api-roles/1"), &t).await;
    assert_eq!(resp.status(), 204);
    let err = api_error(
        get(&http, &format!("{base}/api/v1/api-roles/1"), &t).await,
        404,
    )
    .await;
    assert_eq!(err["code"], "INVALID_ID");
    // ids are never reused
    let third = json(
        post_json(
            &http,
            &format!("{base}/api/v1/api-roles"),
            &t,
            &json!({"displayName": "Third", "privileges": []}),
        )
        .await,
    )
    .await;
    assert_eq!(third["id"], "3");
}

#[tokio::test]
async fn role_validation_errors() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let url = format!("{base}/api/v1/api-roles");

    let resp = post_json(
        &http,
        &url,
        &t,
        &json!({"displayName": "Bad", "privileges": ["Read API Roles", "Read Nothing", "read api integrations"]}),
    )
    .await;
    let err = api_error(resp, 400).await;
    assert_eq!(
        err["description"], "privilege(s) are not valid [Read Nothing, read api integrations]",
        "exact, case-sensitive match"
    );

    post_json(
        &http,
        &url,
        &t,
        &json!({"displayName": "Dup", "privileges": []}),
    )
    .await;
    let resp = post_json(
        &http,
        &url,
        &t,
        &json!({"displayName": "Dup", "privileges": []}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        json(resp).await,
        json!({"httpStatus": 400, "errors": [{"code": null, "description": "role display name must be unique", "id": "0", "field": null}]})
    );

    // a rename onto another role's name is a duplicate too; keeping one's own name is fine
    let other = sim
        .instance(None)
        .create_role("Other", ["Read API Roles"])
        .unwrap();
    let resp = put_json(
        &http,
        &format!("{url}/{other}"),
        &t,
        &json!({"displayName": "Dup", "privileges": []}),
    )
    .await;
    api_error(resp, 400).await;
    let resp = put_json(
        &http,
        &format!("{url}/{other}"),
        &t,
        &json!({"displayName": "Other", "privileges": []}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // malformed bodies are 400, never a crash
    for body in [
        json!({"privileges": []}),
        json!({"displayName": "X"}),
        json!({"displayName": 5, "privileges": []}),
        json!({"displayName": "X", "privileges": "Read API Roles"}),
        json!({"displayName": "X", "privileges": [1]}),
        json!({"displayName": "  ", "privileges": []}),
        json!([1, 2]),
    ] {
        let resp = post_json(&http, &url, &t, &body).await;
        assert_eq!(resp.status(), 400, "body {body}");
    }
    let resp = http
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    api_error(resp, 400).await;

    // unknown ids
    for id in ["999", "abc"] {
        let resp = get(&http, &format!("{url}/{id}"), &t).await;
        assert_eq!(api_error(resp, 404).await["code"], "INVALID_ID");
        let resp = put_json(
            &http,
            &format!("{url}/{id}"),
            &t,
            &json!({"displayName": "Z", "privileges": []}),
        )
        .await;
        api_error(resp, 404).await;
        let resp = delete(&http, &format!("{url}/{id}"), &t).await;
        api_error(resp, 404).await;
    }
}

#[tokio::test]
async fn deleting_a_role_in_use_is_a_conflict() {
    let sim = start().await;
    let inst = sim.instance(None);
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let role = inst.create_role("In Use", ["Read API Roles"]).unwrap();
    let (client, _) = inst.create_client("C", ["In Use"], false, 300).unwrap();
    let resp = delete(&http, &format!("{base}/api/v1/api-roles/{role}"), &t).await;
    let err = api_error(resp, 409).await;
    assert_eq!(err["description"], "Role in use by an Integration/Client");
    assert!(inst.role(&role).is_some());

    // the built-in app role is in use by its native-app client
    let builtin = inst.role_by_name(BUILTIN_APP_NAME).unwrap();
    let resp = delete(
        &http,
        &format!("{base}/api/v1/api-roles/{}", builtin.id),
        &t,
    )
    .await;
    api_error(resp, 409).await;

    // once no client names it, it can go
    inst.delete_client(client).unwrap();
    let resp = delete(&http, &format!("{base}/api/v1/api-roles/{role}"), &t).await;
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn builtin_app_role_exists_unless_empty() {
    let sim = start().await;
    let roles = sim.instance(None).roles();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].display_name, BUILTIN_APP_NAME);
    let empty = sim.try_add_instance("bare", Some(true)).unwrap();
    let (http, t) = (http(), admin_token(&http(), &empty).await);
    let body = json(get(&http, &format!("{empty}/api/v1/api-roles"), &t).await).await;
    assert_eq!(body, json!({"totalCount": 0, "results": []}));
}

#[tokio::test]
async fn privileges_list_and_search() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = user_token(&http, &base, AUDITOR).await;
    let all = json(get(&http, &format!("{base}/api/v1/api-role-privileges"), &t).await).await;
    let all = all["privileges"].as_array().unwrap();
    assert_eq!(all.len(), 522);
    assert_eq!(all[0], "Access Management Setting Read");

    let url = format!(
        "{base}/api/v1/api-role-privileges/search?name=Static%20Computer%20Groups&limit=15"
    );
    let found = json(get(&http, &url, &t).await).await;
    assert_eq!(
        found,
        json!({"privileges": [
            "Create Static Computer Groups",
            "Delete Static Computer Groups",
            "Read Static Computer Groups",
            "Update Static Computer Groups"
        ]})
    );
    // case-insensitive substring; default limit 15
    let found = json(
        get(
            &http,
            &format!("{base}/api/v1/api-role-privileges/search?name=read"),
            &t,
        )
        .await,
    )
    .await;
    assert_eq!(found["privileges"].as_array().unwrap().len(), 15);
    let found = json(
        get(
            &http,
            &format!("{base}/api/v1/api-role-privileges/search?name=STATIC%20computer&limit=2"),
            &t,
        )
        .await,
    )
    .await;
    assert_eq!(found["privileges"].as_array().unwrap().len(), 2);
    // name is required; limit must be a number
    let resp = get(
        &http,
        &format!("{base}/api/v1/api-role-privileges/search"),
        &t,
    )
    .await;
    api_error(resp, 400).await;
    let resp = get(
        &http,
        &format!("{base}/api/v1/api-role-privileges/search?name=x&limit=many"),
        &t,
    )
    .await;
    api_error(resp, 400).await;
}

#[tokio::test]
async fn auditor_can_read_but_not_write() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = user_token(&http, &base, AUDITOR).await;
    let resp = get(&http, &format!("{base}/api/v1/api-roles"), &t).await;
    assert_eq!(resp.status(), 200);
    let resp = post_json(
        &http,
        &format!("{base}/api/v1/api-roles"),
        &t,
        &json!({"displayName": "Nope", "privileges": []}),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(
        resp.headers().get("x-required-privileges").is_none(),
        "jamf pro does not name the missing privilege"
    );
    assert_eq!(
        json(resp).await,
        json!({"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "description": "Forbidden", "id": "0", "field": null}]})
    );
    assert!(sim.instance(None).role_by_name("Nope").is_none());
}

#[tokio::test]
async fn trailing_slash_is_served() {
    let sim = start().await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let url = format!(
        "{base}/api/v1/api-roles/?page=0&page-size=100&sort=id%3Aasc&filter=displayName%3D%3D%22Jamf%20Reset%22"
    );
    let body = json(get(&http, &url, &t).await).await;
    assert_eq!(body["totalCount"], 1);
}

#[tokio::test]
async fn the_privilege_catalogue_changes_at_run_time() {
    let sim = start_with(SimOptions {
        empty: true,
        ..opts()
    })
    .await;
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let inst = sim.instance(None);
    let role = inst
        .create_role("Inventory", ["Read Computers"])
        .expect("role");
    let shipped = inst.privileges();
    assert_eq!(shipped.len(), 522);

    // an upgrade renames a privilege: the catalogue and the stored role follow
    inst.rename_privilege("Read Computers", "Read Computer Inventory")
        .expect("rename");
    let listed = json(get(&http, &format!("{base}/api/v1/api-role-privileges"), &t).await).await;
    let names: Vec<String> = serde_json::from_value(listed["privileges"].clone()).unwrap();
    assert!(names.contains(&"Read Computer Inventory".to_owned()));
    assert!(!names.contains(&"Read Computers".to_owned()));
    assert_eq!(
        inst.role(&role).unwrap().privileges,
        vec!["Read Computer Inventory".to_owned()]
    );
    // the old name is refused from now on, the new one accepted
    let refused = post_json(
        &http,
        &format!("{base}/api/v1/api-roles"),
        &t,
        &json!({"displayName": "Old", "privileges": ["Read Computers"]}),
    )
    .await;
    assert_eq!(refused.status(), 400);

    // the admin API replaces and restores it
    let admin = http
        .put(format!("{base}/_sim/privileges"))
        .json(&json!({"privileges": ["Read Computers", "Read Blueprints"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    assert_eq!(inst.privileges().len(), 2);
    let reset = http
        .delete(format!("{base}/_sim/privileges"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(inst.privileges(), shipped);
}
