//! Start-up, steady state and graceful stop of the daemon.
//!
//! Start-up, in order: refuse state and change-log directories another user owns or can write
//! ([`private_fs`](warden_core::private_fs)); lock the change log (`<changelog>.lock`) so that
//! a second daemon on the same state refuses before writing anything; authenticate to Vault;
//! read (or create) the change log's MAC key in Vault; verify the log's chain and every
//! record's MAC (a record wardend did not write is refused before the file or its local anchor
//! is touched); open it against the local anchor; verify it against the head anchor kept in
//! Vault (a refusal names the first bad record, and nothing reaches Vault's anchor); load the
//! persisted job states; bind the control socket (its directory checked the same way,
//! permissions set before it accepts); start the scheduler; tell systemd READY.
//! Any failure there is a [`StartError`] (exit code 2: fix the configuration or the
//! environment, restarting will not help). Test builds whose options carry an in-memory store
//! use it in place of Vault: no authentication, no mount check, the MAC key and head anchor
//! kept in that store.
//!
//! Stop (first SIGTERM/SIGINT): stop accepting; let running jobs reach a safe point (bounded by
//! `stop_grace`; a second signal cancels them at their next await); save job states; write the
//! stop record (fsynced) and publish the change-log head; remove the socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, ObjectKind, ObjectRef, Outcome,
};
use warden_core::config::Config;
use warden_core::schedule::{BackoffPolicy, JobTable, StateFile};

mod open;

use open::open_changelog;
pub(crate) use open::{lock_changelog, open_store};

use crate::jobs::recovery::{self, Recovery};
use crate::runtime::head;
use crate::runtime::identity;
pub use crate::runtime::lifecycle::Control;
use crate::runtime::lifecycle::Lifecycle;
use crate::runtime::metrics::{self, Recorder};
use crate::runtime::options::RunOptions;
use crate::runtime::store::Store;
use crate::runtime::{metrics_http, notify, socket};
use crate::scheduler::{self, Ticks};
use crate::server;
use crate::services::Services;
use crate::services::apply::Apply;
use crate::services::audit::Audit;
use crate::services::bootstrap::{Bootstrap, BootstrapDeps};
use crate::services::changes::Changes;
use crate::services::cluster::{Cluster, ClusterDeps};
use crate::services::config::LiveConfig;
use crate::services::drift::Drift;
use crate::services::instances::Instances;
use crate::services::metrics::{Metrics, MetricsDeps};
use crate::services::notifier::Notifier;
use crate::services::reload::Reload;
use crate::services::rotation::{Rotation, RotationDeps};
use crate::services::schedule::Schedule;

