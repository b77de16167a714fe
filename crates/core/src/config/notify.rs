//! `[[notify]]` (alert sinks) and `[changelog_forward]` (change-log records to journald and
//! syslog), validated with located errors into core's [`Sink`] and [`Forward`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ctx::Ctx;
use super::values::parse_http_url;
use crate::drift::suggest;
use crate::notify::{EventKind, Forward, Severity, Sink, SinkKind, SyslogTarget};

/// The journal's native socket.
pub const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
/// `notify.queue`.
pub const QUEUE: u32 = 1000;
/// `notify.max_attempts`.
pub const MAX_ATTEMPTS: u32 = 8;
/// `notify.retry_delay`.
pub const RETRY_DELAY_SECS: u64 = 5;
/// `notify.max_retry_delay`.
pub const MAX_RETRY_DELAY_SECS: u64 = 300;
/// `notify.max_age`.
pub const MAX_AGE_SECS: u64 = 3600;
/// `notify.timeout`.
pub const TIMEOUT_SECS: u64 = 10;

/// `[[notify]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSink {
    pub(crate) name: Spanned<String>,
    pub(crate) kind: Spanned<String>,
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) allow_insecure_http: Option<bool>,
    pub(crate) secret_file: Option<Spanned<String>>,
    pub(crate) url_file: Option<Spanned<String>>,
    pub(crate) command: Option<Spanned<Vec<String>>>,
    pub(crate) events: Option<Vec<Spanned<String>>>,
    pub(crate) min_severity: Option<Spanned<String>>,
    pub(crate) instances: Option<Vec<Spanned<String>>>,
    pub(crate) queue: Option<Spanned<i64>>,
    pub(crate) max_attempts: Option<Spanned<i64>>,
    pub(crate) retry_delay: Option<Spanned<String>>,
    pub(crate) max_retry_delay: Option<Spanned<String>>,
    pub(crate) max_age: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
}

/// `[changelog_forward]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawForward {
    pub(crate) journald: Option<bool>,
    pub(crate) journald_socket: Option<Spanned<String>>,
    pub(crate) syslog: Option<Spanned<String>>,
}

/// Validates the sinks and the forwarding; `instances` are the configured instance names.
pub(crate) fn notify(
    ctx: &mut Ctx<'_>,
    sinks: &[RawSink],
    forward: &RawForward,
    instances: &[&str],
) -> (Vec<Sink>, Forward) {
    let mut names = BTreeSet::new();
    let sinks = sinks
        .iter()
        .filter_map(|raw| {
            let name = raw.name.get_ref().trim().to_owned();
            let ok_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !ok_name {
                ctx.invalid(
                    &raw.name.span(),
                    "notify.name",
                    "must be a non-empty name of letters, digits, `_`, `-` or `.`",
                );
            } else if !names.insert(name.clone()) {
                ctx.invalid(
                    &raw.name.span(),
                    "notify.name",
                    format!("a sink named {name:?} is already defined; give each a unique name"),
                );
            }
            sink(ctx, raw, name, instances)
        })
        .collect();
    (sinks, forward_settings(ctx, forward))
}

fn sink(ctx: &mut Ctx<'_>, raw: &RawSink, name: String, instances: &[&str]) -> Option<Sink> {
    // every field is checked even when the kind is wrong: all errors at once
    let kind = sink_kind(ctx, raw);
    let events = match &raw.events {
        None => EventKind::defaults(),
        Some(list) if list.is_empty() => {
            ctx.invalid(
                &raw.name.span(),
                "notify.events",
                "is empty; list the event kinds, or remove it to get all but `changelog`",
            );
            Vec::new()
        }
        Some(list) => list.iter().filter_map(|e| event_kind(ctx, e)).collect(),
    };
    let min_severity = match &raw.min_severity {
        None => Severity::Info,
        Some(v) => v
            .get_ref()
            .parse()
            .map_err(|m: String| ctx.invalid(&v.span(), "notify.min_severity", m))
            .unwrap_or_default(),
    };
    let instances = raw
        .instances
        .iter()
        .flatten()
        .filter_map(|i| {
            let n = i.get_ref().trim();
            if instances.contains(&n) {
                return Some(n.to_owned());
            }
            let known: Vec<String> = instances.iter().map(|s| (*s).to_owned()).collect();
            let hint = match suggest(n, &known).as_slice() {
                [] => format!("the instances are {}", instances.join(", ")),
                s => format!("did you mean {}?", s.join(" or ")),
            };
            ctx.invalid(
                &i.span(),
                "notify.instances",
                format!("no instance named {n:?} is configured; {hint}"),
            );
            None
        })
        .collect();
    let secs = Duration::from_secs;
    let dur = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, f: &str, lo, hi, d| {
        ctx.duration_in(v.as_ref(), f, lo..=hi, secs(d))
    };
    let ms = Duration::from_millis(100);
    let retry_delay = dur(
        ctx,
        &raw.retry_delay,
        "notify.retry_delay",
        ms,
        secs(3600),
        RETRY_DELAY_SECS,
    );
    let max_retry_delay = dur(
        ctx,
        &raw.max_retry_delay,
        "notify.max_retry_delay",
        ms,
        secs(86_400),
        MAX_RETRY_DELAY_SECS,
    )
    .max(retry_delay);
    let queue = ctx.int_in(raw.queue.as_ref(), "notify.queue", 1..=100_000, QUEUE);
    let max_attempts = ctx.int_in(
        raw.max_attempts.as_ref(),
        "notify.max_attempts",
        1..=100,
        MAX_ATTEMPTS,
    );
    let max_age = dur(
        ctx,
        &raw.max_age,
        "notify.max_age",
        secs(1),
        secs(7 * 86_400),
        MAX_AGE_SECS,
    );
    let timeout = dur(
        ctx,
        &raw.timeout,
        "notify.timeout",
        ms,
        secs(600),
        TIMEOUT_SECS,
    );
    Some(Sink {
        name,
        kind: kind?,
        events,
        min_severity,
        instances,
        queue,
        max_attempts,
        retry_delay,
        max_retry_delay,
        max_age,
        timeout,
    })
}

