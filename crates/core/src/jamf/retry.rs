//! Retry policy: which requests may be retried, exponential backoff with full jitter, and
//! `Retry-After` parsing.
//!
//! The single most important rule lives in [`Retry`]: a request that creates something
//! (`POST /v1/api-roles`, `POST /v1/api-integrations`) or mints a client secret
//! (`POST /v1/api-integrations/{id}/client-credentials`) is [`Retry::Never`]. A retried secret
//! generation silently rotates the secret a second time and loses the first one.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Whether a request may be sent again after a transient failure.
///
/// The value is not chosen by callers: every [`Endpoint`](super::endpoint::Endpoint) is
/// hard-wired to one, so a create or a secret generation can never be retried by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// GET, PUT, DELETE and token requests: sending them twice has the same effect as once, so
    /// connect errors, timeouts, 429, 502, 503 and 504 are retried with backoff.
    Idempotent,
    /// Creates and `client-credentials`: sent at most once per authentication attempt. Any
    /// transient failure is returned to the caller, who must find out whether it took effect.
    Never,
}

/// Backoff settings for transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Ceiling of the first backoff; doubles on every further attempt (default 200 ms).
    pub base_delay: Duration,
    /// Largest backoff ceiling (default 10 s).
    pub max_delay: Duration,
    /// Attempts in total, the first one included (default 5; 1 disables retries).
    pub max_attempts: u32,
    /// No new sleep starts if it would end more than this long after the first attempt
    /// (default 60 s).
    pub total_budget: Duration,
    /// A server's `Retry-After` is honoured up to this value (default 120 s).
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_attempts: 5,
            total_budget: Duration::from_secs(60),
            retry_after_cap: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt only).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The upper bound of the backoff after failed attempt number `attempt` (1-based):
    /// `min(max_delay, base_delay * 2^(attempt - 1))`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let factor = 1u32 << exp;
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A "full jitter" backoff: uniformly random in `[0, backoff_ceiling(attempt)]`.
    pub fn backoff<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// The delay before the next attempt: the server's `Retry-After` (capped at
    /// `retry_after_cap`) when present, else a jittered backoff.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(after) => after.min(self.retry_after_cap),
            None => self.backoff(attempt, &mut rand::rng()),
        }
    }
}

/// Parses a `Retry-After` header value: either delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`). A date in the past gives zero. Anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Very long digit strings overflow u64: treat as "a very long time" (capped later).
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// HTTP statuses that are worth retrying for an idempotent request.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn retry_after_delta_seconds() {
        // delta-seconds do not depend on "now"
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // In the past: retry now.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Wed, 99 Oct 2015 07:28:30 GMT", now),
            None
        );
    }

    #[test]
    fn retry_after_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.next_delay(1, Some(Duration::from_secs(100_000))),
            Duration::from_secs(120)
        );
        assert_eq!(
            policy.next_delay(3, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn backoff_ceiling_doubles_then_caps() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_millis(400));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.backoff_ceiling(7), Duration::from_secs(10));
        assert_eq!(policy.backoff_ceiling(1_000), Duration::from_secs(10));
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(200));
    }

    #[test]
    fn backoff_stays_within_bounds() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..12 {
            let ceiling = policy.backoff_ceiling(attempt);
            let mut max_seen = Duration::ZERO;
            for _ in 0..500 {
                let d = policy.backoff(attempt, &mut rng);
                assert!(d <= ceiling, "{d:?} > {ceiling:?}");
                max_seen = max_seen.max(d);
            }
            // Full jitter spreads over the whole range, not just near zero.
            assert!(max_seen >= ceiling / 2, "attempt {attempt}: {max_seen:?}");
        }
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(zero.backoff(3, &mut rng), Duration::ZERO);
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 400, 401, 403, 404, 409, 500, 501] {
            assert!(!is_retryable_status(s));
        }
    }
}
