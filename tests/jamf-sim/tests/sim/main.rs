//! The sim integration tests, one binary (one link, one copy of the dependencies).

mod binary;
mod cloud;
mod common;
mod faults;
mod instances;
mod integrations;
mod paging;
mod roles;
mod seed_workflow;
mod tokens;
