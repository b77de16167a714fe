//! The audit state kept in the state directory: the last audit of each instance and the keys
//! of the findings the scheduled audit last recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_core::audit::InstanceAudit;

/// File of [`AuditState`] in the state directory.
const STATE_FILE: &str = "audit-state.json";

/// The last audit of each instance and the findings the scheduled audit last recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AuditState {
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(default)]
    pub(super) instances: BTreeMap<String, InstanceState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct InstanceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last: Option<InstanceAudit>,
    /// Keys of the unsuppressed findings last recorded.
    #[serde(default)]
    pub(super) recorded: BTreeSet<String>,
}

impl AuditState {
    /// Loads the state from `state_dir`; a missing or unreadable file starts empty (logged).
    pub fn load(state_dir: &Path) -> AuditState {
        let path = state_dir.join(STATE_FILE);
        let mut state: AuditState = crate::runtime::state_json::load(&path, "audit state");
        state.path = Some(path);
        state
    }

    /// The last audit of `instance`.
    pub fn last(&self, instance: &str) -> Option<InstanceAudit> {
        self.instances.get(instance)?.last.clone()
    }

    /// `f` of the last audit of `instance`, without copying it (the metrics count in it).
    pub fn with_last<T>(&self, instance: &str, f: impl FnOnce(&InstanceAudit) -> T) -> Option<T> {
        self.instances.get(instance)?.last.as_ref().map(f)
    }

    /// Forgets instances no longer configured.
    pub fn retain(&mut self, configured: &BTreeSet<String>) {
        self.instances.retain(|name, _| configured.contains(name));
    }

    /// Writes the state atomically; errors are logged (the next save retries).
    pub fn save(&self) {
        if let Some(path) = &self.path {
            crate::runtime::state_json::save(path, self, "audit state");
        }
    }
}
