//! Opening what the daemon stands on at start-up: the secret store (Vault authenticated and its
//! KV mount proven, or a test build's memory store), the change log (its MAC key from Vault,
//! verified against the local anchor and the head anchored in Vault), and the change log's
//! lock that keeps a second daemon off the same state.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use warden_core::changelog::{ChangeLog, FileHeadStore, MacKey, ProblemKind, VerifyReport};
use warden_core::config::{Config, VaultAuth, read_secret_file};
use warden_core::vault::{Vault, VaultCredentials, VaultSettings};

use super::{StartError, head_file};
use crate::runtime::head::{self, MirroredHeadStore};
use crate::runtime::options::RunOptions;
use crate::runtime::store::Store;

/// The secret store: Vault, authenticated and with its KV mount proven; or, in test builds
/// whose options carry one, the in-memory store (no authentication, no mount to check).
pub(crate) async fn open_store(config: &Config, options: &RunOptions) -> Result<Store, StartError> {
    #[cfg(feature = "test-hooks")]
    if let Some(memory) = &options.memory_store {
        tracing::warn!("test build: secrets are kept in memory, not in vault");
        return Ok(Store::memory(Arc::clone(memory), vault_settings(config)));
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = options;
    let vault = Store::vault(Arc::new(connect_vault(config).await?));
    tracing::info!(address = %config.vault.address, "authenticated to vault");
    // A missing or moved KV mount cannot be fixed by retrying (or by bootstrap): stop here
    // with the mount named instead of running and failing every job.
    vault.check_mount().await.map_err(StartError::KvMount)?;
    Ok(vault)
}

/// The Vault settings of the configuration.
fn vault_settings(config: &Config) -> VaultSettings {
    let v = &config.vault;
    let mut settings = VaultSettings::new(v.address.clone());
    settings.ca_file = v.ca_file.clone();
    settings.namespace = v.namespace.clone();
    settings.kv_mount = v.kv_mount.clone();
    settings.path_prefix = v.path_prefix.clone();
    settings
}

async fn connect_vault(config: &Config) -> Result<Vault, StartError> {
    let v = &config.vault;
    let credentials = match &v.auth {
        // re-read on every authentication need and whenever it changes (a Vault Agent sink)
        VaultAuth::Token { token_file } => {
            // a file that cannot be read (or is readable by everyone) is named at start
            drop(
                read_secret_file(token_file)
                    .map_err(|e| StartError::VaultCredentials(e.to_string()))?,
            );
            VaultCredentials::TokenFile(token_file.clone())
        }
        VaultAuth::AppRole {
            role_id_file,
            secret_id_file,
            mount,
        } => VaultCredentials::AppRole {
            mount: mount.clone(),
            role_id: read_secret_file(role_id_file)
                .map_err(|e| StartError::VaultCredentials(e.to_string()))?,
            secret_id: read_secret_file(secret_id_file)
                .map_err(|e| StartError::VaultCredentials(e.to_string()))?,
        },
    };
    Ok(Vault::connect(vault_settings(config), credentials).await?)
}

/// Opens the change log against the local anchor, with the MAC key from Vault, and verifies
/// the whole file with that key and the anchor in Vault: a log that lost records, was rewritten
/// whole, or holds a record wardend did not write (even one chained correctly) refuses to
/// start. The head is published to Vault only by the publisher started after this returns.
pub(super) async fn open_changelog(
    config: &Config,
    options: &RunOptions,
    vault: &Store,
    head_path: &str,
    key_path: &str,
) -> Result<
    (
        ChangeLog,
        tokio::sync::watch::Receiver<Option<warden_core::changelog::Head>>,
    ),
    StartError,
> {
    let vault_head = head::load_vault_head(vault, head_path).await.map_err(|e| {
        StartError::ChangeLog(format!("cannot read its head anchor from vault: {e}"))
    })?;
    let key = head::load_or_create_key(vault, key_path)
        .await
        .map_err(|e| {
            StartError::ChangeLog(format!(
                "cannot read or create its MAC key at vault path `{key_path}`: {e}"
            ))
        })?;
    let key = Arc::new(key);
    // Chain and MACs before opening, so that a log holding a record wardend did not write is
    // refused untouched (opening may move the local anchor). A torn last line is left to
    // `open`, which refuses it or, on request, repairs it.
    let path = config.daemon.changelog.clone();
    if path.exists() {
        let report = verify_log(path.clone(), None, Arc::clone(&key)).await?;
        if let Some(p) = &report.problem
            && p.kind != ProblemKind::TornLastLine
        {
            return Err(refuse(&report, config));
        }
    }
    let (store, rx) = MirroredHeadStore::new(FileHeadStore::new(head_file(config)));
    let opts = options.changelog;
    let clock = Arc::clone(&options.clock);
    let open_key = Arc::clone(&key);
    let log = tokio::task::spawn_blocking(move || {
        ChangeLog::open_keyed(&path, Box::new(store), opts, Some(open_key))
            .map(|l| l.with_clock(clock))
    })
    .await
    .map_err(|e| StartError::ChangeLog(e.to_string()))?
    .map_err(|e| {
        StartError::ChangeLog(format!(
            "{e}; {}",
            crate::runtime::recovery_hint::hint(config)
        ))
    })?;
    // Then the whole file against the anchor kept in Vault: cut or rewritten files.
    let report = verify_log(log.path().to_path_buf(), vault_head, key).await?;
    if report.problem.is_some() {
        return Err(refuse(&report, config));
    }
    for point in &report.recovery_points {
        tracing::info!("change log verified across segments: {point}");
    }
    Ok((log, rx))
}

/// [`verify_with`](warden_core::changelog::verify_with) on the blocking pool.
async fn verify_log(
    path: PathBuf,
    head: Option<warden_core::changelog::Head>,
    key: Arc<MacKey>,
) -> Result<VerifyReport, StartError> {
    tokio::task::spawn_blocking(move || {
        warden_core::changelog::verify_with(&path, head, Some(&key))
    })
    .await
    .map_err(|e| StartError::ChangeLog(e.to_string()))
}

fn refuse(report: &VerifyReport, config: &Config) -> StartError {
    StartError::ChangeLog(format!(
        "it failed verification against its hash chain, its record MACs and the head anchor kept in vault: {report}; the log was edited, truncated, replaced or appended to by someone other than wardend — keep it for investigation, restore it from a backup and restart; {}",
        crate::runtime::recovery_hint::hint(config)
    ))
}

/// Takes an exclusive lock next to the change log, released when the returned value is
/// dropped or the process dies (a crashed daemon leaves no stale lock).
pub(crate) fn lock_changelog(
    changelog: &Path,
) -> Result<nix::fcntl::Flock<std::fs::File>, StartError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut p = changelog.to_path_buf().into_os_string();
    p.push(".lock");
    let path = PathBuf::from(p);
    let file = warden_core::private_fs::open(
        warden_core::private_fs::open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
        &path,
    )
    .map_err(|source| StartError::Lock {
        path: path.clone(),
        source,
    })?;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(StartError::AlreadyRunning {
            changelog: changelog.to_path_buf(),
            lock: path,
        }),
        Err((_, errno)) => Err(StartError::Lock {
            path,
            source: errno.into(),
        }),
    }
}
