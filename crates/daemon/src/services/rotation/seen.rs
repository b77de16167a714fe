//! What the rotation service last saw of each managed client's secret (from the rotation
//! job's status reads and from the rotations themselves), kept for the metrics endpoint so a
//! scrape never reads Vault.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use warden_core::rotation::SecretStatus;

use super::heal::HealKey;

/// One client's secret as last seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSeen {
    /// When Warden last rotated it (`None`: never).
    pub rotated_at: Option<DateTime<Utc>>,
    /// When it is next due by policy (`None`: never).
    pub next_due: Option<DateTime<Utc>>,
    /// Adopted and held until a cutover.
    pub adopted: bool,
    /// Its last rotation was refused: the secret was changed out of band.
    pub refused: bool,
    /// Whether the last rotation (or recovery) succeeded; `None`: none seen.
    pub last_ok: Option<bool>,
}

/// Clients by (instance, client name).
#[derive(Debug, Default)]
pub struct SeenTable(BTreeMap<HealKey, ClientSeen>);

impl SeenTable {
    /// Notes a status read from Vault.
    pub fn status(&mut self, key: HealKey, status: &SecretStatus) {
        let seen = self.0.entry(key).or_default();
        seen.rotated_at = status.rotated_at;
        seen.next_due = status.next_due;
        seen.adopted = status.adoption.is_some();
        seen.refused = status.refused.is_some();
        if seen.last_ok.is_none() {
            seen.last_ok = if status.last_error.is_some() {
                Some(false)
            } else {
                status.rotated_at.map(|_| true)
            };
        }
    }

    /// Notes a rotation's end (`rotated_at` when it stored a new secret).
    pub fn outcome(&mut self, key: HealKey, ok: bool, rotated_at: Option<DateTime<Utc>>) {
        let seen = self.0.entry(key).or_default();
        seen.last_ok = Some(ok);
        if let Some(at) = rotated_at {
            seen.rotated_at = Some(at);
        }
    }

    /// Every client seen.
    pub fn all(&self) -> Vec<(HealKey, ClientSeen)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
