//! The change-log record: its fields, its exact line encoding and hash, and secret redaction.
//!
//! See the [module documentation](super) for the byte-level definition of `hash`.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mac::{MAC_MEMBER_LEN, MAC_MEMBER_PREFIX, MacKey};
use super::redact::{redact_secrets, scrub_text, scrub_value};
use sha2::{Digest, Sha256};

/// `prev` of the first record: 64 ASCII zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Largest line (including its newline) the writer produces and the readers accept, in bytes.
///
/// One record always fits in one control-protocol request frame.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The bytes that precede the hex hash at the end of every line.
pub(crate) const HASH_MEMBER_PREFIX: &[u8] = b",\"hash\":\"";

/// Length of the `,"hash":"<64 hex>"` member that ends every line, before its closing `}`:
/// 9 bytes of prefix, 64 hex digits and the closing quote.
pub(crate) const HASH_MEMBER_LEN: usize = HASH_MEMBER_PREFIX.len() + 64 + 1;

/// Who made (or attempted) a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A scheduled job of the daemon, e.g. `rotate:prod:backup-client`.
    Schedule {
        /// Name of the job.
        job: String,
    },
    /// A `wardenctl` user, identified by the peer credentials of the control socket.
    User {
        /// Peer uid (SO_PEERCRED).
        uid: u32,
        /// User name resolved from the uid, if it could be resolved.
        user: Option<String>,
        /// Peer pid, if the platform reports it.
        pid: Option<i32>,
    },
    /// The daemon itself: start-up, shutdown, reload, log repair.
    Daemon,
}

/// Kind of object a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A Jamf Pro API role.
    Role,
    /// A Jamf Pro API client (integration).
    Client,
    /// An API client secret stored in Vault.
    Secret,
    /// The daemon configuration.
    Config,
    /// A suppression of an audit or drift finding.
    Suppression,
    /// A whole Jamf Pro instance (e.g. `apply`).
    Instance,
    /// The change log itself (e.g. repair of a torn tail).
    Changelog,
    /// A kind written by a newer version of Warden; only produced when reading.
    #[serde(other)]
    Other,
}

/// The object a change applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// What kind of object it is.
    pub kind: ObjectKind,
    /// Display name (role name, client display name, file name), if any.
    pub name: Option<String>,
    /// Jamf id or another stable id, if known.
    pub id: Option<String>,
}

impl ObjectRef {
    /// An object reference with a name and no id.
    pub fn named(kind: ObjectKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: Some(name.into()),
            id: None,
        }
    }

    /// Adds the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Object created.
    Create,
    /// Object updated.
    Update,
    /// Object deleted.
    Delete,
    /// Client secret rotated.
    Rotate,
    /// An adopted client was cut over (`after.cutover_at`) or its consumers' switch to Vault
    /// confirmed (`after.switched_at`).
    Adopt,
    /// Configuration reloaded.
    Reload,
    /// A plan applied to an instance.
    Apply,
    /// Finding suppressed.
    Suppress,
    /// Suppression removed.
    Unsuppress,
    /// Daemon started.
    Start,
    /// Daemon stopped.
    Stop,
    /// The change log was repaired (torn tail cut).
    Repair,
    /// Drift between desired and live state appeared, changed or was resolved (`after.status`
    /// says which); recorded by the scheduled check only when it changes.
    Drift,
    /// The scheduled audit found new findings or some were resolved (`after.new`,
    /// `after.resolved`); recorded only when the set of findings changes.
    Audit,
    /// An instance's privilege catalogue changed (a Jamf upgrade): `after` holds the added and
    /// removed names and the declared roles affected; recorded once per change.
    CatalogueChanged,
    /// The state directory was recovered (`wardend --recover-state`): the first record of a
    /// new segment, continuing the chain from the head anchored in Vault
    /// (`after.continues_from`), naming the file moved aside (`after.previous_file`).
    Recover,
    /// An action written by a newer version of Warden; only produced when reading.
    #[serde(other)]
    Other,
}

/// Result of the change at the time the record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change succeeded.
    Ok,
    /// The change failed; `error` says why.
    Failed,
    /// Intent record written before an irreversible step; an `ok` or `failed` record follows.
    Started,
}

