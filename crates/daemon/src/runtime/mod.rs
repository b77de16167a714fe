//! The process around the services: the control socket's listener and peer credentials,
//! signals, systemd notifications, logging, the change log's head anchors, the daemon's
//! identity, small state files, memory trimming, file-descriptor limits, the lifecycle
//! (clock, stop tokens, running tasks), the event counters and the metrics endpoint's server.
//!
//! Nothing here knows a service: these are the plumbing every layer above may use.

pub mod head;
pub mod identity;
pub mod lifecycle;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod metrics_http;
pub mod notify;
pub mod options;
pub mod recovery_hint;
pub mod signals;
pub mod socket;
pub mod state_json;
pub mod store;
pub mod trim;
