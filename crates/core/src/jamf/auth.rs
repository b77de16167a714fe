//! Credentials and the token cache.
//!
//! Two ways in:
//! - **API client** (`client_credentials` grant): `POST /api/v1/oauth/token` (falling back to
//!   the legacy `/api/oauth/token` on 404, remembered per client). Jamf cannot keep these tokens
//!   alive, so one is minted again shortly before `expires_in` runs out.
//! - **User account**: Basic auth to `POST /api/v1/auth/token`; the token is renewed with
//!   `POST /api/v1/auth/keep-alive` when it nears `expires` (a 401 there means log in again),
//!   and ended with `POST /api/v1/auth/invalidate-token`.
//!
//! The cache sits behind an async mutex so concurrent callers wait for one mint instead of
//! each minting their own.

use std::fmt;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::clock;

/// How the client authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// An API client (OAuth client credentials).
    ApiClient {
        /// The client id (a UUID).
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// A Jamf Pro user account (Basic auth for a bearer token).
    User {
        /// User name.
        username: String,
        /// Password.
        password: SecretString,
    },
}

impl Credentials {
    /// API client credentials.
    pub fn api_client(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Credentials::ApiClient {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// User account credentials.
    pub fn user(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::User {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// The kind of token these credentials give.
    pub fn token_kind(&self) -> TokenKind {
        match self {
            Credentials::ApiClient { .. } => TokenKind::ClientCredentials,
            Credentials::User { .. } => TokenKind::User,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiClient { client_id, .. } => f
                .debug_struct("ApiClient")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
            Credentials::User { username, .. } => f
                .debug_struct("User")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
        }
    }
}

/// An API client's id and secret, e.g. as returned by
/// [`generate_client_credentials`](super::JamfClient::generate_client_credentials)
/// (`OAuthClientCredentials`: `{clientId, clientSecret}`).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientCredentials {
    /// The client id (a UUID).
    pub client_id: String,
    /// The client secret, shown by Jamf only once.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// Builds credentials from an id and a secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl From<ClientCredentials> for Credentials {
    fn from(c: ClientCredentials) -> Self {
        Credentials::ApiClient {
            client_id: c.client_id,
            client_secret: c.client_secret,
        }
    }
}

/// Which kind of bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// From the OAuth client-credentials grant; cannot be kept alive.
    ClientCredentials,
    /// A user session token; kept alive and invalidated at the end.
    User,
}

/// A bearer token held in memory. `Debug` never shows the token.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub(crate) value: SecretString,
    /// Distinguishes tokens so that a 401 only drops the token it was seen with.
    pub(crate) id: u64,
    pub(crate) kind: TokenKind,
    /// When it was obtained, on the client's [`Clock`](crate::clock::Clock).
    pub(crate) obtained: DateTime<Utc>,
    /// When it expires, on the same time line (`obtained` plus the lifetime Jamf gave).
    pub(crate) expires: DateTime<Utc>,
    pub(crate) role_ids: Vec<String>,
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("value", &"[redacted]")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("expires", &self.expires)
            .finish()
    }
}

impl CachedToken {
    fn lifetime(&self) -> Duration {
        clock::until(self.obtained, self.expires)
    }

    /// Time left at `now` (zero once expired).
    pub(crate) fn expires_in(&self, now: DateTime<Utc>) -> Duration {
        clock::until(now, self.expires)
    }

    /// Usable for a request sent at `now`: more than the (clamped) margin left.
    pub(crate) fn is_fresh(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        let margin = effective_margin(margin, self.lifetime());
        self.expires_in(now) > margin
    }

    /// A user token close enough to `expires` at `now` to be kept alive.
    pub(crate) fn wants_keep_alive(&self, now: DateTime<Utc>) -> bool {
        self.kind == TokenKind::User && self.expires_in(now) < keep_alive_threshold(self.lifetime())
    }
}

/// The margin actually applied: at most half the lifetime, so a token living a few seconds is
/// still used instead of being minted again for every request.
pub(crate) fn effective_margin(margin: Duration, lifetime: Duration) -> Duration {
    margin.min(lifetime / 2)
}

/// Keep a user token alive once less than a quarter of its lifetime (at least 60 s, at most
/// half the lifetime) is left.
pub(crate) fn keep_alive_threshold(lifetime: Duration) -> Duration {
    (lifetime / 4)
        .max(Duration::from_secs(60))
        .min(lifetime / 2)
}

/// Role ids from a token `scope` (`"api-role:1 api-role:2"`).
pub fn parse_scope(scope: &str) -> Vec<String> {
    scope
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("api-role:"))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `OAuthTokenResponse`.
#[derive(Deserialize)]
pub(crate) struct OAuthTokenResponse {
    pub(crate) access_token: SecretString,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    #[serde(default)]
    pub(crate) token_type: Option<String>,
    pub(crate) expires_in: serde_json::Number,
}

impl OAuthTokenResponse {
    /// `expires_in` as a duration (fractions and negatives tolerated).
    pub(crate) fn lifetime(&self) -> Duration {
        let secs = self.expires_in.as_f64().unwrap_or(0.0);
        if secs.is_finite() && secs > 0.0 {
            Duration::from_secs_f64(secs.min(1e9))
        } else {
            Duration::ZERO
        }
    }
}

/// `AuthTokenV1`: `{token, expires}`.
#[derive(Deserialize)]
pub(crate) struct AuthTokenResponse {
    pub(crate) token: SecretString,
    pub(crate) expires: String,
}

