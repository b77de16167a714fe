//! Client configuration, the https rule and URL joining.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::{Host, Url};

use super::error::JamfError;
use super::retry::RetryPolicy;
use crate::clock::{self, Clock};

/// Jamf's own guidance: at most five concurrent connections per instance.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 5;
/// Default [`JamfClientConfig::max_list_objects`]: far above any real estate.
pub const DEFAULT_MAX_LIST_OBJECTS: usize = 100_000;
/// Default [`JamfClientConfig::list_timeout`].
pub const DEFAULT_LIST_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest page Jamf Pro returns; larger requests are silently clamped by the server.
pub const DEFAULT_PAGE_SIZE: u32 = 2000;

/// Settings of one [`JamfClient`](super::JamfClient), i.e. one Jamf Pro instance.
///
/// Holds no secret: credentials are passed separately as [`Credentials`](super::Credentials).
#[derive(Clone)]
pub struct JamfClientConfig {
    /// Name of the instance, used in logs and spans (e.g. `"acme-prod"`).
    pub instance: String,
    /// Base URL of the instance. May carry a path prefix (`https://h/instances/acme`); the
    /// API paths (`/api/v1/...`) are appended to it.
    pub base_url: Url,
    /// Allow `http://` to a non-loopback host. Off by default: tokens and secrets would travel
    /// in clear text.
    pub allow_insecure_http: bool,
    /// Extra trusted CA certificates (PEM), added to the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// At most this many requests in flight at once, over every clone of the client (default 5).
    pub max_in_flight: usize,
    /// TCP/TLS connect timeout of every request (default 5 s).
    pub connect_timeout: Duration,
    /// Total timeout of every request, body included (default 30 s).
    pub request_timeout: Duration,
    /// Backoff for transient failures of idempotent requests.
    pub retry: RetryPolicy,
    /// `page-size` of list requests (default 2000, Jamf's maximum; the server clamps larger
    /// values and the pager copes with that).
    pub page_size: u32,
    /// A cached token is replaced this long before it expires (default 10 s; clamped to half
    /// the token's lifetime so very short lifetimes still work).
    pub token_margin: Duration,
    /// A GET by id that answers 404 within this long after this client's last write is retried,
    /// because another Jamf Cloud node may not have seen the write yet (default 60 s).
    pub read_after_write_window: Duration,
    /// Total time spent retrying such a 404 (default 5 s).
    pub read_after_write_budget: Duration,
    /// Replay Jamf Cloud's load-balancer cookies so one session stays on one node
    /// (default true).
    pub sticky_sessions: bool,
    /// Most objects one listing may hold (default 100,000); more, or a `totalCount` above it,
    /// is a [`JamfError::Limit`].
    pub max_list_objects: usize,
    /// Most time one listing may take, every page and retry included (default 5 min).
    pub list_timeout: Duration,
    /// "Now" for token expiry, refresh and keep-alive, cookie expiry and `Retry-After` dates
    /// (default [`clock::system()`]; tests pass a [`clock::ManualClock`] to let tokens expire
    /// without sleeping). Latencies and retry budgets are measured on the monotonic clock.
    pub clock: Clock,
    /// Told about every request (route pattern, status, latency), e.g. for metrics
    /// (default none).
    pub observer: Option<crate::observe::SharedObserver>,
}

