//! Entry points for the fuzz tests (`crates/core/tests/fuzz/`): rotation markers (custom
//! metadata) and lock records as read from Vault. Not part of the API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::marker::Marker;

/// What a marker map reads as: its state and whether another daemon holds it at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerView {
    /// The state as written back (`idle`, `pending`, ...).
    pub state: String,
    /// Unfinished (`pending` or `stored`).
    pub unfinished: bool,
    /// The other holder and since when, if it stops `daemon`.
    pub held_by_other: Option<(String, DateTime<Utc>)>,
}

/// Reads a custom metadata map as the rotation engine does.
pub fn read_marker(
    custom: &BTreeMap<String, String>,
    daemon: &str,
    now: DateTime<Utc>,
) -> MarkerView {
    let m = Marker::parse(custom);
    MarkerView {
        state: m.state.as_str().to_owned(),
        unfinished: m.is_unfinished(),
        held_by_other: m.held_by_other(daemon, now, None),
    }
}

/// Whether the lock record `current` stops `daemon` at `now` (`Err` names the holder).
pub fn check_lock(current: &Value, daemon: &str, now: DateTime<Utc>) -> Result<(), String> {
    super::lock::check_free_for_fuzzing(current, daemon, now)
}
