//! Change-log records off the host: a journald native-protocol datagram with structured
//! fields, or an RFC 5424 syslog message over a Unix datagram socket, UDP or TCP. The record
//! travels whole, with its hash, so a SIEM can check it against `wardenctl log`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use warden_core::notify::{Event, SyslogTarget};

/// Longest record sent whole; a larger one travels with its fields and hash only (a datagram
/// is limited in size; the whole record stays in the local change log).
const MAX_INLINE_RECORD: usize = 48 * 1024;

/// The record's JSON, or `None` when it is too large to send whole.
fn inline_record(event: &Event) -> Option<String> {
    let json = record(event).to_string();
    (json.len() <= MAX_INLINE_RECORD).then_some(json)
}

/// How long one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// RFC 5424 structured-data id (32473 is the private enterprise number reserved for examples
/// and documentation, RFC 5612).
const SD_ID: &str = "warden@32473";

/// The record a `changelog` event carries.
fn record(event: &Event) -> &Value {
    &event.details
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `(name, value)` of the record's fields worth indexing.
fn fields(event: &Event) -> Vec<(&'static str, String)> {
    let r = record(event);
    let object = match (r["object"]["kind"].as_str(), r["object"]["name"].as_str()) {
        (Some(k), Some(n)) => format!("{k}:{n}"),
        (Some(k), None) => k.to_owned(),
        _ => String::new(),
    };
    vec![
        ("SEQ", text(&r["seq"])),
        ("ACTION", text(&r["action"])),
        ("INSTANCE", text(&r["instance"])),
        ("OBJECT", object),
        ("OUTCOME", text(&r["outcome"])),
        ("ACTOR", text(&r["actor"]["kind"])),
        ("RECORD_HASH", text(&r["hash"])),
        ("PREV_HASH", text(&r["prev"])),
        ("TIME", text(&r["time"])),
        ("ERROR", text(&r["error"])),
    ]
}

fn failed(event: &Event) -> bool {
    matches!(record(event)["outcome"].as_str(), Some("failed"))
}

/// The journal's native datagram: `KEY=value\n`, or `KEY\n<u64 LE length><value>\n` for a value
/// holding a newline.
pub fn journald_datagram(event: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field = |key: &str, value: &str| {
        if value.contains('\n') {
            out.extend_from_slice(key.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        } else {
            out.extend_from_slice(format!("{key}={value}\n").as_bytes());
        }
    };
    field("MESSAGE", &event.summary);
    field("PRIORITY", if failed(event) { "4" } else { "5" });
    field("SYSLOG_IDENTIFIER", "wardend");
    for (k, v) in fields(event) {
        if !v.is_empty() {
            field(&format!("WARDEN_{k}"), &v);
        }
    }
    match inline_record(event) {
        Some(json) => field("WARDEN_RECORD", &json),
        None => field(
            "WARDEN_RECORD_OMITTED",
            "too large; see the local change log",
        ),
    }
    out
}

/// Sends the record of `event` to the journal's socket.
pub async fn journald(socket: &Path, event: &Event) -> std::io::Result<()> {
    let datagram = journald_datagram(event);
    let sock = tokio::net::UnixDatagram::unbound()?;
    match tokio::time::timeout(SEND_TIMEOUT, sock.send_to(&datagram, socket)).await {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// An RFC 5424 structured-data parameter value: `"`, `\` and `]` escaped.
fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// The RFC 5424 message of `event`: facility daemon, severity notice (warning for a failed
/// change), the record's fields as structured data, the record's JSON as the message.
pub fn syslog_message(event: &Event, hostname: &str) -> String {
    let pri = 3 * 8 + if failed(event) { 4 } else { 5 };
    let time = event.time.format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let params: String = fields(event)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!(" {}=\"{}\"", k.to_lowercase(), sd_escape(&v)))
        .collect();
    let host = if hostname.is_empty() { "-" } else { hostname };
    let message = inline_record(event)
        .unwrap_or_else(|| "record too large to send; see the local change log".to_owned());
    format!(
        "<{pri}>1 {time} {host} wardend {} changelog [{SD_ID}{params}] {message}",
        std::process::id(),
    )
}

/// Sends the record of `event` to `target`.
pub async fn syslog(target: &SyslogTarget, hostname: &str, event: &Event) -> std::io::Result<()> {
    let message = syslog_message(event, hostname);
    let send = async {
        match target {
            SyslogTarget::Unix(path) => {
                let sock = tokio::net::UnixDatagram::unbound()?;
                sock.send_to(message.as_bytes(), path).await.map(|_| ())
            }
            SyslogTarget::Udp(addr) => {
                let remote = tokio::net::lookup_host(addr.as_str())
                    .await?
                    .next()
                    .ok_or(std::io::ErrorKind::NotFound)?;
                let local = if remote.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let sock = tokio::net::UdpSocket::bind(local).await?;
                sock.send_to(message.as_bytes(), remote).await.map(|_| ())
            }
            SyslogTarget::Tcp(addr) => {
                use tokio::io::AsyncWriteExt;
                let mut stream = tokio::net::TcpStream::connect(addr.as_str()).await?;
                // octet counting (RFC 6587): a record may hold newlines
                let frame = format!("{} {message}", message.len());
                stream.write_all(frame.as_bytes()).await?;
                stream.shutdown().await
            }
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, send).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}
