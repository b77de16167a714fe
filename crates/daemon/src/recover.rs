//! `wardend --recover-state`: rebuilds a lost or damaged state directory from Vault.
//!
//! In order: the same directory checks and change-log lock as a start (so it refuses while a
//! daemon runs); authenticate to Vault; read the change log's MAC key and the head anchored in
//! Vault for this daemon id; move the damaged files aside (`<name>.before-recovery-<time>`,
//! kept for investigation; an empty log is removed); rebuild the job state from the rotation
//! markers in Vault (each declared client's and the management client's `rotated_at`); start a
//! new change-log segment whose first record (`recover`, by the operator's uid) cites the
//! anchored head and the file moved aside; re-anchor the head in Vault. The next start
//! verifies the new segment against that anchor; `wardenctl log verify` shows the recovery
//! point and checks the earlier file when it is present.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use warden_core::changelog::{
    Action, Actor, ChangeEntry, ChangeLog, FileHeadStore, Head, ObjectKind, ObjectRef, Outcome,
    segment_entry_after,
};
use warden_core::config::Config;
use warden_core::rotation::{SecretStore, keys};
use warden_core::schedule::{JobKey, JobKind, JobState, JobStates, StateFile};

use crate::run::{StartError, head_file, lock_changelog, open_store, prepare_dirs};
use crate::runtime::head;
use crate::runtime::identity;
use crate::runtime::options::RunOptions;
use crate::services::rotation::targets;

/// Who runs the recovery: recorded in the `recover` record.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The real uid of the process.
    pub uid: u32,
    /// Its user name, when it resolves.
    pub user: Option<String>,
    /// `SUDO_UID`, when run through sudo: the person behind root.
    pub sudo_uid: Option<u32>,
}

impl Operator {
    /// The operator of this process.
    pub fn current() -> Operator {
        let uid = nix::unistd::getuid();
        Operator {
            uid: uid.as_raw(),
            user: nix::unistd::User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name),
            sudo_uid: std::env::var("SUDO_UID").ok().and_then(|v| v.parse().ok()),
        }
    }
}

/// What the recovery did, for the operator.
#[derive(Debug)]
pub struct Recovered {
    pub daemon_id: String,
    pub continues_from: Option<Head>,
    pub head: Head,
    pub moved_aside: Vec<PathBuf>,
    pub jobs_rebuilt: usize,
    pub secrets_read: usize,
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "state recovered for daemon id {}", self.daemon_id)?;
        match &self.continues_from {
            Some(h) => writeln!(
                f,
                "new change-log segment starts at seq {}, continuing from the head anchored in vault (seq {}, hash {})",
                self.head.seq, h.seq, h.hash
            )?,
            None => writeln!(
                f,
                "new change log started at seq {} (vault held no head anchor for this daemon id)",
                self.head.seq
            )?,
        }
        writeln!(
            f,
            "job state rebuilt from vault: {} rotation job(s) from the markers of {} secret(s)",
            self.jobs_rebuilt, self.secrets_read
        )?;
        for p in &self.moved_aside {
            writeln!(f, "kept for investigation: {}", p.display())?;
        }
        writeln!(f, "head re-anchored in vault; start wardend now")
    }
}

