use std::io::Write;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use super::*;

const OAUTH: &str = "POST /api/v1/oauth/token";

/// A list endpoint of `n` roles, clamping `page-size` to 2000 like Jamf.
fn roles_page(hit: &Hit, n: u64) -> Reply {
    let page: u64 = query_param(hit, "page").unwrap().parse().unwrap();
    let size: u64 = query_param(hit, "page-size").unwrap().parse().unwrap();
    assert_eq!(query_param(hit, "sort").as_deref(), Some("id:asc"));
    let size = size.min(2000);
    let start = (page * size).min(n);
    let end = (start + size).min(n);
    let results: Vec<String> = (start..end)
        .map(|i| role_json(i + 1, &format!("role {i}")))
        .collect();
    Reply::json(
        200,
        format!(r#"{{"totalCount":{n},"results":[{}]}}"#, results.join(",")),
    )
}

#[tokio::test]
async fn pages_through_4500_roles() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "GET /api/v1/api-roles" => roles_page(hit, 4500),
        _ => Reply::status(500),
    })
    .await;
    for (page_size, requests) in [(2000, 3), (5000, 3), (1000, 5)] {
        let mut cfg = fast_config(url.clone());
        cfg.page_size = page_size;
        let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
        let before = fake.count("GET /api/v1/api-roles");
        let roles = client.list_roles().await.unwrap();
        assert_eq!(roles.len(), 4500, "page size {page_size}");
        let ids: std::collections::BTreeSet<_> = roles.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids.len(), 4500);
        assert_eq!(fake.count("GET /api/v1/api-roles") - before, requests);
    }
}

#[tokio::test]
async fn a_server_ignoring_page_is_an_error_not_a_loop() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => Reply::json(
            200,
            format!(r#"{{"totalCount":10,"results":[{}]}}"#, role_json(1, "a")),
        ),
    })
    .await;
    let err = api_client(url).list_roles().await.unwrap_err();
    assert!(matches!(err, JamfError::Paging { .. }), "{err}");
    assert!(err.to_string().contains("brought no new item"), "{err}");
    assert_eq!(fake.count("GET /api/v1/api-roles"), 2);
}

/// A hostile list endpoint: every page brings `per_page` new roles and claims `total`.
fn endless_page(hit: &Hit, total: &str, per_page: u64) -> Reply {
    let page: u64 = query_param(hit, "page").unwrap().parse().unwrap();
    let results: Vec<String> = (0..per_page)
        .map(|i| role_json(page * 1_000_000 + i, "r"))
        .collect();
    Reply::json(
        200,
        format!(
            r#"{{"totalCount":{total},"results":[{}]}}"#,
            results.join(",")
        ),
    )
}

#[tokio::test]
async fn endless_paging_stops_at_the_object_cap_with_the_key_to_raise_it() {
    // totalCount never reached: each page brings 100 new roles, forever
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => endless_page(hit, "1000", 99),
    })
    .await;
    let mut cfg = fast_config(url.clone());
    cfg.page_size = 100;
    cfg.max_list_objects = 1000;
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    let Err(err) = client.list_roles().await else {
        panic!("the cap must end the listing");
    };
    assert!(
        matches!(
            err,
            JamfError::Limit {
                limit: Limit::Objects { max: 1000 },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("instance.max_list_objects"),
        "{err}"
    );
    assert_eq!(fake.count("GET /api/v1/api-roles"), 11);

    // an absurd totalCount stops at the first page
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => endless_page(hit, "18446744073709551615", 10),
    })
    .await;
    let err = api_client(url).list_roles().await.unwrap_err();
    assert!(matches!(err, JamfError::Limit { .. }), "{err}");
    assert_eq!(fake.count("GET /api/v1/api-roles"), 1);

    // a negative one is not a list answer at all
    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => endless_page(hit, "-5", 10),
    })
    .await;
    let err = api_client(url).list_roles().await.unwrap_err();
    assert!(matches!(err, JamfError::Decode { .. }), "{err}");
}

