//! The curl workflow of "Understanding Jamf Pro API Roles And Clients" (API-NOTES GP-blog),
//! request for request, against the simulator.

use crate::common;

use std::io::Write;

use common::*;
use jamf_sim::{Sim, SimOptions, UserSpec};
use serde_json::json;

#[tokio::test]
async fn blog_workflow() {
    let fixture = json!({
        "empty": true,
        "roles": [{"displayName": "One Role to Rule them all", "privileges": ["View License Serial Numbers"]}]
    });
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "{fixture}").unwrap();
    let sim = Sim::start(
        local(),
        SimOptions {
            users: vec![UserSpec::admin("jamfsw", "jamf1234")],
            fixture: Some(file.path().to_path_buf()),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let server = sim.url();
    let http = http();

    // obtain a Bearer Token using Basic Authentication
    let resp = http
        .post(format!("{server}/api/v1/auth/token"))
        .header("accept", "application/json")
        .basic_auth("jamfsw", Some("jamf1234"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token = json(resp).await["token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");

    // List existing API Roles
    let resp = http
        .get(format!(
            "{server}/api/v1/api-roles?page=0&page-size=100&sort=id%3Aasc"
        ))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(resp).await,
        json!({"totalCount": 1, "results": [{"id": "1", "displayName": "One Role to Rule them all", "privileges": ["View License Serial Numbers"]}]})
    );
    let resp = http
        .get(format!("{server}/api/v1/api-roles/1"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["displayName"], "One Role to Rule them all");

    // all privileges, then the keyword search
    let resp = http
        .get(format!("{server}/api/v1/api-role-privileges"))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    let all = json(resp).await;
    assert_eq!(all["privileges"][0], "Access Management Setting Read");
    assert!(
        all["privileges"]
            .as_array()
            .unwrap()
            .contains(&json!("View Recovery Lock"))
    );
    let resp = http
        .get(format!(
            "{server}/api/v1/api-role-privileges/search?name=Static%20Computer%20Groups&limit=15"
        ))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(resp).await,
        json!({"privileges": ["Create Static Computer Groups", "Delete Static Computer Groups", "Read Static Computer Groups", "Update Static Computer Groups"]})
    );

    // Create a new API Role
    let resp = http
        .post(format!("{server}/api/v1/api-roles"))
        .header("accept", "application/json")
        .header("Content-Type", "application/json")
        .header("authorization", &auth)
        .body(
            r#"{
                          "displayName": "Amend Static Groups",
                          "privileges": [
                              "Create Static Computer Groups",
                              "Read Static Computer Groups",
                              "Update Static Computer Groups"
                          ]
                       }"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json(resp).await,
        json!({"privileges": ["Create Static Computer Groups", "Update Static Computer Groups", "Read Static Computer Groups"], "displayName": "Amend Static Groups", "id": "2"})
    );

    // List existing API Clients (none yet)
    let resp = http
        .get(format!(
            "{server}/api/v1/api-integrations?page=0&page-size=100&sort=id%3Aasc"
        ))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await, json!({"totalCount": 0, "results": []}));

    // Create a new API Client
    let resp = http
        .post(format!("{server}/api/v1/api-integrations"))
        .header("accept", "application/json")
        .header("Content-Type", "application/json")
        .header("authorization", &auth)
        .body(
            r#"{
                          "authorizationScopes": [
                              "Amend Static Groups"
                          ],
                          "displayName": "Static Group Amendment Client",
                          "enabled": true,
                          "accessTokenLifetimeSeconds": 300
                       }"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let client = json(resp).await;
    let client_id = client["clientId"].as_str().unwrap().to_owned();
    assert_eq!(
        client,
        json!({"authorizationScopes": ["Amend Static Groups"], "displayName": "Static Group Amendment Client", "enabled": true, "accessTokenLifetimeSeconds": 300, "id": 1, "appType": "NONE", "clientId": client_id})
    );

    // filter by name (the blog's URL: api-roles with a trailing slash)
    let resp = http
        .get(format!("{server}/api/v1/api-roles/?page=0&page-size=100&sort=id%3Aasc&filter=displayName%3D%3D%22Amend%20Static%20Groups%22"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["totalCount"], 1);
    let resp = http
        .get(format!("{server}/api/v1/api-integrations?page=0&page-size=100&sort=id%3Aasc&filter=displayName%3D%3D%22Static%20Group%20Amendment%20Client%22"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["results"][0]["id"], 1);

    // Create client credentials
    let resp = http
        .post(format!(
            "{server}/api/v1/api-integrations/1/client-credentials"
        ))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let creds = json(resp).await;
    assert_eq!(creds["clientId"], client_id.as_str());
    let secret = creds["clientSecret"].as_str().unwrap().to_owned();

    // Use the client to get an access token (legacy path, url-encoded form)
    let resp = http
        .post(format!("{server}/api/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={client_id}&grant_type=client_credentials&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let access = json(resp).await;
    assert_eq!(access["expires_in"], 299);
    assert_eq!(access["scope"], "api-role:2");
    let access_token = access["access_token"].as_str().unwrap().to_owned();

    // revoke the token after use
    let resp = http
        .post(format!("{server}/api/v1/auth/invalidate-token"))
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {access_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Amend, then delete the client, then the role
    let resp = http
        .put(format!("{server}/api/v1/api-integrations/1"))
        .header("Content-Type", "application/json")
        .header("authorization", &auth)
        .body(r#"{"authorizationScopes":["Amend Static Groups"],"displayName":"Static Group Amendment Client","enabled":true,"accessTokenLifetimeSeconds":600}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await["accessTokenLifetimeSeconds"], 600);
    let resp = http
        .delete(format!("{server}/api/v1/api-integrations/1"))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = http
        .delete(format!("{server}/api/v1/api-roles/2"))
        .header("accept", "application/json")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = http
        .post(format!("{server}/api/v1/auth/invalidate-token"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    sim.shutdown().await;
}
