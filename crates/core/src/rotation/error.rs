//! [`RotationError`]: each variant says what happened to the world (was a secret minted? is
//! it stored? what does recovery do?) and what to do. No variant carries a secret.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::jamf::JamfError;
use crate::vault::VaultError;

/// Why a rotation failed, by what it changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The client is not in the instance's desired state. Nothing was changed.
    #[error(
        "client `{client}` is not declared for instance {instance}; warden only rotates declared clients: declare it in the desired state first"
    )]
    NotDeclared {
        /// Instance name.
        instance: String,
        /// The client name that was asked for.
        client: String,
    },
    /// The client is linked to a Jamf app (`NATIVE_APP_OAUTH`). Nothing was changed, ever.
    #[error(
        "api client `{client}` is a foreign client (app type {app_type}, linked to a jamf app); warden never rotates it: remove it from the desired state"
    )]
    Foreign {
        /// The Jamf client's display name.
        client: String,
        /// Its `appType`.
        app_type: String,
    },
    /// A precondition does not hold. Nothing was changed.
    #[error("rotation of `{client}` refused, nothing was changed: {failure}")]
    Preflight {
        /// Declared client name.
        client: String,
        /// What is wrong.
        failure: PreflightFailure,
    },
    /// Another daemon (or another task of this one) is rotating this client. Nothing changed.
    #[error(
        "rotation of `{client}` is in progress in daemon {holder} since {since}; nothing was changed: wait for it to finish (its lock expires at {expires_at})"
    )]
    Locked {
        /// Declared client name.
        client: String,
        /// The daemon id holding the lock or the marker.
        holder: String,
        /// Since when.
        since: DateTime<Utc>,
        /// When the lock stops counting.
        expires_at: DateTime<Utc>,
    },
    /// In a cluster, this daemon no longer holds the instance's lease (it moved to another
    /// daemon, or this daemon's heartbeat lapsed). Nothing was minted by this attempt; the
    /// daemon holding the instance now finishes or repeats the rotation.
    #[error(
        "rotation of `{client}` stopped, nothing was minted: this daemon no longer holds instance {instance} ({reason}); the daemon that holds it rotates it (see wardenctl status)"
    )]
    LeaseLost {
        /// Instance name.
        instance: Box<str>,
        /// Declared client name.
        client: String,
        /// Why.
        reason: String,
    },
    /// The client is adopted and held until a cutover (see `wardenctl adopt`). Nothing changed.
    #[error(
        "rotation of `{client}` refused, nothing was changed: {reason}; to rotate it, cut it over with `wardenctl adopt '{instance}/{client}' --cutover now --yes`, which rotates it and says what its consumers must read from vault"
    )]
    Adopted {
        /// Instance name.
        instance: Box<str>,
        /// Declared client name.
        client: String,
        /// Why it is held.
        reason: String,
    },
    /// The secret in Vault this rotation would replace no longer gets a token: it was changed
    /// out of band (rotated in the Jamf Pro console, or an old Vault version restored). Nothing
    /// was minted; the refusal is kept in the marker until an operator accepts it.
    #[error(
        "rotation of `{client}` refused, nothing was minted: {cause}, so it was changed outside warden (rotated in the jamf pro console, or an old vault version restored) and its consumers may hold a secret warden does not; find out who changed it and what the consumers use, then rotate anyway with `wardenctl rotate '{instance}/{client}' --yes --accept-out-of-band`"
    )]
    OutOfBand {
        /// Instance name.
        instance: Box<str>,
        /// Declared client name.
        client: String,
        /// What was refused (path and version, Jamf's answer; never the secret).
        cause: String,
    },
    /// The daemon's Vault token could not do a write the rotation needs (proved with
    /// `sys/capabilities-self` before anything changed). Nothing was minted or written.
    #[error(
        "rotation of `{client}` refused, nothing was minted: the daemon's vault token lacks the `{capability}` capability on {path} (it has [{}]), which storing the new secret needs; grant `{capability}` on that path in the daemon's vault policy, then rotate again",
        have.join(", ")
    )]
    WriteNotAllowed {
        /// Declared client name.
        client: String,
        /// The full Vault API path (`<mount>/data/…` or `<mount>/metadata/…`).
        path: String,
        /// The missing capability (`create` or `update`).
        capability: String,
        /// The capabilities the token has there.
        have: Box<[String]>,
    },
    /// Vault could not be reached before the mint. Nothing was minted; retry later.
    #[error(
        "vault is unavailable, so the secret of `{client}` was not rotated and nothing was minted: {source}"
    )]
    VaultUnavailable {
        /// Declared client name.
        client: String,
        /// The Vault error.
        #[source]
        source: VaultError,
    },
    /// Vault refused an operation before the mint (denied, bad data). Nothing was minted.
    #[error(
        "vault refused an operation before the secret of `{client}` was minted; nothing was minted, fix this first: {source}"
    )]
    Vault {
        /// Declared client name.
        client: String,
        /// The Vault error.
        #[source]
        source: VaultError,
    },
    /// Jamf Pro could not be read (or the alternate client not created) before the mint.
    /// Nothing was minted.
    #[error(
        "jamf pro failed before the secret of `{client}` was minted; nothing was minted: {source}"
    )]
    Jamf {
        /// Declared client name.
        client: String,
        /// The Jamf error.
        #[source]
        source: Box<JamfError>,
    },
    /// The mint request failed. It is never retried automatically.
    #[error("minting a new secret for `{client}` failed ({source}); {}", mint_hint(*.old_secret_works, instance, client))]
    MintFailed {
        /// Instance name.
        instance: Box<str>,
        /// Declared client name.
        client: String,
        /// The Jamf error.
        #[source]
        source: Box<JamfError>,
        /// `Some(true)`: the old secret still works, so nothing was minted and the marker was
        /// restored. `Some(false)`: the old secret is dead (the mint happened and its answer
        /// was lost); the marker stays `pending` and recovery rotates again. `None`: unknown;
        /// the marker stays `pending`.
        old_secret_works: Option<bool>,
    },
    /// A secret was minted but could not be stored within the retry budget. It is gone, and
    /// the old one no longer works: consumers fail until recovery rotates again.
    #[error(
        "secret lost: the new secret of `{client}` was minted but could not be stored at {vault_path} after {attempts} attempts in {elapsed:?} ({source}); the old secret no longer works: the marker stays pending and the daemon retries recovery on its own (daemon.recovery_delay, with backoff) as soon as vault accepts the write; to retry now run `wardenctl rotate --recover '{instance}/{client}'`"
    )]
    SecretLost {
        /// Instance name.
        instance: Box<str>,
        /// Declared client name.
        client: String,
        /// Where it should have been stored.
        vault_path: String,
        /// Write attempts made.
        attempts: u32,
        /// Time spent retrying.
        elapsed: Duration,
        /// The last Vault error.
        #[source]
        source: Box<VaultError>,
    },
    /// The new secret is stored but the marker could not be updated afterwards.
    #[error(
        "the new secret of `{client}` is stored at {vault_path} version {version}, but the rotation could not be recorded as finished ({source}); recovery verifies it when vault is back"
    )]
    NotFinalized {
        /// Declared client name.
        client: String,
        /// The path holding the new secret.
        vault_path: String,
        /// Its version.
        version: u64,
        /// The Vault error.
        #[source]
        source: VaultError,
    },
    /// The new secret is stored (marker `stored`) but did not verify.
    #[error(
        "the new secret of `{client}` is stored at {vault_path} version {version} but failed verification: {failure}; the next attempt verifies it again and rotates again if jamf rejects it"
    )]
    VerifyFailed {
        /// Declared client name.
        client: String,
        /// The path holding the new secret.
        vault_path: String,
        /// Its version.
        version: u64,
        /// What failed.
        failure: VerifyFailure,
    },
}

