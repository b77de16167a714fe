//! One handler per request, one file per handler.

mod adopt;
mod apply;
mod audit;
mod bootstrap;
mod drift;
mod import;
mod instances;
mod log_tail;
mod log_verify;
mod plan;
mod reload;
mod rotate;
mod secrets;
mod status;

use warden_core::changelog::Actor;
use warden_core::protocol::{
    ErrorCode, PartError, Parts, ReportBody, ReportEnd, ReportFormat, ReportKind, ReportPart,
    ReportResponse, ReportStart, Request, Response,
};

use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::socket::Peer;
use crate::services::Services;

/// What a handler answers: one response, or a report in parts
/// ([`warden_core::protocol::stream`]) that the server sends frame by frame.
pub enum Reply {
    /// One frame.
    One(Response),
    /// `report_start`, the parts as they are encoded, `report_end`.
    Parts(ReportParts),
}

impl From<Response> for Reply {
    fn from(response: Response) -> Reply {
        Reply::One(response)
    }
}

/// A report answered in parts: its start frame and the items, encoded only as each part is
/// sent.
pub struct ReportParts {
    /// The first frame.
    pub start: ReportStart,
    /// The parts, built lazily.
    pub parts: Box<dyn PartSource>,
}

/// The parts of a report and, once they are all taken, its end marker.
pub trait PartSource: Iterator<Item = Result<ReportPart, PartError>> + Send {
    /// What was sent, for `report_end`.
    fn end(&self) -> ReportEnd;
}

impl<T: serde::Serialize + Send> PartSource for Parts<T> {
    fn end(&self) -> ReportEnd {
        Parts::end(self)
    }
}

/// Answers one (authorized) request, handing each handler only the services it needs.
pub async fn handle(s: &Services, peer: &Peer, request: Request) -> Reply {
    let config = s.config.get();
    // in a cluster, changes to an instance go through the daemon holding its lease
    if let Some(instance) = request.changed_instance()
        && config.instance(instance).is_some()
        && let Some(owner) = s.cluster.elsewhere(instance).await
    {
        return Response::error(
            ErrorCode::Conflict,
            format!(
                "instance {instance} is worked on by daemon {owner} in this cluster; send this \
                 change to that daemon's socket (wardenctl status there lists it), or retry once \
                 this daemon holds it"
            ),
        )
        .into();
    }
    let response = match request {
        Request::Hello(_) => Response::error(ErrorCode::BadRequest, "hello was already sent"),
        Request::Status => status::with_cluster(
            status::with_vault(
                status::handle(
                    &config,
                    &s.lifecycle,
                    &s.schedule,
                    &s.instances,
                    &s.rotation,
                    &s.drift,
                ),
                s.instances.vault_status().await,
            ),
            s.cluster.status(),
        ),
        Request::Instances => instances::handle(&config, &s.schedule),
        Request::Reload => reload::handle(&s.reload, actor(peer)).await,
        Request::LogTail(r) => log_tail::handle(&s.changes, r.n).await,
        Request::LogVerify => log_verify::handle(&s.changes).await,
        Request::Bootstrap(r) => {
            bootstrap::handle(&s.bootstrap, &s.lifecycle, actor(peer), r).await
        }
        Request::Drift(r) => drift::handle(&config, &s.drift, r).await,
        Request::Plan(r) => plan::handle(&config, &s.drift, r).await,
        Request::Apply(r) => apply::handle(&config, &s.apply, &s.lifecycle, actor(peer), r).await,
        Request::Import(r) => import::handle(&config, &s.drift, r).await,
        Request::Audit(r) => return audit::handle(&config, &s.audit, r).await,
        Request::Secrets(r) => secrets::handle(&config, &s.rotation, r.instance).await,
        Request::Rotate(r) => {
            rotate::handle(&config, &s.rotation, &s.lifecycle, actor(peer), r).await
        }
        Request::Adopt(r) => {
            adopt::handle(&config, &s.rotation, &s.lifecycle, actor(peer), r).await
        }
    };
    Reply::One(response)
}

/// Runs `work` as a tracked task, so a stopping daemon waits for it; refused once stopping.
pub(crate) async fn tracked<T, F>(lifecycle: &Lifecycle, work: F) -> Result<T, Response>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    if lifecycle.stopping() {
        return Err(Response::error(
            ErrorCode::Unavailable,
            "wardend is stopping; retry after it restarts",
        ));
    }
    lifecycle.tracker.spawn(work).await.map_err(|e| {
        tracing::error!(error = %e, "a request task failed");
        Response::error(
            ErrorCode::Internal,
            format!(
                "the task failed unexpectedly: {e}; check the change log and `wardenctl status`"
            ),
        )
    })
}

/// The change-log actor for a socket peer.
pub fn actor(peer: &Peer) -> Actor {
    Actor::User {
        uid: peer.uid,
        user: peer.user.clone(),
        pid: peer.pid,
    }
}

/// "No such instance", naming it.
pub(crate) fn no_instance(name: &str) -> Response {
    Response::error(
        ErrorCode::NotFound,
        format!("no instance named {name} is configured (see `wardenctl instances`)"),
    )
}

/// Indices into `config.instances` of the instances `names` lists (all when empty), in config
/// order. Indices, not copies: an instance carries its whole desired state.
pub(crate) fn select(config: &warden_core::config::Config, names: &[String]) -> Vec<usize> {
    config
        .instances
        .iter()
        .enumerate()
        .filter(|(_, i)| names.is_empty() || names.contains(&i.name))
        .map(|(n, _)| n)
        .collect()
}

/// A structured report; a body that cannot be encoded is an internal error.
pub(crate) fn report<T: serde::Serialize>(
    kind: ReportKind,
    instance: Option<String>,
    findings: u64,
    body: &T,
) -> Response {
    match ReportBody::encode(body) {
        Ok(body) => Response::Report(ReportResponse {
            kind,
            instance,
            format: ReportFormat::Json,
            findings,
            body,
        }),
        Err(e) => Response::error(
            ErrorCode::Internal,
            format!("cannot encode the {kind:?} report: {e}"),
        ),
    }
}

/// "Cannot read the live state": the check's error, with its code.
pub(crate) fn cannot_check(instance: &str, e: &crate::services::drift::DriftError) -> Response {
    use crate::services::ServiceError;
    Response::error(
        e.code(),
        format!("cannot read the live state of {instance}: {e}"),
    )
}
