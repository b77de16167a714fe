//! `wardenctl secrets [INSTANCE]`: each managed client's secret age, last rotation, next due,
//! strategy and state, read from Vault, as a `warden.secrets/1` document. Never the secret.

use warden_core::config::Config;
use warden_core::protocol::{
    ErrorCode, ReportBody, ReportFormat, ReportKind, ReportResponse, Response,
};
use warden_core::rotation::{SECRETS_SCHEMA, SecretRow, SecretStatus, SecretsDocument, fmt_when};

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
    let mut doc = SecretsDocument {
        schema: SECRETS_SCHEMA.to_owned(),
        secrets: Vec::new(),
        notes: Vec::new(),
        problems: 0,
    };
    for inst in instances {
        for target in targets(inst) {
            let row = match rotation.status(&target).await {
                Ok(s) => {
                    if let Some(note) = note(&s) {
                        doc.notes.push(note);
                    }
                    SecretRow::of(&s, next(rotation, &s))
                }
                Err(e) => SecretRow::unreadable(&inst.name, &target.client.name, e.to_string()),
            };
            doc.problems += u64::from(row.is_problem());
            doc.secrets.push(row);
        }
    }
    let body = match ReportBody::encode(&doc) {
        Ok(body) => body,
        Err(e) => {
            return Response::error(
                ErrorCode::Internal,
                format!("cannot encode the secrets document: {e}"),
            );
        }
    };
    Response::Report(ReportResponse {
        kind: ReportKind::Secrets,
        instance,
        format: ReportFormat::Json,
        findings: doc.problems,
        body,
    })
}

/// The NEXT DUE column: a recovery in progress, an interrupted rotation, a refusal, a hold, now,
/// or the next due time.
fn next(rotation: &Rotation, s: &SecretStatus) -> String {
    match rotation.describe_recovery(&s.instance, &s.client) {
        Some(recovering) => recovering,
        None if matches!(s.state.as_str(), "pending" | "stored") => {
            "recovering (interrupted rotation)".to_string()
        }
        None if s.refused.is_some() => "refused (out of band)".to_string(),
        None if s.adoption.is_some() => "held (adopted)".to_string(),
        None if s.due => "now".to_string(),
        None => fmt_when(s.next_due),
    }
}

/// What an operator acts on: how to resume a refused rotation, or why one is held.
fn note(s: &SecretStatus) -> Option<String> {
    if let Some(r) = &s.refused {
        return Some(format!(
            "{}/{}: rotate refused at {}: {}; resume with `wardenctl rotate '{}/{}' --yes --accept-out-of-band`",
            s.instance,
            s.client,
            fmt_when(Some(r.at)),
            r.cause,
            s.instance,
            s.client
        ));
    }
    s.adoption
        .as_ref()
        .map(|a| format!("{}/{}: {}", s.instance, s.client, a.reason()))
}
