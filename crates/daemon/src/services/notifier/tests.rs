//! The notifier's parts without a daemon: the bounded queue, the exec sink's timeout, output
//! cap and exit status, the Slack sink's text and redacted errors, the journald encoding.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use warden_core::notify::{Event, EventKind};

use super::deliver::{DeliveryError, Target};
use super::forward;
use super::queue::{Retry, Worker};
use crate::runtime::lifecycle::Lifecycle;

fn event(kind: EventKind) -> Event {
    Event::new(kind, chrono::DateTime::UNIX_EPOCH, "something happened").instance("alpha")
}

fn retry(queue: usize) -> Retry {
    Retry {
        queue,
        max_attempts: 1,
        retry_delay: Duration::from_millis(100),
        max_retry_delay: Duration::from_millis(100),
        max_age: Duration::from_secs(3600),
    }
}

fn exec(command: &[&str], timeout: Duration) -> Target {
    Target::Exec {
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        timeout,
    }
}

#[test]
fn a_full_queue_drops_its_oldest_event_and_counts_it() {
    let w = Worker::new(
        "q".into(),
        exec(&["/bin/true"], Duration::from_secs(1)),
        retry(2),
    );
    let events: Vec<Arc<Event>> = (0..3)
        .map(|_| Arc::new(event(EventKind::DriftAppeared)))
        .collect();
    for e in &events {
        w.push(Arc::clone(e));
    }
    let stats = w.stats();
    assert_eq!((stats.enqueued, stats.dropped, stats.queued), (3, 1, 2));
    assert!(!w.idle(), "two events wait");
}