impl fmt::Debug for JamfClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JamfClientConfig")
            .field("instance", &self.instance)
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("ca_file", &self.ca_file)
            .field("max_in_flight", &self.max_in_flight)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .field("token_margin", &self.token_margin)
            .field("read_after_write_window", &self.read_after_write_window)
            .field("read_after_write_budget", &self.read_after_write_budget)
            .field("sticky_sessions", &self.sticky_sessions)
            .field("max_list_objects", &self.max_list_objects)
            .field("list_timeout", &self.list_timeout)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl JamfClientConfig {
    /// A configuration with the defaults listed on each field.
    pub fn new(instance: impl Into<String>, base_url: Url) -> Self {
        Self {
            instance: instance.into(),
            base_url,
            allow_insecure_http: false,
            ca_file: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            page_size: DEFAULT_PAGE_SIZE,
            token_margin: Duration::from_secs(10),
            read_after_write_window: Duration::from_secs(60),
            read_after_write_budget: Duration::from_secs(5),
            sticky_sessions: true,
            max_list_objects: DEFAULT_MAX_LIST_OBJECTS,
            list_timeout: DEFAULT_LIST_TIMEOUT,
            clock: clock::system(),
            observer: None,
        }
    }

    /// Checks the settings and the https rule; returns the normalised base URL (path ending in
    /// `/`, no query or fragment).
    pub fn validate(&self) -> Result<Url, JamfError> {
        if self.max_in_flight == 0 {
            return Err(JamfError::Config(
                "max_in_flight must be at least 1".to_owned(),
            ));
        }
        if self.page_size == 0 {
            return Err(JamfError::Config("page_size must be at least 1".to_owned()));
        }
        if self.max_list_objects == 0 {
            return Err(JamfError::Config(
                "max_list_objects must be at least 1".to_owned(),
            ));
        }
        if self.list_timeout.is_zero() {
            return Err(JamfError::Config(
                "list_timeout must be longer than zero".to_owned(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(JamfError::Config(
                "retry.max_attempts must be at least 1".to_owned(),
            ));
        }
        check_scheme(&self.base_url, self.allow_insecure_http)?;
        normalize_base(&self.base_url)
    }
}

/// Whether the URL's host is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| IpAddr::V4(v4).is_loopback())
        }
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// The https rule: `https` always; `http` only to loopback or when explicitly allowed.
pub fn check_scheme(url: &Url, allow_insecure_http: bool) -> Result<(), JamfError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) || allow_insecure_http => Ok(()),
        "http" => Err(JamfError::InsecureUrl {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        other => Err(JamfError::Config(format!(
            "base url scheme {other:?} is not supported; use https://"
        ))),
    }
}

/// Normalises a base URL so that API paths can be appended: rejects credentials, query and
/// fragment, and makes the path end with `/`.
pub fn normalize_base(url: &Url) -> Result<Url, JamfError> {
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(JamfError::Config(
            "base url must be absolute, like https://tenant.jamfcloud.com".to_owned(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JamfError::Config(
            "base url must not carry credentials; pass them as credentials instead".to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(JamfError::Config(
            "base url must not carry a query or fragment; remove them".to_owned(),
        ));
    }
    let mut base = url.clone();
    let path = format!("{}/", base.path().trim_end_matches('/'));
    base.set_path(&path);
    Ok(base)
}

/// Appends path segments to a normalised base URL. Each segment is percent-encoded, so an id
/// can never change the path structure.
pub fn join_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn https_rule() {
        for ok in [
            "https://tenant.jamfcloud.com",
            "http://127.0.0.1:9000",
            "http://127.8.9.10/",
            "http://[::1]:8080/x",
            "http://localhost:1234",
            "http://LOCALHOST.",
            "http://api.localhost",
        ] {
            assert!(check_scheme(&url(ok), false).is_ok(), "{ok}");
        }
        for bad in [
            "http://tenant.jamfcloud.com",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.evil.com",
            "http://128.0.0.1",
        ] {
            let err = check_scheme(&url(bad), false).unwrap_err();
            assert!(matches!(err, JamfError::InsecureUrl { .. }), "{bad}");
            assert!(err.to_string().contains("allow_insecure_http"), "{err}");
            // Explicit opt-in allows it.
            assert!(check_scheme(&url(bad), true).is_ok(), "{bad}");
        }
        assert!(matches!(
            check_scheme(&url("ftp://localhost"), true),
            Err(JamfError::Config(_))
        ));
    }

    #[test]
    fn url_joining_with_prefix_and_trailing_slash() {
        for (base, want) in [
            ("https://h.example", "https://h.example/api/v1/api-roles/5"),
            ("https://h.example/", "https://h.example/api/v1/api-roles/5"),
            (
                "http://127.0.0.1:9000/instances/acme",
                "http://127.0.0.1:9000/instances/acme/api/v1/api-roles/5",
            ),
            (
                "http://127.0.0.1:9000/instances/acme/",
                "http://127.0.0.1:9000/instances/acme/api/v1/api-roles/5",
            ),
            (
                "http://127.0.0.1:9000/instances/acme//",
                "http://127.0.0.1:9000/instances/acme/api/v1/api-roles/5",
            ),
        ] {
            let b = normalize_base(&url(base)).unwrap();
            let joined = join_segments(&b, &["api", "v1", "api-roles", "5"]);
            assert_eq!(joined.as_str(), want, "{base}");
        }
    }

    #[test]
    fn joined_ids_are_encoded() {
        let b = normalize_base(&url("https://h.example/p")).unwrap();
        let joined = join_segments(&b, &["api", "v1", "api-roles", "../x?y#z"]);
        assert_eq!(
            joined.as_str(),
            "https://h.example/p/api/v1/api-roles/..%2Fx%3Fy%23z"
        );
    }

    #[test]
    fn base_url_rejections() {
        assert!(normalize_base(&url("https://u:p@h.example")).is_err());
        assert!(normalize_base(&url("https://h.example/?a=b")).is_err());
        assert!(normalize_base(&url("https://h.example/#f")).is_err());
        assert!(normalize_base(&url("mailto:a@b.c")).is_err());
    }

    #[test]
    fn validate_checks_numbers() {
        let mut cfg = JamfClientConfig::new("t", url("https://h.example"));
        assert!(cfg.validate().is_ok());
        cfg.max_in_flight = 0;
        assert!(cfg.validate().is_err());
        cfg.max_in_flight = 1;
        cfg.page_size = 0;
        assert!(cfg.validate().is_err());
        cfg.page_size = 1;
        cfg.retry.max_attempts = 0;
        assert!(cfg.validate().is_err());
    }
}
