//! `warden_core::config`: the example configs, success cases and every error case.

mod common;
mod desired;
mod diff;
mod errors;
mod examples;
mod secrets;