/// A start-up failure: the daemon cannot run with this configuration or environment.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read the vault credentials: {0}")]
    VaultCredentials(String),
    #[error("cannot authenticate to vault: {0}")]
    Vault(#[from] warden_core::vault::VaultError),
    #[error("{0}")]
    KvMount(warden_core::vault::VaultError),
    #[error("cannot open the change log: {0}")]
    ChangeLog(String),
    #[error(transparent)]
    Socket(#[from] socket::SocketError),
    #[error("cannot load the job state: {0}")]
    JobState(#[from] warden_core::schedule::StateError),
    /// The state directory's files cannot be used (or written, by a recovery).
    #[error("{0}")]
    State(String),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another wardend is already running with the change log {changelog} (it holds the lock {lock}); stop it first, or give this one its own state_dir and changelog"
    )]
    AlreadyRunning { changelog: PathBuf, lock: PathBuf },
    #[error(transparent)]
    Notify(#[from] crate::services::notifier::NotifyError),
    #[error(transparent)]
    PrivateDir(#[from] warden_core::private_fs::PrivateDirError),
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Metrics(#[from] metrics_http::BindError),
}

/// The file that anchors the change log's head locally.
pub fn head_file(config: &Config) -> PathBuf {
    let mut p = config.daemon.changelog.clone().into_os_string();
    p.push(".head");
    PathBuf::from(p)
}

/// Runs the daemon until `control.shutdown` is cancelled.
pub async fn run(config: Config, options: RunOptions, control: Control) -> Result<(), StartError> {
    let Control {
        shutdown,
        force,
        reload: reload_rx,
    } = control;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    prepare_dirs(&config)?;
    // Held until `run` returns: a second daemon on the same change log would fork its chain.
    let _lock = lock_changelog(&config.daemon.changelog)?;
    // Bound before anything else starts: a taken port is a configuration error (exit 2).
    let metrics_listener = bind_metrics(&config).await?;
    let recorder = Arc::new(Recorder::new());

    let vault = open_store(&config, &options)
        .await?
        .observed(metrics::observer(&recorder));

    let daemon_id = identity::effective(&config);
    tracing::info!(daemon_id = %daemon_id, "daemon id");
    let head_path = head::vault_head_path(&daemon_id);
    let key_path = head::vault_key_path(&daemon_id);
    let (changelog, head_rx) =
        open_changelog(&config, &options, &vault, &head_path, &key_path).await?;
    let changelog = Arc::new(changelog);
    let publisher = tokio::spawn(head::publisher(vault.clone(), head_path.clone(), head_rx));
    let start_record = record_start(&changelog, &config).await?;

    // Before the socket exists: a job state that cannot be read stops the start cleanly.
    let (state_file, states) = load_states(&config)?;
    let listener = bind_control(&config)?;
    let socket_path = config.daemon.socket.clone();

    let lifecycle = Arc::new(
        Lifecycle::new(Arc::clone(&options.clock), shutdown.clone(), force.clone())
            .with_metrics(recorder),
    );
    let notifier = start_notifier(&lifecycle, &config, &start_record)?;
    let wiring = Wiring {
        notifier,
        vault: vault.clone(),
        changelog: Arc::clone(&changelog),
        head_path: head_path.clone(),
        daemon_id,
        jobs: JobTable::new(states, BackoffPolicy::default()),
        state_file,
        lifecycle: Arc::clone(&lifecycle),
    };
    let services = Arc::new(wire(config, &options, wiring));
    let metrics_task = metrics_listener.map(|l| serve_metrics(l, &services));
    let recovery = Recovery {
        config: Arc::clone(&services.config),
        cluster: Arc::clone(&services.cluster),
        rotation: Arc::clone(&services.rotation),
        instances: Arc::clone(&services.instances),
        lifecycle: Arc::clone(&lifecycle),
    };

    let server_task = tokio::spawn(server::serve(
        listener,
        Arc::clone(&services),
        options.client_timeout,
    ));
    let scheduler_task = tokio::spawn(scheduler::run(
        Arc::clone(&services),
        recovery.clone(),
        ticks(&options),
    ));
    let vault_task = tokio::spawn(maintain_vault(vault.clone(), Arc::clone(&services)));
    let cluster_task = tokio::spawn(crate::services::cluster::run(
        Arc::clone(&services.cluster),
        Arc::clone(&services.config),
    ));
    let reload_task = tokio::spawn(reloader(
        Arc::clone(&services.reload),
        shutdown.clone(),
        reload_rx,
    ));
    // Finish rotations a crash interrupted: a secret minted and lost is rotated again, one
    // stored but not verified is verified.
    lifecycle.tracker.spawn(recovery::startup(recovery));

    notify::ready(&format!(
        "watching {} instance(s)",
        services.config.get().instances.len()
    ));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "wardend started");

    shutdown.cancelled().await;
    notify::stopping();
    tracing::info!("stopping: no new connections or jobs; waiting for running jobs");
    let _ = server_task.await;
    let _ = scheduler_task.await;
    reload_task.abort();
    vault_task.abort();
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    let _idle = wait_for_jobs(&services, options.stop_grace).await;
    // after the jobs: hand the instances to the other daemons at once
    let _ = cluster_task.await;
    services.cluster.leave().await;
    finish_log(&services, publisher, &vault, &head_path).await;
    services.notifier.drain(Duration::from_secs(5)).await;
    remove_socket(&socket_path);
    tracing::info!("wardend stopped");
    Ok(())
}

/// The notifier of `config`'s sinks (their secrets read), given the start record to forward.
fn start_notifier(
    lifecycle: &Arc<Lifecycle>,
    config: &Config,
    start: &warden_core::changelog::Record,
) -> Result<Arc<Notifier>, StartError> {
    let notifier = Notifier::new(
        Arc::clone(lifecycle),
        &config.notify,
        &config.changelog_forward,
    )?;
    notifier.changelog(start);
    Ok(Arc::new(notifier))
}

/// The scheduler's timing: the longest sleep, the test tick, and the watchdog's ping period
/// (half systemd's interval).
fn ticks(options: &RunOptions) -> Ticks {
    Ticks {
        max_tick: options.max_tick,
        test_tick: options.tick.clone(),
        watchdog: notify::watchdog_interval().map(|d| d / 2),
    }
}

/// The metrics endpoint's listener, if `[metrics]` asks for one.
async fn bind_metrics(config: &Config) -> Result<Option<tokio::net::TcpListener>, StartError> {
    match &config.metrics {
        Some(m) => Ok(Some(metrics_http::bind(m.listen).await?)),
        None => Ok(None),
    }
}

/// Serves the metrics endpoint on `listener` until the daemon stops.
fn serve_metrics(
    listener: tokio::net::TcpListener,
    s: &Arc<Services>,
) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(address = %addr, "metrics endpoint ready (GET /metrics)");
    }
    let metrics = Metrics::new(MetricsDeps {
        config: Arc::clone(&s.config),
        lifecycle: Arc::clone(&s.lifecycle),
        changes: Arc::clone(&s.changes),
        schedule: Arc::clone(&s.schedule),
        rotation: Arc::clone(&s.rotation),
        drift: Arc::clone(&s.drift),
        audit: Arc::clone(&s.audit),
    });
    let render: metrics_http::Render = Arc::new(move || metrics.render());
    tokio::spawn(metrics_http::serve(
        listener,
        render,
        s.lifecycle.shutdown.clone(),
    ))
}

