//! The catalogue summary ([`CatalogueInfo`]) that drift and audit reports carry as evidence.
//! A leaf of `drift`: the audit's report model names it without depending on drift's plans and
//! documents.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Size, hash and age of the privilege catalogue a check used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueInfo {
    /// Number of privileges.
    pub size: usize,
    /// SHA-256 (hex) of the sorted privilege names, one per line.
    pub sha256: String,
    /// When it was fetched from Jamf.
    pub fetched_at: DateTime<Utc>,
}

impl CatalogueInfo {
    /// The summary of `privileges`, fetched at `fetched_at`.
    pub fn of(privileges: &[String], fetched_at: DateTime<Utc>) -> CatalogueInfo {
        let mut sorted: Vec<&str> = privileges.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let mut hasher = Sha256::new();
        for p in sorted {
            hasher.update(p.as_bytes());
            hasher.update(b"\n");
        }
        CatalogueInfo {
            size: privileges.len(),
            sha256: hex(&hasher.finalize()),
            fetched_at,
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
