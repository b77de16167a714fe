//! wardend: the Jamf Warden daemon. `main.rs` parses arguments and wires signals; everything
//! else is here so that tests can call [`run()`] with their own [`Control`].

mod apply;
mod audit;
mod drift;
mod handlers;
mod head;
mod heal;
mod jobs;
pub mod limits;
pub mod logging;
pub mod notify;
mod options;
mod reload;
mod rotation;
mod run;
mod scheduler;
mod server;
mod shared;
pub mod signals;
pub mod socket;
mod state_json;
pub mod trim;

pub use options::{Clock, RunOptions};
pub use run::{Control, StartError, run};