/// Rebuilds the state directory of `config` from Vault (see the module documentation).
pub async fn recover_state(
    config: &Config,
    options: &RunOptions,
    operator: &Operator,
) -> Result<Recovered, StartError> {
    prepare_dirs(config)?;
    let _lock = lock_changelog(&config.daemon.changelog)?;
    let vault = open_store(config, options).await?;
    let daemon_id = identity::effective(config);
    let head_path = head::vault_head_path(&daemon_id);
    let key_path = head::vault_key_path(&daemon_id);
    let anchored = head::load_vault_head(&vault, &head_path)
        .await
        .map_err(|e| {
            StartError::ChangeLog(format!("cannot read its head anchor from vault: {e}"))
        })?;
    let key = head::load_or_create_key(&vault, &key_path)
        .await
        .map_err(|e| {
            StartError::ChangeLog(format!(
                "cannot read or create its MAC key at vault path `{key_path}`: {e}"
            ))
        })?;

    let stamp = (options.clock)().format("%Y%m%dT%H%M%SZ").to_string();
    let state_file = StateFile::in_dir(&config.daemon.state_dir);
    let mut moved_aside = Vec::new();
    let previous_file = move_aside(&config.daemon.changelog, &stamp)?;
    moved_aside.extend(previous_file.clone());
    for p in [head_file(config), state_file.path().to_path_buf()] {
        moved_aside.extend(move_aside(&p, &stamp)?);
    }

    let (states, secrets_read) = rebuild_jobs(config, &vault).await?;
    state_file
        .save(&states)
        .map_err(|e| StartError::State(format!("cannot write the rebuilt job state: {e}")))?;

    let log = ChangeLog::open_keyed(
        &config.daemon.changelog,
        Box::new(FileHeadStore::new(head_file(config))),
        options.changelog,
        Some(Arc::new(key)),
    )
    .map_err(|e| StartError::ChangeLog(e.to_string()))?;
    let mut extra = serde_json::Map::new();
    extra.insert("daemon_id".into(), json!(daemon_id));
    extra.insert("jobs_rebuilt".into(), json!(states.len()));
    extra.insert("secrets_read".into(), json!(secrets_read));
    extra.insert(
        "moved_aside".into(),
        Value::from_iter(moved_aside.iter().map(|p| p.display().to_string())),
    );
    if let Some(sudo) = operator.sudo_uid {
        extra.insert("sudo_uid".into(), json!(sudo));
    }
    let name = config
        .daemon
        .changelog
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entry = ChangeEntry::new(
        Actor::User {
            uid: operator.uid,
            user: operator.user.clone(),
            pid: i32::try_from(std::process::id()).ok(),
        },
        ObjectRef::named(ObjectKind::Changelog, name),
        Action::Recover,
        Outcome::Ok,
    )
    .after(segment_entry_after(
        anchored.as_ref(),
        previous_file.as_deref(),
        extra,
    ));
    let record = log
        .start_segment(anchored.clone(), entry)
        .map_err(|e| StartError::ChangeLog(e.to_string()))?;
    let head = Head {
        seq: record.seq,
        hash: record.hash.clone(),
    };
    head::publish_head(&vault, &head_path, &head)
        .await
        .map_err(|e| {
            StartError::ChangeLog(format!(
                "the new segment was written but its head could not be anchored in vault ({e}); \
                 wardend anchors it at its next start"
            ))
        })?;
    tracing::warn!(seq = head.seq, daemon_id = %daemon_id, "state directory recovered from vault");
    Ok(Recovered {
        daemon_id,
        continues_from: anchored,
        head,
        moved_aside,
        jobs_rebuilt: states.len(),
        secrets_read,
    })
}

/// Renames `path` to `<path>.before-recovery-<stamp>` when it exists and is not empty (an
/// empty file, e.g. the log a refused start created, is removed). Returns the new path.
fn move_aside(path: &Path, stamp: &str) -> Result<Option<PathBuf>, StartError> {
    let io = |source| StartError::StateDir {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if meta.is_file() && meta.len() == 0 {
        std::fs::remove_file(path).map_err(io)?;
        return Ok(None);
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".before-recovery-{stamp}"));
    let to = PathBuf::from(name);
    std::fs::rename(path, &to).map_err(io)?;
    Ok(Some(to))
}

/// The rotation job of each instance, from the newest `rotated_at` among its secrets' markers:
/// its last run and last success. Drift and audit jobs start afresh (they run when due).
async fn rebuild_jobs(
    config: &Config,
    vault: &impl SecretStore,
) -> Result<(JobStates, usize), StartError> {
    let mut states = JobStates::new();
    let mut read = 0;
    for inst in &config.instances {
        let mut newest = None;
        for target in targets(inst) {
            let path = target.vault_path();
            let meta = vault.read_metadata(path).await.map_err(|e| {
                StartError::State(format!(
                    "cannot read the rotation marker of {}/{} at vault path {path}: {e}",
                    inst.name, target.client.name
                ))
            })?;
            let Some(meta) = meta else {
                continue;
            };
            read += 1;
            let rotated = meta
                .custom
                .get(keys::ROTATED_AT)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            newest = newest.max(rotated);
        }
        if let Some(at) = newest {
            states.insert(
                JobKey::new(inst.name.clone(), JobKind::Rotation),
                JobState {
                    last_success: Some(at),
                    last_attempt: Some(at),
                    last_error: None,
                    consecutive_failures: 0,
                },
            );
        }
    }
    Ok((states, read))
}
