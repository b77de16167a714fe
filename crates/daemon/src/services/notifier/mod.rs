//! The notifier: typed events (`warden.event/1`) to the configured sinks (`[[notify]]`:
//! webhook, Slack, exec) and change-log records to journald and syslog
//! (`[changelog_forward]`) and to the sinks that list `changelog`.
//!
//! Every sink has its own bounded queue and delivery task ([`queue::Worker`]): [`Notifier::emit`]
//! never waits, a full queue drops its oldest event (counted and logged), each failed attempt
//! is logged and counted, and retries back off, bounded in attempts and age. Secrets (the
//! webhook's HMAC key, the Slack URL) are read when the notifier is built (start, reload) and
//! kept in secrecy types. Events never carry a secret, a client secret id or a token.

mod deliver;
pub mod forward;
pub mod queue;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret;
use warden_core::changelog::Record;
use warden_core::config::read_secret_file;
use warden_core::notify::{Event, EventKind, Forward, Severity, Sink, SinkKind};

use crate::runtime::lifecycle::Lifecycle;
use deliver::Target;
pub use queue::SinkStats;
use queue::{Retry, Worker};

/// Why the sinks could not be built (start-up refuses, a reload keeps the running ones).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notify sink {sink}: {message}")]
    Secret { sink: String, message: String },
    #[error("notify sink {sink}: cannot build its HTTP client: {message}")]
    Client { sink: String, message: String },
}

/// Counters of every sink and forwarder, for the metrics endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotifierStats {
    /// The `[[notify]]` sinks.
    pub sinks: Vec<SinkStats>,
    /// The change-log forwarders (`journald`, `syslog`).
    pub forwards: Vec<SinkStats>,
}

/// A sink's worker and the filter in front of it.
struct Subscribed {
    sink: Sink,
    worker: Arc<Worker>,
}

/// What a reload installs: built (secrets read) before the reload is recorded.
pub struct Prepared {
    sinks: Vec<Subscribed>,
    forwards: Vec<Arc<Worker>>,
}

/// The notifier service.
pub struct Notifier {
    lifecycle: Arc<Lifecycle>,
    sinks: Mutex<Vec<Subscribed>>,
    forwards: Mutex<Vec<Arc<Worker>>>,
    vault_failing: AtomicBool,
}

impl Notifier {
    /// Builds and starts the sinks of `sinks` and `forward`.
    pub fn new(
        lifecycle: Arc<Lifecycle>,
        sinks: &[Sink],
        forward: &Forward,
    ) -> Result<Notifier, NotifyError> {
        let notifier = Notifier {
            lifecycle,
            sinks: Mutex::new(Vec::new()),
            forwards: Mutex::new(Vec::new()),
            vault_failing: AtomicBool::new(false),
        };
        let prepared = Notifier::prepare(sinks, forward)?;
        notifier.install(prepared);
        Ok(notifier)
    }

    /// Builds the workers of a configuration (reads the secrets) without starting them.
    pub fn prepare(sinks: &[Sink], forward: &Forward) -> Result<Prepared, NotifyError> {
        let mut out = Prepared {
            sinks: Vec::new(),
            forwards: Vec::new(),
        };
        for sink in sinks {
            let target = target(sink)?;
            let worker = Worker::new(sink.name.clone(), target, retry(sink));
            out.sinks.push(Subscribed {
                sink: sink.clone(),
                worker,
            });
        }
        let forward_retry = Retry {
            queue: 10_000,
            max_attempts: 5,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(30),
            max_age: Duration::from_secs(600),
        };
        if let Some(socket) = &forward.journald {
            let target = Target::Journald {
                socket: socket.clone(),
            };
            out.forwards.push(Worker::new(
                "journald".into(),
                target,
                forward_retry.clone(),
            ));
        }
        if let Some(t) = &forward.syslog {
            let hostname = nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default();
            let target = Target::Syslog {
                target: t.clone(),
                hostname,
            };
            out.forwards
                .push(Worker::new("syslog".into(), target, forward_retry));
        }
        Ok(out)
    }

    /// Puts `prepared` in force: sinks that deliver the same way keep their worker (and its
    /// queue); the others are stopped or started. Returns the names of sinks changed.
    pub fn install(&self, prepared: Prepared) -> Vec<String> {
        let mut changed = Vec::new();
        let mut sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        let mut old: Vec<Subscribed> = std::mem::take(&mut *sinks);
        for mut new in prepared.sinks {
            match old.iter().position(|o| o.sink.name == new.sink.name) {
                Some(i) if old[i].worker.same_as(&new.worker) => {
                    new.worker = old.remove(i).worker;
                }
                _ => {
                    new.worker.start(&self.lifecycle);
                    changed.push(new.sink.name.clone());
                }
            }
            sinks.push(new);
        }
        for gone in old {
            gone.worker.retire();
            if !changed.contains(&gone.sink.name) {
                changed.push(gone.sink.name.clone());
            }
        }
        drop(sinks);
        let mut forwards = self.forwards.lock().unwrap_or_else(|p| p.into_inner());
        let mut old = std::mem::take(&mut *forwards);
        for new in prepared.forwards {
            match old.iter().position(|o| o.same_as(&new)) {
                Some(i) => forwards.push(old.remove(i)),
                None => {
                    new.start(&self.lifecycle);
                    changed.push(new.name.clone());
                    forwards.push(new);
                }
            }
        }
        for gone in old {
            gone.retire();
            changed.push(gone.name.clone());
        }
        changed
    }