/// Parses Jamf's `expires` (ISO-8601, UTC, usually with milliseconds and `Z`).
pub(crate) fn parse_expires(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// How long a user token lives: `expires` minus the server's `Date` if it sent one (so clock
/// skew between us and Jamf does not matter), else minus `now` (the client's clock).
pub(crate) fn user_token_lifetime(
    expires: DateTime<Utc>,
    server_date: Option<SystemTime>,
    now: DateTime<Utc>,
) -> Duration {
    let now: DateTime<Utc> = server_date.map(DateTime::<Utc>::from).unwrap_or(now);
    clock::until(now, expires)
}

/// What the cache holds, behind the client's auth mutex.
pub(crate) struct AuthState {
    pub(crate) credentials: Credentials,
    pub(crate) token: Option<CachedToken>,
    pub(crate) next_id: u64,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("credentials", &self.credentials)
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use secrecy::ExposeSecret;

    const SECRET: &str = "very-secret-value-0123456789";

    #[test]
    fn debug_hides_secrets() {
        let creds = [
            Credentials::api_client("11111111-2222", SECRET),
            Credentials::user("admin", SECRET),
            ClientCredentials::new("id", SECRET).into(),
        ];
        for c in &creds {
            let dbg = format!("{c:?} {c:#?}");
            assert!(!dbg.contains(SECRET), "{dbg}");
            assert!(dbg.contains("redacted"));
        }
        let cc = ClientCredentials::new("cid", SECRET);
        assert!(!format!("{cc:?}").contains(SECRET));
        let parsed: ClientCredentials = serde_json::from_str(&format!(
            r#"{{"clientId":"cid","clientSecret":"{SECRET}"}}"#
        ))
        .unwrap();
        assert!(!format!("{parsed:?}").contains(SECRET));
        assert_eq!(parsed.client_secret.expose_secret(), SECRET);

        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let token = CachedToken {
            value: SecretString::from(SECRET),
            id: 1,
            kind: TokenKind::User,
            obtained: now,
            expires: now + Duration::from_secs(60),
            role_ids: vec![],
        };
        let state = AuthState {
            credentials: creds[0].clone(),
            token: Some(token),
            next_id: 2,
        };
        assert!(!format!("{state:?}").contains(SECRET));
    }

    #[test]
    fn margins_clamp_for_tiny_lifetimes() {
        let m = Duration::from_secs(10);
        assert_eq!(effective_margin(m, Duration::from_secs(599)), m);
        assert_eq!(
            effective_margin(m, Duration::from_secs(4)),
            Duration::from_secs(2)
        );
        assert_eq!(effective_margin(m, Duration::ZERO), Duration::ZERO);

        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tok = |life: u64| CachedToken {
            value: SecretString::from("t"),
            id: 1,
            kind: TokenKind::ClientCredentials,
            obtained: now,
            expires: now + Duration::from_secs(life),
            role_ids: vec![],
        };
        assert!(tok(599).is_fresh(now, m));
        assert!(!tok(599).is_fresh(now + Duration::from_secs(590), m));
        // A 2 s token is still usable right after minting.
        assert!(tok(2).is_fresh(now, m));
        assert!(!tok(2).is_fresh(now + Duration::from_secs(1), m));
        assert!(!tok(599).wants_keep_alive(now + Duration::from_secs(598)));
    }

    #[test]
    fn keep_alive_window() {
        assert_eq!(
            keep_alive_threshold(Duration::from_secs(1800)),
            Duration::from_secs(450)
        );
        assert_eq!(
            keep_alive_threshold(Duration::from_secs(200)),
            Duration::from_secs(60)
        );
        assert_eq!(
            keep_alive_threshold(Duration::from_secs(40)),
            Duration::from_secs(20)
        );
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let user = CachedToken {
            value: SecretString::from("t"),
            id: 1,
            kind: TokenKind::User,
            obtained: now,
            expires: now + Duration::from_secs(1800),
            role_ids: vec![],
        };
        assert!(!user.wants_keep_alive(now + Duration::from_secs(1000)));
        assert!(user.wants_keep_alive(now + Duration::from_secs(1400)));
    }

    #[test]
    fn scope_and_expiry_parsing() {
        assert_eq!(parse_scope("api-role:1 api-role:22"), ["1", "22"]);
        assert_eq!(parse_scope("  api-role:3  other api-role: "), ["3"]);
        assert!(parse_scope("").is_empty());

        let e = parse_expires("2020-04-21T21:09:31.626Z").unwrap();
        assert_eq!(e.timestamp_millis(), 1_587_503_371_626);
        assert!(parse_expires("2020-04-21T21:09:31.626").is_some());
        assert!(parse_expires("2020-04-21T23:09:31+02:00").is_some());
        assert!(parse_expires("tomorrow").is_none());

        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_587_501_571);
        let ours = DateTime::from_timestamp(1_587_501_000, 0).unwrap();
        let life = user_token_lifetime(e, Some(date), ours);
        assert_eq!(life.as_secs(), 1800);
        // Without a server `Date`, our clock: later than `expires` gives zero.
        let later = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(user_token_lifetime(e, None, later), Duration::ZERO);
        assert_eq!(user_token_lifetime(e, None, ours).as_secs(), 2371);
    }

    #[test]
    fn oauth_lifetime_is_tolerant() {
        let parse = |s: &str| {
            serde_json::from_str::<OAuthTokenResponse>(s)
                .unwrap()
                .lifetime()
        };
        assert_eq!(
            parse(
                r#"{"access_token":"a","scope":"api-role:1","token_type":"Bearer","expires_in":599}"#
            ),
            Duration::from_secs(599)
        );
        assert_eq!(
            parse(r#"{"access_token":"a","expires_in":-5}"#),
            Duration::ZERO
        );
        assert_eq!(
            parse(r#"{"access_token":"a","expires_in":1.5}"#),
            Duration::from_millis(1500)
        );
    }
}
