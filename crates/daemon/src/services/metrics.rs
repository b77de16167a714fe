//! The metrics endpoint's exposition: the event counters of `runtime::metrics` plus a
//! [`Collector`] that reads, at each scrape, the state the services own (job states, the last
//! drift reports and audits, each managed client's secret as last seen, the change log's head
//! and last verification). A scrape reads no file, Vault or Jamf: only what is in memory.
//!
//! Names follow Prometheus conventions (`warden_` prefix, base units, `_seconds`,
//! `_timestamp_seconds`, `_total` on counters); labels are `instance`, `job`, `client` (the
//! declared display name, never a client id or secret), `kind`, `severity`: configured names
//! and fixed sets only. Every metric is documented in `docs/operations.md` (## Monitoring).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use warden_core::audit::Severity;
use warden_core::drift::DriftKind;
use warden_core::schedule::{JobKey, JobKind};

use super::audit::Audit;
use super::changes::Changes;
use super::config::LiveConfig;
use super::drift::Drift;
use super::rotation::{Rotation, targets};
use super::schedule::Schedule;
use crate::runtime::lifecycle::Lifecycle;

/// What the collector reads.
pub struct MetricsDeps {
    pub config: Arc<LiveConfig>,
    pub lifecycle: Arc<Lifecycle>,
    pub changes: Arc<Changes>,
    pub schedule: Arc<Schedule>,
    pub rotation: Arc<Rotation>,
    pub drift: Arc<Drift>,
    pub audit: Arc<Audit>,
}

/// The registry the endpoint renders.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub fn new(deps: MetricsDeps) -> Metrics {
        let mut registry = Registry::default();
        deps.lifecycle.metrics().register(&mut registry);
        registry.register_collector(Box::new(State(deps)));
        Metrics { registry }
    }

    /// The exposition (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::warn!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

type Labels = Vec<(&'static str, String)>;

/// The scrape-time reader over the services.
struct State(MetricsDeps);

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("metrics::State")
    }
}

/// One family's samples before encoding.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, f64)>,
}

impl Family {
    fn gauge(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind: MetricType::Gauge,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push((labels, value));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        if self.samples.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(self.name, self.help, None, self.kind)?;
        for (labels, value) in &self.samples {
            let sample = metric.encode_family(labels)?;
            match self.kind {
                MetricType::Counter => ConstCounter::new(*value as u64).encode(sample)?,
                _ => ConstGauge::new(*value).encode(sample)?,
            }
        }
        Ok(())
    }
}