#[tokio::test]
async fn pages_larger_than_asked_for_and_empty_pages_short_of_the_total_are_errors() {
    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => endless_page(hit, "5000", 3000),
    })
    .await;
    let err = api_client(url).list_roles().await.unwrap_err();
    assert!(
        err.to_string().contains("more items than the page size"),
        "{err}"
    );

    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ if query_param(hit, "page").as_deref() == Some("0") => endless_page(hit, "50", 10),
        _ => Reply::json(200, r#"{"totalCount":50,"results":[]}"#),
    })
    .await;
    let err = api_client(url).list_roles().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("was empty while totalCount says 50"),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_listing_stops_at_its_deadline() {
    // every page arrives, slowly, and brings new roles: only the deadline ends it
    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => endless_page(hit, "100000", 10).delay(Duration::from_millis(50)),
    })
    .await;
    let mut cfg = fast_config(url);
    cfg.page_size = 10;
    cfg.list_timeout = Duration::from_millis(300);
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    let err = client.list_roles().await.unwrap_err();
    assert!(
        matches!(
            err,
            JamfError::Limit {
                limit: Limit::Deadline { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("instance.list_timeout"), "{err}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_not_truncated() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "GET /api/v1/api-role-privileges" => {
            let big = format!(r#"{{"privileges":["{}"]}}"#, "x".repeat(17 * 1024 * 1024));
            Reply::json(200, big)
        }
        _ => Reply::status(500),
    })
    .await;
    let err = api_client(url.clone()).list_privileges().await.unwrap_err();
    assert!(
        matches!(
            err,
            JamfError::Limit {
                limit: Limit::Body { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        fake.count("GET /api/v1/api-role-privileges"),
        1,
        "not retried"
    );

    // a token answer has a far smaller cap
    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => Reply::json(
            200,
            format!(
                r#"{{"access_token":"{}","expires_in":60}}"#,
                "t".repeat(100 * 1024)
            ),
        ),
        _ => Reply::status(500),
    })
    .await;
    let err = api_client(url).authenticate().await.unwrap_err();
    assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
}

#[tokio::test]
async fn answers_to_requests_that_carried_a_secret_are_never_kept_verbatim() {
    // a token endpoint, a login and a secret mint that echo what they were sent, in the body
    // and in headers
    let echo = |status: u16| {
        Reply::json(
            status,
            format!(
                r#"{{"error":"{SECRET}","error_description":"bad secret {SECRET}","httpStatus":{status},"errors":[{{"code":"{SECRET}","description":"echo {SECRET}"}}]}}"#
            ),
        )
        .header("www-authenticate", format!("Bearer error=\"{SECRET}\""))
        .header("x-required-privileges", SECRET)
    };
    for status in [400, 401, 403, 409, 418, 422, 500] {
        let (url, _) = serve(move |hit, _| match hit.route().as_str() {
            OAUTH => echo(status),
            _ => Reply::status(500),
        })
        .await;
        let err = api_client(url.clone()).authenticate().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "oauth {status}: {text}");
        if matches!(status, 400 | 401) {
            assert!(
                matches!(&err, JamfError::OAuth { error, .. } if error == "unrecognised_error"),
                "{err}"
            );
        }

        let (url, _) = serve(move |hit, _| match hit.route().as_str() {
            "POST /api/v1/auth/token" => echo(status),
            _ => Reply::status(500),
        })
        .await;
        let user = JamfClient::new(fast_config(url), Credentials::user("admin", SECRET)).unwrap();
        let err = user.authenticate().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "login {status}: {text}");

        let (url, _) = serve(move |hit, _| match hit.route().as_str() {
            OAUTH => oauth_ok(600),
            "POST /api/v1/api-integrations/9/client-credentials" => echo(status),
            _ => Reply::status(500),
        })
        .await;
        let err = api_client(url)
            .generate_client_credentials(9)
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "mint {status}: {text}");
    }
    // a known code is kept, with a fixed description
    let (url, _) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"anything"}"#,
        ),
        _ => Reply::status(500),
    })
    .await;
    let err = api_client(url).authenticate().await.unwrap_err();
    assert!(matches!(&err, JamfError::OAuth { error, .. } if error == "invalid_client"));
    assert!(!err.to_string().contains("anything"), "{err}");
}