fn mint_hint(old_secret_works: Option<bool>, instance: &str, client: &str) -> String {
    match old_secret_works {
        Some(true) => {
            "the old secret still works, so nothing changed: retry at the next rotation".into()
        }
        Some(false) => format!(
            "the old secret no longer works, so jamf minted a secret whose answer was lost: the daemon recovers it on its own within daemon.recovery_delay (with backoff); to recover now run `wardenctl rotate --recover '{instance}/{client}'`"
        ),
        None => format!(
            "it is unknown whether jamf minted a secret: the marker stays pending and the daemon recovers it on its own within daemon.recovery_delay (with backoff); to recover now run `wardenctl rotate --recover '{instance}/{client}'`"
        ),
    }
}

impl RotationError {
    /// Whether the world may have changed: a secret was (or may have been) minted.
    pub fn secret_changed(&self) -> bool {
        match self {
            RotationError::MintFailed {
                old_secret_works, ..
            } => *old_secret_works != Some(true),
            RotationError::SecretLost { .. }
            | RotationError::NotFinalized { .. }
            | RotationError::VerifyFailed { .. } => true,
            _ => false,
        }
    }

    /// Whether recovery has something to do for this client after this error.
    pub fn needs_recovery(&self) -> bool {
        self.secret_changed()
    }
}