/// What [`wire`] builds the services from.
struct Wiring {
    notifier: Arc<Notifier>,
    vault: Store,
    changelog: Arc<ChangeLog>,
    head_path: String,
    daemon_id: String,
    jobs: JobTable,
    state_file: StateFile,
    lifecycle: Arc<Lifecycle>,
}

/// Builds every service, each with the handles it needs, in dependency order.
fn wire(config: Config, options: &RunOptions, w: Wiring) -> Services {
    let head_file = head_file(&config);
    let live = Arc::new(LiveConfig::new(config));
    let lifecycle = w.lifecycle;
    let changes = Arc::new(Changes::new(
        w.changelog,
        w.vault.clone(),
        w.head_path,
        head_file,
        Arc::clone(&w.notifier),
    ));
    // start-up verified the change log before anything else
    changes.note_verify(true);
    let schedule = Arc::new(Schedule::new(w.jobs, w.state_file));
    let cluster = Arc::new(Cluster::new(ClusterDeps {
        settings: live.get().cluster.clone(),
        daemon_id: w.daemon_id.clone(),
        store: w.vault.clone(),
        lifecycle: Arc::clone(&lifecycle),
        schedule: Arc::clone(&schedule),
    }));
    let instances = Arc::new(Instances::new(
        Arc::clone(&live),
        w.vault.clone(),
        Arc::clone(&lifecycle),
    ));
    #[cfg(not(feature = "test-hooks"))]
    let _ = options;
    let rotation = Arc::new(Rotation::new(RotationDeps {
        vault: w.vault.clone(),
        daemon_id: w.daemon_id,
        lease: cluster
            .settings()
            .is_some()
            .then(|| Arc::clone(&cluster) as Arc<dyn warden_core::rotation::LeaseGuard>),
        config: Arc::clone(&live),
        changes: Arc::clone(&changes),
        instances: Arc::clone(&instances),
        lifecycle: Arc::clone(&lifecycle),
        #[cfg(feature = "test-hooks")]
        pause_at: options.pause_at,
    }));
    let drift = Arc::new(Drift::new(
        &live.get(),
        Arc::clone(&instances),
        Arc::clone(&rotation),
        Arc::clone(&changes),
        Arc::clone(&lifecycle),
    ));
    let apply = Arc::new(Apply::new(
        Arc::clone(&drift),
        Arc::clone(&instances),
        Arc::clone(&rotation),
        Arc::clone(&changes),
        Arc::clone(&lifecycle),
    ));
    let audit = Arc::new(Audit::new(
        Arc::clone(&live),
        Arc::clone(&drift),
        Arc::clone(&rotation),
        Arc::clone(&changes),
        Arc::clone(&lifecycle),
    ));
    let reload = Arc::new(Reload::new(
        Arc::clone(&live),
        Arc::clone(&changes),
        Arc::clone(&schedule),
        Arc::clone(&instances),
        Arc::clone(&drift),
        Arc::clone(&audit),
        Arc::clone(&lifecycle),
    ));
    let bootstrap = Arc::new(Bootstrap::new(BootstrapDeps {
        vault: w.vault,
        changes: Arc::clone(&changes),
        instances: Arc::clone(&instances),
        schedule: Arc::clone(&schedule),
        rotation: Arc::clone(&rotation),
        lifecycle: Arc::clone(&lifecycle),
        config: Arc::clone(&live),
    }));
    Services {
        config: live,
        lifecycle,
        notifier: w.notifier,
        changes,
        schedule,
        cluster,
        instances,
        rotation,
        drift,
        apply,
        audit,
        reload,
        bootstrap,
    }
}

/// Creates the state and change-log directories if missing, and refuses them when another
/// user owns or can write them: such a user could replace or redirect the change log and the
/// state files. Before anything is read or written there.
pub(crate) fn prepare_dirs(config: &Config) -> Result<(), StartError> {
    create_private_dir(&config.daemon.state_dir)?;
    check_private_dir(&config.daemon.state_dir, "state directory")?;
    if let Some(dir) = config.daemon.changelog.parent()
        && !dir.as_os_str().is_empty()
    {
        create_private_dir(dir)?;
        check_private_dir(dir, "change log's directory")?;
    }
    Ok(())
}