fn event_kind(ctx: &mut Ctx<'_>, v: &Spanned<String>) -> Option<EventKind> {
    match v.get_ref().parse::<EventKind>() {
        Ok(k) => Some(k),
        Err(_) => {
            let all: Vec<String> = EventKind::ALL.iter().map(|k| k.as_str().into()).collect();
            let hint = match suggest(v.get_ref(), &all).as_slice() {
                [] => format!("the kinds are {}", all.join(", ")),
                s => format!("did you mean {}?", s.join(" or ")),
            };
            ctx.invalid(
                &v.span(),
                "notify.events",
                format!("unknown event kind {:?}; {hint}", v.get_ref()),
            );
            None
        }
    }
}

/// Which fields each kind takes: (kind, required, forbidden).
fn sink_kind(ctx: &mut Ctx<'_>, raw: &RawSink) -> Option<SinkKind> {
    let kind = raw.kind.get_ref().as_str();
    let span = raw.kind.span();
    let present = [
        ("url", raw.url.as_ref().map(Spanned::span)),
        ("secret_file", raw.secret_file.as_ref().map(Spanned::span)),
        ("url_file", raw.url_file.as_ref().map(Spanned::span)),
        ("command", raw.command.as_ref().map(Spanned::span)),
    ];
    let wanted: &[&str] = match kind {
        "webhook" => &["url", "secret_file"],
        "slack" => &["url_file"],
        "exec" => &["command"],
        other => {
            let kinds = ["webhook".to_owned(), "slack".into(), "exec".into()];
            let hint = match suggest(other, &kinds).as_slice() {
                [] => String::new(),
                s => format!("did you mean {}? ", s.join(" or ")),
            };
            ctx.invalid(
                &span,
                "notify.kind",
                format!(
                    "unknown sink kind {other:?}; {hint}use \"webhook\", \"slack\" or \"exec\""
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    for (field, at) in present {
        match (wanted.contains(&field), at) {
            (false, Some(at)) => {
                ctx.invalid(
                    &at,
                    &format!("notify.{field}"),
                    format!("does not apply to kind = \"{kind}\"; remove it"),
                );
                ok = false;
            }
            (true, None) => {
                ctx.invalid(
                    &span,
                    &format!("notify.{field}"),
                    format!("kind = \"{kind}\" needs `{field}`; add it"),
                );
                ok = false;
            }
            _ => {}
        }
    }
    let file = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, f: &str| -> Option<PathBuf> {
        ctx.path(v.as_ref()?, f, true)
    };
    match kind {
        "webhook" => {
            let raw_url = raw.url.as_ref()?;
            let example = "https://alerts.example.com/warden";
            let url = parse_http_url(
                raw_url.get_ref(),
                raw.allow_insecure_http.unwrap_or(false),
                example,
            )
            .map_err(|m| ctx.invalid(&raw_url.span(), "notify.url", m))
            .ok();
            let secret_file = file(ctx, &raw.secret_file, "notify.secret_file");
            let kind = SinkKind::Webhook {
                url: url?,
                secret_file: secret_file?,
            };
            ok.then_some(kind)
        }
        "slack" => {
            let url_file = file(ctx, &raw.url_file, "notify.url_file")?;
            ok.then_some(SinkKind::Slack { url_file })
        }
        _ => {
            let command = raw.command.as_ref()?;
            let program = command.get_ref().first().map(String::as_str);
            if !program.is_some_and(|p| p.starts_with('/')) {
                ctx.invalid(
                    &command.span(),
                    "notify.command",
                    "must start with the program's absolute path, e.g. [\"/usr/local/bin/page\", \
                     \"--team\", \"ops\"] (no shell runs it)",
                );
                return None;
            }
            ok.then(|| SinkKind::Exec {
                command: command.get_ref().clone(),
            })
        }
    }
}

fn forward_settings(ctx: &mut Ctx<'_>, raw: &RawForward) -> Forward {
    let journald = match (&raw.journald, &raw.journald_socket) {
        (Some(false), None) | (None, None) => None,
        (Some(false), Some(v)) => {
            ctx.invalid(
                &v.span(),
                "changelog_forward.journald_socket",
                "is set while `journald = false`; remove one",
            );
            None
        }
        (_, Some(v)) => ctx.path(v, "changelog_forward.journald_socket", false),
        (Some(true), None) => Some(PathBuf::from(JOURNALD_SOCKET)),
    };
    let syslog = raw.syslog.as_ref().and_then(|v| {
        syslog_target(ctx, v.get_ref())
            .map_err(|m| ctx.invalid(&v.span(), "changelog_forward.syslog", m))
            .ok()
    });
    Forward { journald, syslog }
}

fn syslog_target(ctx: &Ctx<'_>, raw: &str) -> Result<SyslogTarget, String> {
    let host_port = |rest: &str| -> Result<String, String> {
        match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
                Ok(rest.to_owned())
            }
            _ => Err(format!(
                "`{raw}` needs a host and a port, e.g. \"udp:syslog.example.com:514\""
            )),
        }
    };
    if let Some(path) = raw.strip_prefix("unix:") {
        return ctx
            .resolve(path)
            .map(SyslogTarget::Unix)
            .ok_or_else(|| format!("`{raw}`: give the socket's path, e.g. \"unix:/dev/log\""));
    }
    if let Some(rest) = raw.strip_prefix("udp:") {
        return host_port(rest).map(SyslogTarget::Udp);
    }
    if let Some(rest) = raw.strip_prefix("tcp:") {
        return host_port(rest).map(SyslogTarget::Tcp);
    }
    Err(format!(
        "`{raw}`: write \"unix:/dev/log\", \"udp:HOST:PORT\" or \"tcp:HOST:PORT\""
    ))
}

/// Serializes the settings in the file's own shape (so the effective config loads again).
pub(crate) fn ser_sinks<S: serde::Serializer>(sinks: &[Sink], s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let sinks: Vec<toml::Table> = sinks.iter().map(sink_table).collect();
    sinks.serialize(s)
}

fn sink_table(sink: &Sink) -> toml::Table {
    use super::values::format_duration;
    use toml::Value as V;
    let mut t = toml::Table::new();
    t.insert("name".into(), V::String(sink.name.clone()));
    t.insert("kind".into(), V::String(sink.kind.as_str().into()));
    match &sink.kind {
        SinkKind::Webhook { url, secret_file } => {
            t.insert("url".into(), V::String(url.to_string()));
            if url.scheme() == "http" && !super::values::is_loopback(url) {
                t.insert("allow_insecure_http".into(), V::Boolean(true));
            }
            t.insert(
                "secret_file".into(),
                V::String(secret_file.display().to_string()),
            );
        }
        SinkKind::Slack { url_file } => {
            t.insert("url_file".into(), V::String(url_file.display().to_string()));
        }
        SinkKind::Exec { command } => {
            let c = command.iter().cloned().map(V::String).collect();
            t.insert("command".into(), V::Array(c));
        }
    }
    let events = sink.events.iter().map(|e| V::String(e.as_str().into()));
    t.insert("events".into(), V::Array(events.collect()));
    t.insert(
        "min_severity".into(),
        V::String(sink.min_severity.as_str().into()),
    );
    let instances = sink.instances.iter().cloned().map(V::String);
    t.insert("instances".into(), V::Array(instances.collect()));
    t.insert("queue".into(), V::Integer(sink.queue.into()));
    t.insert("max_attempts".into(), V::Integer(sink.max_attempts.into()));
    for (k, d) in [
        ("retry_delay", sink.retry_delay),
        ("max_retry_delay", sink.max_retry_delay),
        ("max_age", sink.max_age),
        ("timeout", sink.timeout),
    ] {
        t.insert(k.into(), V::String(format_duration(d)));
    }
    t
}

/// Serializes `[changelog_forward]` in the file's shape.
pub(crate) fn ser_forward<S: serde::Serializer>(f: &Forward, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let mut t = toml::Table::new();
    if let Some(p) = &f.journald {
        t.insert(
            "journald_socket".into(),
            toml::Value::String(p.display().to_string()),
        );
    }
    if let Some(target) = &f.syslog {
        t.insert("syslog".into(), toml::Value::String(target.to_string()));
    }
    t.serialize(s)
}
