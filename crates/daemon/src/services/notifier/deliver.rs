//! Delivering one event to one sink: a signed JSON webhook, a Slack-compatible incoming
//! webhook, a command with the event on stdin, or (change-log records) a journald or syslog
//! datagram. Errors never carry a webhook URL's path or query, nor any secret.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_core::notify::{
    EVENT_HEADER, Event, SIGNATURE_HEADER, SyslogTarget, TIMESTAMP_HEADER, redacted_url, signature,
};

use super::forward;

/// Bytes of a command's stdout and stderr kept (the rest is read and discarded).
const EXEC_OUTPUT_CAP: usize = 64 * 1024;

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{at}: {error}")]
    Http { at: String, error: String },
    #[error("{at} answered HTTP {status}")]
    Status { at: String, status: u16 },
    #[error("cannot run {program}: {error}")]
    Spawn { program: String, error: String },
    #[error("{program} did not finish within {timeout:?}; killed")]
    Timeout { program: String, timeout: Duration },
    #[error("{program} exited with {status}: {stderr}")]
    Exit {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("cannot send to {at}: {error}")]
    Socket { at: String, error: String },
}

/// Where a worker delivers, with what it needs (secrets in secrecy types).
pub enum Target {
    Webhook {
        client: reqwest::Client,
        url: reqwest::Url,
        key: SecretString,
    },
    Slack {
        client: reqwest::Client,
        /// The webhook URL: itself a secret.
        url: SecretString,
        /// Scheme, host and port of `url`, for logs.
        shown: String,
    },
    Exec {
        command: Vec<String>,
        timeout: Duration,
    },
    Journald {
        socket: PathBuf,
    },
    Syslog {
        target: SyslogTarget,
        hostname: String,
    },
}

impl Target {
    /// `webhook`, `slack`, `exec`, `journald` or `syslog`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook { .. } => "webhook",
            Target::Slack { .. } => "slack",
            Target::Exec { .. } => "exec",
            Target::Journald { .. } => "journald",
            Target::Syslog { .. } => "syslog",
        }
    }

    /// Whether `other` delivers to the same place with the same secret and timeout.
    pub fn same_as(&self, other: &Target) -> bool {
        match (self, other) {
            (
                Target::Webhook {
                    url: a, key: ka, ..
                },
                Target::Webhook {
                    url: b, key: kb, ..
                },
            ) => a == b && ka.expose_secret() == kb.expose_secret(),
            (Target::Slack { url: a, .. }, Target::Slack { url: b, .. }) => {
                a.expose_secret() == b.expose_secret()
            }
            (
                Target::Exec {
                    command: a,
                    timeout: ta,
                },
                Target::Exec {
                    command: b,
                    timeout: tb,
                },
            ) => a == b && ta == tb,
            (Target::Journald { socket: a }, Target::Journald { socket: b }) => a == b,
            (Target::Syslog { target: a, .. }, Target::Syslog { target: b, .. }) => a == b,
            _ => false,
        }
    }

    /// One attempt at delivering `event` to sink `sink` at `now` (Unix seconds).
    pub async fn deliver(
        &self,
        sink: &str,
        event: &Event,
        attempt: u32,
        now: i64,
    ) -> Result<(), DeliveryError> {
        match self {
            Target::Webhook {
                client, url, key, ..
            } => {
                let body = event.delivery_body(sink, attempt, now);
                let sig = signature(key.expose_secret().as_bytes(), &body);
                let request = client
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, sig)
                    .header(TIMESTAMP_HEADER, now.to_string())
                    .header(EVENT_HEADER, event.kind.as_str())
                    .body(body);
                send(request, &redacted_url(url)).await
            }
            Target::Slack {
                client, url, shown, ..
            } => {
                let body = serde_json::json!({ "text": event.slack_text() });
                let request = client.post(url.expose_secret()).json(&body);
                send(request, shown).await
            }
            Target::Exec { command, timeout } => exec(command, *timeout, event).await,
            Target::Journald { socket } => {
                forward::journald(socket, event)
                    .await
                    .map_err(|e| DeliveryError::Socket {
                        at: socket.display().to_string(),
                        error: e.to_string(),
                    })
            }
            Target::Syslog { target, hostname } => forward::syslog(target, hostname, event)
                .await
                .map_err(|e| DeliveryError::Socket {
                    at: target.to_string(),
                    error: e.to_string(),
                }),
        }
    }
}

/// Sends `request`; any status but 2xx fails. Errors name `at`, never the full URL.
async fn send(request: reqwest::RequestBuilder, at: &str) -> Result<(), DeliveryError> {
    let response = request.send().await.map_err(|e| DeliveryError::Http {
        at: at.to_owned(),
        error: describe(e),
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status {
            at: at.to_owned(),
            status: status.as_u16(),
        })
    }
}

/// A reqwest error without its URL, with its causes.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Runs `command` (no shell) with the event JSON on stdin; killed after `timeout`. Its output
/// is read up to a cap and the rest discarded, so it neither blocks nor fills memory.
async fn exec(command: &[String], timeout: Duration, event: &Event) -> Result<(), DeliveryError> {
    let program = command.first().cloned().unwrap_or_default();
    let mut child = tokio::process::Command::new(&program)
        .args(command.iter().skip(1))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("WARDEN_EVENT_KIND", event.kind.as_str())
        .env("WARDEN_EVENT_ID", &event.id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| DeliveryError::Spawn {
            program: program.clone(),
            error: e.to_string(),
        })?;
    let body = serde_json::to_vec(event).unwrap_or_default();
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let run = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // a command that does not read its stdin is not an error
                let _ = stdin.write_all(&body).await;
                let _ = stdin.shutdown().await;
            }
        };
        let (_, _, err, status) = tokio::join!(feed, capped(stdout), capped(stderr), child.wait());
        (err, status)
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            let _ = child.kill().await;
            Err(DeliveryError::Timeout { program, timeout })
        }
        Ok((_, Ok(status))) if status.success() => Ok(()),
        Ok((stderr, status)) => Err(DeliveryError::Exit {
            program,
            status: status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            stderr: String::from_utf8_lossy(&stderr)
                .chars()
                .take(300)
                .collect::<String>()
                .trim()
                .to_owned(),
        }),
    }
}

/// Reads `pipe` to its end, keeping the first [`EXEC_OUTPUT_CAP`] bytes.
async fn capped<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else { return kept };
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = EXEC_OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}
