//! The daemon integration tests, one binary (one link, one copy of the dependencies).

mod audit;
mod bad_clients;
mod bootstrap;
mod changelog_tamper;
mod common;
mod deploy;
mod drift;
mod drift_apply;
mod drift_schedule;
mod hostile_jamf;
mod jamf_fidelity;
mod kv_mount;
mod lifecycle;
mod local_files;
mod notify;
mod reload;
mod rotation_crash;
mod rotation_guardrails;
mod rotation_heal;
mod rotation_management;
mod rotation_policy;
mod rotation_race;
mod scheduler;
mod soak;
mod socket_security;
mod startup_errors;
