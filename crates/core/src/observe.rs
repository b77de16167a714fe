//! Observation hooks: what the Jamf client (and the daemon's secret store) tell an observer
//! about each request, so that the daemon can count and time them (its Prometheus metrics)
//! without `core` knowing about any metrics library.
//!
//! What an observer is told never holds a secret, a raw path with ids or anything else a
//! peer chose: Jamf requests name their route pattern (`/api/v1/api-roles/{id}`), Vault
//! requests a fixed operation name.

use std::sync::Arc;
use std::time::Duration;

/// Receives one call per request. Calls come from any task and must be cheap and never block.
pub trait Observer: Send + Sync {
    /// One HTTP exchange with Jamf (every attempt of a retried request counts).
    fn jamf_request(&self, request: &JamfRequest<'_>);

    /// One operation on the secret store (Vault, or the daemon's test store).
    fn vault_request(&self, request: &VaultRequest);
}

/// A shared observer.
pub type SharedObserver = Arc<dyn Observer>;

/// One Jamf request as observed.
#[derive(Debug, Clone, Copy)]
pub struct JamfRequest<'a> {
    /// The configured instance name.
    pub instance: &'a str,
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'a str,
    /// The route pattern as in Jamf's OpenAPI schema, e.g. `/api/v1/api-roles/{id}`.
    pub route: &'static str,
    /// Whether the request mints a client secret (`client-credentials`).
    pub mints_secret: bool,
    /// The HTTP status; `None` when no answer came (connection error, timeout, too large).
    pub status: Option<u16>,
    /// Time from sending to the end of the body.
    pub elapsed: Duration,
}

/// One secret-store operation as observed.
#[derive(Debug, Clone, Copy)]
pub struct VaultRequest {
    /// A fixed name: `read_secret`, `write_secret`, `read_metadata`, `write_metadata`, ...
    pub operation: &'static str,
    /// A fixed error kind when it failed (`not_found` is not a failure: a read that finds
    /// nothing answers `None`).
    pub error: Option<&'static str>,
}
