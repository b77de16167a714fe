//! `wardenctl audit [INSTANCE...] [--last]` and `wardenctl audit client INSTANCE/CLIENT`: the
//! risk audit, now (read-only, nothing recorded) or as the scheduled audit last found it, with
//! the configuration's suppressions applied. Answers the report (`warden.audit/1`) as JSON;
//! `wardenctl` renders it.

use std::sync::Arc;

use warden_core::audit::{AuditReport, InstanceAudit, SubjectKind};
use warden_core::config::{Config, Instance};
use warden_core::protocol::{
    AuditRequest, ErrorCode, Parts, ReportBody, ReportFormat, ReportKind, ReportStart, Response,
};

use super::{Reply, ReportParts};
use crate::services::ServiceError;
use crate::services::audit::Audit;

pub async fn handle(config: &Arc<Config>, audit: &Arc<Audit>, request: AuditRequest) -> Reply {
    let unknown: Vec<&str> = request
        .instances
        .iter()
        .filter(|n| config.instance(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return super::no_instance(&unknown.join(", ")).into();
    }
    if request.client.is_some() && request.instances.len() != 1 {
        return Response::error(
            ErrorCode::BadRequest,
            "a client audit names one instance: wardenctl audit client INSTANCE/CLIENT",
        )
        .into();
    }
    let selected = super::select(config, &request.instances);
    let audits = if request.last {
        selected
            .iter()
            .map(|&i| {
                let inst = &config.instances[i];
                audit
                    .last(&inst.name)
                    .unwrap_or_else(|| never_audited(inst))
            })
            .collect()
    } else {
        match audit.audit_many(config, selected).await {
            Ok(a) => a,
            Err(e) => return e.response().into(),
        }
    };
    let mut built = match audit.report(audits) {
        Ok(r) => r,
        Err(e) => return e.response().into(),
    };
    if let Some(client) = &request.client {
        if let Err(e) = only_client(&mut built, client) {
            return (*e).into();
        }
    } else {
        audit.annotate(&mut built, request.last);
    }
    let instance = (request.instances.len() == 1).then(|| request.instances[0].clone());
    let findings = built.summary.total() as u64;
    if request.stream {
        return in_parts(built, instance, findings);
    }
    super::report(ReportKind::Audit, instance, findings, &built).into()
}

/// The report in parts: the report without its instances first, then the instances a part at
/// a time, each encoded only when its part is sent (a fleet of any size, and never the whole
/// document encoded at once).
fn in_parts(
    mut report: warden_core::audit::AuditReport,
    instance: Option<String>,
    findings: u64,
) -> Reply {
    let instances = std::mem::take(&mut report.instances);
    let body = match ReportBody::encode(&report) {
        Ok(body) => body,
        Err(e) => {
            return Response::error(
                ErrorCode::Internal,
                format!("cannot encode the audit report: {e}; report this as a bug"),
            )
            .into();
        }
    };
    Reply::Parts(ReportParts {
        start: ReportStart {
            kind: ReportKind::Audit,
            instance,
            format: ReportFormat::Json,
            findings,
            split: "instances".to_owned(),
            body,
        },
        parts: Box::new(Parts::new(instances)),
    })
}

/// An audit saying the scheduled audit has not run yet.
fn never_audited(inst: &Instance) -> InstanceAudit {
    InstanceAudit {
        instance: inst.name.clone(),
        url: inst.url.to_string(),
        checked_at: None,
        error: Some(
            "not audited yet: the scheduled audit has not run; audit now without --last".to_owned(),
        ),
        catalogue: None,
        roles: 0,
        clients: 0,
        findings: Vec::new(),
        client_privileges: Vec::new(),
        since_last: None,
        trend: Vec::new(),
    }
}

/// Keeps only what concerns `client`: its effective privileges, its own findings and those of
/// the roles it holds (each of which applies to it through that role).
fn only_client(report: &mut AuditReport, client: &str) -> Result<(), Box<Response>> {
    let Some(inst) = report.instances.first_mut() else {
        return Err(Box::new(Response::error(
            ErrorCode::Internal,
            "no instance audited",
        )));
    };
    if let Some(e) = &inst.error {
        return Err(Box::new(Response::error(
            ErrorCode::Unavailable,
            format!("cannot audit {}: {e}", inst.instance),
        )));
    }
    let Some(privileges) = inst
        .client_privileges
        .iter()
        .find(|c| c.name == client)
        .cloned()
    else {
        return Err(Box::new(Response::error(
            ErrorCode::NotFound,
            format!(
                "no API client named {client:?} on {} (names are case-sensitive; see wardenctl audit {})",
                inst.instance, inst.instance
            ),
        )));
    };
    // a hash set: both lists come from Jamf
    let roles: std::collections::HashSet<&str> =
        privileges.roles.iter().map(String::as_str).collect();
    inst.findings.retain(|f| match f.subject.kind {
        SubjectKind::Client => f.subject.name == client,
        SubjectKind::Role => roles.contains(f.subject.name.as_str()),
        _ => false,
    });
    inst.client_privileges = vec![privileges];
    report.recount();
    Ok(())
}
