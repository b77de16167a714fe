//! `wardenctl audit [INSTANCE...] [--last]` and `wardenctl audit client INSTANCE/CLIENT`: the
//! risk audit, now (read-only, nothing recorded) or as the scheduled audit last found it, with
//! the configuration's suppressions applied. Answers the report (`warden.audit/1`) as JSON;
//! `wardenctl` renders it.

use std::sync::Arc;

use warden_core::audit::{AuditReport, InstanceAudit, SubjectKind};
use warden_core::config::{Config, Instance};
use warden_core::protocol::{AuditRequest, ErrorCode, ReportKind, Response};

use crate::services::ServiceError;
use crate::services::audit::Audit;

pub async fn handle(config: &Arc<Config>, audit: &Arc<Audit>, request: AuditRequest) -> Response {
    let unknown: Vec<&str> = request
        .instances
        .iter()
        .filter(|n| config.instance(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return super::no_instance(&unknown.join(", "));
    }
    if request.client.is_some() && request.instances.len() != 1 {
        return Response::error(
            ErrorCode::BadRequest,
            "a client audit names one instance: wardenctl audit client INSTANCE/CLIENT",
        );
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
            Err(e) => return e.response(),
        }
    };
    let mut built = match audit.report(audits) {
        Ok(r) => r,
        Err(e) => return e.response(),
    };
    if let Some(client) = &request.client {
        if let Err(e) = only_client(&mut built, client) {
            return *e;
        }
    } else {
        audit.annotate(&mut built, request.last);
    }
    let instance = (request.instances.len() == 1).then(|| request.instances[0].clone());
    let findings = built.summary.total() as u64;
    super::report(ReportKind::Audit, instance, findings, &built)
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