#[tokio::test]
async fn find_by_name_uses_rsql_and_rechecks_case() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "GET /api/v1/api-roles" => Reply::json(
            200,
            format!(
                r#"{{"totalCount":2,"results":[{},{}]}}"#,
                role_json(1, "amend \\\"x\\\" groups"),
                role_json(2, "Amend \\\"x\\\" Groups")
            ),
        ),
        "GET /api/v1/api-integrations" => Reply::json(
            200,
            r#"{"totalCount":1,"results":[{"authorizationScopes":["R"],"displayName":"client a","enabled":true,"id":4,"appType":"NONE","clientId":"u"}]}"#,
        ),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    let found = client
        .find_role_by_name(r#"Amend "x" Groups"#)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "2");
    let hit = fake
        .hits()
        .into_iter()
        .find(|h| h.route() == "GET /api/v1/api-roles")
        .unwrap();
    assert_eq!(
        query_param(&hit, "filter").as_deref(),
        Some(r#"displayName=="Amend \"x\" Groups""#)
    );
    assert!(
        !hit.query.contains('"'),
        "filter is url-encoded: {}",
        hit.query
    );
    assert!(
        client
            .find_integration_by_name("Client A")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        client
            .find_integration_by_name("client a")
            .await
            .unwrap()
            .unwrap()
            .id,
        4
    );
}

#[tokio::test]
async fn every_endpoint_shape() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "POST /api/v1/api-roles" => Reply::json(201, role_json(5, "R")),
        "PUT /api/v1/api-roles/5" => Reply::json(200, role_json(5, "R2")),
        "DELETE /api/v1/api-roles/5" => Reply::status(204),
        "DELETE /api/v1/api-roles/6" => Reply::json(409, r#"{"httpStatus":409,"errors":[{"description":"Role in use by an Integration/Client"}]}"#),
        "GET /api/v1/api-role-privileges" => Reply::json(200, r#"{"privileges":["A","B"]}"#),
        "GET /api/v1/api-role-privileges/search" => Reply::json(200, r#"{"privileges":["Read Static Computer Groups"]}"#),
        "POST /api/v1/api-integrations" | "GET /api/v1/api-integrations/9" | "PUT /api/v1/api-integrations/9" => Reply::json(
            200,
            r#"{"authorizationScopes":["R"],"displayName":"C","enabled":true,"accessTokenLifetimeSeconds":300,"id":9,"appType":"CLIENT_CREDENTIALS","clientId":"b8b1"}"#,
        ),
        "GET /api/v1/api-integrations" => Reply::json(200, r#"{"totalCount":0,"results":[]}"#),
        "DELETE /api/v1/api-integrations/9" => Reply::status(204),
        "POST /api/v1/api-integrations/9/client-credentials" => Reply::json(200, format!(r#"{{"clientId":"b8b1","clientSecret":"{SECRET}"}}"#)),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    let req = ApiRoleRequest {
        display_name: "R".into(),
        privileges: vec!["Read API Roles".into()],
    };
    assert_eq!(client.create_role(&req).await.unwrap().id, "5");
    assert_eq!(
        client.update_role("5", &req).await.unwrap().display_name,
        "R2"
    );
    client.delete_role("5").await.unwrap();
    let err = client.delete_role("6").await.unwrap_err();
    assert!(matches!(err, JamfError::Conflict { .. }), "{err}");
    assert_eq!(client.list_privileges().await.unwrap(), ["A", "B"]);
    client
        .search_privileges("Static Computer Groups", Some(4))
        .await
        .unwrap();
    let ireq = ApiIntegrationRequest {
        authorization_scopes: vec!["R".into()],
        display_name: "C".into(),
        enabled: Some(true),
        access_token_lifetime_seconds: Some(300),
    };
    let created = client.create_integration(&ireq).await.unwrap();
    assert_eq!(created.app_type, AppType::ClientCredentials);
    assert_eq!(client.get_integration(9).await.unwrap().id, 9);
    client.update_integration(9, &ireq).await.unwrap();
    assert!(client.list_integrations().await.unwrap().is_empty());
    client.delete_integration(9).await.unwrap();
    let creds = client.generate_client_credentials(9).await.unwrap();
    assert_eq!(creds.client_id, "b8b1");
    assert_eq!(creds.client_secret.expose_secret(), SECRET);
    assert!(!format!("{creds:?}").contains(SECRET));

    let hits = fake.hits();
    let by = |route: &str| hits.iter().find(|h| h.route() == route).unwrap().clone();
    let put = by("PUT /api/v1/api-roles/5");
    assert_eq!(
        put.body,
        r#"{"displayName":"R","privileges":["Read API Roles"]}"#
    );
    assert_eq!(put.header("content-type"), Some("application/json"));
    let search = by("GET /api/v1/api-role-privileges/search");
    assert_eq!(
        query_param(&search, "name").as_deref(),
        Some("Static Computer Groups")
    );
    assert_eq!(query_param(&search, "limit").as_deref(), Some("4"));
    assert_eq!(
        by("POST /api/v1/api-integrations/9/client-credentials").body,
        ""
    );
}

#[tokio::test]
async fn forbidden_names_the_privilege() {
    let (url, _fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "POST /api/v1/api-roles" => Reply::json(403, r#"{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","description":"Forbidden","id":"0","field":null}]}"#),
        _ => Reply::status(403).header("x-required-privileges", "Read API Integrations"),
    })
    .await;
    let client = api_client(url);
    let req = ApiRoleRequest {
        display_name: "R".into(),
        privileges: vec![],
    };
    let err = client.create_role(&req).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"forbidden on POST /api/v1/api-roles: the api client lacks privilege "Create API Roles"; add it to the client's api role"#
    );
    let JamfError::Forbidden { privileges, .. } = client.list_integrations().await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(privileges, ["Read API Integrations"]);
}

#[tokio::test]
async fn unexpected_bodies_are_decode_errors_without_secrets() {
    let (url, _fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "GET /api/v1/api-roles/1" => Reply::json(200, "<html>maintenance</html>"),
        _ => Reply::json(
            200,
            format!(r#"{{"clientId":"x","clientSecret":"{SECRET}""#),
        ),
    })
    .await;
    let client = api_client(url);
    let err = client.get_role("1").await.unwrap_err();
    assert!(matches!(err, JamfError::Decode { .. }));
    assert!(
        err.to_string().contains("<html>maintenance</html>"),
        "{err}"
    );
    let err = client.generate_client_credentials(3).await.unwrap_err();
    assert!(matches!(err, JamfError::Decode { .. }));
    assert!(!format!("{err} {err:?}").contains(SECRET));
}

#[tokio::test]
async fn configuration_errors() {
    let err = JamfClient::new(
        JamfClientConfig::new("x", Url::parse("http://jamf.example.com").unwrap()),
        Credentials::api_client("cid", SECRET),
    )
    .unwrap_err();
    assert!(matches!(err, JamfError::InsecureUrl { .. }), "{err}");

    let mut cfg = JamfClientConfig::new("x", Url::parse("https://jamf.example.com").unwrap());
    cfg.ca_file = Some("/nonexistent/ca.pem".into());
    let err = JamfClient::new(cfg.clone(), Credentials::api_client("c", SECRET)).unwrap_err();
    assert!(err.to_string().contains("cannot read ca_file"), "{err}");

    let mut garbage = tempfile::NamedTempFile::new().unwrap();
    garbage.write_all(b"not a certificate").unwrap();
    cfg.ca_file = Some(garbage.path().to_owned());
    let err = JamfClient::new(cfg.clone(), Credentials::api_client("c", SECRET)).unwrap_err();
    assert!(err.to_string().contains("no pem certificate"), "{err}");

    let mut good = tempfile::NamedTempFile::new().unwrap();
    good.write_all(TEST_CA_PEM.as_bytes()).unwrap();
    cfg.ca_file = Some(good.path().to_owned());
    JamfClient::new(cfg, Credentials::api_client("c", SECRET)).unwrap();
}

#[tokio::test]
async fn debug_of_client_config_and_credentials_hides_secrets() {
    let (url, _fake) = serve(|_, _| oauth_ok(600)).await;
    let client = api_client(url);
    client.authenticate().await.unwrap();
    let dbg = format!(
        "{client:?} {:?} {:?}",
        client.config(),
        client.token_info().await
    );
    assert!(!dbg.contains(SECRET) && !dbg.contains(TOKEN), "{dbg}");
    let user = Credentials::user("admin", SECRET);
    assert!(!format!("{user:?}").contains(SECRET));
}

/// Captures everything logged (spans and events, all levels) during a workflow.
#[tokio::test]
async fn tracing_output_has_no_secret_or_token() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let dispatch = tracing::Dispatch::new(subscriber);
    let _guard = tracing::dispatcher::set_default(&dispatch);
    // tracing-core caches each callsite's interest process-wide. While only one dispatcher
    // exists it asks the *registering thread's* default, so a callsite first hit by another
    // test's thread would stay disabled here. A second live dispatcher makes it ask all.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let (url, _fake) = serve(|hit, n| match (hit.route().as_str(), n) {
        (OAUTH, _) => token_reply(hit),
        ("GET /api/v1/api-roles/1", 1) => Reply::status(401),
        ("GET /api/v1/api-roles/1", 2) => Reply::status(503),
        ("POST /api/v1/api-integrations/9/client-credentials", _) => Reply::json(
            200,
            r#"{"clientId":"new","clientSecret":"GENERATED-SECRET-123"}"#,
        ),
        ("POST /api/v1/auth/invalidate-token", _) => Reply::status(204),
        _ => Reply::json(200, role_json(1, "R")),
    })
    .await;
    let client = api_client(url);
    client.get_role("1").await.unwrap();
    let creds = client.generate_client_credentials(9).await.unwrap();
    client
        .verify_client_credentials(&creds, Some(ProbeRead::Role("1".into())))
        .await
        .unwrap();
    client.close().await.unwrap();

    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("jamf.request"), "{out}");
    for secret in [SECRET, TOKEN, "GENERATED-SECRET-123", "ONESHOT-TOKEN"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
}

fn token_reply(hit: &Hit) -> Reply {
    if hit.body.contains("client_id=new") {
        Reply::json(
            200,
            r#"{"access_token":"ONESHOT-TOKEN","scope":"api-role:1","token_type":"Bearer","expires_in":60}"#,
        )
    } else {
        oauth_ok(600)
    }
}

/// A self-signed CA generated once for this test (EC P-256, valid until 2126).
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUPPYdki01FomFhx3Zu8DpJ6Rn8E0wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOd2FyZGVuLXRlc3QtY2EwIBcNMjYxMTIyMTkzMTA3WhgPMjEy
NjEwMjkxOTMxMDdaMBkxFzAVBgNVBAMMDndhcmRlbi10ZXN0LWNhMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAESYKNBIIVD2S0fYQnv+6Rlj4vsOf6wjES+Xsn8EfL
FRkPwCjDz0ogPai8cictMZ0Kr1UEq7ipqAH9OHOnaloeYKNTMFEwHQYDVR0OBBYE
FMvjbIQmcXVFfrW3LC15K15NghUeMB8GA1UdIwQYMBaAFMvjbIQmcXVFfrW3LC15
K15NghUeMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAI6KSsMv
TKv4sYxiiy5g1Rg9XbpLtUgV4mIXXxO+7cbyAiEA/nreJr7RTmQ3OK9A2HcFixCW
OxkVWjMw4x+FExWa2EI=
-----END CERTIFICATE-----
";

/// The observer hook: one call per attempt, with the route pattern (never the path with the
/// id), the method, the status (`None` without an answer) and a latency.
#[tokio::test]
async fn the_observer_sees_every_attempt_by_route_pattern() {
    /// (method, route, status, mints a secret)
    type Attempt = (String, String, Option<u16>, bool);
    #[derive(Default)]
    struct Seen(Mutex<Vec<Attempt>>);
    impl crate::observe::Observer for Seen {
        fn jamf_request(&self, r: &crate::observe::JamfRequest<'_>) {
            assert_eq!(r.instance, "test");
            self.0.lock().unwrap().push((
                r.method.to_owned(),
                r.route.to_owned(),
                r.status,
                r.mints_secret,
            ));
        }
        fn vault_request(&self, _: &crate::observe::VaultRequest) {}
    }
    let (url, _fake) = serve(|hit, n| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        // one 503 (retried), then the role
        "GET /api/v1/api-roles/42" if n == 1 => Reply::status(503),
        "GET /api/v1/api-roles/42" => Reply::json(200, role_json(42, "r")),
        _ => Reply::status(404),
    })
    .await;
    let seen = Arc::new(Seen::default());
    let mut cfg = fast_config(url);
    cfg.observer = Some(Arc::clone(&seen) as crate::observe::SharedObserver);
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    client.get_role("42").await.unwrap();
    let seen = seen.0.lock().unwrap().clone();
    let route = "/api/v1/api-roles/{id}".to_owned();
    assert_eq!(
        seen,
        [
            (
                "POST".into(),
                "/api/v1/oauth/token".into(),
                Some(200),
                false
            ),
            ("GET".into(), route.clone(), Some(503), false),
            ("GET".into(), route, Some(200), false),
        ]
    );
}
