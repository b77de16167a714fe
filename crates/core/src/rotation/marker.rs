//! The rotation marker: the state of a client's rotation, kept in the custom metadata of the
//! secret's KV v2 path (`<vault_path>`), next to Warden's other keys.
//!
//! KV v2 custom metadata is a flat string map that is replaced whole on every write, so each
//! update reads the current map, changes Warden's keys and writes it back; keys Warden does not
//! know are kept. Only the holder of the rotation lock writes these keys.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Custom metadata keys written by the engine.
pub mod keys {
    /// `pending` | `stored` | `ok` (absent: never rotated by Warden).
    pub const STATE: &str = "state";
    /// The daemon that wrote the marker.
    pub const DAEMON: &str = "daemon";
    /// In a cluster: the fencing counter of the instance lease the marker's daemon held.
    pub const FENCE: &str = "fence";
    /// Attempt number of the current rotation (1 for a fresh one, +1 per retry or recovery).
    pub const ATTEMPT: &str = "attempt";
    /// When the pending marker was written.
    pub const PENDING_SINCE: &str = "pending_since";
    /// Until when a pending/stored marker of another daemon means "in progress, stop".
    pub const EXPIRES_AT: &str = "pending_expires_at";
    /// Version of the written path before the mint (a newer version means the new secret
    /// was stored).
    pub const BASE_VERSION: &str = "base_version";
    /// Alternating: the slot being rotated.
    pub const SLOT: &str = "slot";
    /// Version holding the stored but unverified secret (of the slot path when alternating).
    pub const STORED_VERSION: &str = "stored_version";
    /// Version of `<vault_path>` holding the current, verified secret.
    pub const VERSION: &str = "version";
    /// When the current secret was rotated (verified).
    pub const ROTATED_AT: &str = "rotated_at";
    /// When the next rotation is due, from the policy at that time.
    pub const NEXT_DUE: &str = "next_due";
    /// `single` | `alternating`.
    pub const STRATEGY: &str = "strategy";
    /// OAuth client id of the current secret.
    pub const CLIENT_ID: &str = "client_id";
    /// Jamf integration id of the current secret's client.
    pub const JAMF_ID: &str = "jamf_id";
    /// Alternating: `a` | `b`, the slot whose secret `<vault_path>` holds.
    pub const CURRENT: &str = "current";
    /// Alternating: version of `<vault_path>/slots/a` and `/slots/b`.
    pub const SLOT_A_VERSION: &str = "slot_a_version";
    /// See [`SLOT_A_VERSION`].
    pub const SLOT_B_VERSION: &str = "slot_b_version";
    /// The last failure, if the last attempt failed.
    pub const LAST_ERROR: &str = "last_error";
    /// The last anomaly seen (e.g. a hand-written version during a rotation).
    pub const ANOMALY: &str = "anomaly";
    /// Why the last rotation was a recovery, if it was.
    pub const RECOVERY: &str = "recovery";
    /// When a rotation was refused because the secret in Vault no longer gets a token (changed
    /// out of band); the client is not rotated again until an operator accepts it.
    pub const REFUSED_AT: &str = "refused_at";
    /// Why that rotation was refused.
    pub const REFUSED: &str = "refused";
    /// The roles the current secret was minted with (a JSON list of names, or `sha256:<hex>`
    /// of them when the list is too long): Jamf scopes a secret's tokens to these. Absent for
    /// secrets rotated before Warden recorded it (scope unknown).
    pub const SCOPE_ROLES: &str = "scope_roles";
}

/// Vault limits custom metadata values to 512 bytes.
const MAX_VALUE_CHARS: usize = 480;

/// The state of a client's secret as the marker records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecretState {
    /// No marker: never rotated by Warden (due now).
    #[default]
    Never,
    /// A rotation wrote its intent; a secret may have been minted and not stored.
    Pending,
    /// A new secret is stored but not verified yet.
    Stored,
    /// The last rotation finished and was verified.
    Ok,
    /// A value this version of Warden does not know.
    Other(String),
}

impl SecretState {
    /// The value stored in the metadata (`never` is never stored).
    pub fn as_str(&self) -> &str {
        match self {
            SecretState::Never => "never",
            SecretState::Pending => "pending",
            SecretState::Stored => "stored",
            SecretState::Ok => "ok",
            SecretState::Other(s) => s,
        }
    }

    fn parse(s: Option<&String>) -> SecretState {
        match s.map(String::as_str) {
            None | Some("") | Some("never") => SecretState::Never,
            Some("pending") => SecretState::Pending,
            Some("stored") => SecretState::Stored,
            Some("ok") => SecretState::Ok,
            Some(other) => SecretState::Other(other.to_string()),
        }
    }
}

impl fmt::Display for SecretState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SecretState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One of the two credential slots of the `alternating` strategy: `a` is the declared client,
/// `b` its `<name> (alternate)` twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// The declared client.
    A,
    /// The `<name> (alternate)` client.
    B,
}

impl Slot {
    /// `a` or `b`.
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// Parses `a` / `b`.
    pub fn parse(s: &str) -> Option<Slot> {
        match s {
            "a" => Some(Slot::A),
            "b" => Some(Slot::B),
            _ => None,
        }
    }