/// A precondition that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PreflightFailure {
    /// No Jamf client has the declared name.
    ClientMissing {
        /// Display name looked for.
        name: String,
    },
    /// The client is declared `enabled = false`: it has no secret to rotate.
    DeclaredDisabled,
    /// The Jamf client is disabled (Jamf refuses to mint for it).
    Disabled {
        /// Display name.
        name: String,
    },
    /// The client's live roles are not the declared ones.
    RolesDiffer {
        /// Display name.
        name: String,
        /// Declared role names (sorted).
        declared: Vec<String>,
        /// Live role names (sorted).
        live: Vec<String>,
    },
    /// A declared role does not exist in Jamf.
    RoleMissing {
        /// Role name.
        role: String,
    },
}

impl fmt::Display for PreflightFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightFailure::ClientMissing { name } => write!(
                f,
                "api client `{name}` does not exist in jamf pro; create it (apply the desired state) first"
            ),
            PreflightFailure::DeclaredDisabled => f.write_str(
                "the client is declared disabled, so it has no secret to rotate; enable it in the desired state first",
            ),
            PreflightFailure::Disabled { name } => write!(
                f,
                "api client `{name}` is disabled in jamf pro and jamf refuses to mint secrets for it; enable it (apply the desired state) first"
            ),
            PreflightFailure::RolesDiffer {
                name,
                declared,
                live,
            } => write!(
                f,
                "api client `{name}` has roles [{}] in jamf pro but [{}] are declared; apply the desired state first",
                live.join(", "),
                declared.join(", ")
            ),
            PreflightFailure::RoleMissing { role } => write!(
                f,
                "declared api role `{role}` does not exist in jamf pro; apply the desired state first"
            ),
        }
    }
}

/// Why a stored secret did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerifyFailure {
    /// Jamf refused the credentials at the token endpoint.
    Rejected {
        /// What Jamf said.
        detail: String,
    },
    /// The token's scope is not exactly the declared roles.
    ScopeMismatch {
        /// Expected role ids (sorted).
        expected: Vec<String>,
        /// Role ids in the token (sorted).
        got: Vec<String>,
    },
    /// The harmless probe read was refused.
    ProbeRefused {
        /// What happened.
        detail: String,
    },
    /// The stored data is not for the live client, or lacks fields.
    WrongData {
        /// What is wrong.
        detail: String,
    },
    /// Jamf could not be asked (transient): try again later.
    Unavailable {
        /// The error.
        detail: String,
    },
}

impl VerifyFailure {
    /// Whether the stored secret itself is bad (so recovery mints a new one) rather than the
    /// check having failed for a passing reason.
    pub fn secret_is_bad(&self) -> bool {
        !matches!(self, VerifyFailure::Unavailable { .. })
    }
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyFailure::Rejected { detail } => {
                write!(f, "jamf pro rejected the credentials ({detail})")
            }
            VerifyFailure::ScopeMismatch { expected, got } => write!(
                f,
                "the token's roles [{}] are not the declared roles [{}]",
                got.join(", "),
                expected.join(", ")
            ),
            VerifyFailure::ProbeRefused { detail } => {
                write!(f, "the probe read with the new token failed ({detail})")
            }
            VerifyFailure::WrongData { detail } => write!(f, "{detail}"),
            VerifyFailure::Unavailable { detail } => {
                write!(f, "jamf pro could not be reached to verify ({detail})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_say_what_happened() {
        let e = RotationError::SecretLost {
            instance: "prod".into(),
            client: "Inventory Sync".into(),
            vault_path: "jamf-warden/x".into(),
            attempts: 7,
            elapsed: Duration::from_secs(300),
            source: Box::new(VaultError::Unavailable {
                address: "http://127.0.0.1:8200".into(),
                detail: "connect failed".into(),
            }),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("secret lost: "), "{msg}");
        assert!(msg.contains("recovery"), "{msg}");
        assert!(
            msg.contains("wardenctl rotate --recover 'prod/Inventory Sync'"),
            "{msg}"
        );
        assert!(!msg.contains("restart the daemon"), "{msg}");
        assert!(e.secret_changed() && e.needs_recovery());
        let e = RotationError::Preflight {
            client: "c".into(),
            failure: PreflightFailure::Disabled { name: "c".into() },
        };
        assert!(e.to_string().contains("nothing was changed"));
        assert!(!e.secret_changed());
        let e = RotationError::Locked {
            client: "c".into(),
            holder: "d2".into(),
            since: DateTime::<Utc>::UNIX_EPOCH,
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert!(e.to_string().contains("daemon d2"));
        let f = VerifyFailure::ScopeMismatch {
            expected: vec!["1".into()],
            got: vec!["1".into(), "2".into()],
        };
        assert!(f.secret_is_bad());
        assert!(!VerifyFailure::Unavailable { detail: "x".into() }.secret_is_bad());
        assert_eq!(
            f.to_string(),
            "the token's roles [1, 2] are not the declared roles [1]"
        );
    }
}
