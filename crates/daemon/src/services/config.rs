//! The running configuration: one snapshot, replaced whole by a reload. Readers take an
//! `Arc<Config>` and keep it for the length of their work, so a reload never changes a
//! configuration under a running job.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use warden_core::config::Config;

/// The configuration snapshot and the file it came from.
pub struct LiveConfig {
    path: PathBuf,
    current: RwLock<Arc<Config>>,
}

impl LiveConfig {
    /// The running configuration `config`.
    pub fn new(config: Config) -> LiveConfig {
        LiveConfig {
            path: config.path.clone(),
            current: RwLock::new(Arc::new(config)),
        }
    }

    /// The configuration file (reloads read it again).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current configuration.
    pub fn get(&self) -> Arc<Config> {
        match self.current.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the configuration (after validation and diffing).
    pub fn set(&self, config: Config) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(config);
    }
}