    pub(crate) fn version_key(self) -> &'static str {
        match self {
            Slot::A => keys::SLOT_A_VERSION,
            Slot::B => keys::SLOT_B_VERSION,
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The marker as read from a custom metadata map. Unparseable values read as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Marker {
    pub state: SecretState,
    pub daemon: Option<String>,
    pub fence: Option<u64>,
    pub attempt: u32,
    pub pending_since: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub base_version: Option<u64>,
    pub slot: Option<Slot>,
    pub stored_version: Option<u64>,
    pub version: Option<u64>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub next_due: Option<DateTime<Utc>>,
    pub current: Option<Slot>,
    pub last_error: Option<String>,
    pub refused_at: Option<DateTime<Utc>>,
    pub refused: Option<String>,
    pub scope: Option<super::scope::MintedScope>,
}

impl Marker {
    /// Reads Warden's keys from a custom metadata map.
    pub fn parse(custom: &BTreeMap<String, String>) -> Marker {
        let time = |k: &str| custom.get(k).and_then(|v| parse_time(v));
        let num = |k: &str| custom.get(k).and_then(|v| v.parse::<u64>().ok());
        Marker {
            state: SecretState::parse(custom.get(keys::STATE)),
            daemon: custom.get(keys::DAEMON).cloned(),
            fence: num(keys::FENCE),
            attempt: custom
                .get(keys::ATTEMPT)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            pending_since: time(keys::PENDING_SINCE),
            expires_at: time(keys::EXPIRES_AT),
            base_version: num(keys::BASE_VERSION),
            slot: custom.get(keys::SLOT).and_then(|s| Slot::parse(s)),
            stored_version: num(keys::STORED_VERSION),
            version: num(keys::VERSION),
            rotated_at: time(keys::ROTATED_AT),
            next_due: time(keys::NEXT_DUE),
            current: custom.get(keys::CURRENT).and_then(|s| Slot::parse(s)),
            last_error: custom.get(keys::LAST_ERROR).cloned(),
            refused_at: time(keys::REFUSED_AT),
            refused: custom.get(keys::REFUSED).cloned(),
            scope: custom
                .get(keys::SCOPE_ROLES)
                .and_then(|v| super::scope::MintedScope::decode(v)),
        }
    }

    /// A rotation was started and not finished (`pending` or `stored`).
    pub fn is_unfinished(&self) -> bool {
        matches!(self.state, SecretState::Pending | SecretState::Stored)
    }

    /// The other daemon whose unfinished, unexpired marker means "stop", if any. In a cluster
    /// (`fence` is the lease counter this daemon holds the instance under) a marker written
    /// under an older counter does not stop it: its writer lost the instance.
    pub fn held_by_other(
        &self,
        daemon: &str,
        now: DateTime<Utc>,
        fence: Option<u64>,
    ) -> Option<(String, DateTime<Utc>)> {
        if !self.is_unfinished() {
            return None;
        }
        if let Some(f) = fence
            && self.fence.unwrap_or(0) < f
        {
            return None;
        }
        let holder = self.daemon.as_deref()?;
        let expires = self.expires_at?;
        (holder != daemon && expires > now)
            .then(|| (holder.to_string(), self.pending_since.unwrap_or(now)))
    }
}

/// A timestamp as stored in the metadata (RFC 3339, UTC, seconds).
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Sets a key, truncating the value to fit Vault's limit.
pub(crate) fn set(map: &mut BTreeMap<String, String>, key: &str, value: impl Into<String>) {
    let mut value: String = value.into();
    if value.chars().count() > MAX_VALUE_CHARS {
        value = value.chars().take(MAX_VALUE_CHARS).collect::<String>() + "…";
    }
    map.insert(key.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn parses_and_judges_holders() {
        let mut m = BTreeMap::new();
        assert_eq!(Marker::parse(&m).state, SecretState::Never);
        set(&mut m, keys::STATE, "pending");
        set(&mut m, keys::DAEMON, "d1");
        set(&mut m, keys::ATTEMPT, "2");
        set(&mut m, keys::PENDING_SINCE, fmt_time(t(1)));
        set(&mut m, keys::EXPIRES_AT, fmt_time(t(2)));
        set(&mut m, keys::SLOT, "b");
        set(&mut m, "someone_elses_key", "kept");
        let marker = Marker::parse(&m);
        assert_eq!(marker.state, SecretState::Pending);
        assert_eq!(marker.attempt, 2);
        assert_eq!(marker.slot, Some(Slot::B));
        assert_eq!(
            marker.held_by_other("d2", t(1), None),
            Some(("d1".into(), t(1)))
        );
        assert_eq!(marker.held_by_other("d1", t(1), None), None);
        assert_eq!(marker.held_by_other("d2", t(3), None), None);
        // in a cluster: a marker under an older lease counter does not stop the new holder
        let mut fenced = marker.clone();
        fenced.fence = Some(2);
        assert_eq!(fenced.held_by_other("d2", t(1), Some(3)), None);
        assert!(fenced.held_by_other("d2", t(1), Some(2)).is_some());
        assert_eq!(
            marker.held_by_other("d2", t(1), Some(1)),
            None,
            "no counter: written alone"
        );
        set(&mut m, keys::STATE, "weird");
        assert_eq!(Marker::parse(&m).state, SecretState::Other("weird".into()));
    }

    #[test]
    fn long_values_are_truncated() {
        let mut m = BTreeMap::new();
        set(&mut m, keys::LAST_ERROR, "x".repeat(2000));
        assert!(m[keys::LAST_ERROR].len() < 512);
    }
}
