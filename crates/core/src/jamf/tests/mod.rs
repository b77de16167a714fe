//! HTTP-level tests against a tiny scripted in-process server (the full simulator tests live
//! in `tests/testkit`).

mod auth_flows;
mod calls;
mod fuzz;
mod resilience;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::*;

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `"GET /api/v1/api-roles"`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the fake server answers.
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

type Responder = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

pub(super) struct Fake {
    pub hits: Mutex<Vec<Hit>>,
    /// Number of requests seen, for tests that wait for a request sent in the background.
    seen: tokio::sync::watch::Sender<usize>,
    responder: Box<Responder>,
    in_flight: AtomicUsize,
    pub peak: AtomicUsize,
}

impl Fake {
    /// Requests seen for `route` (e.g. `"POST /api/v1/oauth/token"`).
    pub fn count(&self, route: &str) -> usize {
        self.hits().iter().filter(|h| h.route() == route).count()
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `n` requests for `route` arrived; false if they did not within `limit`
    /// (a generous ceiling on a background task, not a measured time).
    pub async fn wait_for(&self, route: &str, n: usize, limit: Duration) -> bool {
        let mut seen = self.seen.subscribe();
        tokio::time::timeout(limit, seen.wait_for(|_| self.count(route) >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    fake.peak.fetch_max(now, Ordering::SeqCst);
    // Every client in these tests has the base URL `http://addr/prefix`.
    let path = match uri.path().strip_prefix("/prefix") {
        Some(rest) => rest.to_owned(),
        None => format!("MISSING-PREFIX{}", uri.path()),
    };
    let hit = Hit {
        method,
        path,
        query: uri.query().unwrap_or_default().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut hits = fake.hits.lock().unwrap();
        hits.push(hit.clone());
        hits.iter().filter(|h| h.route() == hit.route()).count()
    };
    fake.seen.send_modify(|seen| *seen += 1);
    let reply = (fake.responder)(&hit, n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    fake.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().append(k, v.parse().unwrap());
    }
    resp
}

/// Starts a fake server; `responder(hit, n)` gets the request and how many requests with the
/// same method and path arrived so far (1-based).
pub(super) async fn serve(
    responder: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static,
) -> (Url, Arc<Fake>) {
    let fake = Arc::new(Fake {
        hits: Mutex::default(),
        seen: tokio::sync::watch::Sender::new(0),
        responder: Box::new(responder),
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let app = Router::new().fallback(handle).with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (Url::parse(&format!("http://{addr}/prefix")).unwrap(), fake)
}

pub(super) const SECRET: &str = "client-secret-XYZ-0123456789abcdef";
pub(super) const TOKEN: &str = "eyJ.access-token-value.sig";

pub(super) fn fast_config(url: Url) -> JamfClientConfig {
    let mut cfg = JamfClientConfig::new("test", url);
    cfg.retry = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    cfg.read_after_write_budget = Duration::from_millis(500);
    cfg
}

pub(super) fn api_client(url: Url) -> JamfClient {
    JamfClient::new(fast_config(url), Credentials::api_client("cid", SECRET)).unwrap()
}

/// [`api_client`] on a clock the test moves by hand.
pub(super) fn api_client_on(url: Url, clock: &crate::clock::ManualClock) -> JamfClient {
    let mut cfg = fast_config(url);
    cfg.clock = clock.clock();
    JamfClient::new(cfg, Credentials::api_client("cid", SECRET)).unwrap()
}

pub(super) fn oauth_ok(lifetime: u64) -> Reply {
    Reply::json(
        200,
        format!(
            r#"{{"access_token":"{TOKEN}","scope":"api-role:1 api-role:2","token_type":"Bearer","expires_in":{lifetime}}}"#
        ),
    )
}

pub(super) fn role_json(id: u64, name: &str) -> String {
    format!(r#"{{"id":"{id}","displayName":"{name}","privileges":["Read API Roles"]}}"#)
}

/// Query parameter value (decoded).
pub(super) fn query_param(hit: &Hit, key: &str) -> Option<String> {
    url::form_urlencoded::parse(hit.query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}
