//! Segments: after a lost or corrupted state directory, `wardend --recover-state` starts a new
//! log file (a *segment*) whose first record is a `recover` record that continues the chain
//! from the head anchored in Vault: its `seq` is the anchored `seq + 1`, its `prev` the anchored
//! hash, and its `after.continues_from` names both. It carries a MAC like every record, so only
//! wardend (holding the key in Vault) can start a segment.
//!
//! [`verify_with`](super::verify_with) accepts such a first line in place of `seq 1`, reports
//! it as a [`RecoveryPoint`], and, when the earlier file the record names
//! (`after.previous_file`) is present, verifies it against the cited head: "across segments".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::head::Head;
use super::record::{GENESIS_PREV, Link};
use super::{Action, ChangeEntry, ChangeLog, ChangeLogError, Record};

/// Where a segment starts: the `recover` record at its first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    /// `seq` of the `recover` record.
    pub seq: u64,
    /// When the recovery ran.
    pub time: String,
    /// The operator who ran it (uid), when recorded.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The head anchored in Vault it continues from (`None`: nothing was anchored).
    #[serde(default)]
    pub continues_from: Option<Head>,
    /// The log file that was moved aside (or lost: `None`).
    #[serde(default)]
    pub previous_file: Option<PathBuf>,
    /// The earlier segment checked against `continues_from`: `ok: …`, `FAILED: …`, or why it
    /// could not be checked (lost).
    pub previous: String,
}

impl std::fmt::Display for RecoveryPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "recovery point at seq {} ({}", self.seq, self.time)?;
        if let Some(uid) = self.uid {
            write!(f, ", by uid {uid}")?;
        }
        write!(f, ")")?;
        match &self.continues_from {
            Some(h) => write!(
                f,
                ": continues from the head anchored in vault, seq {} hash {}",
                h.seq, h.hash
            )?,
            None => write!(f, ": nothing was anchored before it")?,
        }
        write!(f, "; earlier segment: {}", self.previous)
    }
}

/// The `recover` record's fields a verifier needs.
#[derive(Deserialize)]
struct RecoverLine {
    action: Action,
    time: String,
    #[serde(default)]
    actor: Value,
    #[serde(default)]
    object: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    mac: Option<String>,
}

/// If `line` (the first line of a file, with `link` verified by hash) is a segment start, the
/// recovery point it makes (its earlier segment not yet checked).
pub(super) fn segment_start(line: &[u8], link: &Link) -> Option<RecoveryPoint> {
    let rec: RecoverLine = serde_json::from_slice(line).ok()?;
    if rec.action != Action::Recover
        || rec.object.get("kind").and_then(Value::as_str) != Some("changelog")
        || rec.mac.is_none()
    {
        return None;
    }
    let from = rec.after.get("continues_from")?;
    let continues_from = if from.is_null() {
        None
    } else {
        Some(serde_json::from_value::<Head>(from.clone()).ok()?)
    };
    let joins = match &continues_from {
        Some(h) => h.seq + 1 == link.seq && h.hash == link.prev,
        None => link.seq == 1 && link.prev == GENESIS_PREV,
    };
    if !joins {
        return None;
    }
    let previous_file = rec
        .after
        .get("previous_file")
        .and_then(Value::as_str)
        .map(PathBuf::from);
    Some(RecoveryPoint {
        seq: link.seq,
        time: rec.time,
        uid: rec
            .actor
            .get("uid")
            .and_then(Value::as_u64)
            .and_then(|u| u32::try_from(u).ok()),
        continues_from,
        previous_file,
        previous: String::new(),
    })
}

impl ChangeLog {
    /// Starts a new segment in this (empty) log: `entry` (a `recover` record, see
    /// [`segment_entry_after`]) is appended as if it followed `continues_from`. Fails if the
    /// log already holds a record.
    pub fn start_segment(
        &self,
        continues_from: Option<Head>,
        entry: ChangeEntry,
    ) -> Result<Record, ChangeLogError> {
        {
            let mut writer = self.lock()?;
            if writer.len != 0 || writer.last.is_some() {
                return Err(ChangeLogError::SegmentNotEmpty {
                    path: self.path.clone(),
                });
            }
            writer.last = continues_from;
        }
        self.append(entry)
    }
}

/// The `after` of a `recover` record: the head it continues from, the file moved aside, and
/// `extra` members (e.g. what was rebuilt).
pub fn segment_entry_after(
    continues_from: Option<&Head>,
    previous_file: Option<&Path>,
    mut extra: serde_json::Map<String, Value>,
) -> Value {
    extra.insert(
        "continues_from".into(),
        continues_from.map_or(
            Value::Null,
            |h| serde_json::json!({"seq": h.seq, "hash": h.hash}),
        ),
    );
    extra.insert(
        "previous_file".into(),
        previous_file.map_or(Value::Null, |p| Value::String(p.display().to_string())),
    );
    Value::Object(extra)
}
