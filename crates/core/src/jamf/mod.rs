//! Jamf Pro API client for API roles, API clients (integrations) and their authentication.
//!
//! [`JamfClient`] is cheap to clone (an `Arc` inside); every clone shares one concurrency limit ([`JamfClientConfig::max_in_flight`], Jamf's guidance is 5), one
//! token cache and one sticky-session cookie store. Clients with the same TLS and connect
//! settings share one HTTP connection pool (see `http.rs`).
//!
//! Behaviour worth knowing:
//! - Transient failures (connect errors, timeouts, 429, 502, 503, 504) are retried with
//!   exponential backoff and full jitter, honouring `Retry-After`, **only** for idempotent
//!   requests and token requests. Creates and `client-credentials` are never retried (see
//!   [`Retry`] and [`Endpoint::retry`]).
//! - A 401 with the cached token drops it, authenticates again and replays the request once.
//! - A 403 becomes [`JamfError::Forbidden`] naming the privilege the endpoint requires.
//! - Lists page through everything (`page-size` 2000, `sort=id:asc`), tolerating clamped
//!   pages and duplicates.
//! - Secrets and tokens live in [`secrecy::SecretString`]; no `Debug` output, error message or
//!   span field contains one.

mod auth;
mod calls;
mod config;
mod cookies;
mod endpoint;
mod error;
mod error_body;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod integrations;
mod oneshot;
mod paging;
mod privileges;
mod retry;
mod roles;
mod session;
mod transport;
mod types;

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use url::Url;

pub use auth::{ClientCredentials, Credentials, TokenKind, parse_scope};
pub use calls::MAX_LIST_BYTES;
pub use config::{
    DEFAULT_LIST_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_LIST_OBJECTS, DEFAULT_PAGE_SIZE,
    JamfClientConfig, is_loopback,
};
pub use cookies::{LOAD_BALANCER_COOKIES, StickyCookieStore};
pub use endpoint::Endpoint;
pub use error::{
    ApiErrorBody, ApiErrorCause, ErrorBody, JamfError, KNOWN_OAUTH_ERRORS, Limit, OAuthErrorBody,
    Op, TransportKind,
};
pub use oneshot::{OneShotSession, ProbeOutcome, ProbeRead, VerifiedToken};
pub use paging::{
    Collected, MAX_PAGES, StopReason, collect_pages, display_name_filter, escape_rsql,
};
pub use retry::{Retry, RetryPolicy, parse_retry_after};
pub use session::TokenInfo;
pub use transport::RequestStats;
pub use types::{
    ApiIntegration, ApiIntegrationRequest, ApiRole, ApiRolePrivileges, ApiRoleRequest, AppType,
    Page, privilege_set,
};

/// A client for one Jamf Pro instance. See the [module docs](self).
#[derive(Clone)]
pub struct JamfClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: JamfClientConfig,
    /// Normalised base URL (path ends with `/`).
    base_url: Url,
    http: reqwest::Client,
    permits: Semaphore,
    cookies: Option<Arc<StickyCookieStore>>,
    auth: tokio::sync::Mutex<auth::AuthState>,
    /// Set once `/api/v1/oauth/token` answered 404: use `/api/oauth/token` from then on.
    legacy_oauth: AtomicBool,
    /// When this client last wrote (monotonic: it bounds a retry window, like a timeout).
    last_write: Mutex<Option<crate::clock::Stopwatch>>,
    counters: transport::Counters,
}

impl fmt::Debug for JamfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `auth` holds the credentials and the token: only their kind is shown.
        f.debug_struct("JamfClient")
            .field("instance", &self.inner.config.instance)
            .field("base_url", &self.inner.base_url.as_str())
            .field("max_in_flight", &self.inner.config.max_in_flight)
            .field("sticky_sessions", &self.inner.cookies.is_some())
            .finish_non_exhaustive()
    }
}

impl JamfClient {
    /// Builds a client. Checks the configuration (https rule, numbers), loads the extra CA file
    /// and builds the HTTP client; makes no request.
    pub fn new(config: JamfClientConfig, credentials: Credentials) -> Result<Self, JamfError> {
        let base_url = config.validate()?;
        let ca = match &config.ca_file {
            Some(path) => Some((path.as_path(), http::read_ca_file(path)?)),
            None => None,
        };
        let http = http::client(config.connect_timeout, ca)?;
        let cookies = config
            .sticky_sessions
            .then(|| Arc::new(StickyCookieStore::with_clock(config.clock.clone())));
        Ok(Self {
            inner: Arc::new(Inner {
                permits: Semaphore::new(config.max_in_flight),
                base_url,
                http,
                cookies,
                auth: tokio::sync::Mutex::new(auth::AuthState {
                    credentials,
                    token: None,
                    next_id: 0,
                }),
                legacy_oauth: AtomicBool::new(false),
                last_write: Mutex::new(None),
                counters: transport::Counters::default(),
                config,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &JamfClientConfig {
        &self.inner.config
    }

    /// The instance name.
    pub fn instance(&self) -> &str {
        &self.inner.config.instance
    }

    /// Request counters since the client was built (shared by all clones).
    pub fn stats(&self) -> RequestStats {
        self.inner.counters.snapshot()
    }

    /// Forgets the sticky-session cookies: the next request may land on any Jamf Cloud node.
    pub fn reset_session(&self) {
        if let Some(store) = &self.inner.cookies {
            store.reset();
        }
    }

    /// The sticky-session cookie store, if sticky sessions are on.
    pub fn session_cookies(&self) -> Option<&StickyCookieStore> {
        self.inner.cookies.as_deref()
    }
}

#[cfg(test)]
mod tests;
