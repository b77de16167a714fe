//! What a finished rotation reports, and the change-log record built from it. Never a secret.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::error::RotationError;
use super::marker::Slot;
use super::target::RotationTarget;
use crate::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use crate::config::RotationStrategy;

/// What the engine did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationAction {
    /// A new secret was minted, stored and verified.
    Rotated,
    /// An interrupted rotation's stored secret was verified and finalized; nothing was minted.
    Verified,
}

/// Why a rotation was (also) a recovery of an interrupted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recovery {
    /// A `pending` marker and no newer version: a secret may have been minted and lost, and
    /// nobody can hold it, so a new one was minted.
    PendingWithoutNewerVersion {
        /// The daemon that wrote the marker.
        daemon: Option<String>,
        /// When.
        since: Option<DateTime<Utc>>,
        /// Its attempt number.
        attempt: u32,
    },
    /// A `pending` marker but a newer version exists (stored just before a crash): it was
    /// verified instead of minting.
    PendingWithNewerVersion {
        /// The daemon that wrote the marker.
        daemon: Option<String>,
        /// The newer version.
        version: u64,
    },
    /// A `stored` (unverified) version was verified.
    StoredUnverified {
        /// The version.
        version: u64,
    },
    /// A stored version failed verification (rejected, wrong roles or data), so a new secret
    /// was minted.
    StoredSecretRejected {
        /// The version.
        version: u64,
        /// Why it was rejected.
        reason: String,
    },
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recovery::PendingWithoutNewerVersion {
                daemon,
                since,
                attempt,
            } => write!(
                f,
                "a rotation (attempt {attempt}) by daemon {} started at {} never stored its secret, which may have been minted and lost: rotated again",
                daemon.as_deref().unwrap_or("unknown"),
                since.map_or_else(|| "an unknown time".to_string(), |t| t.to_rfc3339())
            ),
            Recovery::PendingWithNewerVersion { daemon, version } => write!(
                f,
                "a rotation by daemon {} stored version {version} but did not record it: verified it instead of minting",
                daemon.as_deref().unwrap_or("unknown")
            ),
            Recovery::StoredUnverified { version } => {
                write!(
                    f,
                    "version {version} was stored but not verified: verified it"
                )
            }
            Recovery::StoredSecretRejected { version, reason } => write!(
                f,
                "stored version {version} failed verification ({reason}): rotated again"
            ),
        }
    }
}

/// Something unexpected that did not stop the rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anomaly {
    /// Someone else wrote a version while we held the lock (e.g. by hand). The just-minted
    /// secret is the only valid one, so it was written on top.
    CasConflict {
        /// The path.
        path: String,
        /// The version we expected.
        expected: u64,
        /// The version found.
        found: u64,
    },
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::CasConflict {
                path,
                expected,
                found,
            } => write!(
                f,
                "{path} was at version {found}, not {expected}, while warden held the rotation lock (written by hand?); the new secret was stored on top"
            ),
        }
    }
}

/// A finished rotation. Holds no secret; everything here may be logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationOutcome {
    /// Instance name.
    pub instance: String,
    /// Declared client name.
    pub client: String,
    /// Minted (or verified only).
    pub action: RotationAction,
    /// Single or alternating.
    pub strategy: RotationStrategy,
    /// Display name of the Jamf client whose secret was rotated (the alternate for slot `b`).
    pub jamf_client: String,
    /// Its Jamf integration id.
    pub jamf_id: i64,
    /// Its OAuth client id.
    pub client_id: String,
    /// Full Vault path (prefix included) where consumers read the current secret.
    pub vault_path: String,
    /// The version of `vault_path` holding the new secret.
    pub version: u64,
    /// Alternating: the slot rotated, which is now current.
    pub slot: Option<Slot>,
    /// Alternating: the version of the slot's path.
    pub slot_version: Option<u64>,
    /// When the rotation was finalized.
    pub rotated_at: DateTime<Utc>,
    /// When the next one is due (`None`: never, by policy).
    pub next_due: Option<DateTime<Utc>>,
    /// Attempt number (1 unless this continued or recovered an earlier attempt).
    pub attempt: u32,
    /// Set when this was a recovery of an interrupted rotation.
    pub recovery: Option<Recovery>,
    /// Unexpected things that did not stop it.
    pub anomalies: Vec<Anomaly>,
    /// Whether the verification token was invalidated (else it expires on its own).
    pub token_invalidated: bool,
    /// Alternating: whether the `(alternate)` client was created by this rotation.
    pub alternate_created: bool,
}

impl RotationOutcome {
    /// The change-log record for this rotation: client id, Vault path and version, never the
    /// secret.
    pub fn change_entry(&self, actor: Actor) -> ChangeEntry {
        let after = json!({
            "client_id": self.client_id,
            "jamf_id": self.jamf_id,
            "jamf_client": self.jamf_client,
            "vault_path": self.vault_path,
            "version": self.version,
            "strategy": self.strategy,
            "slot": self.slot,
            "slot_version": self.slot_version,
            "action": self.action,
            "attempt": self.attempt,
            "recovery": self.recovery.as_ref().map(ToString::to_string),
            "anomalies": self.anomalies.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "next_due": self.next_due,
        });
        ChangeEntry::new(
            actor,
            ObjectRef::named(ObjectKind::Secret, &self.client).with_id(&self.client_id),
            Action::Rotate,
            Outcome::Ok,
        )
        .instance(&self.instance)
        .after(after)
    }
}

impl RotationError {
    /// The change-log record for a failed rotation of `target`.
    pub fn change_entry(&self, actor: Actor, target: &RotationTarget) -> ChangeEntry {
        let mut entry = ChangeEntry::new(
            actor,
            ObjectRef::named(ObjectKind::Secret, &target.client.name),
            Action::Rotate,
            Outcome::Failed,
        )
        .instance(&target.instance)
        .after(json!({
            "vault_path": target.client.vault_path,
            "minted": self.secret_changed(),
        }));
        if let (RotationError::OutOfBand { cause, .. }, Some(after)) =
            (self, entry.after.as_object_mut())
        {
            // `rotate refused`: the secret in Vault was changed outside Warden
            after.insert("refused".into(), json!("out_of_band"));
            after.insert("cause".into(), json!(cause));
        }
        entry.error = Some(self.to_string());
        entry
    }
}
