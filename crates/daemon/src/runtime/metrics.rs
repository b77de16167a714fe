//! The daemon's event metrics: counters and histograms incremented where the events happen
//! (the Jamf client's requests through core's [`Observer`] hook, the secret store's operations,
//! rotations). State that services own (job states, drift, findings, secrets) is read at
//! scrape time by `services::metrics` instead.
//!
//! Every label value comes from a bounded set: configured instance and client names, Jamf route
//! patterns (never a raw path with ids), fixed operation names, and HTTP statuses folded into a
//! fixed list (anything else becomes its class, `2xx` … `5xx`, or `other`).

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use warden_core::observe::{JamfRequest, Observer, VaultRequest};

type Labels<const N: usize> = [(&'static str, String); N];
type HistogramFamily = Family<Labels<3>, Histogram, fn() -> Histogram>;

/// The statuses Jamf answers that get a label of their own.
const KNOWN_STATUSES: &[u16] = &[
    200, 201, 202, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504,
];

/// Event counters of one daemon. Cheap to share; recording never blocks for long.
#[derive(Debug, Clone)]
pub struct Recorder {
    jamf_requests: Family<Labels<4>, Counter>,
    jamf_duration: HistogramFamily,
    vault_requests: Family<Labels<1>, Counter>,
    vault_errors: Family<Labels<2>, Counter>,
    rotations: Family<Labels<3>, Counter>,
    mints: Family<Labels<2>, Counter>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

fn latency_histogram() -> Histogram {
    // 10 ms … ~41 s
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            jamf_requests: Family::default(),
            jamf_duration: Family::new_with_constructor(latency_histogram),
            vault_requests: Family::default(),
            vault_errors: Family::default(),
            rotations: Family::default(),
            mints: Family::default(),
        }
    }

    /// Registers every family in `registry` (names get the `_total` suffix from the encoder).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "warden_jamf_requests",
            "HTTP requests sent to Jamf Pro (every attempt), by instance, route pattern, method and status (\"error\": no answer)",
            self.jamf_requests.clone(),
        );
        registry.register(
            "warden_jamf_request_duration_seconds",
            "Latency of Jamf Pro requests (body included), by instance, route pattern and method",
            self.jamf_duration.clone(),
        );
        registry.register(
            "warden_vault_requests",
            "Operations on the secret store (Vault), by operation",
            self.vault_requests.clone(),
        );
        registry.register(
            "warden_vault_errors",
            "Failed operations on the secret store (Vault), by operation and error kind",
            self.vault_errors.clone(),
        );
        registry.register(
            "warden_rotations",
            "Secret rotations that ended, by instance, client and outcome (ok, recovered, failed)",
            self.rotations.clone(),
        );
        registry.register(
            "warden_secret_mints",
            "client-credentials requests (each mints a new client secret in Jamf), by instance and outcome (ok, failed)",
            self.mints.clone(),
        );
    }

    /// A rotation of `client` on `instance` ended with `outcome` (`ok`, `recovered`, `failed`).
    pub fn rotation(&self, instance: &str, client: &str, outcome: &'static str) {
        self.rotations
            .get_or_create(&[
                ("jamf_instance", instance.to_owned()),
                ("client", client.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }
}

/// The status label: a known status, else its class, else `other`; `error` without an answer.
fn status_label(status: Option<u16>) -> String {
    match status {
        None => "error".to_owned(),
        Some(s) if KNOWN_STATUSES.contains(&s) => s.to_string(),
        Some(s @ 100..=599) => format!("{}xx", s / 100),
        Some(_) => "other".to_owned(),
    }
}

impl Observer for Recorder {
    fn jamf_request(&self, r: &JamfRequest<'_>) {
        let instance = r.instance.to_owned();
        self.jamf_requests
            .get_or_create(&[
                ("jamf_instance", instance.clone()),
                ("endpoint", r.route.to_owned()),
                ("method", r.method.to_owned()),
                ("status", status_label(r.status)),
            ])
            .inc();
        self.jamf_duration
            .get_or_create(&[
                ("jamf_instance", instance.clone()),
                ("endpoint", r.route.to_owned()),
                ("method", r.method.to_owned()),
            ])
            .observe(r.elapsed.as_secs_f64());
        if r.mints_secret {
            let ok = r.status.is_some_and(|s| (200..300).contains(&s));
            self.mints
                .get_or_create(&[
                    ("jamf_instance", instance),
                    ("outcome", if ok { "ok" } else { "failed" }.to_owned()),
                ])
                .inc();
        }
    }

    fn vault_request(&self, r: &VaultRequest) {
        self.vault_requests
            .get_or_create(&[("operation", r.operation.to_owned())])
            .inc();
        if let Some(kind) = r.error {
            self.vault_errors
                .get_or_create(&[
                    ("operation", r.operation.to_owned()),
                    ("kind", kind.to_owned()),
                ])
                .inc();
        }
    }
}

/// The recorder as core's observer type.
pub fn observer(recorder: &Arc<Recorder>) -> warden_core::observe::SharedObserver {
    Arc::clone(recorder) as warden_core::observe::SharedObserver
}

#[cfg(test)]
mod tests {
    use super::status_label;

    #[test]
    fn statuses_fold_into_a_bounded_set() {
        assert_eq!(status_label(Some(200)), "200");
        assert_eq!(status_label(Some(418)), "4xx");
        assert_eq!(status_label(Some(999)), "other");
        assert_eq!(status_label(None), "error");
    }
}