/// What a caller hands to [`ChangeLog::append`](super::ChangeLog::append).
///
/// `seq`, `time`, `prev` and `hash` are filled in by the log. `before` and `after` go through
/// [`redact_secrets`] on append; never put secret values in them anyway (a rotation records the
/// client id, the Vault path and the new Vault version).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEntry {
    /// Who made the change.
    pub actor: Actor,
    /// Name of the Jamf Pro instance, if the change belongs to one.
    pub instance: Option<String>,
    /// The object changed.
    pub object: ObjectRef,
    /// What was done.
    pub action: Action,
    /// State before the change (`null` if none).
    pub before: Value,
    /// State after the change (`null` if none).
    pub after: Value,
    /// Result of the change.
    pub outcome: Outcome,
    /// Error message for `failed` outcomes. Build it from Warden's own error types, which never
    /// carry secrets.
    pub error: Option<String>,
    /// The error's kind, as the control protocol names it (`unavailable`, `conflict`,
    /// `not_found`, `bad_request`, …): what kind of cause, for filters and alerts.
    pub error_kind: Option<String>,
}

impl ChangeEntry {
    /// An entry with no instance, `before`/`after` `null` and no error.
    pub fn new(actor: Actor, object: ObjectRef, action: Action, outcome: Outcome) -> Self {
        Self {
            actor,
            instance: None,
            object,
            action,
            before: Value::Null,
            after: Value::Null,
            outcome,
            error: None,
            error_kind: None,
        }
    }

    /// Sets the instance.
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Sets `before`.
    #[must_use]
    pub fn before(mut self, before: Value) -> Self {
        self.before = before;
        self
    }

    /// Sets `after`.
    #[must_use]
    pub fn after(mut self, after: Value) -> Self {
        self.after = after;
        self
    }

    /// Sets the error message.
    #[must_use]
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Sets the error's kind (a protocol error code's wire name).
    #[must_use]
    pub fn error_kind(mut self, kind: impl Into<String>) -> Self {
        self.error_kind = Some(kind.into());
        self
    }
}

/// One line of the change log, as written and as read back.
///
/// Field order here is the field order on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the log, from 1, contiguous.
    pub seq: u64,
    /// When the record was written (RFC 3339, UTC, microseconds).
    #[serde(with = "rfc3339")]
    pub time: DateTime<Utc>,
    /// Who made the change.
    pub actor: Actor,
    /// Jamf Pro instance, if any.
    pub instance: Option<String>,
    /// The object changed.
    pub object: ObjectRef,
    /// What was done.
    pub action: Action,
    /// State before (secrets redacted).
    pub before: Value,
    /// State after (secrets redacted).
    pub after: Value,
    /// Result.
    pub outcome: Outcome,
    /// Error message, if the change failed.
    pub error: Option<String>,
    /// The error's kind (`unavailable`, `conflict`, …); absent in records written before kinds
    /// were recorded, and when there is no error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// `hash` of the previous record; [`GENESIS_PREV`] for the first.
    pub prev: String,
    /// HMAC-SHA-256 of this line without its `mac` and `hash` members, lowercase hex, with the
    /// daemon's key (see [`MacKey`]). Absent in records written before MACs were introduced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// SHA-256 of this line without its `hash` member, lowercase hex.
    pub hash: String,
}

/// The record without `hash`: what the hash is computed over. Same field order as [`Record`].
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    #[serde(with = "rfc3339")]
    time: &'a DateTime<Utc>,
    actor: &'a Actor,
    instance: &'a Option<String>,
    object: &'a ObjectRef,
    action: &'a Action,
    before: &'a Value,
    after: &'a Value,
    outcome: &'a Outcome,
    error: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: &'a Option<String>,
    prev: &'a str,
}

