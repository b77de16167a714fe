//! State shared by the accept loop, the handlers, the scheduler and the jobs.
//!
//! Short critical sections with std mutexes, never held across an `.await`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warden_core::changelog::{ChangeEntry, ChangeLog, Record};
use warden_core::config::Config;
use warden_core::drift::{CatalogueInfo, InstanceDrift};
use warden_core::jamf::JamfClient;
use warden_core::schedule::{JobTable, StateFile};
use warden_core::vault::Vault;

use crate::options::RunOptions;
use crate::rotation::{Engine, RateLimit};

/// What the daemon knows of one instance at run time.
#[derive(Default)]
pub struct InstanceRuntime {
    /// A Jamf client with the management credentials, built on first use.
    pub client: Option<JamfClient>,
    /// The Vault version of the management credentials the client was built with.
    pub credentials_version: Option<u64>,
    /// Whether the last contact with Jamf worked.
    pub reachable: Option<bool>,
    /// The last error talking to this instance.
    pub last_error: Option<String>,
    /// Live roles and clients seen by the last successful job.
    pub live_roles: Option<usize>,
    pub live_clients: Option<usize>,
    /// The instance's privilege catalogue, fetched daily or on demand.
    pub catalogue: Option<Catalogue>,
    /// Declared clients whose secrets Warden has rotated, read from Vault at most hourly and
    /// updated by every rotation; `None` until first read.
    pub rotated: Option<(BTreeMap<String, DateTime<Utc>>, Instant)>,
}

/// A cached privilege catalogue.
#[derive(Clone)]
pub struct Catalogue {
    /// The privilege names.
    pub privileges: Arc<Vec<String>>,
    /// Size, hash and fetch time.
    pub info: CatalogueInfo,
    /// When it was fetched (monotonic, for the age check).
    pub fetched: Instant,
}

