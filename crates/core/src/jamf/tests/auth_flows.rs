use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use secrecy::ExposeSecret;

const OAUTH: &str = "POST /api/v1/oauth/token";
const LEGACY: &str = "POST /api/oauth/token";
const ROLE1: &str = "GET /api/v1/api-roles/1";

#[tokio::test]
async fn client_token_is_cached_and_401_reauthenticates_once() {
    let (url, fake) = serve(|hit, n| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        ROLE1 if n == 2 => Reply::json(401, r#"{"httpStatus":401,"errors":[]}"#),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    assert_eq!(client.get_role("1").await.unwrap().id, "1");
    assert_eq!(fake.count(OAUTH), 1);
    // Second call gets a 401: token dropped, minted again, request replayed once.
    assert_eq!(client.get_role("1").await.unwrap().display_name, "R");
    assert_eq!(fake.count(OAUTH), 2);
    assert_eq!(fake.count(ROLE1), 3);
    assert_eq!(client.stats().reauthentications, 1);
    let info = client.token_info().await.unwrap();
    assert_eq!(info.kind, TokenKind::ClientCredentials);
    assert_eq!(info.role_ids, ["1", "2"]);

    let hits = fake.hits();
    let mint = hits.iter().find(|h| h.route() == OAUTH).unwrap();
    assert_eq!(
        mint.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(mint.body.contains("grant_type=client_credentials"));
    assert!(mint.body.contains("client_id=cid"));
    assert!(mint.header("authorization").is_none());
    let get = hits.iter().find(|h| h.route() == ROLE1).unwrap();
    assert_eq!(
        get.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

/// Jamf's 401 for a bad or malformed bearer token has no cause: `errors` is empty. The
/// client must not assume `errors[0]`.
#[tokio::test]
async fn second_401_without_a_cause_is_unauthorized() {
    for body in [
        r#"{"httpStatus":401,"errors":[]}"#,
        r#"{"httpStatus":401}"#,
        r#"{"httpStatus":401,"errors":null}"#,
        "",
    ] {
        let (url, fake) = serve(move |hit, _| match hit.route().as_str() {
            OAUTH => oauth_ok(600),
            _ => Reply::json(401, body),
        })
        .await;
        let client = api_client(url);
        let err = client.get_role("1").await.unwrap_err();
        let JamfError::Unauthorized { detail, .. } = &err else {
            panic!("{body}: {err}")
        };
        assert_eq!(
            detail,
            "jamf pro rejected the token even after re-authenticating"
        );
        assert_eq!(fake.count(OAUTH), 2, "{body}");
        assert_eq!(fake.count(ROLE1), 2, "{body}");
        assert!(
            err.to_string().ends_with("; check the credentials"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn second_401_is_unauthorized() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => Reply::json(401, r#"{"httpStatus":401,"errors":[{"code":"INVALID_TOKEN","description":"Unauthorized","id":"0","field":null}]}"#),
    })
    .await;
    let client = api_client(url);
    let err = client.get_role("1").await.unwrap_err();
    assert!(matches!(err, JamfError::Unauthorized { .. }), "{err}");
    assert_eq!(fake.count(OAUTH), 2);
    assert_eq!(fake.count(ROLE1), 2);
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn legacy_token_path_is_used_after_404_and_remembered() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => Reply::status(404),
        LEGACY => oauth_ok(600),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    client.get_role("1").await.unwrap();
    client
        .set_credentials(Credentials::api_client("cid2", "other"))
        .await;
    client.get_role("1").await.unwrap();
    assert_eq!(fake.count(OAUTH), 1);
    assert_eq!(fake.count(LEGACY), 2);
    let last = fake
        .hits()
        .into_iter()
        .rfind(|h| h.route() == LEGACY)
        .unwrap();
    assert!(last.body.contains("client_id=cid2"));
}

#[tokio::test]
async fn refused_client_credentials_are_an_oauth_error() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"bad"}"#,
        ),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    let err = client.list_roles().await.unwrap_err();
    assert!(
        matches!(&err, JamfError::OAuth { status: 401, error, .. } if error == "invalid_client"),
        "{err}"
    );
    assert!(!err.to_string().contains(SECRET));
    // A refusal is not transient: one request only.
    assert_eq!(fake.count(OAUTH), 1);
}

#[tokio::test]
async fn tiny_token_lifetime_still_works() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(1),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let clock = ManualClock::starting_now();
    let client = api_client_on(url, &clock);
    for _ in 0..3 {
        client.get_role("1").await.unwrap();
    }
    assert!(fake.count(OAUTH) <= 3);
    clock.advance(Duration::from_millis(1100));
    client.get_role("1").await.unwrap();
    assert!(fake.count(OAUTH) >= 2, "expired token must be re-minted");
}

/// A login or keep-alive answer for a token living `lifetime` from `now` (the server's time;
/// no `Date` header, so the client measures it on its own clock).
fn user_token(token: &str, now: chrono::DateTime<chrono::Utc>, lifetime: Duration) -> Reply {
    let expires = crate::clock::add(now, lifetime);
    Reply::json(
        200,
        format!(
            r#"{{"token":"{token}","expires":"{}"}}"#,
            expires.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        ),
    )
}

fn user_client(url: Url, clock: &ManualClock) -> JamfClient {
    let mut cfg = fast_config(url);
    cfg.token_margin = Duration::from_millis(100);
    cfg.clock = clock.clock();
    JamfClient::new(cfg, Credentials::user("admin", SECRET)).unwrap()
}

#[tokio::test]
async fn user_session_login_keep_alive_invalidate() {
    let clock = ManualClock::starting_now();
    let server = clock.clone();
    let (url, fake) = serve(move |hit, n| match hit.route().as_str() {
        "POST /api/v1/auth/token" => user_token(
            &format!("user-tok-{n}"),
            server.now(),
            Duration::from_secs(1800),
        ),
        "POST /api/v1/auth/keep-alive" => {
            user_token("kept-tok", server.now(), Duration::from_secs(1800))
        }
        "POST /api/v1/auth/invalidate-token" => Reply::status(204),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = user_client(url, &clock);
    client.get_role("1").await.unwrap();
    let info = client.token_info().await.unwrap();
    assert_eq!(info.kind, TokenKind::User);
    assert!(info.expires_in > Duration::from_secs(1700), "{info:?}");
    client.keep_alive().await.unwrap();
    client.get_role("1").await.unwrap();
    client.close().await.unwrap();
    client.get_role("1").await.unwrap();

    let hits = fake.hits();
    let login = hits
        .iter()
        .find(|h| h.route() == "POST /api/v1/auth/token")
        .unwrap();
    // base64("admin:" + SECRET)
    let basic = login.header("authorization").unwrap();
    assert!(basic.starts_with("Basic "), "{basic}");
    let auths: Vec<(String, Option<String>)> = hits
        .iter()
        .map(|h| (h.route(), h.header("authorization").map(str::to_owned)))
        .collect();
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    assert_eq!(auths[1], (ROLE1.to_owned(), bearer("user-tok-1")));
    assert_eq!(
        auths[2],
        (
            "POST /api/v1/auth/keep-alive".to_owned(),
            bearer("user-tok-1")
        )
    );
    assert_eq!(auths[3], (ROLE1.to_owned(), bearer("kept-tok")));
    assert_eq!(
        auths[4],
        (
            "POST /api/v1/auth/invalidate-token".to_owned(),
            bearer("kept-tok")
        )
    );
    assert_eq!(auths[5].0, "POST /api/v1/auth/token");
    assert_eq!(auths[6], (ROLE1.to_owned(), bearer("user-tok-2")));
}

#[tokio::test]
async fn user_token_near_expiry_is_kept_alive_and_401_means_login() {
    let clock = ManualClock::starting_now();
    let server = clock.clone();
    let (url, fake) = serve(move |hit, n| match hit.route().as_str() {
        "POST /api/v1/auth/token" => user_token(
            &format!("user-tok-{n}"),
            server.now(),
            Duration::from_secs(4),
        ),
        "POST /api/v1/auth/keep-alive" => Reply::json(401, r#"{"httpStatus":401,"errors":[]}"#),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = user_client(url, &clock);
    client.get_role("1").await.unwrap();
    // Past half the lifetime: the next request keeps the token alive first; the keep-alive
    // answers 401, so the client logs in again with Basic.
    clock.advance(Duration::from_millis(2600));
    client.get_role("1").await.unwrap();
    assert_eq!(fake.count("POST /api/v1/auth/keep-alive"), 1);
    assert_eq!(fake.count("POST /api/v1/auth/token"), 2);
    assert!(client.keep_alive().await.is_ok());
    let err = api_client(Url::parse("http://127.0.0.1:1").unwrap())
        .keep_alive()
        .await
        .unwrap_err();
    assert!(matches!(err, JamfError::Config(_)));
}

fn token_for(hit: &Hit) -> Reply {
    if hit.body.contains("client_id=new-cid") {
        Reply::json(
            200,
            r#"{"access_token":"oneshot-token","scope":"api-role:3","token_type":"Bearer","expires_in":299}"#,
        )
    } else {
        oauth_ok(600)
    }
}

#[tokio::test]
async fn verify_client_credentials_leaves_own_token_alone() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => token_for(hit),
        "GET /api/v1/api-roles" => Reply::json(200, r#"{"totalCount":0,"results":[]}"#),
        "GET /api/v1/api-integrations" => Reply::json(403, ""),
        "POST /api/v1/auth/invalidate-token" => Reply::status(204),
        ROLE1 => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    client.get_role("1").await.unwrap();
    let creds = ClientCredentials::new("new-cid", "new-secret-value");
    let v = client
        .verify_client_credentials(&creds, Some(ProbeRead::RolesPage))
        .await
        .unwrap();
    assert_eq!(v.role_ids, ["3"]);
    assert_eq!(v.scope, "api-role:3");
    assert_eq!(v.expires_in, Duration::from_secs(299));
    assert_eq!(v.probe, Some(ProbeOutcome::Authorized));
    assert!(v.invalidated);
    let v = client
        .verify_client_credentials(&creds, Some(ProbeRead::IntegrationsPage))
        .await
        .unwrap();
    assert_eq!(
        v.probe,
        Some(ProbeOutcome::Forbidden {
            privileges: vec!["Read API Integrations".into()]
        })
    );
    client.get_role("1").await.unwrap();

    let hits = fake.hits();
    let own_mints = hits
        .iter()
        .filter(|h| h.route() == OAUTH && h.body.contains("client_id=cid&"))
        .count();
    assert_eq!(own_mints, 1, "the client's own token was not disturbed");
    let probe = hits
        .iter()
        .find(|h| h.route() == "GET /api/v1/api-roles")
        .unwrap();
    assert_eq!(probe.header("authorization"), Some("Bearer oneshot-token"));
    assert_eq!(query_param(probe, "page-size").as_deref(), Some("1"));
    let inval: Vec<_> = hits
        .iter()
        .filter(|h| h.route() == "POST /api/v1/auth/invalidate-token")
        .collect();
    assert_eq!(inval.len(), 2);
    assert!(
        inval
            .iter()
            .all(|h| h.header("authorization") == Some("Bearer oneshot-token"))
    );
    let last_get = hits.iter().rfind(|h| h.route() == ROLE1).unwrap();
    assert_eq!(
        last_get.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[tokio::test]
async fn one_shot_session_is_invalidated_when_dropped() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => token_for(hit),
        "POST /api/v1/auth/invalidate-token" => Reply::status(204),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    let session = client
        .one_shot(&ClientCredentials::new("new-cid", "s"))
        .await
        .unwrap();
    assert_eq!(
        session.access_token().unwrap().expose_secret(),
        "oneshot-token"
    );
    assert!(!format!("{session:?}").contains("oneshot-token"));
    drop(session);
    // the invalidation runs on a task spawned by the drop: wait for its request to arrive
    let arrived = fake
        .wait_for(
            "POST /api/v1/auth/invalidate-token",
            1,
            Duration::from_secs(10),
        )
        .await;
    assert!(arrived, "dropped session was not invalidated");
    assert_eq!(fake.count("POST /api/v1/auth/invalidate-token"), 1);
}