impl Record {
    /// Builds the record for `entry` (redacting secrets) and its line, newline included; with
    /// a `key`, the line carries a `mac` right before `hash`.
    pub(crate) fn seal(
        seq: u64,
        time: DateTime<Utc>,
        prev: String,
        entry: ChangeEntry,
        key: Option<&MacKey>,
    ) -> Result<(Record, Vec<u8>), serde_json::Error> {
        let mut record = Record {
            seq,
            // Truncated to what is written, so the returned record equals the one read back.
            time: time.trunc_subsecs(6),
            actor: entry.actor,
            instance: entry.instance,
            object: entry.object,
            action: entry.action,
            // by key, then by value: a known secret echoed into a message never reaches the log
            before: scrub_value(redact_secrets(entry.before)),
            after: scrub_value(redact_secrets(entry.after)),
            outcome: entry.outcome,
            error: entry.error.map(|e| scrub_text(&e).into_owned()),
            error_kind: entry.error_kind,
            prev,
            mac: None,
            hash: String::new(),
        };
        let mut line = serde_json::to_vec(&Unhashed {
            seq: record.seq,
            time: &record.time,
            actor: &record.actor,
            instance: &record.instance,
            object: &record.object,
            action: &record.action,
            before: &record.before,
            after: &record.after,
            outcome: &record.outcome,
            error: &record.error,
            error_kind: &record.error_kind,
            prev: &record.prev,
        })?;
        if let Some(key) = key {
            // `line` is the MAC's message; reopen the object and add the `mac` member.
            let mac = key.mac_hex(&line);
            line.pop();
            line.extend_from_slice(MAC_MEMBER_PREFIX);
            line.extend_from_slice(mac.as_bytes());
            line.extend_from_slice(b"\"}");
            record.mac = Some(mac);
        }
        record.hash = sha256_hex(&line);
        // `line` is a JSON object, so it ends with `}`: reopen it and append the hash member.
        line.pop();
        line.extend_from_slice(HASH_MEMBER_PREFIX);
        line.extend_from_slice(record.hash.as_bytes());
        line.extend_from_slice(b"\"}\n");
        Ok((record, line))
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What is wrong with a single line, independent of its neighbours.
#[derive(Debug)]
pub(crate) enum LineFault {
    /// Not JSON, or not an object with `seq`, `prev` and `hash`.
    Malformed(String),
    /// The stored hash does not match the bytes.
    HashMismatch {
        /// `seq` of the line.
        seq: u64,
        /// Hash written in the line.
        stored: String,
        /// Hash recomputed from the line.
        computed: String,
    },
}

impl std::fmt::Display for LineFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(detail) => f.write_str(detail),
            Self::HashMismatch {
                seq,
                stored,
                computed,
            } => write!(
                f,
                "record seq {seq} hashes to {computed} but says {stored}: it was edited"
            ),
        }
    }
}

/// The chain fields of a line whose own hash checked out.
#[derive(Debug, Deserialize)]
pub(crate) struct Link {
    /// `seq` of the line.
    pub seq: u64,
    /// `prev` of the line.
    pub prev: String,
    /// `hash` of the line (verified).
    pub hash: String,
    /// `mac` of the line, if it has one; its place (right before `hash`) is verified, its value
    /// only by [`mac_matches`].
    #[serde(default)]
    pub mac: Option<String>,
}

/// Checks one line (without its newline): JSON, hash member last, hash recomputes.
///
/// Only `seq`, `prev` and `hash` are interpreted, so lines written by newer versions with more
/// fields or new enum values still verify.
pub(crate) fn check_line(line: &[u8]) -> Result<Link, LineFault> {
    let link: Link = serde_json::from_slice(line)
        .map_err(|err| LineFault::Malformed(format!("not a valid record: {err}")))?;
    let suffix_len = HASH_MEMBER_LEN + 1;
    let split = line
        .len()
        .checked_sub(suffix_len)
        .filter(|&at| line[at..].starts_with(HASH_MEMBER_PREFIX) && line.ends_with(b"\"}"));
    let Some(split) = split else {
        return Err(LineFault::Malformed(
            "the `hash` member is not the last member of the line".to_owned(),
        ));
    };
    let stored = &line[split + HASH_MEMBER_PREFIX.len()..line.len() - 2];
    if stored != link.hash.as_bytes() {
        return Err(LineFault::Malformed(
            "the `hash` member at the end of the line differs from the parsed `hash`".to_owned(),
        ));
    }
    if let Some(mac) = &link.mac {
        let in_place = split
            .checked_sub(MAC_MEMBER_LEN)
            .map(|at| &line[at..split])
            .filter(|member| member.starts_with(MAC_MEMBER_PREFIX) && member.ends_with(b"\""))
            .is_some_and(|member| {
                &member[MAC_MEMBER_PREFIX.len()..MAC_MEMBER_LEN - 1] == mac.as_bytes()
            });
        if !in_place {
            return Err(LineFault::Malformed(
                "the `mac` member is not 64 hex digits right before the `hash` member".to_owned(),
            ));
        }
    }
    let mut unhashed = Vec::with_capacity(split + 1);
    unhashed.extend_from_slice(&line[..split]);
    unhashed.push(b'}');
    let computed = sha256_hex(&unhashed);
    if computed != link.hash {
        return Err(LineFault::HashMismatch {
            seq: link.seq,
            stored: link.hash,
            computed,
        });
    }
    Ok(link)
}

