//! Request statistics per instance: counts per (method, route pattern, status), 404s
//! served because of node lag, and the peak number of concurrent in-flight requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Route label of requests that matched no API route.
pub const UNKNOWN_ROUTE: &str = "<unknown>";

/// Number of API requests with one (method, route pattern, status).
/// A request that hangs is counted with status 0 when it starts hanging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCount {
    pub method: String,
    pub route: String,
    pub status: u16,
    pub count: u64,
}

/// A snapshot of an instance's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// Sorted by route, method, status.
    pub requests: Vec<RequestCount>,
    /// 404s answered only because the entity was not yet visible on the serving node.
    pub lag_404s: u64,
    /// Highest number of API requests in flight at once since the last reset.
    pub peak_in_flight: u64,
    /// API requests in flight now.
    pub in_flight: u64,
}

impl SimStats {
    /// Requests to `method route` (a route pattern such as `/api/v1/api-roles/{id}`), any status.
    pub fn count(&self, method: &str, route: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.route == route)
            .map(|r| r.count)
            .sum()
    }

    /// Requests to `method route` answered with `status`.
    pub fn count_status(&self, method: &str, route: &str, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method) && r.route == route && r.status == status
            })
            .map(|r| r.count)
            .sum()
    }

    /// All API requests counted.
    pub fn total(&self) -> u64 {
        self.requests.iter().map(|r| r.count).sum()
    }
}

type Key = (String, String, u16);

#[derive(Debug, Default)]
pub(crate) struct Stats {
    counts: Mutex<HashMap<Key, u64>>,
    lag_404s: AtomicU64,
    in_flight: AtomicU64,
    peak: AtomicU64,
}

/// Counts a request as in flight while alive.
pub(crate) struct InFlight<'a> {
    stats: &'a Stats,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Stats {
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        InFlight { stats: self }
    }

    pub(crate) fn record(&self, method: &str, route: &str, status: u16) {
        let mut counts = self.counts.lock().expect("jamf-sim stats mutex poisoned");
        *counts
            .entry((method.to_owned(), route.to_owned(), status))
            .or_insert(0) += 1;
    }

    pub(crate) fn lag_404(&self) {
        self.lag_404s.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        let counts = self.counts.lock().expect("jamf-sim stats mutex poisoned");
        let mut requests: Vec<RequestCount> = counts
            .iter()
            .map(|((method, route, status), count)| RequestCount {
                method: method.clone(),
                route: route.clone(),
                status: *status,
                count: *count,
            })
            .collect();
        drop(counts);
        requests
            .sort_by(|a, b| (&a.route, &a.method, a.status).cmp(&(&b.route, &b.method, b.status)));
        SimStats {
            requests,
            lag_404s: self.lag_404s.load(Ordering::SeqCst),
            peak_in_flight: self.peak.load(Ordering::SeqCst),
            in_flight: self.in_flight.load(Ordering::SeqCst),
        }
    }

    /// Clears the counts; the peak restarts from the requests in flight now.
    pub(crate) fn reset(&self) {
        self.counts
            .lock()
            .expect("jamf-sim stats mutex poisoned")
            .clear();
        self.lag_404s.store(0, Ordering::SeqCst);
        self.peak
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_peak() {
        let s = Stats::default();
        {
            let _a = s.enter();
            let _b = s.enter();
            s.record("GET", "/api/v1/api-roles", 200);
            s.record("GET", "/api/v1/api-roles", 200);
            s.record("GET", "/api/v1/api-roles", 401);
        }
        let _c = s.enter();
        let snap = s.snapshot();
        assert_eq!(snap.peak_in_flight, 2);
        assert_eq!(snap.in_flight, 1);
        assert_eq!(snap.count("GET", "/api/v1/api-roles"), 3);
        assert_eq!(snap.count_status("get", "/api/v1/api-roles", 401), 1);
        s.reset();
        let snap = s.snapshot();
        assert_eq!(snap.total(), 0);
        assert_eq!(snap.peak_in_flight, 1);
    }
}
