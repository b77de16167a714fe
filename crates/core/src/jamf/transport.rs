//! Sending requests: concurrency limit, retries with backoff, the read-after-write 404 retry,
//! `jamf.request` spans, counters, and the authenticated `execute` with its single replay
//! after a 401.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::cookie::CookieStore as _;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;
use url::Url;

use super::JamfClient;
use super::endpoint::Endpoint;
use super::error::{ErrorContext, JamfError, Limit, Op, TransportKind, error_from_response};
use super::retry::{Retry, is_retryable_status, parse_retry_after};
use crate::clock::Stopwatch;

/// Largest success body accepted (a 2,000-role page of a real estate is a few MiB). A larger
/// answer is a [`Limit::Body`] error, whatever its `Content-Length` says.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest success body of the token and `client-credentials` endpoints, whose real answers
/// are a few hundred bytes.
pub(crate) const MAX_TOKEN_BODY_BYTES: usize = 64 * 1024;
/// Bytes of an error body read: enough for any real Jamf error; the rest is not read (the
/// truncated body then parses as an unknown error shape, which is safe).
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
const ATTEMPT_BUCKETS: usize = 8;

/// How a request authenticates.
pub(crate) enum Auth<'a> {
    /// Token endpoints of the OAuth grant: credentials travel in the form body.
    None,
    /// `Authorization: Bearer` (reqwest marks the header sensitive).
    Bearer(&'a SecretString),
    /// `Authorization: Basic`, only for `POST /api/v1/auth/token`.
    Basic {
        username: &'a str,
        password: &'a SecretString,
    },
}

/// A request body.
pub(crate) enum Body<'a> {
    Empty,
    Json(Vec<u8>),
    /// Form fields; values may be borrowed from a secret for the duration of the call.
    Form(Vec<(&'static str, &'a str)>),
}

/// One request, reusable across attempts.
pub(crate) struct Call<'a> {
    pub(crate) endpoint: Endpoint,
    /// Path without query, for errors and spans.
    pub(crate) path: String,
    pub(crate) url: Url,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Body<'a>,
}

impl Call<'_> {
    pub(crate) fn op(&self) -> Op {
        Op {
            method: self.endpoint.method(),
            path: self.path.clone(),
        }
    }
}

/// A response read to the end, with the headers this client uses.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) required_privileges: Option<String>,
    pub(crate) date: Option<SystemTime>,
}

impl RawResponse {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Maps a non-2xx response to its error.
    pub(crate) fn into_error(self, call: &Call<'_>) -> JamfError {
        error_from_response(ErrorContext {
            endpoint: call.endpoint,
            op: call.op(),
            status: self.status,
            body: &self.body,
            required_privileges_header: self.required_privileges.as_deref(),
            retry_after: self.retry_after,
        })
    }
}

/// Request counters of one client (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    total: AtomicU64,
    per_attempt: [AtomicU64; ATTEMPT_BUCKETS],
    token_requests: AtomicU64,
    reauthentications: AtomicU64,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// A snapshot of the request counters, e.g. for benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// HTTP requests sent (every attempt counts).
    pub total: u64,
    /// `per_attempt[0]` counts first attempts, `[1]` second attempts, ...; the last bucket
    /// also counts every later attempt.
    pub per_attempt: Vec<u64>,
    /// Requests to the token, keep-alive and invalidate endpoints.
    pub token_requests: u64,
    /// Requests replayed after a 401 with a fresh token.
    pub reauthentications: u64,
    /// Most requests in flight at once.
    pub peak_in_flight: usize,
}

impl RequestStats {
    /// Attempts beyond the first.
    pub fn retries(&self) -> u64 {
        self.per_attempt.iter().skip(1).sum()
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> RequestStats {
        RequestStats {
            total: self.total.load(Ordering::Relaxed),
            per_attempt: self
                .per_attempt
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            token_requests: self.token_requests.load(Ordering::Relaxed),
            reauthentications: self.reauthentications.load(Ordering::Relaxed),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_reauthentication(&self) {
        self.reauthentications.fetch_add(1, Ordering::Relaxed);
    }
}

/// Decrements the in-flight gauge however the attempt ends.
struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn enter(c: &'a Counters) -> Self {
        let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        c.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Other
    }
}

impl JamfClient {
    /// Builds a [`Call`] for an endpoint, substituting `ids` into its `{id}` placeholders.
    pub(crate) fn call<'a>(&self, endpoint: Endpoint, ids: &[&str]) -> Call<'a> {
        let mut ids = ids.iter();
        let segments: Vec<&str> = endpoint
            .route()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "{id}" {
                    ids.next().copied().unwrap_or_default()
                } else {
                    s
                }
            })
            .collect();
        Call {
            endpoint,
            path: format!("/{}", segments.join("/")),
            url: super::config::join_segments(&self.inner.base_url, &segments),
            query: Vec::new(),
            body: Body::Empty,
        }
    }

