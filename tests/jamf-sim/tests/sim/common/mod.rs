//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use jamf_sim::{Sim, SimOptions, UserSpec};
use reqwest::{Client, Response};
use serde_json::Value;

pub const ADMIN: (&str, &str) = ("admin", "secret");
pub const AUDITOR: (&str, &str) = ("audit", "readonly");

pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Options with an admin and an auditor account.
pub fn opts() -> SimOptions {
    SimOptions {
        users: vec![
            UserSpec::admin(ADMIN.0, ADMIN.1),
            UserSpec::auditor(AUDITOR.0, AUDITOR.1),
        ],
        ..SimOptions::default()
    }
}

pub async fn start() -> Sim {
    start_with(opts()).await
}

pub async fn start_with(o: SimOptions) -> Sim {
    Sim::start(local(), o).await.expect("sim starts")
}

/// A client without a cookie jar.
pub fn http() -> Client {
    Client::builder().build().expect("http client")
}

/// A client with a cookie jar (pins to a node through `jpro-ingress`).
pub fn http_with_cookies() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("http client")
}

pub async fn json(resp: Response) -> Value {
    resp.json().await.expect("json body")
}

/// A user bearer token.
pub async fn user_token(http: &Client, base: &str, user: (&str, &str)) -> String {
    let resp = http
        .post(format!("{base}/api/v1/auth/token"))
        .basic_auth(user.0, Some(user.1))
        .send()
        .await
        .expect("auth/token");
    assert_eq!(resp.status(), 200, "user token");
    json(resp).await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

pub async fn admin_token(http: &Client, base: &str) -> String {
    user_token(http, base, ADMIN).await
}

/// `POST /api/v1/oauth/token`.
pub async fn oauth(
    http: &Client,
    base: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    http.post(format!("{base}/api/v1/oauth/token"))
        .form(&form)
        .send()
        .await
        .expect("oauth/token")
}

/// A client-credentials access token (asserts 200).
pub async fn client_token(http: &Client, base: &str, client_id: &str, secret: &str) -> String {
    let resp = oauth(http, base, client_id, secret, None).await;
    assert_eq!(resp.status(), 200, "client token");
    json(resp).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub async fn get(http: &Client, url: &str, token: &str) -> Response {
    http.get(url).bearer_auth(token).send().await.expect("GET")
}

pub async fn post_json(http: &Client, url: &str, token: &str, body: &Value) -> Response {
    http.post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("POST")
}

pub async fn put_json(http: &Client, url: &str, token: &str, body: &Value) -> Response {
    http.put(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("PUT")
}

pub async fn delete(http: &Client, url: &str, token: &str) -> Response {
    http.delete(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("DELETE")
}

pub async fn post_empty(http: &Client, url: &str, token: &str) -> Response {
    http.post(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("POST")
}

/// The single error cause of an `ApiError` body, after checking `httpStatus`.
pub async fn api_error(resp: Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let body = json(resp).await;
    assert_eq!(body["httpStatus"], status, "httpStatus in {body}");
    body["errors"][0].clone()
}

/// Decodes the claims of a JWT-shaped token.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().expect("jwt part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}
