//! `wardenctl log tail` and `wardenctl log verify`: the daemon's change log.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use warden_core::changelog::{Actor, Record, VerifyReport};
use warden_core::protocol::{LogTailRequest, Request, Response};

use crate::client::unexpected;
use crate::output::{NONE, Table, count, or_none, rfc3339};
use crate::{Ctx, Exit};

/// Prints the last `n` records, oldest first; with `--json` as JSON lines, exactly as received.
pub async fn tail(ctx: &Ctx, n: usize) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let (response, raw) = client.call_raw("log tail", LogTailRequest { n }).await?;
    let Response::LogTail { records } = response else {
        return Err(unexpected("log_tail", &response));
    };
    if ctx.json() {
        ctx.print(&json_lines(&raw)?)?;
    } else {
        ctx.print(&render_tail(&records))?;
    }
    Ok(Exit::Ok)
}

/// Verifies the change log; exit 1 when it found a problem.
pub async fn verify(ctx: &Ctx) -> anyhow::Result<Exit> {
    let mut client = ctx.connect().await?;
    let report = match client.call("log verify", Request::LogVerify).await? {
        Response::LogVerify(report) => report,
        other => return Err(unexpected("log_verify", &other)),
    };
    if ctx.json() {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&render_verify(&report))?;
    }
    Ok(if report.is_ok() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

/// The `records` of a raw `log_tail` response, one per line, as the daemon wrote them.
pub fn json_lines(payload: &[u8]) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct RawTail<'a> {
        #[serde(borrow)]
        records: Vec<&'a RawValue>,
    }
    let tail: RawTail<'_> = serde_json::from_slice(payload)
        .map_err(|err| anyhow::anyhow!("invalid log_tail response from wardend: {err}"))?;
    let mut out = String::new();
    for record in tail.records {
        let text = record.get();
        if text.contains('\n') {
            // Pretty-printed by the daemon: compact it, or it would span several lines.
            let value: serde_json::Value = serde_json::from_str(text)?;
            out.push_str(&value.to_string());
        } else {
            out.push_str(text);
        }
        out.push('\n');
    }
    Ok(out)
}

/// One line per record: seq, time, actor, instance, object, action, outcome, error (prefixed by
/// its kind when the record has one: `unavailable: vault sealed`).
pub fn render_tail(records: &[Record]) -> String {
    if records.is_empty() {
        return "the change log is empty\n".to_owned();
    }
    let mut table = Table::new([
        "SEQ", "TIME", "ACTOR", "INSTANCE", "OBJECT", "ACTION", "OUTCOME", "ERROR",
    ]);
    for record in records {
        table.row([
            record.seq.to_string(),
            rfc3339(record.time),
            actor(&record.actor),
            or_none(record.instance.as_deref()),
            object(record),
            snake(&record.action),
            snake(&record.outcome),
            match (&record.error_kind, &record.error) {
                (Some(kind), Some(error)) => format!("{kind}: {error}"),
                _ => or_none(record.error.as_deref()),
            },
        ]);
    }
    table.render()
}

/// `change log ok: N records, head seq S` (and that the MACs were verified), or the first bad
/// record.
pub fn render_verify(report: &VerifyReport) -> String {
    if let Some(problem) = &report.problem {
        let seq = problem
            .seq
            .map(|seq| format!(" (seq {seq})"))
            .unwrap_or_default();
        return format!(
            "change log FAILED at line {}{seq}: {}: {}\n{} before it verified, in {}\n",
            problem.line,
            problem.kind.as_str(),
            problem.message,
            count(report.records, "record"),
            report.path.display()
        );
    }
    // a segment started by `wardend --recover-state` holds the records from its first seq
    let before = report
        .recovery_points
        .first()
        .map_or(0, |p| p.seq.saturating_sub(1));
    let held = report.records.saturating_sub(before);
    let mut out = format!("change log ok: {}", count(held, "record"));
    if before > 0 {
        out.push_str(&format!(" (seq {} to {})", before + 1, report.records));
    }
    if let Some(last) = &report.last {
        out.push_str(&format!(", head seq {}", last.seq));
    }
    if report.macs_checked && held > report.legacy_records {
        out.push_str(&format!(
            ", {} verified with the key kept in Vault",
            count(held - report.legacy_records, "record MAC")
        ));
    }
    out.push('\n');
    for point in &report.recovery_points {
        out.push_str(&format!("{point}\n"));
    }
    match (&report.head, report.head_lag) {
        (None, _) if report.records > 0 => {
            out.push_str("note: there is no head anchor to compare the file with\n");
        }
        (Some(_), Some(lag)) => out.push_str(&format!(
            "note: the head anchor is {} behind the file; wardend catches up on its next start\n",
            count(lag, "record")
        )),
        _ => {}
    }
    if report.legacy_records > 0 {
        out.push_str(&format!(
            "note: the first {} predate record MACs and were verified by hash only\n",
            count(report.legacy_records, "record")
        ));
    }
    if held > report.legacy_records && !report.macs_checked {
        out.push_str("note: record MACs were not checked (no key)\n");
    }
    out
}

/// `schedule:rotate:prod:backup`, `user:alice`, `uid:1000`, `daemon`.
fn actor(actor: &Actor) -> String {
    match actor {
        Actor::Schedule { job } => format!("schedule:{job}"),
        Actor::User {
            user: Some(user), ..
        } => format!("user:{user}"),
        Actor::User { uid, .. } => format!("uid:{uid}"),
        Actor::Daemon => "daemon".to_owned(),
    }
}

