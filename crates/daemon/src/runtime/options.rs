//! What `run` takes besides the configuration: time as an input, timeouts, and the operator's
//! explicit exceptions for opening the change log.

use std::sync::Arc;
use std::time::Duration;

use warden_core::changelog::ChangeLogOptions;
#[cfg(feature = "test-hooks")]
use warden_core::rotation::Step;

/// The source of "now" for scheduling and records (core's one clock type). Tests pass a
/// controllable clock.
pub use warden_core::clock::Clock;

/// Options of [`run()`](crate::run()).
#[derive(Clone)]
pub struct RunOptions {
    /// "Now".
    pub clock: Clock,
    /// How long a client may take to send its hello or a whole request before it is dropped.
    pub client_timeout: Duration,
    /// The longest the scheduler sleeps between looks at what is due.
    pub max_tick: Duration,
    /// How long a graceful stop waits for running jobs to reach a safe point.
    pub stop_grace: Duration,
    /// Operator-requested exceptions when opening the change log.
    pub changelog: ChangeLogOptions,
    /// Test-only: pause every rotation at this step (`WARDEN_TEST_PAUSE_AT`). Only in builds
    /// with the `test-hooks` feature, which release builds never enable.
    #[cfg(feature = "test-hooks")]
    pub pause_at: Option<Step>,
    /// Test-only: keep secrets, the change log's MAC key and its head anchor in this in-memory
    /// store instead of Vault (start-up neither authenticates to Vault nor checks its mount).
    /// Only in builds with the `test-hooks` feature: release builds always need Vault.
    #[cfg(feature = "test-hooks")]
    pub memory_store: Option<Arc<warden_core::rotation::MemoryStore>>,
    /// Test-only: each notification makes the scheduler look at what is due at once, so a test
    /// that moves `clock` need not wait for the next `max_tick` (`wardend` leaves it `None`).
    pub tick: Option<Arc<tokio::sync::Notify>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            clock: warden_core::clock::system(),
            client_timeout: Duration::from_secs(30),
            max_tick: Duration::from_secs(60),
            stop_grace: Duration::from_secs(60),
            changelog: ChangeLogOptions::default(),
            #[cfg(feature = "test-hooks")]
            pause_at: None,
            #[cfg(feature = "test-hooks")]
            memory_store: None,
            tick: None,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("RunOptions");
        d.field("client_timeout", &self.client_timeout)
            .field("max_tick", &self.max_tick)
            .field("stop_grace", &self.stop_grace)
            .field("changelog", &self.changelog);
        #[cfg(feature = "test-hooks")]
        d.field("pause_at", &self.pause_at)
            .field("memory_store", &self.memory_store.is_some());
        d.field("tick", &self.tick.is_some())
            .finish_non_exhaustive()
    }
}