/// Everything the daemon's tasks share.
pub struct Shared {
    pub config_path: PathBuf,
    config: RwLock<Arc<Config>>,
    pub options: RunOptions,
    pub started_at: DateTime<Utc>,
    pub started: Instant,
    pub vault: Arc<Vault>,
    pub changelog: Arc<ChangeLog>,
    pub jobs: Mutex<JobTable>,
    pub state_file: StateFile,
    pub instances: Mutex<BTreeMap<String, InstanceRuntime>>,
    /// Serializes reloads (SIGHUP and `wardenctl reload`).
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Wakes the scheduler early (after a reload or a finished job).
    pub wake: Notify,
    /// Cancelled when the daemon starts to stop.
    pub shutdown: CancellationToken,
    /// Cancelled on a second stop signal: running jobs stop at their next await.
    pub force: CancellationToken,
    /// Running jobs.
    pub jobs_tracker: TaskTracker,
    /// The secret rotation engine.
    pub rotation: Engine,
    /// Global limit on rotations per minute.
    pub rotation_rate: RateLimit,
    /// Cancelled once start-up recovery of interrupted rotations has finished; the rotation job
    /// waits for it, so the two never recover the same client at once.
    pub startup_recovery: CancellationToken,
    /// Rotations hold it for reading; a stopping daemon takes it for writing, so it never
    /// exits between generating a secret and storing it.
    pub critical: tokio::sync::RwLock<()>,
    /// Where this daemon's change-log head anchor lives in Vault.
    pub vault_head_path: String,
    /// Bounds the instances checked at once (`daemon.max_concurrent_checks`).
    pub check_slots: Arc<tokio::sync::Semaphore>,
    /// The last drift report of each instance and what the scheduled check last recorded.
    pub drift: Mutex<crate::drift::DriftState>,
    /// The last audit of each instance and the findings last recorded.
    pub audit: Mutex<crate::audit::AuditState>,
    /// One apply per instance at a time (manual or automatic remediation).
    pub apply_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Privilege catalogues by SHA-256: instances on the same Jamf version share one copy.
    pub catalogues: Mutex<BTreeMap<String, std::sync::Weak<Vec<String>>>>,
    /// Clients whose interrupted rotation the daemon recovers on its own (`crate::heal`).
    pub healing: Mutex<crate::heal::HealTable>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: Config,
        options: RunOptions,
        vault: Arc<Vault>,
        changelog: Arc<ChangeLog>,
        jobs: JobTable,
        state_file: StateFile,
        shutdown: CancellationToken,
        force: CancellationToken,
        rotation: Engine,
        vault_head_path: String,
    ) -> Shared {
        let started_at = (options.clock)();
        let slots = config.daemon.max_concurrent_checks as usize;
        let drift = crate::drift::DriftState::load(&config.daemon.state_dir);
        let audit = crate::audit::AuditState::load(&config.daemon.state_dir);
        Shared {
            config_path: config.path.clone(),
            config: RwLock::new(Arc::new(config)),
            options,
            started_at,
            started: Instant::now(),
            vault,
            changelog,
            jobs: Mutex::new(jobs),
            state_file,
            instances: Mutex::new(BTreeMap::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            shutdown,
            force,
            jobs_tracker: TaskTracker::new(),
            rotation,
            rotation_rate: RateLimit::default(),
            startup_recovery: CancellationToken::new(),
            critical: tokio::sync::RwLock::new(()),
            vault_head_path,
            check_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            drift: Mutex::new(drift),
            audit: Mutex::new(audit),
            apply_locks: Mutex::new(BTreeMap::new()),
            catalogues: Mutex::new(BTreeMap::new()),
            healing: Mutex::new(crate::heal::HealTable::default()),
        }
    }

    /// "Now", from the configured clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.options.clock)()
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the configuration (after validation and diffing).
    pub(crate) fn set_config(&self, config: Config) {
        let mut guard = match self.config.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(config);
    }

    /// The job table. A panic elsewhere while holding it must not take the daemon down.
    pub fn jobs(&self) -> MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clients waiting for recovery of an interrupted rotation.
    pub fn healing(&self) -> MutexGuard<'_, crate::heal::HealTable> {
        self.healing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The per-instance run-time state.
    pub fn instances(&self) -> MutexGuard<'_, BTreeMap<String, InstanceRuntime>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends to the change log (fsynced before this returns). A failure is logged loudly and
    /// returned: the caller must not report the action as done.
    pub async fn record(&self, entry: ChangeEntry) -> Result<Record, String> {
        match self.changelog.append_async(entry).await {
            Ok(r) => Ok(r),
            Err(e) => {
                tracing::error!(error = %e, "cannot write the change log");
                Err(format!("cannot write the change log: {e}"))
            }
        }
    }

    /// The drift state (last reports, recorded fingerprints).
    pub fn drift_state(&self) -> MutexGuard<'_, crate::drift::DriftState> {
        self.drift.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit state (last audits, recorded findings).
    pub fn audit_state(&self) -> MutexGuard<'_, crate::audit::AuditState> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last drift report of `instance`, or one saying it was never checked.
    pub fn last_drift(&self, instance: &str) -> InstanceDrift {
        self.drift_state()
            .last(instance)
            .unwrap_or_else(|| InstanceDrift::never_checked(instance))
    }

    /// The lock that serializes applies to `instance`.
    pub fn apply_lock(&self, instance: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.apply_locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(instance.to_owned()).or_default())
    }

    /// Notes that Warden rotated `client` of `instance` (keeps the drift check's cache current).
    pub fn note_rotated(&self, instance: &str, client: &str) {
        let now = self.now();
        let mut runtime = self.instances();
        if let Some(rt) = runtime.get_mut(instance)
            && let Some((set, _)) = rt.rotated.as_mut()
        {
            set.insert(client.to_owned(), now);
        }
    }

    /// Saves the job states; errors are logged (the next save retries).
    pub fn save_job_states(&self) {
        let states = self.jobs().states().clone();
        if let Err(e) = self.state_file.save(&states) {
            tracing::error!(error = %e, "cannot save job state");
        }
    }
}