/// The start record: version and instances.
async fn record_start(
    changelog: &Arc<ChangeLog>,
    config: &Config,
) -> Result<warden_core::changelog::Record, StartError> {
    let start_entry = ChangeEntry::new(
        Actor::Daemon,
        ObjectRef::named(ObjectKind::Config, config.path.display().to_string()),
        Action::Start,
        Outcome::Ok,
    )
    .after(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "instances": config.instances.iter().map(|i| &i.name).collect::<Vec<_>>(),
    }));
    changelog
        .append_async(start_entry)
        .await
        .map_err(|e| StartError::ChangeLog(e.to_string()))
}

/// Lets running jobs reach a safe point (bounded by `grace`; a second signal cancels them at
/// their next await), never leaving a rotation between minting and storing, then saves the
/// job states.
async fn wait_for_jobs(s: &Services, grace: Duration) -> tokio::sync::RwLockWriteGuard<'_, ()> {
    let lifecycle = &s.lifecycle;
    lifecycle.tracker.close();
    tokio::select! {
        _ = lifecycle.tracker.wait() => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!("jobs still running after {grace:?}; cancelling them");
            lifecycle.force.cancel();
        }
        _ = lifecycle.force.cancelled() => tracing::warn!("second stop signal: cancelling running jobs"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), lifecycle.tracker.wait()).await;
    // A rotation in progress is never abandoned between generating a secret and storing it;
    // the caller holds the returned guard until the daemon is gone.
    let idle = s.rotation.wait_idle().await;
    s.schedule.save();
    idle
}

/// Writes the stop record (fsynced) and publishes the final change-log head to Vault.
async fn finish_log(
    s: &Services,
    publisher: tokio::task::JoinHandle<()>,
    vault: &Store,
    head_path: &str,
) {
    let stop = ChangeEntry::new(
        Actor::Daemon,
        ObjectRef::named(ObjectKind::Config, s.config.path().display().to_string()),
        Action::Stop,
        Outcome::Ok,
    );
    if let Err(e) = s.changes.record(stop).await {
        tracing::error!("{e}");
    }
    // The background publisher first, so that it cannot race the final head.
    publisher.abort();
    let _ = publisher.await;
    if let Some(h) = s.changes.log().head()
        && let Err(e) = head::publish_head(vault, head_path, &h).await
    {
        tracing::warn!(error = %e, "cannot publish the final change-log head to vault");
    }
}

/// Reloads on each message (SIGHUP) until the daemon stops.
async fn reloader(
    reload: Arc<Reload>,
    stop: tokio_util::sync::CancellationToken,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<()>,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            msg = rx.recv() => match msg {
                Some(()) => {
                    if let Err(e) = reload.reload(Actor::Daemon).await {
                        tracing::error!("{e}");
                    }
                }
                None => return,
            },
        }
    }
}

/// Renews the Vault token before it expires, every 30 s; a failure alerts once.
async fn maintain_vault(vault: Store, s: Arc<Services>) {
    loop {
        tokio::select! {
            _ = s.lifecycle.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        // Vault's own clock, not the daemon's: token lifetimes are real time on the server,
        // whatever time the daemon's schedules run on
        match vault.maintain_token().await {
            Err(e) => {
                tracing::error!(error = %e, "vault token maintenance failed");
                s.notifier.vault_auth(Some(&e.to_string()));
            }
            Ok(_) => s.notifier.vault_auth(None),
        }
    }
}

/// The persisted job states (a file that cannot be read names the recovery command).
fn load_states(
    config: &Config,
) -> Result<(StateFile, warden_core::schedule::JobStates), StartError> {
    let state_file = StateFile::in_dir(&config.daemon.state_dir);
    let states = state_file.load().map_err(|e| {
        StartError::State(format!(
            "cannot load the job state: {e}; {}",
            crate::runtime::recovery_hint::hint(config)
        ))
    })?;
    Ok((state_file, states))
}

/// The control socket, bound with its mode and group.
fn bind_control(config: &Config) -> Result<tokio::net::UnixListener, StartError> {
    let d = &config.daemon;
    let group = d.socket_group.as_ref().map(group_name);
    let listener = socket::bind(&d.socket, d.socket_mode, group.as_deref())?;
    tracing::info!(socket = %d.socket.display(), "control socket ready");
    Ok(listener)
}

fn group_name(g: &warden_core::config::SocketGroup) -> String {
    match g {
        warden_core::config::SocketGroup::Name(n) => n.clone(),
        warden_core::config::SocketGroup::Gid(gid) => gid.to_string(),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StartError::StateDir {
            path: dir.to_path_buf(),
            source,
        })
}

fn check_private_dir(dir: &Path, what: &'static str) -> Result<(), StartError> {
    Ok(warden_core::private_fs::check_private_dir(dir, what)?)
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, socket = %path.display(), "cannot remove the control socket");
    }
}
