//! The daemon's services: each owns its state and answers with a `thiserror` enum whose
//! variants map to a protocol [`ErrorCode`] ([`ServiceError::code`]), so `wardenctl` shows
//! `unavailable`, `conflict`, `not_found`, `bad_request` … by cause, and the change log's
//! `error_kind` names the same kind.
//!
//! Dependencies point one way, down this list (a service uses only those above it):
//!
//! | service | owns |
//! |---|---|
//! | [`config::LiveConfig`] | the configuration snapshot |
//! | [`notifier::Notifier`] | alert sinks and change-log forwarding, their queues and counters |
//! | [`changes::Changes`] | recording to the change log, verifying it |
//! | [`schedule::Schedule`] | the job table and its state file |
//! | [`cluster::Cluster`] | this daemon's heartbeat and the instance leases it holds (`[cluster]`) |
//! | [`instances::Instances`] | management clients, catalogue cache, reachability, rotated-client cache |
//! | [`rotation::Rotation`] | the rotation engine, rate limit, recovery table, stop guard |
//! | [`drift::Drift`] | drift checks, the last reports, the check slots |
//! | [`apply::Apply`] | applying plans, one per instance at a time |
//! | [`audit::Audit`] | risk audits and the last audits |
//! | [`reload::Reload`] | validate → diff → apply of a new configuration |
//! | [`bootstrap::Bootstrap`] | first-time set-up of an instance's management client |
//! | [`metrics::Metrics`] | the metrics exposition, read from the services above at each scrape |
//!
//! Services never import `handlers`, `jobs`, `server`, `scheduler` or `run` (checked by
//! `tests/layers.rs`); handlers and jobs call them, through the narrow handles they need.

pub mod apply;
pub mod audit;
pub mod bootstrap;
pub mod changes;
pub mod cluster;
pub mod config;
pub mod drift;
pub mod errors;
pub mod instances;
pub mod metrics;
pub mod notifier;
pub mod reload;
pub mod rotation;
pub mod schedule;

use std::sync::Arc;

use warden_core::protocol::{ErrorCode, Response};

use crate::runtime::lifecycle::Lifecycle;

/// An error a service answers with: what the caller should be told, and with which code.
pub trait ServiceError: std::error::Error {
    /// The protocol error code this error answers with.
    fn code(&self) -> ErrorCode;

    /// The error as a protocol response.
    fn response(&self) -> Response {
        Response::error(self.code(), self.to_string())
    }
}

/// One handle per service, built once at start-up. Handlers and jobs take the fields they need.
pub struct Services {
    pub config: Arc<config::LiveConfig>,
    pub lifecycle: Arc<Lifecycle>,
    pub notifier: Arc<notifier::Notifier>,
    pub changes: Arc<changes::Changes>,
    pub schedule: Arc<schedule::Schedule>,
    pub cluster: Arc<cluster::Cluster>,
    pub instances: Arc<instances::Instances>,
    pub rotation: Arc<rotation::Rotation>,
    pub drift: Arc<drift::Drift>,
    pub apply: Arc<apply::Apply>,
    pub audit: Arc<audit::Audit>,
    pub reload: Arc<reload::Reload>,
    pub bootstrap: Arc<bootstrap::Bootstrap>,
}
