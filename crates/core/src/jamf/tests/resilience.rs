use std::time::Duration;

use super::*;
use crate::clock::Stopwatch;

const OAUTH: &str = "POST /api/v1/oauth/token";
const ROLE1: &str = "GET /api/v1/api-roles/1";

#[tokio::test]
async fn idempotent_get_rides_out_503_429_502() {
    let (url, fake) = serve(|hit, n| match (hit.route().as_str(), n) {
        (OAUTH, 1) => Reply::status(503),
        (OAUTH, _) => oauth_ok(600),
        (ROLE1, 1) => Reply::status(503),
        (ROLE1, 2) => Reply::status(429).header("retry-after", "0"),
        (ROLE1, 3) => Reply::json(502, "<html><body>bad gateway</body></html>"),
        (ROLE1, _) => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    client.get_role("1").await.unwrap();
    assert_eq!(fake.count(OAUTH), 2, "token requests are retried");
    assert_eq!(fake.count(ROLE1), 4);
    let stats = client.stats();
    assert_eq!(stats.total, 6);
    assert_eq!(stats.per_attempt[..4], [2, 2, 1, 1]);
    assert_eq!(stats.retries(), 4);
    assert_eq!(stats.token_requests, 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (url, fake) = serve(|hit, n| match (hit.route().as_str(), n) {
        (OAUTH, _) => oauth_ok(600),
        (ROLE1, 1) => Reply::status(429).header("retry-after", "1"),
        (ROLE1, _) => Reply::json(200, role_json(1, "R")),
        _ => Reply::status(500),
    })
    .await;
    let client = api_client(url);
    let started = Stopwatch::start();
    client.get_role("1").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(fake.count(ROLE1), 2);
}

#[tokio::test]
async fn creates_and_secret_generation_are_never_retried() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        "POST /api/v1/api-roles" => Reply::status(503),
        "POST /api/v1/api-integrations" => Reply::status(429).header("retry-after", "0"),
        "POST /api/v1/api-integrations/7/client-credentials" => Reply::status(503),
        "POST /api/v1/api-integrations/8/client-credentials" => {
            Reply::status(200).delay(Duration::from_secs(2))
        }
        _ => Reply::status(500),
    })
    .await;
    let mut cfg = fast_config(url);
    cfg.request_timeout = Duration::from_millis(300);
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    let role = ApiRoleRequest {
        display_name: "R".into(),
        privileges: vec![],
    };
    let err = client.create_role(&role).await.unwrap_err();
    assert!(
        matches!(err, JamfError::Server { status: 503, .. }),
        "{err}"
    );
    let integration = ApiIntegrationRequest {
        authorization_scopes: vec!["R".into()],
        display_name: "C".into(),
        enabled: Some(true),
        access_token_lifetime_seconds: None,
    };
    let err = client.create_integration(&integration).await.unwrap_err();
    assert!(matches!(err, JamfError::RateLimited { .. }), "{err}");
    let err = client.generate_client_credentials(7).await.unwrap_err();
    assert!(
        matches!(err, JamfError::Server { status: 503, .. }),
        "{err}"
    );
    let err = client.generate_client_credentials(8).await.unwrap_err();
    assert!(
        matches!(
            err,
            JamfError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.count("POST /api/v1/api-roles"), 1);
    assert_eq!(fake.count("POST /api/v1/api-integrations"), 1);
    assert_eq!(
        fake.count("POST /api/v1/api-integrations/7/client-credentials"),
        1
    );
    assert_eq!(
        fake.count("POST /api/v1/api-integrations/8/client-credentials"),
        1
    );
    assert_eq!(client.stats().retries(), 0);
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => Reply::json(
            503,
            r#"{"httpStatus":503,"errors":[{"description":"maintenance"}]}"#,
        ),
    })
    .await;
    let client = api_client(url);
    let err = client.get_role("1").await.unwrap_err();
    assert!(
        matches!(&err, JamfError::Server { status: 503, messages, .. } if messages == &["maintenance"])
    );
    assert!(err.is_transient());
    assert_eq!(fake.count(ROLE1), 5);
}