/// Whether the `mac` of `line` (which passed [`check_line`] and has a `mac`) is the MAC of the
/// line without its `mac` and `hash` members under `key`.
pub(crate) fn mac_matches(line: &[u8], link: &Link, key: &MacKey) -> bool {
    let Some(mac) = &link.mac else {
        return false;
    };
    let Some(end) = line.len().checked_sub(HASH_MEMBER_LEN + 1 + MAC_MEMBER_LEN) else {
        return false;
    };
    let mut message = Vec::with_capacity(end + 1);
    message.extend_from_slice(&line[..end]);
    message.push(b'}');
    key.verify(&message, mac)
}

/// Serde helpers: RFC 3339 in UTC with microseconds and a `Z` suffix.
pub(crate) mod rfc3339 {
    use super::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as e.g. `2026-11-22T19:23:00.123456Z`.
    pub(crate) fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// Parses any RFC 3339 timestamp and converts it to UTC.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A timestamp with nanoseconds, as a real clock gives.
    fn some_time() -> DateTime<Utc> {
        DateTime::from_timestamp(1_765_000_000, 123_456_789).unwrap()
    }

    #[test]
    fn sealed_line_checks_out_and_hash_is_last() {
        let entry = ChangeEntry::new(
            Actor::Daemon,
            ObjectRef::named(ObjectKind::Config, "warden.toml"),
            Action::Reload,
            Outcome::Ok,
        )
        .after(json!({"instances": 2, "nested": {"hash": "x"}}));
        let (record, line) =
            Record::seal(1, some_time(), GENESIS_PREV.to_owned(), entry.clone(), None).unwrap();
        assert_eq!(line.last(), Some(&b'\n'));
        let body = &line[..line.len() - 1];
        let link = check_line(body).unwrap();
        assert_eq!(link.hash, record.hash);
        assert_eq!(link.seq, 1);
        assert_eq!(link.prev, GENESIS_PREV);
        let parsed: Record = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed, record);
        // Re-serializing the typed record yields the same bytes.
        assert_eq!(serde_json::to_vec(&parsed).unwrap(), body);
    }

    #[test]
    fn sealed_line_with_a_key_carries_a_mac_before_the_hash() {
        let entry = ChangeEntry::new(
            Actor::Daemon,
            ObjectRef::named(ObjectKind::Config, "warden.toml"),
            Action::Start,
            Outcome::Ok,
        );
        let key = MacKey::generate();
        let (record, line) =
            Record::seal(7, some_time(), "ab".repeat(32), entry, Some(&key)).unwrap();
        let body = &line[..line.len() - 1];
        let link = check_line(body).unwrap();
        assert_eq!(link.mac, record.mac);
        assert!(mac_matches(body, &link, &key));
        assert!(!mac_matches(body, &link, &MacKey::generate()));
        let text = std::str::from_utf8(body).unwrap();
        let mac_at = text.find(",\"mac\":\"").unwrap();
        assert_eq!(mac_at, text.len() - HASH_MEMBER_LEN - 1 - MAC_MEMBER_LEN);
        let parsed: Record = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed, record);
        assert_eq!(serde_json::to_vec(&parsed).unwrap(), body);
    }

    #[test]
    fn a_mac_elsewhere_than_before_the_hash_is_malformed() {
        let line = format!(
            r#"{{"seq":1,"mac":"{}","prev":"x","hash":"{}"}}"#,
            "a".repeat(64),
            "0".repeat(64)
        );
        let fault = check_line(line.as_bytes()).unwrap_err();
        assert!(fault.to_string().contains("`mac` member"), "{fault}");
    }

    #[test]
    fn hash_member_must_be_last() {
        let line = br#"{"seq":1,"hash":"00","prev":"x"}"#;
        assert!(matches!(check_line(line), Err(LineFault::Malformed(_))));
    }
}
