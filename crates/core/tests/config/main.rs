//! `warden_core::config`: the example configs, success cases and every error case.

mod audit;
mod cluster;
mod common;
mod desired;
mod desired_doc;
mod diff;
mod errors;
mod examples;
mod files;
mod metrics;
mod notify;
mod secrets;
mod shipped;
