//! wardend: the Jamf Warden daemon. `main.rs` parses arguments and wires signals; everything
//! else is here so that tests can call [`run()`] with their own [`Control`].
//!
//! Layers (see `docs/architecture.md`): `run`, `server` and `scheduler` wire things up;
//! `handlers` answer one request each and `jobs` run one scheduled job kind each, both through
//! the narrow `services` they need; `services` own the daemon's state and logic; `runtime` is
//! the process plumbing under all of them. `tests/layers.rs` fails on an import against that
//! direction.

pub mod cli;
mod handlers;
mod jobs;
mod recover;
mod run;
pub mod runtime;
mod scheduler;
mod server;
mod services;

pub use recover::{Operator, Recovered, recover_state};
pub use run::{Control, StartError, run};
pub use runtime::options::{Clock, RunOptions};
pub use runtime::{limits, logging, notify, signals, socket, trim};

/// The test-only hook's environment, for `main` (only in builds with the `test-hooks` feature).
#[cfg(feature = "test-hooks")]
pub use services::rotation::hook::pause_at_from_env;