/// `client:backup (12)`, `config`, `role:#7`.
fn object(record: &Record) -> String {
    let object = &record.object;
    let kind = snake(&object.kind);
    match (&object.name, &object.id) {
        (Some(name), Some(id)) => format!("{kind}:{name} ({id})"),
        (Some(name), None) => format!("{kind}:{name}"),
        (None, Some(id)) => format!("{kind}:#{id}"),
        (None, None) => kind,
    }
}

/// The snake_case wire name of a unit enum value.
fn snake(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => NONE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use warden_core::changelog::{
        Action, Head, ObjectKind, ObjectRef, Outcome, Problem, ProblemKind,
    };

    use super::*;

    fn record(seq: u64) -> Record {
        Record {
            seq,
            time: chrono::Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap(),
            actor: Actor::User {
                uid: 1000,
                user: Some("alice".into()),
                pid: Some(42),
            },
            instance: Some("prod".into()),
            object: ObjectRef::named(ObjectKind::Client, "backup").with_id("12"),
            action: Action::Rotate,
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
            outcome: Outcome::Failed,
            error: Some("vault sealed".into()),
            error_kind: Some("unavailable".into()),
            prev: "0".repeat(64),
            mac: None,
            hash: "1".repeat(64),
        }
    }

    #[test]
    fn tail_lines() {
        let mut daemon = record(2);
        daemon.actor = Actor::Daemon;
        daemon.instance = None;
        daemon.object = ObjectRef {
            kind: ObjectKind::Config,
            name: None,
            id: None,
        };
        daemon.action = Action::Reload;
        daemon.outcome = Outcome::Ok;
        daemon.error = None;
        assert_eq!(
            render_tail(&[record(1), daemon]),
            "\
SEQ  TIME                  ACTOR       INSTANCE  OBJECT              ACTION  OUTCOME  ERROR
1    2026-05-01T10:00:00Z  user:alice  prod      client:backup (12)  rotate  failed   unavailable: vault sealed
2    2026-05-01T10:00:00Z  daemon      -         config              reload  ok       -
"
        );
        assert_eq!(render_tail(&[]), "the change log is empty\n");
    }

    #[test]
    fn json_lines_are_verbatim() {
        let payload = br#"{"type":"log_tail","records":[{"seq":1,"z":1,"a":{"b":2}},{"seq":2}]}"#;
        assert_eq!(
            json_lines(payload).unwrap(),
            "{\"seq\":1,\"z\":1,\"a\":{\"b\":2}}\n{\"seq\":2}\n"
        );
        let pretty = b"{\"records\":[{\n  \"seq\": 1\n}]}";
        assert_eq!(json_lines(pretty).unwrap(), "{\"seq\":1}\n");
        assert!(json_lines(b"{}").is_err());
    }

    fn verify_report() -> VerifyReport {
        VerifyReport {
            path: "/var/lib/jamf-warden/changelog.jsonl".into(),
            records: 12,
            last: Some(Head {
                seq: 12,
                hash: "a".repeat(64),
            }),
            head: Some(Head {
                seq: 12,
                hash: "a".repeat(64),
            }),
            head_lag: None,
            problem: None,
            legacy_records: 0,
            macs_checked: true,
            recovery_points: Vec::new(),
        }
    }

    #[test]
    fn verify_ok_and_failed() {
        assert_eq!(
            render_verify(&verify_report()),
            "change log ok: 12 records, head seq 12, 12 record MACs verified with the key kept in Vault\n"
        );
        let failed = VerifyReport {
            records: 6,
            problem: Some(Problem {
                line: 7,
                seq: Some(7),
                kind: ProblemKind::Edited,
                message: "record seq 7 was edited".into(),
            }),
            ..verify_report()
        };
        assert_eq!(
            render_verify(&failed),
            "change log FAILED at line 7 (seq 7): edited: record seq 7 was edited\n\
             6 records before it verified, in /var/lib/jamf-warden/changelog.jsonl\n"
        );
        let lagging = VerifyReport {
            head_lag: Some(1),
            ..verify_report()
        };
        assert!(render_verify(&lagging).contains("1 record behind"));
        let empty = VerifyReport {
            records: 0,
            last: None,
            head: None,
            ..verify_report()
        };
        assert_eq!(render_verify(&empty), "change log ok: 0 records\n");
    }

    #[test]
    fn verify_shows_the_recovery_point_of_a_segment() {
        let segment = VerifyReport {
            recovery_points: vec![warden_core::changelog::RecoveryPoint {
                seq: 10,
                time: "2026-12-06T08:00:00.000000Z".into(),
                uid: Some(0),
                continues_from: Some(Head {
                    seq: 9,
                    hash: "b".repeat(64),
                }),
                previous_file: None,
                previous: "lost with the state directory".into(),
            }],
            ..verify_report()
        };
        let text = render_verify(&segment);
        assert!(
            text.starts_with(
                "change log ok: 3 records (seq 10 to 12), head seq 12, 3 record MACs verified"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "recovery point at seq 10 (2026-12-06T08:00:00.000000Z, by uid 0): continues \
                 from the head anchored in vault, seq 9 hash {}; earlier segment: lost with the \
                 state directory\n",
                "b".repeat(64)
            )),
            "{text}"
        );
    }
}
