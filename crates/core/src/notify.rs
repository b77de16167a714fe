//! Notifications: the events people act on (`warden.event/1`), their severities, the sinks
//! configured to receive them (`[[notify]]`), where change-log records are forwarded
//! (`[changelog_forward]`), the webhook signature and the Slack text. Pure: the daemon's
//! notifier service delivers.
//!
//! No event carries a secret, a client secret id or a token: events are built from names,
//! counts, fingerprints and change-log records, which hold none (see `docs/operations.md`,
//! "Alerts").

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use url::Url;

/// The schema name every event carries.
pub const EVENT_SCHEMA: &str = "warden.event/1";

/// The header carrying the webhook signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Warden-Signature";
/// The header carrying the delivery time (Unix seconds), also `delivery.sent_at` in the body.
pub const TIMESTAMP_HEADER: &str = "X-Warden-Timestamp";
/// The header carrying the event kind.
pub const EVENT_HEADER: &str = "X-Warden-Event";

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A drift check found drift where the last recorded one found none.
    DriftAppeared,
    /// The drift differs from the last recorded drift.
    DriftChanged,
    /// The drift recorded before is gone.
    DriftResolved,
    /// A secret rotation failed.
    RotationFailed,
    /// A rotation was refused: the secret in Vault was changed out of band.
    RotationRefused,
    /// A job of an instance failed repeatedly and is parked at the backoff cap.
    InstanceParked,
    /// A parked job succeeded again.
    InstanceRecovered,
    /// The scheduled audit found a new finding.
    AuditFinding,
    /// `wardenctl log verify` (or the daemon) found the change log broken.
    ChangelogVerifyFailed,
    /// The daemon cannot authenticate to Vault (or renew its token).
    VaultAuthFailed,
    /// A change-log record (only to sinks that list it: one per change).
    Changelog,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 11] = [
        EventKind::DriftAppeared,
        EventKind::DriftChanged,
        EventKind::DriftResolved,
        EventKind::RotationFailed,
        EventKind::RotationRefused,
        EventKind::InstanceParked,
        EventKind::InstanceRecovered,
        EventKind::AuditFinding,
        EventKind::ChangelogVerifyFailed,
        EventKind::VaultAuthFailed,
        EventKind::Changelog,
    ];

    /// The name in the config and the payload, e.g. `drift_appeared`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DriftAppeared => "drift_appeared",
            EventKind::DriftChanged => "drift_changed",
            EventKind::DriftResolved => "drift_resolved",
            EventKind::RotationFailed => "rotation_failed",
            EventKind::RotationRefused => "rotation_refused",
            EventKind::InstanceParked => "instance_parked",
            EventKind::InstanceRecovered => "instance_recovered",
            EventKind::AuditFinding => "audit_finding",
            EventKind::ChangelogVerifyFailed => "changelog_verify_failed",
            EventKind::VaultAuthFailed => "vault_auth_failed",
            EventKind::Changelog => "changelog",
        }
    }

    /// The kinds a sink gets when it lists none: every kind but `changelog`.
    pub fn defaults() -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|k| *k != EventKind::Changelog)
            .collect()
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown event kind {s:?}"))
    }
}

/// How urgent an event is; sinks drop events below their `min_severity`. Audit findings keep
/// their finding's severity.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record (drift resolved, instance recovered, change-log records).
    #[default]
    Info,
    /// Hygiene worth fixing.
    Low,
    /// Needs a look (drift appeared or changed).
    Medium,
    /// Needs action (rotation failed or refused, instance parked).
    High,
    /// Needs action now (change log broken, Vault refusing the daemon).
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// `info`, `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity {s:?}; use info, low, medium, high or critical")
            })
    }
}

impl From<crate::audit::Severity> for Severity {
    fn from(s: crate::audit::Severity) -> Self {
        match s {
            crate::audit::Severity::Low => Severity::Low,
            crate::audit::Severity::Medium => Severity::Medium,
            crate::audit::Severity::High => Severity::High,
            crate::audit::Severity::Critical => Severity::Critical,
        }
    }
}