    /// Sends a call with its endpoint's retry class (see [`Retry`]): returns the response
    /// whatever its status, or a transport error once retries are exhausted.
    ///
    /// A concurrency permit is held only while a request is on the wire, never while sleeping.
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        auth: &Auth<'_>,
    ) -> Result<RawResponse, JamfError> {
        let policy = &self.inner.config.retry;
        let retry = call.endpoint.retry();
        let started = Stopwatch::start();
        let mut not_found_since: Option<Stopwatch> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if call.endpoint.is_write() {
                self.note_write();
            }
            let result = self.attempt(call, auth, attempt).await;
            let may_retry = retry == Retry::Idempotent && attempt < policy.max_attempts;
            let (delay, give_up) = match &result {
                Ok(resp) if may_retry && is_retryable_status(resp.status) => {
                    (policy.next_delay(attempt, resp.retry_after), false)
                }
                Ok(resp) if resp.status == 404 && self.within_read_after_write(call.endpoint) => {
                    let since = *not_found_since.get_or_insert_with(Stopwatch::start);
                    let delay = policy.backoff(attempt, &mut rand::rng());
                    let budget = self.inner.config.read_after_write_budget;
                    (delay, since.elapsed() + delay > budget)
                }
                Ok(_) => return result,
                // only transport failures are worth another attempt (not an oversized body)
                Err(JamfError::Transport { .. }) if may_retry => {
                    (policy.backoff(attempt, &mut rand::rng()), false)
                }
                Err(_) => return result,
            };
            if give_up || started.elapsed() + delay > policy.total_budget {
                return result;
            }
            match &result {
                Ok(resp) => tracing::warn!(
                    instance = %self.inner.config.instance,
                    method = %call.endpoint.method(),
                    path = %call.path,
                    status = resp.status,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "jamf request will be retried"
                ),
                Err(e) => tracing::warn!(
                    instance = %self.inner.config.instance,
                    method = %call.endpoint.method(),
                    path = %call.path,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %e,
                    "jamf request will be retried"
                ),
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange under a concurrency permit and a `jamf.request` span.
    async fn attempt(
        &self,
        call: &Call<'_>,
        auth: &Auth<'_>,
        attempt: u32,
    ) -> Result<RawResponse, JamfError> {
        let span = tracing::info_span!(
            "jamf.request",
            instance = %self.inner.config.instance,
            method = %call.endpoint.method(),
            path = %call.path,
            attempt,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        async {
            let _permit =
                self.inner.permits.acquire().await.map_err(|_| {
                    JamfError::Config("the client's request limiter is closed".into())
                })?;
            let _gauge = InFlight::enter(&self.inner.counters);
            let counters = &self.inner.counters;
            counters.total.fetch_add(1, Ordering::Relaxed);
            let bucket = (attempt as usize).clamp(1, ATTEMPT_BUCKETS) - 1;
            counters.per_attempt[bucket].fetch_add(1, Ordering::Relaxed);
            if call.endpoint.required_privileges().is_empty() {
                counters.token_requests.fetch_add(1, Ordering::Relaxed);
            }
            let started = Stopwatch::start();
            // The URL is stripped from reqwest's error before anything can log it.
            let result = self.exchange(call, auth).await.map_err(|e| match e {
                ExchangeError::Http(source) => JamfError::Transport {
                    op: call.op(),
                    kind: transport_kind(&source),
                    source: source.without_url(),
                },
                ExchangeError::TooLarge(max) => JamfError::Limit {
                    op: call.op(),
                    limit: Limit::Body { max },
                },
            });
            let took = started.elapsed();
            if let Some(observer) = &self.inner.config.observer {
                let method = call.endpoint.method();
                observer.jamf_request(&crate::observe::JamfRequest {
                    instance: &self.inner.config.instance,
                    method: method.as_str(),
                    route: call.endpoint.route(),
                    mints_secret: call.endpoint == Endpoint::GenerateClientCredentials,
                    status: result.as_ref().ok().map(|r| r.status),
                    elapsed: took,
                });
            }
            let elapsed = took.as_millis() as u64;
            let span = tracing::Span::current();
            span.record("duration_ms", elapsed);
            match &result {
                Ok(resp) => {
                    span.record("status", resp.status);
                    tracing::debug!(
                        status = resp.status,
                        duration_ms = elapsed,
                        "jamf request done"
                    );
                }
                Err(e) => tracing::debug!(duration_ms = elapsed, error = %e, "jamf request failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn exchange(
        &self,
        call: &Call<'_>,
        auth: &Auth<'_>,
    ) -> Result<RawResponse, ExchangeError> {
        let mut req = self
            .inner
            .http
            .request(call.endpoint.method(), call.url.clone())
            .timeout(self.inner.config.request_timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        // the HTTP client is shared by instances: this instance's cookies go by hand
        let cookies = self.inner.cookies.as_deref();
        if let Some(value) = cookies.and_then(|c| c.cookies(&call.url)) {
            req = req.header(reqwest::header::COOKIE, value);
        }
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        req = match auth {
            Auth::None => req,
            Auth::Bearer(token) => req.bearer_auth(token.expose_secret()),
            Auth::Basic { username, password } => {
                req.basic_auth(username, Some(password.expose_secret()))
            }
        };
        req = match &call.body {
            Body::Empty => req,
            Body::Json(bytes) => req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Form(fields) => req.form(fields),
        };
        let mut resp = req.send().await?;
        if let Some(store) = cookies {
            store.set_cookies(
                &mut resp.headers().get_all(reqwest::header::SET_COOKIE).iter(),
                &call.url,
            );
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let success = resp.status().is_success();
        let max = match (success, call.endpoint.carries_secret()) {
            (false, _) => MAX_ERROR_BODY_BYTES,
            (true, true) => MAX_TOKEN_BODY_BYTES,
            (true, false) => MAX_BODY_BYTES,
        };
        if success && resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(ExchangeError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > max {
                if success {
                    return Err(ExchangeError::TooLarge(max));
                }
                // an error body is only read for its message: keep the start, stop reading
                body.extend_from_slice(&chunk[..max - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(raw_response(status, &headers, body, self.now()))
    }

    /// Sends an authenticated call: takes a bearer token from the cache and, on a 401, drops
    /// that token, authenticates again and replays the call **once**.
    ///
    /// Replaying after a 401 is safe even for creates and `client-credentials`: Jamf
    /// authenticates before it dispatches, so a 401 means the request was not processed. A
    /// second 401 is returned as [`JamfError::Unauthorized`].
    pub(crate) async fn execute(&self, call: &Call<'_>) -> Result<RawResponse, JamfError> {
        let mut replayed = false;
        loop {
            let token = self.bearer().await?;
            let resp = self.send(call, &Auth::Bearer(&token.value)).await?;
            if resp.is_success() {
                return Ok(resp);
            }
            if resp.status == 401 && !replayed {
                replayed = true;
                self.inner.counters.count_reauthentication();
                tracing::info!(
                    instance = %self.inner.config.instance,
                    path = %call.path,
                    "jamf rejected the cached token; authenticating again"
                );
                self.drop_token(token.id).await;
                continue;
            }
            return Err(resp.into_error(call));
        }
    }

    fn note_write(&self) {
        if let Ok(mut last) = self.inner.last_write.lock() {
            *last = Some(Stopwatch::start());
        }
    }

    fn within_read_after_write(&self, endpoint: Endpoint) -> bool {
        if !endpoint.is_read_by_id() {
            return false;
        }
        let window = self.inner.config.read_after_write_window;
        self.inner
            .last_write
            .lock()
            .ok()
            .and_then(|l| *l)
            .is_some_and(|at| at.elapsed() < window)
    }
}

/// Why one exchange failed.
enum ExchangeError {
    Http(reqwest::Error),
    /// The success body is larger than this many bytes.
    TooLarge(usize),
}

impl From<reqwest::Error> for ExchangeError {
    fn from(e: reqwest::Error) -> Self {
        ExchangeError::Http(e)
    }
}

/// The parts of an answer the client uses; `now` (the client's clock) turns a `Retry-After`
/// date into a delay.
fn raw_response(
    status: u16,
    headers: &HeaderMap,
    body: Vec<u8>,
    now: chrono::DateTime<chrono::Utc>,
) -> RawResponse {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let date = header(DATE.as_str()).and_then(|d| httpdate::parse_http_date(d).ok());
    RawResponse {
        status,
        body,
        retry_after: header(RETRY_AFTER.as_str())
            .and_then(|v| parse_retry_after(v, SystemTime::from(now))),
        required_privileges: header("x-required-privileges").map(str::to_owned),
        date,
    }
}
