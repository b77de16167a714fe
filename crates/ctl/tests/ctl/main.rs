//! The ctl integration tests, one binary (one link, one copy of the dependencies).

mod bootstrap;
mod cli;
mod drift;
mod impostor;
mod plan_review;
mod support;