#[tokio::test]
async fn connect_errors_are_retried_then_reported_without_secrets() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/p")).unwrap();
    let client = api_client(url);
    let err = client
        .find_role_by_name("secret-looking name")
        .await
        .unwrap_err();
    let JamfError::Transport { kind, op, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*kind, TransportKind::Connect);
    assert_eq!(op.path, "/api/v1/oauth/token");
    assert_eq!(client.stats().total, 5);
    let chain = format!("{err} {:?} {:?}", std::error::Error::source(&err), err);
    assert!(!chain.contains(SECRET), "{chain}");
    // The URL (which could carry a query) is stripped; the socket address may remain.
    assert!(!chain.contains("http://"), "no url in the error: {chain}");
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn timeouts_are_transport_errors() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => Reply::json(200, role_json(1, "R")).delay(Duration::from_secs(2)),
    })
    .await;
    let mut cfg = fast_config(url);
    cfg.request_timeout = Duration::from_millis(200);
    cfg.retry.max_attempts = 2;
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    let err = client.get_role("1").await.unwrap_err();
    assert!(
        matches!(
            err,
            JamfError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.count(ROLE1), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_n_in_flight_across_clones() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600),
        _ => Reply::json(200, role_json(1, "R")).delay(Duration::from_millis(40)),
    })
    .await;
    let mut cfg = fast_config(url);
    cfg.max_in_flight = 3;
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get_role("1").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let peak = fake.peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=3).contains(&peak), "server saw {peak}");
    assert!(client.stats().peak_in_flight <= 3);
    assert_eq!(fake.count(OAUTH), 1, "concurrent callers share one mint");
}

#[tokio::test]
async fn permits_are_not_held_while_backing_off() {
    let (url, _fake) = serve(|hit, n| match (hit.route().as_str(), n) {
        (OAUTH, _) => oauth_ok(600),
        (ROLE1, 1) => Reply::status(503).header("retry-after", "2"),
        _ => Reply::json(200, role_json(1, "R")),
    })
    .await;
    let mut cfg = fast_config(url);
    cfg.max_in_flight = 1;
    let client = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    client.authenticate().await.unwrap();
    let slow = tokio::spawn({
        let c = client.clone();
        async move { c.get_role("1").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Stopwatch::start();
    client.get_role("2").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    slow.await.unwrap().unwrap();
}

#[tokio::test]
async fn sticky_cookies_are_replayed_and_reset() {
    let (url, fake) = serve(|hit, _| match hit.route().as_str() {
        OAUTH => oauth_ok(600)
            .header("set-cookie", "jpro-ingress=node-a; Path=/; HttpOnly")
            .header("set-cookie", "tracker=x; Path=/"),
        _ => Reply::json(200, role_json(1, "R")),
    })
    .await;
    let client = api_client(url.clone());
    client.get_role("1").await.unwrap();
    assert_eq!(
        client
            .session_cookies()
            .unwrap()
            .get("jpro-ingress")
            .as_deref(),
        Some("node-a")
    );
    client.reset_session();
    client.get_role("1").await.unwrap();
    let cookies: Vec<_> = fake
        .hits()
        .iter()
        .filter(|h| h.route() == ROLE1)
        .map(|h| h.header("cookie").map(str::to_owned))
        .collect();
    assert_eq!(cookies, [Some("jpro-ingress=node-a".to_owned()), None]);

    let mut cfg = fast_config(url);
    cfg.sticky_sessions = false;
    let plain = JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap();
    plain.get_role("1").await.unwrap();
    assert!(plain.session_cookies().is_none());
    let last = fake
        .hits()
        .into_iter()
        .rfind(|h| h.route() == ROLE1)
        .unwrap();
    assert_eq!(last.header("cookie"), None);
}

#[tokio::test]
async fn read_after_write_404_is_retried_briefly() {
    let (url, fake) = serve(|hit, n| match (hit.route().as_str(), n) {
        (OAUTH, _) => oauth_ok(600),
        ("POST /api/v1/api-roles", _) => Reply::json(200, role_json(7, "R")),
        ("GET /api/v1/api-roles/7", 1 | 2) => Reply::status(404),
        ("GET /api/v1/api-roles/7", _) => Reply::json(200, role_json(7, "R")),
        _ => Reply::json(
            404,
            r#"{"httpStatus":404,"errors":[{"code":"INVALID_ID"}]}"#,
        ),
    })
    .await;
    // No write yet: a 404 is final at once.
    let client = api_client(url);
    let err = client.get_role("9").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(fake.count("GET /api/v1/api-roles/9"), 1);

    let req = ApiRoleRequest {
        display_name: "R".into(),
        privileges: vec![],
    };
    let created = client.create_role(&req).await.unwrap();
    let got = client.get_role(&created.id).await.unwrap();
    assert_eq!(got.id, "7");
    assert_eq!(fake.count("GET /api/v1/api-roles/7"), 3);
    // Within the window, a 404 that persists ends after the budget (500 ms here).
    let started = Stopwatch::start();
    assert!(client.get_role("9").await.unwrap_err().is_not_found());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(fake.count("GET /api/v1/api-roles/9") > 2);
}
