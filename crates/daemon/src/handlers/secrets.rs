//! `wardenctl secrets [INSTANCE]`: each managed client's secret age, last rotation, next due,
//! strategy and state, read from Vault. Never the secret.

use warden_core::config::Config;
use warden_core::protocol::{ErrorCode, ReportFormat, ReportKind, ReportResponse, Response};
use warden_core::rotation::fmt_age;

use crate::services::rotation::{Rotation, targets};

pub async fn handle(config: &Config, rotation: &Rotation, instance: Option<String>) -> Response {
    let instances: Vec<_> = config
        .instances
        .iter()
        .filter(|i| instance.as_deref().is_none_or(|n| n == i.name))
        .collect();
    if let Some(name) = &instance
        && instances.is_empty()
    {
        return Response::error(
            ErrorCode::NotFound,
            format!("no instance named {name} is configured"),
        );
    }
    let mut lines = vec![format!(
        "{:<10} {:<32} {:<12} {:<8} {:>7} {:<10} {:<21} {:<21}",
        "INSTANCE", "CLIENT", "STRATEGY", "STATE", "VERSION", "AGE", "LAST ROTATION", "NEXT DUE"
    )];
    let mut problems = 0u64;
    let mut notes = Vec::new();
    for inst in instances {
        for target in targets(inst) {
            match rotation.status(&target).await {
                Ok(s) => {
                    let fmt_time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                            .unwrap_or_else(|| "never".into())
                    };
                    lines.push(format!(
                        "{:<10} {:<32} {:<12} {:<8} {:>7} {:<10} {:<21} {:<21}",
                        s.instance,
                        s.client,
                        format!("{:?}", s.strategy).to_lowercase(),
                        s.state.as_str(),
                        s.version
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "-".into()),
                        s.age.map(fmt_age).unwrap_or_else(|| "-".into()),
                        fmt_time(s.rotated_at),
                        match rotation.describe_recovery(&s.instance, &s.client) {
                            Some(recovering) => recovering,
                            None if matches!(s.state.as_str(), "pending" | "stored") => {
                                "recovering (interrupted rotation)".to_string()
                            }
                            None if s.refused.is_some() => "refused (out of band)".to_string(),
                            None if s.adoption.is_some() => "held (adopted)".to_string(),
                            None if s.due => "now".to_string(),
                            None => fmt_time(s.next_due),
                        },
                    ));
                    if s.last_error.is_some() || matches!(s.state.as_str(), "pending" | "stored") {
                        problems += 1;
                    }
                    if let Some(r) = &s.refused {
                        notes.push(format!(
                            "{}/{}: rotate refused at {}: {}; resume with `wardenctl rotate '{}/{}' --yes --accept-out-of-band`",
                            s.instance,
                            s.client,
                            fmt_time(Some(r.at)),
                            r.cause,
                            s.instance,
                            s.client
                        ));
                    } else if let Some(a) = &s.adoption {
                        notes.push(format!("{}/{}: {}", s.instance, s.client, a.reason()));
                    }
                }
                Err(e) => {
                    problems += 1;
                    lines.push(format!(
                        "{:<10} {:<32} error: {e}",
                        inst.name, target.client.name
                    ));
                }
            }
        }
    }
    if !notes.is_empty() {
        lines.push(String::new());
        lines.extend(notes);
    }
    Response::Report(ReportResponse {
        kind: ReportKind::Secrets,
        instance,
        format: ReportFormat::Text,
        findings: problems,
        body: (lines.join("\n") + "\n").into(),
    })
}