/// One event (`warden.event/1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Always [`EVENT_SCHEMA`].
    pub schema: String,
    /// Unique per event (a UUID): receivers deduplicate retried deliveries by it.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// How urgent.
    pub severity: Severity,
    /// When it happened (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// The Jamf Pro instance, when the event concerns one.
    pub instance: Option<String>,
    /// One line for people.
    pub summary: String,
    /// Kind-specific facts (see `docs/operations.md`).
    pub details: Value,
}

impl Event {
    /// A new event of `kind` at `time` with the kind's usual severity.
    pub fn new(kind: EventKind, time: DateTime<Utc>, summary: impl Into<String>) -> Event {
        Event {
            schema: EVENT_SCHEMA.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            severity: default_severity(kind),
            time,
            instance: None,
            summary: summary.into(),
            details: Value::Object(Default::default()),
        }
    }

    /// With `instance`.
    pub fn instance(mut self, instance: impl Into<String>) -> Event {
        self.instance = Some(instance.into());
        self
    }

    /// With `severity`.
    pub fn severity(mut self, severity: Severity) -> Event {
        self.severity = severity;
        self
    }

    /// With `details`.
    pub fn details(mut self, details: Value) -> Event {
        self.details = details;
        self
    }

    /// The webhook body of this event's `attempt`-th delivery to `sink` at `sent_at` (Unix
    /// seconds): the event with a `delivery` member, so the signature covers the time.
    pub fn delivery_body(&self, sink: &str, attempt: u32, sent_at: i64) -> Vec<u8> {
        #[derive(Serialize)]
        struct Delivery<'a> {
            sink: &'a str,
            attempt: u32,
            sent_at: i64,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            event: &'a Event,
            delivery: Delivery<'a>,
        }
        serde_json::to_vec(&Body {
            event: self,
            delivery: Delivery {
                sink,
                attempt,
                sent_at,
            },
        })
        .unwrap_or_default()
    }

    /// The text of a Slack-compatible incoming webhook message.
    pub fn slack_text(&self) -> String {
        let icon = match self.severity {
            Severity::Critical => ":rotating_light:",
            Severity::High => ":warning:",
            Severity::Medium => ":large_orange_diamond:",
            Severity::Low | Severity::Info => ":information_source:",
        };
        let instance = self
            .instance
            .as_deref()
            .map(|i| format!(" `{i}`"))
            .unwrap_or_default();
        format!(
            "{icon} *{}* [{}]{instance}: {}",
            self.kind.as_str(),
            self.severity.as_str(),
            self.summary
        )
    }
}

/// The usual severity of `kind`.
pub fn default_severity(kind: EventKind) -> Severity {
    match kind {
        EventKind::DriftAppeared | EventKind::DriftChanged => Severity::Medium,
        EventKind::DriftResolved | EventKind::InstanceRecovered | EventKind::Changelog => {
            Severity::Info
        }
        EventKind::RotationFailed | EventKind::RotationRefused | EventKind::InstanceParked => {
            Severity::High
        }
        EventKind::AuditFinding => Severity::Medium,
        EventKind::ChangelogVerifyFailed | EventKind::VaultAuthFailed => Severity::Critical,
    }
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` with `key`, the value of [`SIGNATURE_HEADER`].
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` with `key` (compared in constant time).
pub fn verify_signature(key: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// One `[[notify]]` sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    /// Unique name, used in logs and counters.
    pub name: String,
    /// Where it delivers.
    pub kind: SinkKind,
    /// Kinds it receives (never empty once validated).
    pub events: Vec<EventKind>,
    /// Events below this severity are not sent.
    pub min_severity: Severity,
    /// Only events of these instances (and events of no instance); empty: every instance.
    pub instances: Vec<String>,
    /// Events waiting for delivery at most; the oldest is dropped (and counted) beyond.
    pub queue: u32,
    /// Delivery attempts per event at most.
    pub max_attempts: u32,
    /// Delay before the first retry, doubled after each failure up to `max_retry_delay`.
    pub retry_delay: Duration,
    /// Longest delay between attempts.
    pub max_retry_delay: Duration,
    /// An event older than this is not retried any more.
    pub max_age: Duration,
    /// One attempt's timeout (HTTP request, or the command's whole run).
    pub timeout: Duration,
}

impl Sink {
    /// Whether this sink receives `event`.
    pub fn wants(&self, event: &Event) -> bool {
        self.events.contains(&event.kind)
            && event.severity >= self.min_severity
            && (self.instances.is_empty()
                || event
                    .instance
                    .as_ref()
                    .is_none_or(|i| self.instances.contains(i)))
    }
}

/// Where a sink delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// A JSON POST of the event, signed with the secret read from `secret_file`.
    Webhook {
        /// The receiver.
        url: Url,
        /// The shared HMAC key (a file or `credential:NAME`).
        secret_file: PathBuf,
    },
    /// A Slack-compatible incoming webhook; its URL is a secret, read from `url_file`.
    Slack {
        /// File holding the webhook URL.
        url_file: PathBuf,
    },
    /// A command run with the event JSON on stdin (no shell).
    Exec {
        /// The program (absolute path) and its arguments.
        command: Vec<String>,
    },
}