fn ts(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn job_labels(instance: &str, kind: JobKind) -> Labels {
    vec![
        ("jamf_instance", instance.to_owned()),
        ("job_kind", kind.to_string()),
    ]
}

impl State {
    fn process(&self) -> Vec<Family> {
        let mut build = Family::gauge(
            "warden_build_info",
            "Always 1; the version label says which wardend runs",
        );
        build.push(vec![("version", env!("CARGO_PKG_VERSION").to_owned())], 1.0);
        let mut start = Family::gauge(
            "warden_start_time_seconds",
            "When wardend started (Unix time, seconds)",
        );
        start.push(vec![], ts(self.0.lifecycle.started_at()));
        vec![build, start]
    }

    fn jobs(&self, instances: &[String]) -> Vec<Family> {
        let mut last_run = Family::gauge(
            "warden_job_last_run_timestamp_seconds",
            "When the job's last run ended (Unix time); absent before its first run",
        );
        let mut last_success = Family::gauge(
            "warden_job_last_success_timestamp_seconds",
            "When the job's last successful run started (Unix time); absent before its first success",
        );
        let mut outcome = Family::gauge(
            "warden_job_last_run_success",
            "1 if the job's last run succeeded, 0 if it failed; absent before its first run",
        );
        let mut failures = Family::gauge(
            "warden_job_consecutive_failures",
            "Failed runs of the job since its last success",
        );
        let mut parked = Family::gauge(
            "warden_job_parked",
            "1 if the job failed so often that it is parked (retried only at the backoff cap)",
        );
        let mut running = Family::gauge("warden_job_running", "1 while the job runs");
        let table = self.0.schedule.table();
        for instance in instances {
            for kind in JobKind::ALL {
                let key = JobKey::new(instance.clone(), kind);
                let labels = job_labels(instance, kind);
                let state = table.state(&key);
                if let Some(at) = state.and_then(|s| s.last_attempt) {
                    last_run.push(labels.clone(), ts(at));
                    let ok = state.is_some_and(|s| s.consecutive_failures == 0);
                    outcome.push(labels.clone(), flag(ok));
                }
                if let Some(at) = state.and_then(|s| s.last_success) {
                    last_success.push(labels.clone(), ts(at));
                }
                let n = state.map_or(0, |s| s.consecutive_failures);
                failures.push(labels.clone(), f64::from(n));
                parked.push(labels.clone(), flag(table.is_parked(&key)));
                running.push(labels, flag(table.running_since(&key).is_some()));
            }
        }
        vec![last_run, last_success, outcome, failures, parked, running]
    }

    fn drift_and_audit(&self, instances: &[String]) -> Vec<Family> {
        let mut items = Family::gauge(
            "warden_drift_items",
            "Differences between the desired and the live state found by the instance's last drift check, by kind",
        );
        let mut checked = Family::gauge(
            "warden_drift_last_check_timestamp_seconds",
            "When the instance's last drift check ran (Unix time)",
        );
        let mut findings = Family::gauge(
            "warden_audit_findings",
            "Unsuppressed findings of the instance's last risk audit, by severity",
        );
        let mut audited = Family::gauge(
            "warden_audit_last_timestamp_seconds",
            "When the instance's last risk audit read its live state (Unix time)",
        );
        for instance in instances {
            let inst = || vec![("jamf_instance", instance.clone())];
            // counted under the lock, without copying the reports
            let drift = self.0.drift.state().with_last(instance, |last| {
                let at = last.checked_at.filter(|_| last.error.is_none())?;
                let count = |kind| last.report.items.iter().filter(|i| i.kind == kind).count();
                Some((at, DriftKind::ALL.map(|k| (k, count(k)))))
            });
            if let Some(Some((at, counts))) = drift {
                checked.push(inst(), ts(at));
                for (kind, n) in counts {
                    let mut labels = inst();
                    labels.push(("kind", kind.as_str().to_owned()));
                    items.push(labels, n as f64);
                }
            }
            let audit = self.0.audit.state().with_last(instance, |audit| {
                let at = audit.checked_at.filter(|_| audit.error.is_none())?;
                let count = |severity| {
                    audit
                        .findings
                        .iter()
                        .filter(|f| f.severity == severity && f.suppressed_by.is_none())
                        .count()
                };
                Some((at, Severity::ALL.map(|s| (s, count(s)))))
            });
            if let Some(Some((at, counts))) = audit {
                audited.push(inst(), ts(at));
                for (severity, n) in counts {
                    let mut labels = inst();
                    labels.push(("severity", severity.as_str().to_owned()));
                    findings.push(labels, n as f64);
                }
            }
        }
        vec![items, checked, findings, audited]
    }

    fn clients(&self, declared: &BTreeSet<(String, String)>) -> Vec<Family> {
        let mut age = Family::gauge(
            "warden_client_secret_age_seconds",
            "Time since Warden last rotated the client's secret; absent if never rotated",
        );
        let mut due = Family::gauge(
            "warden_client_secret_next_due_timestamp_seconds",
            "When the client's secret is next due for rotation by its policy (Unix time)",
        );
        let mut last = Family::gauge(
            "warden_client_last_rotation_success",
            "1 if the client's last rotation succeeded, 0 if it failed",
        );
        let mut adopted = Family::gauge(
            "warden_client_adopted",
            "1 if the client was adopted and its secret is held until a cutover",
        );
        let mut refused = Family::gauge(
            "warden_client_rotation_refused",
            "1 if the client's rotation is refused because its secret was changed out of band",
        );
        let now = self.0.lifecycle.now();
        for ((instance, client), seen) in self.0.rotation.clients_seen() {
            if !declared.contains(&(instance.clone(), client.clone())) {
                continue;
            }
            let labels = vec![("jamf_instance", instance), ("client", client)];
            if let Some(at) = seen.rotated_at {
                let secs = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
                age.push(labels.clone(), secs);
            }
            if let Some(at) = seen.next_due {
                due.push(labels.clone(), ts(at));
            }
            if let Some(ok) = seen.last_ok {
                last.push(labels.clone(), flag(ok));
            }
            adopted.push(labels.clone(), flag(seen.adopted));
            refused.push(labels, flag(seen.refused));
        }
        vec![age, due, last, adopted, refused]
    }

    fn changelog(&self) -> Vec<Family> {
        let mut records = Family {
            name: "warden_changelog_records",
            help: "Records in the change log (the sequence number of its head)",
            kind: MetricType::Counter,
            samples: Vec::new(),
        };
        let seq = self.0.changes.log().head().map_or(0, |h| h.seq);
        records.push(vec![], seq as f64);
        let mut verify = Family::gauge(
            "warden_changelog_last_verify_success",
            "1 if the change log's last verification (at start-up or `wardenctl log verify`) found it intact, 0 if not",
        );
        if let Some(ok) = self.0.changes.last_verify() {
            verify.push(vec![], flag(ok));
        }
        vec![records, verify]
    }
}

impl Collector for State {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let config = self.0.config.get();
        let instances: Vec<String> = config.instances.iter().map(|i| i.name.clone()).collect();
        let declared: BTreeSet<(String, String)> = config
            .instances
            .iter()
            .flat_map(|inst| {
                targets(inst)
                    .into_iter()
                    .map(|t| (t.instance, t.client.name))
            })
            .collect();
        let families = [
            self.process(),
            self.jobs(&instances),
            self.drift_and_audit(&instances),
            self.clients(&declared),
            self.changelog(),
        ];
        for family in families.iter().flatten() {
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}
