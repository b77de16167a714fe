//! A cookie store for Jamf Cloud sticky sessions.
//!
//! Jamf Cloud runs several nodes behind a load balancer that do not share state for about a
//! minute. Replaying the load-balancer cookie keeps a session (token request, create, then
//! read) on one node. This store keeps only the known load-balancer cookie names, ignores every
//! other cookie, and can be reset to start a new session.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;

use reqwest::header::HeaderValue;

use crate::clock::{self, Clock};

/// The cookie names Jamf Cloud's load balancers use.
pub const LOAD_BALANCER_COOKIES: [&str; 5] = [
    "jpro-ingress",
    "APBALANCEID",
    "AWSALB",
    "AWSALBCORS",
    "JSESSIONID",
];

/// Keeps the load-balancer cookies of one Jamf Pro instance (one client, one host).
pub struct StickyCookieStore {
    jar: Mutex<BTreeMap<String, String>>,
    /// "Now" for `Expires` attributes.
    clock: Clock,
}

impl Default for StickyCookieStore {
    fn default() -> Self {
        Self::with_clock(clock::system())
    }
}

impl fmt::Debug for StickyCookieStore {
    /// Names only: cookie values (e.g. `JSESSIONID`) identify a session.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StickyCookieStore")
            .field("names", &self.names())
            .finish()
    }
}

impl StickyCookieStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that judges `Expires` by `clock` (the client's).
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            jar: Mutex::default(),
            clock,
        }
    }

    /// Forgets every cookie: the next request may land on any node.
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// The value of a stored cookie.
    pub fn get(&self, name: &str) -> Option<String> {
        self.lock().get(name).cloned()
    }

    /// The names of the stored cookies.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.jar.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one `Set-Cookie` header value.
    fn apply(&self, header: &str, now: SystemTime) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let name = name.trim();
        let Some(known) = LOAD_BALANCER_COOKIES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name))
        else {
            return;
        };
        let value = value.trim().trim_matches('"');
        let expired = value.is_empty()
            || parts.any(|attr| {
                let Some((k, v)) = attr.split_once('=') else {
                    return false;
                };
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("max-age") {
                    v.parse::<i64>().is_ok_and(|s| s <= 0)
                } else if k.eq_ignore_ascii_case("expires") {
                    httpdate::parse_http_date(v).is_ok_and(|at| at <= now)
                } else {
                    false
                }
            });
        let mut jar = self.lock();
        if expired {
            jar.remove(*known);
        } else if value.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
            jar.insert((*known).to_owned(), value.to_owned());
        }
    }
}

impl reqwest::cookie::CookieStore for StickyCookieStore {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &url::Url) {
        let now = SystemTime::from((self.clock)());
        for header in cookie_headers {
            if let Ok(s) = header.to_str() {
                self.apply(s, now);
            }
        }
    }

    fn cookies(&self, _url: &url::Url) -> Option<HeaderValue> {
        let jar = self.lock();
        if jar.is_empty() {
            return None;
        }
        let joined = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&joined).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::cookie::CookieStore;

    fn set(store: &StickyCookieStore, headers: &[&str]) {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_str(h).unwrap())
            .collect();
        let url = url::Url::parse("https://t.jamfcloud.com/api/v1/oauth/token").unwrap();
        store.set_cookies(&mut values.iter(), &url);
    }

    fn header(store: &StickyCookieStore) -> Option<String> {
        let url = url::Url::parse("https://t.jamfcloud.com/api/v1/api-roles").unwrap();
        store.cookies(&url).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn keeps_only_load_balancer_cookies() {
        let store = StickyCookieStore::new();
        assert_eq!(header(&store), None);
        set(
            &store,
            &[
                "jpro-ingress=node-b; Path=/; HttpOnly",
                "tracking=abc; Path=/",
                "AWSALB=xyz; Expires=Wed, 21 Oct 2099 07:28:00 GMT; Path=/",
                "garbage-without-equals",
            ],
        );
        assert_eq!(
            header(&store).as_deref(),
            Some("AWSALB=xyz; jpro-ingress=node-b")
        );
        // A new value replaces the old.
        set(&store, &["jpro-ingress=node-c"]);
        assert_eq!(store.get("jpro-ingress").as_deref(), Some("node-c"));
    }

    #[test]
    fn expiry_removes_and_reset_clears() {
        let store = StickyCookieStore::new();
        set(&store, &["APBALANCEID=aws.1", "JSESSIONID=s1"]);
        set(&store, &["APBALANCEID=gone; Max-Age=0"]);
        set(
            &store,
            &["JSESSIONID=old; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
        );
        assert_eq!(header(&store), None);
        set(&store, &["AWSALBCORS=v"]);
        assert_eq!(store.names(), ["AWSALBCORS"]);
        store.reset();
        assert_eq!(header(&store), None);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let store = StickyCookieStore::new();
        set(&store, &["JSESSIONID=session-value-123"]);
        let dbg = format!("{store:?}");
        assert!(dbg.contains("JSESSIONID"));
        assert!(!dbg.contains("session-value-123"));
    }
}