#[tokio::test]
async fn a_started_worker_delivers_and_goes_idle() {
    let clock = warden_core::clock::system();
    let lifecycle = Arc::new(Lifecycle::new(
        clock,
        CancellationToken::new(),
        CancellationToken::new(),
    ));
    let w = Worker::new(
        "ok".into(),
        exec(&["/bin/cat"], Duration::from_secs(30)),
        retry(10),
    );
    w.start(&lifecycle);
    w.push(Arc::new(event(EventKind::DriftResolved)));
    while !w.idle() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(w.stats().delivered, 1);
    w.stop();
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_its_timeout() {
    let target = exec(&["/bin/sleep", "600"], Duration::from_millis(200));
    let e = event(EventKind::RotationFailed);
    match target.deliver("s", &e, 1, 0).await {
        Err(DeliveryError::Timeout { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_command_gets_the_event_and_its_output_is_bounded() {
    // reads its stdin, then writes 8 MiB: read to the end, kept only up to the cap
    let target = exec(
        &["/bin/sh", "-c", "cat >/dev/null; head -c 8388608 /dev/zero"],
        Duration::from_secs(60),
    );
    target
        .deliver("s", &event(EventKind::DriftAppeared), 1, 0)
        .await
        .unwrap();
    let failing = exec(
        &["/bin/sh", "-c", "read x; echo \"no: $x\" >&2; exit 3"],
        Duration::from_secs(60),
    );
    let err = failing
        .deliver("s", &event(EventKind::DriftAppeared), 1, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exit status: 3") && err.contains("warden.event/1"),
        "{err}"
    );
}

#[tokio::test]
async fn slack_gets_text_and_its_url_never_shows_in_an_error() {
    use axum::http::StatusCode;
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/services/T000/B000/secret-path",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(body.to_vec());
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/services/T000/B000/secret-path");
    let target = Target::Slack {
        client: reqwest::Client::new(),
        url: SecretString::from(url.as_str()),
        shown: format!("http://{addr}/…"),
    };
    let err = target
        .deliver("s", &event(EventKind::InstanceParked), 1, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("500") && !err.contains("secret-path"), "{err}");
    let body: serde_json::Value = serde_json::from_slice(&got.lock().unwrap()[0]).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("instance_parked") && text.contains("`alpha`"),
        "{text}"
    );
    // a refused connection names no path either
    drop(got);
    let dead = Target::Slack {
        client: reqwest::Client::new(),
        url: SecretString::from("http://127.0.0.1:9/services/T/B/secret-path"),
        shown: "http://127.0.0.1:9/…".into(),
    };
    let err = dead
        .deliver("s", &event(EventKind::InstanceParked), 1, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("secret-path"), "{err}");
}

#[tokio::test]
async fn vault_failures_alert_once_until_vault_works_again() {
    use warden_core::notify::{Severity, Sink, SinkKind};
    let clock = warden_core::clock::system();
    let lifecycle = Arc::new(Lifecycle::new(
        clock,
        CancellationToken::new(),
        CancellationToken::new(),
    ));
    let sink = Sink {
        name: "s".into(),
        kind: SinkKind::Exec {
            command: vec!["/bin/cat".into()],
        },
        events: vec![EventKind::VaultAuthFailed],
        min_severity: Severity::Critical,
        instances: vec!["alpha".into()],
        queue: 10,
        max_attempts: 1,
        retry_delay: Duration::from_millis(100),
        max_retry_delay: Duration::from_millis(100),
        max_age: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
    };
    let n = super::Notifier::new(lifecycle, &[sink], &Default::default()).unwrap();
    let enqueued = || n.stats().sinks[0].enqueued;
    n.vault_auth(Some("permission denied"));
    n.vault_auth(Some("permission denied"));
    assert_eq!(enqueued(), 1, "a failure alerts once");
    n.vault_auth(None);
    n.vault_auth(Some("connection refused"));
    assert_eq!(enqueued(), 2, "again after it worked");
    // filtered out: another kind, and (for an instance sink) another instance
    n.emit(
        n.event(EventKind::DriftAppeared, "x")
            .severity(Severity::Critical),
    );
    n.emit(n.event(EventKind::VaultAuthFailed, "x").instance("beta"));
    assert_eq!(enqueued(), 2);
    n.drain(Duration::from_secs(10)).await;
    assert_eq!(n.stats().sinks[0].delivered, 2);
}

#[test]
fn journald_values_with_newlines_are_length_prefixed() {
    let e = event(EventKind::Changelog).details(serde_json::json!({
        "seq": 7, "hash": "ab", "action": "rotate", "outcome": "failed", "error": "one\ntwo",
        "object": {"kind": "secret", "name": "Bot"}, "instance": "alpha",
    }));
    let d = forward::journald_datagram(&e);
    let text = String::from_utf8_lossy(&d);
    assert!(text.contains("WARDEN_SEQ=7\n") && text.contains("WARDEN_OBJECT=secret:Bot\n"));
    assert!(
        text.contains("PRIORITY=4\n"),
        "a failed change is a warning"
    );
    let mut needle = b"WARDEN_ERROR\n".to_vec();
    needle.extend_from_slice(&7u64.to_le_bytes());
    needle.extend_from_slice(b"one\ntwo\n");
    assert!(d.windows(needle.len()).any(|w| w == needle.as_slice()));
    let big = event(EventKind::Changelog).details(serde_json::json!({
        "seq": 8, "hash": "cd", "after": "x".repeat(100_000),
    }));
    let d = forward::journald_datagram(&big);
    assert!(d.len() < 4096 && String::from_utf8_lossy(&d).contains("WARDEN_RECORD_HASH=cd\n"));
    assert!(forward::syslog_message(&big, "h").len() < 4096);
    let line = forward::syslog_message(&e, "host");
    assert!(
        line.starts_with("<28>1 1970-01-01T00:00:00.000000Z host wardend "),
        "{line}"
    );
    assert!(line.contains("record_hash=\"ab\"") && line.contains("object=\"secret:Bot\""));
}

#[tokio::test]
async fn syslog_goes_over_udp_and_tcp_with_octet_counting() {
    use tokio::io::AsyncReadExt;
    use warden_core::notify::SyslogTarget;
    let e = event(EventKind::Changelog).details(serde_json::json!({"seq": 3, "hash": "ef"}));
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = Target::Syslog {
        target: SyslogTarget::Udp(udp.local_addr().unwrap().to_string()),
        hostname: "h".into(),
    };
    target.deliver("syslog", &e, 1, 0).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let n = udp.recv(&mut buf).await.unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        got.starts_with("<29>1 ") && got.contains("record_hash=\"ef\""),
        "{got}"
    );

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::Syslog {
        target: SyslogTarget::Tcp(tcp.local_addr().unwrap().to_string()),
        hostname: "h".into(),
    };
    let accept = tokio::spawn(async move {
        let (mut stream, _) = tcp.accept().await.unwrap();
        let mut all = String::new();
        stream.read_to_string(&mut all).await.unwrap();
        all
    });
    target.deliver("syslog", &e, 1, 0).await.unwrap();
    let framed = accept.await.unwrap();
    let (len, message) = framed.split_once(' ').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), message.len());
    assert!(message.contains("seq=\"3\""), "{message}");
}