impl SinkKind {
    /// `webhook`, `slack` or `exec`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::Slack { .. } => "slack",
            SinkKind::Exec { .. } => "exec",
        }
    }
}

/// `[changelog_forward]`: change-log records also sent to journald and/or syslog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forward {
    /// The journal's native socket, when forwarding to journald.
    pub journald: Option<PathBuf>,
    /// The syslog receiver (RFC 5424), when forwarding to syslog.
    pub syslog: Option<SyslogTarget>,
}

impl Forward {
    /// Whether nothing is forwarded.
    pub fn is_off(&self) -> bool {
        self.journald.is_none() && self.syslog.is_none()
    }
}

/// Where syslog messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogTarget {
    /// A Unix datagram socket such as `/dev/log`.
    Unix(PathBuf),
    /// UDP to `host:port`.
    Udp(String),
    /// TCP to `host:port` (octet-counted frames, RFC 6587).
    Tcp(String),
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogTarget::Unix(p) => write!(f, "unix:{}", p.display()),
            SyslogTarget::Udp(a) => write!(f, "udp:{a}"),
            SyslogTarget::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// The part of `url` that may be logged: scheme, host and port (paths and queries of webhook
/// URLs often hold tokens).
pub fn redacted_url(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}/…", url.scheme()),
        (Some(h), None) => format!("{}://{h}/…", url.scheme()),
        _ => format!("{}://…", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_reject_tampering() {
        let sig = signature(b"k", b"{\"a\":1}");
        assert!(sig.starts_with("sha256="));
        assert!(verify_signature(b"k", b"{\"a\":1}", &sig));
        assert!(!verify_signature(b"k", b"{\"a\":2}", &sig));
        assert!(!verify_signature(b"x", b"{\"a\":1}", &sig));
        assert!(!verify_signature(b"k", b"{\"a\":1}", "md5=00"));
    }

    #[test]
    fn kinds_and_severities_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        }
        assert!(Severity::Critical > Severity::Info);
        assert!(!EventKind::defaults().contains(&EventKind::Changelog));
    }

    #[test]
    fn the_body_carries_the_delivery_and_the_url_is_redacted() {
        let e = Event::new(EventKind::DriftAppeared, DateTime::UNIX_EPOCH, "x").instance("a");
        let body: Value = serde_json::from_slice(&e.delivery_body("s", 2, 7)).unwrap();
        assert_eq!(body["schema"], EVENT_SCHEMA);
        assert_eq!(body["kind"], "drift_appeared");
        assert_eq!(body["delivery"]["attempt"], 2);
        assert_eq!(body["delivery"]["sent_at"], 7);
        let u: Url = "https://hooks.example.com/services/T/B/secret?token=x"
            .parse()
            .unwrap();
        assert_eq!(redacted_url(&u), "https://hooks.example.com/…");
    }

    #[test]
    fn every_kind_matches_the_documented_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/schemas/warden.event-1.schema.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for kind in EventKind::ALL {
            let e = Event::new(kind, DateTime::UNIX_EPOCH, "x");
            let body: Value = serde_json::from_slice(&e.delivery_body("s", 1, 0)).unwrap();
            assert!(validator.is_valid(&body), "{body}");
            assert!(validator.is_valid(&serde_json::to_value(&e).unwrap()));
        }
        let mut bad =
            serde_json::to_value(Event::new(EventKind::Changelog, DateTime::UNIX_EPOCH, "x"))
                .unwrap();
        bad["kind"] = "other".into();
        assert!(!validator.is_valid(&bad));
    }
}