    /// An event of `kind` now, with the kind's usual severity.
    pub fn event(&self, kind: EventKind, summary: impl Into<String>) -> Event {
        Event::new(kind, self.lifecycle.now(), summary)
    }

    /// Queues `event` for every sink that wants it; never waits.
    pub fn emit(&self, event: Event) {
        let event = Arc::new(event);
        let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        for s in sinks.iter().filter(|s| s.sink.wants(&event)) {
            s.worker.push(Arc::clone(&event));
        }
    }

    /// Forwards a change-log record (journald, syslog, sinks listing `changelog`); never waits.
    /// The local file stays the source of truth: a failure here is counted and logged only.
    pub fn changelog(&self, record: &Record) {
        let details = serde_json::to_value(record).unwrap_or_default();
        let object = record.object.name.as_deref().unwrap_or_default();
        let mut summary = format!(
            "change log #{}: {} {} {}",
            record.seq,
            details["action"].as_str().unwrap_or_default(),
            details["object"]["kind"].as_str().unwrap_or_default(),
            object
        );
        summary.push_str(&format!(
            " ({})",
            details["outcome"].as_str().unwrap_or_default()
        ));
        let mut event = Event::new(EventKind::Changelog, record.time, summary)
            .severity(Severity::Info)
            .details(details);
        event.instance = record.instance.clone();
        let event = Arc::new(event);
        let forwards = self.forwards.lock().unwrap_or_else(|p| p.into_inner());
        for f in forwards.iter() {
            f.push(Arc::clone(&event));
        }
        drop(forwards);
        let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        for s in sinks.iter().filter(|s| s.sink.wants(&event)) {
            s.worker.push(Arc::clone(&event));
        }
    }

    /// Notes the outcome of a Vault authentication or token renewal: the first failure after
    /// a success emits `vault_auth_failed` (not every retry).
    pub fn vault_auth(&self, failure: Option<&str>) {
        match failure {
            Some(message) => {
                if !self.vault_failing.swap(true, Ordering::Relaxed) {
                    self.emit(
                        self.event(
                            EventKind::VaultAuthFailed,
                            "wardend cannot authenticate to vault or renew its token",
                        )
                        .details(serde_json::json!({ "error": message })),
                    );
                }
            }
            None => self.vault_failing.store(false, Ordering::Relaxed),
        }
    }

    /// At stop: lets the queues drain (at most `grace`, so a dead sink cannot hold the stop
    /// up), then stops every worker. What is left is counted as queued and logged.
    pub async fn drain(&self, grace: Duration) {
        let workers: Vec<Arc<Worker>> = {
            let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
            let forwards = self.forwards.lock().unwrap_or_else(|p| p.into_inner());
            sinks
                .iter()
                .map(|s| Arc::clone(&s.worker))
                .chain(forwards.iter().cloned())
                .collect()
        };
        let idle = async {
            while !workers.iter().all(|w| w.idle()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(grace, idle).await.is_err() {
            tracing::warn!("notifications still undelivered at stop; dropping them");
        }
        for w in &workers {
            w.stop();
        }
        let stats = self.stats();
        for s in stats.sinks.iter().chain(&stats.forwards) {
            tracing::info!(sink = %s.name, delivered = s.delivered, failed_attempts = s.failed_attempts, given_up = s.given_up, dropped = s.dropped, queued = s.queued, "notifications at stop");
        }
    }

    /// Counters of every sink and forwarder.
    pub fn stats(&self) -> NotifierStats {
        let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        let forwards = self.forwards.lock().unwrap_or_else(|p| p.into_inner());
        NotifierStats {
            sinks: sinks.iter().map(|s| s.worker.stats()).collect(),
            forwards: forwards.iter().map(|f| f.stats()).collect(),
        }
    }
}

fn retry(sink: &Sink) -> Retry {
    Retry {
        queue: sink.queue as usize,
        max_attempts: sink.max_attempts,
        retry_delay: sink.retry_delay,
        max_retry_delay: sink.max_retry_delay,
        max_age: sink.max_age,
    }
}

/// The delivery target of `sink`, its secrets read.
fn target(sink: &Sink) -> Result<Target, NotifyError> {
    let secret = |path: &std::path::Path| {
        read_secret_file(path).map_err(|e| NotifyError::Secret {
            sink: sink.name.clone(),
            message: e.to_string(),
        })
    };
    let client = || {
        reqwest::Client::builder()
            .timeout(sink.timeout)
            .connect_timeout(sink.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Client {
                sink: sink.name.clone(),
                message: e.without_url().to_string(),
            })
    };
    Ok(match &sink.kind {
        SinkKind::Webhook { url, secret_file } => Target::Webhook {
            client: client()?,
            url: url.clone(),
            key: secret(secret_file)?,
        },
        SinkKind::Slack { url_file } => {
            let url = secret(url_file)?;
            // the URL is the secret: say what is wrong with it, never what it is
            let parsed = reqwest::Url::parse(url.expose_secret().trim()).ok();
            let shown = match parsed.as_ref() {
                Some(u)
                    if u.scheme() == "https"
                        || (u.scheme() == "http"
                            && warden_core::config::values::is_loopback(u)) =>
                {
                    warden_core::notify::redacted_url(u)
                }
                _ => {
                    return Err(NotifyError::Secret {
                        sink: sink.name.clone(),
                        message: format!(
                            "`{}` does not hold an https URL; put the incoming webhook's URL in it",
                            url_file.display()
                        ),
                    });
                }
            };
            Target::Slack {
                client: client()?,
                url,
                shown,
            }
        }
        SinkKind::Exec { command } => Target::Exec {
            command: command.clone(),
            timeout: sink.timeout,
        },
    })
}
